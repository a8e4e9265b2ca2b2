"""A capitalization (share classes and positions) and the holdings derived from it.

Counts are common-equivalent shares: a preferred position counts ``floor(shares × conversion_ratio)``
(with the usual ratio of 1, the position's own shares). *Outstanding* counts issued stock only; *fully
diluted* adds granted options, warrants and the options still available in the pool. Ownership is an
exact ``Fraction`` of the total, so the fractions add up to exactly 1; ``percentages`` gives display
percentages that add up to exactly 100.00 by the largest-remainder rule.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from equity.captable.rounding import exact, percentages, shares_down

DEFAULT_POOL_HOLDER = "Option pool (available)"


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a large table is built (a context manager or a decorator).

    The collector scans the young objects every few hundred new ones and the whole heap once enough have
    survived; a cap table of 76,000 positions and 10,000 holders set off those scans, full ones included,
    several times per computation (a fifth of its time, and the part that grows faster than the table).
    Nothing built here forms a reference cycle, so reference counting frees all of it whether or not the
    collector runs: pausing it skips only wasted scans (Mercurial's `util.nogc` does the same). Nested uses
    leave it to the outermost one to resume the collector.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    _counts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {share_class.name: share_class for share_class in self.share_classes}
        if len(by_name) != len(self.share_classes):
            raise ValueError("share class names must be unique")
        # One pass checks every position's class and counts it once: a cap table of a large company has tens
        # of thousands of positions, and the totals and tables below all need these counts.
        converting = {name: share_class for name, share_class in by_name.items() if share_class.conversion_ratio != 1}
        counts = []
        for position in self.positions:
            share_class = converting.get(position.share_class)
            if share_class is not None:
                counts.append(share_class.as_converted(position.shares))
            elif position.share_class in by_name:
                counts.append(position.shares)
            else:
                raise ValueError(f"{position.holder}: unknown share class {position.share_class!r}")
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_counts", tuple(counts))

    def share_class(self, name: str) -> ShareClass:
        return self._by_name[name]

    def as_converted(self, position: Position) -> int:
        return self.share_class(position.share_class).as_converted(position.shares)

    @property
    def as_converted_counts(self) -> tuple[int, ...]:
        """Every position's common-equivalent count, in the order of ``positions``."""
        return self._counts

    def _total(self, kind: PositionKind) -> int:
        return sum(count for position, count in zip(self.positions, self._counts, strict=True) if position.kind is kind)

    def outstanding(self) -> int:
        return self._total(PositionKind.SHARES)

    def fully_diluted(self) -> int:
        return sum(self._counts)

    def pool_available(self) -> int:
        return self._total(PositionKind.POOL)

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
    return _class_row_key(position.share_class, position.kind)


def _class_row_key(share_class: str, kind: PositionKind) -> str:
    if kind is PositionKind.SHARES:
        return share_class
    if kind is PositionKind.POOL:
        return "Options available"
    return f"{kind.value.capitalize()} ({share_class})"


def _rows(grouped: Mapping[str, list[int]], total_outstanding: int, total_fd: int) -> tuple[HoldingsRow, ...]:
    """Rows from ``[outstanding, fully diluted]`` per key, in the mapping's order (which breaks percentage ties)."""
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


@cycle_collector_paused()
def holdings(capitalization: Capitalization) -> Holdings:
    """Outstanding and fully diluted holdings by stakeholder and by class, with exact ownership.

    Rows are in order of first appearance among the positions. One pass over the positions sums them by
    holder and by (class, kind); the few (class, kind) sums then make the by-class lines.
    """
    total_outstanding = capitalization.outstanding()
    total_fd = capitalization.fully_diluted()
    stock = PositionKind.SHARES
    by_holder: dict[str, list[int]] = {}
    by_right: dict[tuple[str, PositionKind], list[int]] = {}
    for position, count in zip(capitalization.positions, capitalization.as_converted_counts, strict=True):
        outstanding = count if position.kind is stock else 0
        sums = by_holder.get(position.holder)
        if sums is None:
            by_holder[position.holder] = [outstanding, count]
        else:
            sums[0] += outstanding
            sums[1] += count
        right = (position.share_class, position.kind)
        sums = by_right.get(right)
        if sums is None:
            by_right[right] = [outstanding, count]
        else:
            sums[0] += outstanding
            sums[1] += count
    by_class: dict[str, list[int]] = {}
    for (share_class, kind), (outstanding, count) in by_right.items():
        sums = by_class.setdefault(_class_row_key(share_class, kind), [0, 0])
        sums[0] += outstanding
        sums[1] += count
    return Holdings(_rows(by_holder, total_outstanding, total_fd), _rows(by_class, total_outstanding, total_fd),
                    total_outstanding, total_fd)
