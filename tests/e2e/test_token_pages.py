"""The token pages in Chromium: Mei walks the wizard to the review (each step screenshotted, one mistake on the
way), and Priya opens a live sale's page, connects the development wallet, gets test ether through the faucet,
and sees a contract revert explained in a sentence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from eth_abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from compliance.audit import Actor
from tests.factories import MembershipFactory
from tests.tokens.conftest import devnet, devnet_url  # noqa: F401  (fixtures)
from tests.tokens.factories import COMPANY_ADDRESS, ETH, approved_investor, sale_for, token_for
from tokens.choices import SaleState
from tokens.models import ChainEvent, Purchase, Sale

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PRIYA_KEY = "0x" + "59" * 32  # the development wallet's key, put in the browser's storage as the page would


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_mei_sets_up_a_token_and_its_sale_and_reads_the_review(live_server: Any, signed_in: Any, shot: Any) -> None:
    mei = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    page = signed_in(mei.user)
    page.goto(f"{live_server.url}/companies/{mei.company.slug}/tokens/")
    shot(page, "overview-empty")
    page.get_by_role("link", name="New token and sale").first.click()

    page.fill("#id_name", "Lumen")
    page.fill("#id_symbol", "lumen")
    page.fill("#id_supply_cap", "100000000")
    page.fill("#id_admin_address", COMPANY_ADDRESS)
    page.fill("#id_investor_pool", "1000000")
    shot(page, "step-token")
    page.get_by_role("button", name="Save and continue").click()

    page.locator("#sale-form").wait_for()
    now = timezone.now()
    page.fill("#id_price", "0.001")
    page.fill("#id_soft_cap", "20000")  # above the hard cap: the founder is told, nothing is saved
    page.fill("#id_hard_cap", "10000")
    page.fill("#id_min_per_investor", "0.1")
    page.fill("#id_max_per_investor", "50")
    page.fill("#id_starts_at", _local(now + timedelta(days=1)))
    page.fill("#id_ends_at", _local(now + timedelta(days=31)))
    page.check("#id_exemption_0")
    shot(page, "step-sale")
    page.get_by_role("button", name="Save and review").click()
    page.get_by_text("The hard cap is below the soft cap").wait_for()
    assert not Sale.objects.exists()
    shot(page, "step-sale-mistake")

    page.fill("#id_soft_cap", "1000")
    page.get_by_role("button", name="Save and review").click()
    page.locator("#sale-terms").wait_for()
    terms = page.locator("#sale-terms").inner_text()
    assert "0.001 ETH per LUMEN" in terms
    assert "sells at most 10,000,000 LUMEN" in terms
    assert page.locator("#deploy").is_visible()
    shot(page, "step-review")

    page.goto(f"{live_server.url}/companies/{mei.company.slug}/tokens/")
    assert page.get_by_role("link", name="Public sale").is_visible()  # the name the form suggested
    shot(page, "overview")


def _live_sale_with_purchases(owner: Any) -> Sale:
    actor = Actor(user=owner.user)
    sale = sale_for(actor, token_for(actor), name="LUMEN public sale", exemption="reg_s", jurisdictions=[])
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.LIVE, address="0x" + "22" * 20,
                                           starts_at=timezone.now() - timedelta(hours=2))
    sale.refresh_from_db()
    for n, (wallet, amount) in enumerate([("0x" + "a1" * 20, 12 * ETH), ("0x" + "b2" * 20, ETH // 2),
                                          ("0x" + "c3" * 20, 3 * ETH)], start=1):
        event = ChainEvent.objects.create(chain_id=31337, tx_hash="0x" + f"{n:064x}", log_index=0,
                                          block_number=40 + n, block_hash="0x" + f"{n:064x}", address=sale.address,
                                          name="Purchased", sale=sale)
        Purchase.objects.create(sale=sale, event=event, wallet=wallet, payer=wallet, amount=amount,
                                tokens=amount * 1000, block_number=40 + n, tx_hash=event.tx_hash)
    return sale


def test_priya_opens_the_sale_connects_the_development_wallet_and_gets_test_ether(
        live_server: Any, signed_in: Any, shot: Any, browser: Any, devnet: Any) -> None:  # noqa: F811
    owner = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    sale = _live_sale_with_purchases(owner)
    url = f"{live_server.url}/c/{owner.company.slug}/sales/{sale.pk}/"

    anonymous = browser.new_page(viewport={"width": 1280, "height": 1000})
    anonymous.goto(f"{live_server.url}/c/{owner.company.slug}/")
    anonymous.get_by_role("link", name="See the sale").click()
    anonymous.locator("#sale-purchases").wait_for()
    assert anonymous.locator("#sale-raised").inner_text() == "15.5 ETH"
    assert anonymous.locator("#sale-buyers").inner_text() == "3"
    shot(anonymous, "sale-anonymous")

    address = Account.from_key(PRIYA_KEY).address
    priya = approved_investor("Priya Patel", address)
    page = signed_in(priya, viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.evaluate("key => window.localStorage.setItem('tranche.devWallet.privateKey', key)", PRIYA_KEY)
    page.reload()
    assert page.locator("#may-buy").inner_text() == "20 ETH"
    shot(page, "sale-investor")

    page.get_by_role("button", name="Use the development wallet").click()
    page.locator("#buy-form").wait_for()
    assert page.locator("#connected-address").inner_text() == address
    page.get_by_role("button", name="Get test ETH").click()
    page.locator("#connected-balance").get_by_text("10 ETH").wait_for(timeout=30_000)
    page.fill("#buy-amount", "1.5")
    assert page.locator("#buy-preview").inner_text() == "≈ 1,500 LUMEN"
    shot(page, "sale-dev-wallet-funded")

    selector = keccak(text="NotAllowlisted(address)")[:4]
    payload = "0x" + (selector + encode(["address"], [address])).hex()
    assert page.evaluate("payload => window.trancheSaleExplain(payload)", payload) == \
        "This wallet is not on the allowlist."
    selector = keccak(text="InvestorMaximumExceeded(uint256,uint256)")[:4]
    payload = "0x" + (selector + encode(["uint256", "uint256"], [25 * ETH, 20 * ETH])).hex()
    assert page.evaluate("payload => window.trancheSaleExplain(payload)", payload) == \
        "That would bring your total to 25 ETH, above the maximum per investor of 20 ETH."


def test_mei_opens_a_second_sale_and_the_company_grants_it_the_minter_role(
        live_server: Any, signed_in: Any, shot: Any, devnet: Any) -> None:  # noqa: F811
    from tests.tokens.factories import outbox_settle
    from tokens import services
    from tokens.chain import minter

    mei = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    founder = Actor(user=mei.user)
    token = token_for(founder)
    services.sale_deploy(actor=founder, sale=sale_for(founder, token))
    outbox_settle(devnet)
    later = sale_for(founder, token, name="LUMEN community sale")
    page = signed_in(mei.user)
    page.goto(f"{live_server.url}/companies/{mei.company.slug}/sales/{later.pk}/")
    assert COMPANY_ADDRESS in page.locator("#minter-grant-needed").inner_text()  # told before deploying
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/sales/{later.pk}/deployment/")
    outbox_settle(devnet)
    # The sale contract is deployed; the page (polling) asks the company's address for the grant.
    grant = page.locator("#minter-grant-transaction")
    grant.wait_for(timeout=10_000)
    later.refresh_from_db()
    assert later.address in grant.inner_text()
    assert COMPANY_ADDRESS in grant.inner_text()
    shot(page, "second-sale-waiting-for-the-grant")

    call = minter.minter_grant_call(later)
    devnet.eth.send_transaction({"from": COMPANY_ADDRESS, "to": call.to, "data": call.data})
    devnet.provider.make_request("evm_mine", [])
    assert minter.sales_awaiting_minter() == 1
    page.locator("#deployment-done").wait_for(timeout=10_000)
    assert "2 of 2 confirmed" in page.locator("#deployment").inner_text()
    shot(page, "second-sale-open")
