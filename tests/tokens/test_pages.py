"""The token pages through the test client: the founder's wizard (each bad input gives the founder's sentence and
writes nothing), the review in words, Deploy and its progress, the public sale page's numbers from purchases, and
the investor's panel (what they may still buy, or why they may not)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Wallet
from compliance.audit import Actor
from tests.factories import MembershipFactory, UserFactory
from tests.tokens.factories import (
    COMPANY_ADDRESS,
    ETH,
    TREASURY_ADDRESS,
    approved_investor,
    sale_for,
    token_for,
)
from tokens.choices import IntentState, SaleState
from tokens.models import ChainEvent, ChainIntent, Purchase, Sale, Token

pytestmark = pytest.mark.django_db
WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


@pytest.fixture
def mei() -> Any:
    return MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")


@pytest.fixture
def browser(mei: Any) -> Client:
    client = Client()
    client.force_login(mei.user)
    return client


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def token_post(**overrides: Any) -> dict[str, Any]:
    return {"name": "Lumen", "symbol": "LUMEN", "supply_cap": "100000000", "decimals": "18",
            "admin_address": COMPANY_ADDRESS, "lockup_end": "", "investor_pool": "1000000", **overrides}


def sale_post(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    return {"name": "LUMEN public sale", "payment_asset": "eth", "price": "0.001", "soft_cap": "1000",
            "hard_cap": "10000", "min_per_investor": "0.1", "max_per_investor": "50",
            "starts_at": _local(now + timedelta(days=1)), "ends_at": _local(now + timedelta(days=31)),
            "treasury_address": TREASURY_ADDRESS, "allocation_mode": "fcfs", "eligibility_mode": "allowlist",
            "exemption": "reg_s", "jurisdictions": ["FR", "DE"], **overrides}


# --- the wizard ----------------------------------------------------------------------------------------------


def test_the_wizard_creates_the_token_then_the_sale_in_base_units_and_leads_to_the_review(mei: Any,
                                                                                         browser: Client) -> None:
    slug = mei.company.slug
    response = browser.post(f"/companies/{slug}/tokens/new/", token_post())
    token = Token.objects.get(company=mei.company)
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{slug}/tokens/{token.pk}/sales/new/"
    assert token.supply_cap == 100_000_000 * ETH
    assert token.investor_pool == 1_000_000 * ETH

    response = browser.post(response["Location"], sale_post())
    sale = Sale.objects.get(token=token)
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{slug}/sales/{sale.pk}/"
    assert (sale.price, sale.hard_cap, sale.min_per_investor) == (ETH // 1000, 10_000 * ETH, ETH // 10)
    assert sale.jurisdictions == ["FR", "DE"]


def test_the_token_step_suggests_the_founders_verified_wallet(mei: Any, browser: Client) -> None:
    Wallet.objects.create(user=mei.user, address=WALLET, chain_id=31337, message="-", signature="-",
                          verified_at=timezone.now())
    response = browser.get(f"/companies/{mei.company.slug}/tokens/new/")
    assert f'value="{WALLET}"' in response.content.decode()


@pytest.mark.parametrize(("overrides", "field", "sentence"), [
    ({"soft_cap": "20000"}, "hard_cap", "The hard cap is below the soft cap"),
    ({"ends_at": _local(timezone.now() + timedelta(hours=2)), "starts_at": _local(timezone.now() + timedelta(days=1))},
     "ends_at", "The end is before the start."),
    ({"starts_at": _local(timezone.now() - timedelta(hours=1))}, "starts_at", "The start is in the past"),
    ({"price": "0.0000000000000000001"}, "price", "Price per token has more decimal places than ETH allows"),
    ({"min_per_investor": "0.0000001", "price": "1000"}, "min_per_investor",
     "the minimum per investor buys less than one whole token"),
    ({"price": "1000000000000000000000000", "min_per_investor": "0"}, "price",
     "the smallest purchase buys less than one token base unit"),
    ({"payment_asset": "erc20", "payment_token_address": "0x" + "11" * 20, "payment_symbol": "usdc",
      "payment_decimals": "6", "max_per_investor": "50.0000001"}, "max_per_investor",
     "Maximum per investor has more decimal places than USDC allows"),
])
def test_bad_sale_terms_give_the_founders_sentence_and_create_nothing(mei: Any, browser: Client, overrides: Any,
                                                                      field: str, sentence: str) -> None:
    token = token_for(Actor(user=mei.user))
    response = browser.post(f"/companies/{mei.company.slug}/tokens/{token.pk}/sales/new/", sale_post(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert any(sentence in error for error in form.errors.get(field, [])), form.errors
    assert sentence.split(" has ")[0] in response.content.decode()
    assert not Sale.objects.exists()
    assert not ChainIntent.objects.exists()


def test_a_bad_token_gives_the_field_its_sentence_and_creates_nothing(mei: Any, browser: Client) -> None:
    response = browser.post(f"/companies/{mei.company.slug}/tokens/new/",
                            token_post(admin_address="not an address", investor_pool="200000000"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "is not an Ethereum address" in errors["admin_address"][0]
    assert not Token.objects.exists()


def test_another_companys_token_and_sale_are_refused(mei: Any, browser: Client) -> None:
    other = MembershipFactory(role="owner")
    token = token_for(Actor(user=other.user))
    sale = sale_for(Actor(user=other.user), token)
    slug = mei.company.slug
    # Through Mei's own company: not found. Through the other company: she is not a member.
    assert browser.get(f"/companies/{slug}/tokens/{token.pk}/edit/").status_code == 404
    assert browser.get(f"/companies/{slug}/sales/{sale.pk}/edit/").status_code == 404
    assert browser.get(f"/companies/{slug}/sales/{sale.pk}/").status_code == 404
    assert browser.post(f"/companies/{slug}/sales/{sale.pk}/deploy/").status_code == 404
    assert browser.get(f"/companies/{other.company.slug}/sales/{sale.pk}/").status_code == 403
    assert browser.post(f"/companies/{slug}/tokens/{token.pk}/sales/new/", sale_post()).status_code == 404
    assert Sale.objects.count() == 1


def test_the_review_says_every_term_in_words(mei: Any, browser: Client) -> None:
    actor = Actor(user=mei.user)
    sale = sale_for(actor, token_for(actor), price=ETH // 1000, hard_cap=10_000 * ETH)
    page = browser.get(f"/companies/{mei.company.slug}/sales/{sale.pk}/").content.decode()
    assert "0.001 ETH per LUMEN" in page
    assert "10,000 ETH: sells at most 10,000,000 LUMEN" in page
    assert "at most 100,000,000 LUMEN will ever exist" in page
    assert f"{timezone.localtime(sale.starts_at):%Y-%m-%d %H:%M} UTC" in page
    assert "from 0.1 ETH to 20 ETH" in page
    assert 'id="deploy"' in page


def test_deploy_writes_the_intents_and_leads_to_the_progress_which_polls_until_confirmed(mei: Any,
                                                                                        browser: Client) -> None:
    actor = Actor(user=mei.user)
    sale = sale_for(actor, token_for(actor))
    slug = mei.company.slug
    response = browser.post(f"/companies/{slug}/sales/{sale.pk}/deploy/")
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{slug}/sales/{sale.pk}/deployment/"
    sale.refresh_from_db()
    assert sale.state == SaleState.DEPLOYING
    steps = ChainIntent.objects.count()
    assert steps >= 6

    first = ChainIntent.objects.get(purpose="token.deploy")
    ChainIntent.objects.filter(pk=first.pk).update(state=IntentState.CONFIRMED, tx_hash="0x" + "ab" * 32,
                                                   block_number=7)
    partial = browser.get(response["Location"], HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 2s"' in html
    assert f"1 of {steps} confirmed" in html
    assert "0xabab…abab" in html
    assert "block 7" in html
    assert "Deploy the token contract" in html

    ChainIntent.objects.update(state=IntentState.CONFIRMED)
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.SCHEDULED, address="0x" + "22" * 20)
    done = browser.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger' not in done
    assert "0x" + "22" * 20 in done
    assert f"/c/{slug}/sales/{sale.pk}/" in done


def test_a_second_deploy_is_refused_with_a_sentence(mei: Any, browser: Client) -> None:
    actor = Actor(user=mei.user)
    sale = sale_for(actor, token_for(actor))
    browser.post(f"/companies/{mei.company.slug}/sales/{sale.pk}/deploy/")
    steps = ChainIntent.objects.count()
    response = browser.post(f"/companies/{mei.company.slug}/sales/{sale.pk}/deploy/", follow=True)
    assert "This sale has already been deployed." in response.content.decode()
    assert ChainIntent.objects.count() == steps


# --- the public sale page ------------------------------------------------------------------------------------


def deployed_sale(mei: Any, symbol: str = "LUMEN", **overrides: Any) -> Sale:
    actor = Actor(user=mei.user)
    sale = sale_for(actor, token_for(actor, symbol=symbol), **overrides)
    Sale.objects.filter(pk=sale.pk).update(state=SaleState.LIVE, address=f"0x{sale.pk:040x}",
                                           starts_at=timezone.now() - timedelta(hours=1))
    sale.refresh_from_db()
    return sale


def purchase(sale: Sale, wallet: str, amount: int, n: int, *, removed: bool = False) -> Purchase:
    event = ChainEvent.objects.create(chain_id=31337, tx_hash="0x" + f"{n:064x}", log_index=0, block_number=100 + n,
                                      block_hash="0x" + f"{n:064x}", address=sale.address, name="Purchased",
                                      sale=sale, removed=removed)
    return Purchase.objects.create(sale=sale, event=event, wallet=wallet, payer=wallet, amount=amount,
                                   tokens=amount * 1000, block_number=100 + n, tx_hash=event.tx_hash, removed=removed)


def test_a_draft_sale_has_no_public_page(mei: Any) -> None:
    actor = Actor(user=mei.user)
    sale = sale_for(actor, token_for(actor))
    assert Client().get(f"/c/{mei.company.slug}/sales/{sale.pk}/").status_code == 404


def test_the_public_page_counts_purchases_not_removed_and_distinct_wallets(mei: Any) -> None:
    sale = deployed_sale(mei)
    purchase(sale, WALLET, 5 * ETH, 1)
    purchase(sale, WALLET.lower(), 3 * ETH, 2)  # the same wallet, spelled in lower case
    purchase(sale, "0x" + "33" * 20, ETH // 2, 3)
    purchase(sale, "0x" + "44" * 20, 50 * ETH, 4, removed=True)  # reorganised away
    page = Client().get(f"/c/{mei.company.slug}/sales/{sale.pk}/")
    assert page.status_code == 200
    totals = page.context["totals"]
    assert (totals.raised, totals.buyers, totals.purchases) == (8 * ETH + ETH // 2, 2, 3)
    html = page.content.decode()
    assert "8.5 ETH" in html
    assert "raised of the 100 ETH hard cap" in html
    assert "8%" in html
    assert "0x5aAe…eAed" in html
    assert "Ends in" in html
    assert "Sign in to buy" in html

    live = Client().get(f"/c/{mei.company.slug}/sales/{sale.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in live
    assert 'hx-trigger="every 2s"' in live
    assert "8.5 ETH" in live


def test_the_company_page_links_its_token_sale(mei: Any) -> None:
    sale = deployed_sale(mei)
    html = Client().get(f"/c/{mei.company.slug}/").content.decode()
    assert f'href="/c/{mei.company.slug}/sales/{sale.pk}/"' in html
    assert "Token sale" in html


def priya_with_wallet(**kyc: Any) -> Any:
    return approved_investor("Priya Patel", WALLET, **kyc)


def _panel(sale: Sale, user: Any, mei: Any) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(f"/c/{mei.company.slug}/sales/{sale.pk}/")


def test_the_investor_may_still_buy_the_per_investor_maximum_less_what_her_wallets_bought(mei: Any) -> None:
    sale = deployed_sale(mei, max_per_investor=20 * ETH)
    priya = priya_with_wallet()
    purchase(sale, WALLET.lower(), 5 * ETH, 1)
    purchase(sale, "0x" + "33" * 20, 70 * ETH, 2)  # someone else: leaves 25 ETH under the hard cap
    response = _panel(sale, priya, mei)
    panel = response.context["panel"]
    assert (panel.paid, panel.max_left, panel.room, panel.may_buy) == (5 * ETH, 15 * ETH, 25 * ETH, 15 * ETH)
    html = response.content.decode()
    assert 'id="may-buy" data-amount="15000000000000000000"' in html
    assert "Connect wallet" in html
    assert "Use the development wallet" in html


def test_the_hard_cap_room_bounds_what_the_investor_may_buy(mei: Any) -> None:
    sale = deployed_sale(mei)
    priya = priya_with_wallet()
    purchase(sale, "0x" + "33" * 20, 95 * ETH, 1)
    assert _panel(sale, priya, mei).context["panel"].may_buy == 5 * ETH


def test_reg_cf_limit_bounds_a_stablecoin_sale_and_is_only_noted_for_an_ether_sale(mei: Any) -> None:
    # Not accredited, income $150,000 and net worth $80,000: 5% of the greater, $7,500 over 12 months.
    usdc = deployed_sale(mei, exemption="reg_cf", jurisdictions=["FR"], payment_asset="erc20",
                         payment_token_address="0x" + "11" * 20, payment_symbol="USDC", payment_decimals=6,
                         price=10**6, soft_cap=1_000 * 10**6, hard_cap=1_000_000 * 10**6, min_per_investor=10**6,
                         max_per_investor=100_000 * 10**6)
    priya = priya_with_wallet()
    panel = _panel(usdc, priya, mei).context["panel"]
    assert panel.reg_cf_usd == Decimal("7500.00")
    assert panel.reg_cf_left == 7_500 * 10**6
    assert panel.may_buy == 7_500 * 10**6

    ether = deployed_sale(mei, symbol="LUMX", exemption="reg_cf", jurisdictions=["FR"])
    response = _panel(ether, priya, mei)
    panel = response.context["panel"]
    assert panel.reg_cf_left is None
    assert panel.reg_cf_unconverted
    assert not panel.eligibility.eligible  # as tokens.eligibility decides: kept off the sale's allowlist
    html = response.content.decode()
    assert "without an exchange rate" in html
    assert "$7,500.00 left" in html
    assert 'id="buy-form"' not in html


def test_an_investor_without_approved_kyc_is_told_why_and_sent_to_verify(mei: Any) -> None:
    sale = deployed_sale(mei)
    response = _panel(sale, UserFactory(), mei)
    html = response.content.decode()
    assert 'id="not-eligible"' in html
    assert "Your identity verification must be approved before you can invest." in html
    assert 'href="/kyc/"' in html
    assert 'id="buy-form"' not in html


def test_an_investor_outside_the_sales_jurisdictions_is_told_so(mei: Any) -> None:
    sale = deployed_sale(mei, jurisdictions=["DE"])
    html = _panel(sale, priya_with_wallet(country="FR"), mei).content.decode()
    assert "only open to residents of certain jurisdictions" in html


def test_purchase_terms_answer_only_for_the_investors_own_wallet(mei: Any) -> None:
    sale = deployed_sale(mei)
    priya = priya_with_wallet()
    client = Client()
    client.force_login(priya)
    url = f"/c/{mei.company.slug}/sales/{sale.pk}/purchase-terms/"
    assert client.get(url, {"wallet": WALLET.lower()}).json() == {"mode": "allowlist"}
    assert client.get(url, {"wallet": "0x" + "33" * 20}).status_code == 403


def test_purchase_terms_carry_the_wallets_merkle_proof(mei: Any) -> None:
    from tokens.eligibility import eligibility_refresh

    sale = deployed_sale(mei, eligibility_mode="merkle")
    priya = priya_with_wallet()
    eligibility_refresh(sale=sale)
    client = Client()
    client.force_login(priya)
    answer = client.get(f"/c/{mei.company.slug}/sales/{sale.pk}/purchase-terms/", {"wallet": WALLET}).json()
    assert answer["mode"] == "merkle"
    assert isinstance(answer["proof"], list)


# --- the devnet helpers --------------------------------------------------------------------------------------


def test_the_faucet_and_the_relay_do_not_exist_off_the_devnet(settings: Any) -> None:
    settings.CHAIN_ID = 1
    client = Client()
    client.force_login(UserFactory())
    assert client.post("/chain/faucet", {"address": WALLET}).status_code == 404
    assert client.post("/chain/rpc", '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
                       content_type="application/json").status_code == 404


def test_the_relay_refuses_what_the_page_does_not_need() -> None:
    client = Client()
    client.force_login(UserFactory())
    answer = client.post("/chain/rpc", '{"jsonrpc":"2.0","id":7,"method":"eth_sendTransaction","params":[]}',
                         content_type="application/json").json()
    assert answer["id"] == 7
    assert answer["error"]["code"] == -32601
    assert Client().post("/chain/rpc", "{}", content_type="application/json").status_code == 403


def test_the_faucet_pays_a_wallet_ten_ether_once_an_hour(devnet: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    before = devnet.eth.get_balance(WALLET)
    first = client.post("/chain/faucet", {"address": WALLET})
    assert first.status_code == 200
    devnet.eth.wait_for_transaction_receipt(first.json()["tx_hash"], timeout=30)
    assert devnet.eth.get_balance(WALLET) - before == 10 * ETH
    assert client.post("/chain/faucet", {"address": WALLET.lower()}).status_code == 429
    assert client.post("/chain/faucet", {"address": "nope"}).status_code == 400
    assert devnet.eth.get_balance(WALLET) - before == 10 * ETH


def test_the_faucet_adds_the_test_dollar_of_a_sale_paid_in_one(devnet: Any, mei: Any) -> None:
    from tests.tokens.test_eligibility import deploy

    coin = deploy(devnet, "MockStablecoin", "Test USD", "TUSD")
    actor = Actor(user=mei.user)
    usd = 10**6
    sale = sale_for(actor, token_for(actor), payment_asset="erc20", payment_token_address=coin.address,
                    payment_symbol="TUSD", payment_decimals=6, price=usd // 2, soft_cap=1_000 * usd,
                    hard_cap=100_000 * usd, min_per_investor=100 * usd, max_per_investor=4_000 * usd)
    wallet = "0x" + "5b" * 20
    client = Client()
    client.force_login(UserFactory())
    answer = client.post("/chain/faucet", {"address": wallet, "sale": sale.pk})
    assert answer.status_code == 200
    assert answer.json()["detail"].startswith("10 ETH and 10,000 TUSD are on their way")
    devnet.eth.wait_for_transaction_receipt(answer.json()["tx_hash"], timeout=30)
    assert coin.functions.balanceOf(devnet.to_checksum_address(wallet)).call() == 10_000 * usd
    assert devnet.eth.get_balance(devnet.to_checksum_address(wallet)) == 10 * ETH

    # A sale "paid" in an address with no contract: the ether only, and the wallet has had its turn (a sale id
    # that is not ASCII digits is no error either).
    sale_for(actor, sale.token, payment_asset="erc20", payment_token_address="0x" + "ab" * 20, payment_symbol="XYZ",
             payment_decimals=6, price=usd // 2, soft_cap=1_000 * usd, hard_cap=100_000 * usd,
             min_per_investor=100 * usd, max_per_investor=4_000 * usd)
    other = "0x" + "5c" * 20
    unmintable = Sale.objects.get(payment_symbol="XYZ")
    answer = client.post("/chain/faucet", {"address": other, "sale": unmintable.pk})
    assert answer.status_code == 200
    assert answer.json()["detail"].startswith("10 ETH are on their way")
    assert client.post("/chain/faucet", {"address": other, "sale": "²"}).status_code == 429


def test_the_relay_answers_the_development_wallets_reads(devnet: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    answer = client.post("/chain/rpc", '{"jsonrpc":"2.0","id":3,"method":"eth_chainId","params":[]}',
                         content_type="application/json").json()
    assert answer == {"jsonrpc": "2.0", "id": 3, "result": "0x7a69"}


def test_the_founder_issues_warrants_and_plans_allocations_on_the_holders_page(mei: Any, browser: Client) -> None:
    from equity.services import stakeholder_create
    from tokens.models import TokenAllocation, TokenWarrant

    actor = Actor(user=mei.user)
    token = token_for(actor)
    hannah = stakeholder_create(actor=actor, company=mei.company, name="Hannah Lee", relationship="investor")
    url = f"/companies/{mei.company.slug}/tokens/{token.pk}"
    assert browser.get(f"{url}/holders/").status_code == 200
    # A fixed warrant without its number, and one finer than the token's decimals: refused, nothing saved.
    response = browser.post(f"{url}/warrants/new/", {"warrant-stakeholder": hannah.pk, "warrant-kind": "fixed"})
    assert response.status_code == 400
    assert "Give the number of tokens of a fixed warrant." in response.content.decode()
    response = browser.post(f"{url}/warrants/new/", {"warrant-stakeholder": hannah.pk, "warrant-kind": "fixed",
                                                     "warrant-token_amount": "0.0000000000000000001"})
    assert response.status_code == 400
    assert "LUMEN has 18 decimals" in response.content.decode()
    assert not TokenWarrant.objects.exists()
    response = browser.post(f"{url}/warrants/new/", {"warrant-stakeholder": hannah.pk, "warrant-kind": "fixed",
                                                     "warrant-token_amount": "2500.5"})
    assert response.status_code == 302
    warrant = TokenWarrant.objects.get()
    assert (warrant.stakeholder, warrant.token_amount) == (hannah, 2_500_500_000_000_000_000_000)

    # An allocation beyond what the supply cap leaves is refused beside the amount; one that fits is planned,
    # its cliff and duration in calendar months from the start.
    plan = {"allocation-kind": "team", "allocation-label": "Mei Chen, CEO",
            "allocation-beneficiary_address": COMPANY_ADDRESS, "allocation-amount": "100000000",
            "allocation-vesting_start": "2027-03-01T00:00", "allocation-cliff_months": "12",
            "allocation-duration_months": "48"}
    response = browser.post(f"{url}/allocations/new/", plan)
    assert response.status_code == 400
    assert "The supply cap leaves" in response.content.decode()
    assert not TokenAllocation.objects.exists()
    response = browser.post(f"{url}/allocations/new/", {**plan, "allocation-amount": "1000000"})
    assert response.status_code == 302
    allocation = TokenAllocation.objects.get()
    assert (allocation.cliff, allocation.duration) == (timedelta(days=366), timedelta(days=366 + 365 * 3))
    # Deploying vesting wallets before the token is launched is refused in words, nothing sent.
    response = browser.post(f"{url}/allocations/deploy/", follow=True)
    assert "deploy the token first" in response.content.decode()
    assert not ChainIntent.objects.filter(purpose="vesting.deploy").exists()
