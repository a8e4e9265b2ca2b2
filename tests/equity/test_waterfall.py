"""Liquidation waterfalls against worked examples (each test names its source or derives its numbers)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from equity.captable.holdings import Capitalization, ClassKind, Position, PositionKind, ShareClass
from equity.captable.waterfall import distribute, waterfall

COMMON = ShareClass("Common")


def capped_participating() -> Capitalization:
    series_a = ShareClass("Series A", ClassKind.PREFERRED, original_issue_price=Decimal(1),
                          liquidation_multiple=Decimal(2), participating=True, participation_cap=Decimal(4),
                          seniority=1)
    return Capitalization((COMMON, series_a), (
        Position("Founders", "Common", 10_000_000),
        Position("Investor", "Series A", 5_000_000),
    ))


@pytest.mark.parametrize(("exit_value", "investor", "founders"), [
    (Decimal(9_000_000), Decimal(9_000_000), Decimal(0)),
    (Decimal(40_000_000), Decimal(20_000_000), Decimal(20_000_000)),
    (Decimal(50_000_000), Decimal(20_000_000), Decimal(30_000_000)),
    (Decimal(60_000_000), Decimal(20_000_000), Decimal(40_000_000)),
    (Decimal(90_000_000), Decimal(30_000_000), Decimal(60_000_000)),
])
def test_capped_participating_preferred_converts_above_the_cap(exit_value, investor, founders) -> None:
    """The textbook capped-participation example, as published at plnmw.com ("CompanyRegistration",
    hxjcqxwter.html; commonly attributed to Feld & Mendelson's "Venture Deals", which we did not check).

    Published: $5M invested at a $10M pre-money (one third), a 2x preference ($10M) participating up to
    4x ($20M in all). Below $10M the investor takes everything; from $40M to $60M it is stuck at the $20M
    cap; above $60M it converts and takes one third ($90M → $30M). By hand: at $40M, $10M preference +
    one third of $30M = $20M; at $50M the cap binds ($20M, founders $30M); at $60M converting pays exactly
    $20M, a tie, so the preference is kept.
    """
    result = waterfall(capped_participating(), exit_value)
    totals = result.holder_totals()
    assert totals["Investor"] == int(investor * 100)
    assert totals["Founders"] == int(founders * 100)
    assert (1 in result.chose_common) == (exit_value == Decimal(90_000_000))


def gust_table(multiple: str, participating: bool) -> Capitalization:
    """$2M for 30%: 2,000,000 preferred at $1.00 converting 1.5 to 1 (3,000,000 common) next to
    7,000,000 founder shares, so the preference is exactly $2M and the as-converted stake exactly 30%."""
    series = ShareClass("Series A", ClassKind.PREFERRED, original_issue_price=Decimal(1),
                        liquidation_multiple=Decimal(multiple), participating=participating,
                        conversion_ratio=Decimal("1.5"), seniority=1)
    return Capitalization((COMMON, series), (
        Position("Founders", "Common", 7_000_000), Position("Investor", "Series A", 2_000_000)))


def test_gust_non_participating_investor_converts_to_common() -> None:
    """Gust Equity Management docs, "Liquidation Preference" (docs.equity.gust.com/article/41).

    Published: an investor put in $2MM for 30% with a 1X preference; the company is acquired for $10MM;
    it can take its $2MM preference or convert and take 30%, $3MM: "Clearly the better option is to
    convert to common, but if their liquidation preference had been 2X it would be favorable to take
    $2MM x 2X = $4MM".
    """
    one_x = waterfall(gust_table("1", participating=False), Decimal(10_000_000))
    assert one_x.chose_common == frozenset({1})
    assert one_x.holder_totals() == {"Founders": 700_000_000, "Investor": 300_000_000}
    two_x = waterfall(gust_table("2", participating=False), Decimal(10_000_000))
    assert two_x.chose_common == frozenset()
    assert two_x.holder_totals() == {"Founders": 600_000_000, "Investor": 400_000_000}


def test_gust_participating_preferred_double_dips() -> None:
    """Gust Equity Management docs, "Participating Preferred" (docs.equity.gust.com/article/42).

    Published: $2MM for 30%, 1X participating, acquired for $10MM: the investor takes $2MM, "leaving $8MM
    for everyone else", then 30% of $8MM = $2.4MM, "for a total take of $4.4MM".
    """
    result = waterfall(gust_table("1", participating=True), Decimal(10_000_000))
    assert result.holder_totals() == {"Founders": 560_000_000, "Investor": 440_000_000}


def stacked_series_with_options() -> Capitalization:
    series_a = ShareClass("Series A", ClassKind.PREFERRED, original_issue_price=Decimal(1), seniority=1)
    series_b = ShareClass("Series B", ClassKind.PREFERRED, original_issue_price=Decimal(5), seniority=2)
    return Capitalization((COMMON, series_a, series_b), (
        Position("Founders", "Common", 6_000_000),
        Position("Employees", "Common", 1_000_000, PositionKind.OPTIONS, exercise_price=Decimal("0.50")),
        Position("Fund A", "Series A", 2_000_000),
        Position("Fund B", "Series B", 1_000_000),
        Position("Option pool (available)", "Common", 500_000, PositionKind.POOL),
    ))


def test_stacked_preferences_below_the_conversion_points() -> None:
    """Non-participating 1x preferences, Series B senior to Series A (hand-derived; the layout follows
    Startup Company Lawyer, "What is the difference between non-participating preferred stock and participating
    preferred stock" (startupcompanylawyer.com, 2007),
    where each series converts at its own exit value and in-the-money options change the price).

    Exit $10M: B takes $5M, A $2M, $3M is left for 6,000,000 common shares = $0.50 a share, which is not
    above the $0.50 strike, so the options stay unexercised and the founders get $3M.
    """
    result = waterfall(stacked_series_with_options(), Decimal(10_000_000))
    assert result.holder_totals() == {
        "Founders": 300_000_000, "Employees": 0, "Fund A": 200_000_000, "Fund B": 500_000_000}
    assert result.chose_common == frozenset()
    assert result.common_price == Fraction(1, 2)


def test_series_a_converts_to_common_and_options_are_exercised() -> None:
    """The same table at a $30M exit (hand-derived, see above).

    The common price without choices is (30 − 5 − 2) / 6 = $3.83, above the $0.50 strike: the options
    are exercised and add $500,000, so $30.5M is distributed. Then (30.5 − 7) / 7 = $3.36 per share is above
    Series A's $1.00 preference per share, so Series A converts: (30.5 − 5) / 9,000,000 = $2.8333 a share,
    below Series B's $5.00, so Series B keeps its preference. Payouts: B $5,000,000; A 2,000,000 × 2.8333 =
    $5,666,666.67 (it gets the odd cent: its remainder 2/3 beats the options' 1/3); founders $17,000,000;
    options 1,000,000 × 2.8333 = $2,833,333.33 gross, $2,333,333.33 net of the strike.
    """
    result = waterfall(stacked_series_with_options(), Decimal(30_000_000))
    assert result.chose_common == frozenset({1, 2})
    assert result.common_price == Fraction(25_500_000, 9_000_000)
    assert result.exercise_proceeds == Decimal("500000.00")
    assert result.distributed == Decimal("30500000.00")
    payouts = {payout.holder: payout for payout in result.payouts}
    assert payouts["Fund B"].proceeds_cents == 500_000_000
    assert payouts["Fund A"].proceeds_cents == 566_666_667
    assert payouts["Founders"].proceeds_cents == 1_700_000_000
    assert payouts["Employees"].proceeds_cents == 283_333_333
    assert payouts["Employees"].net_cents == 233_333_333
    assert sum(payout.proceeds_cents for payout in result.payouts) == 3_050_000_000


def test_every_series_converts_at_a_high_exit() -> None:
    """At $60M everyone is common: 60.5M / 10,000,000 = $6.05 a share, above Series B's $5.00 (hand-derived)."""
    result = waterfall(stacked_series_with_options(), Decimal(60_000_000))
    assert result.chose_common == frozenset({1, 2, 3})
    assert result.holder_totals() == {
        "Founders": 3_630_000_000, "Employees": 555_000_000, "Fund A": 1_210_000_000, "Fund B": 605_000_000}


def test_series_b_converts_exactly_when_common_pays_more_than_its_preference() -> None:
    """The tipping point, by hand: with everyone converted, (exit + $500,000 of strikes) / 10,000,000 shares
    must exceed Series B's $5.00; at a $49,500,000 exit it is exactly $5.00 (a tie: B keeps its preference
    and is paid $5,000,000 either way); ten dollars more and B converts, taking 1,000,000 × $4.950001."""
    tie = waterfall(stacked_series_with_options(), Decimal(49_500_000))
    assert 3 not in tie.chose_common
    assert tie.common_price == 5
    assert tie.payout(3).proceeds_cents == 500_000_000
    above = waterfall(stacked_series_with_options(), Decimal(49_500_010))
    assert 3 in above.chose_common
    assert above.common_price == Fraction(50_000_010, 10_000_000)
    assert above.payout(3).proceeds_cents == 500_000_100


def test_not_converting_would_pay_series_a_less() -> None:
    """Forcing Series A to keep its preference at $30M pays it $2M instead of $5.67M."""
    forced = distribute(stacked_series_with_options(), Decimal(30_000_000), {1})
    assert forced.payout(2).proceeds_cents == 200_000_000


def test_pari_passu_shortfall_is_shared_by_preference() -> None:
    """Two series at the same seniority share a shortfall in proportion to their preferences (hand-derived).

    Seed: 1,000,000 at $1 (1x, $1M); Series A: 1,000,000 at $3 (1x, $3M); exit $2M: Seed $0.5M, A $1.5M.
    """
    seed = ShareClass("Seed", ClassKind.PREFERRED, original_issue_price=Decimal(1), seniority=1)
    series_a = ShareClass("Series A", ClassKind.PREFERRED, original_issue_price=Decimal(3), seniority=1)
    cap = Capitalization((COMMON, seed, series_a), (
        Position("Founders", "Common", 5_000_000), Position("Angel", "Seed", 1_000_000),
        Position("Fund", "Series A", 1_000_000)))
    assert waterfall(cap, Decimal(2_000_000)).holder_totals() == {
        "Founders": 0, "Angel": 50_000_000, "Fund": 150_000_000}


def test_exit_value_must_be_whole_cents() -> None:
    with pytest.raises(ValueError, match="cents"):
        waterfall(capped_participating(), Decimal("10.005"))
