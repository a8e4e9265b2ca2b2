"""Priced-round pro-formas against published worked examples (each test names its source)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from equity.captable.convertibles import Convertible, InstrumentKind, accrued_amount, conversion_amount
from equity.captable.holdings import Capitalization, Position, PositionKind, ShareClass
from equity.captable.proforma import InfeasibleRound, Investment, PoolTopUp, PricedRound, pro_forma

POST = InstrumentKind.POST_MONEY_SAFE
PRE = InstrumentKind.PRE_MONEY_SAFE
NOTE = InstrumentKind.CONVERTIBLE_NOTE


def founders_only(shares: int, *, pool: int = 0) -> Capitalization:
    positions = [Position("Founders", "Common", shares)]
    if pool:
        positions.append(Position("Option pool (available)", "Common", pool, PositionKind.POOL))
    return Capitalization((ShareClass("Common"),), tuple(positions))


def test_venture_hacks_option_pool_shuffle() -> None:
    """Venture Hacks, "The Option Pool Shuffle" (Nivi, 2006).

    $2M of new money at an $8M pre-money, 6,000,000 founder shares, and a pool equal to 20% of the
    post-money fully diluted capitalization that must sit in the pre-money. Published: the price is $1.00
    a share, not the $1.33 that $8M / 6,000,000 suggests; 10,000,000 shares post: the investor 2,000,000
    (20%), the pool 2,000,000 (20%), the founders 6,000,000 (60%); the effective pre-money is $6M.
    """
    result = pro_forma(founders_only(6_000_000), PricedRound(
        "Series A", (Investment("Investor", Decimal(2_000_000)),), pre_money=Decimal(8_000_000),
        pool=PoolTopUp(target=Decimal("0.20"))))

    assert result.price_per_share == Decimal("1.0000")
    assert result.exact_price == 1
    assert result.post_money_shares == 10_000_000
    assert result.investor_shares("Investor") == 2_000_000
    assert result.new_pool_shares == 2_000_000
    assert result.holdings.stakeholder("Founders").fully_diluted == 6_000_000
    assert result.holdings.stakeholder("Founders").fully_diluted_ownership == Fraction(60, 100)
    assert result.holdings.stakeholder("Investor").fully_diluted_ownership == Fraction(20, 100)
    assert result.holdings.stakeholder("Option pool (available)").fully_diluted_ownership == Fraction(20, 100)
    assert result.effective_pre_money == Decimal("6000000.00")
    assert result.post_money == Decimal("10000000.00")


def test_venture_hacks_shuffle_given_as_post_money_gives_the_same_round() -> None:
    """The same Venture Hacks round stated as a $10M post-money: post-money − new money = $8M pre-money."""
    result = pro_forma(founders_only(6_000_000), PricedRound(
        "Series A", (Investment("Investor", Decimal(2_000_000)),), post_money=Decimal(10_000_000),
        pool=PoolTopUp(target=Decimal("0.20"))))
    assert (result.price_per_share, result.new_pool_shares, result.post_money_shares) == (
        Decimal("1.0000"), 2_000_000, 10_000_000)


def test_yc_post_money_safes_convert_in_a_round_that_tops_up_the_pool() -> None:
    """Y Combinator, "Post-Money Safe User Guide" (2018), the Series A conversion example.

    Published: 10,000,000 shares before the safes; the safes own 15% of the Company Capitalization, so
    it is 10,000,000 / 0.85 = 11,764,705 shares; the round raises $5M at a $15M pre-money with a pool
    increase of 1,695,000 shares, and "Series A Price per Share = $15,000,000 / (11,764,705 + 1,695,000)
    = $1.1144". We make up the 15% from two safes, $200,000 at a $4M post-money cap (5%) and $800,000 at
    an $8M cap (10%); any split into 15% gives the same published count and price. By hand: safe prices $4M / 11,764,705.88 = $0.3400 and $8M / 11,764,705.88 = $0.6800;
    200,000 / 0.34 = 588,235.29 → 588,235 shares; 800,000 / 0.68 = 1,176,470.58 → 1,176,470 shares;
    Series A 5,000,000 / 1.1144 = 4,486,719.3 → 4,486,719 shares.
    """
    safes = (
        Convertible("Safe 1", "Angel", POST, Decimal(200_000), valuation_cap=Decimal(4_000_000)),
        Convertible("Safe 2", "Seed fund", POST, Decimal(800_000), valuation_cap=Decimal(8_000_000)),
    )
    result = pro_forma(founders_only(10_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(5_000_000)),), pre_money=Decimal(15_000_000),
        pool=PoolTopUp(new_shares=1_695_000)), safes)

    first, second = result.conversion("Safe 1"), result.conversion("Safe 2")
    assert (first.conversion_price, first.basis, first.shares) == (Decimal("0.3400"), "cap", 588_235)
    assert (second.conversion_price, second.basis, second.shares) == (Decimal("0.6800"), "cap", 1_176_470)
    assert 10_000_000 + first.shares + second.shares == 11_764_705
    assert result.price_per_share == Decimal("1.1144")
    assert result.investor_shares("Lead") == 4_486_719
    assert result.new_pool_shares == 1_695_000
    assert result.post_money_shares == 11_764_705 + 1_695_000 + 4_486_719


def test_post_money_safe_leaves_out_the_pool_increase_but_counts_promised_options() -> None:
    """YC post-money safe, definition of "Company Capitalization" (hand-derived numbers).

    The round's pool increase is left out of the safe's capitalization except where the promised options
    exceed the existing pool. 9,000,000 founder shares, 1,000,000 available in the pool, one $1M safe at a
    $10M post-money cap (10%). Without promised options: K = 10,000,000 + C and C = K / 10, so
    K = 11,111,111.1 and the safe price is $0.9000 → 1,111,111 shares, whatever the pool increase is.
    With 1,500,000 promised options (500,000 more than the pool): K = 10,500,000 + C, K = 11,666,666.6,
    price $0.8571 → 1,000,000 / 0.8571 = 1,166,725.0 → 1,166,725 shares.
    """
    cap = founders_only(9_000_000, pool=1_000_000)
    safe = (Convertible("Safe", "Angel", POST, Decimal(1_000_000), valuation_cap=Decimal(10_000_000)),)
    for target in ("0.10", "0.15", "0.25"):
        result = pro_forma(cap, PricedRound(
            "Series A", (Investment("Lead", Decimal(4_000_000)),), pre_money=Decimal(20_000_000),
            pool=PoolTopUp(target=Decimal(target))), safe)
        assert (result.conversion("Safe").conversion_price, result.conversion("Safe").shares) == (
            Decimal("0.9000"), 1_111_111)
    promised = pro_forma(cap, PricedRound(
        "Series A", (Investment("Lead", Decimal(4_000_000)),), pre_money=Decimal(20_000_000),
        pool=PoolTopUp(target=Decimal("0.15")), promised_options=1_500_000), safe)
    assert (promised.conversion("Safe").conversion_price, promised.conversion("Safe").shares) == (
        Decimal("0.8571"), 1_166_725)


def test_pre_money_safe_with_a_cap() -> None:
    """A pre-money SAFE's cap price, hand-derived from the definition in Y Combinator's pre-money safe
    (2013-2018): "Company Capitalization" counts the shares, options and pool but excludes this safe, the
    other safes and the notes.

    A $100,000 safe with a $5M cap; a Series A at a $10M pre-money on 10,000,000 fully diluted shares,
    $1.00 a share, with the safe outside the pre-money (the convention of the pre-money safe era, as in
    the TWO12 note example below). Safe price $5M / 10,000,000 = $0.50; 100,000 / 0.50 = 200,000 shares;
    the investor's $2M buys 2,000,000 shares; 12,200,000 shares after.
    """
    safe = (Convertible("Safe", "Angel", PRE, Decimal(100_000), valuation_cap=Decimal(5_000_000)),)
    result = pro_forma(founders_only(10_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(2_000_000)),), pre_money=Decimal(10_000_000),
        convertibles_in_pre_money=False), safe)
    assert result.price_per_share == Decimal("1.0000")
    assert (result.conversion("Safe").conversion_price, result.conversion("Safe").shares) == (Decimal("0.5000"), 200_000)
    assert result.investor_shares("Lead") == 2_000_000
    assert result.post_money_shares == 12_200_000


def test_pre_money_safe_includes_the_pool_increase_and_the_circle_is_solved_exactly() -> None:
    """A pre-money SAFE with a pool target inside the pre-money: every quantity depends on every other.

    Hand-derived from YC's pre-money safe definition (the capitalization excludes converting securities
    and includes the pool increase). 8,000,000 founder shares; a $500,000 pre-money SAFE with a $4M cap and a
    20% discount; $3M at a $12M pre-money; the available pool must be 10% of post-money fully diluted. With
    S = 8,000,000 + X + C: P = 12M / S; cap price 4M / (8M + X); discount price 0.8 P; post-money FD =
    S × 15 / 12. Cap branch: C = (8M + X) / 8; X = 0.1 × 1.25 × S = S / 8 → X = (9M + 9X/8 ... ) solved:
    S = (8M + X) × 9/8 and X = S/8 → X = 9/64 (8M + X) → X = 72M/55 = 1,309,090.9, S = 10,472,727.27,
    P = $1.1458, cap price $0.4297 (well below 0.8 × P, so the cap wins). Rounded once at the end:
    the SAFE gets 500,000 / 0.4297 = 1,163,602.5 → 1,163,602 shares, the investor
    3,000,000 / 1.1458 = 2,618,257.99 → 2,618,257 (1.1458 × 2,618,258 = 3,000,000.0164 is over the money).
    """
    safe = (Convertible("Safe", "Angel", PRE, Decimal(500_000), valuation_cap=Decimal(4_000_000),
                        discount=Decimal("0.20")),)
    result = pro_forma(founders_only(8_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(3_000_000)),), pre_money=Decimal(12_000_000),
        pool=PoolTopUp(target=Decimal("0.10"))), safe)
    pool = Fraction(72_000_000, 55)
    assert result.exact_price == Fraction(12_000_000) / ((8_000_000 + pool) * Fraction(9, 8))
    conversion = result.conversion("Safe")
    assert conversion.exact_conversion_price == Fraction(4_000_000) / (8_000_000 + pool)
    assert (result.price_per_share, conversion.conversion_price, conversion.basis) == (
        Decimal("1.1458"), Decimal("0.4297"), "cap")
    assert conversion.shares == 1_163_602
    assert result.investor_shares("Lead") == 2_618_257
    # The pool target holds after rounding: the largest pool not above 10%.
    assert Fraction(result.pool_available, result.post_money_shares) <= Fraction(1, 10)
    assert Fraction(result.pool_available + 1, result.post_money_shares + 1) > Fraction(1, 10)


def test_discount_with_the_pool_in_the_pre_money_is_a_fixed_point() -> None:
    """Discount SAFEs inside the pre-money with a pool target: the exact solution satisfies every equation.

    Hand-derived check of the documented method rather than a published figure: the discount price is
    exactly 80% of the exact round price, and the exact pool is exactly 15% of post-money fully diluted.
    """
    safe = (Convertible("Safe", "Angel", POST, Decimal(750_000), discount=Decimal("0.20")),)
    cap = founders_only(7_000_000, pool=300_000)
    terms = PricedRound("Seed", (Investment("Lead", Decimal(2_500_000)),), pre_money=Decimal(9_000_000),
                        pool=PoolTopUp(target=Decimal("0.15")))
    result = pro_forma(cap, terms, safe)
    conversion = result.conversion("Safe")
    assert conversion.basis == "discount"
    assert conversion.exact_conversion_price == result.exact_price * Fraction(4, 5)
    converted = Fraction(750_000) / conversion.exact_conversion_price
    base = Fraction(9_000_000) / result.exact_price  # S = E + X + C
    pool = base - 7_300_000 - converted
    post = base + Fraction(2_500_000) / result.exact_price
    assert (300_000 + pool) / post == Fraction(15, 100)


def test_two12_note_cap_wins_and_founder_dilution() -> None:
    """TWO12, "Convertible Note Math" (www.two12.co/blog/convertible-note-math): a "pre-money" note.

    Published: a $1M note with a $3M cap and a 30% discount (0% interest) converting at an $8M
    pre-money "has the same effect as if $2.67M was invested" (max($1M / 0.7, $1M × $8M / $3M)), and
    the founder goes from 100% to 75%; with a 10% post-money option pool and a $2M Series A the founder
    ends at 53%. By hand: C = (E + X) / 3, new shares (E + X) / 4, X = 19/101 E, founder 101/190 = 53.2%.
    """
    note = (Convertible("Note", "Noteholder", NOTE, Decimal(1_000_000), valuation_cap=Decimal(3_000_000),
                        discount=Decimal("0.30")),)
    no_round = pro_forma(founders_only(8_000_000), PricedRound(
        "Series A", (), pre_money=Decimal(8_000_000), convertibles_in_pre_money=False), note)
    assert no_round.conversion("Note").basis == "cap"
    assert no_round.conversion("Note").shares * no_round.price_per_share == Decimal("2666666.0000")
    assert no_round.holdings.stakeholder("Founders").fully_diluted_percent == Decimal("75.00")

    result = pro_forma(founders_only(8_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(2_000_000)),), pre_money=Decimal(8_000_000),
        pool=PoolTopUp(target=Decimal("0.10")), convertibles_in_pre_money=False), note)
    founders = result.holdings.stakeholder("Founders")
    assert abs(founders.fully_diluted_ownership - Fraction(101, 190)) < Fraction(1, 10**5)  # whole shares
    assert founders.fully_diluted_percent == Decimal("53.16")


def test_startuptalky_note_cap_and_discount_prices() -> None:
    """StartupTalky community, "What are convertible note examples"
    (community.startuptalky.com/question/what-are-convertible-note-example-5e51671fda0e4f2a59242edc).

    Published: a note with a $4M cap converting in a Series A at a $12M pre-money and $10 a share converts
    at $3.33 a share, and $10,000 buys "approximately 3,000 shares"; an uncapped note with a 20% discount
    converts at $8, and $10,000 buys 1,250 shares. 1,200,000 fully diluted shares give the $10 price.
    """
    capped = (Convertible("Capped", "Seed", NOTE, Decimal(10_000), valuation_cap=Decimal(4_000_000)),)
    discounted = (Convertible("Discounted", "Seed", NOTE, Decimal(10_000), discount=Decimal("0.20")),)
    terms = PricedRound("Series A", (Investment("Lead", Decimal(3_000_000)),), pre_money=Decimal(12_000_000),
                        convertibles_in_pre_money=False)
    first = pro_forma(founders_only(1_200_000), terms, capped)
    assert first.price_per_share == Decimal("10.0000")
    assert (first.conversion("Capped").conversion_price, first.conversion("Capped").shares) == (Decimal("3.3333"), 3_000)
    second = pro_forma(founders_only(1_200_000), terms, discounted)
    assert (second.conversion("Discounted").conversion_price, second.conversion("Discounted").shares) == (
        Decimal("8.0000"), 1_250)


def test_note_interest_simple_and_compounding() -> None:
    """Accrued interest, actual/365.

    Published (Aparna Gupta, "Convertible note, part 3", aparanagupta.com/2022/01/13/convertible-note-3.html):
    "if the interest rate is 5% on a $500k note and
    the next equity financing round occurs after one year, then conversion would happen on $525k".
    Hand-derived: $100,000 at 8% for 730 days (2021-01-01 to 2023-01-01) is $116,000.00 simple and
    100,000 × 1.08² = $116,640.00 compounded annually; 8% compounded monthly for one year is
    100,000 × (1 + 0.08/12)¹² = $108,299.95; half a year simple is 182/365 × 8% = $3,989.04 of interest.
    """
    note = Convertible("Note", "N", NOTE, Decimal(500_000), issue_date=date(2021, 3, 1),
                       interest_rate=Decimal("0.05"))
    assert conversion_amount(note, date(2022, 3, 1)) == Decimal("525000.00")
    simple = Convertible("S", "N", NOTE, Decimal(100_000), issue_date=date(2021, 1, 1), interest_rate=Decimal("0.08"))
    assert conversion_amount(simple, date(2023, 1, 1)) == Decimal("116000.00")
    assert conversion_amount(simple, date(2021, 7, 2)) == Decimal("103989.04")
    yearly = Convertible("Y", "N", NOTE, Decimal(100_000), issue_date=date(2021, 1, 1), interest_rate=Decimal("0.08"),
                         compounding_per_year=1)
    assert conversion_amount(yearly, date(2023, 1, 1)) == Decimal("116640.00")
    monthly = Convertible("M", "N", NOTE, Decimal(100_000), issue_date=date(2021, 1, 1), interest_rate=Decimal("0.08"),
                          compounding_per_year=12)
    assert accrued_amount(monthly, date(2022, 1, 1)) == 100_000 * (1 + Fraction(8, 1200)) ** 12
    assert conversion_amount(monthly, date(2022, 1, 1)) == Decimal("108299.95")


def test_note_with_interest_converts_principal_plus_interest() -> None:
    """A note with interest in a priced round (hand-derived).

    $500,000 at 5% simple for 365 days → $525,000 converts; 20% discount, $5M cap (pre-money
    capitalization), $10M pre-money on 5,000,000 shares → $2.00 a share; cap price $5M / 5,000,000 = $1.00
    beats the discount price $1.60; 525,000 / 1.00 = 525,000 shares.
    """
    note = (Convertible("Note", "Noteholder", NOTE, Decimal(500_000), valuation_cap=Decimal(5_000_000),
                        discount=Decimal("0.20"), issue_date=date(2024, 6, 1), interest_rate=Decimal("0.05")),)
    result = pro_forma(founders_only(5_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(4_000_000)),), pre_money=Decimal(10_000_000),
        closing_date=date(2025, 6, 1), convertibles_in_pre_money=False), note)
    conversion = result.conversion("Note")
    assert conversion.converted_amount == Decimal("525000.00")
    assert (conversion.cap_price, conversion.discount_price, conversion.basis) == (Decimal("1.0000"), Decimal("1.6000"), "cap")
    assert conversion.shares == 525_000
    assert result.investor_shares("Lead") == 2_000_000


def test_mfn_safe_takes_the_better_terms_of_a_later_safe() -> None:
    """YC "Safe: MFN, no Valuation Cap, no Discount": the holder takes a later safe's better terms."""
    safes = (
        Convertible("MFN", "Early", POST, Decimal(100_000), issue_date=date(2024, 1, 1), mfn=True),
        Convertible("Later", "Late", POST, Decimal(400_000), valuation_cap=Decimal(5_000_000),
                    issue_date=date(2024, 6, 1)),
        Convertible("Earlier", "Other", POST, Decimal(10_000), valuation_cap=Decimal(1_000_000),
                    issue_date=date(2023, 6, 1)),
    )
    result = pro_forma(founders_only(9_000_000), PricedRound(
        "Series A", (Investment("Lead", Decimal(3_000_000)),), pre_money=Decimal(20_000_000)), safes)
    assert result.conversion("MFN").conversion_price == result.conversion("Later").conversion_price
    assert result.conversion("MFN").basis == "cap"
    assert result.conversion("MFN").shares * 4 == pytest.approx(result.conversion("Later").shares, abs=4)


def test_pro_rata_rights() -> None:
    """A pro-rata right is the holder's fully diluted share before the new money, times the new shares.

    Hand-derived: the Venture Hacks round with a founder-held pro-rata right: 6,000,000 of 8,000,000
    pre-money fully diluted shares (75%) × 2,000,000 new shares = 1,500,000 shares, $1,500,000.
    """
    result = pro_forma(founders_only(6_000_000), PricedRound(
        "Series A", (Investment("Investor", Decimal(2_000_000)),), pre_money=Decimal(8_000_000),
        pool=PoolTopUp(target=Decimal("0.20")), pro_rata_holders=("Founders",)))
    (right,) = result.pro_rata
    assert (right.holder, right.ownership, right.shares, right.amount) == (
        "Founders", Fraction(3, 4), 1_500_000, Decimal("1500000.00"))


def test_impossible_terms_are_refused() -> None:
    """Post-money SAFEs that would own 100% or more of the company cannot convert."""
    safes = (Convertible("Big", "A", POST, Decimal(6_000_000), valuation_cap=Decimal(6_000_000)),)
    with pytest.raises(InfeasibleRound):
        pro_forma(founders_only(1_000_000), PricedRound(
            "Series A", (Investment("Lead", Decimal(1_000_000)),), pre_money=Decimal(10_000_000)), safes)
