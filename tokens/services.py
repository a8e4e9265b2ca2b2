"""Tokens and sales the founder creates and deploys. Every function that changes state is one transaction that
writes the audit log; what must happen on-chain is written as outbox intents in the same transaction
(`tokens.intents`), and `tokens/chain/` does it afterwards.

Deploying a sale with a new token is five intents, each waiting for the one before:
1. `token.deploy`: `TrancheToken(name, symbol, cap, admin = the platform's deployer, lockupEnd)`;
2. `sale.deploy`: `TrancheSale(config)` with the company's own address as the sale's admin, the platform's
   eligibility manager as operator, its distributor (card purchases) and its voucher signer;
3. `sale.grant_minter`: the token lets the sale mint what it sells;
4. `token.grant_distributor` then `token.distributor_ceiling`: the distributor may mint allocations and converted
   warrants, up to a ceiling (investor pool + allocations, fixed in the intent's params) only the admin can raise;
5. `token.handover_admin` then `token.renounce_admin`: the company's own address becomes the token's admin
   and the platform's deployer gives the role up, so the platform never holds it after launch.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from eth_utils.address import is_address, to_checksum_address

from companies.models import Company
from companies.permissions import company_editor_required
from compliance.audit import Actor
from compliance.services import audit_record
from tokens import rules
from tokens.choices import AllocationMode, DeployStatus, IntentState, PaymentAsset, SaleState, SignerRole
from tokens.intents import intent_enqueue, intent_rearm, intents_kick
from tokens.models import ChainIntent, Sale, Token
from tokens.projections import sale_standing

TOKEN_EDITABLE = {"name", "symbol", "decimals", "supply_cap", "admin_address", "lockup_end", "investor_pool"}
SALE_EDITABLE = {
    "name", "payment_asset", "payment_token_address", "payment_symbol", "payment_decimals", "price", "soft_cap",
    "hard_cap", "min_per_investor", "max_per_investor", "starts_at", "ends_at", "finalize_grace", "claim_period",
    "treasury_address", "allocation_mode", "shard_count", "eligibility_mode", "exemption", "jurisdictions",
    "accepts_card",
}
DEFAULT_FINALIZE_GRACE = timedelta(days=14)
DEFAULT_CLAIM_PERIOD = timedelta(days=180)
PRO_RATA_SHARDS = 16
# What a founder may ask of a deployed sale (each one outbox intent), and the state its event leaves the sale in.
SALE_ACTIONS = {"sale.finalize": SaleState.FINALIZED, "sale.pause": SaleState.PAUSED, "sale.unpause": SaleState.LIVE}


def require_editor(actor: Actor, company: Company) -> None:
    company_editor_required(user=actor.user, company=company,
                            refusal=_("Only the company's owners and admins can create and deploy its tokens."))


def checksum(value: str, field: str) -> str:
    if not is_address(value):
        raise ValidationError({field: _("“%(value)s” is not an Ethereum address.") % {"value": value}})
    return str(to_checksum_address(value))


def _refuse_unknown(fields: dict[str, Any], editable: set[str], message: str) -> None:
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(message % {"fields": ", ".join(sorted(unknown))})


# --- tokens ------------------------------------------------------------------------------------------------


def _token_save(token: Token) -> Token:
    token.admin_address = checksum(token.admin_address, "admin_address")
    token.symbol = token.symbol.strip().upper()
    if token.investor_pool > token.supply_cap:
        raise ValidationError({"investor_pool": _("The investor token pool is larger than the supply cap.")})
    token.full_clean()
    token.save()
    return token


@transaction.atomic
def token_create(*, actor: Actor, company: Company, **fields: Any) -> Token:
    require_editor(actor, company)
    _refuse_unknown(fields, TOKEN_EDITABLE, _("Unknown token fields: %(fields)s"))
    token = _token_save(Token(company=company, chain_id=settings.CHAIN_ID, created_by=actor.user, **fields))
    audit_record(actor=actor, action="tokens.token_create", target=token, company_id=company.pk,
                 changes={"symbol": token.symbol, "supply_cap": str(token.supply_cap)})
    return token


@transaction.atomic
def token_update(*, actor: Actor, token: Token, **fields: Any) -> Token:
    token = Token.objects.select_for_update().get(pk=token.pk)
    require_editor(actor, token.company)
    if token.deploy_status != DeployStatus.DRAFT:
        raise ValidationError(_("A deployed token cannot be changed."))
    _refuse_unknown(fields, TOKEN_EDITABLE, _("Unknown token fields: %(fields)s"))
    for name, value in fields.items():
        setattr(token, name, value)
    _token_save(token)
    audit_record(actor=actor, action="tokens.token_update", target=token, company_id=token.company_id,
                 changes={k: str(v) for k, v in fields.items()})
    return token


# --- sales -------------------------------------------------------------------------------------------------


def sale_terms(sale: Sale) -> rules.SaleTerms:
    return rules.SaleTerms(
        price=sale.price, soft_cap=sale.soft_cap, hard_cap=sale.hard_cap,
        min_per_investor=sale.min_per_investor, max_per_investor=sale.max_per_investor,
        starts_at=sale.starts_at, ends_at=sale.ends_at, claim_period=sale.claim_period,
        shard_count=sale.shard_count, pro_rata=sale.allocation_mode == AllocationMode.PRO_RATA,
        token_decimals=sale.token.decimals, token_supply_cap=sale.token.supply_cap,
        tokens_already_committed=sale.token.investor_pool,
    )


def _sale_check(sale: Sale, now: datetime) -> None:
    sale.treasury_address = checksum(sale.treasury_address, "treasury_address")
    if sale.payment_asset == PaymentAsset.ETH:
        sale.payment_token_address, sale.payment_symbol, sale.payment_decimals = "", "ETH", 18
    else:
        sale.payment_token_address = checksum(sale.payment_token_address, "payment_token_address")
        if sale.payment_decimals > 36:
            raise ValidationError({"payment_decimals": _("A stablecoin has at most 36 decimals.")})
    if sale.accepts_card and sale.payment_asset != PaymentAsset.ERC20:
        raise ValidationError({"accepts_card": _(
            "Card payments need a sale paid in a US dollar stablecoin: the platform buys with the dollars it "
            "received, and an ether price would need an exchange rate.")})
    if sale.allocation_mode == AllocationMode.FIRST_COME_FIRST_SERVED:
        sale.shard_count = 1
    elif sale.shard_count == 1:
        sale.shard_count = PRO_RATA_SHARDS
    problems = rules.sale_terms_problems(sale_terms(sale), now=now)
    if problems:
        raise ValidationError({field: _(message) for field, message in problems.items()})  # noqa: INT001
    sale.full_clean()


@transaction.atomic
def sale_create(*, actor: Actor, token: Token, **fields: Any) -> Sale:
    require_editor(actor, token.company)
    _refuse_unknown(fields, SALE_EDITABLE, _("Unknown sale fields: %(fields)s"))
    fields.setdefault("finalize_grace", DEFAULT_FINALIZE_GRACE)
    fields.setdefault("claim_period", DEFAULT_CLAIM_PERIOD)
    sale = Sale(token=token, created_by=actor.user, **fields)
    _sale_check(sale, timezone.now())
    sale.save()
    audit_record(actor=actor, action="tokens.sale_create", target=sale, company_id=token.company_id,
                 changes={"hard_cap": str(sale.hard_cap), "price": str(sale.price)})
    return sale


@transaction.atomic
def sale_update(*, actor: Actor, sale: Sale, **fields: Any) -> Sale:
    sale = Sale.objects.select_for_update().select_related("token").get(pk=sale.pk)
    require_editor(actor, sale.token.company)
    if sale.state != SaleState.DRAFT:
        raise ValidationError(_("Only a draft sale can be changed."))
    _refuse_unknown(fields, SALE_EDITABLE, _("Unknown sale fields: %(fields)s"))
    for name, value in fields.items():
        setattr(sale, name, value)
    _sale_check(sale, timezone.now())
    sale.save()
    audit_record(actor=actor, action="tokens.sale_update", target=sale, company_id=sale.token.company_id,
                 changes={k: str(v) for k, v in fields.items()})
    return sale


@transaction.atomic
def sale_deploy(*, actor: Actor, sale: Sale) -> Sale:
    """Ask for the sale's deployment (and its token's, the first time): the intents are written here, with the
    state change; the worker sends them. Deploying twice is refused; a retried request finds the intents."""
    sale = Sale.objects.select_for_update().select_related("token").get(pk=sale.pk)
    token = Token.objects.select_for_update().get(pk=sale.token_id)
    require_editor(actor, token.company)
    if sale.state != SaleState.DRAFT:
        raise ValidationError(_("This sale has already been deployed."))
    _sale_check(sale, timezone.now())
    chain_id = token.chain_id
    token_deployed: ChainIntent | None = None
    if token.deploy_status in (DeployStatus.DRAFT, DeployStatus.FAILED):
        token_deployed = intent_enqueue(chain_id=chain_id, purpose="token.deploy", obj=token,
                                        role=SignerRole.DEPLOYER)
        token.deploy_status = DeployStatus.DEPLOYING
        token.save(update_fields=["deploy_status"])
    elif token.deploy_status == DeployStatus.DEPLOYING:
        token_deployed = ChainIntent.objects.get(chain_id=chain_id, purpose="token.deploy",
                                                 object_key=f"token:{token.pk}")
    else:
        return _later_sale_deploy(actor, sale, token)
    sale_deployed = intent_enqueue(chain_id=chain_id, purpose="sale.deploy", obj=sale, role=SignerRole.DEPLOYER,
                                   depends_on=token_deployed)
    minter = intent_enqueue(chain_id=chain_id, purpose="sale.grant_minter", obj=sale, role=SignerRole.DEPLOYER,
                            depends_on=sale_deployed)
    distributor = intent_enqueue(chain_id=chain_id, purpose="token.grant_distributor", obj=token,
                                 role=SignerRole.DEPLOYER, depends_on=minter)
    allocated = token.allocations.aggregate(total=Sum("amount"))["total"] or 0
    ceiling = intent_enqueue(chain_id=chain_id, purpose="token.distributor_ceiling", obj=token,
                             role=SignerRole.DEPLOYER, depends_on=distributor,
                             params={"ceiling": str(int(token.investor_pool) + int(allocated))})
    handover = intent_enqueue(chain_id=chain_id, purpose="token.handover_admin", obj=token,
                              role=SignerRole.DEPLOYER, depends_on=ceiling)
    renounce = intent_enqueue(chain_id=chain_id, purpose="token.renounce_admin", obj=token,
                              role=SignerRole.DEPLOYER, depends_on=handover)
    # After a failed deployment (the founder saw the error, maybe changed the terms) the failed steps run again;
    # what was confirmed stays done, and older attempts stay as history.
    for intent in (token_deployed, sale_deployed, minter, distributor, ceiling, handover, renounce):
        intent_rearm(intent)
    sale.state = SaleState.DEPLOYING
    sale.save(update_fields=["state"])
    audit_record(actor=actor, action="tokens.sale_deploy", target=sale, company_id=token.company_id)
    intents_kick()
    return sale


def _later_sale_deploy(actor: Actor, sale: Sale, token: Token) -> Sale:
    """Another sale of a token already launched: the platform deploys the sale contract only. The token's admin is
    the company's own address, which alone can let the sale mint: the deployment page gives the company that
    transaction, and `sale_minter_granted` opens the sale once the chain shows the role."""
    sale_deployed = intent_enqueue(chain_id=token.chain_id, purpose="sale.deploy", obj=sale, role=SignerRole.DEPLOYER)
    intent_rearm(sale_deployed)
    sale.state = SaleState.DEPLOYING
    sale.minter_by_company = True
    sale.save(update_fields=["state", "minter_by_company"])
    audit_record(actor=actor, action="tokens.sale_deploy", target=sale, company_id=token.company_id,
                 changes={"minter": "granted by the company's address"})
    intents_kick()
    return sale


@transaction.atomic
def sale_minter_granted(*, sale: Sale, block: int) -> Sale:
    """The chain shows (at `block`) that the company granted a later sale its minter role: the sale opens, as a
    first sale does when its token launches (`sale_opened`)."""
    sale = _sale_locked(sale)
    if sale.state != SaleState.DEPLOYING or not sale.minter_by_company or not sale.address:
        return sale
    sale_opened(sale, timezone.now())
    audit_record(actor=Actor.system(), action="tokens.sale_minter_granted", target=sale,
                 company_id=sale.token.company_id, changes={"block": block, "state": sale.state})
    return sale


def sale_opened(sale: Sale, now: datetime) -> None:
    """A deployed sale that can mint opens: live, or scheduled until its start; the caller holds its lock. Every
    wallet compliance already approved becomes eligible, after commit (the refresh locks the sale and writes its
    own intents)."""
    from tokens.tasks import eligibility_refresh_sale

    sale.state = SaleState.LIVE if sale.starts_at <= now else SaleState.SCHEDULED
    sale.save(update_fields=["state"])
    transaction.on_commit(functools.partial(eligibility_refresh_sale.delay, sale.pk))


def sale_intents(sale: Sale) -> list[ChainIntent]:
    """The deployment's intents in the order they run, for the progress page (a later sale's is its own only: its
    token was deployed with an earlier one)."""
    keys = [f"sale:{sale.pk}"] if sale.minter_by_company else [f"sale:{sale.pk}", f"token:{sale.token_id}"]
    return list(ChainIntent.objects.filter(chain_id=sale.token.chain_id, object_key__in=keys).order_by("pk"))


# --- the sale's life after deployment ------------------------------------------------------------------------


def _sale_locked(sale: Sale) -> Sale:
    return Sale.objects.select_for_update().select_related("token").get(pk=sale.pk)


def sale_raised(sale: Sale) -> int:
    """What buyers paid in so far, from the purchases the scanner recorded (reorganised ones excluded)."""
    return sale_standing(sale)["raised"]


def _sold_out(sale: Sale, raised: int) -> bool:
    return sale.allocation_mode == AllocationMode.FIRST_COME_FIRST_SERVED and raised >= sale.hard_cap


def sale_finalize_refusal(sale: Sale, now: datetime | None = None, raised: int | None = None) -> str | None:
    """Why the sale cannot be finalized now, in the founder's words; None when it can. `raised` is the sale's
    `sale_raised`, when the caller has it already."""
    now = now or timezone.now()
    if sale.state not in (SaleState.LIVE, SaleState.SUCCEEDED) or not sale.address:
        return _("Only a deployed sale that has ended can be finalized.")
    raised = sale_raised(sale) if raised is None else raised
    if now < sale.ends_at and not _sold_out(sale, raised):
        return _("The sale is still running: finalize it after it ends or once it sells out.")
    if raised < sale.soft_cap:
        return _("The sale missed its soft cap: buyers get their money back instead.")
    return None


def sale_action_pending(sale: Sale) -> ChainIntent | None:
    """A finalize, pause or resume of the sale that is on its way to the chain: not failed, and not yet seen in
    the sale's state (the scanner may read its event a block before the outbox counts the confirmation)."""
    intent = (ChainIntent.objects.filter(chain_id=sale.chain_id, purpose__in=list(SALE_ACTIONS))
              .filter(Q(object_key=f"sale:{sale.pk}") | Q(object_key__startswith=f"sale:{sale.pk}:"))
              .exclude(state__in=[IntentState.CONFIRMED, IntentState.FAILED]).order_by("-pk").first())
    return None if intent is None or SALE_ACTIONS[intent.purpose] == sale.state else intent


@transaction.atomic
def sale_finalize(*, actor: Actor, sale: Sale) -> ChainIntent:
    """Close a successful sale on-chain (after its end, or once a first-come-first-served sale sold out): the
    contract fixes the total and mints the tokens sold; buyers claim them. The Finalized event moves the sale to
    finalized."""
    sale = _sale_locked(sale)
    require_editor(actor, sale.token.company)
    refusal = sale_finalize_refusal(sale)
    if refusal:
        raise ValidationError(refusal)
    intent = intent_enqueue(chain_id=sale.chain_id, purpose="sale.finalize", obj=sale, role=SignerRole.ELIGIBILITY)
    audit_record(actor=actor, action="tokens.sale_finalize", target=sale, company_id=sale.token.company_id)
    intents_kick()
    return intent


@transaction.atomic
def sale_pause(*, actor: Actor, sale: Sale, paused: bool) -> ChainIntent:
    """Stop (or resume) purchases; claims and refunds are never paused. The Paused/Unpaused event moves the
    state; each request is its own intent, numbered, so pausing twice in a sale's life is two transactions."""
    sale = _sale_locked(sale)
    require_editor(actor, sale.token.company)
    if paused and sale.state != SaleState.LIVE:
        raise ValidationError(_("Only a live sale can be paused."))
    if not paused and sale.state != SaleState.PAUSED:
        raise ValidationError(_("The sale is not paused."))
    purpose = "sale.pause" if paused else "sale.unpause"
    earlier = ChainIntent.objects.filter(chain_id=sale.chain_id, purpose__in=["sale.pause", "sale.unpause"],
                                         object_key__startswith=f"sale:{sale.pk}:")
    if earlier.exclude(state__in=[IntentState.CONFIRMED, IntentState.FAILED]).exists():
        raise ValidationError(_("A pause or resume of this sale is already on its way to the chain."))
    count = earlier.filter(purpose=purpose).count()
    intent = intent_enqueue(chain_id=sale.chain_id, purpose=purpose, obj=f"sale:{sale.pk}:{count + 1}",
                            role=SignerRole.ELIGIBILITY)
    audit_record(actor=actor, action=f"tokens.{purpose.replace('.', '_')}", target=sale,
                 company_id=sale.token.company_id)
    intents_kick()
    return intent


@transaction.atomic
def sales_advance(*, now: datetime | None = None) -> int:
    """Move deployed sales along the clock: scheduled → live at the start; live → succeeded or failed at the end
    (or succeeded once a first-come-first-served sale sold out). A failed sale is put into refund mode on-chain
    (anyone may; the platform does it at once so buyers need not wait for the grace period). Beat runs this."""
    now = now or timezone.now()
    moved = 0
    for sale in Sale.objects.select_for_update().select_related("token").filter(
        state__in=[SaleState.SCHEDULED, SaleState.LIVE, SaleState.PAUSED]
    ).order_by("pk"):
        state = sale.state
        if state == SaleState.SCHEDULED and now >= sale.starts_at:
            state = SaleState.LIVE
        # Only an ended sale, or a first-come-first-served one (which may have sold out), needs its total.
        ended = now >= sale.ends_at
        if state in (SaleState.LIVE, SaleState.PAUSED) and (
                ended or sale.allocation_mode == AllocationMode.FIRST_COME_FIRST_SERVED):
            raised = sale_raised(sale)
            if ended or _sold_out(sale, raised):
                state = SaleState.SUCCEEDED if raised >= sale.soft_cap else SaleState.FAILED
        if state == sale.state:
            continue
        sale.state = state
        sale.save(update_fields=["state"])
        if state == SaleState.FAILED:
            intent_enqueue(chain_id=sale.chain_id, purpose="sale.enter_refund_mode", obj=sale,
                           role=SignerRole.ELIGIBILITY)
            intents_kick()
        audit_record(actor=Actor.system(), action="tokens.sale_advance", target=sale,
                     company_id=sale.token.company_id, changes={"state": state})
        moved += 1
    return moved
