"""Properties of the cap table engine that must hold for every capitalization, round and exit."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_UP, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from equity.captable.convertibles import Convertible, InstrumentKind, apply_most_favoured_nation
from equity.captable.holdings import Capitalization, ClassKind, Position, PositionKind, ShareClass, holdings
from equity.captable.proforma import InfeasibleRound, Investment, PoolTopUp, PricedRound, ProForma, pro_forma
from equity.captable.rounding import RoundingPolicy, exact, largest_remainder, percentages
from equity.captable.waterfall import decision_positions, distribute, flipped, waterfall

PROPERTIES = settings(max_examples=60, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])

POOL = "Option pool (available)"


def money(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Whole-cent amounts between ``low`` and ``high`` dollars."""
    return st.integers(low * 100, high * 100).map(lambda cents: Decimal(cents).scaleb(-2))


@st.composite
def preferred_classes(draw: st.DrawFn) -> list[ShareClass]:
    classes = []
    for number in range(draw(st.integers(0, 3))):
        multiple = draw(st.sampled_from([Decimal(1), Decimal("1.5"), Decimal(2)]))
        participating = draw(st.booleans())
        cap = draw(st.sampled_from([None, multiple, multiple + 1, Decimal(4)])) if participating else None
        classes.append(ShareClass(
            f"Series {number}", ClassKind.PREFERRED, original_issue_price=draw(money(0, 20)),
            liquidation_multiple=multiple, participating=participating, participation_cap=cap,
            seniority=draw(st.integers(0, 2)),
            conversion_ratio=draw(st.sampled_from([Decimal(1), Decimal(1), Decimal("1.5")]))))
    return classes


@st.composite
def capitalizations(draw: st.DrawFn, *, with_preferred: bool = True) -> Capitalization:
    classes = [ShareClass("Common")] + (draw(preferred_classes()) if with_preferred else [])
    positions = [Position(f"Founder {n}", "Common", draw(st.integers(1, 10_000_000)))
                 for n in range(draw(st.integers(1, 3)))]
    for share_class in classes[1:]:
        for n in range(draw(st.integers(1, 2))):
            positions.append(Position(f"Fund {share_class.name} {n}", share_class.name, draw(st.integers(0, 5_000_000))))
    for n in range(draw(st.integers(0, 3))):
        positions.append(Position(f"Employee {n}", "Common", draw(st.integers(0, 1_000_000)), PositionKind.OPTIONS,
                                  exercise_price=draw(money(0, 10))))
    if draw(st.booleans()):
        warrant_class = draw(st.sampled_from([share_class.name for share_class in classes]))
        positions.append(Position("Lender", warrant_class, draw(st.integers(1, 500_000)), PositionKind.WARRANTS,
                                  exercise_price=draw(money(0, 5))))
    if draw(st.booleans()):
        positions.append(Position(POOL, "Common", draw(st.integers(0, 2_000_000)), PositionKind.POOL))
    return Capitalization(tuple(classes), tuple(draw(st.permutations(positions))))


@st.composite
def convertibles(draw: st.DrawFn) -> list[Convertible]:
    instruments = []
    for n in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(list(InstrumentKind)))
        is_note = kind is InstrumentKind.CONVERTIBLE_NOTE
        instruments.append(Convertible(
            f"Instrument {n}", f"Holder {draw(st.integers(0, 2))}", kind, draw(money(1_000, 1_500_000)),
            valuation_cap=draw(st.one_of(st.none(), money(2_000_000, 60_000_000))),
            discount=draw(st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.15"), Decimal("0.2"), Decimal("0.3")])),
            mfn=draw(st.booleans()) and not is_note, pro_rata=draw(st.booleans())))
    return instruments


@st.composite
def rounds(draw: st.DrawFn, series: str = "Series A") -> PricedRound:
    investments = tuple(Investment(f"Investor {n}", draw(money(10_000, 5_000_000)))
                        for n in range(draw(st.integers(0, 3))))
    pool = draw(st.one_of(
        st.none(),
        st.sampled_from(["0.05", "0.1", "0.125", "0.2", "0.25"]).map(lambda t: PoolTopUp(target=Decimal(t))),
        st.integers(0, 2_000_000).map(lambda n: PoolTopUp(new_shares=n))))
    valuation = draw(money(1_000_000, 80_000_000))
    given_post = draw(st.booleans())
    new_money = sum((i.amount for i in investments), Decimal(0))
    return PricedRound(
        series, investments,
        pre_money=None if given_post else valuation, post_money=valuation + new_money if given_post else None,
        pool=pool, promised_options=draw(st.sampled_from([0, 0, 500_000, 3_000_000])),
        convertibles_in_pre_money=draw(st.booleans()),
        pro_rata_holders=("Founder 0",) if draw(st.booleans()) else (),
        rounding=draw(st.sampled_from([RoundingPolicy(), RoundingPolicy(price_rounding=ROUND_UP),
                                       RoundingPolicy(price_decimals=6)])))


def solve(cap: Capitalization, terms: PricedRound, instruments: list[Convertible]) -> ProForma:
    try:
        return pro_forma(cap, terms, instruments)
    except InfeasibleRound:
        assume(False)
        raise


def assert_ownership_is_whole(cap: Capitalization) -> None:
    table = holdings(cap)
    for rows in (table.by_stakeholder, table.by_class):
        assert sum((row.fully_diluted_ownership for row in rows), Fraction(0)) == 1
        assert sum(row.fully_diluted_percent for row in rows) == 100
        if table.total_outstanding:
            assert sum((row.outstanding_ownership for row in rows), Fraction(0)) == 1
    assert sum(row.fully_diluted for row in table.by_stakeholder) == table.total_fully_diluted


@PROPERTIES
@given(capitalizations())
def test_ownership_sums_to_exactly_one_hundred_percent(cap: Capitalization) -> None:
    assert_ownership_is_whole(cap)


@PROPERTIES
@given(st.dictionaries(st.text(max_size=3), st.integers(0, 10**9), min_size=1).filter(lambda d: sum(d.values()) > 0),
       st.integers(0, 4))
def test_display_percentages_add_up_to_exactly_100(counts: dict[str, int], decimals: int) -> None:
    shown = percentages(counts, decimals)
    assert sum(shown.values()) == 100
    total = sum(counts.values())
    for key, count in counts.items():
        assert abs(exact(shown[key]) - Fraction(100 * count, total)) < Fraction(1, 10**decimals)


@PROPERTIES
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=20).filter(any))
def test_largest_remainder_adds_up_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    parts = largest_remainder(total, {n: Fraction(w) for n, w in enumerate(weights)})
    assert sum(parts.values()) == total
    for n, weight in enumerate(weights):
        assert abs(parts[n] - Fraction(weight * total, sum(weights))) < 1


@PROPERTIES
@given(capitalizations(with_preferred=False), rounds("Seed"), rounds("Series A"), convertibles())
def test_ownership_is_whole_at_every_step_of_two_rounds(cap, seed, series_a, instruments) -> None:
    """Before, after the seed (which converts the SAFEs and notes) and after the Series A: 100% each time."""
    assert_ownership_is_whole(cap)
    after_seed = solve(cap, seed, instruments)
    assert_ownership_is_whole(after_seed.capitalization)
    after_a = solve(after_seed.capitalization, series_a, [])
    assert_ownership_is_whole(after_a.capitalization)
    assert after_a.post_money_shares == after_seed.post_money_shares + after_a.new_pool_shares + sum(
        item.shares for item in after_a.investments)


@PROPERTIES
@given(capitalizations(), rounds(), convertibles())
def test_the_exact_solution_satisfies_every_equation(cap, terms, instruments) -> None:
    """The documented definitions hold exactly, before rounding: no approximation anywhere."""
    result = solve(cap, terms, instruments)
    existing, pool_before = Fraction(cap.fully_diluted()), cap.pool_available()
    valuation = terms.pre_money_valuation()
    pool = result.exact_new_pool_shares
    converted = sum((c.exact_shares for c in result.conversions), Fraction(0))
    price_base = existing + pool + (converted if terms.convertibles_in_pre_money else 0)
    assert result.exact_price == valuation / price_base
    post = price_base + exact(terms.new_money) / result.exact_price + (
        0 if terms.convertibles_in_pre_money else converted)
    if terms.pool is not None and terms.pool.target is not None:
        target = exact(terms.pool.target)
        if pool > 0:
            assert (pool_before + pool) / post == target
        else:
            assert pool_before / post >= target
    company_capitalization = existing + max(0, terms.promised_options - pool_before) + converted
    for instrument, conversion in zip(apply_most_favoured_nation(instruments), result.conversions, strict=True):
        candidates = [(1 - exact(instrument.discount)) * result.exact_price]
        if instrument.valuation_cap is not None:
            base = company_capitalization if instrument.kind is InstrumentKind.POST_MONEY_SAFE else existing + pool
            candidates.append(exact(instrument.valuation_cap) / base)
        assert conversion.exact_conversion_price == min(candidates)  # the better of cap and discount
        assert conversion.exact_shares == exact(conversion.converted_amount) / conversion.exact_conversion_price


@PROPERTIES
@given(capitalizations(), rounds(), convertibles())
def test_rounding_never_creates_shares(cap, terms, instruments) -> None:
    """Every issuance is the whole part of what its money buys at the stated price; with prices rounded up,
    the issued total never exceeds the exact solution; the pool target holds to within one share."""
    result = solve(cap, terms, instruments)
    for item in result.investments:
        assert item.shares <= exact(item.amount) / exact(item.price) < item.shares + 1
    for conversion in result.conversions:
        assert conversion.shares <= exact(conversion.converted_amount) / exact(conversion.conversion_price) < conversion.shares + 1
        # Never more than the cap or the discount entitles: the stated price is the better of the two.
        assert conversion.conversion_price == min(p for p in (conversion.cap_price, conversion.discount_price) if p is not None)
    if terms.rounding.price_rounding == ROUND_UP:
        exact_issued = exact(terms.new_money) / result.exact_price + sum(
            (c.exact_shares for c in result.conversions), Fraction(0)) + result.exact_new_pool_shares
        issued = sum(i.shares for i in result.investments) + sum(c.shares for c in result.conversions)
        if terms.pool is None or terms.pool.target is not None:
            issued += result.new_pool_shares
        else:
            exact_issued -= result.exact_new_pool_shares
        assert issued <= exact_issued
        for conversion in result.conversions:
            assert conversion.shares <= conversion.exact_shares
    if terms.pool is not None and terms.pool.target is not None and result.new_pool_shares:
        target = exact(terms.pool.target)
        assert Fraction(result.pool_available, result.post_money_shares) <= target
        assert Fraction(result.pool_available + 1, result.post_money_shares + 1) > target


@PROPERTIES
@given(capitalizations(with_preferred=False), rounds(), convertibles())
def test_a_post_money_safe_gets_at_most_its_cap_percentage(cap, terms, instruments) -> None:
    """A post-money SAFE converting at its cap owns amount / cap of the Company Capitalization, not more."""
    terms = replace(terms, rounding=RoundingPolicy(price_rounding=ROUND_UP))
    result = solve(cap, terms, instruments)
    company_capitalization = cap.fully_diluted() + max(0, terms.promised_options - cap.pool_available()) + sum(
        c.shares for c in result.conversions)
    for instrument, conversion in zip(apply_most_favoured_nation(instruments), result.conversions, strict=True):
        assert conversion.shares <= exact(conversion.converted_amount) / conversion.exact_conversion_price
        if instrument.kind is InstrumentKind.POST_MONEY_SAFE and conversion.basis == "cap":
            assert instrument.valuation_cap is not None
            assert Fraction(conversion.shares, company_capitalization) <= (
                exact(instrument.amount) / exact(instrument.valuation_cap))


@PROPERTIES
@given(convertibles())
def test_mfn_never_worsens_terms(instruments) -> None:
    for before, after in zip(instruments, apply_most_favoured_nation(instruments), strict=True):
        assert after.discount >= before.discount
        if before.valuation_cap is not None:
            assert after.valuation_cap is not None
            assert after.valuation_cap <= before.valuation_cap
        if not before.mfn:
            assert after == before


@st.composite
def exits(draw: st.DrawFn) -> tuple[Capitalization, Decimal]:
    """A capitalization and an exit value on its own scale: from nothing to several times the preferences
    plus a dollar a share, so every region of the waterfall (shortfall, dead zone, conversion) is reached."""
    cap = draw(capitalizations())
    preferences = sum(
        (p.shares * cap.share_class(p.share_class).preference_per_share() for p in cap.positions
         if p.kind is PositionKind.SHARES), Fraction(0))
    scale = preferences + cap.fully_diluted()
    fraction = Fraction(draw(st.integers(0, 6_000)), 1_000)
    cents = int(scale * fraction * 100)
    return cap, Decimal(cents).scaleb(-2)


def exact_net(result, index: int) -> Fraction:
    payout = result.payout(index)
    return payout.exact_proceeds - Fraction(payout.exercise_cost_cents, 100)


@PROPERTIES
@given(exits())
def test_waterfall_distributes_exactly_what_is_available(case) -> None:
    cap, exit_value = case
    result = waterfall(cap, exit_value)
    exercise = sum(payout.exercise_cost_cents for payout in result.payouts)
    assert result.distributed == exit_value + Decimal(exercise).scaleb(-2)
    assert sum(payout.proceeds_cents for payout in result.payouts) == int(result.distributed * 100)
    assert sum((payout.exact_proceeds for payout in result.payouts), Fraction(0)) == exact(result.distributed)
    for payout in result.payouts:
        assert abs(payout.proceeds_cents - 100 * payout.exact_proceeds) < 1
        assert payout.proceeds_cents >= 0


@settings(PROPERTIES, max_examples=150)
@given(exits())
def test_no_holder_is_paid_less_than_its_other_choice_would_pay(case) -> None:
    """Converting (or exercising) and not converting: the waterfall's choice pays each holder at least as much."""
    cap, exit_value = case
    result = waterfall(cap, exit_value)
    for index in decision_positions(cap):
        other = distribute(cap, exit_value, flipped(result.chose_common, index))
        assert exact_net(result, index) >= exact_net(other, index)


@PROPERTIES
@given(exits())
def test_seniority_is_honoured(case) -> None:
    """A preference is cut only once everything junior gets nothing, and a level shares a shortfall pro rata."""
    cap, exit_value = case
    result = waterfall(cap, exit_value)
    claims: dict[int, tuple[int, Fraction]] = {}
    for payout in result.payouts:
        share_class = cap.share_class(payout.share_class)
        if payout.kind is PositionKind.SHARES and share_class.is_preferred and not payout.chose_common:
            claims[payout.index] = (share_class.seniority, payout.shares * share_class.preference_per_share())
    for index, (seniority, claim) in claims.items():
        paid = result.payout(index).preference
        assert paid <= claim
        if paid < claim:
            assert all(p.participation == 0 for p in result.payouts)
            for other, (other_seniority, other_claim) in claims.items():
                other_paid = result.payout(other).preference
                if other_seniority < seniority:
                    assert other_paid == 0
                elif other_seniority == seniority and other_claim:
                    assert other_paid * claim == paid * other_claim
                else:
                    assert other_paid == other_claim
