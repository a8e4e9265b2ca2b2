"""Token warrants: issued by the founder (alone, or attached to a SAFE or priced investment), converted into
investor allocations when the company's token is live, and claimed by each holder with a verified wallet.

Conversion reads the equity cap table engine on the day it runs (`equity.selectors.cap_table`), so a pro-rata
warrant's tokens are the holder's fully diluted ownership of that day times the token's investor pool, rounded
down (`tokens.hybrid`). Claiming writes one outbox intent, `allocation.distribute` (the token's `distribute(wallet,
amount)` signed by the platform's distributor key); the allocation is delivered when it confirms.

A priced warrant converts the same way into an allocation awaiting payment: its exercise price is the tokens times
the price per whole token, rounded up to the cent (`exercise_price`), and the holder pays it by card
(`payments.warrant_exercises`) before the tokens can be claimed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Wallet
from accounts.templatetags.ui import money
from companies.models import Company
from compliance.audit import Actor
from compliance.services import audit_record
from equity import selectors as equity_selectors
from equity.choices import InvestmentState, RoundKind
from equity.models import Investment, Stakeholder
from tokens import hybrid
from tokens.choices import (
    AllocationKind,
    AllocationState,
    DeployStatus,
    SignerRole,
    WarrantKind,
    WarrantState,
)
from tokens.intents import intent_enqueue, intents_kick
from tokens.models import ChainIntent, Token, TokenAllocation, TokenWarrant
from tokens.services import require_editor

DISTRIBUTE = "allocation.distribute"
# What the distributor has minted or been asked to mint: every allocation past planning, not cancelled.
DISTRIBUTING_STATES = [AllocationState.DEPLOYING, AllocationState.VESTING, AllocationState.DELIVERED]


# --- issue ---------------------------------------------------------------------------------------------------


@transaction.atomic
def warrant_issue(
    *, actor: Actor, company: Company, stakeholder: Stakeholder, investment: Investment | None = None, kind: str,
    token_amount: int | None = None, price_per_token: Decimal | None = None,
) -> TokenWarrant:
    """A right to tokens for `stakeholder`: `token_amount` base units (fixed), or their pro-rata share of the
    investor pool at launch; free unless `price_per_token` is given. Attached to `investment` when it is one."""
    require_editor(actor, company)
    if stakeholder.company_id != company.pk:
        raise ValidationError({"stakeholder": _("This stakeholder is not on the company's cap table.")})
    currency = "USD"
    if investment is not None:
        investment = Investment.objects.select_related("round").get(pk=investment.pk)
        if investment.round.company_id != company.pk:
            raise ValidationError({"investment": _("This investment is not in one of the company's rounds.")})
        if investment.stakeholder_id != stakeholder.pk:
            raise ValidationError({"investment": _("A warrant attached to an investment goes to its investor.")})
        if investment.round.kind not in (RoundKind.SAFE, RoundKind.PRICED):
            raise ValidationError({"investment": _("A token warrant attaches to a SAFE or a priced investment.")})
        if investment.state not in InvestmentState.counting():
            raise ValidationError({"investment": _("This investment was cancelled, refunded or reversed.")})
        currency = investment.currency
    if kind == WarrantKind.FIXED:
        if not isinstance(token_amount, int) or isinstance(token_amount, bool) or token_amount <= 0:
            raise ValidationError({"token_amount": _("A fixed warrant needs a number of tokens above zero.")})
    elif kind == WarrantKind.PRO_RATA:
        if token_amount is not None:
            raise ValidationError({"token_amount": _(
                "A pro-rata warrant's tokens come from the investor pool at launch: leave the number empty.")})
        # Locked so that two requests cannot both see no pro-rata warrant and both issue one.
        Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
        if TokenWarrant.objects.filter(stakeholder=stakeholder, kind=WarrantKind.PRO_RATA,
                                       state=WarrantState.OUTSTANDING).exists():
            raise ValidationError({"kind": _(
                "%(name)s already holds a pro-rata token warrant: a second would count the same ownership twice.")
                % {"name": stakeholder.name}})
    else:
        raise ValidationError({"kind": _("Choose a fixed number of tokens or a pro-rata share of the pool.")})
    if price_per_token is not None and price_per_token < 0:
        raise ValidationError({"price_per_token": _("A price cannot be negative.")})
    security = investment.security.security_ref if investment is not None and investment.security else ""
    warrant = TokenWarrant(company=company, stakeholder=stakeholder, investment=investment, security_ref=security,
                           kind=kind, token_amount=token_amount, price_per_token=price_per_token, currency=currency,
                           created_by=actor.user)
    warrant.full_clean()
    warrant.save()
    audit_record(actor=actor, action="tokens.warrant_issue", target=warrant, company_id=company.pk, changes={
        "stakeholder": stakeholder.name, "kind": kind, "token_amount": str(token_amount) if token_amount else None,
        "price_per_token": str(price_per_token) if price_per_token is not None else None,
        "investment": investment.pk if investment else None})
    return warrant


# --- what converting would give --------------------------------------------------------------------------------


def _terms(warrant: TokenWarrant) -> hybrid.WarrantTerms:
    return hybrid.WarrantTerms(
        key=str(warrant.pk), holder=warrant.stakeholder.name, kind=hybrid.WarrantType(warrant.kind),
        token_amount=int(warrant.token_amount) if warrant.token_amount is not None else None)


def warrant_tokens_now(*, company: Company, pool: int, warrants: list[TokenWarrant] | None = None,
                       as_of: Any = None) -> dict[int, int]:
    """Warrant id → tokens, were the outstanding warrants to convert on `as_of` (today) with this pool."""
    if warrants is None:
        warrants = list(TokenWarrant.objects.filter(company=company, state=WarrantState.OUTSTANDING)
                        .select_related("stakeholder").order_by("pk"))
    if not warrants:
        return {}
    table = equity_selectors.cap_table(company=company, as_of=as_of or timezone.localdate())
    ownership = {row.key: row.fully_diluted_ownership for row in table.by_stakeholder}
    tokens = hybrid.warrant_tokens([_terms(w) for w in warrants], ownership, pool)
    return {int(key): amount for key, amount in tokens.items()}


def company_token(company: Company) -> Token | None:
    """The company's launched token (the first deployed one), which warrants convert into."""
    return (Token.objects.filter(company=company, deploy_status=DeployStatus.DEPLOYED).order_by("pk").first()
            or Token.objects.filter(company=company).order_by("pk").first())


# --- convert -----------------------------------------------------------------------------------------------------


@dataclass
class WarrantConversion:
    allocations: list[TokenAllocation] = field(default_factory=list)
    nothing: list[TokenWarrant] = field(default_factory=list)  # pro-rata of a holder who owns nothing: 0 tokens

    @property
    def waiting(self) -> list[TokenWarrant]:
        """The priced warrants whose allocations wait for their holders' payment."""
        return [a.warrant for a in self.allocations if a.state == AllocationState.UNPAID and a.warrant is not None]


def exercise_price(*, tokens: int, decimals: int, price_per_token: Decimal | None) -> Decimal | None:
    """What `tokens` base units cost at `price_per_token` a whole token, rounded up to the cent so that the company
    never receives less than its stated price; None when the warrant is free."""
    if not price_per_token:
        return None
    cents = math.ceil(Fraction(tokens) * Fraction(price_per_token) * 100 / 10**decimals)
    return Decimal(f"{cents}e-2")  # from the digits: exact however many (a context would round past 28)


def warrants_convert(*, actor: Actor, token: Token) -> WarrantConversion:
    """The founder converts what is outstanding (a warrant issued after launch, say); see `_convert`."""
    require_editor(actor, token.company)
    return _convert(actor=actor, token_id=token.pk)


def warrants_convert_at_launch(token_id: int) -> WarrantConversion:
    """The token's launch converts its company's outstanding warrants (queued by the launch's last step)."""
    return _convert(actor=Actor.system(), token_id=token_id)


@transaction.atomic
def _convert(*, actor: Actor, token_id: int) -> WarrantConversion:
    """At launch: every outstanding warrant of the token's company becomes an investor allocation, claimable when
    free, awaiting its exercise price when priced. Converting twice converts nothing more."""
    token = Token.objects.select_for_update().select_related("company").get(pk=token_id)
    if token.deploy_status != DeployStatus.DEPLOYED or not token.address:
        raise ValidationError(_("Token warrants convert at launch: deploy the token first."))
    warrants = list(TokenWarrant.objects.select_for_update().filter(company=token.company,
                                                                    state=WarrantState.OUTSTANDING)
                    .select_related("stakeholder").order_by("pk"))
    result = WarrantConversion()
    tokens = warrant_tokens_now(company=token.company, pool=int(token.investor_pool), warrants=warrants)
    now = timezone.now()
    for warrant in warrants:
        amount = tokens[warrant.pk]
        warrant.state, warrant.converted_at = WarrantState.CONVERTED, now
        warrant.save(update_fields=["state", "converted_at"])
        if amount == 0:
            result.nothing.append(warrant)
            continue
        price = exercise_price(tokens=amount, decimals=token.decimals, price_per_token=warrant.price_per_token)
        allocation = TokenAllocation(
            token=token, kind=AllocationKind.INVESTOR, label=_("Token warrant of %(name)s") % {
                "name": warrant.stakeholder.name},
            stakeholder=warrant.stakeholder, user=warrant.stakeholder.user, amount=amount, warrant=warrant,
            exercise_price=price, state=AllocationState.CLAIMABLE if price is None else AllocationState.UNPAID)
        allocation.full_clean()
        allocation.save()
        result.allocations.append(allocation)
    audit_record(actor=actor, action="tokens.warrants_convert", target=token, company_id=token.company_id, changes={
        "converted": {str(a.warrant_id): str(a.amount) for a in result.allocations},
        "to_nothing": [w.pk for w in result.nothing], "waiting_for_payment": {
            str(a.warrant_id): str(a.exercise_price) for a in result.allocations if a.exercise_price is not None},
        "investor_pool": str(token.investor_pool)})
    return result


# --- claim ---------------------------------------------------------------------------------------------------------


def distributor_minted_or_asked(token: Token) -> int:
    """What the platform's distributor has minted, or been asked to, for this token (allocations only)."""
    total = TokenAllocation.objects.filter(token=token, state__in=DISTRIBUTING_STATES).aggregate(n=Sum("amount"))["n"]
    return int(total or 0)


def distributor_ceiling(token: Token) -> int:
    """The distributor's ceiling on the token: as recorded when it was set on-chain, else what deployment sets
    it to (the investor pool plus every allocation, as `tokens.chain.builders.distributor_ceiling`)."""
    if token.distributor_ceiling:
        return int(token.distributor_ceiling)
    allocated = TokenAllocation.objects.filter(token=token).aggregate(n=Sum("amount"))["n"] or 0
    return int(token.investor_pool) + int(allocated)


def check_within_ceiling(token: Token, amount: int) -> None:
    """The token refuses the distributor more than its ceiling; refuse here first, in words, rather than send a
    transaction that reverts."""
    ceiling = distributor_ceiling(token)
    already = distributor_minted_or_asked(token)
    if already + amount > ceiling:
        raise ValidationError(_(
            "The token lets the platform distribute %(ceiling)s base units and %(already)s are taken: %(amount)s "
            "more do not fit. The company's admin address must raise the distributor ceiling first.") % {
            "ceiling": f"{ceiling:,}", "already": f"{already:,}", "amount": f"{amount:,}"})


def allocation_holder_id(allocation: TokenAllocation) -> int | None:
    """The user who holds a converted warrant's tokens: the allocation's, else its stakeholder's."""
    return allocation.user_id or (allocation.stakeholder.user_id if allocation.stakeholder else None)


def holder_is(user: Any) -> Q:
    """The allocations `user` holds, as `allocation_holder_id` says: theirs, or their stakeholder's when the
    allocation names no user."""
    return Q(user=user) | Q(user__isnull=True, stakeholder__user=user)


@transaction.atomic
def allocation_claim(*, actor: Actor, allocation: TokenAllocation, wallet: Wallet) -> TokenAllocation:
    """The holder claims a converted warrant's tokens into one of their verified wallets."""
    # The token first, as conversion and deployment lock it: its row serialises every claim against the ceiling.
    token = Token.objects.select_for_update().get(pk=allocation.token_id)
    allocation = TokenAllocation.objects.select_for_update(of=("self",)).select_related("stakeholder", "warrant").get(
        pk=allocation.pk)
    if actor.user is None or allocation_holder_id(allocation) != actor.user.pk:
        raise PermissionDenied(_("Only the holder of these tokens can claim them."))
    if allocation.exercise_price is not None and not allocation.exercise_payment_key:
        raise ValidationError(_("Pay the exercise price (%(price)s) first.") % {
            "price": money(allocation.exercise_price, allocation.exercise_currency)})
    if allocation.state != AllocationState.CLAIMABLE:
        raise ValidationError(_("These tokens are not waiting to be claimed (%(state)s).") % {
            "state": allocation.get_state_display()})
    wallet = Wallet.objects.filter(pk=wallet.pk).first() or wallet
    if wallet.user_id != actor.user.pk or wallet.removed_at is not None:
        raise ValidationError({"wallet": _("Claim with one of your own verified wallets.")})
    if wallet.chain_id != token.chain_id:
        raise ValidationError({"wallet": _("This wallet was verified on another chain than the token's.")})
    if token.deploy_status != DeployStatus.DEPLOYED or not token.address:
        raise ValidationError(_("The token is not live yet."))
    check_within_ceiling(token, int(allocation.amount))
    allocation.beneficiary_address = wallet.address
    allocation.state = AllocationState.DEPLOYING
    allocation.save(update_fields=["beneficiary_address", "state"])
    # Numbered: a distribution that failed on-chain leaves the allocation claimable, and the next claim is a new
    # intent rather than the failed one found again.
    attempt = ChainIntent.objects.filter(chain_id=token.chain_id, purpose=DISTRIBUTE,
                                         object_key__startswith=f"tokenallocation:{allocation.pk}:").count() + 1
    intent_enqueue(chain_id=token.chain_id, purpose=DISTRIBUTE, obj=f"tokenallocation:{allocation.pk}:{attempt}",
                   role=SignerRole.DISTRIBUTOR, params={"to": wallet.address, "amount": str(allocation.amount)})
    audit_record(actor=actor, action="tokens.allocation_claim", target=allocation, company_id=token.company_id,
                 changes={"wallet": wallet.address, "amount": str(allocation.amount)})
    intents_kick()
    return allocation


def allocation_delivered(allocation_id: int) -> None:
    """The distribute transaction confirmed: the tokens are in the holder's wallet (idempotent)."""
    TokenAllocation.objects.filter(pk=allocation_id, state=AllocationState.DEPLOYING).update(
        state=AllocationState.DELIVERED)


def allocation_distribution_failed(allocation_id: int) -> None:
    """The distribute transaction failed for good: the tokens are claimable again (another wallet, or after the
    company raised the ceiling), or wait for a payment again when the one a priced warrant's tokens stood on was
    disputed meanwhile."""
    failed = TokenAllocation.objects.filter(pk=allocation_id, state=AllocationState.DEPLOYING,
                                            kind=AllocationKind.INVESTOR)
    failed.filter(paid_for()).update(state=AllocationState.CLAIMABLE, beneficiary_address="")
    failed.exclude(paid_for()).update(state=AllocationState.UNPAID, beneficiary_address="")


def paid_for() -> Q:
    """Allocations whose tokens are the holder's to claim: free ones, and priced ones a payment stands for."""
    return Q(exercise_price__isnull=True) | ~Q(exercise_payment_key="")
