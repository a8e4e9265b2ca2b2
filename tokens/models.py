"""Tokens, sales and what the chain says about them.

Three kinds of rows:
- what the company decides (`Token`, `Sale`, `TokenAllocation`, `TokenWarrant`), edited in the browser;
- what the platform asks the chain to do (`ChainIntent` and its signed `ChainTransaction` attempts, the outbox
  of `tokens/chain/`), each intent unique on (chain id, purpose, object) and written in the same transaction
  as the change that wants it;
- what the chain did (`ChainEvent`, unique on (chain_id, tx_hash, log_index)) and the projections built from
  it (`Purchase`, `Claim`, `SaleRefund`). A projection row follows its event's `removed` flag, so a
  reorganisation undoes it and a re-mined event revives it; every total filters `removed=False`.

Amounts on the chain (wei, token base units, stablecoin base units) are `int` in `Uint256Field`. A sale's prices
and caps are in its payment asset's base units, exactly as the contract takes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Func, IntegerField, Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from companies.models import Company
from compliance.choices import Exemption
from tokens.choices import (
    AllocationKind,
    AllocationMode,
    AllocationState,
    ContractKind,
    DeployStatus,
    EligibilityMode,
    IntentState,
    PaymentAsset,
    SaleState,
    SignerRole,
    WarrantKind,
    WarrantState,
)
from tokens.fields import Uint256Field

ADDRESS_FORMAT = r"^0x[0-9a-fA-F]{40}$"
HASH_LENGTH = 66


def _hash_check(*fields: str, name: str) -> models.CheckConstraint:
    """Each field a 32-byte hash as stored: "0x" and 64 lower-case hex digits.

    A length and an unbounded pattern rather than `^0x[0-9a-f]{64}$`: PostgreSQL's regex engine is slow on a
    bounded repeat (on 10,000 events that CHECK took 0.13 s, this one 0.01 s). They accept exactly the same
    strings: a match of `^0x[0-9a-f]*$` is all ASCII, so its 66 bytes are 66 characters.
    """
    condition = Q()
    for field in fields:
        octets = Func(F(field), function="OCTET_LENGTH", output_field=IntegerField())
        condition &= Q(Exact(octets, HASH_LENGTH), **{f"{field}__regex": r"^0x[0-9a-f]*$"})
    return models.CheckConstraint(condition=condition, name=name)


def _address_check(field: str, name: str, *, optional: bool = True) -> models.CheckConstraint:
    condition = Q(**{f"{field}__regex": ADDRESS_FORMAT})
    if optional:
        condition |= Q(**{field: ""})
    return models.CheckConstraint(condition=condition, name=name)


class Token(models.Model):
    """A company's ERC-20 (`TrancheToken`): hard supply cap, permits, a lock-up transfer rule.

    `admin_address` is the company's own address (a multisig or hardware wallet), which holds the token's admin
    role once deployment hands it over; the platform keeps only the sale's minter and the distributor roles.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="tokens")
    name = models.CharField(_("name"), max_length=100)
    symbol = models.CharField(_("symbol"), max_length=11)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=18)
    supply_cap = Uint256Field(_("supply cap"), help_text=_("In base units (whole tokens × 10^decimals)."))
    admin_address = models.CharField(_("company's admin address"), max_length=42)
    lockup_end = models.DateTimeField(_("transfers unlock"), null=True, blank=True)
    investor_pool = Uint256Field(
        _("investor token pool"), default=0,
        help_text=_("Tokens reserved for token warrants of the pro-rata kind, in base units."))
    distributor_ceiling = Uint256Field(_("distributor ceiling"), default=0)
    chain_id = models.PositiveBigIntegerField(_("chain id"))
    address = models.CharField(_("address"), max_length=42, blank=True)
    deploy_status = models.CharField(_("deployment"), max_length=12, choices=DeployStatus.choices,
                                     default=DeployStatus.DRAFT)
    deploy_block = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "symbol"]
        constraints = [
            models.UniqueConstraint("company", Lower("symbol"), name="tokens_token_symbol_unique"),
            models.UniqueConstraint("chain_id", Lower("address"), condition=~Q(address=""),
                                    name="tokens_token_address_unique"),
            _address_check("address", "tokens_token_address_format"),
            _address_check("admin_address", "tokens_token_admin_format", optional=False),
            models.CheckConstraint(condition=Q(decimals__lte=18), name="tokens_token_decimals"),
            models.CheckConstraint(condition=Q(supply_cap__gt=0), name="tokens_token_cap_positive"),
            models.CheckConstraint(condition=Q(investor_pool__lte=models.F("supply_cap")),
                                   name="tokens_token_pool_within_cap"),
        ]

    def __str__(self) -> str:
        return self.symbol

    @property
    def unit(self) -> int:
        return int(10**self.decimals)


class Sale(models.Model):
    """A crowdsale (`TrancheSale`) of a token at a fixed price, in ether or an ERC-20 stablecoin.

    `price` is what one whole token costs in the payment asset's base units; caps and per-investor limits are
    in the same units (they bound the money paid, as on-chain).
    """

    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="sales")
    name = models.CharField(_("name"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=SaleState.choices, default=SaleState.DRAFT)
    payment_asset = models.CharField(_("paid in"), max_length=5, choices=PaymentAsset.choices,
                                     default=PaymentAsset.ETH)
    payment_token_address = models.CharField(_("stablecoin address"), max_length=42, blank=True)
    payment_symbol = models.CharField(_("payment symbol"), max_length=11, default="ETH")
    payment_decimals = models.PositiveSmallIntegerField(_("payment decimals"), default=18)
    price = Uint256Field(_("price per token"))
    soft_cap = Uint256Field(_("soft cap"))
    hard_cap = Uint256Field(_("hard cap"))
    min_per_investor = Uint256Field(_("minimum per investor"))
    max_per_investor = Uint256Field(_("maximum per investor"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    finalize_grace = models.DurationField(
        _("time to finalize"), help_text=_("After the end, anyone may turn on refunds if not finalized by then."))
    claim_period = models.DurationField(_("claim period"))
    treasury_address = models.CharField(_("treasury"), max_length=42)
    allocation_mode = models.CharField(_("allocation"), max_length=10, choices=AllocationMode.choices,
                                       default=AllocationMode.FIRST_COME_FIRST_SERVED)
    shard_count = models.PositiveSmallIntegerField(_("accumulator shards"), default=1)
    eligibility_mode = models.CharField(_("who may buy"), max_length=10, choices=EligibilityMode.choices,
                                        default=EligibilityMode.ALLOWLIST)
    merkle_root = models.CharField(max_length=66, blank=True)
    exemption = models.CharField(_("exemption"), max_length=12, choices=Exemption.choices,
                                 default=Exemption.REG_D_506C)
    jurisdictions = models.JSONField(_("open to"), default=list, blank=True,
                                     help_text=_("ISO country codes, or US-XX for a US state."))
    accepts_card = models.BooleanField(_("accepts card payments"), default=False)
    address = models.CharField(_("address"), max_length=42, blank=True)
    deploy_block = models.PositiveBigIntegerField(null=True, blank=True)
    # A sale of a token already launched: the token's admin is the company's own address, so the company grants the
    # sale its minter role itself (`tokens.chain.minter`), and the sale opens once the chain shows the grant.
    minter_by_company = models.BooleanField(default=False)
    # From the Finalized and RefundModeEntered events.
    accepted_total = Uint256Field(null=True, blank=True)
    tokens_for_sale = Uint256Field(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0, hard_cap__gt=0, soft_cap__lte=models.F("hard_cap"),
                                               max_per_investor__gt=0,
                                               min_per_investor__lte=models.F("max_per_investor")),
                                   name="tokens_sale_amounts_ordered"),
            models.CheckConstraint(condition=Q(starts_at__lt=models.F("ends_at")), name="tokens_sale_times"),
            models.CheckConstraint(condition=Q(shard_count__gte=1, shard_count__lte=256),
                                   name="tokens_sale_shards"),
            models.CheckConstraint(
                condition=Q(payment_asset=PaymentAsset.ETH, payment_token_address="")
                | (Q(payment_asset=PaymentAsset.ERC20) & Q(payment_token_address__regex=ADDRESS_FORMAT)),
                name="tokens_sale_payment_asset"),
            models.UniqueConstraint(Lower("address"), condition=~Q(address=""), name="tokens_sale_address_unique"),
            _address_check("address", "tokens_sale_address_format"),
            _address_check("treasury_address", "tokens_sale_treasury_format", optional=False),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def company(self) -> Company:
        return self.token.company

    @property
    def chain_id(self) -> int:
        return int(self.token.chain_id)


class WatchedContract(models.Model):
    """A contract the event scanner reads, from its deployment block on (`start_block`).

    The chain's `ScanCursor` says how far every contract is read; a contract added after the cursor moved is
    backfilled from `start_block` up to the cursor first (`backfilled_through`).
    """

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    kind = models.CharField(max_length=10, choices=ContractKind.choices)
    start_block = models.PositiveBigIntegerField()
    backfilled_through = models.BigIntegerField(null=True, blank=True)
    token = models.ForeignKey(Token, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sale = models.ForeignKey(Sale, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    allocation = models.ForeignKey("TokenAllocation", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("chain_id", Lower("address"), name="tokens_watched_address_unique"),
            _address_check("address", "tokens_watched_address_format", optional=False),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.address}"


class ScanCursor(models.Model):
    """How far the scanner has read one chain: the last block read and its hash (to notice a reorganisation)."""

    chain_id = models.PositiveBigIntegerField(unique=True)
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"chain {self.chain_id} at {self.block_number}"


class ChainEvent(models.Model):
    """One log, as the node returned it. `args` holds the decoded arguments (integers as strings)."""

    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    address = models.CharField(max_length=42)
    name = models.CharField(max_length=40)
    args = models.JSONField(default=dict)
    removed = models.BooleanField(default=False)
    sale = models.ForeignKey(Sale, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    token = models.ForeignKey(Token, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["chain_id", "block_number", "log_index"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="tokens_event_unique"),
            _hash_check("tx_hash", "block_hash", name="tokens_event_hash_format"),
        ]
        indexes = [models.Index(fields=["chain_id", "block_number"], name="tokens_event_block_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.tx_hash}:{self.log_index}"


class _Projection(models.Model):
    """A row built from one chain event; `removed` mirrors the event's."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="+")
    event = models.OneToOneField(ChainEvent, on_delete=models.PROTECT, related_name="+")
    wallet = models.CharField(max_length=42)
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    block_number = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    removed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["block_number", "pk"]


class Purchase(_Projection):
    """`Purchased(beneficiary, payer, investorId, amount)`: `wallet` is the beneficiary."""

    # No index of its own: tokens_purchase_sale_idx (sale, removed) serves every lookup by sale.
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="purchases", db_index=False)
    event = models.OneToOneField(ChainEvent, on_delete=models.PROTECT, related_name="purchase")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="token_purchases")
    payer = models.CharField(max_length=42)
    investor_key = models.CharField(max_length=66, blank=True, help_text="The sale's investorId (bytes32), if any.")
    amount = Uint256Field(help_text="Paid, in the payment asset's base units.")
    tokens = Uint256Field(help_text="Token base units the amount buys at the sale's price.")
    # In a Regulation Crowdfunding sale the purchase counts against the investor's limit through this ledger row,
    # once (tokens.eligibility.purchase_ledger_record); removal reverses it, a revived purchase gets a new one.
    ledger_record = models.OneToOneField("compliance.InvestmentRecord", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="token_purchase")

    class Meta(_Projection.Meta):
        indexes = [models.Index(fields=["sale", "removed"], name="tokens_purchase_sale_idx")]

    def __str__(self) -> str:
        return f"{self.wallet} paid {self.amount}"


class Claim(_Projection):
    """`Claimed(wallet, tokens, paid)`."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="claims")
    event = models.OneToOneField(ChainEvent, on_delete=models.PROTECT, related_name="claim")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="token_claims")
    tokens = Uint256Field()
    paid = Uint256Field()

    def __str__(self) -> str:
        return f"{self.wallet} claimed {self.tokens}"


class SaleRefund(_Projection):
    """`Refunded(wallet, amount)`: money a buyer took back (refund mode, or pro-rata's unallocated part)."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds")
    event = models.OneToOneField(ChainEvent, on_delete=models.PROTECT, related_name="sale_refund")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="token_refunds")
    amount = Uint256Field()

    def __str__(self) -> str:
        return f"{self.wallet} refunded {self.amount}"


class SaleEligibility(models.Model):
    """Whether one verified wallet may buy in one sale: what the platform wants (`allowed`, from compliance) and,
    in allowlist mode, what the contract last said (`on_chain`). Reconciliation repairs any difference."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="eligibility")
    wallet = models.CharField(max_length=42)
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    allowed = models.BooleanField(default=True)
    on_chain = models.BooleanField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint("sale", Lower("wallet"), name="tokens_eligibility_unique")]

    def __str__(self) -> str:
        return f"{self.wallet} in {self.sale_id}: {self.allowed}"


class PurchaseVoucher(models.Model):
    """An EIP-712 voucher the platform signed for one investor's wallet (voucher mode), kept for the record."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="vouchers")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    wallet = models.CharField(max_length=42)
    investor_key = models.CharField(max_length=66)
    max_amount = Uint256Field()
    expires_at = models.DateTimeField()
    signature = models.CharField(max_length=132)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"voucher {self.pk} for {self.wallet}"


class TokenWarrant(models.Model):
    """A right to tokens attached to a SAFE or a priced investment: a fixed amount, or the holder's pro-rata
    equity ownership times the token's investor pool; free, or at `price_per_token` (in the round's currency).
    At the token's launch it converts into a `TokenAllocation` the holder claims with a verified wallet."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="token_warrants")
    stakeholder = models.ForeignKey("equity.Stakeholder", on_delete=models.PROTECT, related_name="token_warrants")
    investment = models.ForeignKey("equity.Investment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="token_warrants")
    security_ref = models.CharField(
        _("attached to security"), max_length=40, blank=True,
        help_text=_("The OCF security id of the SAFE or stock it is attached to (kept when imported from OCF)."))
    kind = models.CharField(_("kind"), max_length=10, choices=WarrantKind.choices)
    token_amount = Uint256Field(_("tokens"), null=True, blank=True,
                                help_text=_("For a fixed warrant, in base units."))
    price_per_token = models.DecimalField(_("price per token"), max_digits=20, decimal_places=10, null=True,
                                          blank=True, help_text=_("Empty when the tokens are free."))
    currency = models.CharField(max_length=3, default="USD")
    state = models.CharField(_("state"), max_length=12, choices=WarrantState.choices,
                             default=WarrantState.OUTSTANDING)
    converted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                # isnull spelled out: a NULL amount would make the comparison unknown, which a CHECK lets pass.
                condition=(Q(kind=WarrantKind.FIXED) & Q(token_amount__isnull=False) & Q(token_amount__gt=0))
                | (Q(kind=WarrantKind.PRO_RATA) & Q(token_amount__isnull=True)),
                name="tokens_warrant_amount_by_kind"),
            models.CheckConstraint(condition=Q(price_per_token__isnull=True) | Q(price_per_token__gte=0),
                                   name="tokens_warrant_price"),
        ]

    def __str__(self) -> str:
        return f"Token warrant {self.pk} ({self.stakeholder})"


class TokenAllocation(models.Model):
    """Tokens set aside for someone: team, advisors and treasury vest through an OpenZeppelin `VestingWallet`
    deployed per beneficiary (cliff, then linear); investors' come from converted token warrants."""

    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="allocations")
    kind = models.CharField(_("kind"), max_length=10, choices=AllocationKind.choices)
    label = models.CharField(_("for"), max_length=200)
    stakeholder = models.ForeignKey("equity.Stakeholder", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="token_allocations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="token_allocations")
    beneficiary_address = models.CharField(_("beneficiary address"), max_length=42, blank=True)
    amount = Uint256Field(_("tokens"))
    vesting_start = models.DateTimeField(_("vesting starts"), null=True, blank=True)
    cliff = models.DurationField(_("cliff"), null=True, blank=True)
    duration = models.DurationField(_("vesting duration"), null=True, blank=True)
    vesting_address = models.CharField(max_length=42, blank=True)
    released = Uint256Field(default=0)
    warrant = models.OneToOneField(TokenWarrant, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="allocation")
    exercise_price = models.DecimalField(
        _("exercise price"), max_digits=20, decimal_places=2, null=True, blank=True,
        help_text="What the holder of a priced warrant pays (in the warrant's currency) before claiming: the tokens "
                  "times the price per token, rounded up to the cent. Empty when free.")
    exercise_payment_key = models.CharField(
        max_length=40, blank=True,
        help_text="The payment (its key) the tokens stand on: set when one succeeds, cleared when it is disputed.")
    exercise_payout = models.CharField(
        max_length=100, blank=True,
        help_text="The payment provider's transfer of the exercise price to the company once the tokens were "
                  "delivered (`pending` while it is being made).")
    state = models.CharField(_("state"), max_length=10, choices=AllocationState.choices,
                             default=AllocationState.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["token", "kind", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="tokens_allocation_positive"),
            models.CheckConstraint(condition=Q(released__lte=models.F("amount")), name="tokens_allocation_released"),
            models.CheckConstraint(condition=Q(exercise_price__isnull=True) | Q(exercise_price__gt=0),
                                   name="tokens_allocation_exercise_price"),
            _address_check("beneficiary_address", "tokens_allocation_beneficiary_format"),
            _address_check("vesting_address", "tokens_allocation_vesting_format"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.amount}"

    @property
    def exercise_currency(self) -> str:
        """The currency of the exercise price: the warrant's."""
        return self.warrant.currency if self.warrant is not None else "USD"


# ------------------------------------------------------------------------------------------ the outbox


class SignerNonce(models.Model):
    """The next nonce of one platform key on one chain, kept under a row lock and reconciled with the node's
    pending count at start and after any error."""

    chain_id = models.PositiveBigIntegerField()
    role = models.CharField(max_length=12, choices=SignerRole.choices)
    address = models.CharField(max_length=42)
    next_nonce = models.PositiveBigIntegerField(default=0)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("chain_id", Lower("address"), name="tokens_signer_unique")]

    def __str__(self) -> str:
        return f"{self.role} {self.address} next {self.next_nonce}"


class ChainIntent(models.Model):
    """Something the platform wants done on a chain, once: unique on (chain id, purpose, object).

    Written in the same database transaction as the business change that wants it, so a retried task finds the
    intent instead of making a second one. `depends_on` must be confirmed first (the sale needs its token's
    address). The transaction's calldata is built when it is signed, from `params` and the rows it names.
    """

    chain_id = models.PositiveBigIntegerField()
    purpose = models.CharField(max_length=40)
    object_key = models.CharField(max_length=80)
    role = models.CharField(max_length=12, choices=SignerRole.choices)
    params = models.JSONField(default=dict)
    depends_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=IntentState.choices, default=IntentState.PENDING)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    signer_address = models.CharField(max_length=42, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, help_text="The attempt that was mined.")
    contract_address = models.CharField(max_length=42, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "purpose", "object_key"], name="tokens_intent_unique"),
            models.UniqueConstraint(fields=["chain_id", "signer_address", "nonce"],
                                    condition=Q(nonce__isnull=False), name="tokens_intent_nonce_unique"),
        ]
        indexes = [models.Index(fields=["state"], name="tokens_intent_state_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.object_key} ({self.state})"


class ChainTransaction(models.Model):
    """One signed attempt of an intent: stored before broadcast, so a worker that dies re-sends the same bytes.
    A replacement (same nonce, higher fee) is a new attempt; the one that is mined is the intent's `tx_hash`."""

    intent = models.ForeignKey(ChainIntent, on_delete=models.PROTECT, related_name="attempts")
    nonce = models.PositiveBigIntegerField()
    raw = models.BinaryField()
    tx_hash = models.CharField(max_length=66, unique=True)
    gas = models.PositiveBigIntegerField()
    max_fee_per_gas = Uint256Field()
    max_priority_fee_per_gas = Uint256Field()
    created_at = models.DateTimeField(auto_now_add=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    broadcast_error = models.TextField(blank=True)

    class Meta:
        ordering = ["intent", "pk"]

    def __str__(self) -> str:
        return self.tx_hash
