"""A sale's terms checked the way a founder reads them: one message per field, in words, before anything is
deployed. Pure (no Django import); amounts in base units. The contract checks the same rules again on-chain
(`InvalidConfiguration`), so a bug here fails loudly at deployment rather than selling on bad terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_SHARDS = 256
MIN_CLAIM_PERIOD = timedelta(hours=1)  # TrancheSale.MIN_CLAIM_PERIOD
UINT128_MAX = 2**128 - 1


@dataclass(frozen=True)
class SaleTerms:
    price: int  # payment base units per whole token
    soft_cap: int
    hard_cap: int
    min_per_investor: int
    max_per_investor: int
    starts_at: datetime
    ends_at: datetime
    claim_period: timedelta
    shard_count: int
    pro_rata: bool
    token_decimals: int
    token_supply_cap: int  # base units
    tokens_already_committed: int = 0  # base units other sales and allocations may mint


def sale_terms_problems(terms: SaleTerms, *, now: datetime) -> dict[str, str]:
    """Field name → what is wrong, in a sentence. Empty when the terms can be deployed."""
    problems: dict[str, str] = {}
    unit = 10**terms.token_decimals
    if terms.price <= 0:
        problems["price"] = "The price must be more than zero."
    if terms.hard_cap <= 0:
        problems["hard_cap"] = "The hard cap must be more than zero."
    elif terms.soft_cap > terms.hard_cap:
        problems["hard_cap"] = "The hard cap is below the soft cap: the sale could never reach its soft cap."
    if terms.max_per_investor <= 0:
        problems["max_per_investor"] = "The maximum per investor must be more than zero."
    elif terms.min_per_investor > terms.max_per_investor:
        problems["max_per_investor"] = "The maximum per investor is below the minimum per investor."
    elif terms.max_per_investor > UINT128_MAX:
        problems["max_per_investor"] = "The maximum per investor is too large for the contract."
    elif terms.hard_cap > 0 and terms.min_per_investor > terms.hard_cap:
        problems["min_per_investor"] = "The minimum per investor is above the hard cap: nobody could buy."
    if terms.price > 0 and "price" not in problems:
        smallest = max(terms.min_per_investor, 1)
        if smallest * unit // terms.price == 0:
            problems["price"] = (
                "At this price the smallest purchase buys less than one token base unit: lower the price or "
                "raise the minimum per investor.")
        elif terms.min_per_investor and terms.min_per_investor * unit // terms.price < unit:
            problems["min_per_investor"] = "At this price the minimum per investor buys less than one whole token."
        elif terms.hard_cap > 0:
            tokens = terms.hard_cap * unit // terms.price
            room = terms.token_supply_cap - terms.tokens_already_committed
            if tokens > room:
                problems["hard_cap"] = (
                    "At this price the hard cap would sell more tokens than the supply cap leaves "
                    f"({room // unit:,} whole tokens).")
    if terms.starts_at <= now:
        problems["starts_at"] = "The start is in the past: choose a time from now on."
    if terms.ends_at <= terms.starts_at:
        problems["ends_at"] = "The end is before the start."
    if terms.claim_period < MIN_CLAIM_PERIOD:
        problems["claim_period"] = "Buyers need at least an hour to claim."
    if terms.pro_rata and not 1 <= terms.shard_count <= MAX_SHARDS:
        problems["shard_count"] = f"Between 1 and {MAX_SHARDS} accumulators."
    if not terms.pro_rata and terms.shard_count != 1:
        problems["shard_count"] = "First-come-first-served sales keep one running total."
    return problems
