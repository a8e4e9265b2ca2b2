"""Investing in a round on the platform: commitments, payments, refunds, disputes, escrow and the close.

Money rules, each held by a lock, a unique key or a database constraint rather than by care:
- A commitment takes the investor's row lock, then the company's, then the round's (always in that order), so
  two commitments can never together pass the round's maximum, the issuer's 12-month Regulation Crowdfunding
  maximum, or one investor's limit.
- Everything the provider tells us (a webhook, the answer to a confirmation, reconciliation) goes through one
  function, `payment_apply`, under the payment's row lock; it moves a payment only forward, so a replayed or
  out-of-order event changes nothing twice.
- A payment that succeeds is held in escrow once (`EscrowEntry` is unique per payment and kind); if its
  commitment is no longer live by then (cancelled, or the round closed), the money goes straight back.
- A refund is one row per payment (a unique constraint), sent to the provider with the row's key as the
  idempotency key: asking twice refunds once.
- Calls to the provider happen after the database transaction commits (`..._outside_transaction`), never
  inside it; the row that wants the call is written first, so a worker that dies in between loses nothing:
  reconciliation finds the payment at the provider by its key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from companies.models import Company
from compliance import eligibility
from compliance.audit import Actor
from compliance.models import InvestmentRecord, KycApplication
from compliance.selectors import investment_limit_for
from compliance.services import audit_record
from equity import services as equity_services
from equity.choices import InvestmentSource, InvestmentState, RoundState
from equity.models import Investment, Round, Stakeholder
from payments import rules, token_orders, warrant_exercises
from payments.choices import (
    FLOW_REFUND_EXCLUDED,
    DocumentKind,
    EscrowEntryKind,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)
from payments.models import (
    Commitment,
    Dispute,
    Document,
    EscrowEntry,
    IssuerAccount,
    Payment,
    Refund,
    TokenOrder,
    WebhookEvent,
)
from payments.providers.base import (
    DisputeData,
    EscrowAgent,
    PaymentData,
    PaymentProvider,
    ProviderError,
    RefundData,
)
from tokens.models import TokenAllocation

DISPUTE_WON = "won"  # the provider's dispute status once the money is back with the platform
# The statuses of a dispute whose money the provider has taken (Stripe's; the sandbox speaks the same). An inquiry
# (`warning_needs_response`, `warning_under_review`, `warning_closed`) takes nothing until it is escalated.
DISPUTE_TAKEN = frozenset({"needs_response", "under_review", "lost"})
INQUIRY_PREFIX = "warning_"
# Still open: the issuer has not decided (the provider refuses refunds of the charge meanwhile).
DISPUTE_OPEN = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review"})
INQUIRY_CLOSED = "warning_closed"
# Where each status stands in a dispute's life: webhooks arrive in any order, and a status never moves back. Closed
# without taking the money: `warning_closed` (an inquiry answered) and `prevented` (settled before it became one).
_DISPUTE_STAGES = {"warning_needs_response": 1, "warning_under_review": 2, INQUIRY_CLOSED: 3, "needs_response": 3,
                   "under_review": 4, DISPUTE_WON: 5, "lost": 5, "prevented": 5}
LIVE = (InvestmentState.PENDING_PAYMENT, InvestmentState.PROCESSING, InvestmentState.FUNDED)


# --- reading the rules -----------------------------------------------------------------------------------------


def round_deadline(round: Round) -> datetime | None:
    return rules.deadline_of(round.closes_on) if round.closes_on else None


def cancellation_cutoff(round: Round) -> datetime | None:
    """Until when an investor may cancel; None when any time before the close."""
    deadline = round_deadline(round)
    if deadline is None or round.exemption != eligibility.REG_CF:
        return None
    return rules.cancellation_cutoff(deadline, settings.REG_CF_CANCEL_CUTOFF)


def escrow_account(round: Round) -> str:
    return f"round-{round.pk}"


def investor_profile(user: User) -> eligibility.Investor:
    """The investor as the eligibility rules see them, from the approved KYC application."""
    application = KycApplication.objects.filter(user=user).first()
    if application is None:
        return eligibility.Investor(approved=False, approval_expires_at=None, country_of_residence="", us_person=False)
    country = str(application.country_of_residence or "")
    region = application.region.strip().upper()
    return eligibility.Investor(
        approved=application.is_approved, approval_expires_at=application.approval_expires_at,
        country_of_residence=country, us_person=country == "US" or str(application.tax_residency or "") == "US",
        accreditation=application.accreditation, us_state=region if country == "US" and len(region) == 2 else "")


def round_offering(round: Round) -> eligibility.Offering:
    return eligibility.Offering(exemption=round.exemption, open_to=frozenset(round.jurisdictions))


@dataclass(frozen=True)
class InvestorStanding:
    """What the checkout shows an investor before they commit."""

    eligibility: eligibility.Eligibility
    limit_remaining: Decimal | None  # None: no Regulation Crowdfunding limit applies (accredited, or not Reg CF)
    round_left: Decimal
    minimum_ticket: Decimal

    @property
    def most(self) -> Decimal:
        return self.round_left if self.limit_remaining is None else min(self.round_left, self.limit_remaining)


def investor_standing(*, user: User, round: Round, amount: Decimal | None = None,
                      now: datetime | None = None) -> InvestorStanding:
    from equity.selectors import round_raised

    now = now or timezone.now()
    limit = investment_limit_for(user=user, now=now) if round.exemption == eligibility.REG_CF else None
    decision = eligibility.offering_eligibility(
        investor=investor_profile(user), offering=round_offering(round), now=now, limit=limit, amount=amount)
    return InvestorStanding(
        eligibility=decision, limit_remaining=limit.remaining if limit is not None else None,
        round_left=max(round.maximum_amount - round_raised(round=round), Decimal(0)),
        minimum_ticket=round.minimum_ticket)


def issuer_reg_cf_raised(*, company: Company, now: datetime) -> Decimal:
    """What the company has sold under Regulation Crowdfunding in the 12 months before `now` (227.100(a)(1)):
    every live or accepted commitment or recorded investment in its Reg CF rounds."""
    from compliance.limits import twelve_months_before

    total = Investment.objects.filter(
        round__company=company, round__exemption=eligibility.REG_CF, state__in=InvestmentState.counting(),
        created_at__gte=twelve_months_before(now)).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


# --- committing ------------------------------------------------------------------------------------------------


def _stakeholder_for(user: User, company: Company) -> Stakeholder:
    """The investor's stakeholder record in the company, created the first time (the investor's row lock is
    held, so two commitments cannot create two). A namesake already on the cap table is not assumed to be the
    same person: the new record carries the e-mail in its name."""
    existing = Stakeholder.objects.filter(company=company, user=user).order_by("pk").first()
    if existing is not None:
        return existing
    application = KycApplication.objects.filter(user=user).first()
    name = (application.legal_name if application and application.legal_name else user.get_full_name()) or user.email
    if Stakeholder.objects.filter(company=company, name__iexact=name).exists():
        name = f"{name} ({user.email})"
    return Stakeholder.objects.create(company=company, name=name, email=user.email, user=user)


# The smallest charge Stripe makes in US dollars, by card and by bank debit alike: below it the charge is refused.
SMALLEST_CHARGE = Decimal("0.50")


def dollars_and_cents_required(amount: Decimal | None) -> None:
    """What an investor pays, by card or bank: in whole cents, and at least the smallest charge the provider makes."""
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"amount": _("Enter an amount in dollars and cents, above zero.")})
    if amount < SMALLEST_CHARGE:
        raise ValidationError({"amount": _("Card and bank payments start at %(least)s.")
                               % {"least": f"${SMALLEST_CHARGE:,.2f}"}})


@transaction.atomic
def investment_commit(
    *, actor: Actor, round: Round, amount: Decimal, method: str, provider: PaymentProvider,
    now: datetime | None = None,
) -> Commitment:
    """An investor commits `amount` to an open round. Writes the investment (pending payment), the Regulation
    Crowdfunding ledger row and the payment to collect; the provider is asked for the payment only once this
    commits (`payment_create_outside_transaction`)."""
    user = actor.user
    if user is None:
        raise PermissionDenied(_("Sign in to invest."))
    now = now or timezone.now()
    User.objects.select_for_update().filter(pk=user.pk).get()
    Company.objects.select_for_update().filter(pk=round.company_id).get()
    round = Round.objects.select_for_update().select_related("company").get(pk=round.pk)
    if round.state != RoundState.OPEN:
        raise ValidationError(_("This round is not taking commitments; it is %(state)s.")
                              % {"state": round.get_state_display().lower()})
    deadline = round_deadline(round)
    if deadline is not None and now >= deadline:
        raise ValidationError(_("This round's deadline has passed."))
    dollars_and_cents_required(amount)
    if amount < round.minimum_ticket:
        raise ValidationError({"amount": _("The minimum investment is %(min)s.")
                               % {"min": f"${round.minimum_ticket:,.2f}"}})
    standing = investor_standing(user=user, round=round, amount=amount, now=now)
    if amount > standing.round_left:
        raise ValidationError({"amount": _("The round has %(left)s left of its %(max)s maximum.")
                               % {"left": f"${standing.round_left:,.2f}", "max": f"${round.maximum_amount:,.2f}"}})
    if not standing.eligibility:
        raise ValidationError({"amount" if standing.eligibility.code.startswith("reg_cf") else "__all__":
                               _(standing.eligibility.message)})
    if round.exemption == eligibility.REG_CF:
        sold = issuer_reg_cf_raised(company=round.company, now=now)
        if sold + amount > settings.REG_CF_ISSUER_12M_MAXIMUM:
            raise ValidationError({"amount": _(
                "The company may raise at most %(max)s under Regulation Crowdfunding in 12 months; %(left)s is left.")
                % {"max": f"${settings.REG_CF_ISSUER_12M_MAXIMUM:,.0f}",
                   "left": f"${max(settings.REG_CF_ISSUER_12M_MAXIMUM - sold, Decimal(0)):,.2f}"}})
    from payments.choices import PaymentMethod

    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Choose card or US bank account.")})
    investment = Investment.objects.create(
        round=round, stakeholder=_stakeholder_for(user, round.company), investor=user, amount=amount,
        currency=round.currency, source=InvestmentSource.PLATFORM, state=InvestmentState.PENDING_PAYMENT,
        created_by=user)
    record = InvestmentRecord.objects.create(user=user, amount=amount, currency=round.currency,
                                             exemption=round.exemption, offering=f"round:{round.pk}", occurred_at=now)
    commitment = Commitment.objects.create(investment=investment, investor=user, method=method, ledger_record=record)
    Payment.objects.create(commitment=commitment, key=f"pay_{uuid.uuid4().hex}", provider=provider.name,
                           method=method, amount=amount, currency=round.currency)
    audit_record(actor=actor, action="payments.commit", target=commitment, company_id=round.company_id,
                 changes={"round": round.name, "amount": str(amount), "method": method})
    return commitment


def payment_create_outside_transaction(*, payment: Payment, provider: PaymentProvider) -> Payment:
    """Ask the provider for the payment our row describes. Idempotent (the row's key is the provider's
    idempotency key), so calling it again after any failure is safe."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_create_outside_transaction must not run inside a database transaction")
    if payment.provider_id:
        return payment
    if payment.token_order_id is not None:
        metadata, description, group = token_orders.token_payment_metadata(payment)
    elif payment.allocation_id is not None:
        metadata, description, group = warrant_exercises.exercise_payment_metadata(payment)
    else:
        round = payment.for_commitment.investment.round
        metadata = {"payment": payment.key, "commitment": str(payment.commitment_id), "round": str(round.pk)}
        description, group = f"{round.company.legal_name}: {round.name}", escrow_account(round)
    data = provider.payment_create(
        amount=payment.amount, currency=payment.currency, method=payment.method, idempotency_key=payment.key,
        metadata=metadata, description=description, transfer_group=group)
    payment_apply(data=data, provider=provider)
    payment.refresh_from_db()
    return payment


@transaction.atomic
def commitment_sign(*, actor: Actor, commitment: Commitment, signed_name: str, agreement_pdf: bytes,
                    now: datetime | None = None) -> Commitment:
    """The investor signs the subscription agreement by typing their name; the sha256 of the agreement they
    were shown is kept with the name, the time and their address."""
    commitment = Commitment.objects.select_for_update().select_related("investment").get(pk=commitment.pk)
    if actor.user is None or commitment.investor_id != actor.user.pk:
        raise PermissionDenied(_("Only the investor can sign this agreement."))
    if commitment.signed_at is not None:
        return commitment
    if commitment.investment.state != InvestmentState.PENDING_PAYMENT:
        raise ValidationError(_("This commitment can no longer be signed."))
    name = " ".join(signed_name.split())
    if len(name) < 2:
        raise ValidationError({"signed_name": _("Type your full legal name to sign.")})
    commitment.signed_name = name
    commitment.signed_at = now or timezone.now()
    commitment.signed_ip = actor.ip_address
    commitment.agreement_sha256 = hashlib.sha256(agreement_pdf).hexdigest()
    commitment.save(update_fields=["signed_name", "signed_at", "signed_ip", "agreement_sha256"])
    document_signed_agreement_create(commitment=commitment)
    audit_record(actor=actor, action="payments.agreement_sign", target=commitment,
                 company_id=commitment.investment.round.company_id,
                 changes={"sha256": commitment.agreement_sha256, "signed_name": name})
    return commitment


# --- what the provider tells us ---------------------------------------------------------------------------------


def _payment_found(data: PaymentData, provider: PaymentProvider) -> Payment | None:
    return (Payment.objects.filter(provider=provider.name, provider_id=data.provider_id).first()
            or Payment.objects.filter(provider=provider.name, key=data.metadata.get("payment", "") or "-").first())


def _payment_locked(found: Payment) -> tuple[Payment, Investment]:
    """The payment and its investment, locked investment first (the order every service here takes: investment,
    then payment)."""
    investment = Investment.objects.select_for_update().get(commitment__pk=found.commitment_pk)
    return Payment.objects.select_for_update().get(pk=found.pk), investment


def _reverse_ledger(commitment: Commitment, now: datetime) -> None:
    """Take the commitment out of the investor's Regulation Crowdfunding ledger (once)."""
    record = commitment.ledger_record
    if not InvestmentRecord.objects.filter(reverses=record).exists():
        InvestmentRecord.objects.create(user=record.user, amount=-record.amount, currency=record.currency,
                                        exemption=record.exemption, offering=record.offering, occurred_at=now,
                                        reverses=record)


def _set_state(investment: Investment, state: str) -> None:
    investment.state = state
    investment.save(update_fields=["state", "updated_at"])


def _flag(commitment: Commitment, reason: str, now: datetime) -> None:
    commitment.flagged_at = now
    commitment.flag_reason = reason[:200]
    commitment.save(update_fields=["flagged_at", "flag_reason"])


@transaction.atomic
def payment_apply(*, data: PaymentData, provider: PaymentProvider, now: datetime | None = None) -> Payment | None:
    """Bring our payment and its commitment up to what the provider says. Moves only forward: a succeeded
    payment stays succeeded, a bank debit that failed stays failed; a declined card may be tried again."""
    now = now or timezone.now()
    found = _payment_found(data, provider)
    if found is None:
        return None  # not ours (another platform on the same account) or not written yet
    if found.token_order_id is not None:
        payment, order = token_orders.payment_locked(found)
        _provider_id_keep(payment, data)
        return token_orders.payment_applied(payment=payment, order=order, data=data, provider=provider, now=now)
    if found.allocation_id is not None:
        payment, allocation = warrant_exercises.payment_locked(found)
        _provider_id_keep(payment, data)
        return warrant_exercises.payment_applied(payment=payment, allocation=allocation, data=data, provider=provider,
                                                 now=now)
    payment, investment = _payment_locked(found)
    _provider_id_keep(payment, data)
    commitment = Commitment.objects.select_related("investment__round", "ledger_record").get(pk=payment.commitment_pk)
    current, new = payment.move_forward(data, now), data.status
    if current is None:
        return payment
    round = commitment.investment.round
    if new == PaymentStatus.PROCESSING and investment.state == InvestmentState.PENDING_PAYMENT:
        _set_state(investment, InvestmentState.PROCESSING)
    elif new == PaymentStatus.SUCCEEDED:
        EscrowEntry.objects.create(round=round, payment=payment, kind=EscrowEntryKind.HOLD, amount=payment.amount,
                                   currency=payment.currency, provider_ref=payment.provider_id or "")
        queue_after_commit("escrow_hold", payment.pk)
        if investment.state in (InvestmentState.PENDING_PAYMENT, InvestmentState.PROCESSING):
            _set_state(investment, InvestmentState.FUNDED)
            queue_after_commit("document_receipt_generate", payment.pk)
        else:
            # Paid after the commitment stopped being live (cancelled, or the round closed or failed): the money
            # is not the issuer's, so it goes straight back.
            reason = RefundReason.CANCELLED if investment.state == InvestmentState.CANCELLED else RefundReason.NOT_ACCEPTED
            refund_request(payment=payment, reason=reason)
    elif new == PaymentStatus.FAILED and current == PaymentStatus.PROCESSING:
        # A bank debit that did not go through: the commitment is reversed and compliance hears of it.
        if investment.state in LIVE:
            _set_state(investment, InvestmentState.REVERSED)
            _reverse_ledger(commitment, now)
        _flag(commitment, f"Bank debit failed: {data.failure_code or 'unknown reason'}", now)
    elif new == PaymentStatus.CANCELED and investment.state == InvestmentState.PENDING_PAYMENT:
        _set_state(investment, InvestmentState.CANCELLED)
        _reverse_ledger(commitment, now)
    audit_record(actor=Actor.system(), action="payments.payment_status", target=payment, company_id=round.company_id,
                 changes={"from": current, "to": new, "provider": provider.name})
    return payment


def _provider_id_keep(payment: Payment, data: PaymentData) -> None:
    if not payment.provider_id:
        payment.provider_id = data.provider_id
        payment.client_secret = data.client_secret
        payment.save(update_fields=["provider_id", "client_secret", "updated_at"])


def queue_after_commit(task_name: str, *args: object) -> None:
    """Run a Celery task of `payments.tasks` once the current transaction commits (never for a rollback)."""
    from payments import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(*args))


def _refund_found(data: RefundData, provider: PaymentProvider) -> Refund | None:
    """Our row of the refund the provider speaks of: by its id; by our key, which our refunds carry in the
    provider's metadata (the webhook may beat the answer to our own request); for a refund without that key (asked
    for before the key was sent), the payment's refund still waiting for its provider id, of the same amount. None
    for a refund made at the provider outside Tranche."""
    found = Refund.objects.filter(provider_id=data.provider_id).first()
    if found is None and data.key:
        found = Refund.objects.filter(key=data.key, payment__provider=provider.name).first()
    if found is None and not data.key:
        found = Refund.objects.filter(
            payment__provider=provider.name, payment__provider_id=data.payment_id, provider_id__isnull=True,
            status=RefundStatus.PENDING, amount=data.amount).exclude(reason=RefundReason.AT_PROVIDER).order_by(
            "pk").first()
    return found


@transaction.atomic
def refund_apply(*, data: RefundData, provider: PaymentProvider, now: datetime | None = None) -> Refund | None:
    """Bring a refund up to what the provider says: pending, then succeeded or failed, never back. One made at the
    provider outside Tranche (from its dashboard) is recorded when first heard of, and what it paid for follows
    when it succeeds (`_refund_succeeded`). Returns None for a refund of a payment that is not ours, or one the
    provider does not name (Stripe's `charge.refunded` of current API versions: its `refund.*` events name it)."""
    now = now or timezone.now()
    if not data.provider_id:
        return None
    found = _refund_found(data, provider)
    payment = found.payment if found is not None else Payment.objects.filter(
        provider=provider.name, provider_id=data.payment_id).first()
    if payment is None:
        return None
    payment = _payment_lock_for(payment)
    found = _refund_found(data, provider)  # again, under the payment's lock: another event may have recorded it
    if found is None:
        if payment.status != PaymentStatus.SUCCEEDED:
            return None
        found = Refund.objects.create(payment=payment, key=f"ext_{uuid.uuid4().hex}", provider_id=data.provider_id,
                                      amount=data.amount, currency=data.currency, reason=RefundReason.AT_PROVIDER)
    refund = Refund.objects.select_for_update().get(pk=found.pk)
    if not refund.provider_id:
        refund.provider_id = data.provider_id
        refund.save(update_fields=["provider_id"])
    if refund.status != RefundStatus.PENDING or data.status == RefundStatus.PENDING:
        return refund
    refund.status = data.status
    if data.status == RefundStatus.SUCCEEDED:
        refund.succeeded_at = now
    refund.save(update_fields=["status", "succeeded_at"])
    if data.status == RefundStatus.SUCCEEDED:
        _refund_succeeded(payment, refund, now)
    return refund


def _payment_lock_for(found: Payment) -> Payment:
    """Lock a payment, after what it paid for (the order every service here takes: what it paid for, then it)."""
    if found.commitment_id is not None:
        return _payment_locked(found)[0]
    if found.token_order_id is not None:
        return token_orders.payment_locked(found)[0]
    return warrant_exercises.payment_locked(found)[0]


def escrow_left(payment: Payment) -> Decimal:
    """What escrow still holds of a commitment's payment: held, less each return (a refund, a dispute)."""
    return _escrow_totals(EscrowEntry.objects.filter(payment=payment)).held


def _escrow_return(payment: Payment, money_back: Refund | Dispute) -> Decimal:
    """Write the return of this refund or dispute (once: each names its source), at most what escrow still holds
    of the payment, and tell the escrow agent after commit. Returns what it wrote (0: nothing held, or already
    written)."""
    source = {"refund": money_back} if isinstance(money_back, Refund) else {"dispute": money_back}
    if EscrowEntry.objects.filter(**source).exists():
        return Decimal(0)
    amount = min(money_back.amount, escrow_left(payment))
    if amount <= 0:
        return Decimal(0)
    EscrowEntry.objects.create(round_id=payment.for_commitment.investment.round_id, payment=payment,
                               kind=EscrowEntryKind.RETURN, amount=amount, currency=payment.currency,
                               provider_ref=money_back.provider_id or "", **source)
    queue_after_commit("escrow_return" if isinstance(money_back, Refund) else "escrow_return_dispute", money_back.pk)
    return amount


def _refund_succeeded(payment: Payment, refund: Refund, now: datetime) -> None:
    """A refund went through; the caller holds the payment's lock, and that of what it paid for. A commitment's
    refund leaves escrow (unless the close released the money already). One made at the provider outside Tranche
    reverses what the payment paid for, as a dispute that took the money does (`_refunded_at_provider`)."""
    if refund.reason == RefundReason.AT_PROVIDER:
        _refunded_at_provider(payment, refund, now)
    if payment.commitment_id is None:
        return
    investment = Investment.objects.get(commitment__pk=payment.commitment_pk)
    if investment.state != InvestmentState.ACCEPTED:
        _escrow_return(payment, refund)
    if investment.state == InvestmentState.CANCELLED and escrow_left(payment) <= 0:
        _set_state(investment, InvestmentState.REFUNDED)
    if refund.reason == RefundReason.REMAINDER:
        _flag(Commitment.objects.get(pk=payment.commitment_pk),
              f"{refund.amount} {refund.currency} left in escrow was returned to the investor", now)


def _refunded_at_provider(payment: Payment, refund: Refund, now: datetime) -> None:
    """A refund someone made at the provider went through. A commitment before the close is reversed and what the
    refund took leaves escrow (the rest stays, flagged, for the company to return); after the close the shares
    stand, flagged. A card order of tokens is flagged (the tokens are in the wallet). A token warrant's exercise
    is treated as a dispute that took the money: the exercise escrow hears of it, and unless the price was paid
    out already the tokens wait for a payment again."""
    facts = {"refund": refund.provider_id or "", "amount": str(refund.amount), "currency": refund.currency}
    note = _("Refunded at the payment provider, outside Tranche: %(amount)s %(currency)s") % {
        "amount": refund.amount, "currency": refund.currency}
    if payment.commitment_id is not None:
        investment = Investment.objects.select_related("round").get(commitment__pk=payment.commitment_pk)
        commitment = Commitment.objects.select_related("ledger_record").get(pk=payment.commitment_pk)
        company_id = investment.round.company_id
        if investment.state == InvestmentState.ACCEPTED:
            note += _("; after the close, so the shares stand")
        else:
            if investment.state in LIVE:
                _set_state(investment, InvestmentState.REVERSED)
                _reverse_ledger(commitment, now)
                facts["commitment"] = "reversed"
            held = escrow_left(payment)  # before this refund's return, which `_refund_succeeded` writes next
            left = held - min(refund.amount, held)
            if left > 0:
                note += _("; %(left)s %(currency)s not refunded stays in escrow for the company to return") % {
                    "left": left, "currency": payment.currency}
        _flag(commitment, note, now)
    elif payment.token_order_id is not None:
        order = TokenOrder.objects.select_related("sale__token").get(pk=payment.token_order_pk)
        company_id = order.sale.token.company_id
        token_orders.flagged(order=order, note=note, now=now)
    else:
        allocation = TokenAllocation.objects.select_related("token").get(pk=payment.allocation_pk)
        company_id = allocation.token.company_id
        facts.update(warrant_exercises.disputed(allocation=allocation, payment=payment, dispute=refund))
    audit_record(actor=Actor.system(), action="payments.refund_at_provider", target=payment, company_id=company_id,
                 changes=facts)


@transaction.atomic
def dispute_apply(*, data: DisputeData, provider: PaymentProvider, now: datetime | None = None) -> Dispute | None:
    """A card dispute or a returned bank debit, recorded once per provider dispute. What the payment paid for is
    reversed once, when the provider says the money was taken (`DISPUTE_TAKEN`): an inquiry only asks, so it is
    flagged to be answered, and becomes a dispute later under the same id if the issuer escalates it."""
    now = now or timezone.now()
    found = Payment.objects.filter(provider=provider.name, provider_id=data.payment_id).first()
    if found is None:
        return None
    if found.token_order_id is not None:
        payment, order = token_orders.payment_locked(found)
        return _dispute_record(
            payment, data, order.sale.token.company_id,
            taken=lambda dispute: token_orders.disputed(order=order, reason=data.reason, now=now),
            inquiry=lambda: token_orders.disputed(order=order, reason=data.reason, now=now, inquiry=True))
    if found.allocation_id is not None:
        payment, allocation = warrant_exercises.payment_locked(found)
        return _dispute_record(
            payment, data, allocation.token.company_id,
            taken=lambda dispute: warrant_exercises.disputed(allocation=allocation, payment=payment, dispute=dispute),
            won=lambda dispute: warrant_exercises.dispute_won(allocation=allocation, payment=payment, dispute=dispute))
    investment = Investment.objects.select_for_update().select_related("round").get(commitment__pk=found.commitment_pk)
    payment = Payment.objects.select_for_update().get(pk=found.pk)
    commitment = Commitment.objects.select_related("ledger_record").get(pk=payment.commitment_pk)
    inquiry_note = f"Card issuer inquiry ({data.reason}): answer it at the provider before it becomes a dispute"
    return _dispute_record(
        payment, data, investment.round.company_id,
        taken=lambda dispute: _commitment_disputed(commitment, investment, payment, dispute, now),
        won=lambda dispute: _commitment_dispute_won(commitment, investment, dispute, now),
        inquiry=lambda: _flag(commitment, inquiry_note, now))


def _dispute_record(payment: Payment, data: DisputeData, company_id: int, *,
                    taken: Callable[[Dispute], dict[str, str] | None],
                    won: Callable[[Dispute], dict[str, str]] | None = None,
                    inquiry: Callable[[], object] | None = None) -> Dispute:
    """Record what the provider says of a dispute; the caller holds the locks of the payment and of what it paid
    for. `taken` runs, and is audited, once: the first time the provider says the money was taken. `inquiry` runs
    when an open inquiry is first heard of, `won` when a dispute that took the money turns out won."""
    dispute, created = Dispute.objects.get_or_create(
        provider_id=data.provider_id,
        defaults={"payment": payment, "amount": data.amount, "currency": data.currency, "reason": data.reason,
                  "status": data.status})
    moved = not created and _DISPUTE_STAGES.get(data.status, 0) > _DISPUTE_STAGES.get(dispute.status, 0)
    if moved:
        dispute.status = data.status
        dispute.save(update_fields=["status"])
    facts = {"reason": data.reason, "amount": str(data.amount), "status": data.status}
    if dispute.status in DISPUTE_TAKEN and not dispute.funds_withdrawn:
        # What was taken is what the provider says now (an escalated inquiry may name another amount).
        dispute.funds_withdrawn, dispute.amount, dispute.currency = True, data.amount, data.currency
        dispute.save(update_fields=["funds_withdrawn", "amount", "currency"])
        audit_record(actor=Actor.system(), action="payments.dispute", target=payment, company_id=company_id,
                     changes={**facts, **(taken(dispute) or {})})
    elif created:
        # An inquiry, or a dispute first heard of once closed without taking the money: nothing moves.
        asks = data.status.startswith(INQUIRY_PREFIX) and data.status != INQUIRY_CLOSED
        if asks and inquiry is not None:
            inquiry()
        audit_record(actor=Actor.system(), action="payments.dispute_inquiry", target=payment, company_id=company_id,
                     changes=facts)
    elif moved and data.status == DISPUTE_WON and dispute.funds_withdrawn and won is not None:
        audit_record(actor=Actor.system(), action="payments.dispute_won", target=payment, company_id=company_id,
                     changes={"dispute": data.provider_id, **won(dispute)})
    elif moved and not dispute.funds_withdrawn:  # an inquiry moved on (answered, or closed), still taking nothing
        audit_record(actor=Actor.system(), action="payments.dispute_inquiry", target=payment, company_id=company_id,
                     changes=facts)
    return dispute


def _commitment_dispute_won(commitment: Commitment, investment: Investment, dispute: Dispute,
                            now: datetime) -> dict[str, str]:
    """The platform won a dispute of a commitment's payment: the money is back on the platform's balance, outside
    escrow. After the close that ends the platform's loss; before it the commitment stays reversed and compliance
    returns the money to the investor."""
    if investment.state == InvestmentState.ACCEPTED:
        _flag(commitment, f"Dispute won after the close: {dispute.amount} {dispute.currency} is back with the "
                          "platform; the shares stand", now)
        return {"commitment": "accepted; the platform has the money back"}
    note = (f"Dispute won: {dispute.amount} {dispute.currency} is back with the platform, outside escrow, for "
            "compliance to return to the investor")
    undisputed = dispute.payment.amount - dispute.amount
    if undisputed > 0:
        note += f"; {undisputed} {dispute.currency} not disputed stays in escrow"
    _flag(commitment, note, now)
    return {"commitment": "reversed; the money is back with the platform, for compliance to return"}


def _commitment_disputed(commitment: Commitment, investment: Investment, payment: Payment, dispute: Dispute,
                         now: datetime) -> dict[str, str]:
    """The provider took a commitment's money back. Before the close the commitment is reversed and the disputed
    amount leaves escrow; after it the shares stand, flagged. Returns what the audit trail records besides."""
    if investment.state == InvestmentState.ACCEPTED:
        _flag(commitment, f"Disputed after the close ({dispute.reason}); the shares stand until resolved", now)
        return {}
    if investment.state in LIVE or investment.state == InvestmentState.CANCELLED:
        _set_state(investment, InvestmentState.REVERSED)
        _reverse_ledger(commitment, now)
    note = f"Payment disputed: {dispute.reason}"
    _escrow_return(payment, dispute)
    left = escrow_left(payment)
    if left > 0:  # the issuer took part of it: the rest is the investor's, still held
        note += f"; {left} {payment.currency} not disputed stays in escrow for the company to return"
    _flag(commitment, note, now)
    return {"undisputed": str(left)} if left > 0 else {}


# --- refunds ---------------------------------------------------------------------------------------------------


def refund_request(*, payment: Payment, reason: str, amount: Decimal | None = None) -> Refund | None:
    """Ask for the payment's money back, all of it or `amount` of it, at most what is left of it; the caller holds a
    transaction. A second request returns the first refund (one live refund per payment, by a unique constraint);
    None when nothing is left (a refund made at the provider, or a dispute, took it all)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = payment.refunds.exclude(status=RefundStatus.FAILED).exclude(reason__in=FLOW_REFUND_EXCLUDED).first()
    if existing is not None:
        return existing
    if payment.status != PaymentStatus.SUCCEEDED:
        raise ValidationError(_("Only a payment that went through can be refunded."))
    amount = payment.amount if amount is None else amount
    if not Decimal(0) < amount <= payment.amount:
        raise ValidationError(_("A refund is more than nothing and at most what was paid."))
    # A refund made at the provider, or a dispute, may have taken part already: only the rest can go back, and
    # when nothing is left there is nothing to ask for.
    amount = min(amount, payment_refundable(payment))
    if amount <= 0:
        return None
    return _refund_create(payment, amount, reason)


def _refund_create(payment: Payment, amount: Decimal, reason: str) -> Refund:
    refund = Refund.objects.create(payment=payment, key=f"ref_{uuid.uuid4().hex}", amount=amount,
                                   currency=payment.currency, reason=reason)
    queue_after_commit("refund_submit", refund.pk)
    return refund


def payment_refundable(payment: Payment) -> Decimal:
    """What can still go back of a payment: what it paid, less its refunds that did not fail and the disputes that
    took money and kept it (a won dispute gave it back)."""
    refunded = payment.refunds.exclude(status=RefundStatus.FAILED).aggregate(total=Sum("amount"))["total"]
    disputed = payment.disputes.filter(funds_withdrawn=True).exclude(status=DISPUTE_WON).aggregate(
        total=Sum("amount"))["total"]
    return payment.amount - (refunded or Decimal(0)) - (disputed or Decimal(0))


@transaction.atomic
def commitment_return_rest(*, actor: Actor, commitment: Commitment, now: datetime | None = None) -> Refund:
    """The company returns to the investor what escrow still holds of a reversed or cancelled commitment: what a
    partial dispute or a refund made at the provider left. A second request while that refund is under way finds
    it. The provider refuses to refund a charge while a dispute of it is open, so that must close first, and any
    other refund of the payment must have ended."""
    commitment, investment = _commitment_locked(commitment)
    equity_services._require_editor(actor, investment.round.company)
    if investment.state not in (InvestmentState.REVERSED, InvestmentState.CANCELLED):
        raise ValidationError(_("Only a reversed or cancelled commitment has money left in escrow to return."))
    for payment in commitment.payments.select_for_update().order_by("pk"):
        existing = payment.refunds.filter(reason=RefundReason.REMAINDER, status=RefundStatus.PENDING).first()
        if existing is not None:
            return existing
        left = min(escrow_left(payment), payment_refundable(payment))
        if left <= 0:
            continue
        if payment.refunds.filter(status=RefundStatus.PENDING).exists():
            raise ValidationError(_("A refund of this payment is still under way; what it leaves can go back after."))
        if payment.disputes.filter(status__in=DISPUTE_OPEN).exists():
            raise ValidationError(_("A dispute of this payment is still open; its money can go back once it closes."))
        refund = _refund_create(payment, left, RefundReason.REMAINDER)
        _flag(commitment, f"{left} {payment.currency} left in escrow is being returned to the investor",
              now or timezone.now())
        audit_record(actor=actor, action="payments.commitment_return_rest", target=commitment,
                     company_id=investment.round.company_id,
                     changes={"payment": payment.key, "amount": str(left), "currency": payment.currency})
        return refund
    raise ValidationError(_("Escrow holds nothing more of this commitment."))


@transaction.atomic
def _refund_ready(refund: Refund) -> Refund:
    """The refund as it is to be sent: at most what is left of its payment (a refund made at the provider may have
    taken part since it was asked for), and failed when nothing is left."""
    payment = _payment_lock_for(refund.payment)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.PENDING or refund.provider_id:
        return refund
    left = payment_refundable(payment) + refund.amount  # what is left besides this refund
    if left <= 0:
        refund.status = RefundStatus.FAILED
        refund.save(update_fields=["status"])
    elif left < refund.amount:
        refund.amount = left
        refund.save(update_fields=["amount"])
    return refund


def refund_submit_outside_transaction(*, refund: Refund, provider: PaymentProvider) -> Refund:
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("refund_submit_outside_transaction must not run inside a database transaction")
    refund = _refund_ready(refund)
    if refund.status != RefundStatus.PENDING or refund.provider_id:
        return refund  # done, or known to the provider already: its answer comes by webhook
    data = provider.refund_create(payment_id=refund.payment.provider_id or "", amount=refund.amount,
                                  idempotency_key=refund.key)
    return refund_apply(data=data, provider=provider) or refund


# --- the investor changes their mind ---------------------------------------------------------------------------


def _commitment_locked(commitment: Commitment) -> tuple[Commitment, Investment]:
    commitment = Commitment.objects.select_related("ledger_record", "investment__round__company").get(pk=commitment.pk)
    investment = Investment.objects.select_for_update().select_related("round").get(pk=commitment.investment_id)
    return commitment, investment


def _withdraw(commitment: Commitment, investment: Investment, reason: str, now: datetime) -> None:
    """Cancel a live commitment: out of the round and the investor's ledger; money back if any was paid, and the
    provider's intent of an unpaid payment cancelled after commit."""
    _set_state(investment, InvestmentState.CANCELLED)
    _reverse_ledger(commitment, now)
    commitment.cancelled_at, commitment.cancel_reason = now, reason
    commitment.save(update_fields=["cancelled_at", "cancel_reason"])
    for payment in commitment.payments.select_for_update().order_by("pk"):
        if payment.status == PaymentStatus.SUCCEEDED:
            refund_request(payment=payment, reason=reason)
        elif payment.status == PaymentStatus.REQUIRES_PAYMENT and payment.provider_id:
            queue_after_commit("payment_cancel", payment.pk)
        # processing: the bank debit is on its way; when it settles payment_apply sends it back.


def cancellation_refusal(investment: Investment, now: datetime) -> str | None:
    """Why the investor can no longer cancel this commitment, or None while they can: the rule the cancel
    service enforces and the pages show."""
    if investment.state not in LIVE:
        return _("This commitment is %(state)s and cannot be cancelled.") % {
            "state": investment.get_state_display().lower()}
    if investment.round.state not in (RoundState.OPEN, RoundState.CLOSING):
        return _("The round has closed; the commitment is final.")
    cutoff = cancellation_cutoff(investment.round)
    if cutoff is not None and now >= cutoff:
        return _("Commitments became final 48 hours before the deadline; it can no longer be cancelled.")
    return None


@transaction.atomic
def commitment_cancel(*, actor: Actor, commitment: Commitment, now: datetime | None = None) -> Commitment:
    """The investor cancels, for any reason, until the cut-off before the deadline; the money comes back."""
    now = now or timezone.now()
    commitment, investment = _commitment_locked(commitment)
    if actor.user is None or commitment.investor_id != actor.user.pk:
        raise PermissionDenied(_("You can cancel only your own commitments."))
    refusal = cancellation_refusal(investment, now)
    if refusal is not None:
        raise ValidationError(refusal)
    _withdraw(commitment, investment, RefundReason.CANCELLED, now)
    audit_record(actor=actor, action="payments.commitment_cancel", target=commitment,
                 company_id=investment.round.company_id, changes={"amount": str(investment.amount)})
    return commitment


@transaction.atomic
def commitment_decline(*, actor: Actor, commitment: Commitment, now: datetime | None = None) -> Commitment:
    """The company turns a commitment down before the close; the investor's money comes back."""
    now = now or timezone.now()
    commitment, investment = _commitment_locked(commitment)
    equity_services._require_editor(actor, investment.round.company)
    if investment.state not in LIVE:
        raise ValidationError(_("This commitment is %(state)s.") % {"state": investment.get_state_display().lower()})
    _withdraw(commitment, investment, RefundReason.DECLINED, now)
    audit_record(actor=actor, action="payments.commitment_decline", target=commitment,
                 company_id=investment.round.company_id, changes={"amount": str(investment.amount)})
    return commitment


# --- material changes and early close (Regulation Crowdfunding) -------------------------------------------------


@transaction.atomic
def round_announce_material_change(*, actor: Actor, round: Round, summary: str,
                                   now: datetime | None = None) -> int:
    """The company tells investors of a material change to the terms; each live commitment must be reconfirmed
    within the set number of business days or it is cancelled and refunded. Returns how many were asked."""
    now = now or timezone.now()
    round = Round.objects.select_for_update().select_related("company").get(pk=round.pk)
    equity_services._require_editor(actor, round.company)
    if round.state != RoundState.OPEN:
        raise ValidationError(_("Only an open round's investors can be asked to reconfirm."))
    summary = summary.strip()
    if len(summary) < 10:
        raise ValidationError({"summary": _("Describe the change so investors can decide.")})
    reconfirm_by = rules.add_business_days(now, settings.REG_CF_RECONFIRM_BUSINESS_DAYS)
    commitments = Commitment.objects.filter(investment__round=round, investment__state__in=LIVE)
    asked = commitments.update(reconfirm_by=reconfirm_by, reconfirmed_at=None)
    audit_record(actor=actor, action="payments.material_change", target=round, company_id=round.company_id,
                 changes={"summary": summary, "reconfirm_by": reconfirm_by.isoformat(), "commitments": asked})
    queue_after_commit("round_notify", round.pk, "material_change", summary)
    return asked


@transaction.atomic
def commitment_reconfirm(*, actor: Actor, commitment: Commitment, now: datetime | None = None) -> Commitment:
    now = now or timezone.now()
    commitment, investment = _commitment_locked(commitment)
    if actor.user is None or commitment.investor_id != actor.user.pk:
        raise PermissionDenied(_("Only the investor can reconfirm."))
    if commitment.reconfirm_by is None or commitment.reconfirmed_at is not None:
        return commitment
    if investment.state not in LIVE or now >= commitment.reconfirm_by:
        raise ValidationError(_("The time to reconfirm has passed; the commitment was cancelled."))
    commitment.reconfirmed_at = now
    commitment.save(update_fields=["reconfirmed_at"])
    audit_record(actor=actor, action="payments.commitment_reconfirm", target=commitment,
                 company_id=investment.round.company_id)
    return commitment


def commitments_expire_unconfirmed(*, now: datetime | None = None) -> int:
    """Cancel and refund every commitment whose time to reconfirm has passed. Returns how many."""
    now = now or timezone.now()
    expired = 0
    due = Commitment.objects.filter(reconfirm_by__lte=now, reconfirmed_at__isnull=True,
                                    investment__state__in=LIVE).order_by("pk").values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            commitment, investment = _commitment_locked(Commitment(pk=pk))
            if investment.state not in LIVE or commitment.reconfirmed_at is not None:
                continue
            _withdraw(commitment, investment, RefundReason.NOT_RECONFIRMED, now)
            audit_record(actor=Actor.system(), action="payments.commitment_not_reconfirmed", target=commitment,
                         company_id=investment.round.company_id)
            expired += 1
    return expired


@transaction.atomic
def round_close_early(*, actor: Actor, round: Round, closes_on: object, now: datetime | None = None) -> Round:
    """Move a Regulation Crowdfunding round's deadline earlier (227.304(b)); investors are told now."""
    now = now or timezone.now()
    round = Round.objects.select_for_update().select_related("company").get(pk=round.pk)
    equity_services._require_editor(actor, round.company)
    if not isinstance(closes_on, date):
        raise ValidationError({"closes_on": _("Enter the new deadline.")})
    if round.state != RoundState.OPEN:
        raise ValidationError(_("Only an open round can close early."))
    refusal = rules.early_close_refusal(
        opened_at=round.opened_at, now=now, current_deadline=round_deadline(round),
        new_deadline=rules.deadline_of(closes_on),
        rules=rules.EarlyCloseRules(min_open_days=settings.REG_CF_EARLY_CLOSE_MIN_OPEN_DAYS,
                                    notice_business_days=settings.REG_CF_EARLY_CLOSE_NOTICE_BUSINESS_DAYS))
    messages = {
        rules.NOT_OPEN: _("The round has not been opened."),
        rules.NOT_EARLIER: _("The new deadline must be earlier than the current one."),
        rules.OPEN_TOO_SHORT: _("The round must have been open at least %(n)s days by the new deadline.")
        % {"n": settings.REG_CF_EARLY_CLOSE_MIN_OPEN_DAYS},
        rules.NOTICE_TOO_SHORT: _("Investors must be told at least %(n)s business days before the new deadline.")
        % {"n": settings.REG_CF_EARLY_CLOSE_NOTICE_BUSINESS_DAYS},
    }
    if refusal is not None:
        raise ValidationError({"closes_on": messages[refusal]})
    old = round.closes_on
    round.closes_on = closes_on
    round.save(update_fields=["closes_on"])
    audit_record(actor=actor, action="payments.round_close_early", target=round, company_id=round.company_id,
                 changes={"closes_on": [str(old), str(closes_on)]})
    queue_after_commit("round_notify", round.pk, "early_close", str(closes_on))
    return round


# --- the close, and a round that fails ---------------------------------------------------------------------------


@transaction.atomic
def round_close(*, actor: Actor, round: Round, now: datetime | None = None) -> Round:
    """Close the round with the investors' money: commitments never paid are cancelled, the equity close issues
    the funded ones' shares (one transaction with everything else), and the escrow releases their money to the
    issuer; the investors hear of it by e-mail. A Regulation Crowdfunding round closes only at its deadline."""
    now = now or timezone.now()
    Company.objects.select_for_update().filter(pk=round.company_id).get()
    round = Round.objects.select_for_update().select_related("company").get(pk=round.pk)
    equity_services._require_editor(actor, round.company)
    deadline = round_deadline(round)
    if round.exemption == eligibility.REG_CF and deadline is not None and now < deadline:
        raise ValidationError(_("A Regulation Crowdfunding round closes at its deadline (%(deadline)s) or after an "
                                "early close announced to investors.") % {"deadline": round.closes_on})
    if round.exemption == eligibility.REG_CF and round.opened_at is not None and round.closes_on is not None:
        from equity.selectors import round_raised

        if round_raised(round=round) < round.target_amount and round.closes_on < _planned_deadline(round):
            raise ValidationError(_("The round closed early, so it must have reached its target."))
    unpaid = Commitment.objects.filter(investment__round=round, investment__state=InvestmentState.PENDING_PAYMENT)
    for commitment in unpaid.order_by("pk"):
        locked, investment = _commitment_locked(commitment)
        _withdraw(locked, investment, RefundReason.NOT_ACCEPTED, now)
    round = equity_services.round_close(actor=actor, round=round, closing_date=timezone.localdate(now))
    accepted = EscrowEntry.objects.filter(
        round=round, kind=EscrowEntryKind.HOLD,
        payment__commitment__investment__state=InvestmentState.ACCEPTED).aggregate(total=Sum("amount"))["total"]
    if accepted:
        EscrowEntry.objects.create(round=round, kind=EscrowEntryKind.RELEASE, amount=accepted,
                                   currency=round.currency)
        queue_after_commit("escrow_release", round.pk)
    queue_after_commit("round_closed_documents_and_mail", round.pk)
    return round


def _planned_deadline(round: Round) -> date:
    """The deadline the round opened with, from the audit log of early closes (the first one moved it)."""
    from compliance.models import AuditEvent

    event = AuditEvent.objects.filter(action="payments.round_close_early", target_id=str(round.pk)).order_by(
        "created_at").first()
    if event is None or round.closes_on is None:
        return round.closes_on or date.max
    return date.fromisoformat(event.changes["closes_on"][0])


@transaction.atomic
def round_fail(*, actor: Actor, round: Round, now: datetime | None = None) -> Round:
    """Cancel a round that took investors' money: every live commitment is cancelled and refunded, then the
    equity round is cancelled."""
    now = now or timezone.now()
    round = Round.objects.select_for_update().select_related("company").get(pk=round.pk)
    equity_services._require_editor(actor, round.company)
    for commitment in Commitment.objects.filter(investment__round=round, investment__state__in=LIVE).order_by("pk"):
        locked, investment = _commitment_locked(commitment)
        _withdraw(locked, investment, RefundReason.ROUND_FAILED, now)
    round = equity_services.round_cancel(actor=actor, round=round)
    queue_after_commit("round_notify", round.pk, "cancelled", "")
    return round


# --- escrow -----------------------------------------------------------------------------------------------------


def escrow_release_outside_transaction(*, round: Round, agent: EscrowAgent) -> EscrowEntry | None:
    """Pay the issuer what the close released (once: the release's row carries the agent's reference)."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("escrow_release_outside_transaction must not run inside a database transaction")
    entry = EscrowEntry.objects.filter(round=round, kind=EscrowEntryKind.RELEASE).first()
    if entry is None or entry.provider_ref:
        return entry
    payout = agent.release(account=escrow_account(round), amount=entry.amount, currency=entry.currency,
                           destination=issuer_payout_destination(round.company),
                           idempotency_key=f"release-round-{round.pk}")
    EscrowEntry.objects.filter(pk=entry.pk, provider_ref="").update(provider_ref=payout.provider_id)
    entry.refresh_from_db()
    return entry


def issuer_payout_destination(company: Company) -> str:
    """The company's payout account at the provider. The sandbox invents one; with Stripe the company must have
    connected its account before its round can close with investors' money."""
    account = IssuerAccount.objects.filter(company=company, provider=settings.PAYMENTS_PROVIDER).first()
    if account is not None:
        return account.account_id
    if settings.PAYMENTS_PROVIDER == "sandbox":
        return f"acct_sandbox_{company.pk}"
    raise ProviderError(f"{company} has no payout account with {settings.PAYMENTS_PROVIDER}", code="no_payout_account")


@dataclass(frozen=True)
class EscrowBalance:
    funded: Decimal
    released: Decimal
    returned: Decimal

    @property
    def held(self) -> Decimal:
        return self.funded - self.released - self.returned


def escrow_balance(*, round: Round) -> EscrowBalance:
    return _escrow_totals(EscrowEntry.objects.filter(round=round))


def _escrow_totals(entries: QuerySet[EscrowEntry]) -> EscrowBalance:
    rows = entries.values("kind").annotate(total=Sum("amount"))
    totals = {row["kind"]: row["total"] for row in rows}
    return EscrowBalance(funded=totals.get(EscrowEntryKind.HOLD, Decimal(0)),
                         released=totals.get(EscrowEntryKind.RELEASE, Decimal(0)),
                         returned=totals.get(EscrowEntryKind.RETURN, Decimal(0)))


# --- webhooks and reconciliation ---------------------------------------------------------------------------------


def webhook_receive(*, provider: PaymentProvider, payload: bytes, signature: str) -> WebhookEvent | None:
    """Verify, store raw under (provider, event id), queue processing. Returns None for a replay already stored.
    Raises InvalidSignature (nothing stored) when the signature does not verify."""
    event = provider.webhook_event(payload=payload, signature=signature)
    stored, created = WebhookEvent.objects.get_or_create(
        provider=provider.name, event_id=event.event_id,
        defaults={"type": event.type, "payload": dict(event.payload)})
    if not created:
        return None
    queue_after_commit("webhook_process", stored.pk)
    return stored


def webhook_process(*, event: WebhookEvent, provider: PaymentProvider) -> None:
    """Act on a stored event. Safe to run any number of times, in any order with other events."""
    from payments.providers.stripe import webhook_event_from_payload

    data = webhook_event_from_payload(event.payload, provider.name)
    try:
        if data.payment is not None:
            payment_apply(data=data.payment, provider=provider)
        if data.refund is not None:
            refund_apply(data=data.refund, provider=provider)
        if data.dispute is not None:
            dispute_apply(data=data.dispute, provider=provider)
    except (ValidationError, ProviderError) as error:
        WebhookEvent.objects.filter(pk=event.pk).update(error=str(error)[:2000])
        raise
    WebhookEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), error="")


def payments_reconcile(*, provider: PaymentProvider, now: datetime | None = None) -> int:
    """Ask the provider about every payment of the last window and apply what it says: a payment whose webhook
    never came (or whose worker died before saving it) is settled here. Returns how many changed."""
    now = now or timezone.now()
    changed = 0
    for data in provider.payments_since(now - settings.PAYMENTS_RECONCILE_WINDOW):
        if "payment" not in data.metadata:
            continue
        before = Payment.objects.filter(key=data.metadata["payment"]).values_list("status", "provider_id").first()
        if before is None or (before[0] == data.status and before[1] == data.provider_id):
            continue
        payment_apply(data=data, provider=provider, now=now)
        changed += 1
    return changed


# --- documents ---------------------------------------------------------------------------------------------------


def _company_data(company: Company) -> Any:
    from payments import documents

    return documents.CompanyData(legal_name=company.legal_name, jurisdiction=company.get_jurisdiction_display())


def _investor_data(user: User) -> Any:
    from payments import documents

    application = KycApplication.objects.filter(user=user).first()
    if application is None:
        return documents.InvestorData(legal_name=user.get_full_name() or user.email, email=user.email, address="",
                                      country="")
    address = "\n".join(part for part in [
        application.address_line1, application.address_line2,
        " ".join(p for p in [application.city, application.region, application.postal_code] if p)] if part)
    return documents.InvestorData(legal_name=application.legal_name or user.email, email=user.email, address=address,
                                  country=str(getattr(application.country_of_residence, "name", "") or ""))


def _round_terms(round: Round) -> Any:
    from payments import documents

    if round.kind == "safe":
        return documents.SafeTerms(instrument=round.instrument, valuation_cap=round.valuation_cap,
                                   discount=round.discount, mfn=round.mfn, pro_rata=round.pro_rata)
    return documents.PricedTerms(share_class=round.series_name or round.name, price_per_share=round.price_per_share,
                                 pre_money_valuation=round.pre_money_valuation)


def agreement_data(commitment: Commitment) -> Any:
    from payments import documents

    investment = commitment.investment
    round = investment.round
    return documents.AgreementData(
        company=_company_data(round.company), round_name=round.name, terms=_round_terms(round),
        exemption=round.exemption, investor=_investor_data(commitment.investor), amount=investment.amount,
        currency=investment.currency, commitment_reference=commitment.reference, created_at=commitment.created_at,
        cancellation_cutoff=cancellation_cutoff(round), offering_deadline=round.closes_on)


def agreement_pdf(commitment: Commitment) -> bytes:
    """The unsigned subscription agreement of a commitment: the same bytes every time for the same commitment."""
    from payments import documents

    return documents.subscription_agreement_pdf(agreement_data(commitment))


def _document_store(commitment: Commitment, kind: str, pdf: bytes) -> Document:
    from django.core.files.base import ContentFile

    existing = Document.objects.filter(commitment=commitment, kind=kind).first()
    if existing is not None:
        return existing
    document = Document(commitment=commitment, kind=kind, sha256=hashlib.sha256(pdf).hexdigest())
    document.file.save(f"{commitment.reference}-{kind}.pdf", ContentFile(pdf), save=False)
    document.save()
    return document


def document_signed_agreement_create(*, commitment: Commitment) -> Document:
    from payments import documents

    signature = documents.SignatureData(
        typed_name=commitment.signed_name, signed_at=commitment.signed_at or timezone.now(),
        ip_address=commitment.signed_ip or "unknown", agreement_sha256=commitment.agreement_sha256)
    pdf = documents.signed_agreement_pdf(agreement_data(commitment), signature)
    return _document_store(commitment, DocumentKind.AGREEMENT, pdf)


def document_receipt_create(*, payment: Payment) -> Document:
    from payments import documents

    commitment = payment.for_commitment
    round = commitment.investment.round
    receipt = documents.ReceiptData(
        receipt_number=f"R-{payment.pk:06d}", company=_company_data(round.company), round_name=round.name,
        investor=_investor_data(commitment.investor), amount=payment.amount, currency=payment.currency,
        method=payment.method, method_last4=payment.last4, provider_reference=payment.provider_id or payment.key,
        paid_at=payment.succeeded_at or timezone.now(), commitment_reference=commitment.reference,
        escrow_agent=_("the escrow agent of this offering"))
    return _document_store(commitment, DocumentKind.RECEIPT, documents.payment_receipt_pdf(receipt))


def document_certificate_create(*, commitment: Commitment) -> Document | None:
    """The certificate of what an accepted commitment became at close: its shares, or its SAFE."""
    from payments import documents

    investment = commitment.investment
    security = investment.security
    if investment.state != InvestmentState.ACCEPTED or security is None:
        return None
    round = investment.round
    company = _company_data(round.company)
    if round.kind == "safe":
        pdf = documents.safe_certificate_pdf(documents.SafeCertificateData(
            certificate_number=security.security_ref, company=company, holder_name=investment.stakeholder.name,
            purchase_amount=investment.amount, currency=investment.currency, terms=_round_terms(round),
            issue_date=security.effective_date, exemption=round.exemption))
    else:
        pdf = documents.share_certificate_pdf(documents.CertificateData(
            certificate_number=security.security_ref, company=company, holder_name=investment.stakeholder.name,
            shares=security.quantity, share_class=security.share_class.name if security.share_class else "",
            issue_date=security.effective_date, exemption=round.exemption,
            par_value=security.share_class.par_value if security.share_class else None))
    return _document_store(commitment, DocumentKind.CERTIFICATE, pdf)
