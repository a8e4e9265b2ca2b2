"""The liquidation waterfall: who receives what when the company is sold for an exit value.

Order of payment, for a given set of choices:

1. Options and warrants that are exercised pay their strike (in cents, half-up) into the proceeds, so the
   amount distributed is the exit value plus the exercise proceeds.
2. Preferred positions that did not convert take their liquidation preference (shares × original issue
   price × multiple), the most senior level first; within a level (same ``seniority``: pari passu) a
   shortfall is shared in proportion to the preferences.
3. What is left goes to common, converted preferred, exercised options and warrants, and participating
   preferred, per common-equivalent share; a participation cap (total return including the preference)
   is honoured by "water-filling": a capped holder stops at its cap and the rest is shared by the others.

Options and warrants are exercised into common-equivalent shares (a warrant over preferred stock is treated
as exercised and converted; its preference is not modelled). The unissued pool receives nothing.

**The choices** (each preferred position converts or not; each option or warrant position is exercised or
not) are each a threshold on the common price per share ``q``: a non-participating preferred position
converts when ``q`` exceeds its preference per common-equivalent share, a capped participating one when ``q``
exceeds its cap per share, an option when ``q`` exceeds its strike (uncapped participating preferred never
gains by converting). The loop admits positions in increasing order of threshold, recomputing ``q`` each
time, while the next threshold is below ``q``. Admitting a position whose threshold is below ``q`` leaves the
new ``q`` above that threshold (it adds ``threshold × shares`` of value and ``shares`` shares to the common
pool, so the price moves towards the threshold but not past it), so no earlier choice ever flips back: the
loop ends after at most one step per position, in a state where no holder is paid less than switching its
own choice would pay. Ties (``q`` equal to a threshold) keep the preference: converting would not pay more.

**Cents.** Every amount is exact (``Fraction``) until the end; payouts are then rounded to cents with the
largest-remainder rule, so they add up exactly to the amount distributed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from equity.captable.holdings import Capitalization, Position, PositionKind
from equity.captable.rounding import exact, from_cents, largest_remainder, require_cents, to_cents


@dataclass(frozen=True)
class Payout:
    """One position's share of the exit. ``chose_common``: converted (preferred) or exercised (option)."""

    index: int
    holder: str
    share_class: str
    kind: PositionKind
    shares: int
    chose_common: bool
    preference: Fraction
    participation: Fraction
    proceeds_cents: int
    exercise_cost_cents: int

    @property
    def exact_proceeds(self) -> Fraction:
        return self.preference + self.participation

    @property
    def net_cents(self) -> int:
        """What the holder ends up with: proceeds less the strike it paid to exercise."""
        return self.proceeds_cents - self.exercise_cost_cents


@dataclass(frozen=True)
class Waterfall:
    exit_value: Decimal
    exercise_proceeds: Decimal
    distributed: Decimal
    common_price: Fraction | None
    chose_common: frozenset[int]
    payouts: tuple[Payout, ...]

    def holder_totals(self) -> dict[str, int]:
        """Net cents by holder (proceeds less exercise cost)."""
        totals: dict[str, int] = {}
        for payout in self.payouts:
            totals[payout.holder] = totals.get(payout.holder, 0) + payout.net_cents
        return totals

    def payout(self, index: int) -> Payout:
        for payout in self.payouts:
            if payout.index == index:
                return payout
        raise KeyError(index)


def _is_right(position: Position) -> bool:
    return position.kind in (PositionKind.OPTIONS, PositionKind.WARRANTS)


def exercise_cost_cents(position: Position) -> int:
    return to_cents(exact(position.exercise_price) * position.shares)


@dataclass(frozen=True)
class _Split:
    preference: dict[int, Fraction]
    participation: dict[int, Fraction]
    common_price: Fraction | None  # None: value left over that no uncapped participant can take
    cash_cents: int


def _split(capitalization: Capitalization, exit_cents: int, chose_common: frozenset[int]) -> _Split:
    positions = capitalization.positions
    cash_cents = exit_cents + sum(
        exercise_cost_cents(positions[i]) for i in chose_common if _is_right(positions[i]))
    remaining = Fraction(cash_cents, 100)
    preference: dict[int, Fraction] = {}
    levels: dict[int, list[tuple[int, Fraction]]] = {}
    for index, position in enumerate(positions):
        share_class = capitalization.share_class(position.share_class)
        if position.kind is PositionKind.SHARES and share_class.is_preferred and index not in chose_common:
            claim = position.shares * share_class.preference_per_share()
            levels.setdefault(share_class.seniority, []).append((index, claim))
    for seniority in sorted(levels, reverse=True):
        claims = levels[seniority]
        total = sum((claim for _, claim in claims), Fraction(0))
        paid = min(total, remaining)
        for index, claim in claims:
            preference[index] = claim * paid / total if total else Fraction(0)
        remaining -= paid

    # (index, common-equivalent shares, headroom or None when uncapped)
    participants: list[tuple[int, int, Fraction | None]] = []
    for index, position in enumerate(positions):
        share_class = capitalization.share_class(position.share_class)
        shares = capitalization.as_converted(position)
        if position.kind is PositionKind.POOL or shares == 0:
            continue
        if _is_right(position):
            if index in chose_common:
                participants.append((index, shares, None))
        elif not share_class.is_preferred or index in chose_common:
            participants.append((index, shares, None))
        elif share_class.participating:
            headroom: Fraction | None = None
            if share_class.participation_cap is not None:
                cap_total = position.shares * exact(share_class.original_issue_price) * exact(share_class.participation_cap)
                headroom = max(Fraction(0), cap_total - preference[index])
            participants.append((index, shares, headroom))

    participation = {index: Fraction(0) for index, _, _ in participants}
    active = sum(shares for _, shares, _ in participants)
    capped = sorted((p for p in participants if p[2] is not None), key=lambda p: (p[2] or 0) / p[1])
    level: Fraction | None = None
    done: set[int] = set()
    for index, shares, headroom in capped:
        assert headroom is not None  # noqa: S101 - filtered above
        if active == 0 or remaining / active < headroom / shares:
            break
        participation[index] = headroom
        remaining -= headroom
        active -= shares
        done.add(index)
    if remaining == 0:
        level = Fraction(0)
    elif active > 0:
        level = remaining / active
    if level is not None:
        for index, shares, _ in participants:
            if index not in done:
                participation[index] = shares * level
    return _Split(preference, participation, level, cash_cents)


def _threshold(capitalization: Capitalization, index: int) -> Fraction | None:
    """The common price per share above which position ``index`` is better off as common (None: never)."""
    position = capitalization.positions[index]
    share_class = capitalization.share_class(position.share_class)
    shares = capitalization.as_converted(position)
    if shares == 0 or position.kind is PositionKind.POOL:
        return None
    if _is_right(position):
        return Fraction(exercise_cost_cents(position), 100 * shares)
    if position.kind is not PositionKind.SHARES or not share_class.is_preferred:
        return None
    if share_class.participating:
        if share_class.participation_cap is None:
            return None
        return position.shares * exact(share_class.original_issue_price) * exact(share_class.participation_cap) / shares
    return position.shares * share_class.preference_per_share() / shares


def distribute(capitalization: Capitalization, exit_value: Decimal, chose_common: Iterable[int] = ()) -> Waterfall:
    """The waterfall for given choices (indexes of positions that convert or exercise), not optimised."""
    exit_cents = require_cents(exit_value, "the exit value")
    if exit_cents < 0:
        raise ValueError("an exit value cannot be negative")
    choices = frozenset(chose_common)
    split = _split(capitalization, exit_cents, choices)
    if split.common_price is None:
        raise ValueError("value is left over that no holder can receive under these choices")
    exact_amounts = {
        index: split.preference.get(index, Fraction(0)) + split.participation.get(index, Fraction(0))
        for index, position in enumerate(capitalization.positions) if position.kind is not PositionKind.POOL
    }
    cents = largest_remainder(split.cash_cents, exact_amounts)
    payouts = tuple(
        Payout(
            index=index, holder=position.holder, share_class=position.share_class, kind=position.kind,
            shares=position.shares, chose_common=index in choices,
            preference=split.preference.get(index, Fraction(0)),
            participation=split.participation.get(index, Fraction(0)),
            proceeds_cents=cents[index],
            exercise_cost_cents=exercise_cost_cents(position) if index in choices and _is_right(position) else 0,
        )
        for index, position in enumerate(capitalization.positions) if position.kind is not PositionKind.POOL
    )
    exercise = split.cash_cents - exit_cents
    return Waterfall(
        exit_value=from_cents(exit_cents), exercise_proceeds=from_cents(exercise),
        distributed=from_cents(split.cash_cents), common_price=split.common_price,
        chose_common=choices, payouts=payouts)


def choose(capitalization: Capitalization, exit_value: Decimal) -> frozenset[int]:
    """The positions that convert or exercise at ``exit_value`` (see the module docstring)."""
    exit_cents = require_cents(exit_value, "the exit value")
    candidates: list[tuple[Fraction, int]] = []
    for index in range(len(capitalization.positions)):
        threshold = _threshold(capitalization, index)
        if threshold is not None:
            candidates.append((threshold, index))
    candidates.sort()
    chosen: set[int] = set()
    position = 0
    while True:
        price = _split(capitalization, exit_cents, frozenset(chosen)).common_price
        if position == len(candidates):
            return frozenset(chosen)
        threshold = candidates[position][0]
        if price is not None and price <= threshold:
            return frozenset(chosen)
        group = [index for value, index in candidates[position:] if value == threshold]
        chosen.update(group)
        position += len(group)


def waterfall(capitalization: Capitalization, exit_value: Decimal) -> Waterfall:
    """Who receives what at ``exit_value``, with every holder's best choice and cents adding up exactly."""
    if not any(p.kind is not PositionKind.POOL and p.shares for p in capitalization.positions):
        raise ValueError("nobody holds anything to distribute to")
    return distribute(capitalization, exit_value, choose(capitalization, exit_value))


def flipped(choices: frozenset[int], index: int) -> frozenset[int]:
    """``choices`` with position ``index``'s choice reversed (to check no holder would do better)."""
    return choices - {index} if index in choices else choices | {index}


def decision_positions(capitalization: Capitalization) -> Sequence[int]:
    """Positions that have a choice to make: preferred that may convert, options and warrants."""
    return [index for index in range(len(capitalization.positions)) if _threshold(capitalization, index) is not None]
