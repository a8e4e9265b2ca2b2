"""On-chain eligibility: what the `sale.allowlist` and `sale.merkle_root` intents send (signed by the platform's
eligibility key, the sale's OPERATOR_ROLE), and the reconciliation of allowlists with the database.

`tokens.eligibility` decides and writes the intents; this module only builds calls and reads the chain.
Reconciliation reads `allowlisted(wallet)` for every wallet the database knows in the sale and every wallet an
`AllowlistUpdated` event ever named, and asks for a repair where the chain differs from what the database wants
and no intent for that wallet is on its way. Each repair is one audit event.
"""

from __future__ import annotations

import logging

from django.db import transaction
from eth_utils.address import to_checksum_address
from web3 import Web3

from compliance.audit import Actor
from compliance.services import audit_record
from tokens import eligibility
from tokens.chain import client
from tokens.chain.builders import BuildRefused, Call, builder, calldata, on_confirmed, on_failed
from tokens.choices import ChainEventName, EligibilityMode, IntentState
from tokens.models import ChainEvent, ChainIntent, Sale, SaleEligibility

logger = logging.getLogger(__name__)

IN_FLIGHT = (IntentState.PENDING, IntentState.SIGNED, IntentState.MINED)


def _sale(intent: ChainIntent) -> Sale:
    try:
        sale = Sale.objects.get(pk=eligibility.sale_of_intent(intent))
    except (ValueError, Sale.DoesNotExist) as error:
        raise BuildRefused(f"{intent.object_key}: no such sale") from error
    if not sale.address:
        raise BuildRefused("The sale has no address yet.")
    return sale


@builder(eligibility.ALLOWLIST_PURPOSE)
def allowlist_update(intent: ChainIntent) -> Call:
    """`updateAllowlist(wallets, allowed)`."""
    sale = _sale(intent)
    wallets = [to_checksum_address(w) for w in intent.params["wallets"]]
    return Call(to_checksum_address(sale.address), calldata("TrancheSale", sale.address, "updateAllowlist", wallets,
                                                            bool(intent.params["allowed"])))


@builder(eligibility.MERKLE_ROOT_PURPOSE)
def merkle_root_set(intent: ChainIntent) -> Call:
    """`setMerkleRoot(root)`."""
    sale = _sale(intent)
    root = bytes.fromhex(str(intent.params["root"]).removeprefix("0x"))
    return Call(to_checksum_address(sale.address), calldata("TrancheSale", sale.address, "setMerkleRoot", root))


@on_confirmed(eligibility.ALLOWLIST_PURPOSE)
def allowlist_updated(intent: ChainIntent) -> None:
    """What the contract now says for the batch's wallets (reconciliation checks it again from the chain)."""
    SaleEligibility.objects.filter(sale_id=eligibility.sale_of_intent(intent),
                                   wallet__in=intent.params["wallets"]).update(on_chain=bool(intent.params["allowed"]))


@on_failed(eligibility.MERKLE_ROOT_PURPOSE)
def merkle_root_failed(intent: ChainIntent) -> None:
    """The root was not set: forget that it was asked for, so the next refresh asks again (a new intent)."""
    Sale.objects.filter(pk=eligibility.sale_of_intent(intent), merkle_root=intent.params["root"]).update(
        merkle_root="")


# --- reconciliation ---------------------------------------------------------------------------------------------


def allowlist_reconcile(*, w3: Web3 | None = None) -> int:
    """Bring every deployed sale's eligibility up to date with compliance (this is also when an approval that
    expired is taken away), then compare each allowlist-mode sale's on-chain allowlist with the database and
    ask for repairs. Returns how many wallets were repaired."""
    eligibility.eligibility_refresh()
    repaired = 0
    sales = (Sale.objects.filter(state__in=eligibility.DEPLOYED_STATES, eligibility_mode=EligibilityMode.ALLOWLIST)
             .exclude(address="").order_by("pk"))
    for sale in sales:
        try:
            repaired += sale_allowlist_reconcile(sale, w3=w3)
        except Exception:  # one sale's node trouble must not stop the others
            logger.exception("reconciling the allowlist of sale %s failed", sale.pk)
    return repaired


def _in_flight(sale: Sale, read_at: int) -> set[str]:
    """Wallets an allowlist intent of the sale is still changing, or changed after the block we read."""
    intents = ChainIntent.objects.filter(chain_id=sale.chain_id, purpose=eligibility.ALLOWLIST_PURPOSE,
                                         object_key__startswith=f"sale:{sale.pk}:allowlist:")
    moving: set[str] = set()
    for intent in intents.exclude(state=IntentState.FAILED):
        if intent.state in IN_FLIGHT or (intent.block_number is not None and intent.block_number > read_at):
            moving.update(w.lower() for w in intent.params.get("wallets", []))
    return moving


def sale_allowlist_reconcile(sale: Sale, *, w3: Web3 | None = None) -> int:
    """Repair one sale's allowlist: the chain is read first (no lock held), then the rows are locked and compared."""
    w3 = w3 or client.web3()
    contract = client.contract("TrancheSale", sale.address, w3=w3)
    read_at = int(w3.eth.block_number)
    known = {w.lower(): w for w in SaleEligibility.objects.filter(sale=sale).values_list("wallet", flat=True)}
    for args in ChainEvent.objects.filter(sale=sale, name=ChainEventName.ALLOWLIST_UPDATED,
                                          removed=False).values_list("args", flat=True):
        wallet = str(args.get("wallet", ""))
        if wallet:
            known.setdefault(wallet.lower(), to_checksum_address(wallet))
    on_chain = {key: bool(contract.functions.allowlisted(to_checksum_address(w)).call(block_identifier=read_at))
                for key, w in known.items()}
    with transaction.atomic():
        sale = Sale.objects.select_for_update().select_related("token").get(pk=sale.pk)
        rows = {row.wallet.lower(): row for row in
                SaleEligibility.objects.select_for_update().filter(sale=sale).order_by("pk")}
        moving = _in_flight(sale, read_at)
        repairs: dict[bool, list[str]] = {True: [], False: []}
        for key, actual in on_chain.items():
            row = rows.get(key)
            if row is not None and row.on_chain != actual:
                row.on_chain = actual
                row.save(update_fields=["on_chain", "updated_at"])
            wanted = bool(row is not None and row.allowed)
            if actual != wanted and key not in moving:
                repairs[wanted].append(known[key])
        for wanted in (False, True):
            if not repairs[wanted]:
                continue
            intents = eligibility.allowlist_enqueue(sale, repairs[wanted], allowed=wanted)
            by_wallet = {w.lower(): i.object_key for i in intents for w in i.params["wallets"]}
            for wallet in repairs[wanted]:
                logger.warning("sale %s: %s is %s on-chain, repairing", sale.pk, wallet,
                               "allowlisted" if not wanted else "not allowlisted")
                audit_record(actor=Actor.system(), action="tokens.allowlist_repair", target=sale,
                             company_id=sale.token.company_id,
                             changes={"wallet": wallet, "on_chain": not wanted, "wanted": wanted,
                                      "block": read_at, "intent": by_wallet[wallet.lower()]})
        if repairs[True] or repairs[False]:
            from tokens.intents import intents_kick

            intents_kick()
    return len(repairs[True]) + len(repairs[False])
