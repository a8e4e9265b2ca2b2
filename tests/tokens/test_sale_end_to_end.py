"""A token sale from the founder's Deploy to the buyers' claims, through a real Celery worker on the devnet.

The founder deploys a token and a sale; three investors' KYC is approved by a compliance officer and their
verified wallets follow on-chain (the allowlist); they buy; one purchase over the per-investor maximum is refused,
from the investor's wallet and from their second wallet; the last purchase reaches the hard cap exactly; the
founder finalizes; the buyers claim. The worker does everything the platform does (the outbox, the scanner,
eligibility, the clock), kicked as beat would kick it; at the end the sale page's numbers equal the contract's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from accounts.models import User, Wallet
from compliance.audit import Actor
from compliance.models import KycApplication
from compliance.services.kyc import kyc_application_approve
from tests.contracts.support import Reverts, dev_account
from tests.factories import UserFactory
from tests.tokens.factories import ETH, founder_actor, sale_for, token_for
from tests.tokens.worker import eventually
from tokens import services
from tokens.chain import client
from tokens.choices import SaleState
from tokens.models import Claim, Purchase, Sale, SaleEligibility

pytestmark = pytest.mark.django_db(transaction=True)


def investor_in_review(name: str, country: str, officer: User) -> User:
    user = UserFactory(email=f"{name.split()[0].lower()}@example.com", full_name=name)
    KycApplication.objects.create(
        user=user, state="in_review", assignee=officer, risk_level="low", legal_name=name,
        country_of_residence=country, accreditation="self_certified", submitted_at=timezone.now())
    return user


def link(user: User, address: str) -> Wallet:
    """A wallet as the link page leaves it (the signature's check is tested with the page)."""
    return Wallet.objects.create(user=user, address=address, chain_id=31337, message="test", signature="0x",
                                 verified_at=timezone.now())


def send(w3: Web3, function: Any, sender: str, value: int = 0) -> None:
    receipt = w3.eth.wait_for_transaction_receipt(function.transact({"from": sender, "value": value}))
    assert receipt["status"] == 1


def test_a_sale_deployed_bought_out_finalized_and_claimed_through_the_worker(
        devnet: Web3, worker: Path, settings: Any) -> None:
    settings.CHAIN_RPC_URL = devnet.provider.endpoint_uri  # type: ignore[attr-defined]
    founder = founder_actor()
    token = token_for(founder)
    opens = timezone.now() + timedelta(seconds=45)
    sale = sale_for(founder, token, hard_cap=100 * ETH, soft_cap=10 * ETH, min_per_investor=ETH,
                    max_per_investor=40 * ETH, starts_at=opens, ends_at=opens + timedelta(days=7))
    services.sale_deploy(actor=founder, sale=sale)
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.SCHEDULED,
               f"the deployment (worker log: {worker})")
    sale.refresh_from_db()
    contract = client.contract("TrancheSale", sale.address, w3=devnet)

    # Three investors (Reg S: none in the United States), each with a verified wallet; the first has two.
    officer = UserFactory(is_compliance_officer=True)
    ada, ben, chi = (investor_in_review(name, country, officer)
                     for name, country in [("Ada Lim", "SG"), ("Ben Kaur", "GB"), ("Chi Ito", "JP")])
    ada_wallet, ben_wallet, chi_wallet = (dev_account(i).address for i in (7, 8, 9))
    second = Account.create()
    link(ada, ada_wallet)
    link(ada, second.address)
    link(ben, ben_wallet)
    link(chi, chi_wallet)
    devnet.eth.wait_for_transaction_receipt(  # money for the second wallet
        devnet.eth.send_transaction({"from": chi_wallet, "to": second.address, "value": 5 * ETH}))
    for investor in (ada, ben, chi):
        kyc_application_approve(actor=Actor(user=officer), application=investor.kyc_application)

    allowlisted = contract.functions.allowlisted
    eventually(lambda: all(allowlisted(w).call() for w in (ada_wallet, ben_wallet, chi_wallet)),
               "eligibility on-chain")
    assert SaleEligibility.objects.filter(sale=sale, allowed=True).count() >= 3

    eventually(lambda: devnet.eth.get_block("latest")["timestamp"] >= int(opens.timestamp()), "the opening", 90)
    reverts = Reverts()
    send(devnet, contract.functions.buy(40 * ETH), ada_wallet, 40 * ETH)
    with reverts(contract, "InvestorMaximumExceeded", 41 * ETH, 40 * ETH):
        contract.functions.buy(ETH).transact({"from": ada_wallet, "value": ETH})
    # Her second wallet is not a way around her maximum: in allowlist mode one wallet per investor is listed.
    with reverts(contract, "NotAllowlisted", second.address):
        contract.functions.buy(ETH).call({"from": second.address, "value": ETH})
    send(devnet, contract.functions.buy(40 * ETH), ben_wallet, 40 * ETH)
    send(devnet, contract.functions.buy(20 * ETH), chi_wallet, 20 * ETH)  # 100 ETH: the hard cap, exactly
    with reverts(contract, "HardCapExceeded", 101 * ETH, 100 * ETH):
        contract.functions.buy(ETH).transact({"from": chi_wallet, "value": ETH})
    assert contract.functions.totalRaised().call() == 100 * ETH

    eventually(lambda: Purchase.objects.filter(sale=sale, removed=False).count() == 3, "the purchases on the page")
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.SUCCEEDED, "the sale sold out")
    services.sale_finalize(actor=founder, sale=Sale.objects.get(pk=sale.pk))
    eventually(lambda: Sale.objects.get(pk=sale.pk).state == SaleState.FINALIZED, "the finalization")

    for wallet in (ada_wallet, ben_wallet, chi_wallet):
        send(devnet, contract.functions.claim(wallet), wallet)
    eventually(lambda: Claim.objects.filter(sale=sale, removed=False).count() == 3, "the claims")

    token.refresh_from_db()
    erc20 = client.contract("TrancheToken", token.address, w3=devnet)
    for wallet, paid in ((ada_wallet, 40), (ben_wallet, 40), (chi_wallet, 20)):
        assert erc20.functions.balanceOf(wallet).call() == paid * 1000 * ETH  # 0.001 ETH per token
        claim = Claim.objects.get(sale=sale, wallet__iexact=wallet)
        assert claim.tokens == paid * 1000 * ETH
    purchases = {p.wallet.lower(): p for p in Purchase.objects.filter(sale=sale, removed=False)}
    assert {w.lower() for w in (ada_wallet, ben_wallet, chi_wallet)} == set(purchases)
    assert {purchases[ada_wallet.lower()].investor, purchases[chi_wallet.lower()].investor} == {ada, chi}

    page = Client().get(reverse("tokens:sale_public", args=[token.company.slug, sale.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    on_chain = contract.functions.totalRaised().call()
    assert on_chain == sum(p.amount for p in purchases.values())
    assert "100 ETH" in html  # raised, against the 100 ETH hard cap
    assert ">3<" in html.replace(" ", "") or "3 buyers" in html
