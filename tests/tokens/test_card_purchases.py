"""Tokens bought by card (issue 8, part 6), against the real sale contract on the devnet, the real outbox and scanner
and the sandbox payment provider: a card payment buys once however often the provider tells us, a purchase the
sale refuses refunds the card, and what an oversubscribed or failed sale pays back to the distributor goes back to
the card, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from web3 import Web3

from accounts.models import User
from compliance.audit import Actor
from compliance.models import AuditEvent
from contracts import load_artifact
from payments import services, token_orders
from payments.choices import PaymentStatus, RefundStatus, TokenOrderState
from payments.models import Payment, Refund, SandboxEvent, TokenOrder
from payments.providers.sandbox import SandboxProvider
from tests.factories import UserFactory
from tests.payments.replay import disputes_replayed
from tests.tokens import factories
from tests.tokens.test_eligibility import (
    INVESTOR_A,
    INVESTOR_B,
    USDC,
    Deployed,
    approved_with_wallet,
    chain_moment,
    deploy_sale,
    outbox_settle,
    send,
    travel_to,
)
from tokens import selectors as token_selectors
from tokens.chain import client, keys
from tokens.chain.scanner import chain_scan
from tokens.models import ChainEvent, ChainIntent, Purchase, Sale, WatchedContract

pytestmark = pytest.mark.django_db(transaction=True)  # the provider is called outside any transaction

CHAIN_ID = 31337
VISA = "4242424242424242"


@pytest.fixture(autouse=True)
def _sandbox(settings: Any) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PAYMENTS_SANDBOX_AUTO_DELIVER = False


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider()


def card_sale(w3: Web3, **terms: Any) -> Deployed:
    deployed = deploy_sale(w3, stablecoin=True, accepts_card=True, **terms)
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=deployed.contract.address, kind="sale",
                                   start_block=w3.eth.block_number, sale=deployed.sale)
    return deployed


def investor(w3: Web3, address: str, officer: User, capture: Any) -> User:
    """Approved by compliance; the wallet is on the sale's allowlist on-chain."""
    user = approved_with_wallet(address, officer, capture)
    outbox_settle(w3)
    return user


def order_paid(deployed: Deployed, user: User, dollars: str, sandbox: SandboxProvider, capture: Any,
               wallet: str = INVESTOR_A) -> TokenOrder:
    """The investor orders and pays with the test card, as the sale page does."""
    now = chain_moment(deployed.w3)
    order = token_orders.token_order_create(actor=Actor(user=user), sale=deployed.sale, wallet=wallet,
                                            amount=Decimal(dollars), provider=sandbox, now=now)
    payment = services.payment_create_outside_transaction(payment=order.payments.get(), provider=sandbox)
    with capture(execute=True):
        services.payment_apply(data=sandbox.confirm_card(payment.provider_id or "", number=VISA), provider=sandbox)
    order.refresh_from_db()
    return order


def card_limits(deployed: Deployed, user: User, now: Any) -> tuple[int, int]:
    panel = token_selectors.investor_panel(sale=deployed.sale, user=user,
                                           totals=token_selectors.sale_totals(deployed.sale), now=now)
    return token_orders.card_limits(sale=deployed.sale, user=user, panel=panel)


def scan_buried(w3: Web3) -> None:
    """Scan, then bury what was read under enough blocks for card refunds to act on it, and scan again."""
    chain_scan(CHAIN_ID)
    for _ in range(3):
        client.rpc("evm_mine", w3=w3)
    chain_scan(CHAIN_ID)


def position(deployed: Deployed, wallet: str) -> tuple[str, int]:
    distributor, contributed = deployed.contract.functions.distributorShareOf(wallet).call()
    return distributor, contributed


@pytest.fixture
def officer() -> User:
    from tests.factories import UserFactory

    return UserFactory(is_compliance_officer=True)


def test_a_card_payment_for_tokens_buys_once(devnet: Web3, officer: User, sandbox: SandboxProvider,
                                             django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = order_paid(deployed, priya, "250.00", sandbox, django_capture_on_commit_callbacks)
    assert order.state == TokenOrderState.PAID
    assert int(order.units) == 250 * USDC

    # The provider says it again and again: the webhooks (three deliveries of every event), the confirmation's
    # answer replayed, reconciliation. One purchase intent, one on-chain purchase.
    payment = order.payments.get()
    assert SandboxEvent.objects.filter(type="payment_intent.succeeded").exists()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            sandbox.deliver_pending()
            SandboxEvent.objects.update(delivered_at=None)
        services.payment_apply(data=sandbox.payment_get(payment.provider_id or ""), provider=sandbox)
        services.payments_reconcile(provider=sandbox)
    assert ChainIntent.objects.filter(purpose="sale.buy_for").count() == 1

    outbox_settle(devnet)
    order.refresh_from_db()
    assert order.state == TokenOrderState.BOUGHT
    assert position(deployed, INVESTOR_A) == (keys.address("distributor", CHAIN_ID), 250 * USDC)
    assert deployed.contract.functions.totalRaised().call() == 250 * USDC
    chain_scan(CHAIN_ID)
    purchase = Purchase.objects.get(sale=deployed.sale)
    assert (purchase.investor, int(purchase.amount)) == (priya, 250 * USDC)
    assert purchase.payer.lower() == keys.address("distributor", CHAIN_ID).lower()
    assert not Refund.objects.exists()


def test_a_dispute_of_a_card_order_flags_it_once_an_inquiry_only_asks(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = order_paid(deployed, priya, "250.00", sandbox, django_capture_on_commit_callbacks)
    payment = order.payments.get()
    dispute_id = sandbox.dispute(payment.provider_id or "", reason="unrecognized", inquiry=True)
    sandbox.deliver_pending()
    order.refresh_from_db()
    assert order.flag_reason == "Card issuer inquiry: unrecognized; answer it at the provider"
    assert AuditEvent.objects.filter(action="payments.dispute").count() == 0

    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="needs_response", reason="unrecognized")
    sandbox.deliver_pending()
    disputes_replayed(sandbox, backwards=True)  # said again, in any order: flagged and audited once
    order.refresh_from_db()
    assert order.flag_reason == "Payment disputed: unrecognized"
    assert AuditEvent.objects.filter(action="payments.dispute").count() == 1
    assert ChainIntent.objects.filter(purpose="sale.buy_for").count() == 1  # the tokens were bought, once


def test_a_payment_the_worker_never_recorded_is_bought_by_reconciliation(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    """The card went through at the provider, and the worker died before it recorded that (no webhook came)."""
    deployed = card_sale(devnet)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = token_orders.token_order_create(actor=Actor(user=priya), sale=deployed.sale, wallet=INVESTOR_A,
                                            amount=Decimal("300"), provider=sandbox, now=chain_moment(devnet))
    payment = services.payment_create_outside_transaction(payment=order.payments.get(), provider=sandbox)
    sandbox.confirm_card(payment.provider_id or "", number=VISA)  # never applied
    assert TokenOrder.objects.get().state == TokenOrderState.PENDING_PAYMENT
    with django_capture_on_commit_callbacks(execute=True):
        assert services.payments_reconcile(provider=sandbox) == 1
        assert services.payments_reconcile(provider=sandbox) == 0
    outbox_settle(devnet)
    assert TokenOrder.objects.get().state == TokenOrderState.BOUGHT
    assert position(deployed, INVESTOR_A)[1] == 300 * USDC
    assert ChainIntent.objects.filter(purpose="sale.buy_for").count() == 1


def test_a_purchase_the_sale_refuses_refunds_the_whole_payment(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = order_paid(deployed, priya, "250.00", sandbox, django_capture_on_commit_callbacks)
    # The sale ends before the distributor's purchase is sent: the contract refuses it (SaleEnded).
    travel_to(devnet, int(deployed.sale.ends_at.timestamp()) + 1)
    with django_capture_on_commit_callbacks(execute=True):
        factories.outbox_settle(devnet)  # the failure is the point
    order.refresh_from_db()
    assert order.state == TokenOrderState.NOT_BOUGHT
    assert "SaleEnded" in order.buy_error
    [refund] = Refund.objects.filter(payment__token_order=order)
    assert (refund.amount, refund.status, refund.reason) == (Decimal("250.00"), RefundStatus.SUCCEEDED, "not_bought")
    assert deployed.contract.functions.totalRaised().call() == 0


def test_an_oversubscribed_sale_refunds_the_unallocated_part_to_the_card_once(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    # Hard cap 1,000: Priya pays 600 by card, Raj 900 from his wallet; T = 1,500, so each gets two thirds.
    deployed = card_sale(devnet, pro_rata=True, hardCap=1_000 * USDC, softCap=100 * USDC)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    investor(devnet, INVESTOR_B, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = order_paid(deployed, priya, "600.00", sandbox, django_capture_on_commit_callbacks)
    outbox_settle(devnet)
    deployed.pay(INVESTOR_B, 900 * USDC)
    send(devnet, deployed.contract.functions.buy(900 * USDC), INVESTOR_B)
    travel_to(devnet, int(deployed.sale.ends_at.timestamp()) + 1)
    send(devnet, deployed.contract.functions.finalize(), keys.address("eligibility", CHAIN_ID))
    scan_buried(devnet)
    deployed.sale.refresh_from_db()
    assert deployed.sale.state == "finalized"

    # The platform settles Priya's position itself (she may never claim): 400 paid, 200 back to the distributor.
    with django_capture_on_commit_callbacks(execute=True):
        assert token_orders.card_positions_settle() == 1
        assert token_orders.card_positions_settle() == 0
    outbox_settle(devnet)
    scan_buried(devnet)
    [event] = ChainEvent.objects.filter(name="DistributorRefunded")
    assert int(event.args["amount"]) == 200 * USDC
    with django_capture_on_commit_callbacks(execute=True):
        assert token_orders.card_refunds_from_events() == 1
        assert token_orders.card_refunds_from_events() == 0
    order.refresh_from_db()
    assert (order.state, int(order.refunded_units or 0), order.refund_event) == (TokenOrderState.BOUGHT,
                                                                              200 * USDC, event)
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.status, refund.reason) == (Decimal("200.00"), RefundStatus.SUCCEEDED,
                                                             "not_allocated")
    assert deployed.contract.functions.totalRaised().call() == 1_500 * USDC
    # The tokens are Priya's wallet's: 400 TUSD at 0.5 TUSD a token.
    token = devnet.eth.contract(address=deployed.sale.token.address, abi=load_artifact("TrancheToken").abi)
    assert token.functions.balanceOf(INVESTOR_A).call() == 800 * 10**18


def test_a_failed_sale_refunds_the_whole_card_payment(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet, softCap=1_000 * USDC)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    order = order_paid(deployed, priya, "600.00", sandbox, django_capture_on_commit_callbacks)
    outbox_settle(devnet)
    travel_to(devnet, int(deployed.sale.ends_at.timestamp()) + 1)
    send(devnet, deployed.contract.functions.enterRefundMode(), INVESTOR_B)
    scan_buried(devnet)
    with django_capture_on_commit_callbacks(execute=True):
        token_orders.card_positions_settle()
    outbox_settle(devnet)
    scan_buried(devnet)
    with django_capture_on_commit_callbacks(execute=True):
        assert token_orders.card_refunds_from_events() == 1
    order.refresh_from_db()
    assert order.state == TokenOrderState.REFUNDED
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.status, refund.reason) == (Decimal("600.00"), RefundStatus.SUCCEEDED,
                                                             "sale_refunded")


def test_bad_card_orders_are_refused_and_write_nothing(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)  # minimum 100, maximum 4,000 per investor
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)

    # The platform's clock, set by hand: the chain's may be anywhere after an earlier test's time travel.
    opens = deployed.sale.starts_at

    def refused(amount: str, wallet: str = INVESTOR_A, now: Any = opens + timedelta(seconds=1)) -> str:
        with pytest.raises(ValidationError) as caught:
            token_orders.token_order_create(actor=Actor(user=priya), sale=deployed.sale, wallet=wallet,
                                            amount=Decimal(amount), provider=sandbox, now=now)
        return " ".join(caught.value.messages)

    assert "not open" in refused("200", now=opens - timedelta(seconds=1))
    assert "least you can buy now is 100" in refused("99.99")
    assert "most you can buy now is 4,000" in refused("4000.01")
    assert "dollars and cents" in refused("100.001")
    assert "payments start at $0.50" in refused("0.49")
    assert "verified wallets" in refused("200", wallet=INVESTOR_B)
    deployed.sale.accepts_card = False
    deployed.sale.save()
    assert "does not take card payments" in refused("200")
    assert not TokenOrder.objects.exists()
    assert not Payment.objects.exists()


def test_the_api_orders_tokens_by_card_for_stripe_js_and_cancels(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)  # minimum 100, maximum 4,000 per investor
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    # The platform's clock is the wall clock here: the sale opened a minute ago (the chain's time is not asked).
    Sale.objects.filter(pk=deployed.sale.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    browser = Client()
    browser.force_login(priya)
    create = reverse("api-token-order-create", args=[deployed.sale.pk])

    answer = browser.post(create, {"wallet": INVESTOR_A, "amount": "4000.01"}, content_type="application/json")
    assert answer.status_code == 400
    assert "most you can buy now is 4,000" in answer.content.decode()
    answer = browser.post(create, {"wallet": INVESTOR_B, "amount": "250"}, content_type="application/json")
    assert answer.status_code == 400
    assert "verified wallets" in answer.content.decode()
    assert not TokenOrder.objects.exists()
    assert not Payment.objects.exists()

    answer = browser.post(create, {"wallet": INVESTOR_A.lower(), "amount": "250.00"}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    order = answer.json()
    assert (order["state"], order["amount"], order["units"], order["wallet"]) == (
        "pending_payment", "250.00", str(250 * USDC), INVESTOR_A)
    assert order["payment"]["client_secret"]
    assert order["payment"]["status"] == "requires_payment"
    assert [o["id"] for o in browser.get(reverse("api-token-orders")).json()] == [order["id"]]
    detail = reverse("api-token-order", args=[order["id"]])
    assert browser.get(detail).json()["payment"]["provider_id"] == order["payment"]["provider_id"]  # the same one

    browser.force_login(UserFactory())  # someone else's order does not exist for them
    assert browser.get(detail).status_code == 404
    assert browser.post(reverse("api-token-order-cancel", args=[order["id"]])).status_code == 404
    assert browser.get(reverse("api-token-orders")).json() == []

    browser.force_login(priya)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = browser.post(reverse("api-token-order-cancel", args=[order["id"]])).json()
    assert (cancelled["state"], cancelled["payment"]) == ("cancelled", None)
    assert Payment.objects.get().status == PaymentStatus.CANCELED  # the intent was cancelled at the provider


def test_an_order_left_unpaid_expires_and_frees_its_room(
        devnet: Web3, officer: User, sandbox: SandboxProvider, django_capture_on_commit_callbacks: Any) -> None:
    deployed = card_sale(devnet)
    priya = investor(devnet, INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    now = chain_moment(devnet)
    order = token_orders.token_order_create(actor=Actor(user=priya), sale=deployed.sale, wallet=INVESTOR_A,
                                            amount=Decimal("4000"), provider=sandbox, now=now)
    services.payment_create_outside_transaction(payment=order.payments.get(), provider=sandbox)
    assert card_limits(deployed, priya, now) == (1, 0)  # the order holds it all
    with django_capture_on_commit_callbacks(execute=True):
        wall = order.created_at  # the order's own clock, not the chain's (which the test moved ahead)
        assert token_orders.token_orders_expire(now=wall + timedelta(minutes=59)) == 0
        assert token_orders.token_orders_expire(now=wall + timedelta(minutes=61)) == 1
    order.refresh_from_db()
    assert order.state == TokenOrderState.CANCELLED
    assert order.payments.get().status == "canceled"  # at the provider too: it can no longer be paid
    assert card_limits(deployed, priya, now) == (100 * USDC, 4_000 * USDC)
