"""Tokens bought by card: the investor pays dollars by card, the platform's distributor buys on-chain for them.

The path of one order, each step held by a lock, a unique key or a constraint rather than by care:
1. `token_order_create`: an eligible investor orders `amount` dollars of tokens for one of their verified
   wallets, inside the sale's hard cap, the per-investor maximum and their Regulation Crowdfunding limit, counting
   the card orders not bought yet (the sale's row lock serialises orders). Writes the order and its payment.
2. The card is paid (the sandbox form, or Stripe's Payment Element in production); whatever the provider says
   reaches `payments.services.payment_apply`, which hands a token order's payment to `payment_applied` here under
   the order's and the payment's row locks. Success moves the order to PAID and writes the `sale.buy_for` outbox
   intent keyed by the order: a replayed webhook, reconciliation or a worker that died after the payment but
   before recording it all meet the same intent, so the tokens are bought once.
3. The outbox signs `buyFor*` with the distributor key (after the distributor's one approval of the sale, and on
   the devnet after minting the stablecoin it pays with). Confirmed: BOUGHT. Refused or reverted (the sale sold
   out, ended or paused in the meantime): NOT_BOUGHT and the whole payment is refunded to the card.
4. The tokens are the wallet's: the investor claims them like every buyer. What the contract pays back to the
   distributor for a wallet (refund mode: all of it; an oversubscribed pro-rata sale: the part that bought
   nothing) is announced by a `DistributorRefunded` event; `card_refunds_from_events` refunds that to the cards
   once the event is buried under CHAIN_CONFIRMATIONS blocks, once per event (the order names the event, and a
   payment has at most one live refund). `card_positions_settle` asks the contract to settle card buyers'
   positions after the sale ends, so that money does not wait for a claim the investor may never make.

The card money is not held in a Regulation Crowdfunding escrow: it pays back the stablecoin the distributor spent,
which the sale contract itself holds until the sale succeeds (and returns if it fails).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compliance.audit import Actor
from compliance.services import audit_record
from payments.choices import PaymentMethod, PaymentStatus, RefundReason, RefundStatus, TokenOrderState
from payments.models import Payment, Refund, TokenOrder
from payments.providers.base import PaymentData, PaymentProvider
from tokens import eligibility as sale_eligibility
from tokens import selectors as token_selectors
from tokens.choices import EligibilityMode, SaleState
from tokens.intents import intent_enqueue, intents_kick
from tokens.models import ChainEvent, ChainIntent, SaleEligibility, ScanCursor
from tokens.models import Sale as TokenSale
from tokens.selectors import InvestorPanel
from tokens.units import format_amount

logger = logging.getLogger(__name__)

RESERVING = (TokenOrderState.PENDING_PAYMENT, TokenOrderState.PAID)  # counted against the room until bought
BUY_PURPOSE = "sale.buy_for"
APPROVE_PURPOSE = "sale.distributor_approve"
FUND_PURPOSE = "distributor.fund"
SETTLE_PURPOSE = "sale.settle_card"


def card_sale_refusal(sale: TokenSale, now: datetime | None = None) -> str | None:
    """Why the sale takes no card order now, or None."""
    now = now or timezone.now()
    if not sale.accepts_card:
        return _("This sale does not take card payments.")
    if sale.state != SaleState.LIVE or not sale.address or not sale.starts_at <= now < sale.ends_at:
        return _("The sale is not open for purchases now.")
    if sale.payment_decimals < 2:
        return _("This sale's stablecoin cannot hold cents, so it cannot be paid by card.")
    return None


def _reserved(sale: TokenSale, investor: User) -> tuple[int, int]:
    """(everyone's, the investor's) card orders of the sale not bought yet, in stablecoin units."""
    totals = TokenOrder.objects.filter(sale=sale, state__in=RESERVING).aggregate(
        everyone=Sum("units"), mine=Sum("units", filter=Q(investor=investor)))
    return int(totals["everyone"] or 0), int(totals["mine"] or 0)


def card_wallets(sale: TokenSale, user: User, now: datetime | None = None) -> list[str]:
    """The investor's wallets a card purchase may be bought for: verified, eligible, and (allowlist mode) on the
    contract's allowlist already, so the distributor's purchase cannot be refused for the wallet."""
    decisions = sale_eligibility.wallet_decisions(sale, investor=user, now=now)
    wallets = [d.wallet for d in decisions.values() if d.investor_id == user.pk and d.allowed]
    if sale.eligibility_mode == EligibilityMode.ALLOWLIST:
        listed = {w.lower() for w in SaleEligibility.objects.filter(sale=sale, allowed=True, on_chain=True)
                  .values_list("wallet", flat=True)}
        wallets = [w for w in wallets if w.lower() in listed]
    return wallets


def card_limits(*, sale: TokenSale, user: User, panel: InvestorPanel) -> tuple[int, int]:
    """(least, most) one card order may buy now, in the stablecoin's base units: the investor's panel (what they
    paid on-chain, the room under the hard cap) less the card orders not bought yet."""
    everyone, mine = _reserved(sale, user)
    candidates = [panel.max_left - mine, panel.room - everyone]
    if panel.reg_cf_left is not None:
        candidates.append(panel.reg_cf_left - mine)
    return max(panel.minimum_left - mine, 1), max(min(candidates), 0)


def _money(units: int, sale: TokenSale) -> str:
    return format_amount(units, sale.payment_decimals, sale.payment_symbol)


@transaction.atomic
def token_order_create(*, actor: Actor, sale: TokenSale, wallet: str, amount: Decimal, provider: PaymentProvider,
                       now: datetime | None = None) -> TokenOrder:
    """An investor orders `amount` dollars of the sale's tokens by card, for one of their verified wallets."""
    user = actor.user
    if user is None:
        raise PermissionDenied(_("Sign in to buy tokens."))
    now = now or timezone.now()
    User.objects.select_for_update().filter(pk=user.pk).get()  # the Reg CF limit spans every offering
    sale = TokenSale.objects.select_for_update().select_related("token__company").get(pk=sale.pk)
    refusal = card_sale_refusal(sale, now)
    if refusal:
        raise ValidationError(refusal)
    from payments.services import dollars_and_cents_required

    dollars_and_cents_required(amount)
    panel = token_selectors.investor_panel(sale=sale, user=user, totals=token_selectors.sale_totals(sale), now=now)
    if not panel.eligibility.eligible:
        raise ValidationError(_(panel.eligibility.message))  # noqa: INT001 (a translated sentence already)
    wallets = {w.lower(): w for w in card_wallets(sale, user, now)}
    chosen = wallets.get(wallet.lower())
    if chosen is None:
        raise ValidationError({"wallet": _(
            "Choose one of your verified wallets that may buy in this sale (a newly approved wallet is usually "
            "on the sale's list within a minute).")})
    units = sale_eligibility.dollars_to_base_units(amount, sale.payment_decimals)
    least, most = card_limits(sale=sale, user=user, panel=panel)
    if units < least:
        raise ValidationError({"amount": _("The least you can buy now is %(least)s.") % {"least": _money(least, sale)}})
    if units > most:
        raise ValidationError({"amount": _("The most you can buy now is %(most)s.") % {"most": _money(most, sale)}})
    order = TokenOrder.objects.create(sale=sale, investor=user, wallet=chosen, amount=amount, units=units)
    Payment.objects.create(token_order=order, key=f"pay_{uuid.uuid4().hex}", provider=provider.name,
                           method=PaymentMethod.CARD, amount=amount, currency=order.currency)
    audit_record(actor=actor, action="payments.token_order", target=order, company_id=sale.token.company_id,
                 changes={"sale": sale.name, "amount": str(amount), "wallet": chosen})
    return order


def order_payment(order: TokenOrder) -> Payment | None:
    """The order's latest payment: the one to pay while it waits for one."""
    return order.payments.order_by("-pk").first()


@transaction.atomic
def token_order_cancel(*, actor: Actor, order: TokenOrder) -> TokenOrder:
    """The investor (or, for an order left unpaid too long, the platform) drops an order not paid for; a payment
    that went through anyway is refunded when the provider says so (`payment_applied`)."""
    order = TokenOrder.objects.select_for_update().select_related("sale__token").get(pk=order.pk)
    if actor.user is not None and order.investor_id != actor.user.pk:
        raise PermissionDenied(_("Only the investor can cancel this order."))
    if order.state == TokenOrderState.CANCELLED:
        return order
    if order.state != TokenOrderState.PENDING_PAYMENT:
        raise ValidationError(_("This order is paid for, so it can no longer be cancelled."))
    order.state = TokenOrderState.CANCELLED
    order.save(update_fields=["state", "updated_at"])
    from payments.services import queue_after_commit

    for payment in order.payments.filter(provider_id__isnull=False):
        queue_after_commit("payment_cancel", payment.pk)
    audit_record(actor=actor, action="payments.token_order_cancel", target=order,
                 company_id=order.sale.token.company_id, changes={})
    return order


def token_orders_expire(*, now: datetime | None = None) -> int:
    """Cancel the orders left unpaid for longer than TOKEN_ORDER_PAY_WITHIN, so an abandoned checkout stops
    holding room under the hard cap and the investor's maximum. Returns how many."""
    cutoff = (now or timezone.now()) - settings.TOKEN_ORDER_PAY_WITHIN
    stale = TokenOrder.objects.filter(state=TokenOrderState.PENDING_PAYMENT, created_at__lt=cutoff)
    for order in stale:
        token_order_cancel(actor=Actor.system(), order=order)
    return len(stale)


def token_payment_metadata(payment: Payment) -> tuple[dict[str, str], str, str]:
    """(metadata, description, transfer group) the provider is given for a token order's payment."""
    order = TokenOrder.objects.select_related("sale__token__company").get(pk=payment.token_order_pk)
    sale = order.sale
    return ({"payment": payment.key, "token_order": str(order.pk), "sale": str(sale.pk)},
            f"{sale.token.company.legal_name}: {sale.token.symbol} tokens", f"tokensale-{sale.pk}")


# --- what the provider tells us ----------------------------------------------------------------------------------


def payment_locked(found: Payment) -> tuple[Payment, TokenOrder]:
    """The order, then its payment, locked (the order every service here takes)."""
    order = TokenOrder.objects.select_for_update().select_related("sale__token").get(pk=found.token_order_pk)
    return Payment.objects.select_for_update().get(pk=found.pk), order


def payment_applied(*, payment: Payment, order: TokenOrder, data: PaymentData, provider: PaymentProvider,
                    now: datetime) -> Payment:
    """`payment_apply` for a token order's payment; the caller holds the order's and the payment's locks."""
    current, new = payment.move_forward(data, now), data.status
    if current is None:
        return payment
    if new == PaymentStatus.SUCCEEDED:
        if order.state == TokenOrderState.PENDING_PAYMENT:
            order.state = TokenOrderState.PAID
            order.save(update_fields=["state", "updated_at"])
            buy_enqueue(order)
        else:
            # Paid after the order was cancelled: the money goes straight back.
            _refund_request(payment, reason=RefundReason.CANCELLED)
    elif new == PaymentStatus.CANCELED and order.state == TokenOrderState.PENDING_PAYMENT:
        order.state = TokenOrderState.CANCELLED
        order.save(update_fields=["state", "updated_at"])
    audit_record(actor=Actor.system(), action="payments.payment_status", target=payment,
                 company_id=order.sale.token.company_id, changes={"from": current, "to": new,
                                                                  "provider": provider.name})
    return payment


def _refund_request(payment: Payment, *, reason: str, amount: Decimal | None = None) -> Refund | None:
    from payments.services import refund_request

    if amount is not None and amount <= 0:
        return None
    return refund_request(payment=payment, reason=reason, amount=amount)


def disputed(*, order: TokenOrder, reason: str, now: datetime, inquiry: bool = False) -> None:
    """A card dispute on a token order: tokens already bought cannot be taken back from the wallet, so compliance
    is told (the provider takes the money back by itself). An inquiry is flagged to be answered before it becomes
    a dispute."""
    note = (_("Card issuer inquiry: %(reason)s; answer it at the provider") if inquiry
            else _("Payment disputed: %(reason)s"))
    flagged(order=order, note=note % {"reason": reason}, now=now)


def flagged(*, order: TokenOrder, note: str, now: datetime) -> None:
    """Flag a card order for compliance, with why."""
    order.flagged_at = now
    order.flag_reason = note[:200]
    order.save(update_fields=["flagged_at", "flag_reason", "updated_at"])


# --- on the chain -------------------------------------------------------------------------------------------------


def buy_enqueue(order: TokenOrder) -> ChainIntent:
    """The distributor's purchase for the order, once: after its one approval of the sale (and, on the devnet,
    after minting the stablecoin it pays with)."""
    sale = order.sale
    chain_id = sale.chain_id
    before = intent_enqueue(chain_id=chain_id, purpose=APPROVE_PURPOSE, obj=sale, role="distributor")
    if chain_id == settings.DEVNET_CHAIN_ID:
        before = intent_enqueue(chain_id=chain_id, purpose=FUND_PURPOSE, obj=order, role="distributor",
                                depends_on=before)
    buy = intent_enqueue(chain_id=chain_id, purpose=BUY_PURPOSE, obj=order, role="distributor", depends_on=before)
    intents_kick()
    return buy


def buy_confirmed(order_pk: int) -> None:
    order = TokenOrder.objects.select_for_update().get(pk=order_pk)
    if order.state == TokenOrderState.PAID:
        order.state = TokenOrderState.BOUGHT
        order.save(update_fields=["state", "updated_at"])


def buy_failed(order_pk: int, error: str) -> None:
    """The sale refused the purchase: the whole payment goes back to the card."""
    order = TokenOrder.objects.select_for_update().get(pk=order_pk)
    if order.state != TokenOrderState.PAID:
        return
    order.state = TokenOrderState.NOT_BOUGHT
    order.buy_error = error[:300]
    order.save(update_fields=["state", "buy_error", "updated_at"])
    payment = order.payments.get(status=PaymentStatus.SUCCEEDED)
    _refund_request(payment, reason=RefundReason.NOT_BOUGHT)


def _buried_below() -> dict[int, int]:
    """Per chain, the highest block an event may be in to count: CHAIN_CONFIRMATIONS blocks under the scanner's."""
    return {cursor.chain_id: cursor.block_number - settings.CHAIN_CONFIRMATIONS
            for cursor in ScanCursor.objects.all()}


def card_refunds_from_events() -> int:
    """Refund to the cards what the sale contracts paid back to the distributor, once per event. Returns how
    many orders got a refund."""
    from tokens.chain import keys

    refunded = 0
    for chain_id, buried in _buried_below().items():
        distributor = keys.address("distributor", chain_id).lower()
        waiting = (ChainEvent.objects.filter(chain_id=chain_id, name="DistributorRefunded", removed=False,
                                             block_number__lte=buried, sale__isnull=False)
                   .exclude(pk__in=TokenOrder.objects.filter(refund_event__isnull=False).values("refund_event"))
                   .order_by("block_number", "log_index"))
        for event in waiting:
            if str(event.args.get("distributor", "")).lower() != distributor:
                continue
            refunded += _refund_event(event.pk)
    return refunded


@transaction.atomic
def _refund_event(event_pk: int) -> int:
    """Split one `DistributorRefunded(wallet, distributor, amount)` over the wallet's bought card orders in
    proportion to what each paid (rounded down, the last order takes the remainder, so the parts add up to the
    amount exactly) and refund each part, in cents rounded down, to its card."""
    event = ChainEvent.objects.select_related("sale").get(pk=event_pk)
    sale = event.sale
    if sale is None:
        return 0
    wallet = str(event.args["wallet"]).lower()
    orders = list(TokenOrder.objects.select_for_update()
                  .filter(sale=sale, wallet__iexact=wallet, state=TokenOrderState.BOUGHT, refund_event__isnull=True)
                  .order_by("pk"))
    if not orders:
        logger.info("card refunds: %s names no bought card order of %s", event, wallet)
        return 0
    amount = int(event.args["amount"])
    reason = RefundReason.SALE_REFUNDED if sale.state == SaleState.FAILED else RefundReason.NOT_ALLOCATED
    bought = sum(int(order.units) for order in orders)
    left = amount
    for index, order in enumerate(orders):
        part = left if index == len(orders) - 1 else amount * int(order.units) // bought
        left -= part
        order.refund_event = event
        order.refunded_units = min(part, int(order.units))
        if part >= int(order.units):
            order.state = TokenOrderState.REFUNDED
        order.save(update_fields=["refund_event", "refunded_units", "state", "updated_at"])
        dollars = sale_eligibility.base_units_to_dollars(part, sale.payment_decimals, rounding=ROUND_DOWN)
        _refund_request(order.payments.get(status=PaymentStatus.SUCCEEDED), reason=reason, amount=dollars)
    return len(orders)


def card_positions_settle() -> int:
    """After a sale is finalized or refunding, ask the contract (anyone may) to settle each card buyer's wallet
    that has not claimed yet, so the distributor's share comes back to the cards without waiting. One intent per
    wallet, keyed by its first bought order. Returns how many were written."""
    from tokens.models import Claim, SaleRefund

    written = 0
    # A failed sale is settled once the chain says it is refunding (the clock may mark it failed a little earlier).
    refunding = ChainEvent.objects.filter(name="RefundModeEntered", removed=False).values("sale")
    sales = (TokenSale.objects.filter(Q(state=SaleState.FINALIZED) | Q(state=SaleState.FAILED, pk__in=refunding))
             .filter(card_orders__state=TokenOrderState.BOUGHT).distinct())
    for sale in sales:
        settled = {w.lower() for w in Claim.objects.filter(sale=sale, removed=False).values_list("wallet", flat=True)}
        settled |= {w.lower() for w in SaleRefund.objects.filter(sale=sale, removed=False)
                    .values_list("wallet", flat=True)}
        first_orders: dict[str, TokenOrder] = {}
        for order in sale.card_orders.filter(state=TokenOrderState.BOUGHT).order_by("pk"):
            first_orders.setdefault(order.wallet.lower(), order)
        with transaction.atomic():
            for wallet, order in first_orders.items():
                if wallet in settled or ChainIntent.objects.filter(purpose=SETTLE_PURPOSE,
                                                                   object_key=f"tokenorder:{order.pk}").exists():
                    continue
                intent_enqueue(chain_id=sale.chain_id, purpose=SETTLE_PURPOSE, obj=order, role="distributor")
                written += 1
            if written:
                intents_kick()
    return written


def orders_for_investor(user: User) -> list[TokenOrder]:
    return list(TokenOrder.objects.filter(investor=user).select_related("sale__token__company")
                .prefetch_related("payments__refunds").order_by("-created_at", "-pk"))


def order_refunded(order: TokenOrder) -> Decimal:
    """What has been refunded (or is on its way) to the order's card (reads prefetched payments and refunds)."""
    return sum((refund.amount for payment in order.payments.all() for refund in payment.refunds.all()
                if refund.status != RefundStatus.FAILED), Decimal(0))
