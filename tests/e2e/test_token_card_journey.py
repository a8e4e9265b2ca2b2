"""Journey 5's card buyer in Chromium, on the devnet, with a real Celery worker doing the platform's chain work.

Lumen sells LUMEN for a dollar stablecoin and takes cards. Tomás, approved, with a verified wallet the platform put
on the allowlist, opens the sale page, pays by card with the sandbox's test card, and watches the platform's
distributor buy his tokens on the sale contract; his purchase sells the sale out. Mei finalizes; Tomás claims
his tokens into his wallet from the sale page. Every step is screenshotted under tests/e2e/artifacts/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account
from playwright.sync_api import expect
from web3 import Web3

from compliance.audit import Actor
from payments.choices import TokenOrderState
from payments.models import TokenOrder
from tests.factories import MembershipFactory
from tests.tokens.conftest import devnet, devnet_url, worker  # noqa: F401  (fixtures)
from tests.tokens.factories import COMPANY_ADDRESS, TREASURY_ADDRESS, approved_investor
from tests.tokens.worker import eventually
from tokens import services
from tokens.chain import client, keys
from tokens.choices import SaleState
from tokens.models import Claim, Sale

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TOMAS_KEY = "0x" + "7c" * 32  # his development wallet's key, as the wallet page would have left it in the browser
USD = 10**6  # the devnet stablecoin has 6 decimals
TOKEN = 10**18


def _stablecoin(w3: Web3) -> str:
    """The devnet's dollar stablecoin, deployed for the test."""
    from contracts import load_artifact

    artifact = load_artifact("MockStablecoin")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("Test USD", "TUSD").transact({"from": keys.address("deployer")}))
    return str(receipt["contractAddress"])


def test_tomas_buys_lumen_by_card_and_claims_it(
        live_server: Any, signed_in: Any, shot: Any, devnet: Web3, worker: Path) -> None:  # noqa: F811
    mei = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    company = mei.company
    tomas_address = Account.from_key(TOMAS_KEY).address
    tomas = approved_investor("Tomás Silva", tomas_address, country="PT")
    founder = Actor(user=mei.user)
    token = services.token_create(actor=founder, company=company, name="Lumen", symbol="LUMEN", decimals=18,
                                  supply_cap=10**8 * TOKEN, admin_address=COMPANY_ADDRESS)
    now = timezone.now()
    sale = services.sale_create(
        actor=founder, token=token, name="LUMEN public sale", payment_asset="erc20",
        payment_token_address=_stablecoin(devnet), payment_symbol="TUSD", payment_decimals=6,
        price=USD // 2, soft_cap=100 * USD, hard_cap=500 * USD, min_per_investor=100 * USD,
        max_per_investor=500 * USD, starts_at=now + timedelta(seconds=30), ends_at=now + timedelta(days=14),
        treasury_address=TREASURY_ADDRESS, allocation_mode="fcfs", eligibility_mode="allowlist", exemption="reg_s",
        jurisdictions=[], accepts_card=True)
    services.sale_deploy(actor=founder, sale=sale)
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.LIVE,
               f"the sale's deployment and opening (worker log: {worker})", timeout=150)
    sale.refresh_from_db()
    contract = client.contract("TrancheSale", sale.address, w3=devnet)
    eventually(lambda: contract.functions.allowlisted(tomas_address).call(), f"the allowlist (worker log: {worker})")

    # Tomás pays by card from the sale page.
    buyer = signed_in(tomas, viewport={"width": 1280, "height": 1000})
    sale_url = f"{live_server.url}/c/{company.slug}/sales/{sale.pk}/"
    buyer.goto(sale_url)
    shot(buyer, "tomas-sale-page")
    buyer.get_by_role("link", name="Pay by card").click()
    expect(buyer.locator("#card-most")).to_have_text("500 TUSD")
    buyer.fill("#id_amount", "50")
    buyer.get_by_role("button", name="Continue to the card payment").click()
    expect(buyer.get_by_text("The least you can buy now is 100 TUSD.")).to_be_visible()  # refused, nothing written
    assert not TokenOrder.objects.exists()
    shot(buyer, "tomas-card-checkout-below-the-minimum")
    buyer.fill("#id_amount", "500")
    buyer.get_by_role("button", name="Continue to the card payment").click()
    expect(buyer.locator("#order-tokens")).to_have_text("1,000 LUMEN")
    buyer.fill("#id_number", "4000 0000 0000 9995")
    buyer.get_by_role("button", name="Pay $500.00").click()
    expect(buyer.locator("#pay-form")).to_contain_text("Your card has insufficient funds.")  # the decline test card
    buyer.fill("#id_number", "4242 4242 4242 4242")
    shot(buyer, "tomas-card-payment")
    buyer.get_by_role("button", name="Pay $500.00").click()
    # The page follows the distributor's purchase on-chain by itself.
    expect(buyer.locator("#order-state")).to_have_text("Bought", timeout=60_000)
    shot(buyer, "tomas-card-order-bought")
    order = TokenOrder.objects.get()
    assert order.state == TokenOrderState.BOUGHT
    assert contract.functions.totalRaised().call() == 500 * USD
    buyer.goto(sale_url)
    expect(buyer.locator("#sale-purchases")).to_contain_text("1,000 LUMEN", timeout=30_000)

    # His purchase sold the sale out; Mei finalizes.
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.SUCCEEDED, "the sell-out")
    services.sale_finalize(actor=founder, sale=Sale.objects.get(pk=sale.pk))
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.FINALIZED,
               f"the Finalized event (worker log: {worker})")

    # Tomás claims with his wallet, like every buyer.
    buyer.goto(sale_url)
    buyer.evaluate("key => window.localStorage.setItem('tranche.devWallet.privateKey', key)", TOMAS_KEY)
    buyer.reload()
    buyer.get_by_role("button", name="Use the development wallet").click()
    expect(buyer.locator("#connected-address")).to_have_text(tomas_address)
    buyer.get_by_role("button", name="Get test ETH").click()  # gas for the claim
    expect(buyer.get_by_text("The test money arrived.")).to_be_visible(timeout=30_000)
    buyer.get_by_role("button", name="Claim your tokens").click()
    token.refresh_from_db()
    lumen = client.contract("TrancheToken", token.address, w3=devnet)
    eventually(lambda: lumen.functions.balanceOf(tomas_address).call() == 1_000 * TOKEN, "Tomás's claim")
    shot(buyer, "tomas-claimed")
    # The claim shows once the scanner has read its block (a pass every 2 s; longer on a loaded machine).
    eventually(lambda: Claim.objects.filter(sale=sale, wallet__iexact=tomas_address, removed=False).exists(),
               "the Claimed event scanned")
    buyer.goto(f"{live_server.url}/portfolio/")
    expect(buyer.locator("#my-token-orders")).to_contain_text("Bought")
    expect(buyer.locator("#token-history")).to_contain_text("1,000 LUMEN")
    shot(buyer, "tomas-portfolio")
