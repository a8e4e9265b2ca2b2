"""Who may buy in a sale, following compliance: the database side (no web3; `tokens.chain.eligibility` sends).

A wallet is eligible for a deployed sale when it is an active, verified wallet on the sale's chain whose owner has
approved, unexpired KYC and passes `compliance.eligibility` for the sale's exemption and jurisdictions (for
Regulation Crowdfunding also "limit not reached"). `eligibility_refresh` writes that answer into `SaleEligibility`
rows and, in the same transaction, asks the chain to follow it through the outbox:
- allowlist mode: `sale.allowlist` intents, one per batch of wallets switched on or off;
- Merkle mode: a `sale.merkle_root` intent when the tree of eligible wallets has a new root; `merkle_proof`
  serves a wallet its proof;
- voucher mode: nothing is sent; `voucher_for` signs a short-lived EIP-712 voucher when the purchase page opens.

It runs when compliance changes (KYC approved, rejected or reopened, a wallet linked or removed: those services
queue `tokens.tasks.eligibility_refresh_investor` after commit), when a sale becomes scheduled or live (the
outbox's confirmation of the deployment), and for every deployed sale on each reconciliation pass (which is also
how an approval that simply expired is taken away).

Regulation Crowdfunding: a purchase in a Reg CF sale writes the investment ledger the limit reads
(`purchase_ledger_record`, `sale_refund_ledger_record`, called by the projections). Amounts convert to US dollars
only for a sale paid in a US dollar stablecoin (1 unit = 1 USD). An ether sale has no dollar amount without an
exchange rate the platform does not have, so in a Reg CF sale paid in ether only investors without a limit
(accredited) are eligible, and their purchases are not written to the dollar ledger.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from accounts.models import User, Wallet
from compliance import eligibility as rules
from compliance.audit import Actor
from compliance.choices import KycState
from compliance.limits import InvestmentLimit
from compliance.models import InvestmentRecord, KycApplication
from compliance.selectors import investment_limit_for
from compliance.services import audit_record
from contracts.merkle import WalletMerkleTree
from tokens.choices import EligibilityMode, PaymentAsset, SaleState, SignerRole
from tokens.intents import intent_enqueue, intents_kick
from tokens.models import ChainIntent, Purchase, PurchaseVoucher, Sale, SaleEligibility, SaleRefund

logger = logging.getLogger(__name__)

# Sales whose contract exists and may still sell: eligibility is kept on-chain for these.
DEPLOYED_STATES = (SaleState.SCHEDULED, SaleState.LIVE, SaleState.PAUSED)
ALLOWLIST_PURPOSE = "sale.allowlist"
MERKLE_ROOT_PURPOSE = "sale.merkle_root"
DEFAULT_ALLOWLIST_BATCH = 100  # updateAllowlist costs ~27k gas a wallet: 100 stay far below a block's gas limit
ZERO_ROOT = "0x" + "00" * 32
# Reasons beyond compliance.eligibility's codes.
WALLET_NOT_LINKED = "wallet_not_linked"
REG_CF_NEEDS_STABLECOIN = "reg_cf_needs_stablecoin"
ANOTHER_WALLET_LISTED = "another_wallet_listed"
CENT = Decimal("0.01")


def allowlist_batch_size() -> int:
    return int(getattr(settings, "TOKENS_ALLOWLIST_BATCH", DEFAULT_ALLOWLIST_BATCH))


# --- who is eligible -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletDecision:
    wallet: str  # checksummed
    investor_id: int
    allowed: bool
    reason: str


def investor_from(application: KycApplication | None) -> rules.Investor:
    """The investor as the eligibility rules see them (the mapping payments.services.investor_profile makes)."""
    if application is None:
        return rules.Investor(approved=False, approval_expires_at=None, country_of_residence="", us_person=False)
    country = str(application.country_of_residence or "")
    region = application.region.strip().upper()
    return rules.Investor(
        # Approved, whatever the date: the rules tell an expired approval apart ("kyc_expired").
        approved=application.state == KycState.APPROVED, approval_expires_at=application.approval_expires_at,
        country_of_residence=country, us_person=country == "US" or str(application.tax_residency or "") == "US",
        accreditation=application.accreditation, us_state=region if country == "US" and len(region) == 2 else "")


def sale_offering(sale: Sale) -> rules.Offering:
    return rules.Offering(exemption=sale.exemption, open_to=frozenset(sale.jurisdictions))


def paid_in_dollars(sale: Sale) -> bool:
    """A sale paid in a US dollar stablecoin: one whole unit is one dollar (card payments rely on the same)."""
    return sale.payment_asset == PaymentAsset.ERC20


def _investor_decision(sale: Sale, application: KycApplication | None, now: datetime) -> tuple[bool, str]:
    investor = investor_from(application)
    limit: InvestmentLimit | None = None
    if sale.exemption == rules.REG_CF and application is not None and investor.approved:
        limit = investment_limit_for(user=application.user, now=now)
    decision = rules.offering_eligibility(investor=investor, offering=sale_offering(sale), now=now, limit=limit)
    if not decision:
        return False, decision.code
    if sale.exemption == rules.REG_CF and not paid_in_dollars(sale) and (limit is None or not limit.unlimited):
        return False, REG_CF_NEEDS_STABLECOIN
    return True, decision.code


def wallet_decisions(sale: Sale, *, investor: User | None = None, wallets: Iterable[str] = (),
                     now: datetime | None = None) -> dict[str, WalletDecision]:
    """Lower-case address → the decision for each active verified wallet on the sale's chain (of `investor`, or
    of everyone) plus the named `wallets` whoever holds them now. Only owners with a KYC application appear."""
    now = now or timezone.now()
    found = Wallet.objects.active().filter(chain_id=sale.chain_id)
    named = [w.lower() for w in wallets]
    if investor is not None:
        condition = Q(user=investor)
        for address in named:
            condition |= Q(address__iexact=address)
        found = found.filter(condition)
    rows = list(found.order_by("pk"))
    applications = {a.user_id: a for a in KycApplication.objects.select_related("user")
                    .filter(user_id__in={w.user_id for w in rows})}
    cache: dict[int, tuple[bool, str]] = {}
    decisions: dict[str, WalletDecision] = {}
    listed = _listed_wallets(sale, {w.user_id for w in rows})
    for wallet in rows:
        application = applications.get(wallet.user_id)
        if application is None:
            continue
        if wallet.user_id not in cache:
            cache[wallet.user_id] = _investor_decision(sale, application, now)
        allowed, reason = cache[wallet.user_id]
        if allowed and listed is not None and listed.get(wallet.user_id) != wallet.address.lower():
            allowed, reason = False, ANOTHER_WALLET_LISTED
        address = to_checksum_address(wallet.address)
        decisions[address.lower()] = WalletDecision(address, wallet.user_id, allowed, reason)
    return decisions


def _listed_wallets(sale: Sale, user_ids: set[int]) -> dict[int, str | None] | None:
    """In allowlist and Merkle modes the contract counts the per-investor maximum per wallet, so one wallet per
    investor is listed (invariant 4: the maximum holds across all of an investor's wallets): the wallet the
    investor already bought with in this sale, else their earliest linked one. An investor whose buying wallet was
    unlinked gets none (claims and refunds never need the list). Voucher mode counts per investor id on-chain, so
    every wallet may buy there (None)."""
    if sale.eligibility_mode == EligibilityMode.VOUCHER:
        return None
    listed: dict[int, str | None] = {}
    for user_id, address in (Purchase.objects.filter(sale=sale, investor_id__in=user_ids)
                             .order_by("block_number", "pk").values_list("investor_id", "wallet")):
        listed.setdefault(user_id, address.lower())
    for user_id, address in (Wallet.objects.active().filter(chain_id=sale.chain_id, user_id__in=user_ids)
                             .order_by("pk").values_list("user_id", "address")):
        listed.setdefault(user_id, address.lower())
    return listed


def eligible_wallets(sale: Sale, *, now: datetime | None = None) -> list[str]:
    """The checksummed wallets that may buy in `sale` now, sorted."""
    return sorted(d.wallet for d in wallet_decisions(sale, now=now).values() if d.allowed)


# --- keeping SaleEligibility and the chain in step ---------------------------------------------------------------


def _deployed(sale: Sale) -> bool:
    return bool(sale.address) and sale.state in DEPLOYED_STATES


def eligibility_refresh(*, investor: User | None = None, sale: Sale | None = None) -> list[ChainIntent]:
    """Bring `SaleEligibility` and the chain in line with compliance, for one investor's wallets or for everyone,
    in one sale or in every deployed sale. Each sale is its own transaction; running it again changes nothing.
    Returns the intents written."""
    sales = [sale] if sale is not None else list(
        Sale.objects.filter(state__in=DEPLOYED_STATES).exclude(address="").order_by("pk"))
    written: list[ChainIntent] = []
    for one in sales:
        written.extend(_sale_refresh(one, investor))
    return written


@transaction.atomic
def _sale_refresh(sale: Sale, investor: User | None) -> list[ChainIntent]:
    sale = Sale.objects.select_for_update().select_related("token").get(pk=sale.pk)
    if not _deployed(sale):
        return []
    rows_query = SaleEligibility.objects.select_for_update().filter(sale=sale).order_by("pk")
    if investor is not None:
        rows_query = rows_query.filter(investor=investor)
    rows = {row.wallet.lower(): row for row in rows_query}
    decisions = wallet_decisions(sale, investor=investor, wallets=[row.wallet for row in rows.values()])
    if investor is not None:
        # Rows the named wallets already have under another owner (an address unlinked and linked again).
        others = SaleEligibility.objects.select_for_update().filter(sale=sale).exclude(investor=investor)
        for other in others.filter(wallet__in=[d.wallet for d in decisions.values()]).order_by("pk"):
            rows[other.wallet.lower()] = other
    switched: dict[bool, list[str]] = {True: [], False: []}
    for key, decision in decisions.items():
        found = rows.get(key)
        if found is None:
            SaleEligibility.objects.create(sale=sale, wallet=decision.wallet, investor_id=decision.investor_id,
                                           allowed=decision.allowed, reason=decision.reason)
            if decision.allowed:
                switched[True].append(decision.wallet)
            continue
        row = found
        if row.allowed != decision.allowed:
            switched[decision.allowed].append(row.wallet)
        if (row.allowed, row.reason, row.investor_id) != (decision.allowed, decision.reason, decision.investor_id):
            row.allowed, row.reason, row.investor_id = decision.allowed, decision.reason, decision.investor_id
            row.save(update_fields=["allowed", "reason", "investor", "updated_at"])
    for key, row in rows.items():
        if key not in decisions and (row.allowed or row.reason != WALLET_NOT_LINKED):
            if row.allowed:
                switched[False].append(row.wallet)
            row.allowed, row.reason = False, WALLET_NOT_LINKED
            row.save(update_fields=["allowed", "reason", "updated_at"])
    intents: list[ChainIntent] = []
    if sale.eligibility_mode == EligibilityMode.ALLOWLIST:
        for allowed in (False, True):  # removals first: a wallet that moved owners is never briefly doubled
            intents.extend(allowlist_enqueue(sale, switched[allowed], allowed=allowed))
    elif sale.eligibility_mode == EligibilityMode.MERKLE:
        intent = _merkle_root_follow(sale)
        if intent is not None:
            intents.append(intent)
    if switched[True] or switched[False]:
        audit_record(actor=Actor.system(), action="tokens.eligibility_update", target=sale,
                     company_id=sale.token.company_id,
                     changes={"added": switched[True], "removed": switched[False],
                              "intents": [i.object_key for i in intents]})
    if intents:
        intents_kick()
    return intents


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def allowlist_enqueue(sale: Sale, wallets: Sequence[str], *, allowed: bool) -> list[ChainIntent]:
    """Ask for `updateAllowlist(batch, allowed)` in batches, inside the caller's transaction (which holds the
    sale's row lock). The object key carries the batch and a per-sale generation (how many allowlist intents the
    sale has): the rows are updated in the same transaction, so a retried refresh finds nothing to switch and
    writes nothing, while a later change, even back to an earlier list, gets a new intent."""
    if not wallets:
        return []
    ordered = sorted({to_checksum_address(w) for w in wallets}, key=str.lower)
    prefix = f"sale:{sale.pk}:allowlist:"
    generation = ChainIntent.objects.filter(chain_id=sale.chain_id, purpose=ALLOWLIST_PURPOSE,
                                            object_key__startswith=prefix).count()
    size = allowlist_batch_size()
    intents = []
    for start in range(0, len(ordered), size):
        batch = ordered[start:start + size]
        generation += 1
        key = prefix + _digest([w.lower() for w in batch], allowed, generation)
        intents.append(intent_enqueue(chain_id=sale.chain_id, purpose=ALLOWLIST_PURPOSE, obj=key,
                                      role=SignerRole.ELIGIBILITY, params={"wallets": batch, "allowed": allowed}))
    return intents


def sale_of_intent(intent: ChainIntent) -> int:
    """The sale's primary key in an eligibility intent's object key (`sale:12:allowlist:...`)."""
    name, pk, *_rest = intent.object_key.split(":")
    if name != "sale":
        raise ValueError(f"{intent.object_key} does not name a sale")
    return int(pk)


# --- Merkle mode -------------------------------------------------------------------------------------------------


def merkle_root_of(wallets: Sequence[str]) -> str:
    """The root TrancheSale checks proofs against; no wallet at all is the zero root (no proof verifies)."""
    if not wallets:
        return ZERO_ROOT
    return "0x" + WalletMerkleTree.of(wallets).root.hex()


def _allowed_wallets(sale: Sale) -> list[str]:
    return sorted(SaleEligibility.objects.filter(sale=sale, allowed=True).values_list("wallet", flat=True),
                  key=str.lower)


def _merkle_root_follow(sale: Sale) -> ChainIntent | None:
    """`sale.merkle_root` holds the root last asked for; a different root of the allowed rows is a new intent."""
    wallets = _allowed_wallets(sale)
    root = merkle_root_of(wallets)
    if root == (sale.merkle_root or ZERO_ROOT):
        return None
    prefix = f"sale:{sale.pk}:merkle_root:"
    generation = ChainIntent.objects.filter(chain_id=sale.chain_id, purpose=MERKLE_ROOT_PURPOSE,
                                            object_key__startswith=prefix).count() + 1
    # The wallets travel with the intent so that proofs can be served for the root that is on-chain.
    intent = intent_enqueue(chain_id=sale.chain_id, purpose=MERKLE_ROOT_PURPOSE, obj=f"{prefix}{generation}",
                            role=SignerRole.ELIGIBILITY, params={"root": root, "wallets": wallets})
    sale.merkle_root = root
    sale.save(update_fields=["merkle_root"])
    return intent


class NotEligible(ValidationError):
    pass


def merkle_proof(sale: Sale, wallet: str) -> list[str]:
    """The wallet's proof for `buyWithProof`, as 0x-hex strings.

    Built from the tree of the newest confirmed root (what the contract checks now) when the wallet is in it,
    else from the eligible wallets now (valid once the root being sent is mined). Raises NotEligible otherwise.
    """
    address = to_checksum_address(wallet)
    if not SaleEligibility.objects.filter(sale=sale, wallet__iexact=address, allowed=True).exists():
        raise NotEligible(_("This wallet may not buy in this sale."), code="not_eligible")
    trees: list[list[str]] = []
    confirmed = (ChainIntent.objects.filter(chain_id=sale.chain_id, purpose=MERKLE_ROOT_PURPOSE,
                                            object_key__startswith=f"sale:{sale.pk}:merkle_root:",
                                            state="confirmed").order_by("-pk").first())
    if confirmed is not None:
        trees.append(list(confirmed.params.get("wallets", [])))
    trees.append(_allowed_wallets(sale))
    for wallets in trees:
        if address.lower() in {w.lower() for w in wallets}:
            return ["0x" + node.hex() for node in WalletMerkleTree.of(wallets).proof(address)]
    raise NotEligible(_("This wallet may not buy in this sale."), code="not_eligible")


# --- voucher mode ------------------------------------------------------------------------------------------------


def investor_key(user: User | int) -> str:
    """The sale contract's `investorId` of a person: stable, and not personal data (a keyed hash of the id)."""
    pk = user if isinstance(user, int) else user.pk
    salt = hashlib.sha256(f"tranche-investor-salt:{settings.SECRET_KEY}".encode()).hexdigest()
    return "0x" + keccak(text=f"tranche-investor:{pk}:{salt}").hex()


def investor_bought(sale: Sale, user: User) -> int:
    """What the person's wallets (or purchases the projections tied to them) paid in `sale`, removed ones left out."""
    addresses = list(Wallet.objects.filter(user=user, chain_id=sale.chain_id).values_list("address", flat=True))
    mine = Q(investor=user) | Q(investor_key=investor_key(user))
    for address in addresses:
        mine |= Q(investor__isnull=True, wallet__iexact=address)
    total = Purchase.objects.filter(sale=sale, removed=False).filter(mine).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def dollars_to_base_units(amount: Decimal, decimals: int) -> int:
    """Rounded down: a limit must never allow a unit more than it says."""
    return int((amount * Decimal(10) ** decimals).to_integral_value(rounding=ROUND_DOWN))


def base_units_to_dollars(amount: int, decimals: int, *, rounding: str = ROUND_UP) -> Decimal:
    """To the cent, up by default: the ledger never counts less than was paid (a refund rounds down)."""
    return (Decimal(amount) / Decimal(10) ** decimals).quantize(CENT, rounding=rounding)


@dataclass(frozen=True)
class VoucherRoom:
    bought: int  # what the investor's wallets paid in this sale
    remaining: int  # what the investor may still pay: the per-investor maximum and the Reg CF limit left
    signed_max: int  # the voucher's maxAmount: the contract compares it with its running total for the id


def voucher_room(*, sale: Sale, investor: User, now: datetime | None = None) -> VoucherRoom:
    """How much the investor may still buy. The contract checks `investorTotals[id] + amount <= maxAmount`, a
    running total of the id in this sale, so the signed maximum is what the id has already paid here plus the
    room left; a purchase the scanner has not stored yet is then counted by the contract itself."""
    now = now or timezone.now()
    bought = investor_bought(sale, investor)
    remaining = max(int(sale.max_per_investor) - bought, 0)
    if sale.exemption == rules.REG_CF:
        limit = investment_limit_for(user=investor, now=now)
        if limit is None:
            remaining = 0
        elif not limit.unlimited:
            if not paid_in_dollars(sale):
                remaining = 0  # no exchange rate: see the module's docstring
            else:
                left = limit.remaining if limit.remaining is not None else Decimal(0)
                remaining = min(remaining, dollars_to_base_units(left, sale.payment_decimals))
    key = investor_key(investor)
    by_key = Purchase.objects.filter(sale=sale, removed=False, investor_key=key).aggregate(total=Sum("amount"))
    signed = min(int(by_key["total"] or 0) + remaining, int(sale.max_per_investor))
    return VoucherRoom(bought=bought, remaining=remaining, signed_max=signed)


@transaction.atomic
def voucher_for(*, sale: Sale, investor: User, wallet: str, now: datetime | None = None) -> dict[str, Any]:
    """Sign the voucher the purchase page hands the investor's wallet for `buyWithVoucher` and keep it.

    Refused (NotEligible) unless the sale is deployed in voucher mode, the wallet is the investor's active
    verified wallet on the sale's chain, the investor is eligible now, and some room is left.
    """
    from contracts.vouchers import Voucher, sign_voucher
    from tokens.chain import keys

    now = now or timezone.now()
    sale = Sale.objects.select_related("token").get(pk=sale.pk)
    if sale.eligibility_mode != EligibilityMode.VOUCHER or not _deployed(sale):
        raise NotEligible(_("This sale does not take purchase vouchers now."), code="no_vouchers")
    address = to_checksum_address(wallet)
    decision = wallet_decisions(sale, investor=investor, now=now).get(address.lower())
    if decision is None or decision.investor_id != investor.pk:
        raise NotEligible(_("Link and verify this wallet first."), code="wallet_not_linked")
    if not decision.allowed:
        raise NotEligible(rules.MESSAGES.get(decision.reason, _("You may not buy in this sale.")),
                          code=decision.reason)
    room = voucher_room(sale=sale, investor=investor, now=now)
    if room.remaining <= 0:
        raise NotEligible(_("You have reached the most you may buy in this sale."), code="maximum_reached")
    expires_at = now + settings.TOKENS_VOUCHER_LIFETIME
    key = investor_key(investor)
    voucher = Voucher(investor_id=bytes.fromhex(key[2:]), wallet=address, max_amount=room.signed_max,
                      expiry=int(expires_at.timestamp()))
    signature = sign_voucher(voucher, sale_address=sale.address, chain_id=sale.chain_id,
                             private_key=keys.signer("voucher", sale.chain_id).key)
    record = PurchaseVoucher.objects.create(
        sale=sale, investor=investor, wallet=address, investor_key=key, max_amount=room.signed_max,
        expires_at=expires_at.replace(microsecond=0), signature="0x" + signature.hex())
    return {
        "voucher": record.pk,
        "investor_id": key,
        "wallet": address,
        "max_amount": str(room.signed_max),
        "expiry": voucher.expiry,
        "signature": record.signature,
        "remaining": str(room.remaining),
        "bought": str(room.bought),
        "expires_at": record.expires_at.isoformat(),
    }


# --- the Regulation Crowdfunding ledger ----------------------------------------------------------------------------


def _ledger_owner(sale: Sale, row: Purchase | SaleRefund) -> int | None:
    if row.investor_id is not None:
        return int(row.investor_id)
    owner = (Wallet.objects.active().filter(chain_id=sale.chain_id, address__iexact=row.wallet)
             .values_list("user_id", flat=True).first())
    return int(owner) if owner is not None else None


def _ledger_reverse(record: InvestmentRecord, now: datetime) -> None:
    if not InvestmentRecord.objects.filter(reverses=record).exists():
        InvestmentRecord.objects.create(user_id=record.user_id, amount=-record.amount, currency=record.currency,
                                        exemption=record.exemption, offering=record.offering, occurred_at=now,
                                        reverses=record)


def _ledger_applies(sale: Sale, what: str) -> bool:
    if sale.exemption != rules.REG_CF:
        return False
    if not paid_in_dollars(sale):
        logger.warning("%s in Reg CF sale %s is paid in ether: not written to the dollar ledger", what, sale.pk)
        return False
    return True


@transaction.atomic
def purchase_ledger_record(purchase: Purchase, *, now: datetime | None = None) -> InvestmentRecord | None:
    """Make the investment ledger follow one purchase of a Regulation Crowdfunding sale (paid in a dollar
    stablecoin): a standing purchase has exactly one unreversed record of its dollar amount, a removed one has
    its record reversed, and a purchase revived after a reorganisation gets a fresh record. Call it whenever a
    Purchase row is created or its `removed` flag changes; calling it again changes nothing. Returns the
    purchase's current record (None outside Reg CF)."""
    now = now or timezone.now()
    purchase = (Purchase.objects.select_for_update(of=("self",)).select_related("sale", "ledger_record")
                .get(pk=purchase.pk))
    sale = purchase.sale
    if not _ledger_applies(sale, f"purchase {purchase.pk}"):
        return None
    record = purchase.ledger_record
    if purchase.removed:
        if record is not None:
            _ledger_reverse(record, now)
        return record
    if record is not None and not InvestmentRecord.objects.filter(reverses=record).exists():
        return record
    user_id = _ledger_owner(sale, purchase)
    if user_id is None:
        logger.warning("purchase %s in Reg CF sale %s by %s, a wallet no investor holds", purchase.pk, sale.pk,
                       purchase.wallet)
        return None
    record = InvestmentRecord.objects.create(
        user_id=user_id, amount=base_units_to_dollars(int(purchase.amount), sale.payment_decimals),
        currency="USD", exemption=rules.REG_CF, offering=f"sale:{sale.pk}:purchase:{purchase.pk}",
        occurred_at=now)
    purchase.ledger_record = record
    purchase.save(update_fields=["ledger_record"])
    transaction.on_commit(lambda: _refresh_later(user_id))
    return record


@transaction.atomic
def sale_refund_ledger_record(refund: SaleRefund, *, now: datetime | None = None) -> InvestmentRecord | None:
    """A refund in a Regulation Crowdfunding sale (refund mode, or pro-rata's unallocated part) gives its amount
    back to the investor's limit: one negative record per refund, keyed by the refund (under its row lock), and
    taken back again if a reorganisation removes the refund."""
    now = now or timezone.now()
    refund = SaleRefund.objects.select_for_update(of=("self",)).select_related("sale").get(pk=refund.pk)
    sale = refund.sale
    if not _ledger_applies(sale, f"refund {refund.pk}"):
        return None
    offering = f"sale:{sale.pk}:refund:{refund.pk}"
    current = (InvestmentRecord.objects.filter(offering=offering, reverses__isnull=True, amount__lt=0)
               .exclude(reversal__isnull=False).order_by("-pk").first())
    if refund.removed:
        if current is not None:
            _ledger_reverse(current, now)
        return current
    if current is not None:
        return current
    user_id = _ledger_owner(sale, refund)
    if user_id is None:
        return None
    return InvestmentRecord.objects.create(
        user_id=user_id, amount=-base_units_to_dollars(int(refund.amount), sale.payment_decimals, rounding=ROUND_DOWN),
        currency="USD", exemption=rules.REG_CF, offering=offering, occurred_at=now)


def _refresh_later(user_id: int) -> None:
    from tokens.tasks import eligibility_refresh_investor

    eligibility_refresh_investor.delay(user_id)
