"""A capitalization (share classes and positions) and the holdings derived from it.

Counts are common-equivalent shares: a preferred position counts ``floor(shares × conversion_ratio)``
(with the usual ratio of 1, the position's own shares). *Outstanding* counts issued stock only; *fully
diluted* adds granted options, warrants and the options still available in the pool. Ownership is an
exact ``Fraction`` of the total, so the fractions add up to exactly 1; ``percentages`` gives display
percentages that add up to exactly 100.00 by the largest-remainder rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from equity.captable.rounding import exact, percentages, shares_down

DEFAULT_POOL_HOLDER = "Option pool (available)"


class ClassKind(StrEnum):
    COMMON = "common"
    PREFERRED = "preferred"


class PositionKind(StrEnum):
    SHARES = "shares"
    OPTIONS = "options"
    WARRANTS = "warrants"
    POOL = "pool"  # reserved under an equity plan and not yet granted


@dataclass(frozen=True)
class ShareClass:
    """A class or series of stock and the terms the waterfall needs.

    ``participation_cap`` is the total a participating share may receive (preference included), as a
    multiple of the original issue price, as in the NVCA model charter. Higher ``seniority`` is paid first;
    classes with the same seniority are pari passu.
    """

    name: str
    kind: ClassKind = ClassKind.COMMON
    original_issue_price: Decimal = Decimal(0)
    liquidation_multiple: Decimal = Decimal(1)
    participating: bool = False
    participation_cap: Decimal | None = None
    seniority: int = 0
    conversion_ratio: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a share class needs a name")
        if self.original_issue_price < 0 or self.liquidation_multiple < 0:
            raise ValueError(f"{self.name}: issue price and preference multiple cannot be negative")
        if self.conversion_ratio <= 0:
            raise ValueError(f"{self.name}: the conversion ratio must be positive")
        if self.participation_cap is not None:
            if not self.participating:
                raise ValueError(f"{self.name}: a participation cap needs a participating class")
            if self.participation_cap < self.liquidation_multiple:
                raise ValueError(f"{self.name}: the participation cap includes the preference, so it cannot be below it")

    @property
    def is_preferred(self) -> bool:
        return self.kind is ClassKind.PREFERRED

    def preference_per_share(self) -> Fraction:
        """Liquidation preference of one share of this class (zero for common)."""
        if not self.is_preferred:
            return Fraction(0)
        return exact(self.original_issue_price) * exact(self.liquidation_multiple)

    def as_converted(self, shares: int) -> int:
        if self.conversion_ratio == 1:
            return shares
        return shares_down(shares * exact(self.conversion_ratio))


@dataclass(frozen=True)
class Position:
    """What one stakeholder holds of one class: stock, options or warrants over it, or the pool's reserve."""

    holder: str
    share_class: str
    shares: int
    kind: PositionKind = PositionKind.SHARES
    exercise_price: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.shares < 0:
            raise ValueError(f"{self.holder}: a position cannot hold a negative number of shares")
        if self.exercise_price < 0:
            raise ValueError(f"{self.holder}: an exercise price cannot be negative")

    @property
    def key(self) -> tuple[str, str, PositionKind, Decimal]:
        return (self.holder, self.share_class, self.kind, self.exercise_price)


@dataclass(frozen=True)
class Capitalization:
    share_classes: tuple[ShareClass, ...]
    positions: tuple[Position, ...]
    _by_name: Mapping[str, ShareClass] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {share_class.name: share_class for share_class in self.share_classes}
        if len(by_name) != len(self.share_classes):
            raise ValueError("share class names must be unique")
        for position in self.positions:
            if position.share_class not in by_name:
                raise ValueError(f"{position.holder}: unknown share class {position.share_class!r}")
        object.__setattr__(self, "_by_name", by_name)

    def share_class(self, name: str) -> ShareClass:
        return self._by_name[name]

    def as_converted(self, position: Position) -> int:
        return self.share_class(position.share_class).as_converted(position.shares)

    def outstanding(self) -> int:
        return sum(self.as_converted(p) for p in self.positions if p.kind is PositionKind.SHARES)

    def fully_diluted(self) -> int:
        return sum(self.as_converted(p) for p in self.positions)

    def pool_available(self) -> int:
        return sum(self.as_converted(p) for p in self.positions if p.kind is PositionKind.POOL)

    def holders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.holder for p in self.positions if p.kind is not PositionKind.POOL))


@dataclass(frozen=True)
class HoldingsRow:
    """One line of a holdings table: counts in common-equivalent shares and exact ownership."""

    key: str
    outstanding: int
    fully_diluted: int
    outstanding_ownership: Fraction
    fully_diluted_ownership: Fraction
    fully_diluted_percent: Decimal


@dataclass(frozen=True)
class Holdings:
    by_stakeholder: tuple[HoldingsRow, ...]
    by_class: tuple[HoldingsRow, ...]
    total_outstanding: int
    total_fully_diluted: int

    def stakeholder(self, key: str) -> HoldingsRow:
        for row in self.by_stakeholder:
            if row.key == key:
                return row
        raise KeyError(key)

    def share_class(self, key: str) -> HoldingsRow:
        for row in self.by_class:
            if row.key == key:
                return row
        raise KeyError(key)


def class_row_key(position: Position) -> str:
    """The by-class line a position belongs to: its class for stock, else what kind of right it is."""
    if position.kind is PositionKind.SHARES:
        return position.share_class
    if position.kind is PositionKind.POOL:
        return "Options available"
    return f"{position.kind.value.capitalize()} ({position.share_class})"


def _rows(groups: Iterable[tuple[str, int, int]], total_outstanding: int, total_fd: int) -> tuple[HoldingsRow, ...]:
    grouped: dict[str, list[int]] = {}
    for key, outstanding, fully_diluted in groups:
        counts = grouped.setdefault(key, [0, 0])
        counts[0] += outstanding
        counts[1] += fully_diluted
    shown = percentages({key: counts[1] for key, counts in grouped.items()}) if total_fd else {}
    return tuple(
        HoldingsRow(
            key=key,
            outstanding=outstanding,
            fully_diluted=fully_diluted,
            outstanding_ownership=Fraction(outstanding, total_outstanding) if total_outstanding else Fraction(0),
            fully_diluted_ownership=Fraction(fully_diluted, total_fd) if total_fd else Fraction(0),
            fully_diluted_percent=shown.get(key, Decimal(0)),
        )
        for key, (outstanding, fully_diluted) in grouped.items()
    )


def holdings(capitalization: Capitalization) -> Holdings:
    """Outstanding and fully diluted holdings by stakeholder and by class, with exact ownership."""
    total_outstanding = capitalization.outstanding()
    total_fd = capitalization.fully_diluted()
    entries = [
        (position, capitalization.as_converted(position)) for position in capitalization.positions
    ]
    by_holder = _rows(
        ((p.holder, count if p.kind is PositionKind.SHARES else 0, count) for p, count in entries),
        total_outstanding, total_fd,
    )
    by_class = _rows(
        ((class_row_key(p), count if p.kind is PositionKind.SHARES else 0, count) for p, count in entries),
        total_outstanding, total_fd,
    )
    return Holdings(by_holder, by_class, total_outstanding, total_fd)
