"""Open Cap Format export and import against the real database: the export validates against the official
schemas, export → import → export loses nothing, the official samples validate and import, and a bad package is
refused with errors that name the file, the item and the field, with nothing written."""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import selectors, services
from equity.choices import TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder
from equity.ocf import package as ocf_package
from equity.ocf import selectors as ocf_selectors
from equity.ocf import services as ocf_services
from equity.ocf.validation import SCHEMA_DIR, file_errors
from tests.factories import CompanyFactory, MembershipFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent / "ocf_samples"
SHARED_SCHEMA = Path(settings.BASE_DIR).parent / "shared" / "ocf" / "schema"
D = date
REFUSED = itertools.count(1)


@pytest.fixture
def lumen() -> Any:
    """A realistic company: two founders with vesting, a pool grown once, grants, an exercise, a transfer, a
    cancellation, a repurchase, three SAFEs and a note, a warrant exercised, and one SAFE converted."""
    owner = MembershipFactory(role="owner", company=CompanyFactory(legal_name="Lumen Labs, Inc."))
    actor = Actor(user=owner.user)
    company = owner.company
    common = services.share_class_create(actor=actor, company=company, name="Common", kind="common",
                                         authorized_shares=20_000_000, par_value=Decimal("0.00001"))
    seed = services.share_class_create(
        actor=actor, company=company, name="Series Seed Preferred", kind="preferred", authorized_shares=5_000_000,
        par_value=Decimal("0.00001"), original_issue_price=Decimal("1.25"), liquidation_multiple=Decimal("1.5"),
        participating=True, participation_cap=Decimal("3"), seniority=2, conversion_ratio=Decimal("1.1"))
    services.share_class_create(actor=actor, company=company, name="Series X", kind="preferred",
                                authorized_shares=1_000, participating=True, seniority=1)

    def person(name: str, relationship: str, **extra: Any) -> Stakeholder:
        return services.stakeholder_create(actor=actor, company=company, name=name, relationship=relationship, **extra)

    mei, raj = person("Mei Chen", "founder", email="mei@lumen.example"), person("Raj Patel", "founder")
    ada, bo = person("Ada Engineer", "employee"), person("Bo Advisor", "advisor")
    fund = person("Northwind Ventures LP", "investor", kind="entity", email="deals@northwind.example")
    angel = person("Angel Investor", "investor")
    mei_shares = services.stock_issue(actor=actor, stakeholder=mei, share_class=common, quantity=5_000_000,
                                      effective_date=D(2025, 1, 6), price_per_share=Decimal("0.00001"),
                                      vesting_start=D(2024, 10, 1), vesting_months=48, vesting_cliff_months=12)
    raj_shares = services.stock_issue(actor=actor, stakeholder=raj, share_class=common, quantity=3_000_000,
                                      effective_date=D(2025, 1, 6), price_per_share=Decimal("0.00001"),
                                      memo="Founder stock purchase agreement")
    plan = services.plan_create(actor=actor, share_class=common, name="2025 Equity Incentive Plan",
                                reserved=1_000_000, effective_date=D(2025, 1, 6))
    services.plan_adjust(actor=actor, plan=plan, quantity=500_000, effective_date=D(2025, 9, 1))
    ada_grant = services.option_grant(actor=actor, plan=plan, stakeholder=ada, quantity=200_000,
                                      exercise_price=Decimal("0.10"), effective_date=D(2025, 3, 1))
    bo_grant = services.option_grant(actor=actor, plan=plan, stakeholder=bo, quantity=50_000,
                                     exercise_price=Decimal("0.10"), effective_date=D(2025, 3, 1),
                                     vesting_months=24, vesting_cliff_months=0)
    services.option_exercise(actor=actor, grant=ada_grant, quantity=50_000, effective_date=D(2026, 3, 2))
    services.option_cancel(actor=actor, grant=bo_grant, quantity=20_000, effective_date=D(2026, 1, 15))
    services.plan_adjust(actor=actor, plan=plan, quantity=-100_000, effective_date=D(2026, 2, 1))
    services.stock_transfer(actor=actor, certificate=raj_shares, to=angel, quantity=100_000,
                            effective_date=D(2025, 6, 1), price_per_share=Decimal("0.50"))
    services.stock_cancel(actor=actor, certificate=mei_shares, quantity=10_000, effective_date=D(2025, 7, 1))
    services.stock_cancel(actor=actor, certificate=raj_shares, quantity=5_000, effective_date=D(2025, 7, 2),
                          repurchase_price=Decimal("0.00001"))
    safe = services.convertible_issue(actor=actor, stakeholder=fund, instrument="post_money_safe",
                                      amount=Decimal("500000"), effective_date=D(2025, 4, 1),
                                      valuation_cap=Decimal("8000000"), discount=Decimal("0.20"), pro_rata=True)
    services.convertible_issue(actor=actor, stakeholder=angel, instrument="pre_money_safe", amount=Decimal("25000.50"),
                               effective_date=D(2025, 4, 2), discount=Decimal("0.15"))
    services.convertible_issue(actor=actor, stakeholder=angel, instrument="post_money_safe", amount=Decimal("10000"),
                               effective_date=D(2025, 4, 3), mfn=True)
    services.convertible_issue(actor=actor, stakeholder=fund, instrument="convertible_note", amount=Decimal("100000"),
                               effective_date=D(2025, 5, 1), valuation_cap=Decimal("10000000"),
                               interest_rate=Decimal("0.06"))
    warrant = services.warrant_issue(actor=actor, stakeholder=fund, share_class=common, quantity=40_000,
                                     exercise_price=Decimal("0.25"), effective_date=D(2025, 5, 2),
                                     expiry_date=D(2030, 5, 2))
    services.warrant_exercise(actor=actor, warrant=warrant, quantity=15_000, effective_date=D(2026, 1, 5))
    # A priced round converts the first SAFE (written as the round's close writes it: one row acting on the SAFE).
    services._append(actor, company, kind=TransactionKind.CONVERSION, effective_date=D(2026, 4, 1),
                     security_ref="CS-8", acts_on=safe, stakeholder=fund, share_class=seed, quantity=400_000,
                     price_per_share=Decimal("1.0000"), amount=Decimal("500000"), memo="Series Seed closing")
    return type("Lumen", (), {"actor": actor, "company": company, "owner": owner, "mei": mei})


def _empty_company(owner: Any, name: str = "Lumen Two, Inc.") -> Any:
    return MembershipFactory(role="owner", user=owner.user, company=CompanyFactory(legal_name=name)).company


def _comparable(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The package without what must differ between two companies or two moments: the issuer's id and name."""
    manifest = json.loads(json.dumps(files["Manifest.ocf.json"]))
    for key in ("generated_at", "as_of"):
        manifest.pop(key)
    manifest["issuer"].pop("id")
    manifest["issuer"].pop("legal_name")
    return {**files, "Manifest.ocf.json": manifest}


def _zip(files: dict[str, Any], raw: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, document in files.items():
            archive.writestr(name, json.dumps(document))
        for name, content in (raw or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _unzip(data: bytes) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {Path(name).name: json.loads(archive.read(name)) for name in archive.namelist()}


def _nothing_written(company: Any) -> None:
    assert not ShareClass.objects.filter(company=company).exists()
    assert not Stakeholder.objects.filter(company=company).exists()
    assert not EquityPlan.objects.filter(company=company).exists()
    assert not EquityTransaction.objects.filter(company=company).exists()
    assert not AuditEvent.objects.filter(company_id=company.pk).exists()


# The schemas and samples ----------------------------------------------------------------------------------

@pytest.mark.skipif(not SHARED_SCHEMA.is_dir(), reason="the shared OCF schemas are not beside this checkout")
def test_the_vendored_schemas_are_the_shared_ones() -> None:
    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
                and p.name != "LICENSE.md"}

    assert tree(SCHEMA_DIR) == tree(SHARED_SCHEMA)
    assert (SCHEMA_DIR / "LICENSE.md").is_file()


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.ocf.json")), ids=lambda p: p.name)
def test_every_official_sample_validates(path: Path) -> None:
    assert file_errors(path.name, json.loads(path.read_text())) == []


def test_the_official_samples_import(lumen: Any) -> None:
    """The samples folder as a package: its stakeholders, classes, plan and vesting terms import; its Transactions
    file is a catalogue of one example per type, not a ledger (see the next test), so it is left out here."""
    company = _empty_company(lumen.owner, "Acme Samples, Inc.")
    files = {p.name: p.read_bytes() for p in SAMPLES.glob("*.json")}
    manifest = json.loads(files["Manifest.ocf.json"])
    manifest["transactions_files"] = []
    files["Manifest.ocf.json"] = json.dumps(manifest).encode()
    result = ocf_services.ocf_files_import(actor=lumen.actor, company=company, files=files)
    assert (result.share_classes, result.stakeholders, result.plans, result.transactions) == (2, 4, 1, 0)
    assert any("1 valuations not imported" in note for note in result.notes)
    common = ShareClass.objects.get(company=company, name="Common Stock")
    assert common.authorized_shares == 1_000_000_000
    assert common.par_value == Decimal("0.0001")
    seed = ShareClass.objects.get(company=company, name="Series Seed Preferred")
    assert (seed.liquidation_multiple, seed.participation_cap, seed.seniority) == (Decimal(2), Decimal(2), 2)
    plan = EquityPlan.objects.get(company=company)
    assert plan.name == "2021 Stock Incentive Plan"
    assert plan.share_class == common
    assert services.pool_available(plan) == 10_000_000
    assert Stakeholder.objects.get(company=company, name="XYZ Holdings Fund III").kind == "entity"
    assert AuditEvent.objects.filter(company_id=company.pk, action="equity.ocf_import").count() == 1


# Export ---------------------------------------------------------------------------------------------------

def test_the_export_of_a_realistic_company_validates(lumen: Any) -> None:
    data = ocf_selectors.ocf_package_zip(company=lumen.company)
    files = _unzip(data)
    assert set(files) == {"Manifest.ocf.json", "Stakeholders.ocf.json", "StockClasses.ocf.json",
                          "StockPlans.ocf.json", "VestingTerms.ocf.json", "Transactions.ocf.json"}
    for name, document in files.items():
        assert file_errors(name, document) == [], name
    types = [item["object_type"] for item in files["Transactions.ocf.json"]["items"]]
    for expected in ("TX_STOCK_ISSUANCE", "TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION", "TX_STOCK_REPURCHASE",
                     "TX_STOCK_PLAN_POOL_ADJUSTMENT", "TX_EQUITY_COMPENSATION_ISSUANCE",
                     "TX_EQUITY_COMPENSATION_EXERCISE", "TX_EQUITY_COMPENSATION_CANCELLATION",
                     "TX_CONVERTIBLE_ISSUANCE", "TX_CONVERTIBLE_CONVERSION", "TX_WARRANT_ISSUANCE",
                     "TX_WARRANT_EXERCISE", "TX_VESTING_START"):
        assert expected in types
    manifest = files["Manifest.ocf.json"]
    assert manifest["issuer"]["legal_name"] == "Lumen Labs, Inc."
    assert (manifest["issuer"]["country_of_formation"], manifest["issuer"]["country_subdivision_of_formation"]) == (
        "US", "DE")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # the manifest's md5 values are those of the files
        import hashlib

        for entry in manifest["transactions_files"] + manifest["stakeholders_files"]:
            content = archive.read(f"{lumen.company.slug}.ocf/{entry['filepath'][2:]}")
            assert hashlib.md5(content, usedforsecurity=False).hexdigest() == entry["md5"]
    safe = next(i for i in files["Transactions.ocf.json"]["items"] if i.get("security_id") == "CN-1"
                and i["object_type"] == "TX_CONVERTIBLE_ISSUANCE")
    assert safe["investment_amount"] == {"amount": "500000", "currency": "USD"}
    mechanism = safe["conversion_triggers"][0]["conversion_right"]["conversion_mechanism"]
    assert mechanism == {"type": "SAFE_CONVERSION", "conversion_mfn": False, "conversion_timing": "POST_MONEY",
                         "conversion_discount": "0.2", "conversion_valuation_cap": {"amount": "8000000",
                                                                                    "currency": "USD"}}
    pool = [i for i in files["Transactions.ocf.json"]["items"] if i["object_type"] == "TX_STOCK_PLAN_POOL_ADJUSTMENT"]
    assert [p["shares_reserved"] for p in pool] == ["1500000", "1400000"]  # totals, not changes


def test_export_import_export_loses_nothing(lumen: Any) -> None:
    first = ocf_selectors.ocf_files(company=lumen.company)
    copy = _empty_company(lumen.owner)
    result = ocf_services.ocf_zip_import(actor=lumen.actor, company=copy,
                                         data=ocf_selectors.ocf_package_zip(company=lumen.company))
    assert result.transactions == EquityTransaction.objects.filter(company=lumen.company).count() - 1  # pool start
    second = ocf_selectors.ocf_files(company=copy)
    assert _comparable(second) == _comparable(first)
    assert second["Manifest.ocf.json"]["issuer"]["legal_name"] == "Lumen Two, Inc."
    for as_of in (D(2025, 6, 30), D(2026, 12, 31)):
        assert selectors.cap_table(company=copy, as_of=as_of) == selectors.cap_table(company=lumen.company, as_of=as_of)
    original = EquityTransaction.objects.get(company=lumen.company, security_ref="CS-1", kind="stock_issuance")
    imported = EquityTransaction.objects.get(company=copy, security_ref="CS-1", kind="stock_issuance")
    assert (imported.vesting_start, imported.vesting_months, imported.vesting_cliff_months) == (
        original.vesting_start, original.vesting_months, original.vesting_cliff_months)
    note = EquityTransaction.objects.get(company=copy, security_ref="CN-4")
    assert note.terms == {"instrument": "convertible_note", "valuation_cap": "10000000", "discount": None,
                          "interest_rate": "0.06", "mfn": False, "pro_rata": False}
    # Every row is audited like a founder's entry, and the import once.
    assert AuditEvent.objects.filter(company_id=copy.pk, action__startswith="equity.").count() == (
        ShareClass.objects.filter(company=copy).count() + Stakeholder.objects.filter(company=copy).count()
        + EquityTransaction.objects.filter(company=copy).count() + 1)


# Refusals -------------------------------------------------------------------------------------------------

def _export(lumen: Any) -> dict[str, dict[str, Any]]:
    return json.loads(json.dumps(ocf_selectors.ocf_files(company=lumen.company)))


def _class(files: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in files["StockClasses.ocf.json"]["items"] if i["name"] == name)


def _refused(lumen: Any, data: bytes) -> list[str]:
    company = _empty_company(lumen.owner, f"Refused {next(REFUSED)}, Inc.")
    with pytest.raises(ValidationError) as caught:
        ocf_services.ocf_zip_import(actor=lumen.actor, company=company, data=data)
    _nothing_written(company)
    return caught.value.messages


def test_invalid_json_is_refused(lumen: Any) -> None:
    files = _export(lumen)
    files.pop("Stakeholders.ocf.json")
    errors = _refused(lumen, _zip(files, raw={"Stakeholders.ocf.json": b'{"file_type": "OCF_STAKEHOLDERS_FILE",'}))
    assert len(errors) == 1
    assert errors[0].startswith("Stakeholders.ocf.json is not valid JSON")


def test_a_file_against_the_schema_is_refused_naming_item_and_field(lumen: Any) -> None:
    files = _export(lumen)
    item = files["Transactions.ocf.json"]["items"][0]
    item["quantity"] = 5_000_000  # a JSON number; OCF numbers are strings
    _class(files, "Common")["class_type"] = "ORDINARY"
    errors = _refused(lumen, _zip(files))
    assert f"Transactions.ocf.json, item {item['id']} (TX_STOCK_ISSUANCE), field quantity: 5000000 is not of type " \
           "'string'" in errors
    assert any(e.startswith("StockClasses.ocf.json, item class-common (STOCK_CLASS), field class_type: 'ORDINARY'")
               for e in errors)


def test_a_transaction_naming_an_unknown_stakeholder_is_refused(lumen: Any) -> None:
    files = _export(lumen)
    item = next(i for i in files["Transactions.ocf.json"]["items"] if i["object_type"] == "TX_CONVERTIBLE_ISSUANCE")
    item["stakeholder_id"] = "stakeholder-nobody"
    errors = _refused(lumen, _zip(files))
    assert errors == [f"Transactions.ocf.json, item {item['id']} (TX_CONVERTIBLE_ISSUANCE), field stakeholder_id: "
                      "no stakeholder has the id 'stakeholder-nobody'."]


def test_the_ledger_rules_are_checked_before_anything_is_written(lumen: Any) -> None:
    files = _export(lumen)
    cancellation = next(i for i in files["Transactions.ocf.json"]["items"]
                        if i["object_type"] == "TX_STOCK_CANCELLATION")
    cancellation["quantity"] = "9000000"
    _class(files, "Common")["initial_shares_authorized"] = "100"
    errors = _refused(lumen, _zip(files))
    assert (f"Transactions.ocf.json, item {cancellation['id']} (TX_STOCK_CANCELLATION), field quantity: CS-1 has "
            "5,000,000 shares left.") in errors
    assert ("Transactions.ocf.json, item tx-1 (TX_STOCK_ISSUANCE), field quantity: Common would have 5,000,000 "
            "shares issued of 100 authorized.") in errors


def test_what_the_ledger_cannot_hold_is_refused_not_dropped(lumen: Any) -> None:
    files = _export(lumen)
    grant = next(i for i in files["Transactions.ocf.json"]["items"]
                 if i["object_type"] == "TX_EQUITY_COMPENSATION_ISSUANCE")
    grant["compensation_type"] = "RSU"
    files["Transactions.ocf.json"]["items"].append({"object_type": "TX_STOCK_RETRACTION", "id": "oops",
                                                    "security_id": "CS-1", "date": "2026-05-01",
                                                    "reason_text": "Issued in error"})
    errors = _refused(lumen, _zip(files))
    assert any(e.startswith(f"Transactions.ocf.json, item {grant['id']} (TX_EQUITY_COMPENSATION_ISSUANCE), field "
                            "compensation_type: Tranche's ledger holds options, not RSU") for e in errors)
    assert any(e.startswith("Transactions.ocf.json, item oops (TX_STOCK_RETRACTION), field object_type:")
               for e in errors)


def test_the_official_transactions_sample_is_a_catalogue_not_a_ledger(lumen: Any) -> None:
    """It validates, but its items name stakeholders, classes and securities that exist nowhere (one example per
    transaction type): as a ledger it is refused, each broken reference named."""
    files = {p.name: p.read_bytes() for p in SAMPLES.glob("*.json")}
    manifest = json.loads(files["Manifest.ocf.json"])
    manifest["transactions_files"] = [{"filepath": "./Transactions.ocf.json", "md5": "0" * 32}]
    company = _empty_company(lumen.owner, "Catalogue, Inc.")
    with pytest.raises(ValidationError) as caught:
        ocf_services.ocf_files_import(actor=lumen.actor, company=company,
                                      files={**files, "Manifest.ocf.json": json.dumps(manifest).encode()})
    assert ("Transactions.ocf.json, item test-stock-issuance-minimal (TX_STOCK_ISSUANCE), field stakeholder_id: "
            "no stakeholder has the id 'stakeholder-id'.") in caught.value.messages
    _nothing_written(company)


def test_a_package_without_a_manifest_or_not_a_zip_is_refused(lumen: Any) -> None:
    files = _export(lumen)
    files.pop("Manifest.ocf.json")
    assert _refused(lumen, _zip(files)) == [
        'The package has no OCF manifest (a file with "file_type": "OCF_MANIFEST_FILE").']
    assert _refused(lumen, b"PK not really")[0].startswith("The upload is not a zip file")


def test_only_an_empty_cap_table_of_ones_own_company_takes_an_import(lumen: Any) -> None:
    data = ocf_selectors.ocf_package_zip(company=lumen.company)
    with pytest.raises(ValidationError, match="already has a cap table"):
        ocf_services.ocf_zip_import(actor=lumen.actor, company=lumen.company, data=data)
    viewer = MembershipFactory(role="viewer")
    with pytest.raises(PermissionDenied):
        ocf_services.ocf_zip_import(actor=Actor(user=viewer.user), company=viewer.company, data=data)
    _nothing_written(viewer.company)


def test_the_package_reader_ignores_files_the_manifest_does_not_list() -> None:
    files = {p.name: p.read_bytes() for p in SAMPLES.glob("*.json")}
    package = ocf_package.load(files)
    assert "VestingTerms.example1.ocf.json" in package.ignored
    assert "Transactions.ocf.json" in package.files


# Pages and API ----------------------------------------------------------------------------------------------

def test_members_download_the_package_from_the_cap_table(lumen: Any, client_for: Any) -> None:
    viewer = MembershipFactory(role="viewer", company=lumen.company).user
    client = client_for(viewer)
    page = client.get(f"/companies/{lumen.company.slug}/cap-table/")
    assert f"/companies/{lumen.company.slug}/cap-table.ocf.zip" in page.content.decode()
    response = client.get(f"/companies/{lumen.company.slug}/cap-table.ocf.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{lumen.company.slug}.ocf.zip"' in response["Content-Disposition"]
    assert _unzip(response.content)["Manifest.ocf.json"]["issuer"]["legal_name"] == "Lumen Labs, Inc."


def test_the_import_page_shows_errors_and_imports(lumen: Any, client_for: Any) -> None:
    company = _empty_company(lumen.owner)
    client = client_for(lumen.owner.user)
    url = f"/companies/{company.slug}/cap-table/import-ocf/"
    assert client.get(url).status_code == 200
    files = _export(lumen)
    files["Transactions.ocf.json"]["items"][0]["stakeholder_id"] = "stakeholder-nobody"
    refused = client.post(url, {"package": io.BytesIO(_zip(files))})
    assert refused.status_code == 400
    assert "no stakeholder has the id &#x27;stakeholder-nobody&#x27;" in refused.content.decode()
    _nothing_written(company)
    upload = io.BytesIO(ocf_selectors.ocf_package_zip(company=lumen.company))
    upload.name = "lumen.ocf.zip"
    response = client.post(url, {"package": upload})
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{company.slug}/cap-table/"
    assert EquityTransaction.objects.filter(company=company).count() == EquityTransaction.objects.filter(
        company=lumen.company).count()


def test_the_api_exports_and_imports(lumen: Any, client_for: Any) -> None:
    client = client_for(lumen.owner.user)
    response = client.get(f"/api/v1/companies/{lumen.company.slug}/ocf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    company = _empty_company(lumen.owner)
    bad = client.post(f"/api/v1/companies/{company.slug}/ocf/import/", {"package": io.BytesIO(b"not a zip")})
    assert bad.status_code == 400
    assert bad.json()["errors"][0].startswith("The upload is not a zip file")
    created = client.post(f"/api/v1/companies/{company.slug}/ocf/import/",
                          {"package": io.BytesIO(response.content)})
    assert created.status_code == 201, created.content
    assert created.json()["stakeholders"] == 6
    assert created.json()["share_classes"] == 3
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/companies/{slug}/ocf/import/" in schema
    assert "/api/v1/companies/{slug}/ocf/" in schema
