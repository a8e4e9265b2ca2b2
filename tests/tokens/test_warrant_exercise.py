"""Priced token warrants: the holder pays the exercise price by card (the sandbox provider, webhooks and all), then
claims. Paid once however often the provider says so, only by the holder and only while the tokens wait for it; a
payment that arrives when nothing is owed goes back; a dispute before the claim puts the tokens back to unpaid."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from compliance.audit import Actor
from compliance.models import AuditEvent
from payments import services, warrant_exercises
from payments.choices import PaymentMethod, PaymentStatus, RefundStatus
from payments.models import Dispute, Payment, Refund, SandboxEscrowEntry, SandboxEvent
from payments.providers.base import DisputeData
from payments.providers.sandbox import SandboxEscrow, SandboxProvider
from tests.factories import UserFactory
from tests.payments.replay import disputes_replayed
from tests.tokens.test_warrants import UNIT, launch, lumen, wallet_of  # noqa: F401 (lumen is a fixture)
from tokens import warrants
from tokens.choices import AllocationState
from tokens.models import ChainIntent, TokenAllocation

pytestmark = pytest.mark.django_db(transaction=True)  # the provider is called outside any transaction

VISA = "4242424242424242"
DECLINED = "4000000000009995"


@pytest.fixture(autouse=True)
def _sandbox(settings: Any) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PAYMENTS_SANDBOX_AUTO_DELIVER = False


@pytest.fixture(autouse=True)
def _no_outbox(monkeypatch: Any) -> None:
    """A claim writes its outbox intent (checked here); sending it is the outbox's tests' business."""
    monkeypatch.setattr(warrants, "intents_kick", lambda: None)


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider()


def held(allocation: TokenAllocation) -> Decimal:
    """What the escrow agent holds for the company's warrant exercises of this token."""
    return SandboxEscrow().balance(account=warrant_exercises.exercise_account(allocation.token_id), currency="USD")


def priced(lumen: Any, tokens: int = 5 * UNIT, price: str = "2.5") -> TokenAllocation:  # noqa: F811
    """The Seed Fund's priced warrant, converted at launch: an allocation awaiting its exercise price."""
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                           token_amount=tokens, price_per_token=Decimal(price))
    launch(lumen.token)
    return warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]


def paid_with(card: str, payment: Payment, sandbox: SandboxProvider) -> Payment:
    payment = services.payment_create_outside_transaction(payment=payment, provider=sandbox)
    services.payment_apply(data=sandbox.confirm_card(payment.provider_id or "", number=card), provider=sandbox)
    payment.refresh_from_db()
    return payment


def paid_by(holder: Actor, allocation: TokenAllocation, sandbox: SandboxProvider) -> Payment:
    """The holder starts paying the exercise price and pays it with a card that goes through."""
    return paid_with(VISA, warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox),
                     sandbox)


def test_the_holder_pays_once_however_often_the_provider_says_so_then_claims(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox)
    assert (payment.amount, payment.currency, payment.method, payment.allocation_id) == (
        Decimal("12.50"), "USD", PaymentMethod.CARD, allocation.pk)
    # A second tab finds the same payment rather than a second charge.
    assert warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox) == payment

    declined = paid_with(DECLINED, payment, sandbox)
    assert declined.status == PaymentStatus.FAILED
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.UNPAID
    # A declined card may be tried again, on the same payment.
    assert warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox) == payment
    assert paid_with(VISA, payment, sandbox).status == PaymentStatus.SUCCEEDED
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    charged = sandbox.payment_get(payment.provider_id or "")
    assert charged.metadata["token_allocation"] == str(allocation.pk)

    # The webhooks (every event delivered three times), the confirmation again and reconciliation.
    for _ in range(3):
        sandbox.deliver_pending()
        SandboxEvent.objects.update(delivered_at=None)
    services.payment_apply(data=sandbox.payment_get(payment.provider_id or ""), provider=sandbox)
    services.payments_reconcile(provider=sandbox)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert Payment.objects.filter(allocation=allocation).count() == 1
    assert not Refund.objects.exists()
    with pytest.raises(ValidationError, match="not waiting for a payment"):
        warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox)

    warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    assert ChainIntent.objects.get(purpose="allocation.distribute").params["amount"] == str(5 * UNIT)
    assert AuditEvent.objects.filter(action="payments.warrant_exercise", target_id=str(allocation.pk)).count() == 1

    # The money is held for the company, and paid out once the tokens are in the holder's wallet, once.
    assert held(allocation) == Decimal("12.50")
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 0  # not delivered yet
    warrants.allocation_delivered(allocation.pk)
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 1
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 0
    allocation.refresh_from_db()
    assert allocation.exercise_payout.startswith("tr_sbx_")
    assert held(allocation) == 0
    release = SandboxEscrowEntry.objects.get(kind="release")
    assert (release.account, release.amount, release.reference) == (
        f"tokenwarrants-{allocation.token_id}", Decimal("12.50"), f"release-warrant-{allocation.pk}")


def test_only_the_holder_pays_and_only_what_is_owed(lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    with pytest.raises(PermissionDenied):
        warrant_exercises.exercise_start(actor=Actor(user=UserFactory()), allocation=allocation, provider=sandbox)
    with pytest.raises(PermissionDenied):
        warrant_exercises.exercise_start(actor=lumen.actor, allocation=allocation, provider=sandbox)  # the founder
    free = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                                  token_amount=UNIT)
    free_allocation = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]
    assert (free_allocation.warrant_id, free_allocation.state) == (free.pk, AllocationState.CLAIMABLE)
    with pytest.raises(ValidationError, match="not waiting for a payment"):
        warrant_exercises.exercise_start(actor=Actor(user=lumen.fund_user), allocation=free_allocation,
                                         provider=sandbox)
    assert not Payment.objects.exists()


def test_money_that_arrives_when_nothing_is_owed_goes_back(lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    first = warrant_exercises.exercise_start(actor=Actor(user=lumen.fund_user), allocation=allocation,
                                             provider=sandbox)
    # A second payment for the same tokens (exercise_start never makes one while another is open or paid, so it
    # is written here as another path or a provider's replay would leave it).
    second = Payment.objects.create(allocation=allocation, key="pay_second", provider=sandbox.name,
                                    method=PaymentMethod.CARD, amount=first.amount, currency="USD")
    paid_with(VISA, first, sandbox)
    assert paid_with(VISA, second, sandbox).status == PaymentStatus.SUCCEEDED
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount, refund.status) == (second, Decimal("12.50"), RefundStatus.SUCCEEDED)
    assert held(allocation) == Decimal("12.50")  # the first payment only
    assert warrant_exercises.paying_payment(allocation) == first
    # A chargeback of the refunded payment: the tokens still stand on the first one, whose money stays held.
    sandbox.dispute(second.provider_id or "")
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.CLAIMABLE, first.key)
    assert held(allocation) == Decimal("12.50")


def test_a_dispute_before_the_claim_puts_the_tokens_back_to_unpaid(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = paid_by(holder, allocation, sandbox)
    sandbox.dispute(payment.provider_id or "")
    sandbox.deliver_pending()
    SandboxEvent.objects.update(delivered_at=None)
    sandbox.deliver_pending()  # delivered twice: one dispute
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.UNPAID
    assert Dispute.objects.get().payment == payment
    with pytest.raises(ValidationError, match="Pay the exercise price"):
        warrants.allocation_claim(actor=holder, allocation=allocation,
                                  wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    # Paying again is a new payment; the disputed one stays as it was.
    again = warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox)
    assert again != payment
    assert held(allocation) == 0  # the dispute took it back
    paid_with(VISA, again, sandbox)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert held(allocation) == Decimal("12.50")

    # Disputed after the claim: the tokens are in the wallet; the audit trail tells compliance.
    warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user, "0x" + "22" * 20))
    sandbox.dispute(again.provider_id or "")
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.DEPLOYING
    assert held(allocation) == 0
    warrants.allocation_delivered(allocation.pk)
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 0  # nothing stands to pay out
    audit = AuditEvent.objects.filter(action="payments.dispute").order_by("pk").last()
    assert audit is not None
    assert "for compliance to follow up" in audit.changes["allocation"]


def test_a_dispute_after_the_claim_leaves_a_failed_distribution_unpaid(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = paid_by(holder, allocation, sandbox)
    warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    sandbox.dispute(payment.provider_id or "")
    sandbox.deliver_pending()
    warrants.allocation_distribution_failed(allocation.pk)  # the distribute transaction failed for good
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.UNPAID, "")
    with pytest.raises(ValidationError, match="Pay the exercise price"):
        warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user,
                                                                                        "0x" + "22" * 20))
    assert held(allocation) == 0


def paid_unheard(lumen: Any, sandbox: SandboxProvider) -> tuple[TokenAllocation, Payment, Any]:  # noqa: F811
    """A priced allocation whose holder's card went through at the provider, the success not applied yet (its
    webhook comes late): (allocation, payment, the success)."""
    allocation = priced(lumen)
    payment = warrant_exercises.exercise_start(actor=Actor(user=lumen.fund_user), allocation=allocation,
                                               provider=sandbox)
    payment = services.payment_create_outside_transaction(payment=payment, provider=sandbox)
    return allocation, payment, sandbox.confirm_card(payment.provider_id or "", number=VISA)


def test_a_dispute_that_arrives_before_the_success_frees_nothing(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation, payment, success = paid_unheard(lumen, sandbox)
    services.dispute_apply(data=DisputeData(provider_id="dp_early", payment_id=payment.provider_id or "",
                                            amount=payment.amount, currency="USD", reason="fraudulent",
                                            status="needs_response"), provider=sandbox)
    services.payment_apply(data=success, provider=sandbox)
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.UNPAID, "")
    assert held(allocation) == 0
    assert not SandboxEscrowEntry.objects.exists()  # nothing held, nothing returned


def test_a_dispute_won_puts_the_money_back_once(lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = paid_by(holder, allocation, sandbox)

    def dispute(status: str) -> None:
        services.dispute_apply(data=DisputeData(provider_id="dp_1", payment_id=payment.provider_id or "",
                                                amount=payment.amount, currency="USD", reason="fraudulent",
                                                status=status), provider=sandbox)

    dispute("needs_response")
    allocation.refresh_from_db()
    assert (allocation.state, held(allocation)) == (AllocationState.UNPAID, 0)
    dispute("won")
    dispute("won")  # said twice
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.CLAIMABLE, payment.key)
    assert held(allocation) == Decimal("12.50")
    assert not Refund.objects.exists()

    # Had the holder paid again in the meantime, the reinstated money would go back to them.
    dispute_again = DisputeData(provider_id="dp_2", payment_id=payment.provider_id or "", amount=payment.amount,
                                currency="USD", reason="fraudulent", status="needs_response")
    services.dispute_apply(data=dispute_again, provider=sandbox)
    assert held(allocation) == 0
    again = paid_by(holder, allocation, sandbox)
    services.dispute_apply(data=dataclasses.replace(dispute_again, status="won"), provider=sandbox)
    allocation.refresh_from_db()
    assert allocation.exercise_payment_key == again.key
    assert Refund.objects.get().payment == payment


def test_an_inquiry_leaves_the_tokens_standing_until_it_is_escalated(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    payment = paid_by(Actor(user=lumen.fund_user), allocation, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", reason="unrecognized", inquiry=True)
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.CLAIMABLE, payment.key)
    assert held(allocation) == Decimal("12.50")  # an inquiry takes nothing
    assert AuditEvent.objects.filter(action="payments.dispute_inquiry").count() == 1

    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="needs_response", reason="unrecognized")
    sandbox.deliver_pending()
    disputes_replayed(sandbox, backwards=True)  # said again, in any order: taken once
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.UNPAID, "")
    assert held(allocation) == 0
    assert AuditEvent.objects.filter(action="payments.dispute").count() == 1


def test_a_partial_dispute_returns_its_amount_and_a_win_puts_back_only_that(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    payment = paid_by(Actor(user=lumen.fund_user), allocation, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", amount=Decimal("5.00"))
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.UNPAID
    assert held(allocation) == Decimal("7.50")  # the part not disputed stays held
    audit = AuditEvent.objects.get(action="payments.dispute")
    assert audit.changes["undisputed"].startswith("7.50 USD stays held")

    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="won", amount=Decimal("5.00"))
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.CLAIMABLE, payment.key)
    assert held(allocation) == Decimal("12.50")  # never more than was paid
    warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation,
                              wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    warrants.allocation_delivered(allocation.pk)
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 1
    assert held(allocation) == 0


def test_a_partial_dispute_before_the_success_still_holds_what_it_left(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation, payment, success = paid_unheard(lumen, sandbox)
    dispute = DisputeData(provider_id="dp_early", payment_id=payment.provider_id or "", amount=Decimal("5.00"),
                          currency="USD", reason="fraudulent", status="needs_response")
    services.dispute_apply(data=dispute, provider=sandbox)
    services.payment_apply(data=success, provider=sandbox)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.UNPAID
    assert held(allocation) == Decimal("7.50")
    services.dispute_apply(data=dataclasses.replace(dispute, status="won"), provider=sandbox)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert held(allocation) == Decimal("12.50")  # all of it, so the payout finds it


def test_a_partial_dispute_won_after_paying_again_gives_back_what_it_left(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    first = paid_by(holder, allocation, sandbox)
    dispute_id = sandbox.dispute(first.provider_id or "", amount=Decimal("5.00"))
    sandbox.deliver_pending()
    assert held(allocation) == Decimal("7.50")
    again = paid_by(holder, allocation, sandbox)
    assert held(allocation) == Decimal("20.00")
    sandbox.dispute_moved(first.provider_id or "", dispute_id, status="won", amount=Decimal("5.00"))
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    assert allocation.exercise_payment_key == again.key
    assert Refund.objects.get().payment == first  # all of the first payment goes back to the card...
    assert held(allocation) == Decimal("12.50")  # ...and what it left in the account with it


def test_a_dispute_once_the_payout_is_under_way_is_the_platforms_loss(
        lumen: Any, sandbox: SandboxProvider, monkeypatch: Any) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = paid_by(holder, allocation, sandbox)
    warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    warrants.allocation_delivered(allocation.pk)
    escrow = SandboxEscrow()
    release = escrow.release

    def release_while_a_dispute_lands(**kwargs: Any) -> Any:
        sandbox.dispute(payment.provider_id or "")  # between the mark and the transfer
        sandbox.deliver_pending()
        return release(**kwargs)

    monkeypatch.setattr(escrow, "release", release_while_a_dispute_lands)
    assert warrant_exercises.exercise_payouts_due(agent=escrow) == 1
    allocation.refresh_from_db()
    assert allocation.exercise_payout.startswith("tr_sbx_")
    assert held(allocation) == 0  # released once, never also returned
    assert not SandboxEscrowEntry.objects.filter(kind="return").exists()
    audit = AuditEvent.objects.filter(action="payments.dispute").get()
    assert "the platform's loss" in audit.changes["allocation"]


def test_the_portfolio_takes_the_holder_to_pay_by_card(lumen: Any, client: Any) -> None:  # noqa: F811
    allocation = priced(lumen)
    client.force_login(lumen.fund_user)
    portfolio = client.get(reverse("payments:portfolio")).content.decode()
    assert "Pay $12.50 to exercise" in portfolio
    start = client.post(reverse("payments:warrant_exercise_start", args=[allocation.pk]))
    assert start.status_code == 302
    assert start.url == reverse("payments:warrant_exercise", args=[allocation.pk])
    page = client.get(start.url).content.decode()
    assert "5 LUMEN" in page
    assert "$12.50" in page
    assert 'id="pay-form"' in page
    declined = client.post(reverse("payments:warrant_exercise_pay", args=[allocation.pk]),
                           {"number": DECLINED, "expiry": "12/34", "cvc": "123"})
    assert declined.status_code == 400
    assert "declined" in declined.content.decode()
    paid = client.post(reverse("payments:warrant_exercise_pay", args=[allocation.pk]),
                       {"number": VISA, "expiry": "12/34", "cvc": "123"})
    assert paid.status_code == 302
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert "Link a wallet to claim" in client.get(reverse("payments:portfolio")).content.decode()  # no wallet yet
    again = client.post(reverse("payments:warrant_exercise_pay", args=[allocation.pk]),
                        {"number": VISA, "expiry": "12/34", "cvc": "123"})
    assert again.status_code == 400
    assert Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count() == 1

    client.force_login(UserFactory())
    assert client.get(reverse("payments:warrant_exercise", args=[allocation.pk])).status_code == 404
    assert client.post(reverse("payments:warrant_exercise_start", args=[allocation.pk])).status_code == 404


def test_the_api_starts_the_payment_for_stripe_js(lumen: Any, client: Any) -> None:  # noqa: F811
    allocation = priced(lumen)
    client.force_login(lumen.fund_user)
    url = reverse("api-warrant-exercise", args=[allocation.pk])
    answer = client.post(url)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "requires_payment"
    assert body["client_secret"]
    assert body["provider"] == "sandbox"
    assert client.post(url).json()["provider_id"] == body["provider_id"]  # the same payment
    mine = client.get(reverse("api-portfolio-tokens")).json()["allocations"]
    assert [(a["allocation"]["state"], a["allocation"]["exercise_price"], a["can_claim"]) for a in mine] == [
        ("unpaid", "12.50", False)]
    client.force_login(UserFactory())
    assert client.post(url).status_code == 404


def test_a_price_below_the_smallest_card_charge_is_recorded_by_the_company(
        lumen: Any, client: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen, tokens=UNIT, price="0.25")  # one token at 25 cents: no card takes it
    assert allocation.exercise_price == Decimal("0.25")
    holder = Actor(user=lumen.fund_user)
    with pytest.raises(ValidationError, match=r"below \$0.50 cannot be paid by card"):
        warrant_exercises.exercise_start(actor=holder, allocation=allocation, provider=sandbox)
    client.force_login(lumen.fund_user)
    assert f"/portfolio/tokens/{allocation.pk}/exercise/start/" not in client.get(
        reverse("payments:portfolio")).content.decode()  # no pay button, a link to the page that says why
    page = client.get(reverse("payments:warrant_exercise", args=[allocation.pk])).content.decode()
    assert 'id="below-smallest-charge"' in page
    assert "records your payment" in page
    answer = client.post(reverse("api-warrant-exercise", args=[allocation.pk]))
    assert answer.status_code == 400
    assert "cannot be paid by card" in answer.content.decode()
    assert not Payment.objects.exists()

    # The founder's page: a reference is required, then the tokens are the holder's to claim.
    client.force_login(lumen.owner.user)
    url = reverse("tokens:exercise_record", args=[lumen.company.slug, lumen.token.pk, allocation.pk])
    holders = reverse("tokens:token_holders", args=[lumen.company.slug, lumen.token.pk])
    assert url in client.get(holders).content.decode()
    assert client.post(url, {"reference": "  "}).url == holders
    allocation.refresh_from_db()
    assert (allocation.state, allocation.exercise_payment_key) == (AllocationState.UNPAID, "")
    client.post(url, {"reference": "WIRE-2026-114"})
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert allocation.exercise_payment_key.startswith("recorded_")
    record = AuditEvent.objects.get(action="payments.warrant_exercise_recorded", target_id=str(allocation.pk))
    assert record.changes["reference"] == "WIRE-2026-114"
    assert record.changes["amount"] == "0.25"
    assert "Record payment" not in client.get(holders).content.decode()
    with pytest.raises(ValidationError, match="not waiting for a payment"):  # recorded once
        warrant_exercises.exercise_recorded(actor=lumen.actor, allocation=allocation, reference="again")

    # Claimed and delivered: nothing was held, so nothing is paid out.
    warrants.allocation_claim(actor=holder, allocation=allocation, wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    warrants.allocation_delivered(allocation.pk)
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 0
    allocation.refresh_from_db()
    assert allocation.exercise_payout == warrant_exercises.RECORDED
    assert not SandboxEscrowEntry.objects.exists()


def test_a_card_payment_that_lands_after_the_company_recorded_one_goes_back(
        lumen: Any, client: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    payment = warrant_exercises.exercise_start(actor=Actor(user=lumen.fund_user), allocation=allocation,
                                               provider=sandbox)
    warrant_exercises.exercise_recorded(actor=lumen.actor, allocation=allocation, reference="wire 7781")
    assert paid_with(VISA, payment, sandbox).status == PaymentStatus.SUCCEEDED
    assert Refund.objects.get(payment=payment).amount == Decimal("12.50")
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE
    assert allocation.exercise_payout == warrant_exercises.RECORDED

    # A card payment still open when the company records is cancelled at the provider: it can no longer be paid.
    other_allocation = priced(lumen, tokens=2 * UNIT)
    open_payment = services.payment_create_outside_transaction(
        payment=warrant_exercises.exercise_start(actor=Actor(user=lumen.fund_user), allocation=other_allocation,
                                                 provider=sandbox), provider=sandbox)
    warrant_exercises.exercise_recorded(actor=lumen.actor, allocation=other_allocation, reference="wire 7790")
    open_payment.refresh_from_db()
    assert open_payment.status == PaymentStatus.CANCELED
    assert sandbox.payment_get(open_payment.provider_id or "").status == PaymentStatus.CANCELED
    with pytest.raises(PermissionDenied):  # the holder cannot record their own payment
        warrant_exercises.exercise_recorded(actor=Actor(user=lumen.fund_user), allocation=other_allocation,
                                            reference="trust me")

    # Only the company's editors record; another company's token is not found.
    other = UserFactory()
    client.force_login(other)
    url = reverse("tokens:exercise_record", args=[lumen.company.slug, lumen.token.pk, allocation.pk])
    assert client.post(url, {"reference": "x"}).status_code in (403, 404)


def test_an_exercise_refunded_in_the_providers_dashboard_waits_for_a_payment_again(
        lumen: Any, sandbox: SandboxProvider) -> None:  # noqa: F811
    allocation = priced(lumen)
    holder = Actor(user=lumen.fund_user)
    payment = paid_by(holder, allocation, sandbox)
    assert held(allocation) == Decimal("12.50")
    sandbox.refund_at_provider(payment.provider_id or "")
    sandbox.deliver_pending()
    allocation.refresh_from_db()
    # As if disputed: the money left the exercise's account and nothing stands to be paid out to the company.
    assert allocation.state == AllocationState.UNPAID
    assert held(allocation) == 0
    assert warrant_exercises.exercise_payouts_due(agent=SandboxEscrow()) == 0
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.status) == ("at_provider", RefundStatus.SUCCEEDED)
    assert AuditEvent.objects.get(action="payments.refund_at_provider").changes["allocation"] == \
        "awaiting payment again"
