"""The combined cap table: per stakeholder, what they hold of the company (shares, options, warrants and SAFEs, from
the equity engine) beside what they hold or will receive of its token (token warrants, allocations, on-chain
balances), with fully diluted ownership of each side by side.

- Company side: `equity.selectors.capitalization_as_of` and `cap_table` — the same engine and numbers as the
  cap table page; nothing is recomputed here but the split of a holder's count by kind of right.
- Token side, in base units: *balance* is the sum of `Transfer` events of the token (not removed) into and out of
  the stakeholder's addresses (their verified wallets and the beneficiary addresses of their allocations);
  vesting wallets' own balances are not counted there but as the allocation's unreleased part. A token's fully
  diluted count for a holder is balance + allocations not yet in their wallet + what their outstanding warrants
  would convert into today. Token % is of the supply cap, the most that can ever exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db import connection
from django.utils import timezone

from accounts.models import Wallet
from companies.models import Company
from equity import captable as engine
from equity import selectors as equity_selectors
from equity.captable.rounding import decimal_of
from equity.models import Stakeholder
from tokens import allocations as allocation_reads
from tokens import warrants as warrant_reads
from tokens.choices import AllocationState, ChainEventName, WarrantState
from tokens.models import Token, TokenAllocation, TokenWarrant

POOL_HOLDER = equity_selectors.POOL_HOLDER
OTHER_HOLDERS = "Other token holders"
# An allocation's tokens not yet in the holder's wallet, by state (delivered ones are in the balance).
PENDING_STATES = (AllocationState.PLANNED, AllocationState.DEPLOYING, AllocationState.UNPAID,
                  AllocationState.CLAIMABLE, AllocationState.VESTING)


@dataclass
class CombinedRow:
    holder: str
    stakeholder: Stakeholder | None = None
    shares: int = 0  # outstanding, common-equivalent
    options: int = 0  # granted options (or the pool's available options on its own line)
    warrants: int = 0  # equity warrants
    safes: Decimal = Decimal(0)  # outstanding SAFEs and notes, money
    safe_count: int = 0
    company_fully_diluted: int = 0
    company_percent: Decimal = Decimal(0)  # of the fully diluted company, 2 places, adding up to 100
    token_warrants: int = 0  # outstanding token warrants
    token_warrant_tokens: int = 0  # what they would convert into today
    allocations: dict[str, int] = field(default_factory=dict)  # state -> base units
    vesting_unreleased: int = 0
    balance: int = 0  # on-chain, in the holder's addresses
    token_fully_diluted: int = 0
    token_percent: Decimal = Decimal(0)  # of the supply cap, 4 places, rounded down

    @property
    def allocated(self) -> int:
        return sum(self.allocations.values())


@dataclass
class CombinedCapTable:
    company: Company
    as_of: date
    token: Token | None
    rows: list[CombinedRow]
    total: CombinedRow
    unattributed_balance: int = 0  # on-chain tokens in addresses of no stakeholder (buyers of a sale, ...)


def transfer_balances(token: Token) -> dict[str, int]:
    """Lower-case address -> balance, from the token's `Transfer` events that were not reorganised away."""
    if not token.address:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT holder, SUM(amount) FROM (
                SELECT lower(args->>'to') AS holder, (args->>'value')::numeric AS amount
                  FROM tokens_chainevent
                 WHERE chain_id = %(chain)s AND lower(address) = %(address)s AND name = %(name)s AND NOT removed
                UNION ALL
                SELECT lower(args->>'from'), -(args->>'value')::numeric
                  FROM tokens_chainevent
                 WHERE chain_id = %(chain)s AND lower(address) = %(address)s AND name = %(name)s AND NOT removed
            ) moves GROUP BY holder""",
                       {"chain": token.chain_id, "address": token.address.lower(), "name": ChainEventName.TRANSFER})
        return {holder: int(amount) for holder, amount in cursor.fetchall()
                if holder and int(holder, 16) != 0 and amount}


def _company_side(company: Company, as_of: date) -> dict[str, CombinedRow]:
    capitalization = equity_selectors.capitalization_as_of(company=company, as_of=as_of)
    holdings = engine.holdings(capitalization)
    rows: dict[str, CombinedRow] = {}
    for row in holdings.by_stakeholder:
        rows[row.key] = CombinedRow(holder=row.key, company_fully_diluted=row.fully_diluted,
                                    company_percent=row.fully_diluted_percent)
    kinds = engine.PositionKind
    for position, count in zip(capitalization.positions, capitalization.as_converted_counts, strict=True):
        combined = rows[position.holder]
        if position.kind is kinds.SHARES:
            combined.shares += count
        elif position.kind in (kinds.OPTIONS, kinds.POOL):
            combined.options += count
        else:
            combined.warrants += count
    for safe in equity_selectors.convertible_list_outstanding(company=company, as_of=as_of):
        name = safe.stakeholder.name if safe.stakeholder else safe.security_ref
        combined = rows.setdefault(name, CombinedRow(holder=name))
        combined.safes += safe.amount or Decimal(0)
        combined.safe_count += 1
    return rows


def combined_cap_table(company: Company, as_of: date | None = None, token: Token | None = None) -> CombinedCapTable:
    """Per stakeholder, the company and its token side by side, with totals (a fixed number of queries plus one
    per vesting allocation's released events)."""
    as_of = as_of or timezone.localdate()
    token = token or warrant_reads.company_token(company)
    rows = _company_side(company, as_of)
    stakeholders = {s.name: s for s in Stakeholder.objects.filter(company=company)}

    def row_of(stakeholder: Stakeholder) -> CombinedRow:
        return rows.setdefault(stakeholder.name, CombinedRow(holder=stakeholder.name))

    unattributed = 0
    if token is not None:
        outstanding = list(TokenWarrant.objects.filter(company=company, state=WarrantState.OUTSTANDING)
                           .select_related("stakeholder").order_by("pk"))
        converting = warrant_reads.warrant_tokens_now(company=company, pool=int(token.investor_pool),
                                                      warrants=outstanding, as_of=as_of)
        for warrant in outstanding:
            combined = row_of(warrant.stakeholder)
            combined.token_warrants += 1
            combined.token_warrant_tokens += converting[warrant.pk]
        addresses: dict[str, str] = {}  # lower-case address -> holder
        for allocation in TokenAllocation.objects.filter(token=token).exclude(state=AllocationState.CANCELLED) \
                .select_related("stakeholder", "token").order_by("pk"):
            holder = allocation.stakeholder.name if allocation.stakeholder else allocation.label
            combined = rows.setdefault(holder, CombinedRow(holder=holder))
            combined.allocations[allocation.state] = combined.allocations.get(allocation.state, 0) + int(
                allocation.amount)
            if allocation.state == AllocationState.VESTING:
                status = allocation_reads.allocation_vesting(allocation)
                combined.vesting_unreleased += int(allocation.amount) - (status.released if status else 0)
            elif allocation.state in PENDING_STATES:
                combined.vesting_unreleased += int(allocation.amount)
            if allocation.beneficiary_address:
                addresses[allocation.beneficiary_address.lower()] = holder
        users = {s.user_id: s.name for s in stakeholders.values() if s.user_id}
        for user_id, address in Wallet.objects.active().filter(user_id__in=users, chain_id=token.chain_id) \
                .values_list("user_id", "address"):
            addresses[address.lower()] = users[user_id]
        vesting_wallets = {a.lower() for a in TokenAllocation.objects.filter(token=token).exclude(vesting_address="")
                           .values_list("vesting_address", flat=True)}
        for address, balance in transfer_balances(token).items():
            if address in vesting_wallets:
                continue  # counted as the allocation's unreleased part
            owner = addresses.get(address)
            if owner is None:
                unattributed += balance
                continue
            rows.setdefault(owner, CombinedRow(holder=owner)).balance += balance
    supply = int(token.supply_cap) if token is not None else 0
    ordered = list(rows.values())
    for combined in ordered:
        combined.stakeholder = stakeholders.get(combined.holder)
        combined.token_fully_diluted = combined.balance + combined.vesting_unreleased + combined.token_warrant_tokens
        if supply:
            combined.token_percent = decimal_of(Fraction(combined.token_fully_diluted * 100, supply), 4)
    ordered.sort(key=lambda r: (r.holder == POOL_HOLDER, -r.company_fully_diluted, -r.token_fully_diluted,
                                r.holder.lower()))
    total = CombinedRow(holder="Total")
    for combined in ordered:
        total.shares += combined.shares
        total.options += combined.options
        total.warrants += combined.warrants
        total.safes += combined.safes
        total.safe_count += combined.safe_count
        total.company_fully_diluted += combined.company_fully_diluted
        total.token_warrants += combined.token_warrants
        total.token_warrant_tokens += combined.token_warrant_tokens
        for state, amount in combined.allocations.items():
            total.allocations[state] = total.allocations.get(state, 0) + amount
        total.vesting_unreleased += combined.vesting_unreleased
        total.balance += combined.balance
        total.token_fully_diluted += combined.token_fully_diluted
    total.company_percent = Decimal(100) if total.company_fully_diluted else Decimal(0)
    if supply:
        total.token_percent = decimal_of(Fraction((total.token_fully_diluted + unattributed) * 100, supply), 4)
    return CombinedCapTable(company=company, as_of=as_of, token=token, rows=ordered, total=total,
                            unattributed_balance=unattributed)


def combined_csv_rows(table: CombinedCapTable) -> list[list[str]]:
    """The combined table as CSV rows (header first): exact counts, token amounts in base units."""
    states = [AllocationState.CLAIMABLE, AllocationState.VESTING, AllocationState.DELIVERED,
              AllocationState.PLANNED, AllocationState.DEPLOYING, AllocationState.UNPAID]
    header = ["stakeholder", "shares", "options", "warrants", "safes", "company_fully_diluted",
              "company_fully_diluted_percent", "token_warrants", "token_warrant_tokens",
              *[f"allocations_{state}" for state in states], "on_chain_balance", "token_fully_diluted",
              "token_supply_percent"]
    lines = [header]
    for row in [*table.rows, table.total]:
        lines.append([row.holder, str(row.shares), str(row.options), str(row.warrants), f"{row.safes:.2f}",
                      str(row.company_fully_diluted), f"{row.company_percent:.2f}", str(row.token_warrants),
                      str(row.token_warrant_tokens), *[str(row.allocations.get(s, 0)) for s in states],
                      str(row.balance), str(row.token_fully_diluted), f"{row.token_percent:.4f}"])
    if table.unattributed_balance:
        lines.append([OTHER_HOLDERS, *[""] * (len(header) - 4), str(table.unattributed_balance), "", ""])
    return lines
