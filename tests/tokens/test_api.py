"""The token API with Lumen's seed cap table: amounts as strings of base units, the same services as the pages,
another company's token not found, bad input answered 400 with nothing written, and the investor's portfolio
valued exactly."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory
from tests.tokens.factories import sale_for
from tests.tokens.test_warrants import POOL, UNIT, launch, lumen, wallet_of  # noqa: F401
from tokens.models import ChainEvent, ChainIntent, Claim, Purchase, Sale, TokenAllocation, TokenWarrant

SEED_FUND_TOKENS = "1818181818181818181818181"
LOG = count(1)


def api(lumen: Any, client_for: Any, user: Any = None) -> Any:  # noqa: F811
    return client_for(user or lumen.owner.user)


def test_warrants_issue_convert_and_claim_over_the_api(lumen: Any, client_for: Any) -> None:  # noqa: F811
    client = api(lumen, client_for)
    base = f"/api/v1/companies/{lumen.company.slug}"
    issued = client.post(f"{base}/token-warrants/", {"stakeholder": lumen.fund.pk, "kind": "pro_rata"},
                         content_type="application/json")
    assert issued.status_code == 201, issued.json()
    assert (issued.json()["kind"], issued.json()["token_amount"], issued.json()["state"]) == (
        "pro_rata", None, "outstanding")
    fixed = client.post(f"{base}/token-warrants/", {"stakeholder": lumen.hannah.pk, "kind": "fixed",
                                                    "token_amount": str(250_000 * UNIT)},
                        content_type="application/json")
    assert fixed.json()["token_amount"] == "250000000000000000000000"
    # Bad input: a clear 400, nothing written.
    for bad, field in (({"stakeholder": lumen.fund.pk, "kind": "fixed", "token_amount": "1.5"}, "token_amount"),
                       ({"stakeholder": lumen.fund.pk, "kind": "fixed", "token_amount": 12}, "token_amount"),
                       ({"stakeholder": 999_999, "kind": "fixed", "token_amount": "1"}, "stakeholder"),
                       ({"stakeholder": lumen.fund.pk, "kind": "pro_rata"}, "kind")):
        refused = client.post(f"{base}/token-warrants/", bad, content_type="application/json")
        assert refused.status_code == 400, bad
        assert field in refused.json(), refused.json()
    assert TokenWarrant.objects.count() == 2

    convert = f"{base}/tokens/{lumen.token.pk}/convert-warrants/"
    assert client.post(convert).status_code == 400  # not deployed yet
    launch(lumen.token)
    converted = client.post(convert)
    assert converted.status_code == 200
    amounts = sorted(a["amount"] for a in converted.json()["allocations"])
    assert amounts == sorted([SEED_FUND_TOKENS, "250000000000000000000000"])
    assert converted.json()["waiting_for_payment"] == []

    combined = client.get(f"{base}/cap-table/combined/").json()
    fund = next(row for row in combined["rows"] if row["holder"] == "Seed Fund")
    assert (fund["shares"], fund["company_percent"], fund["allocations"], fund["token_percent"]) == (
        2_000_000, "18.18", {"claimable": SEED_FUND_TOKENS}, "1.8181")

    allocation = TokenAllocation.objects.get(stakeholder=lumen.fund)
    claim = f"/api/v1/token-allocations/{allocation.pk}/claim/"
    stranger = UserFactory()
    theirs = wallet_of(stranger, "0x" + "22" * 20)
    mine = wallet_of(lumen.fund_user, "0x" + "11" * 20)
    assert client_for(stranger).post(claim, {"wallet": theirs.pk}, content_type="application/json").status_code == 404
    refused = client_for(lumen.fund_user).post(claim, {"wallet": theirs.pk}, content_type="application/json")
    assert refused.status_code == 400
    assert "wallet" in refused.json()
    assert not ChainIntent.objects.filter(purpose="allocation.distribute").exists()
    claimed = client_for(lumen.fund_user).post(claim, {"wallet": mine.pk}, content_type="application/json")
    assert claimed.status_code == 202
    assert (claimed.json()["state"], claimed.json()["beneficiary_address"]) == ("deploying", mine.address)


def test_allocations_over_the_api_and_another_company_token_is_not_found(lumen: Any,  # noqa: F811
                                                                         client_for: Any) -> None:
    client = api(lumen, client_for)
    base = f"/api/v1/companies/{lumen.company.slug}/tokens/{lumen.token.pk}/allocations/"
    created = client.post(base, {"kind": "team", "label": "Mei", "stakeholder": lumen.mei.pk,
                                 "beneficiary_address": "0x" + "c0" * 20, "amount": str(4_800_000 * UNIT),
                                 "vesting_start": "2026-01-01T00:00:00Z", "cliff": "365 00:00:00",
                                 "duration": "1460 00:00:00"}, content_type="application/json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["amount"], body["state"], body["vesting"]["released"]) == (str(4_800_000 * UNIT), "planned", "0")
    refused = client.post(base, {"kind": "team", "label": "Mei", "beneficiary_address": "0x" + "c0" * 20,
                                 "amount": str(4_800_000 * UNIT), "vesting_start": "2026-01-01T00:00:00Z",
                                 "cliff": "2000 00:00:00", "duration": "1460 00:00:00"},
                          content_type="application/json")
    assert refused.status_code == 400
    assert "cliff" in refused.json()
    assert TokenAllocation.objects.count() == 1
    assert client.get(base).json()[0]["amount"] == str(4_800_000 * UNIT)

    other = MembershipFactory(role="owner")
    foreign = f"/api/v1/companies/{other.company.slug}/tokens/{lumen.token.pk}/allocations/"
    assert client_for(other.user).get(foreign).status_code == 404  # Lumen's token is not in their company
    assert client_for(other.user).post(f"/api/v1/companies/{other.company.slug}/tokens/{lumen.token.pk}/"
                                       "convert-warrants/").status_code == 404
    assert client_for(other.user).get(base).status_code == 403  # nor may they read Lumen's


def _event(sale: Sale, name: str, n: int) -> ChainEvent:
    return ChainEvent.objects.create(chain_id=sale.token.chain_id, tx_hash="0x" + f"{n:064x}", log_index=0,
                                     block_number=100 + n, block_hash="0x" + f"{n:064x}", address="0x" + "5a" * 20,
                                     name=name, sale=sale)


def test_the_portfolio_values_tokens_at_the_sale_price(lumen: Any, client_for: Any) -> None:  # noqa: F811
    sale = sale_for(lumen.actor, lumen.token, starts_at=timezone.now() + timedelta(days=1))
    Sale.objects.filter(pk=sale.pk).update(state="finalized")
    sale.refresh_from_db()
    buyer = lumen.fund_user
    wallet = wallet_of(buyer, "0x" + "11" * 20)
    paid = 3 * UNIT // 2  # 1.5 ETH at 0.001 ETH a token: 1,500 tokens
    purchase_event = _event(sale, "Purchased", next(LOG))
    Purchase.objects.create(sale=sale, event=purchase_event, wallet=wallet.address, investor=buyer, payer=wallet.address,
                            amount=paid, tokens=1_500 * UNIT, block_number=purchase_event.block_number,
                            tx_hash=purchase_event.tx_hash)
    claim_event = _event(sale, "Claimed", next(LOG))
    Claim.objects.create(sale=sale, event=claim_event, wallet=wallet.address, investor=buyer, tokens=500 * UNIT,
                         paid=UNIT // 2, block_number=claim_event.block_number, tx_hash=claim_event.tx_hash)
    body = client_for(buyer).get("/api/v1/portfolio/tokens/").json()
    (row,) = body["sales"]
    assert row == {"sale": sale.pk, "token": "LUMEN", "payment_symbol": "ETH", "paid": str(paid),
                   "tokens": str(1_500 * UNIT), "claimed": str(500 * UNIT), "claimable": str(1_000 * UNIT),
                   "refunded": "0", "refundable": "0", "value": str(paid)}
    assert [(line["what"], line["block_number"], line["tx_hash"]) for line in body["history"]] == [
        ("claim", claim_event.block_number, claim_event.tx_hash),
        ("purchase", purchase_event.block_number, purchase_event.tx_hash)]
    (shares,) = body["shares"]
    assert (shares["company"], shares["fully_diluted"], shares["price"]) == (lumen.company.slug, 2_000_000, None)
    page = client_for(buyer).get("/portfolio/").content.decode()
    assert "1,000 LUMEN" in page  # to claim
    assert purchase_event.tx_hash in page
    # Tokens but no shares: the holdings card says so in a line, not as an empty portfolio.
    assert "No shares or SAFEs yet" in page
    assert "Nothing yet" not in page


def test_the_schema_documents_the_token_api(client_for: Any, db: Any) -> None:
    schema = client_for(None).get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/companies/{slug}/token-warrants/", "/api/v1/token-allocations/{id}/claim/",
                 "/api/v1/portfolio/tokens/", "/api/v1/companies/{slug}/cap-table/combined/"):
        assert path in schema, path


@pytest.mark.parametrize("amount", ["-1", "1e18", "", str(2**256)])
def test_amounts_must_be_strings_of_digits(lumen: Any, client_for: Any, amount: str) -> None:  # noqa: F811
    refused = api(lumen, client_for).post(
        f"/api/v1/companies/{lumen.company.slug}/token-warrants/",
        {"stakeholder": lumen.fund.pk, "kind": "fixed", "token_amount": amount}, content_type="application/json")
    assert refused.status_code == 400
    assert not TokenWarrant.objects.exists()
