"""A priced round's pro-forma: price per share, new shares, conversions, pool top-up, the table after.

Definitions (E = existing fully diluted shares, U = the pool's available options, X = new pool shares,
C_i = shares instrument i converts into, S = E + X + ΣC, V = pre-money valuation, M = new money):

- The round price is ``P = V / S``: the pre-money fully diluted count includes the pool top-up (the
  "option pool shuffle") and the converting SAFEs and notes, so they dilute the existing holders and not
  the new investors (today's usual term sheet). With ``convertibles_in_pre_money=False`` the price is
  ``V / (E + X)`` and the conversions dilute everyone, new investors included (the older convention of
  many pre-money SAFE and note examples). A post-money valuation is turned into ``V = post-money − M``.
- The post-money fully diluted count is ``S + M / P``; a pool target ``t`` asks for ``U + X = t × that``
  (no top-up if the pool is already large enough).
- Every instrument converts at the lower of its cap price and its discount price ``(1 − d) × P``:
  - a post-money SAFE's cap price is ``cap / K`` with K the YC "Company Capitalization": E, plus every
    converting SAFE and note (itself included), plus this round's pool increase only to the extent the
    promised options exceed the existing pool, so ``C_i = amount / cap × (E + max(0, promised − U) + ΣC)``;
  - a pre-money SAFE and a note use the pre-money capitalization without any converting security but with
    the pool increase, ``C_i = amount / cap × (E + X)``;
  - the discount price gives ``C_i = amount / ((1 − d) × V) × S``.

**The exact solve.** The price depends on the conversions and the conversions on the price (and the pool
target on both). For a fixed choice of branch (cap or discount for each instrument, top-up or none for the
pool) every unknown is an affine function of the others with non-negative coefficients, ``x = A x + b``,
so the whole system is linear; it is solved exactly by Gaussian elimination in ``Fraction`` arithmetic.
The branch is chosen by policy iteration (Howard): solve with the current branches, then switch every
unknown whose other branch gives a strictly larger value at the solution (more shares = the better price
for the holder), and solve again. For an M-matrix ``I − A`` (checked: every elimination pivot must be
positive, otherwise the terms hand the convertibles and the pool 100% or more and the round is refused)
each switch can only increase the solution, so no branch choice repeats and the loop ends after finitely
many exact solves (in practice one to three); the result is the unique exact fixed point where every
instrument gets the better of its two prices.

**Rounding, once, at the end** (the rules in ``rounding``): the round price and each conversion price are
stated to 4 decimals (half-up by default), investors get ``floor(amount / price)`` shares, instruments
``floor(converted amount / conversion price)``, and a pool target is recomputed from the resulting whole
shares as the largest pool that does not exceed the target, so the target holds after rounding to within
one share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from equity.captable.convertibles import (
    Convertible,
    InstrumentKind,
    apply_most_favoured_nation,
    conversion_amount,
)
from equity.captable.holdings import (
    DEFAULT_POOL_HOLDER,
    Capitalization,
    ClassKind,
    Holdings,
    Position,
    PositionKind,
    ShareClass,
    cycle_collector_paused,
    holdings,
)
from equity.captable.rounding import (
    DEFAULT_POLICY,
    RoundingPolicy,
    exact,
    from_cents,
    round_price,
    shares_down,
    to_cents,
)


class InfeasibleRound(ValueError):
    """The terms cannot be met: the convertibles and the pool would take 100% or more of the company."""


@dataclass(frozen=True)
class Investment:
    investor: str
    amount: Decimal

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"{self.investor}: an investment must be positive")


@dataclass(frozen=True)
class PoolTopUp:
    """Either a target for the available pool as a fraction of post-money fully diluted, or new shares."""

    target: Decimal | None = None
    new_shares: int | None = None

    def __post_init__(self) -> None:
        if (self.target is None) == (self.new_shares is None):
            raise ValueError("a pool top-up is a target percentage or a number of new shares, not both")
        if self.target is not None and not 0 < self.target < 1:
            raise ValueError("a pool target is a fraction between 0 and 1")
        if self.new_shares is not None and self.new_shares < 0:
            raise ValueError("new pool shares cannot be negative")


@dataclass(frozen=True)
class PricedRound:
    """A priced round's terms. Give ``pre_money`` or ``post_money`` (post-money = pre-money + new money)."""

    series: str
    investments: tuple[Investment, ...]
    pre_money: Decimal | None = None
    post_money: Decimal | None = None
    pool: PoolTopUp | None = None
    closing_date: date | None = None
    promised_options: int = 0
    pro_rata_holders: tuple[str, ...] = ()
    rounding: RoundingPolicy = DEFAULT_POLICY
    pool_holder: str = DEFAULT_POOL_HOLDER
    liquidation_multiple: Decimal = Decimal(1)
    participating: bool = False
    participation_cap: Decimal | None = None
    seniority: int | None = None  # default: senior to every existing class
    convertibles_in_pre_money: bool = True

    def __post_init__(self) -> None:
        if (self.pre_money is None) == (self.post_money is None):
            raise ValueError("give the pre-money or the post-money valuation, not both")
        if self.promised_options < 0:
            raise ValueError("promised options cannot be negative")

    @property
    def new_money(self) -> Decimal:
        return sum((investment.amount for investment in self.investments), Decimal(0))

    def pre_money_valuation(self) -> Fraction:
        if self.pre_money is not None:
            value = exact(self.pre_money)
        else:
            assert self.post_money is not None  # noqa: S101 - guaranteed by __post_init__
            value = exact(self.post_money) - exact(self.new_money)
        if value <= 0:
            raise InfeasibleRound("the pre-money valuation must be positive")
        return value


@dataclass(frozen=True)
class NewShares:
    investor: str
    amount: Decimal
    price: Decimal
    shares: int
    share_class: str


@dataclass(frozen=True)
class Conversion:
    """How one SAFE or note converted. ``basis`` is "cap", "discount" or "round price"."""

    instrument: str
    holder: str
    kind: InstrumentKind
    converted_amount: Decimal
    cap_price: Decimal | None
    discount_price: Decimal
    conversion_price: Decimal
    exact_conversion_price: Fraction
    basis: str
    shares: int
    share_class: str
    exact_shares: Fraction  # in the exact solve, before any rounding


@dataclass(frozen=True)
class ProRataRight:
    """A holder's right to buy its share of the round: its fully diluted ownership before the new money."""

    holder: str
    ownership: Fraction
    shares: int
    amount: Decimal


@dataclass(frozen=True)
class ProForma:
    """The round's outcome. ``pre_money_shares`` is the existing fully diluted count plus the new pool and
    the conversions; ``effective_pre_money`` is what the holders' shares from before the round (stock,
    granted options, warrants; not the unallocated pool) are worth at the round price, the Venture Hacks
    measure of what the option pool shuffle costs them. ``capitalization`` and ``holdings`` are the table
    after the round; the ``exact_*`` fields are the exact solution before rounding."""

    price_per_share: Decimal
    exact_price: Fraction
    pre_money: Decimal
    post_money: Decimal
    new_money: Decimal
    effective_pre_money: Decimal
    pre_money_shares: int
    post_money_shares: int
    new_pool_shares: int
    exact_new_pool_shares: Fraction
    pool_available: int
    investments: tuple[NewShares, ...]
    conversions: tuple[Conversion, ...]
    pro_rata: tuple[ProRataRight, ...]
    capitalization: Capitalization
    holdings: Holdings

    def investor_shares(self, investor: str) -> int:
        return sum(item.shares for item in self.investments if item.investor == investor)

    def conversion(self, instrument: str) -> Conversion:
        for item in self.conversions:
            if item.instrument == instrument:
                return item
        raise KeyError(instrument)


# --- the exact solve ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Piece:
    """One branch of an unknown: ``x[k] = Σ coefficients[j] × x[j] + constant``."""

    name: str
    coefficients: tuple[Fraction, ...]
    constant: Fraction

    def value(self, x: Sequence[Fraction]) -> Fraction:
        return sum((c * v for c, v in zip(self.coefficients, x, strict=True)), self.constant)


def _solve_linear(pieces: Sequence[_Piece]) -> list[Fraction]:
    """Solve ``x = A x + b`` exactly; refuse unless ``I − A`` is a non-singular M-matrix (positive pivots)."""
    size = len(pieces)
    rows = [
        [(Fraction(1) if i == j else Fraction(0)) - piece.coefficients[j] for j in range(size)] + [piece.constant]
        for i, piece in enumerate(pieces)
    ]
    for col in range(size):
        pivot = rows[col][col]
        if pivot <= 0:
            raise InfeasibleRound("the conversions and the pool would take 100% or more of the company")
        for row in range(col + 1, size):
            factor = rows[row][col] / pivot
            if factor:
                rows[row] = [a - factor * b for a, b in zip(rows[row], rows[col], strict=True)]
    x = [Fraction(0)] * size
    for row in reversed(range(size)):
        total = rows[row][size] - sum((rows[row][j] * x[j] for j in range(row + 1, size)), Fraction(0))
        x[row] = total / rows[row][row]
    return x


def _policy_iteration(branches: Sequence[Sequence[_Piece]]) -> tuple[list[Fraction], list[str]]:
    """The unique solution of ``x[k] = max over branches[k] of piece(x)``; see the module docstring."""
    policy = [0] * len(branches)
    seen: set[tuple[int, ...]] = set()
    while True:
        seen.add(tuple(policy))
        x = _solve_linear([branches[k][policy[k]] for k in range(len(branches))])
        changed = False
        for k, pieces in enumerate(branches):
            values = [piece.value(x) for piece in pieces]
            best = policy[k]
            for candidate, value in enumerate(values):
                if value > values[best]:
                    best = candidate
            if best != policy[k]:
                policy[k] = best
                changed = True
        if not changed:
            return x, [branches[k][policy[k]].name for k in range(len(branches))]
        if tuple(policy) in seen:  # impossible for an M-matrix (the solution strictly increases)
            raise RuntimeError("policy iteration revisited a branch choice")


# --- the pro-forma -----------------------------------------------------------------------------------

def _pool_class(capitalization: Capitalization, pool_holder: str) -> str:
    for position in capitalization.positions:
        if position.kind is PositionKind.POOL and position.holder == pool_holder:
            return position.share_class
    for share_class in capitalization.share_classes:
        if share_class.kind is ClassKind.COMMON:
            return share_class.name
    raise ValueError("a pool top-up needs a common class or an existing pool")


@dataclass(frozen=True)
class _ExactConversion:
    instrument: Convertible
    amount: Decimal
    branch: str
    shares: Fraction
    cap_price: Fraction | None
    discount_price: Fraction

    @property
    def price(self) -> Fraction:
        if self.branch == "cap" and self.cap_price is not None:
            return self.cap_price
        return self.discount_price


@dataclass(frozen=True)
class _ExactSolution:
    price: Fraction
    new_pool: Fraction
    conversions: tuple[_ExactConversion, ...]


def _solve_exactly(
    capitalization: Capitalization, terms: PricedRound, instruments: Sequence[Convertible], amounts: Sequence[Decimal],
) -> _ExactSolution:
    """The exact price, pool top-up and conversions (the equations and the method: module docstring)."""
    existing = capitalization.fully_diluted()
    pool_before = capitalization.pool_available()
    valuation = terms.pre_money_valuation()
    growth = (valuation + exact(terms.new_money)) / valuation
    extra_promised = max(0, terms.promised_options - pool_before)
    in_price = terms.convertibles_in_pre_money
    size = 1 + len(instruments)  # x[0] is the pool top-up, x[1:] the conversions
    zero = tuple(Fraction(0) for _ in range(size))

    def piece(name: str, constant: Fraction, on_pool: Fraction, on_conversions: Fraction) -> _Piece:
        return _Piece(name, (on_pool,) + (on_conversions,) * (size - 1), constant)

    branches: list[list[_Piece]] = []
    if terms.pool is None:
        branches.append([_Piece("none", zero, Fraction(0))])
    elif terms.pool.new_shares is not None:
        branches.append([_Piece("fixed", zero, Fraction(terms.pool.new_shares))])
    else:
        # U + X = t × post-money FD, and post-money FD = growth × price base (+ conversions outside it)
        target = exact(terms.pool.target or Decimal(0))
        on_conversions = target * growth if in_price else target
        branches.append([_Piece("none", zero, Fraction(0)), piece(
            "target", target * growth * existing - pool_before, target * growth, on_conversions)])
    for instrument, amount in zip(instruments, amounts, strict=True):
        per_share = exact(amount) / ((1 - exact(instrument.discount)) * valuation)
        options = [piece("discount", per_share * existing, per_share, per_share if in_price else Fraction(0))]
        if instrument.valuation_cap is not None:
            owned = exact(amount) / exact(instrument.valuation_cap)
            if instrument.kind is InstrumentKind.POST_MONEY_SAFE:
                options.append(piece("cap", owned * (existing + extra_promised), Fraction(0), owned))
            else:
                options.append(piece("cap", owned * existing, owned, Fraction(0)))
        branches.append(options)
    solution, chosen = _policy_iteration(branches)

    new_pool, converted = solution[0], solution[1:]
    total_converted = sum(converted, Fraction(0))
    price = valuation / (existing + new_pool + (total_converted if in_price else 0))
    conversions = []
    for instrument, amount, branch, shares in zip(instruments, amounts, chosen[1:], converted, strict=True):
        cap_price: Fraction | None = None
        if instrument.valuation_cap is not None:
            if instrument.kind is InstrumentKind.POST_MONEY_SAFE:
                base = existing + extra_promised + total_converted
            else:
                base = existing + new_pool
            cap_price = exact(instrument.valuation_cap) / base
        discount_price = (1 - exact(instrument.discount)) * price
        conversions.append(_ExactConversion(instrument, amount, branch, shares, cap_price, discount_price))
    return _ExactSolution(price, new_pool, tuple(conversions))


def _with_pool_top_up(capitalization: Capitalization, pool_holder: str, new_pool: int) -> list[Position]:
    positions = list(capitalization.positions)
    if not new_pool:
        return positions
    for index, position in enumerate(positions):
        if position.kind is PositionKind.POOL and position.holder == pool_holder:
            positions[index] = replace(position, shares=position.shares + new_pool)
            return positions
    positions.append(Position(pool_holder, _pool_class(capitalization, pool_holder), new_pool, PositionKind.POOL))
    return positions


def _pro_rata_rights(
    capitalization: Capitalization, holders: Sequence[str], conversions: Sequence[Conversion],
    pre_money_shares: int, new_investor_shares: int, price: Decimal,
) -> tuple[ProRataRight, ...]:
    rights = []
    holding: dict[str, int] = dict.fromkeys(holders, 0)
    if holding:
        for position, count in zip(capitalization.positions, capitalization.as_converted_counts, strict=True):
            if position.holder in holding:
                holding[position.holder] += count
    for holder, held in holding.items():
        held += sum(item.shares for item in conversions if item.holder == holder)
        ownership = Fraction(held, pre_money_shares)
        shares = shares_down(ownership * new_investor_shares)
        rights.append(ProRataRight(holder, ownership, shares, from_cents(to_cents(shares * exact(price)))))
    return tuple(rights)


@cycle_collector_paused()
def pro_forma(
    capitalization: Capitalization,
    terms: PricedRound,
    convertibles: Sequence[Convertible] = (),
) -> ProForma:
    """The cap table after a priced round that converts ``convertibles`` and tops up the pool."""
    instruments = apply_most_favoured_nation(convertibles)
    if len({instrument.name for instrument in instruments}) != len(instruments):
        raise ValueError("convertible names must be unique")
    existing = capitalization.fully_diluted()
    pool_before = capitalization.pool_available()
    if existing <= 0:
        raise InfeasibleRound("a round needs an existing capitalization")
    amounts = [conversion_amount(instrument, terms.closing_date) for instrument in instruments]
    solution = _solve_exactly(capitalization, terms, instruments, amounts)

    # Rounding, once: stated prices, whole shares, then the pool from the whole shares.
    policy = terms.rounding
    price = round_price(solution.price, policy)
    series_seniority = terms.seniority if terms.seniority is not None else 1 + max(
        (share_class.seniority for share_class in capitalization.share_classes), default=0)

    def series_class(name: str, issue_price: Decimal) -> ShareClass:
        return ShareClass(
            name=name, kind=ClassKind.PREFERRED, original_issue_price=issue_price,
            liquidation_multiple=terms.liquidation_multiple, participating=terms.participating,
            participation_cap=terms.participation_cap, seniority=series_seniority)

    new_classes: dict[str, ShareClass] = {terms.series: series_class(terms.series, price)}
    investments = tuple(
        NewShares(item.investor, item.amount, price, shares_down(exact(item.amount) / exact(price)), terms.series)
        for item in terms.investments)
    conversions: list[Conversion] = []
    for item in solution.conversions:
        conversion_price = round_price(item.price, policy)
        class_name = terms.series
        if conversion_price != price:  # YC's shadow series: the preference follows the price paid
            class_name = f"{terms.series} (converted at {conversion_price})"
            new_classes.setdefault(class_name, series_class(class_name, conversion_price))
        conversions.append(Conversion(
            instrument=item.instrument.name, holder=item.instrument.holder, kind=item.instrument.kind,
            converted_amount=item.amount,
            cap_price=round_price(item.cap_price, policy) if item.cap_price is not None else None,
            discount_price=round_price(item.discount_price, policy), conversion_price=conversion_price,
            exact_conversion_price=item.price,
            basis="cap" if item.branch == "cap" else ("discount" if item.instrument.discount else "round price"),
            shares=shares_down(exact(item.amount) / exact(conversion_price)), share_class=class_name,
            exact_shares=item.shares))
    clash = set(new_classes) & {share_class.name for share_class in capitalization.share_classes}
    if clash:
        raise ValueError(f"the round's series name is already a share class: {sorted(clash)}")

    issued = sum(item.shares for item in investments) + sum(item.shares for item in conversions)
    if terms.pool is None:
        new_pool = 0
    elif terms.pool.new_shares is not None:
        new_pool = terms.pool.new_shares
    else:  # the largest pool that does not exceed the target, given the whole shares issued
        target = exact(terms.pool.target or Decimal(0))
        others = existing - pool_before + issued
        new_pool = max(0, shares_down(target * others / (1 - target)) - pool_before)

    new_positions = [Position(item.investor, item.share_class, item.shares) for item in investments]
    new_positions += [Position(item.holder, item.share_class, item.shares) for item in conversions]
    after = Capitalization(
        share_classes=capitalization.share_classes + tuple(new_classes.values()),
        positions=tuple(_with_pool_top_up(capitalization, terms.pool_holder, new_pool)) + tuple(new_positions),
    )
    pre_money_shares = existing + new_pool + sum(item.shares for item in conversions)
    rights = _pro_rata_rights(
        capitalization, list(terms.pro_rata_holders) + [i.holder for i in instruments if i.pro_rata], conversions,
        pre_money_shares, sum(item.shares for item in investments), price)
    valuation = terms.pre_money_valuation()
    return ProForma(
        price_per_share=price,
        exact_price=solution.price,
        pre_money=from_cents(to_cents(valuation)),
        post_money=from_cents(to_cents(valuation + exact(terms.new_money))),
        new_money=terms.new_money,
        effective_pre_money=from_cents(to_cents(exact(price) * (existing - pool_before))),
        pre_money_shares=pre_money_shares,
        post_money_shares=after.fully_diluted(),
        new_pool_shares=new_pool,
        exact_new_pool_shares=solution.new_pool,
        pool_available=after.pool_available(),
        investments=investments,
        conversions=tuple(conversions),
        pro_rata=rights,
        capitalization=after,
        holdings=holdings(after),
    )
