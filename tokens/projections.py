"""What the chain's events mean for the platform's rows: purchases, claims and refunds of a sale, and its state.

The scanner (`tokens.chain.scanner`) calls `events_project` in the transaction that stores the events. A
projection row mirrors its event: created with it, marked removed when a reorganisation orphans it, revived (with
the new block and transaction position) when it is mined again. Totals therefore always filter `removed=False`;
`sale_standing` is the one place that adds a sale's purchases up.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Wallet
from compliance.eligibility import REG_CF
from tokens.choices import ChainEventName, SaleState
from tokens.models import ChainEvent, Claim, Purchase, Sale, SaleRefund
from tokens.units import tokens_for

ZERO_KEY = "0x" + "00" * 32
PROJECTED: dict[str, type[Purchase] | type[Claim] | type[SaleRefund]] = {
    ChainEventName.PURCHASED: Purchase,
    ChainEventName.CLAIMED: Claim,
    ChainEventName.REFUNDED: SaleRefund,
}
SALE_STATE_EVENTS = frozenset({ChainEventName.FINALIZED, ChainEventName.REFUND_MODE_ENTERED,
                               ChainEventName.PAUSED, ChainEventName.UNPAUSED})
# States the events decide; a sale in another one (draft, deploying) is not the scanner's to move.
_CHAIN_STATES = frozenset({SaleState.SCHEDULED, SaleState.LIVE, SaleState.PAUSED, SaleState.SUCCEEDED,
                           SaleState.FAILED, SaleState.FINALIZED})


@dataclass(slots=True)
class EventFacts:
    """What the projections need of one stored event (the scanner hands these over, not model instances)."""

    pk: int
    chain_id: int
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    name: str
    args: dict[str, Any]
    removed: bool
    sale_id: int | None
    token_id: int | None


class SaleStanding(TypedDict):
    raised: int  # payment asset base units
    tokens: int  # token base units bought
    buyers: int  # distinct beneficiary wallets
    purchases: int


def sale_standing(sale: Sale) -> SaleStanding:
    """A sale's purchases as the chain has them now (orphaned ones left out): money raised, in the payment asset's
    base units, tokens bought, distinct buyers (beneficiary wallets) and purchases."""
    totals = Purchase.objects.filter(sale=sale, removed=False).aggregate(
        raised=Sum("amount"), tokens=Sum("tokens"), purchases=Count("pk"), buyers=Count(Lower("wallet"), distinct=True))
    return SaleStanding(raised=int(totals["raised"] or 0), tokens=int(totals["tokens"] or 0),
                        buyers=int(totals["buyers"]), purchases=int(totals["purchases"]))


def events_project(*, created: Sequence[EventFacts], changed: Sequence[EventFacts]) -> None:
    """Make the projections mirror these events: `created` are new rows, `changed` were removed, revived or moved.

    Runs inside the scanner's transaction, so the projections move with the events and the cursor.
    """
    events = [e for e in (*created, *changed) if e.sale_id is not None]
    if not events:
        return
    sales = Sale.objects.select_related("token").in_bulk({e.sale_id for e in events})
    new_ids = {e.pk for e in created}
    for name, model in PROJECTED.items():
        mine = [e for e in events if e.name == name]
        fresh = [e for e in mine if e.pk in new_ids]
        if fresh:
            _rows_create(model, fresh, sales)
        moved = [e for e in changed if e.sale_id is not None]
        if moved:
            _rows_follow(model, name, moved, sales)
    touched = {e.sale_id for e in events if e.name in SALE_STATE_EVENTS}
    if touched:
        sale_state_follow(sale_ids=sorted(i for i in touched if i is not None))
    _reg_cf_ledger_follow(events, sales)


def _reg_cf_ledger_follow(events: Sequence[EventFacts], sales: dict[int, Sale]) -> None:
    """A Regulation Crowdfunding sale's purchases and refunds write the investment ledger the investor's limit
    reads, once each; a purchase a reorganisation removed reverses its entry (the ledger functions are
    idempotent, so the revived and the unchanged cost nothing)."""
    from tokens.eligibility import purchase_ledger_record, sale_refund_ledger_record

    reg_cf = {pk for pk, sale in sales.items() if sale.exemption == REG_CF}
    ids = [e.pk for e in events if e.sale_id in reg_cf and e.name in ("Purchased", "Refunded")]
    if not ids:
        return
    for purchase in Purchase.objects.select_related("sale__token").filter(event_id__in=ids).order_by("pk"):
        purchase_ledger_record(purchase)
    for refund in SaleRefund.objects.select_related("sale__token").filter(event_id__in=ids).order_by("pk"):
        sale_refund_ledger_record(refund)


def _rows_create(model: Any, events: Sequence[EventFacts], sales: dict[int, Sale]) -> None:
    """One COPY: on a large backfill, building an INSERT (or the ORM's objects) cost more than the rest."""
    investors = _investors(events)
    created_at = timezone.now().isoformat()
    names: list[str] = []
    lines: list[str] = []
    for event in events:
        sale = sales.get(event.sale_id)  # type: ignore[arg-type]
        if event.removed or sale is None:
            continue
        row = _row_values(event, sale, model, investors)
        names = names or list(row)
        lines.append("\t".join([_COPY_FORMAT[type(value)](value) for value in row.values()]) + f"\t{created_at}\n")
    if not lines:
        return
    columns = ", ".join(model._meta.get_field(name).column for name in names)
    with connection.cursor() as sql:
        copy_in(sql, f"COPY {model._meta.db_table} ({columns}, created_at) FROM STDIN", lines)


# COPY's text format: a tab between values, \N for NULL, and backslash escapes for what would break a line.
COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:  # rare: four scans cost less than one translate
        return value.translate(_COPY_ESCAPES)
    return value


_COPY_FORMAT: dict[type, Any] = {
    str: copy_text, int: str, bool: lambda value: "t" if value else "f", type(None): lambda _: COPY_NULL,
}


def copy_in(sql: Any, statement: str, lines: Sequence[str]) -> None:
    """Run `COPY ... FROM STDIN` (text format) with these lines on a Django cursor, under psycopg 2 or 3; the
    driver's errors come out as Django's, as from `execute`."""
    driver = sql.cursor
    with sql.db.wrap_database_errors:
        if hasattr(driver, "copy_expert"):
            driver.copy_expert(statement, io.StringIO("".join(lines)))
        else:
            with driver.copy(statement) as copy:
                copy.write("".join(lines))


def _rows_follow(model: Any, name: str, events: Sequence[EventFacts], sales: dict[int, Sale]) -> None:
    """Rows of events that changed: follow `removed`, the block and the amounts; a row whose event now says
    something else (a transaction re-mined with another outcome) is removed."""
    by_id = {e.pk: e for e in events}
    rows = {row.event_id: row for row in model.objects.filter(event_id__in=list(by_id))}
    updated: list[Any] = []
    missing: list[EventFacts] = []
    for event in events:
        row = rows.get(event.pk)
        if row is None:
            if event.name == name and not event.removed:
                missing.append(event)
            continue
        if event.name != name:
            fields = {"removed": True}
        else:
            fields = _fields(model, event, sales[event.sale_id])  # type: ignore[index]
            fields.pop("investor", None)  # resolved once, when the row was created
        if any(getattr(row, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(row, key, value)
            updated.append(row)
    if updated:
        model.objects.bulk_update(updated, ["removed", "block_number", "tx_hash", "wallet",
                                            *_amount_fields(model)])
    if missing:
        _rows_create(model, missing, sales)


def _amount_fields(model: Any) -> list[str]:
    if model is Purchase:
        return ["payer", "investor_key", "amount", "tokens"]
    if model is Claim:
        return ["tokens", "paid"]
    return ["amount"]


def _fields(model: Any, event: EventFacts, sale: Sale) -> dict[str, Any]:
    args = event.args
    common = {"removed": event.removed, "block_number": event.block_number, "tx_hash": event.tx_hash}
    if model is Purchase:
        amount = int(args["amount"])
        key = str(args["investorId"])
        return {**common, "wallet": args["beneficiary"], "payer": args["payer"],
                "investor_key": "" if key == ZERO_KEY else key, "amount": amount,
                "tokens": tokens_for(amount, price=int(sale.price), token_decimals=sale.token.decimals)}
    if model is Claim:
        return {**common, "wallet": args["wallet"], "tokens": int(args["tokens"]), "paid": int(args["paid"])}
    return {**common, "wallet": args["wallet"], "amount": int(args["amount"])}


def _row_values(event: EventFacts, sale: Sale, model: Any, investors: dict[tuple[int, str], int]) -> dict[str, Any]:
    fields = _fields(model, event, sale)
    return {"sale": sale.pk, "event": event.pk, "investor": investors.get((event.chain_id, fields["wallet"].lower())),
            **fields}


def _investors(events: Sequence[EventFacts]) -> dict[tuple[int, str], int]:
    """(chain id, lower-case address) → the user whose active, verified wallet it is."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for event in events:
        wallet = event.args.get("beneficiary") or event.args.get("wallet")
        if wallet:
            wanted[event.chain_id].add(str(wallet).lower())
    found: dict[tuple[int, str], int] = {}
    for chain_id, addresses in wanted.items():
        # One array parameter rather than an IN list of thousands of values (a backfill's buyers).
        rows = (Wallet.objects.active().filter(chain_id=chain_id).annotate(lower=Lower("address"))
                .filter(lower__in=RawSQL("SELECT unnest(%s::text[])", [sorted(addresses)]))
                .values_list("lower", "user_id"))
        found.update({(chain_id, lower): user_id for lower, user_id in rows})
    return found


def sale_state_follow(*, sale_ids: Sequence[int]) -> None:
    """Set each sale's state and final totals from its events that still stand, latest first: Finalized →
    finalized, RefundModeEntered → failed, else paused while the last pause stands; with none of them, what the
    clock and the money raised say (an undone Finalized puts an ended sale back to succeeded)."""
    for sale in Sale.objects.select_for_update().filter(pk__in=sale_ids).order_by("pk"):
        if sale.state not in _CHAIN_STATES:
            continue
        standing = list(ChainEvent.objects.filter(sale=sale, removed=False, name__in=SALE_STATE_EVENTS)
                        .order_by("block_number", "log_index").values_list("name", "args"))
        last = {name: args for name, args in standing}
        pauses = [name for name, _ in standing if name in (ChainEventName.PAUSED, ChainEventName.UNPAUSED)]
        accepted: int | None = None
        tokens: int | None = None
        state: str
        if ChainEventName.FINALIZED in last:
            state = SaleState.FINALIZED
            accepted = int(last[ChainEventName.FINALIZED]["acceptedTotal"])
            tokens = int(last[ChainEventName.FINALIZED]["tokensForSale"])
        elif ChainEventName.REFUND_MODE_ENTERED in last:
            state, accepted, tokens = SaleState.FAILED, 0, 0
        elif pauses and pauses[-1] == ChainEventName.PAUSED:
            state = SaleState.PAUSED
        else:
            state = _state_by_clock(sale)
        if (sale.state, sale.accepted_total, sale.tokens_for_sale) != (state, accepted, tokens):
            sale.state, sale.accepted_total, sale.tokens_for_sale = state, accepted, tokens
            sale.save(update_fields=["state", "accepted_total", "tokens_for_sale"])


def _state_by_clock(sale: Sale) -> str:
    """Where the clock puts a sale no event decides. An ended sale below its soft cap goes back to live:
    `tokens.services.sales_advance` fails it on its next run and asks the chain for refund mode again."""
    now = timezone.now()
    if now < sale.starts_at:
        return SaleState.SCHEDULED
    if now >= sale.ends_at and sale_standing(sale)["raised"] >= sale.soft_cap:
        return SaleState.SUCCEEDED
    return SaleState.LIVE
