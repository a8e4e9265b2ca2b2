"""Investing in the browser: the checkout (commit, sign, pay, status), the investor's portfolio with cancel and
reconfirm, the documents, and the founder's commitments table with its CSV and chart."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Wallet
from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.models import Membership
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from equity.choices import InvestmentState, RoundState
from equity.models import Round
from payments import selectors, services
from payments.choices import DocumentKind, PaymentStatus
from payments.filters import CommitmentFilter
from payments.forms import BankAccountForm, CardForm, CommitForm, EarlyCloseForm, MaterialChangeForm, SignForm
from payments.models import Commitment, Document, Payment
from payments.providers import payment_provider
from payments.providers.base import PaymentData, PaymentProvider, ProviderError
from payments.token_orders import order_refunded as refunded_by_order
from payments.token_orders import orders_for_investor
from tokens.models import TokenAllocation
from tokens.portfolio import token_portfolio
from tokens.warrants import allocation_claim, holder_is


def _open_round(pk: int) -> Round:
    return get_object_or_404(Round.objects.select_related("company"), pk=pk, state=RoundState.OPEN)


@login_required
def invest(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Step one of the checkout: how much, and how to pay, with what the investor may still invest."""
    round = _open_round(pk)
    standing = services.investor_standing(user=request.user, round=round)
    form = CommitForm(request.POST or None, initial={"amount": round.minimum_ticket or None})
    if request.method == "POST" and form.is_valid():
        provider = payment_provider()
        try:
            commitment = services.investment_commit(
                actor=Actor.from_request(request), round=round, amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"], provider=provider)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("payments:commitment", pk=commitment.pk)
    return render(request, "payments/invest.html", {
        "round": round, "company": round.company, "standing": standing, "form": form,
        "cutoff": services.cancellation_cutoff(round)})


def _my_commitment(request: AuthenticatedRequest, pk: int) -> Commitment:
    commitment = selectors.commitment_get_for_investor(user=request.user, pk=pk)
    if commitment is None:
        raise Http404
    return commitment


@login_required
def commitment_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The rest of the checkout and the commitment's page afterwards: sign, pay, follow the status."""
    commitment = _my_commitment(request, pk)
    payment = commitment.payments.all()[0]
    if commitment.signed_at and payment.status in (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED) \
            and not payment.provider_id:
        payment = payment_started(request, payment)
    context = _commitment_context(commitment, payment)
    if request.htmx and request.GET.get("status"):
        return render(request, "payments/_commitment_status.html", context)
    return render(request, "payments/commitment.html", context)


def card_payment_context(card_form: CardForm | None = None) -> dict[str, Any]:
    """What payments/_card_payment.html needs besides the payment: the sandbox's card form, or Stripe's key."""
    return {"sandbox": settings.PAYMENTS_PROVIDER == "sandbox", "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "card_form": card_form or CardForm()}


def _commitment_context(commitment: Commitment, payment: Any, **forms: Any) -> dict[str, Any]:
    investment = commitment.investment
    round = investment.round
    cutoff = services.cancellation_cutoff(round)
    live = investment.state in services.LIVE and round.state in (RoundState.OPEN, RoundState.CLOSING)
    return {
        "commitment": commitment, "investment": investment, "round": round, "company": round.company,
        "payment": payment, "cutoff": cutoff,
        "can_cancel": services.cancellation_refusal(investment, timezone.now()) is None,
        "documents": {document.kind: document for document in commitment.documents.all()},
        **card_payment_context(forms.get("card_form")),
        "sign_form": forms.get("sign_form") or SignForm(initial={"signed_name": ""}),
        "bank_form": forms.get("bank_form") or BankAccountForm(),
        "needs_reconfirm": bool(commitment.reconfirm_by and not commitment.reconfirmed_at and live),
        "polling": payment.status == PaymentStatus.PROCESSING or (
            payment.status == PaymentStatus.SUCCEEDED and investment.state == InvestmentState.PENDING_PAYMENT),
    }


@login_required
def agreement_preview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The unsigned agreement exactly as it will be signed (the same bytes whose sha256 is kept)."""
    commitment = _my_commitment(request, pk)
    response = HttpResponse(services.agreement_pdf(commitment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{commitment.reference}-agreement-unsigned.pdf"'
    return response


@login_required
@require_POST
def commitment_sign(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    commitment = _my_commitment(request, pk)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.commitment_sign(actor=Actor.from_request(request), commitment=commitment,
                                     signed_name=form.cleaned_data["signed_name"],
                                     agreement_pdf=services.agreement_pdf(commitment))
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Signed. Now pay to secure your commitment."))
            return redirect("payments:commitment", pk=pk)
    commitment = _my_commitment(request, pk)
    return render(request, "payments/commitment.html",
                  _commitment_context(commitment, commitment.payments.all()[0], sign_form=form), status=400)


def payment_started(request: AuthenticatedRequest, payment: Payment) -> Payment:
    """The payment created at the provider, so that the page can show its card form; when the provider does not
    answer, the page says so and shows the payment as it was."""
    try:
        return services.payment_create_outside_transaction(payment=payment, provider=payment_provider())
    except ProviderError:
        messages.error(request, _("The payment provider did not answer; please try again in a moment."))
        return payment


def sandbox_pay(form: Any, payment: Payment, provider: PaymentProvider,
                confirm: Callable[[str], PaymentData]) -> bool:
    """The sandbox's payment form: ask the provider for the payment, `confirm` it with what the investor typed and
    apply the answer. A refusal or a decline goes on the form; True when the payment went through or is on its
    way."""
    try:
        payment = services.payment_create_outside_transaction(payment=payment, provider=provider)
        services.payment_apply(data=confirm(payment.provider_id or ""), provider=provider)
    except ProviderError as error:
        form.add_error(None, str(error))
        return False
    payment.refresh_from_db()
    if payment.status == PaymentStatus.FAILED:
        form.add_error(None, payment.failure_message or _("The payment was declined."))
        return False
    return True


@login_required
@require_POST
def commitment_pay(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The sandbox's payment form (in production the browser confirms the payment with Stripe.js)."""
    from payments.providers.sandbox import SandboxProvider

    commitment = _my_commitment(request, pk)
    payment = commitment.payments.all()[0]
    provider = payment_provider()
    if not isinstance(provider, SandboxProvider):
        raise Http404
    card = commitment.method == "card"
    form: CardForm | BankAccountForm = CardForm(request.POST) if card else BankAccountForm(request.POST)
    if not commitment.signed_at:
        form.add_error(None, _("Sign the subscription agreement first."))
    elif form.is_valid():
        def confirm(provider_id: str) -> PaymentData:
            if card:
                return provider.confirm_card(provider_id, number=form.cleaned_data["number"])
            return provider.confirm_bank_account(provider_id, **form.cleaned_data)

        if sandbox_pay(form, payment, provider, confirm):
            return redirect("payments:commitment", pk=pk)
    commitment = _my_commitment(request, pk)
    forms = {"card_form": form} if card else {"bank_form": form}
    return render(request, "payments/commitment.html",
                  _commitment_context(commitment, commitment.payments.all()[0], **forms), status=400)


def _investor_action(request: AuthenticatedRequest, pk: int, service: Any, done: str) -> HttpResponse:
    """Run one of the investor's services on their commitment; its refusal is shown as a message."""
    commitment = _my_commitment(request, pk)
    try:
        service(actor=Actor.from_request(request), commitment=commitment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("payments:commitment", pk=pk)


@login_required
@require_POST
def commitment_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _investor_action(request, pk, services.commitment_cancel,
                            _("Your commitment is cancelled. Any money you paid is on its way back."))


@login_required
@require_POST
def commitment_reconfirm(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _investor_action(request, pk, services.commitment_reconfirm,
                            _("Thank you: your commitment stands on the new terms."))


def _document_response(document: Document) -> FileResponse:
    return FileResponse(document.file.open("rb"), content_type="application/pdf", as_attachment=True,
                        filename=f"{document.commitment.reference}-{document.kind}.pdf")


@login_required
def document_download(request: AuthenticatedRequest, pk: int, kind: str) -> FileResponse:
    """A commitment's document, for the investor and the company's team only."""
    if kind not in DocumentKind.values:
        raise Http404
    document = Document.objects.select_related("commitment__investment__round").filter(
        commitment_id=pk, kind=kind).first()
    if document is None:
        raise Http404
    commitment = document.commitment
    is_team = Membership.objects.filter(company_id=commitment.investment.round.company_id,
                                        user=request.user).exists()
    if commitment.investor_id != request.user.pk and not is_team:
        raise Http404
    return _document_response(document)


@login_required
def portfolio(request: AuthenticatedRequest) -> HttpResponse:
    """Everything the investor owns or has committed: shares and SAFEs from closed rounds with their
    certificates, and commitments still open, with the time left to cancel them."""
    commitments = list(selectors.commitment_list_for_investor(user=request.user))
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for commitment in commitments:
        rows.append({"commitment": commitment, "cutoff": services.cancellation_cutoff(commitment.investment.round),
                     "can_cancel": services.cancellation_refusal(commitment.investment, now) is None,
                     "documents": {d.kind: d for d in commitment.documents.all()}})
    holdings = [row for row in rows if row["commitment"].investment.state == InvestmentState.ACCEPTED]
    open_rows = [row for row in rows if row["commitment"].investment.state != InvestmentState.ACCEPTED]
    token_orders = [{"order": order, "refunded": refunded_by_order(order)}
                    for order in orders_for_investor(request.user)]
    return render(request, "payments/portfolio.html", {"holdings": holdings, "commitments": open_rows, "now": now,
                                                       "token_portfolio": token_portfolio(user=request.user),
                                                       "token_orders": token_orders})


@login_required
@require_POST
def token_allocation_claim(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The portfolio's "Claim with wallet": a converted token warrant sent to one of the holder's wallets."""
    allocation = get_object_or_404(TokenAllocation.objects.filter(holder_is(request.user)), pk=pk)
    wallet = get_object_or_404(Wallet, pk=request.POST.get("wallet") or 0, user=request.user)
    try:
        allocation_claim(actor=Actor.from_request(request), allocation=allocation, wallet=wallet)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Claimed: the tokens are on their way to your wallet."))
    return redirect("payments:portfolio")


# --- the company's side -----------------------------------------------------------------------------------------


def _round_for_team(request: AuthenticatedRequest, slug: str, pk: int, *, edit: bool = False) -> tuple[Any, Round]:
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT if edit else None)
    round = get_object_or_404(Round, company=membership.company, pk=pk)
    return membership, round


@login_required
def round_commitments(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The founder's commitments table: filters, totals, the money committed over time, and the Regulation
    Crowdfunding actions (material change, early close)."""
    membership, round = _round_for_team(request, slug, pk)
    filterset = CommitmentFilter(request.GET, queryset=selectors.commitment_list_for_round(round=round))
    commitments = filterset.qs
    series = selectors.commitment_series(round=round)
    opened = round.opened_at.date() if round.opened_at else None
    if series and opened is not None and opened < series[0][0]:
        series.insert(0, (opened, Decimal(0), Decimal(0)))  # the running total starts from nothing on opening day
    return render(request, "payments/round_commitments.html", {
        "company": membership.company, "membership": membership, "round": round, "filter": filterset,
        "commitments": commitments, "totals": selectors.commitment_totals(commitments=commitments),
        # the chart counts live and accepted commitments only: say so when the round has only others
        "any_commitments": bool(series) or filterset.queryset.exists(),
        "can_edit": membership.role in CAN_EDIT,
        "chart": {"labels": [day.isoformat() for day, _, _ in series],
                  "daily": [str(amount) for _, amount, _ in series],
                  "running": [str(total) for _, _, total in series],
                  "target": str(round.target_amount),
                  "names": {"daily": _("Committed that day"), "running": _("Running total"), "target": _("Target")}},
        "material_form": MaterialChangeForm(), "early_form": EarlyCloseForm(),
        "escrow": services.escrow_balance(round=round),
    })


@login_required
def round_commitments_csv(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    membership, round = _round_for_team(request, slug, pk)
    filterset = CommitmentFilter(request.GET, queryset=selectors.commitment_list_for_round(round=round))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{round.company.slug}-{round.pk}-commitments.csv"'
    writer = csv.writer(response)
    writer.writerow(["reference", "investor", "email", "amount", "currency", "state", "method", "payment",
                     "signed_at", "created_at"])
    for commitment in filterset.qs:
        investment = commitment.investment
        payment = commitment.payments.all()[0] if commitment.payments.all() else None
        writer.writerow([commitment.reference, investment.stakeholder.name, commitment.investor.email,
                         f"{investment.amount:.2f}", investment.currency, investment.state, commitment.method,
                         payment.status if payment else "",
                         commitment.signed_at.isoformat() if commitment.signed_at else "",
                         commitment.created_at.isoformat()])
    return response


@login_required
@require_POST
def commitment_decline(request: AuthenticatedRequest, slug: str, pk: int, commitment_pk: int) -> HttpResponse:
    _membership, round = _round_for_team(request, slug, pk, edit=True)
    commitment = get_object_or_404(Commitment, pk=commitment_pk, investment__round=round)
    try:
        services.commitment_decline(actor=Actor.from_request(request), commitment=commitment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The commitment is declined and the investor's money returned."))
    return redirect("payments:round_commitments", slug=slug, pk=pk)


@login_required
@require_POST
def commitment_return_rest(request: AuthenticatedRequest, slug: str, pk: int, commitment_pk: int) -> HttpResponse:
    """Return to the investor what escrow still holds of a reversed or cancelled commitment (a partial dispute,
    or a refund made at the provider, took the rest)."""
    _membership, round = _round_for_team(request, slug, pk, edit=True)
    commitment = get_object_or_404(Commitment, pk=commitment_pk, investment__round=round)
    try:
        refund = services.commitment_return_rest(actor=Actor.from_request(request), commitment=commitment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(amount)s %(currency)s is on its way back to the investor.") % {
            "amount": refund.amount, "currency": refund.currency})
    return redirect("payments:round_commitments", slug=slug, pk=pk)


def _round_form_action(request: AuthenticatedRequest, slug: str, pk: int, form: Any, run: Any) -> HttpResponse:
    """Validate a founder's one-field form and run the service with its value; errors become a message."""
    _membership, round = _round_for_team(request, slug, pk, edit=True)
    try:
        if not form.is_valid():
            raise ValidationError([error for errors in form.errors.values() for error in errors])
        done = run(Actor.from_request(request), round, form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("payments:round_commitments", slug=slug, pk=pk)


@login_required
@require_POST
def round_material_change(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def run(actor: Actor, round: Round, data: dict[str, Any]) -> str:
        asked = services.round_announce_material_change(actor=actor, round=round, summary=data["summary"])
        return _("%(n)s investors were asked to reconfirm.") % {"n": asked}

    return _round_form_action(request, slug, pk, MaterialChangeForm(request.POST), run)


@login_required
@require_POST
def round_close_early(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def run(actor: Actor, round: Round, data: dict[str, Any]) -> str:
        services.round_close_early(actor=actor, round=round, closes_on=data["closes_on"])
        return _("The new deadline is set and investors are told.")

    return _round_form_action(request, slug, pk, EarlyCloseForm(request.POST), run)
