"""The stateless calculations: a scenario posted, the engine's exact answer back, nothing saved (each test names
its source or derives its numbers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from equity.models import EquityTransaction, ShareClass
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRO_FORMA = "/api/v1/calculations/pro-forma/"
WATERFALL = "/api/v1/calculations/waterfall/"


@pytest.fixture
def api() -> Any:
    client = Client()
    client.force_login(UserFactory())

    def post(path: str, data: dict[str, Any]) -> Any:
        return client.post(path, data, content_type="application/json")

    return post


def founders(shares: int) -> dict[str, Any]:
    return {"share_classes": [{"name": "Common"}],
            "positions": [{"holder": "Founders", "share_class": "Common", "shares": shares}]}


def test_the_venture_hacks_option_pool_shuffle(api: Any) -> None:
    """Venture Hacks, "The Option Pool Shuffle" (Nivi, 2006): $2M at an $8M pre-money, 6,000,000 founder shares,
    a pool of 20% of the post-money inside the pre-money. Published: $1.00 a share (not $1.33), 10,000,000 shares
    after: the investor 2,000,000 (20%), the pool 2,000,000 (20%), the founders 6,000,000 (60%); the effective
    pre-money is $6M."""
    response = api(PRO_FORMA, {**founders(6_000_000), "round": {
        "series": "Series A", "pre_money": "8000000",
        "investments": [{"investor": "Investor", "amount": "2000000"}], "pool": {"target": "0.20"}}})
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["price_per_share"] == "1.0000"
    assert result["exact_price"] == "1"
    assert result["investments"] == [{"investor": "Investor", "amount": "2000000.00", "price": "1.0000",
                                      "shares": 2_000_000, "share_class": "Series A"}]
    assert (result["new_pool_shares"], result["post_money_shares"]) == (2_000_000, 10_000_000)
    assert (result["pre_money"], result["post_money"], result["effective_pre_money"]) == (
        "8000000.00", "10000000.00", "6000000.00")
    table = {row["name"]: row for row in result["ownership"]["by_holder"]}
    assert {name: (row["fully_diluted"], row["fully_diluted_percent"], row["fully_diluted_ownership"])
            for name, row in table.items()} == {
        "Founders": (6_000_000, "60.00", "3/5"), "Investor": (2_000_000, "20.00", "1/5"),
        "Option pool (available)": (2_000_000, "20.00", "1/5")}
    assert (table["Founders"]["outstanding"], table["Founders"]["outstanding_percent"]) == (6_000_000, "75.00")
    assert result["ownership"]["total_outstanding"] == 8_000_000
    assert not EquityTransaction.objects.exists()  # nothing is saved
    assert not ShareClass.objects.exists()


def test_post_money_safes_convert_at_their_caps(api: Any) -> None:
    """Y Combinator, "Post-Money Safe User Guide" (2018), the Series A example (as in test_proforma): two safes
    owning 15% convert at $0.3400 and $0.6800; the Series A price is $15M / (11,764,705 + 1,695,000) = $1.1144."""
    response = api(PRO_FORMA, {**founders(10_000_000), "convertibles": [
        {"name": "Safe 1", "holder": "Angel", "kind": "post_money_safe", "amount": "200000", "valuation_cap": "4000000"},
        {"name": "Safe 2", "holder": "Seed fund", "kind": "post_money_safe", "amount": "800000",
         "valuation_cap": "8000000"},
    ], "round": {"series": "Series A", "pre_money": "15000000", "investments": [{"investor": "Lead", "amount": "5000000"}],
                 "pool": {"new_shares": 1_695_000}}})
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["price_per_share"] == "1.1144"
    conversions = {item["instrument"]: item for item in result["conversions"]}
    assert {name: (c["conversion_price"], c["basis"], c["shares"], c["holder"]) for name, c in conversions.items()} == {
        "Safe 1": ("0.3400", "cap", 588_235, "Angel"), "Safe 2": ("0.6800", "cap", 1_176_470, "Seed fund")}
    assert conversions["Safe 1"]["share_class"] == "Series A (converted at 0.3400)"
    assert result["investments"][0]["shares"] == 4_486_719
    assert result["post_money_shares"] == 11_764_705 + 1_695_000 + 4_486_719
    rows = result["ownership"]["by_holder"]
    assert sum(Decimal(row["fully_diluted_percent"]) for row in rows) == 100
    assert sum(row["fully_diluted"] for row in rows) == result["post_money_shares"]


def test_a_note_converts_with_its_interest_at_the_discount(api: Any) -> None:
    """By hand: a $100,000 note at 8% simple interest from 2025-01-01 to a closing on 2026-01-01 (365 days)
    converts $108,000.00; with no cap and a 20% discount on a $1.00 round price (10,000,000 shares, $10M
    pre-money, conversions outside the pre-money) it converts at $0.8000 into 135,000 shares."""
    response = api(PRO_FORMA, {**founders(10_000_000), "convertibles": [
        {"name": "Note", "holder": "Uncle", "kind": "convertible_note", "amount": "100000", "discount": "0.20",
         "interest_rate": "0.08", "issue_date": "2025-01-01"},
    ], "round": {"series": "Series A", "pre_money": "10000000", "closing_date": "2026-01-01",
                 "convertibles_in_pre_money": False, "investments": [{"investor": "Lead", "amount": "1000000"}]}})
    assert response.status_code == 200, response.content
    note = response.json()["conversions"][0]
    assert (note["converted_amount"], note["cap_price"], note["conversion_price"], note["basis"], note["shares"]) == (
        "108000.00", None, "0.8000", "discount", 135_000)
    assert response.json()["price_per_share"] == "1.0000"


def test_a_waterfall_adds_up_to_the_cent_and_says_what_each_class_chose(api: Any) -> None:
    """The capped participating example (as in test_waterfall): $5M for 5,000,000 Series A at $1.00 with a 2x
    preference participating up to 4x, beside 10,000,000 founder shares. At $50M the cap binds (investor $20M,
    founders $30M); at $90M the investor converts and takes one third ($30M)."""
    scenario = {"share_classes": [
        {"name": "Common"},
        {"name": "Series A", "kind": "preferred", "original_issue_price": "1", "liquidation_multiple": "2",
         "participating": True, "participation_cap": "4", "seniority": 1}],
        "positions": [{"holder": "Founders", "share_class": "Common", "shares": 10_000_000},
                      {"holder": "Investor", "share_class": "Series A", "shares": 5_000_000}]}
    capped = api(WATERFALL, {**scenario, "exit_value": "50000000"}).json()
    assert {row["holder"]: row["net"] for row in capped["by_holder"]} == {"Founders": "30000000.00",
                                                                        "Investor": "20000000.00"}
    assert {row["share_class"]: row["choice"] for row in capped["by_class"]} == {"Common": "common",
                                                                               "Series A": "preference"}
    converted = api(WATERFALL, {**scenario, "exit_value": "90000000"}).json()
    assert {row["holder"]: row["net"] for row in converted["by_holder"]} == {"Founders": "60000000.00",
                                                                           "Investor": "30000000.00"}
    assert converted["by_class"][1] == {"share_class": "Series A", "choice": "converted", "shares": 5_000_000,
                                        "proceeds": "30000000.00"}

    # An exit that does not divide evenly, with options that exercise: every cent is paid, exactly once.
    scenario["positions"] += [
        {"holder": "Ada", "share_class": "Common", "shares": 333_333, "kind": "options", "exercise_price": "0.37"},
        {"holder": "Bank", "share_class": "Common", "shares": 77_777, "kind": "warrants", "exercise_price": "9.99"},
        {"holder": "Option pool (available)", "share_class": "Common", "shares": 1_000_000, "kind": "pool"}]
    odd = api(WATERFALL, {**scenario, "exit_value": "70000000.01"}).json()
    choices = {row["holder"]: row["choice"] for row in odd["payouts"]}
    assert (choices["Ada"], choices["Bank"]) == ("exercised", "not exercised")
    assert odd["exercise_proceeds"] == "123333.21"  # 333,333 × $0.37
    assert Decimal(odd["distributed"]) == Decimal("70000000.01") + Decimal("123333.21")
    assert sum(Decimal(row["proceeds"]) for row in odd["payouts"]) == Decimal(odd["distributed"])
    assert sum(Decimal(row["net"]) for row in odd["by_holder"]) == Decimal("70000000.01")
    assert "Option pool (available)" not in {row["holder"] for row in odd["by_holder"]}


def test_a_pro_forma_s_table_after_feeds_a_waterfall(api: Any) -> None:
    """The pro-forma answers with the classes and positions after the round in its own input shape."""
    after = api(PRO_FORMA, {**founders(6_000_000), "round": {
        "series": "Series A", "pre_money": "8000000", "investments": [{"investor": "Investor", "amount": "2000000"}],
        "pool": {"target": "0.20"}}}).json()
    exit_ = api(WATERFALL, {"share_classes": after["share_classes"], "positions": after["positions"],
                            "exit_value": "1500000"})
    assert exit_.status_code == 200, exit_.content
    # Below the $2M preference, the Series A takes everything.
    assert {row["holder"]: row["net"] for row in exit_.json()["by_holder"]} == {"Founders": "0.00",
                                                                                "Investor": "1500000.00"}


@pytest.mark.parametrize(("path", "change", "field", "message"), [
    (PRO_FORMA, {"positions": [{"holder": "A", "share_class": "Ordinary", "shares": 1}]}, "positions",
     "Unknown share class: Ordinary"),
    (PRO_FORMA, {"share_classes": [{"name": "Common"}, {"name": "Common"}]}, "share_classes", "own name"),
    (PRO_FORMA, {"round": {"series": "A", "pre_money": "1", "post_money": "2",
                           "investments": [{"investor": "I", "amount": "1"}]}}, "round", "pre-money or the post-money"),
    (PRO_FORMA, {"round": {"series": "A", "pre_money": "1", "investments": []}}, "round", "at least 1"),
    (PRO_FORMA, {"round": {"series": "A", "pre_money": "1", "investments": [{"investor": "I", "amount": "1"}],
                           "pool": {"target": "0.1", "new_shares": 5}}}, "round", "not both"),
    (PRO_FORMA, {"convertibles": [{"name": "N", "holder": "H", "kind": "convertible_note", "amount": "1",
                                   "interest_rate": "0.05"}]}, "convertibles", "issue_date"),
    (PRO_FORMA, {"convertibles": [{"name": "S", "holder": "H", "kind": "post_money_safe", "amount": "1",
                                   "discount": "1.5"}]}, "convertibles", "less than or equal to"),
    # The engine's refusals: a SAFE that would own all of the company, a cap on a non-participating class.
    (PRO_FORMA, {"convertibles": [{"name": "Big", "holder": "A", "kind": "post_money_safe", "amount": "6000000",
                                   "valuation_cap": "6000000"}]}, "detail", "100% or more"),
    (WATERFALL, {"share_classes": [{"name": "Common"}, {"name": "Seed", "kind": "preferred", "participation_cap": "3"}],
                 "exit_value": "10"}, "detail", "participation cap needs a participating class"),
    (WATERFALL, {"exit_value": "10.001"}, "exit_value", "no more than 2 decimal places"),
    (WATERFALL, {"positions": [{"holder": "Pool", "share_class": "Common", "shares": 10, "kind": "pool"}],
                 "exit_value": "10"}, "detail", "nobody holds anything"),
])
def test_bad_scenarios_are_a_400_with_a_clear_message(
    api: Any, path: str, change: dict[str, Any], field: str, message: str,
) -> None:
    scenario = {**founders(1_000_000), "round": {"series": "Series A", "pre_money": "10000000",
                                                  "investments": [{"investor": "Lead", "amount": "1000000"}]}}
    if path == WATERFALL:
        del scenario["round"]
    response = api(path, {**scenario, **change})
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert message in str(errors[field]), errors


def test_only_signed_in_people_calculate_and_they_are_throttled(settings: Any) -> None:
    scenario = {**founders(100), "exit_value": "1"}
    assert Client().post(WATERFALL, scenario, content_type="application/json").status_code == 401
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "calculations": "2/min"}}
    client = Client()
    client.force_login(UserFactory())
    statuses = [client.post(WATERFALL, scenario, content_type="application/json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_openapi_schema_documents_the_writes_and_the_calculations(client: Client) -> None:
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert paths["/api/v1/calculations/pro-forma/"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProFormaInputRequest"}
    assert "/api/v1/calculations/waterfall/" in paths
    assert "post" in paths["/api/v1/companies/{slug}/share-classes/"]
    assert "post" in paths["/api/v1/companies/{slug}/stakeholders/"]
    assert {"get", "post"} <= set(paths["/api/v1/companies/{slug}/plans/"])
    for kind in ("stock-issuance", "stock-transfer", "stock-cancellation", "stock-repurchase", "plan-adjustment",
                 "option-grant", "option-exercise", "option-cancellation", "convertible-issuance", "warrant-issuance",
                 "warrant-exercise"):
        operation = paths[f"/api/v1/companies/{{slug}}/transactions/{kind}/"]["post"]
        assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/TransactionOutput"}
