"""Creating, deploying and running a sale through the services: terms in a founder's words, intents written once,
the clock moving deployed sales, and bad input changing nothing (nothing is sent on-chain: no intent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from compliance.audit import Actor
from compliance.models import AuditEvent
from tests.factories import MembershipFactory
from tokens import services
from tokens.choices import DeployStatus, SaleState
from tokens.models import ChainEvent, ChainIntent, Purchase, Sale, Token

pytestmark = pytest.mark.django_db
ETH = 10**18
ADMIN = "0x" + "ab" * 20
TREASURY = "0x" + "cd" * 20
DEPLOYMENT = ["token.deploy", "sale.deploy", "sale.grant_minter", "token.grant_distributor",
              "token.distributor_ceiling", "token.handover_admin", "token.renounce_admin"]


def terms(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "name": "LUMEN public sale", "payment_asset": "eth", "price": ETH // 1000, "soft_cap": 10 * ETH,
        "hard_cap": 100 * ETH, "min_per_investor": ETH // 10, "max_per_investor": 20 * ETH,
        "starts_at": now + timedelta(hours=1), "ends_at": now + timedelta(days=30),
        "treasury_address": TREASURY, "allocation_mode": "fcfs", "eligibility_mode": "allowlist",
        "exemption": "reg_s", **overrides,
    }


@pytest.fixture
def founder() -> Actor:
    return Actor(user=MembershipFactory(role="owner").user)


@pytest.fixture
def token(founder: Actor) -> Token:
    company = founder.user.memberships.get().company  # type: ignore[union-attr]
    return services.token_create(actor=founder, company=company, name="Lumen", symbol="lumen",
                                 supply_cap=100_000_000 * ETH, admin_address=ADMIN.upper().replace("0X", "0x"))


def test_a_token_is_created_as_a_draft_with_a_checksummed_admin_and_an_upper_case_symbol(token: Token) -> None:
    assert token.symbol == "LUMEN"
    assert token.admin_address == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55
    assert token.deploy_status == DeployStatus.DRAFT


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"soft_cap": 200 * ETH}, "hard_cap", "below the soft cap"),
    ({"ends_at": timezone.now() + timedelta(minutes=30)}, "ends_at", "before the start"),
    ({"starts_at": timezone.now() - timedelta(minutes=5)}, "starts_at", "in the past"),
    ({"price": 10**40}, "price", "less than one token base unit"),
    ({"min_per_investor": 10**14}, "min_per_investor", "less than one whole token"),
    ({"hard_cap": 10**30, "max_per_investor": 10**20}, "hard_cap", "more tokens than the supply cap"),
    ({"min_per_investor": 30 * ETH}, "max_per_investor", "below the minimum"),
    ({"treasury_address": "0x1234"}, "treasury_address", "not an Ethereum address"),
    ({"accepts_card": True}, "accepts_card", "stablecoin"),
])
def test_bad_terms_are_refused_in_words_and_create_nothing(
    founder: Actor, token: Token, overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.sale_create(actor=founder, token=token, **terms(**overrides))
    assert words in " ".join(caught.value.message_dict[field])
    assert not Sale.objects.exists()
    assert not ChainIntent.objects.exists()


def test_deploying_writes_the_whole_deployment_as_intents_once(founder: Actor, token: Token) -> None:
    sale = services.sale_create(actor=founder, token=token, **terms())
    sale = services.sale_deploy(actor=founder, sale=sale)
    assert sale.state == SaleState.DEPLOYING
    token.refresh_from_db()
    assert token.deploy_status == DeployStatus.DEPLOYING
    intents = services.sale_intents(sale)
    assert [i.purpose for i in intents] == DEPLOYMENT
    # Each waits for the one before it.
    by_purpose = {i.purpose: i for i in intents}
    assert by_purpose["token.deploy"].depends_on is None
    assert by_purpose["sale.deploy"].depends_on == by_purpose["token.deploy"]
    assert by_purpose["token.renounce_admin"].depends_on == by_purpose["token.handover_admin"]
    with pytest.raises(ValidationError, match="already been deployed"):
        services.sale_deploy(actor=founder, sale=sale)
    assert ChainIntent.objects.count() == len(intents)
    assert AuditEvent.objects.filter(action="tokens.sale_deploy").count() == 1


def test_another_companys_founder_can_neither_create_nor_deploy(founder: Actor, token: Token) -> None:
    stranger = Actor(user=MembershipFactory(role="owner").user)
    with pytest.raises(PermissionDenied):
        services.sale_create(actor=stranger, token=token, **terms())
    sale = services.sale_create(actor=founder, token=token, **terms())
    with pytest.raises(PermissionDenied):
        services.sale_deploy(actor=stranger, sale=sale)
    viewer = MembershipFactory(role="viewer", company=token.company)
    with pytest.raises(PermissionDenied):
        services.sale_deploy(actor=Actor(user=viewer.user), sale=sale)
    assert not ChainIntent.objects.exists()
    assert Sale.objects.get().state == SaleState.DRAFT


def test_a_deployed_sale_can_no_longer_be_edited(founder: Actor, token: Token) -> None:
    sale = services.sale_deploy(actor=founder, sale=services.sale_create(actor=founder, token=token, **terms()))
    with pytest.raises(ValidationError, match="draft"):
        services.sale_update(actor=founder, sale=sale, hard_cap=200 * ETH)
    with pytest.raises(ValidationError, match="deployed token"):
        services.token_update(actor=founder, token=token, name="Other")


def _purchase(sale: Sale, amount: int, n: int) -> Purchase:
    event = ChainEvent.objects.create(chain_id=31337, tx_hash="0x" + f"{n:064x}", log_index=0, block_number=n,
                                      block_hash="0x" + f"{n:064x}", address=sale.address, name="Purchased",
                                      sale=sale)
    return Purchase.objects.create(sale=sale, event=event, wallet=f"0x{n:040x}", payer=f"0x{n:040x}",
                                   amount=amount, tokens=amount * 1000, block_number=n, tx_hash=event.tx_hash)


def _live(founder: Actor, token: Token, **overrides: Any) -> Sale:
    sale = services.sale_create(actor=founder, token=token, **terms(**overrides))
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.SCHEDULED, address="0x" + "22" * 20)
    sale.refresh_from_db()
    return sale


def test_the_clock_opens_and_ends_sales_and_a_missed_soft_cap_asks_for_refund_mode(founder: Actor,
                                                                                    token: Token) -> None:
    sale = _live(founder, token)
    assert services.sales_advance(now=sale.starts_at - timedelta(seconds=1)) == 0
    assert services.sales_advance(now=sale.starts_at) == 1
    sale.refresh_from_db()
    assert sale.state == SaleState.LIVE
    _purchase(sale, 5 * ETH, 1)  # below the 10 ETH soft cap
    services.sales_advance(now=sale.ends_at)
    sale.refresh_from_db()
    assert sale.state == SaleState.FAILED
    assert ChainIntent.objects.filter(purpose="sale.enter_refund_mode", object_key=f"sale:{sale.pk}").count() == 1
    assert services.sales_advance(now=sale.ends_at + timedelta(days=1)) == 0


def test_finalize_only_after_the_end_or_a_sell_out_and_only_above_the_soft_cap(founder: Actor,
                                                                               token: Token) -> None:
    sale = _live(founder, token)
    services.sales_advance(now=sale.starts_at)
    sale.refresh_from_db()
    with pytest.raises(ValidationError, match="still running"):
        services.sale_finalize(actor=founder, sale=sale)
    _purchase(sale, 20 * ETH, 1)
    for n in range(2, 6):
        _purchase(sale, 20 * ETH, n)  # 100 ETH: sold out
    intent = services.sale_finalize(actor=founder, sale=sale)
    assert (intent.purpose, intent.role) == ("sale.finalize", "eligibility")
    assert services.sale_finalize(actor=founder, sale=sale) == intent  # asking twice sends once
    # The page shows it on its way until the sale's state shows it done (the scanner may see the Finalized event
    # a block before the outbox counts the confirmation).
    sale.refresh_from_db()
    assert services.sale_action_pending(sale) == intent
    sale.state = SaleState.FINALIZED
    assert services.sale_action_pending(sale) is None


def test_pausing_twice_in_a_sales_life_is_two_transactions(founder: Actor, token: Token) -> None:
    sale = _live(founder, token)
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.LIVE)
    first = services.sale_pause(actor=founder, sale=sale, paused=True)
    with pytest.raises(ValidationError, match="already on its way"):
        services.sale_pause(actor=founder, sale=sale, paused=True)
    # The transaction confirmed, and the scanner saw Paused, then (another confirmed request) Unpaused.
    ChainIntent.objects.filter(pk=first.pk).update(state="confirmed")
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.LIVE)
    second = services.sale_pause(actor=founder, sale=sale, paused=True)
    assert first.pk != second.pk
    assert first.object_key != second.object_key


def test_a_numbered_pause_intent_builds_the_pause_call_on_its_sale(founder: Actor, token: Token) -> None:
    from tokens.chain.builders import BUILDERS
    from tokens.chain.sale_actions import pause

    sale = _live(founder, token)
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.LIVE)
    intent = services.sale_pause(actor=founder, sale=sale, paused=True)
    assert intent.object_key == f"sale:{sale.pk}:1"
    call = BUILDERS["sale.pause"](intent)
    assert BUILDERS["sale.pause"] is pause
    assert call.to == sale.address
    assert call.data == bytes.fromhex("8456cb59")  # pause()
