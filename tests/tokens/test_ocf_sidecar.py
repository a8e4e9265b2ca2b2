"""The OCF package carries the company's tokens in a sidecar file: export → import (into a new company) → export
gives identical OCF files and sidecar, the OCF files still validate against the schemas, and a sidecar the
platform cannot take is refused naming the item and field, with nothing written."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from equity.models import EquityTransaction, Stakeholder
from equity.ocf import selectors as ocf_selectors
from equity.ocf import services as ocf_services
from equity.ocf.validation import file_errors
from tests.equity.test_ocf import _comparable, _empty_company, _unzip
from tests.tokens.factories import sale_for
from tests.tokens.test_warrants import UNIT, launch, lumen  # noqa: F401
from tokens import allocations, warrants
from tokens.models import Sale, Token, TokenAllocation, TokenWarrant, WatchedContract
from tokens.ocf_sidecar import SIDECAR_NAME

OCF_FILES = {"Manifest.ocf.json", "Stakeholders.ocf.json", "StockClasses.ocf.json", "StockPlans.ocf.json",
             "VestingTerms.ocf.json", "Transactions.ocf.json"}
SALE_ADDRESS = "0x" + "5a" * 20


@pytest.fixture
def hybrid(lumen: Any) -> Any:  # noqa: F811
    """Lumen launched: a sale, two warrants converted (pro-rata, and a priced one awaiting its exercise price), team
    and treasury allocations (one of them vesting in its wallet)."""
    sale_for(lumen.actor, lumen.token, starts_at=timezone.now() + timedelta(days=2))
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah, kind="fixed",
                           token_amount=50_000 * UNIT, price_per_token=Decimal("0.025"))
    team = allocations.allocation_create(
        actor=lumen.actor, token=lumen.token, kind="team", label="Mei's team tokens", stakeholder=lumen.mei,
        beneficiary_address="0x" + "c0" * 20, amount=4_000_000 * UNIT, vesting_start=datetime(2026, 1, 1, tzinfo=UTC),
        cliff=timedelta(days=365), duration=timedelta(days=1460))
    allocations.allocation_create(
        actor=lumen.actor, token=lumen.token, kind="treasury", label="Treasury", beneficiary_address="0x" + "7e" * 20,
        amount=20_000_000 * UNIT, vesting_start=datetime(2026, 1, 1, tzinfo=UTC), cliff=timedelta(0),
        duration=timedelta(days=730))
    launch(lumen.token)
    Sale.objects.filter(token=lumen.token).update(address=SALE_ADDRESS, deploy_block=2, state="scheduled")
    TokenAllocation.objects.filter(pk=team.pk).update(vesting_address="0x" + "be" * 20, state="vesting",
                                                      released=10 * UNIT)
    warrants.warrants_convert(actor=lumen.actor, token=lumen.token)
    return lumen


def _free_the_addresses(company: Any) -> None:
    """As if the package went to another Tranche: there, the token's and sale's addresses are not taken."""
    Token.objects.filter(company=company).update(address="")
    Sale.objects.filter(token__company=company).update(address="")


def test_the_sidecar_carries_tokens_sales_warrants_and_allocations(hybrid: Any) -> None:
    files = _unzip(ocf_selectors.ocf_package_zip(company=hybrid.company))
    assert set(files) == {*OCF_FILES, SIDECAR_NAME}
    for name in OCF_FILES:  # the OCF files are still valid OCF
        assert file_errors(name, files[name]) == [], name
    assert SIDECAR_NAME not in json.dumps(files["Manifest.ocf.json"])  # other OCF tools never see it
    sidecar = files[SIDECAR_NAME]
    (token,) = sidecar["tokens"]
    assert (token["id"], token["supply_cap"], token["investor_pool"], token["address"], token["deploy_status"]) == (
        "token-lumen", str(100_000_000 * UNIT), str(10_000_000 * UNIT), "0x" + "7a" * 20, "deployed")
    assert token["sales"][0]["address"] == SALE_ADDRESS
    assert token["sales"][0]["price"] == str(UNIT // 1000)
    fund_id = next(i["id"] for i in files["Stakeholders.ocf.json"]["items"] if i["name"]["legal_name"] == "Seed Fund")
    pro_rata, priced = sidecar["warrants"]
    assert (pro_rata["stakeholder_id"], pro_rata["kind"], pro_rata["state"], pro_rata["token_amount"]) == (
        fund_id, "pro_rata", "converted", None)
    assert (priced["price_per_token"], priced["token_amount"], priced["state"]) == (
        "0.025", str(50_000 * UNIT), "converted")
    team, treasury, converted, to_pay = sidecar["allocations"]
    assert (team["kind"], team["cliff"], team["duration"], team["vesting_start"], team["released"]) == (
        "team", 365 * 86400, 1460 * 86400, "2026-01-01T00:00:00Z", str(10 * UNIT))
    assert (treasury["stakeholder_id"], converted["warrant_id"], converted["amount"], converted["exercise_price"]) == (
        None, pro_rata["id"], "1818181818181818181818181", None)
    assert (to_pay["warrant_id"], to_pay["state"], to_pay["exercise_price"]) == (priced["id"], "unpaid", "1250")


def test_export_import_export_loses_nothing(hybrid: Any) -> None:
    first = ocf_selectors.ocf_files(company=hybrid.company)
    data = ocf_selectors.ocf_package_zip(company=hybrid.company)
    _free_the_addresses(hybrid.company)
    copy = _empty_company(hybrid.owner)
    result = ocf_services.ocf_zip_import(actor=hybrid.actor, company=copy, data=data)
    assert any("1 tokens, 1 sales, 2 token warrants and 4 token allocations" in note for note in result.notes)
    assert not any("ignored" in note for note in result.notes)
    second = ocf_selectors.ocf_files(company=copy)
    assert _comparable(second) == _comparable(first)
    assert second[SIDECAR_NAME] == first[SIDECAR_NAME]
    token = Token.objects.get(company=copy)
    assert (token.address, token.deploy_status) == ("0x" + "7a" * 20, "deployed")
    allocation = TokenAllocation.objects.get(token=token, kind="investor", exercise_price=None)
    assert allocation.warrant.stakeholder == Stakeholder.objects.get(company=copy, name="Seed Fund")
    assert TokenAllocation.objects.get(token=token, state="unpaid").exercise_price == Decimal("1250.00")
    assert set(WatchedContract.objects.filter(token=token).values_list("kind", flat=True)) == {"token", "vesting"}


def test_a_paid_exercise_travels_and_is_not_paid_out_again_where_it_lands(hybrid: Any) -> None:
    """An exercise the company recorded keeps its record; one paid by card here travels as paid, but its money
    stayed with the escrow agent here, so where it lands it counts as received outside (nothing to pay out)."""
    from payments.warrant_exercises import RECORDED, exercise_recorded

    priced = TokenAllocation.objects.get(token=hybrid.token, state="unpaid")
    exercise_recorded(actor=hybrid.actor, allocation=priced, reference="WIRE-1")
    converted = TokenAllocation.objects.get(token=hybrid.token, kind="investor", exercise_price=None)
    TokenAllocation.objects.filter(pk=converted.pk).update(exercise_price=Decimal("10.00"), exercise_payment_key="pay_x")
    data = ocf_selectors.ocf_package_zip(company=hybrid.company)
    _free_the_addresses(hybrid.company)
    copy = _empty_company(hybrid.owner)
    ocf_services.ocf_zip_import(actor=hybrid.actor, company=copy, data=data)
    landed = {a.exercise_price: a for a in TokenAllocation.objects.filter(token__company=copy, kind="investor")}
    recorded, card_paid = landed[Decimal("1250.00")], landed[Decimal("10.00")]
    assert (recorded.state, recorded.exercise_payout) == ("claimable", RECORDED)
    assert recorded.exercise_payment_key.startswith("recorded_")
    assert (card_paid.state, card_paid.exercise_payment_key, card_paid.exercise_payout) == (
        "claimable", "pay_x", RECORDED)


def test_a_token_already_on_the_platform_is_refused_and_nothing_is_written(hybrid: Any) -> None:
    data = ocf_selectors.ocf_package_zip(company=hybrid.company)
    copy = _empty_company(hybrid.owner, "Lumen Copy, Inc.")
    with pytest.raises(ValidationError) as caught:
        ocf_services.ocf_zip_import(actor=hybrid.actor, company=copy, data=data)
    assert "tranche-tokens.json, token-lumen, field address: a token at this address is already on the platform" \
        in caught.value.messages[0]
    assert not Stakeholder.objects.filter(company=copy).exists()
    assert not EquityTransaction.objects.filter(company=copy).exists()
    assert not Token.objects.filter(company=copy).exists()


def _with_sidecar(data: bytes, change: Any) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith(SIDECAR_NAME):
                document = json.loads(content)
                change(document)
                content = json.dumps(document).encode()
            target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["warrants"][0].update(stakeholder_id="stakeholder-nobody"),
     "token-warrant-1, field stakeholder_id: 'stakeholder-nobody' is not a stakeholder of the package"),
    (lambda d: d["tokens"][0].update(supply_cap="-5"),
     "token-lumen, field supply_cap: expected a whole number of base units, as a string"),
    (lambda d: d["allocations"][0].update(token_id="token-other"),
     "token-allocation-1, field token_id: 'token-other' is not a token of this file"),
    (lambda d: d["warrants"][1].update(kind="fixed", token_amount=None),
     "token-warrant-2"),
    (lambda d: d.update(version=9), "version 9 is not one Tranche reads"),
])
def test_a_bad_sidecar_is_refused_naming_item_and_field(hybrid: Any, change: Any, message: str) -> None:
    data = _with_sidecar(ocf_selectors.ocf_package_zip(company=hybrid.company), change)
    _free_the_addresses(hybrid.company)
    copy = _empty_company(hybrid.owner, "Lumen Refused, Inc.")
    with pytest.raises(ValidationError) as caught:
        ocf_services.ocf_zip_import(actor=hybrid.actor, company=copy, data=data)
    assert any(message in m for m in caught.value.messages), caught.value.messages
    assert not Stakeholder.objects.filter(company=copy).exists()
    assert not TokenWarrant.objects.filter(company=copy).exists()
