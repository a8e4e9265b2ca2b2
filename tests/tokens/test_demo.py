"""`make run`'s demo data: the test dollar, LUMEN and its sale are asked for once, and again after the devnet
starts empty (which delivers converted warrants' tokens again but leaves the unpaid ones unpaid); on the devnet
the real outbox takes the demo from the test dollar to a sale paid in it."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from web3 import Web3

from companies.models import Membership
from contracts import load_artifact
from tests.tokens.test_eligibility import outbox_settle
from tokens.chain.demo_stablecoin import stablecoin_deployed
from tokens.choices import DeployStatus, SaleState
from tokens.demo import chain_forget, demo_sale_deploy
from tokens.models import ChainIntent, Sale, Token, TokenAllocation, TokenWarrant

COIN = "0x" + "c0" * 20
NEW_COIN = "0x" + "c1" * 20


@pytest.mark.django_db
def test_demo_requests_lumens_deployment_once_and_again_after_the_chain_is_emptied() -> None:
    call_command("demo_load", "--chain-empty", stdout=io.StringIO())
    token = Token.objects.get(symbol="LUMEN")
    assert token.supply_cap == 100_000_000 * 10**18
    # The sale is paid in the devnet's test dollar, deployed first: no sale until its address is known.
    assert list(ChainIntent.objects.values_list("purpose", "object_key")) == [("demo.stablecoin", f"token:{token.pk}")]
    assert not Sale.objects.exists()
    # Journey 4: Lumen's seed investors hold pro-rata token warrants, which convert at launch.
    holders = set(TokenWarrant.objects.filter(company=token.company).values_list("stakeholder__name", "kind"))
    assert holders == {(name, "pro_rata") for name in ("Hannah Lee", "Northwind Ventures", "Rafael Costa")}

    # The test dollar confirmed (its hook): the sale, paid in it and by card, is created and its deployment asked.
    sale = demo_sale_deploy(token_id=token.pk, stablecoin=COIN)
    token.refresh_from_db()
    assert (sale.payment_asset, sale.payment_symbol, sale.payment_decimals, sale.accepts_card) == (
        "erc20", "TUSD", 6, True)
    assert sale.payment_token_address.lower() == COIN
    assert (token.deploy_status, sale.state) == (DeployStatus.DEPLOYING, SaleState.DEPLOYING)
    first = list(ChainIntent.objects.values_list("purpose", "object_key"))
    assert ("token.deploy", f"token:{token.pk}") in first
    assert ("sale.deploy", f"sale:{sale.pk}") in first
    assert demo_sale_deploy(token_id=token.pk, stablecoin=COIN) == sale  # a confirmation seen twice

    # The chain is still there: loading again changes nothing.
    call_command("demo_load", stdout=io.StringIO())
    assert list(ChainIntent.objects.values_list("purpose", "object_key")) == first
    assert Token.objects.filter(symbol="LUMEN").count() == 1
    assert TokenWarrant.objects.count() == len(holders)

    # Pretend the worker deployed it, then the devnet restarted empty: the addresses are forgotten and the test
    # dollar is asked for again; its new address goes into the sale, whose deployment is asked for again.
    Token.objects.filter(pk=token.pk).update(address="0x" + "11" * 20, deploy_status=DeployStatus.DEPLOYED)
    # (As a demo from before the test dollar left it: priced in ether.)
    Sale.objects.filter(pk=sale.pk).update(address="0x" + "22" * 20, state=SaleState.LIVE, payment_asset="eth",
                                           payment_token_address="", payment_symbol="ETH", payment_decimals=18,
                                           accepts_card=False)
    call_command("demo_load", "--chain-empty", stdout=io.StringIO())
    assert list(ChainIntent.objects.values_list("purpose", "object_key")) == [("demo.stablecoin", f"token:{token.pk}")]
    sale = demo_sale_deploy(token_id=token.pk, stablecoin=NEW_COIN)
    token.refresh_from_db()
    assert (token.address, token.deploy_status) == ("", DeployStatus.DEPLOYING)
    assert (sale.address, sale.state, sale.payment_token_address.lower()) == ("", SaleState.DEPLOYING, NEW_COIN)
    assert (sale.payment_asset, sale.payment_symbol, sale.price, sale.accepts_card) == ("erc20", "TUSD", 250_000, True)
    assert sorted(ChainIntent.objects.values_list("purpose", "object_key")) == sorted(first)
    assert Sale.objects.count() == 1


@pytest.mark.django_db
def test_forgetting_the_devnet_delivers_again_but_never_frees_an_unpaid_warrant() -> None:
    call_command("demo_load", "--chain-empty", stdout=io.StringIO())
    token = Token.objects.get(symbol="LUMEN")
    def allocation(label: str, state: str, **priced: Any) -> TokenAllocation:
        return TokenAllocation.objects.create(token=token, kind="investor", label=label, amount=10**18, state=state,
                                              **priced)

    made = {
        "unpaid": allocation("unpaid", "unpaid", exercise_price=Decimal("1.00")),
        "claimable": allocation("claimable", "claimable"),
        "deploying": allocation("deploying", "deploying"),
        "delivered": allocation("delivered", "delivered", exercise_price=Decimal("1.00"),
                                exercise_payment_key="pay_1", exercise_payout="tr_1"),
        "disputed": allocation("disputed", "delivered", exercise_price=Decimal("1.00")),  # its payment disputed
    }
    chain_forget(settings.CHAIN_ID)
    after = {label: TokenAllocation.objects.get(pk=a.pk) for label, a in made.items()}
    assert {label: a.state for label, a in after.items()} == {
        "unpaid": "unpaid", "claimable": "claimable", "deploying": "claimable", "delivered": "claimable",
        "disputed": "unpaid"}
    assert after["delivered"].exercise_payout == "tr_1"  # paid out once: delivering again pays nothing more


@pytest.mark.django_db(transaction=True)
def test_on_the_devnet_the_demo_deploys_its_test_dollar_then_the_sale_paid_in_it(devnet: Web3) -> None:
    call_command("demo_load", "--chain-empty", stdout=io.StringIO())
    outbox_settle(devnet)
    sale = Sale.objects.select_related("token").get()
    assert sale.state in (SaleState.SCHEDULED, SaleState.LIVE)
    assert sale.token.deploy_status == DeployStatus.DEPLOYED
    coin = devnet.eth.contract(address=sale.payment_token_address, abi=load_artifact("MockStablecoin").abi)
    assert (coin.functions.symbol().call(), coin.functions.decimals().call()) == ("TUSD", 6)
    config = devnet.eth.contract(address=sale.address, abi=load_artifact("TrancheSale").abi)
    assert config.functions.paymentToken().call() == sale.payment_token_address


@pytest.mark.django_db
def test_a_failed_test_dollar_is_asked_for_again_and_a_refused_sale_holds_nothing_up() -> None:
    call_command("demo_load", "--chain-empty", stdout=io.StringIO())
    coin = ChainIntent.objects.get(purpose="demo.stablecoin")
    ChainIntent.objects.filter(pk=coin.pk).update(state="failed", error="the devnet was down")
    call_command("demo_load", stdout=io.StringIO())
    coin.refresh_from_db()
    assert (coin.state, coin.error) == ("pending", "")

    # Its confirmation when the owner has left: the sale is not deployed, and the confirmation does not fail.
    token = Token.objects.get(symbol="LUMEN")
    Membership.objects.filter(company=token.company, role="owner").delete()
    ChainIntent.objects.filter(pk=coin.pk).update(state="confirmed", contract_address=COIN)
    coin.refresh_from_db()
    stablecoin_deployed(coin)
    assert not Sale.objects.exists()
