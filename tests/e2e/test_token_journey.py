"""Journeys 4 and 5 in Chromium, on the devnet, with a real Celery worker doing the platform's chain work.

Mei sets up the LUMEN token and its sale in the browser, issues token warrants to her seed investors, plans the
team's vesting allocation and presses Deploy; the page shows the transactions confirming. At launch the warrants
convert. Priya, approved, is put on the allowlist by the platform; she connects the development wallet, gets test
ether, buys, and sees her purchase on the sale page and in her portfolio. Raj buys the rest, so the sale reaches
its hard cap exactly; Mei finalizes; Priya claims her tokens from the page; Hannah, who holds a SAFE, claims the
tokens of her warrant into her verified wallet. Every step is screenshotted under tests/e2e/artifacts/.
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

from accounts.models import Wallet
from tests.contracts.support import dev_account
from tests.equity.lumen import lumen_after_seed
from tests.factories import MembershipFactory, UserFactory
from tests.tokens.conftest import devnet, devnet_url, worker  # noqa: F401  (fixtures)
from tests.tokens.factories import COMPANY_ADDRESS, ETH, approved_investor
from tests.tokens.worker import eventually
from tokens.chain import client
from tokens.choices import AllocationState, SaleState
from tokens.models import Sale, Token, TokenAllocation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PRIYA_KEY = "0x" + "59" * 32  # the development wallet's key, as the wallet page would have left it in the browser
TOKEN = 10**18  # LUMEN has 18 decimals


def _local(moment: Any) -> str:
    """A datetime-local value to the second (the sale opens about a minute after Mei saves it)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


def test_mei_sells_lumen_priya_buys_and_claims_hannah_claims_her_warrant(
        live_server: Any, signed_in: Any, shot: Any, devnet: Web3, worker: Path) -> None:  # noqa: F811
    mei = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    lumen = lumen_after_seed(mei)
    hannah = UserFactory(full_name="Hannah Lee", email="hannah@example.com")
    lumen.hannah.user = hannah
    lumen.hannah.save(update_fields=["user"])
    hannah_wallet = dev_account(8).address
    Wallet.objects.create(user=hannah, address=hannah_wallet, chain_id=31337, message="-", signature="-",
                          verified_at=timezone.now())
    priya_address = Account.from_key(PRIYA_KEY).address
    priya = approved_investor("Priya Patel", priya_address)
    raj = dev_account(7)
    approved_investor("Raj Mehta", raj.address, country="GB")
    company = lumen.company
    base = f"{live_server.url}/companies/{company.slug}"

    # --- Journey 4: Mei creates the token and its sale --------------------------------------------------------
    page = signed_in(mei.user)
    page.goto(f"{base}/tokens/")
    page.get_by_role("link", name="New token and sale").first.click()
    page.fill("#id_name", "Lumen")
    page.fill("#id_symbol", "LUMEN")
    page.fill("#id_supply_cap", "100000000")
    page.fill("#id_admin_address", COMPANY_ADDRESS)
    page.fill("#id_investor_pool", "1000000")
    page.get_by_role("button", name="Save and continue").click()
    page.locator("#sale-form").wait_for()
    opens = timezone.now() + timedelta(seconds=75)
    page.fill("#id_price", "0.001")
    page.fill("#id_soft_cap", "1")
    page.fill("#id_hard_cap", "3")
    page.fill("#id_min_per_investor", "0.1")
    page.fill("#id_max_per_investor", "2")
    page.fill("#id_starts_at", _local(opens))
    page.fill("#id_ends_at", _local(opens + timedelta(days=14)))
    page.get_by_label("Regulation S").check()  # Priya in France and Raj in the UK may join
    page.get_by_role("button", name="Save and review").click()
    page.locator("#sale-terms").wait_for()
    token = Token.objects.get(company=company)
    sale = Sale.objects.get(token=token)
    shot(page, "mei-review")

    # Her seed investors' token warrants, and the team's vesting allocation, before launch.
    page.goto(f"{base}/tokens/{token.pk}/holders/")
    page.select_option("#id_warrant-stakeholder", label="Seed Fund")
    page.check("#id_warrant-kind_1")  # pro-rata of the investor pool
    page.get_by_role("button", name="Issue the warrant").click()
    expect(page.get_by_text("Token warrant issued to Seed Fund.")).to_be_visible()
    page.select_option("#id_warrant-stakeholder", label="Hannah Lee")
    page.check("#id_warrant-kind_0")  # a fixed number
    page.fill("#id_warrant-token_amount", "50000")
    page.get_by_role("button", name="Issue the warrant").click()
    expect(page.get_by_text("Token warrant issued to Hannah Lee.")).to_be_visible()
    page.fill("#id_allocation-label", "Mei Chen, CEO")
    page.select_option("#id_allocation-stakeholder", label="Mei Chen")
    page.fill("#id_allocation-beneficiary_address", COMPANY_ADDRESS)
    page.fill("#id_allocation-amount", "1000000")
    page.fill("#id_allocation-vesting_start", timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Plan the allocation").click()
    expect(page.get_by_text("Allocation for Mei Chen, CEO planned.")).to_be_visible()
    warrants = page.locator("#warrant-table")
    expect(warrants).to_contain_text("50,000 LUMEN")
    expect(warrants).to_contain_text("Seed Fund")
    shot(page, "mei-warrants-before-launch")

    # Deploy, and the seven transactions confirming on the page.
    page.goto(f"{base}/sales/{sale.pk}/")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/sales/{sale.pk}/deployment/")
    shot(page, "mei-deploying")
    expect(page.get_by_role("link", name="Open the public sale page")).to_be_visible(timeout=120_000)
    shot(page, "mei-deployed")

    # At launch the warrants converted (Hannah's exactly, Seed Fund's from the pool); the vesting wallet deploys.
    hannahs = eventually(lambda: TokenAllocation.objects.filter(warrant__stakeholder=lumen.hannah).first(),
                         f"the warrants' conversion at launch (worker log: {worker})")
    page.goto(f"{base}/tokens/{token.pk}/holders/")
    expect(page.locator("#warrant-table")).to_contain_text("Claimable")
    assert hannahs.amount == 50_000 * TOKEN
    page.get_by_role("button", name="Deploy vesting wallets").click()
    eventually(lambda: TokenAllocation.objects.filter(token=token, kind="team", state=AllocationState.VESTING).exists(),
               f"the team's vesting wallet (worker log: {worker})")
    page.reload()
    expect(page.locator("#vesting-table")).to_contain_text("Vesting")
    shot(page, "mei-warrants-converted-vesting-deployed")
    page.goto(f"{base}/cap-table/")
    shot(page, "mei-cap-table-shares-and-tokens")

    # The platform put the approved investors' verified wallets on the allowlist; the sale opens.
    sale.refresh_from_db()
    contract = client.contract("TrancheSale", sale.address, w3=devnet)
    eventually(lambda: contract.functions.allowlisted(priya_address).call()
               and contract.functions.allowlisted(raj.address).call(), f"the allowlist (worker log: {worker})")
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.LIVE, "the sale's opening", timeout=150)

    # --- Journey 5: Priya buys with the development wallet ------------------------------------------------------
    buyer = signed_in(priya, viewport={"width": 1280, "height": 1100})
    sale_url = f"{live_server.url}/c/{company.slug}/sales/{sale.pk}/"
    buyer.goto(sale_url)
    buyer.evaluate("key => window.localStorage.setItem('tranche.devWallet.privateKey', key)", PRIYA_KEY)
    buyer.reload()
    expect(buyer.locator("#may-buy")).to_have_text("2 ETH")
    buyer.get_by_role("button", name="Use the development wallet").click()
    expect(buyer.locator("#connected-address")).to_have_text(priya_address)
    buyer.get_by_role("button", name="Get test ETH").click()
    expect(buyer.locator("#connected-balance")).to_contain_text("10 ETH", timeout=30_000)
    buyer.fill("#buy-amount", "1.5")
    expect(buyer.locator("#buy-preview")).to_have_text("≈ 1,500 LUMEN")
    shot(buyer, "priya-ready-to-buy")
    buyer.get_by_role("button", name="Buy").click()
    # The page's live part refreshes itself: her purchase appears without a reload, seconds later.
    expect(buyer.locator("#sale-purchases")).to_contain_text("1,500 LUMEN", timeout=60_000)
    expect(buyer.locator("#sale-raised")).to_have_text("1.5 ETH")
    shot(buyer, "priya-purchase-on-the-sale-page")
    buyer.goto(f"{live_server.url}/portfolio/")
    expect(buyer.locator("#token-purchases")).to_contain_text("1,500 LUMEN")
    shot(buyer, "priya-portfolio-after-purchase")

    # Raj buys the rest from his own wallet: the hard cap, exactly.
    receipt = devnet.eth.wait_for_transaction_receipt(contract.functions.buy(3 * ETH // 2).transact(
        {"from": raj.address, "value": 3 * ETH // 2}))
    assert receipt["status"] == 1
    assert contract.functions.totalRaised().call() == 3 * ETH
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.SUCCEEDED, "the sell-out")

    # Mei finalizes from the sale's page.
    page.goto(f"{base}/sales/{sale.pk}/")
    expect(page.locator("#manage-raised")).to_have_text("3 ETH")
    shot(page, "mei-sold-out")
    page.get_by_role("button", name="Finalize the sale").click()
    expect(page.locator("#sale-action-pending")).to_be_visible()
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.FINALIZED,
               f"the Finalized event (worker log: {worker})")
    page.reload()
    expect(page.locator("#sale-manage")).to_contain_text("Finalized")
    shot(page, "mei-finalized")

    # Priya claims her tokens from the sale page.
    buyer.goto(sale_url)
    buyer.get_by_role("button", name="Use the development wallet").click()
    buyer.get_by_role("button", name="Claim your tokens").click()
    token.refresh_from_db()
    lumen_token = client.contract("TrancheToken", token.address, w3=devnet)
    eventually(lambda: lumen_token.functions.balanceOf(priya_address).call() == 1_500 * TOKEN, "Priya's claim")
    expect(buyer.locator("#purchase-status")).not_to_be_empty()
    shot(buyer, "priya-claimed")
    buyer.goto(f"{live_server.url}/portfolio/")
    expect(buyer.locator("#token-history")).to_contain_text("1,500 LUMEN")
    shot(buyer, "priya-portfolio-shares-and-tokens")

    # Hannah claims the tokens of her warrant into her verified wallet.
    holder = signed_in(hannah)
    holder.goto(f"{live_server.url}/portfolio/")
    allocations = holder.locator("#token-allocations")
    expect(allocations).to_contain_text("50,000 LUMEN")
    shot(holder, "hannah-warrant-claimable")
    allocations.get_by_role("button", name="Claim with wallet").click()
    eventually(lambda: lumen_token.functions.balanceOf(hannah_wallet).call() == 50_000 * TOKEN,
               f"Hannah's allocation delivered (worker log: {worker})")
    eventually(lambda: TokenAllocation.objects.get(pk=hannahs.pk).state == AllocationState.DELIVERED, "delivered")
    holder.reload()
    expect(holder.locator("#token-allocations")).to_contain_text("Delivered")
    shot(holder, "hannah-warrant-claimed")
