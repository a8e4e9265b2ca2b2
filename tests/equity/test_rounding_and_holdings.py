"""The rounding rules and the holdings table, with exact numbers worked by hand."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal
from fractions import Fraction

import pytest

from equity.captable import (
    Capitalization,
    ClassKind,
    Position,
    PositionKind,
    RoundingPolicy,
    ShareClass,
    holdings,
)
from equity.captable.rounding import (
    largest_remainder,
    percentages,
    require_cents,
    round_price,
    shares_down,
    to_cents,
)


def test_price_rounds_half_up_to_four_places_by_default() -> None:
    assert round_price(Fraction(100005, 100000)) == Decimal("1.0001")  # exactly half: up
    assert round_price(Fraction(100004999, 100000000)) == Decimal("1.0000")
    assert round_price(Fraction(15_000_000, 13_459_705)) == Decimal("1.1144")
    assert round_price(Fraction(1, 3)) == Decimal("0.3333")
    assert round_price(Fraction(2, 3)) == Decimal("0.6667")


def test_a_round_can_state_its_own_price_rule() -> None:
    assert round_price(Fraction(1, 3), RoundingPolicy(price_rounding=ROUND_UP)) == Decimal("0.3334")
    assert round_price(Fraction(100005, 100000), RoundingPolicy(price_rounding=ROUND_HALF_EVEN)) == Decimal("1.0000")
    assert round_price(Fraction(1, 3), RoundingPolicy(price_decimals=6)) == Decimal("0.333333")
    with pytest.raises(ValueError, match="rounding mode"):
        RoundingPolicy(price_rounding="sideways")


def test_rounding_is_exact_beyond_the_default_decimal_precision() -> None:
    """29 significant digits: the process-wide 28-digit context would have rounded this before we did
    (``Decimal(10**24) + Decimal("0.0002")`` in that context is 1E+24)."""
    huge = Fraction(10**24) + Fraction(15, 100000)  # 1e24 + 0.00015
    assert round_price(huge) == Decimal("1000000000000000000000000.0002")
    assert shares_down(Fraction(10**30 - 1, 10)) == 10**29 - 1


def test_shares_always_round_down_and_money_to_the_cent() -> None:
    assert shares_down(Decimal("588235.99")) == 588_235
    assert shares_down(Fraction(5_000_000_0000, 11144)) == 4_486_719
    assert to_cents(Fraction(1, 200)) == 1  # half a cent rounds up
    assert to_cents(Decimal("2833333.333")) == 283_333_333
    assert require_cents(Decimal("10.50")) == 1050
    with pytest.raises(ValueError, match="cents"):
        require_cents(Decimal("10.505"))


def test_largest_remainder_gives_the_odd_units_to_the_largest_remainders() -> None:
    """100 split 1:1:1 is 34, 33, 33 (ties go to the first); 10 split 0.45 : 0.35 : 0.2 → 5, 3, 2
    (floors 4, 3, 2; the remainders 0.5, 0.5, 0 give the one unit left to the first of the tie)."""
    assert largest_remainder(100, {"a": Fraction(1), "b": Fraction(1), "c": Fraction(1)}) == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder(10, {"a": Fraction(45), "b": Fraction(35), "c": Fraction(20)}) == {"a": 5, "b": 3, "c": 2}
    assert percentages({"a": 1, "b": 1, "c": 1}) == {"a": Decimal("33.34"), "b": Decimal("33.33"), "c": Decimal("33.33")}


def example_table() -> Capitalization:
    series_a = ShareClass("Series A", ClassKind.PREFERRED, original_issue_price=Decimal(1),
                          conversion_ratio=Decimal("1.5"))
    return Capitalization((ShareClass("Common"), series_a), (
        Position("Alice", "Common", 4_000_000),
        Position("Bob", "Common", 2_000_000),
        Position("Bob", "Common", 500_000, PositionKind.OPTIONS, exercise_price=Decimal("0.10")),
        Position("Fund", "Series A", 1_000_000),
        Position("Lender", "Common", 100_000, PositionKind.WARRANTS, exercise_price=Decimal("1.00")),
        Position("Option pool (available)", "Common", 900_000, PositionKind.POOL),
    ))


def test_outstanding_and_fully_diluted_by_stakeholder_and_class() -> None:
    """By hand: outstanding = 4,000,000 + 2,000,000 + 1,000,000 × 1.5 = 7,500,000 common-equivalent
    shares; fully diluted adds 500,000 options, 100,000 warrants and 900,000 available = 9,000,000.
    Alice owns 4/7.5 = 53.33% outstanding and 4/9 = 44.44% fully diluted; Bob 2.5/9 = 27.78%."""
    table = holdings(example_table())
    assert (table.total_outstanding, table.total_fully_diluted) == (7_500_000, 9_000_000)
    alice, bob = table.stakeholder("Alice"), table.stakeholder("Bob")
    assert (alice.outstanding_ownership, alice.fully_diluted_ownership) == (Fraction(8, 15), Fraction(4, 9))
    assert (bob.outstanding, bob.fully_diluted, bob.fully_diluted_ownership) == (2_000_000, 2_500_000, Fraction(5, 18))
    assert table.stakeholder("Fund").fully_diluted == 1_500_000
    assert table.share_class("Series A").outstanding == 1_500_000
    assert table.share_class("Options (Common)").fully_diluted == 500_000
    assert table.share_class("Warrants (Common)").fully_diluted == 100_000
    assert table.share_class("Options available").fully_diluted == 900_000
    assert [row.fully_diluted_percent for row in table.by_stakeholder] == [
        Decimal("44.44"), Decimal("27.78"), Decimal("16.67"), Decimal("1.11"), Decimal("10.00")]
    with pytest.raises(KeyError):
        table.stakeholder("Nobody")


def test_a_position_must_name_a_known_class() -> None:
    with pytest.raises(ValueError, match="unknown share class"):
        Capitalization((ShareClass("Common"),), (Position("Alice", "Series Z", 1),))
