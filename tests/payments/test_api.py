"""Investing over the API, against the real database and the sandbox provider: commit, sign and pay; refusals that
write nothing; cancelling, declining and reconfirming; another investor's commitment not found; the company team's
list; the webhook endpoint (signature first, each event stored once); and the Stripe provider's answers."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from compliance.models import InvestmentRecord
from compliance.selectors import investment_limit_for
from equity import services as equity_services
from equity.models import Investment
from payments import services
from payments.models import (
    Commitment,
    Payment,
    Refund,
    SandboxEvent,
    SandboxPayment,
    SandboxRefund,
    WebhookEvent,
)
from payments.providers.sandbox import CARD_DECLINED_FUNDS, CARD_SUCCEEDS, SandboxProvider
from tests.factories import MembershipFactory, UserFactory
from tests.payments.conftest import approved_investor, open_reg_cf_round
from tests.payments.localstripe import API_KEY, localstripe_url  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # the views call the provider after their transaction commits


def post(client: Client, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(path, data or {}, content_type="application/json")


def commit(client: Client, round: Any, amount: str = "5000.00", method: str = "card") -> Any:
    return post(client, f"/api/v1/rounds/{round.pk}/commitments/", {"amount": amount, "method": method})


def committed(client: Client, round: Any, amount: str = "5000.00", *, signed: bool = True) -> int:
    response = commit(client, round, amount)
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    if signed:
        assert post(client, f"/api/v1/commitments/{pk}/sign/", {"signed_name": "Sam Rivera"}).status_code == 200
    return int(pk)


def paid(client: Client, pk: int, card: str = CARD_SUCCEEDS) -> Any:
    return post(client, f"/api/v1/commitments/{pk}/pay/", {"number": card})


def written() -> tuple[int, ...]:
    return (Investment.objects.count(), Commitment.objects.count(), Payment.objects.count(),
            InvestmentRecord.objects.count(), SandboxPayment.objects.count())


def test_sam_commits_signs_and_pays_by_card_and_the_commitment_is_funded(client_for) -> None:
    lumen, round = open_reg_cf_round()
    client = client_for(approved_investor())
    response = commit(client, round, "5000.00")
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["method"], body["state"], body["payment_status"]) == (
        "5000.00", "USD", "card", "pending_payment", "requires_payment")
    assert (body["round"], body["round_name"], body["company"]) == (round.pk, "Seed", lumen.company.slug)
    cutoff = services.cancellation_cutoff(round)
    assert cutoff is not None
    assert body["cancellation_cutoff"] == cutoff.isoformat().replace("+00:00", "Z")
    assert body["reconfirm_by"] is None
    # The provider is asked for the payment only once the agreement is signed, as on the pages.
    assert (body["payment"]["provider"], body["payment"]["provider_id"], body["payment"]["client_secret"]) == (
        "sandbox", None, "")
    assert not SandboxPayment.objects.exists()
    pk = body["id"]

    refused = paid(client, pk)
    assert refused.status_code == 400
    assert refused.json() == {"detail": ["Sign the subscription agreement first."]}
    assert not SandboxPayment.objects.exists()

    signed = post(client, f"/api/v1/commitments/{pk}/sign/", {"signed_name": "  Sam   Rivera "})
    assert signed.status_code == 200
    commitment = Commitment.objects.get()
    assert signed.json()["signed_name"] == "Sam Rivera"
    assert signed.json()["agreement_sha256"] == hashlib.sha256(services.agreement_pdf(commitment)).hexdigest()
    provider_id = SandboxPayment.objects.get().provider_id
    assert (signed.json()["payment"]["provider_id"], signed.json()["payment"]["client_secret"]) == (
        provider_id, f"{provider_id}_secret")

    response = paid(client, pk, "4242 4242 4242 4242")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["payment_status"]) == ("funded", "succeeded")
    assert services.escrow_balance(round=round).held == Decimal("5000.00")

    [mine] = client.get("/api/v1/commitments/").json()
    assert (mine["id"], mine["state"], mine["payment_status"]) == (pk, "funded", "succeeded")
    [payment_row] = client.get(f"/api/v1/commitments/{pk}/payments/").json()
    assert (payment_row["status"], payment_row["amount"], payment_row["last4"]) == ("succeeded", "5000.00", "4242")
    assert client.get(f"/api/v1/commitments/{pk}/refunds/").json() == []
    documents = client.get(f"/api/v1/commitments/{pk}/documents/").json()
    assert [document["kind"] for document in documents] == ["agreement", "receipt"]
    assert documents[0]["url"] == f"/api/v1/commitments/{pk}/documents/agreement/"
    pdf = client.get(documents[0]["url"], HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{commitment.reference}-agreement.pdf"'
    content = b"".join(pdf.streaming_content)
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == documents[0]["sha256"]


def test_a_declined_card_is_a_failed_payment_the_investor_can_try_again(client_for) -> None:
    """Decided: a declined card answers 200 (the request was carried out) with the payment failed and why; a card
    number that cannot be a card is a 400 on `number`, and nothing reaches the provider."""
    _, round = open_reg_cf_round()
    client = client_for(approved_investor())
    pk = committed(client, round, "1000.00")
    declined = paid(client, pk, CARD_DECLINED_FUNDS)
    assert declined.status_code == 200
    body = declined.json()
    assert (body["state"], body["payment_status"]) == ("pending_payment", "failed")
    assert (body["payment"]["failure_code"], body["payment"]["failure_message"]) == (
        "insufficient_funds", "Your card has insufficient funds.")
    invalid = paid(client, pk, "4242 4242 4242 4241")
    assert invalid.status_code == 400
    assert invalid.json() == {"number": ["Your card number is invalid."]}
    assert paid(client, pk).json()["state"] == "funded"
    assert paid(client, pk).json() == {"detail": ["This commitment is funded; there is nothing to pay."]}


def test_a_bank_debit_is_processing_until_it_settles(client_for) -> None:
    _, round = open_reg_cf_round()
    client = client_for(approved_investor())
    response = commit(client, round, "2000.00", method="us_bank_account")
    pk = response.json()["id"]
    post(client, f"/api/v1/commitments/{pk}/sign/", {"signed_name": "Sam Rivera"})
    missing = post(client, f"/api/v1/commitments/{pk}/pay/", {"number": CARD_SUCCEEDS})
    assert missing.status_code == 400
    assert set(missing.json()) == {"routing_number", "account_number"}
    response = post(client, f"/api/v1/commitments/{pk}/pay/",
                    {"routing_number": "110000000", "account_number": "000123456789"})
    assert (response.json()["state"], response.json()["payment_status"]) == ("processing", "processing")
    sandbox = SandboxProvider()
    sandbox.settle_due(timezone.now() + timedelta(days=1))
    sandbox.deliver_pending()
    assert client.get(f"/api/v1/commitments/{pk}/").json()["state"] == "funded"


@pytest.mark.parametrize(("amount", "field", "message"), [
    ("7500.01", "amount", "above what your Regulation Crowdfunding investment limit leaves you"),
    ("50", "amount", "The minimum investment is $100.00."),
    ("0", "amount", "Enter an amount in dollars and cents, above zero."),
    ("10.005", "amount", "Ensure that there are no more than 2 decimal places."),
])
def test_a_commitment_outside_the_rules_is_refused_and_writes_nothing(client_for, amount, field, message) -> None:
    _, round = open_reg_cf_round()
    response = commit(client_for(approved_investor()), round, amount)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in response.json()[field][0]
    assert written() == (0, 0, 0, 0, 0)


def test_an_investor_not_verified_is_refused_and_nothing_is_written(client_for) -> None:
    _, round = open_reg_cf_round()
    response = commit(client_for(UserFactory()), round, "500.00")
    assert response.status_code == 400
    # The key is the service's non-field key ("__all__" today); the message is what the investor reads.
    assert list(response.json().values()) == [["Your identity verification must be approved before you can invest."]]
    assert written() == (0, 0, 0, 0, 0)


def test_only_an_open_round_takes_commitments(client_for) -> None:
    lumen, round = open_reg_cf_round()
    client = client_for(approved_investor())
    assert commit(client, round, method="paypal").json() == {"method": ['"paypal" is not a valid choice.']}
    equity_services.round_start_closing(actor=lumen.actor, round=round)
    response = commit(client, round)
    assert response.status_code == 400
    assert response.json() == {"detail": ["This round is not taking commitments; it is closing."]}
    draft = equity_services.round_create(actor=lumen.actor, company=lumen.company, name="Bridge", kind="safe",
                                         target_amount=Decimal(100_000), minimum_amount=Decimal(50_000),
                                         maximum_amount=Decimal(200_000), instrument="post_money_safe",
                                         valuation_cap=Decimal(5_000_000))
    assert commit(client, draft).status_code == 404  # not published yet
    assert commit(client, type("Gone", (), {"pk": 999_999})()).status_code == 404
    assert written() == (0, 0, 0, 0, 0)


def test_cancelling_inside_the_window_refunds_the_money(client_for) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    client = client_for(sam)
    pk = committed(client, round, "2000.00")
    paid(client, pk)
    assert investment_limit_for(user=sam).remaining == Decimal("5500.00")
    response = post(client, f"/api/v1/commitments/{pk}/cancel/")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["cancel_reason"]) == ("refunded", "cancelled")
    assert response.json()["cancelled_at"] is not None
    [refund] = client.get(f"/api/v1/commitments/{pk}/refunds/").json()
    assert (refund["amount"], refund["status"], refund["reason"]) == ("2000.00", "succeeded", "cancelled")
    assert SandboxRefund.objects.get().amount == Decimal("2000.00")
    assert investment_limit_for(user=sam).remaining == Decimal("7500.00")
    again = post(client, f"/api/v1/commitments/{pk}/cancel/")
    assert again.json() == {"detail": ["This commitment is refunded and cannot be cancelled."]}
    assert Refund.objects.count() == 1


def test_after_the_cutoff_a_commitment_is_final(client_for) -> None:
    _, round = open_reg_cf_round(closes_on=timezone.localdate() + timedelta(days=1))
    client = client_for(approved_investor())
    pk = committed(client, round, "700.00", signed=False)
    response = post(client, f"/api/v1/commitments/{pk}/cancel/")
    assert response.status_code == 400
    assert "final 48 hours before the deadline" in response.json()["detail"][0]
    assert Investment.objects.get().state == "pending_payment"


def test_reconfirming_after_a_material_change(client_for) -> None:
    lumen, round = open_reg_cf_round()
    client = client_for(approved_investor())
    pk = committed(client, round, "700.00")
    services.round_announce_material_change(actor=lumen.actor, round=round, summary="The valuation cap is lower.")
    assert client.get(f"/api/v1/commitments/{pk}/").json()["reconfirm_by"] is not None
    response = post(client, f"/api/v1/commitments/{pk}/reconfirm/")
    assert response.status_code == 200
    assert response.json()["reconfirmed_at"] is not None


def test_another_investors_commitment_is_not_found_and_stays_as_it_was(client_for) -> None:
    lumen, round = open_reg_cf_round()
    sam = client_for(approved_investor())
    pk = committed(sam, round, "1000.00", signed=False)
    eve = client_for(approved_investor("Eve Other"))
    for path in ["", "payments/", "refunds/", "documents/", "documents/agreement/"]:
        assert eve.get(f"/api/v1/commitments/{pk}/{path}").status_code == 404, path
    for action, data in [("sign", {"signed_name": "Eve Other"}), ("cancel", {}), ("reconfirm", {}),
                         ("pay", {"number": CARD_SUCCEEDS})]:
        assert post(eve, f"/api/v1/commitments/{pk}/{action}/", data).status_code == 404, action
    assert eve.get("/api/v1/commitments/").json() == []
    commitment = Commitment.objects.select_related("investment").get()
    assert (commitment.investment.state, commitment.signed_at, commitment.cancelled_at) == (
        "pending_payment", None, None)
    assert Payment.objects.get().status == "requires_payment"
    assert not SandboxPayment.objects.exists()
    # Nor may the founder act as the investor: the company's team reads documents, nothing else of it.
    founder = client_for(lumen.owner.user)
    assert post(founder, f"/api/v1/commitments/{pk}/cancel/").status_code == 404
    assert founder.get(f"/api/v1/commitments/{pk}/documents/").status_code == 200


def test_the_founder_sees_the_rounds_commitments_and_another_companys_founder_does_not(client_for) -> None:
    lumen, round = open_reg_cf_round()
    sam = client_for(approved_investor())
    funded = committed(sam, round, "5000.00")
    paid(sam, funded)
    committed(client_for(approved_investor("Ann One")), round, "300.00", signed=False)
    path = f"/api/v1/companies/{lumen.company.slug}/rounds/{round.pk}/commitments/"
    founder = client_for(lumen.owner.user)
    listed = founder.get(path).json()
    assert listed["count"] == 2
    ann, sam_row = listed["results"]  # newest first
    assert (sam_row["id"], sam_row["investor_name"], sam_row["amount"], sam_row["state"],
            sam_row["payment_status"]) == (funded, "Sam Rivera", "5000.00", "funded", "succeeded")
    assert sam_row["investor_email"].startswith("sam-")
    assert (ann["investor_name"], ann["state"], ann["payment_status"]) == ("Ann One", "pending_payment",
                                                                          "requires_payment")
    assert [row["id"] for row in founder.get(path, {"state": "funded"}).json()["results"]] == [funded]
    assert [row["id"] for row in founder.get(path, {"q": "ann"}).json()["results"]] == [ann["id"]]

    other = MembershipFactory(role="owner")
    outsider = client_for(other.user)
    assert outsider.get(path).status_code == 403
    assert outsider.get(f"/api/v1/companies/{other.company.slug}/rounds/{round.pk}/commitments/").status_code == 404
    assert outsider.get(f"/api/v1/commitments/{funded}/documents/").status_code == 404
    assert post(outsider, f"{path}{funded}/decline/").status_code == 403

    viewer = client_for(MembershipFactory(company=lumen.company, role="viewer").user)
    assert viewer.get(path).json()["count"] == 2
    assert viewer.get(f"/api/v1/commitments/{funded}/documents/agreement/").status_code == 200
    assert post(viewer, f"{path}{funded}/decline/").status_code == 403
    assert Investment.objects.filter(state="funded").count() == 1

    declined = post(founder, f"{path}{funded}/decline/")
    assert declined.status_code == 200
    assert (declined.json()["state"], declined.json()["cancel_reason"]) == ("refunded", "declined")
    assert [refund["reason"] for refund in sam.get(f"/api/v1/commitments/{funded}/refunds/").json()] == ["declined"]


def deliver(client: Client, body: str, signature: str, provider: str = "sandbox") -> Any:
    return client.post(f"/api/v1/webhooks/{provider}/", body, content_type="application/json",
                       headers={"Stripe-Signature": signature})


def test_a_webhook_whose_signature_does_not_verify_is_refused_and_nothing_is_stored(client) -> None:
    body = json.dumps({"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {}}})
    other_secret = SandboxProvider(webhook_secret="whsec_someone_else")
    for signature in ["", "t=1,v1=00", other_secret.signed(body)]:
        response = deliver(client, body, signature)
        assert response.status_code == 400
        assert response.json() == {"detail": "Invalid signature."}
    assert WebhookEvent.objects.count() == 0
    assert deliver(client, body, SandboxProvider().signed(body), provider="paypal").status_code == 404
    assert deliver(client, body, SandboxProvider().signed(body), provider="stripe").status_code == 404  # not ours
    assert WebhookEvent.objects.count() == 0


def test_a_signed_event_delivered_three_times_is_stored_once_and_funds_the_commitment(client, client_for) -> None:
    _, round = open_reg_cf_round()
    sam = client_for(approved_investor())
    pk = committed(sam, round, "1000.00")
    sandbox = SandboxProvider()
    # The browser confirms with the provider; the platform hears of it only by the webhook.
    sandbox.confirm_card(Payment.objects.get().provider_id or "", number=CARD_SUCCEEDS)
    event = SandboxEvent.objects.get(type="payment_intent.succeeded")
    body = json.dumps(event.payload)
    for _ in range(3):
        response = deliver(client, body, sandbox.signed(body))
        assert response.status_code == 200
        assert response.json() == {"received": True}
    stored = WebhookEvent.objects.get(event_id=event.event_id)
    assert stored.processed_at is not None
    assert WebhookEvent.objects.count() == 1
    assert sam.get(f"/api/v1/commitments/{pk}/").json()["state"] == "funded"
    assert services.escrow_balance(round=round).held == Decimal("1000.00")


def test_with_stripe_the_browser_pays_with_the_client_secret(client_for, settings, localstripe_url) -> None:  # noqa: F811
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = API_KEY, localstripe_url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_tranche_test_api"
    _, round = open_reg_cf_round()
    client = client_for(approved_investor())
    response = commit(client, round, "1000.00")
    assert response.status_code == 201
    assert response.json()["payment"]["provider"] == "stripe"
    pk = response.json()["id"]
    payment = post(client, f"/api/v1/commitments/{pk}/sign/", {"signed_name": "Sam Rivera"}).json()["payment"]
    assert payment["provider_id"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["provider_id"])
    refused = paid(client, pk)
    assert refused.status_code == 400
    assert "Stripe.js" in refused.json()["detail"][0]
    assert Payment.objects.get().status == "requires_payment"
    assert deliver(client, "{}", "t=1,v1=00", provider="stripe").json() == {"detail": "Invalid signature."}
    assert deliver(client, "{}", "t=1,v1=00", provider="sandbox").status_code == 404


def test_when_the_provider_does_not_answer_the_signature_stands_and_reading_asks_again(
        client_for, settings, localstripe_url) -> None:  # noqa: F811
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = API_KEY, "http://127.0.0.1:9"  # nothing listens there
    _, round = open_reg_cf_round()
    client = client_for(approved_investor())
    pk = commit(client, round, "1000.00").json()["id"]
    signed = post(client, f"/api/v1/commitments/{pk}/sign/", {"signed_name": "Sam Rivera"})
    assert signed.status_code == 200
    assert (signed.json()["state"], signed.json()["signed_name"]) == ("pending_payment", "Sam Rivera")
    assert (signed.json()["payment"]["provider_id"], signed.json()["payment"]["client_secret"]) == (None, "")
    settings.STRIPE_API_BASE = localstripe_url  # the provider is back
    payment = client.get(f"/api/v1/commitments/{pk}/").json()["payment"]
    assert payment["provider_id"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["provider_id"])
