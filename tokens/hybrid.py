"""The arithmetic of the hybrid: token warrants converting at launch, and vesting wallets. Pure (no Django).

- A *pro-rata* warrant gives its holder floor(fully diluted ownership × investor pool) base units; a *fixed*
  warrant its stated amount. Ownership fractions of different holders add up to at most 1 and each amount is
  rounded down, so the pro-rata warrants together never take more than the pool (one pro-rata warrant per
  holder: a second would count the same ownership twice, and `warrant_issue` refuses it).
- A vesting wallet follows OpenZeppelin's `VestingWallet` with `VestingWalletCliff` exactly: nothing before
  `start + cliff`, then `total × (t − start) / duration` rounded down, everything from `start + duration` on.
  Times are whole seconds (block timestamps), amounts base units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

UINT64_MAX = 2**64 - 1


class WarrantType(StrEnum):
    FIXED = "fixed"
    PRO_RATA = "pro_rata"


@dataclass(frozen=True)
class WarrantTerms:
    key: str  # the warrant's own id, to find its result
    holder: str  # as the cap table names the holder (the stakeholder's name)
    kind: WarrantType
    token_amount: int | None = None  # a fixed warrant's base units

    def __post_init__(self) -> None:
        if self.kind is WarrantType.FIXED and (self.token_amount is None or self.token_amount <= 0):
            raise ValueError(f"{self.key}: a fixed warrant needs a positive number of tokens")
        if self.kind is WarrantType.PRO_RATA and self.token_amount is not None:
            raise ValueError(f"{self.key}: a pro-rata warrant's tokens come from the pool, not a stated amount")


def pro_rata_tokens(ownership: Fraction, pool: int) -> int:
    """floor(ownership × pool): what a pro-rata warrant converts into."""
    if not 0 <= ownership <= 1:
        raise ValueError(f"ownership {ownership} is not between 0 and 1")
    if pool < 0:
        raise ValueError("the investor pool cannot be negative")
    return ownership.numerator * pool // ownership.denominator


def warrant_tokens(warrants: Sequence[WarrantTerms], ownership: Mapping[str, Fraction], pool: int) -> dict[str, int]:
    """Each warrant's tokens (by key) if it converted with these fully diluted ownerships and this pool.

    A holder missing from `ownership` owns nothing of the company, so their pro-rata warrant converts into 0.
    """
    if sum(ownership.values(), Fraction(0)) > 1:
        raise ValueError("the ownerships add up to more than the whole company")
    seen: set[str] = set()
    result: dict[str, int] = {}
    for warrant in warrants:
        if warrant.kind is WarrantType.FIXED:
            result[warrant.key] = int(warrant.token_amount or 0)
            continue
        if warrant.holder in seen:
            raise ValueError(f"{warrant.holder} holds two pro-rata warrants: their ownership would count twice")
        seen.add(warrant.holder)
        result[warrant.key] = pro_rata_tokens(ownership.get(warrant.holder, Fraction(0)), pool)
    return result


# --- vesting wallets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VestingTerms:
    """A `TrancheVesting(beneficiary, start, duration, cliff)`: seconds since the epoch and seconds."""

    start: int
    duration: int
    cliff: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.start <= UINT64_MAX:
            raise ValueError("the vesting start does not fit the contract (uint64 seconds)")
        if not 0 < self.duration <= UINT64_MAX or self.start + self.duration > UINT64_MAX:
            raise ValueError("the vesting duration must be more than zero seconds and fit the contract")
        if not 0 <= self.cliff <= self.duration:
            # VestingWalletCliff's constructor reverts with InvalidCliffDuration otherwise.
            raise ValueError("the cliff must be between zero and the vesting duration")

    @property
    def end(self) -> int:
        return self.start + self.duration


def vested_amount(total: int, terms: VestingTerms, at: int) -> int:
    """`VestingWalletCliff._vestingSchedule(total, at)`, where total = balance + released of the wallet."""
    if total < 0:
        raise ValueError("a vesting wallet cannot hold a negative amount")
    if at < terms.start + terms.cliff:
        return 0
    if at >= terms.end:
        return total
    return total * (at - terms.start) // terms.duration


@dataclass(frozen=True)
class VestingStatus:
    total: int
    vested: int
    released: int

    @property
    def releasable(self) -> int:
        """`VestingWallet.releasable(token)`: vested less released, never negative."""
        return max(0, self.vested - self.released)

    @property
    def unvested(self) -> int:
        return self.total - self.vested


def vesting_status(total: int, terms: VestingTerms, at: int, released: int) -> VestingStatus:
    if not 0 <= released <= total:
        raise ValueError("a vesting wallet cannot release more than it holds")
    return VestingStatus(total=total, vested=vested_amount(total, terms, at), released=released)
