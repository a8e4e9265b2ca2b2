"""Paying for tokens by card in the browser: the checkout (amount and wallet, within what the investor may buy), the
order's page (pay with the sandbox's test card or Stripe's Payment Element, then follow the purchase on-chain),
cancelling an order not paid for yet, and paying a priced token warrant's exercise price."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedRequest
from compliance.audit import Actor
from config.forms import form_add_service_errors
from payments import token_orders, warrant_exercises
from payments.choices import TokenOrderState
from payments.forms import CardForm, TokenOrderForm
from payments.models import Payment, TokenOrder
from payments.providers import payment_provider
from payments.views import card_payment_context, payment_started, sandbox_pay
from tokens import selectors as token_selectors
from tokens.choices import AllocationState
from tokens.models import Sale, TokenAllocation
from tokens.units import format_amount, tokens_for
from tokens.warrants import holder_is


def _amounts(sale: Sale, units: int) -> dict[str, str]:
    token = sale.token
    tokens = tokens_for(units, price=int(sale.price), token_decimals=token.decimals)
    return {"pay": format_amount(units, sale.payment_decimals, sale.payment_symbol),
            "tokens": format_amount(tokens, token.decimals, token.symbol)}


@login_required
def token_checkout(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """How many dollars of tokens, for which wallet; the order is written and the card is asked for next."""
    sale = token_selectors.sale_get_public(slug=slug, pk=pk)
    now = timezone.now()
    refusal = token_orders.card_sale_refusal(sale, now)
    panel = token_selectors.investor_panel(sale=sale, user=request.user, totals=token_selectors.sale_totals(sale),
                                           now=now)
    wallets = token_orders.card_wallets(sale, request.user, now) if refusal is None else []
    least, most = token_orders.card_limits(sale=sale, user=request.user, panel=panel)
    form = TokenOrderForm(request.POST or None, wallets=wallets, initial={"wallet": wallets[0] if wallets else ""})
    if request.method == "POST" and form.is_valid():
        try:
            order = token_orders.token_order_create(
                actor=Actor.from_request(request), sale=sale, wallet=form.cleaned_data["wallet"],
                amount=form.cleaned_data["amount"], provider=payment_provider(), now=now)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("payments:token_order", pk=order.pk)
    return render(request, "payments/token_checkout.html", {
        "sale": sale, "token": sale.token, "company": sale.token.company, "form": form, "refusal": refusal,
        "eligibility": panel.eligibility, "wallets": wallets, "least": least, "most": most,
        "least_text": format_amount(least, sale.payment_decimals, sale.payment_symbol),
        "most_text": format_amount(most, sale.payment_decimals, sale.payment_symbol),
        "tokens_per_dollar": _amounts(sale, 10**sale.payment_decimals)["tokens"],
    }, status=400 if form.errors else 200)


def _my_order(request: AuthenticatedRequest, pk: int) -> TokenOrder:
    return get_object_or_404(TokenOrder.objects.select_related("sale__token__company"), pk=pk,
                             investor=request.user)


def _order_context(order: TokenOrder, payment: Payment | None, **forms: Any) -> dict[str, Any]:
    sale = order.sale
    return {
        "order": order, "sale": sale, "token": sale.token, "company": sale.token.company, "payment": payment,
        "amounts": _amounts(sale, int(order.units)), "refunded": token_orders.order_refunded(order),
        **card_payment_context(forms.get("card_form")),
        "polling": order.state == TokenOrderState.PAID,
    }


@login_required
def token_order_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    order = _my_order(request, pk)
    payment = token_orders.order_payment(order)
    if payment is not None and order.state == TokenOrderState.PENDING_PAYMENT and not payment.provider_id:
        payment = payment_started(request, payment)
    context = _order_context(order, payment)
    if request.htmx and request.GET.get("status"):
        return render(request, "payments/_token_order_status.html", context)
    return render(request, "payments/token_order.html", context)


def _sandbox_card_paid(request: AuthenticatedRequest, payment: Payment | None, refusal: str | None) -> tuple[bool, CardForm]:
    """The sandbox's card form, posted for `payment` (in production the browser confirms with Stripe.js, and this is
    404): True when the payment went through or is on its way, else the form saying why not (`refusal` when the
    thing paid for no longer waits for a payment)."""
    from payments.providers.sandbox import SandboxProvider

    provider = payment_provider()
    if not isinstance(provider, SandboxProvider):
        raise Http404
    form = CardForm(request.POST)
    if payment is None or refusal is not None:
        form.add_error(None, refusal or _("Start the payment from this page first."))
        return False, form
    paid = form.is_valid() and sandbox_pay(
        form, payment, provider, lambda provider_id: provider.confirm_card(provider_id, number=form.cleaned_data["number"]))
    return paid, form


@login_required
@require_POST
def token_order_pay(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    order = _my_order(request, pk)
    waiting = order.state == TokenOrderState.PENDING_PAYMENT
    paid, form = _sandbox_card_paid(request, token_orders.order_payment(order),
                                    None if waiting else _("This order is not waiting for a payment."))
    if paid:
        return redirect("payments:token_order", pk=pk)
    order.refresh_from_db()
    return render(request, "payments/token_order.html",
                  _order_context(order, token_orders.order_payment(order), card_form=form), status=400)


@login_required
@require_POST
def token_order_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    order = _my_order(request, pk)
    try:
        token_orders.token_order_cancel(actor=Actor.from_request(request), order=order)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your order is cancelled; nothing was charged."))
    return redirect("payments:token_order", pk=pk)


# --- a priced token warrant's exercise ----------------------------------------------------------------------------


def _my_allocation(request: AuthenticatedRequest, pk: int) -> TokenAllocation:
    return get_object_or_404(TokenAllocation.objects.filter(holder_is(request.user))
                             .exclude(exercise_price=None).select_related("token__company", "warrant__investment__round"),
                             pk=pk)


def _exercise_context(allocation: TokenAllocation, payment: Payment | None, **forms: Any) -> dict[str, Any]:
    token = allocation.token
    return {
        "allocation": allocation, "warrant": allocation.warrant, "token": token, "company": token.company,
        "payment": payment, "tokens": format_amount(int(allocation.amount), token.decimals, token.symbol),
        **card_payment_context(forms.get("card_form")),
        "unpaid": allocation.state == AllocationState.UNPAID,
        "card_payable": warrant_exercises.card_payable(allocation),
        "below_smallest_charge": warrant_exercises.below_smallest_charge(allocation),
    }


@login_required
@require_POST
def warrant_exercise_start(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The portfolio's "Pay to exercise": the payment written (or the open one found), then its page."""
    allocation = _my_allocation(request, pk)
    try:
        warrant_exercises.exercise_start(actor=Actor.from_request(request), allocation=allocation,
                                         provider=payment_provider())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("payments:warrant_exercise", pk=pk)


@login_required
def warrant_exercise(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    allocation = _my_allocation(request, pk)
    payment = _exercise_payment(allocation)
    if payment is not None and allocation.state == AllocationState.UNPAID and not payment.provider_id:
        payment = payment_started(request, payment)
    return render(request, "payments/warrant_exercise.html", _exercise_context(allocation, payment))


def _exercise_payment(allocation: TokenAllocation) -> Payment | None:
    """The payment the page shows: the open one while the tokens wait for a payment (a disputed one is not paid
    again), else the one the tokens stand on."""
    if allocation.state == AllocationState.UNPAID:
        return allocation.payments.filter(status__in=warrant_exercises.OPEN).order_by("-pk").first()
    return warrant_exercises.paying_payment(allocation)


@login_required
@require_POST
def warrant_exercise_pay(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    allocation = _my_allocation(request, pk)
    waiting = allocation.state == AllocationState.UNPAID
    paid, form = _sandbox_card_paid(request, _exercise_payment(allocation) if waiting else None,
                                    None if waiting else _("These tokens are not waiting for a payment."))
    if paid:
        return redirect("payments:warrant_exercise", pk=pk)
    allocation.refresh_from_db()
    return render(request, "payments/warrant_exercise.html",
                  _exercise_context(allocation, _exercise_payment(allocation), card_form=form), status=400)
