"""Export: a company's cap table as the files of an OCF package, built from the ledger.

Tranche keeps no OCF ids, so the exporter derives them from what is stable across an export → import → export
round trip: stakeholders, classes and plans by their (unique) names, securities by their `security_ref` (OCF's
security_id), transactions by their position in the ledger. Numbers and money are strings, as OCF requires.

How the ledger maps to OCF, row by row:
- a stock issuance is a TX_STOCK_ISSUANCE; a transfer, an option or warrant exercise and a conversion each create
  the receiver's certificate, so each is the OCF transaction on the source security (TX_STOCK_TRANSFER, ...) plus
  a TX_STOCK_ISSUANCE of the resulting security. A partial transfer or cancellation leaves the rest on the source
  security (Tranche's ledger consumes securities in part), so no balance_security_id is written;
- a pool's first adjustment is its StockPlan's initial_shares_reserved (dated by board_approval_date), later ones
  are TX_STOCK_PLAN_POOL_ADJUSTMENT with the new reserved total;
- an option grant is a TX_EQUITY_COMPENSATION_ISSUANCE (compensation_type OPTION), a SAFE or note a
  TX_CONVERTIBLE_ISSUANCE with its cap, discount, MFN and interest in the conversion mechanism, a warrant a
  TX_WARRANT_ISSUANCE with a fixed-amount exercise trigger into its class;
- a vesting schedule (months, cliff) is a VestingTerms object, its start a TX_VESTING_START.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from companies.models import Company
from equity.choices import ClassKind, Relationship, StakeholderKind, TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder
from equity.ocf.package import MANIFEST_NAME, write_zip
from equity.ocf.validation import OCF_VERSION

CLASS_CURRENCY = "USD"  # a share class has no currency of its own: par value and issue price are in USD
PARTICIPATING_WITHOUT_CAP = "Participating without a cap."  # OCF has no field for it: a comment says so
START_CONDITION = "vesting-start"

RELATIONSHIPS: dict[str, str] = {
    Relationship.FOUNDER: "FOUNDER", Relationship.EMPLOYEE: "EMPLOYEE", Relationship.ADVISOR: "ADVISOR",
    Relationship.INVESTOR: "INVESTOR", Relationship.OTHER: "OTHER",
}
CREATING_TYPES: dict[str, str] = {  # a ledger row that uses up a security to create the receiver's certificate
    TransactionKind.STOCK_TRANSFER: "TX_STOCK_TRANSFER", TransactionKind.OPTION_EXERCISE: "TX_EQUITY_COMPENSATION_EXERCISE",
    TransactionKind.WARRANT_EXERCISE: "TX_WARRANT_EXERCISE", TransactionKind.CONVERSION: "TX_CONVERTIBLE_CONVERSION",
}
FILES: dict[str, tuple[str, str]] = {  # file name -> (manifest list, file type)
    "Stakeholders.ocf.json": ("stakeholders_files", "OCF_STAKEHOLDERS_FILE"),
    "StockClasses.ocf.json": ("stock_classes_files", "OCF_STOCK_CLASSES_FILE"),
    "StockPlans.ocf.json": ("stock_plans_files", "OCF_STOCK_PLANS_FILE"),
    "VestingTerms.ocf.json": ("vesting_terms_files", "OCF_VESTING_TERMS_FILE"),
    "Transactions.ocf.json": ("transactions_files", "OCF_TRANSACTIONS_FILE"),
}


def numeric(value: Decimal | int) -> str:
    """An OCF Numeric: a plain decimal string with at most 10 decimals and no exponent or trailing zeros."""
    if isinstance(value, int):
        return str(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -10:
        value = value.quantize(Decimal("1E-10"))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(amount: Decimal | None, currency: str) -> dict[str, str]:
    return {"amount": numeric(amount if amount is not None else Decimal(0)), "currency": currency}


def _ids(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Stable ids from unique names, in name order so that a clash of slugs is numbered the same every time."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names, key=lambda n: (n.lower(), n)):
        base = f"{prefix}-{slugify(name) or 'unnamed'}"[:60]
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        ids[name] = candidate
    return ids


def vesting_terms_id(months: int, cliff: int) -> str:
    return f"vesting-{months}-months-cliff-{cliff}" if cliff else f"vesting-{months}-months"


def vesting_terms(months: int, cliff: int) -> dict[str, Any]:
    """Monthly vesting over `months`, with `cliff` months vesting at once at the cliff: the shape the importer
    reads back (and the shape of the OCF sample '4yr-1yr-cliff-schedule')."""
    period = {"type": "MONTHS", "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"}
    conditions: list[dict[str, Any]] = [{"id": START_CONDITION, "quantity": "0",
                                         "trigger": {"type": "VESTING_START_DATE"}, "next_condition_ids": []}]
    if cliff:
        conditions.append({
            "id": "cliff", "portion": {"numerator": str(cliff), "denominator": str(months)},
            "trigger": {"type": "VESTING_SCHEDULE_RELATIVE", "period": {**period, "length": cliff, "occurrences": 1},
                        "relative_to_condition_id": START_CONDITION},
            "next_condition_ids": [],
        })
    if months > cliff:
        conditions.append({
            "id": "monthly", "portion": {"numerator": "1", "denominator": str(months)},
            "trigger": {"type": "VESTING_SCHEDULE_RELATIVE",
                        "period": {**period, "length": 1, "occurrences": months - cliff},
                        "relative_to_condition_id": conditions[-1]["id"]},
            "next_condition_ids": [],
        })
    for before, after in zip(conditions, conditions[1:], strict=False):
        before["next_condition_ids"] = [after["id"]]
    description = (f"{cliff}/{months} vests after {cliff} months, then 1/{months} each month" if cliff
                   else f"1/{months} vests each month")
    return {"object_type": "VESTING_TERMS", "id": vesting_terms_id(months, cliff),
            "name": f"{months} months" + (f", {cliff}-month cliff" if cliff else ""),
            "description": f"{description}, until all has vested after {months} months.",
            "allocation_type": "CUMULATIVE_ROUND_DOWN", "vesting_conditions": conditions}


def _issuer(company: Company) -> dict[str, Any]:
    country, _, subdivision = company.jurisdiction.partition("-")
    formed = company.incorporation_date or timezone.localtime(company.created_at).date()
    issuer: dict[str, Any] = {"object_type": "ISSUER", "id": company.slug, "legal_name": company.legal_name,
                              "formation_date": formed.isoformat(), "country_of_formation": country}
    if subdivision:
        issuer["country_subdivision_of_formation"] = subdivision
    return issuer


def _stakeholder(stakeholder: Stakeholder, ocf_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "object_type": "STAKEHOLDER", "id": ocf_id, "name": {"legal_name": stakeholder.name},
        "stakeholder_type": "INDIVIDUAL" if stakeholder.kind == StakeholderKind.INDIVIDUAL else "INSTITUTION",
        "current_relationships": [RELATIONSHIPS.get(stakeholder.relationship, "OTHER")],
    }
    if stakeholder.email:
        email_type = "PERSONAL" if stakeholder.kind == StakeholderKind.INDIVIDUAL else "BUSINESS"
        item["contact_info"] = {"emails": [{"email_type": email_type, "email_address": stakeholder.email}]}
    return item


def _stock_class(share_class: ShareClass, ids: dict[str, str], common_id: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "object_type": "STOCK_CLASS", "id": ids[share_class.name], "name": share_class.name,
        "class_type": "PREFERRED" if share_class.kind == ClassKind.PREFERRED else "COMMON",
        "default_id_prefix": "CS-", "initial_shares_authorized": numeric(share_class.authorized_shares),
        "votes_per_share": "1", "seniority": numeric(share_class.seniority),
        "par_value": money(share_class.par_value, CLASS_CURRENCY),
        "price_per_share": money(share_class.original_issue_price, CLASS_CURRENCY),
        "liquidation_preference_multiple": numeric(share_class.liquidation_multiple),
        "conversion_rights": [],
    }
    if share_class.participation_cap is not None:
        item["participation_cap_multiple"] = numeric(share_class.participation_cap)
    elif share_class.participating:
        item["comments"] = [PARTICIPATING_WITHOUT_CAP]
    if share_class.kind == ClassKind.PREFERRED or share_class.conversion_ratio != 1:
        right: dict[str, Any] = {
            "type": "STOCK_CLASS_CONVERSION_RIGHT",
            "conversion_mechanism": {
                "type": "RATIO_CONVERSION", "rounding_type": "NORMAL",
                "conversion_price": money(share_class.original_issue_price / share_class.conversion_ratio,
                                          CLASS_CURRENCY),
                "ratio": {"numerator": numeric(share_class.conversion_ratio), "denominator": "1"},
            },
        }
        if common_id is not None and common_id != item["id"]:
            right["converts_to_stock_class_id"] = common_id
        item["conversion_rights"] = [right]
    return item


def _convertible_mechanism(row: EquityTransaction) -> tuple[str, dict[str, Any]]:
    terms = row.terms
    mechanism: dict[str, Any]
    if terms.get("instrument") == "convertible_note":
        convertible_type = "NOTE"
        mechanism = {"type": "CONVERTIBLE_NOTE_CONVERSION", "day_count_convention": "ACTUAL_365",
                     "interest_payout": "DEFERRED", "interest_accrual_period": "ANNUAL", "compounding_type": "SIMPLE",
                     "interest_rates": []}
        if terms.get("interest_rate") not in (None, ""):
            mechanism["interest_rates"] = [{"rate": numeric(Decimal(terms["interest_rate"])),
                                            "accrual_start_date": row.effective_date.isoformat()}]
    else:
        convertible_type = "SAFE"
        mechanism = {"type": "SAFE_CONVERSION", "conversion_mfn": bool(terms.get("mfn")),
                     "conversion_timing": "PRE_MONEY" if terms.get("instrument") == "pre_money_safe" else "POST_MONEY"}
    if terms.get("discount") not in (None, ""):
        mechanism["conversion_discount"] = numeric(Decimal(terms["discount"]))
    if terms.get("valuation_cap") not in (None, ""):
        mechanism["conversion_valuation_cap"] = money(Decimal(terms["valuation_cap"]), row.currency)
    return convertible_type, mechanism


def _trigger_id(security_ref: str) -> str:
    return f"{security_ref}.TRIG.1"


class _Exporter:
    def __init__(self, company: Company) -> None:
        self.company = company
        self.stakeholders = list(Stakeholder.objects.filter(company=company).order_by("name", "pk"))
        self.classes = list(ShareClass.objects.filter(company=company).order_by("-seniority", "name", "pk"))
        self.plans = list(EquityPlan.objects.filter(company=company).select_related("share_class").order_by("name"))
        self.stakeholder_ids = _ids("stakeholder", (s.name for s in self.stakeholders))
        self.class_ids = _ids("class", (c.name for c in self.classes))
        self.plan_ids = _ids("plan", (p.name for p in self.plans))
        self.rows: QuerySet[EquityTransaction] = (
            EquityTransaction.objects.filter(company=company)
            .select_related("stakeholder", "share_class", "plan__share_class", "acts_on")
            .order_by("effective_date", "pk"))
        self.vesting: dict[str, dict[str, Any]] = {}

    def _vesting(self, row: EquityTransaction, item: dict[str, Any], extra: list[dict[str, Any]]) -> None:
        if row.vesting_months:
            months, cliff = row.vesting_months, min(row.vesting_cliff_months or 0, row.vesting_months)
            item["vesting_terms_id"] = vesting_terms_id(months, cliff)
            self.vesting.setdefault(item["vesting_terms_id"], vesting_terms(months, cliff))
        if row.vesting_start is not None:
            extra.append({"object_type": "TX_VESTING_START", "id": f"{item['id']}-vesting-start",
                          "security_id": row.security_ref, "date": row.vesting_start.isoformat(),
                          "vesting_condition_id": START_CONDITION})

    def _stock_issuance(self, row: EquityTransaction, ocf_id: str) -> dict[str, Any]:
        if row.stakeholder is None or row.share_class is None:
            raise ValueError(f"{row.security_ref} is a certificate without a holder or class")
        return {
            "object_type": "TX_STOCK_ISSUANCE", "id": ocf_id, "date": row.effective_date.isoformat(),
            "security_id": row.security_ref, "custom_id": row.security_ref,
            "stakeholder_id": self.stakeholder_ids[row.stakeholder.name],
            "stock_class_id": self.class_ids[row.share_class.name], "quantity": numeric(row.quantity),
            "share_price": money(row.price_per_share, row.currency), "security_law_exemptions": [],
            "stock_legend_ids": [],
        }

    def transactions(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        reserved: dict[int, int] = {}
        n = 0  # numbers the exported transactions only: a pool's first adjustment is not one
        for row in self.rows:
            ocf_id, day = f"tx-{n + 1}", row.effective_date.isoformat()
            source = row.acts_on.security_ref if row.acts_on is not None else row.security_ref
            created: list[dict[str, Any]] = []  # items after the main one: resulting issuance, vesting start
            item: dict[str, Any] | None = None
            kind = row.kind
            if kind == TransactionKind.STOCK_ISSUANCE:
                item = self._stock_issuance(row, ocf_id)
                self._vesting(row, item, created)
            elif kind in CREATING_TYPES:
                item = {"object_type": CREATING_TYPES[kind],
                    "id": ocf_id, "date": day, "security_id": source, "resulting_security_ids": [row.security_ref]}
                if kind in (TransactionKind.STOCK_TRANSFER, TransactionKind.OPTION_EXERCISE):
                    item["quantity"] = numeric(row.quantity)
                elif kind == TransactionKind.WARRANT_EXERCISE:
                    item["trigger_id"] = _trigger_id(source)
                else:
                    item.update(trigger_id=_trigger_id(source), reason_text=row.memo)
                    if row.amount is not None:
                        item["quantity_converted"] = numeric(row.amount)
                issuance = self._stock_issuance(row, f"{ocf_id}-issuance")
                created.append(issuance)
                self._vesting(row, issuance, created)
            elif kind in (TransactionKind.STOCK_CANCELLATION, TransactionKind.OPTION_CANCELLATION):
                item = {"object_type": "TX_STOCK_CANCELLATION" if kind == TransactionKind.STOCK_CANCELLATION
                        else "TX_EQUITY_COMPENSATION_CANCELLATION",
                        "id": ocf_id, "date": day, "security_id": source, "quantity": numeric(row.quantity),
                        "reason_text": row.memo}
            elif kind == TransactionKind.STOCK_REPURCHASE:
                item = {"object_type": "TX_STOCK_REPURCHASE", "id": ocf_id, "date": day, "security_id": source,
                        "quantity": numeric(row.quantity), "price": money(row.price_per_share, row.currency)}
            elif kind == TransactionKind.PLAN_ADJUSTMENT and row.plan is not None:
                first = row.plan_id not in reserved
                reserved[row.plan.pk] = reserved.get(row.plan.pk, 0) + row.quantity
                if first:  # the plan's initial reserve, in StockPlans
                    continue
                item = {"object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT", "id": ocf_id, "date": day,
                        "stock_plan_id": self.plan_ids[row.plan.name], "shares_reserved": numeric(reserved[row.plan.pk])}
            elif kind == TransactionKind.OPTION_GRANT and row.plan is not None and row.stakeholder is not None:
                item = {
                    "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE", "id": ocf_id, "date": day,
                    "security_id": row.security_ref, "custom_id": row.security_ref,
                    "stakeholder_id": self.stakeholder_ids[row.stakeholder.name],
                    "stock_plan_id": self.plan_ids[row.plan.name],
                    "stock_class_id": self.class_ids[row.plan.share_class.name], "compensation_type": "OPTION",
                    "quantity": numeric(row.quantity), "exercise_price": money(row.price_per_share, row.currency),
                    "expiration_date": None, "termination_exercise_windows": [], "security_law_exemptions": [],
                }
                self._vesting(row, item, created)
            elif kind == TransactionKind.WARRANT_ISSUANCE and row.stakeholder is not None and row.share_class:
                item = {
                    "object_type": "TX_WARRANT_ISSUANCE", "id": ocf_id, "date": day, "security_id": row.security_ref,
                    "custom_id": row.security_ref, "stakeholder_id": self.stakeholder_ids[row.stakeholder.name],
                    "quantity": numeric(row.quantity), "quantity_source": "INSTRUMENT_FIXED",
                    "exercise_price": money(row.price_per_share, row.currency),
                    "purchase_price": money(Decimal(0), row.currency), "security_law_exemptions": [],
                    "exercise_triggers": [{
                        "trigger_id": _trigger_id(row.security_ref), "type": "ELECTIVE_AT_WILL",
                        "conversion_right": {
                            "type": "WARRANT_CONVERSION_RIGHT",
                            "conversion_mechanism": {"type": "FIXED_AMOUNT_CONVERSION",
                                                     "converts_to_quantity": numeric(row.quantity)},
                            "converts_to_stock_class_id": self.class_ids[row.share_class.name]}}],
                }
                if row.terms.get("expiry_date"):
                    item["warrant_expiration_date"] = row.terms["expiry_date"]
            elif kind == TransactionKind.CONVERTIBLE_ISSUANCE and row.stakeholder is not None:
                convertible_type, mechanism = _convertible_mechanism(row)
                item = {
                    "object_type": "TX_CONVERTIBLE_ISSUANCE", "id": ocf_id, "date": day,
                    "security_id": row.security_ref, "custom_id": row.security_ref,
                    "stakeholder_id": self.stakeholder_ids[row.stakeholder.name], "convertible_type": convertible_type,
                    "investment_amount": money(row.amount, row.currency), "seniority": 1,
                    "security_law_exemptions": [],
                    "conversion_triggers": [{
                        "trigger_id": _trigger_id(row.security_ref), "type": "AUTOMATIC_ON_CONDITION",
                        "trigger_condition": "The next equity financing, a liquidity event or a dissolution, as the "
                                             "instrument defines them.",
                        "conversion_right": {"type": "CONVERTIBLE_CONVERSION_RIGHT", "conversion_mechanism": mechanism,
                                             "converts_to_future_round": True}}],
                }
                if row.terms.get("pro_rata"):
                    item["pro_rata"] = numeric(row.amount or Decimal(0))
            if item is None:
                continue
            if row.memo and "reason_text" not in item:
                item["comments"] = [row.memo]
            items += [item, *created]
            n += 1
        return items

    def stock_plans(self) -> list[dict[str, Any]]:
        firsts: dict[int, EquityTransaction] = {}
        for row in self.rows.filter(kind=TransactionKind.PLAN_ADJUSTMENT):
            if row.plan_id is not None:
                firsts.setdefault(row.plan_id, row)
        items = []
        for plan in self.plans:
            first = firsts.get(plan.pk)
            item: dict[str, Any] = {
                "object_type": "STOCK_PLAN", "id": self.plan_ids[plan.name], "plan_name": plan.name,
                "initial_shares_reserved": numeric(first.quantity if first else 0),
                "default_cancellation_behavior": "RETURN_TO_POOL",
                "stock_class_ids": [self.class_ids[plan.share_class.name]],
            }
            if first is not None:
                item["board_approval_date"] = first.effective_date.isoformat()
            items.append(item)
        return items

    def files(self, generated_at: datetime) -> dict[str, dict[str, Any]]:
        common = next((c for c in self.classes if c.kind == ClassKind.COMMON), None)
        common_id = self.class_ids[common.name] if common is not None else None
        transactions = self.transactions()
        contents: dict[str, list[dict[str, Any]]] = {
            "Stakeholders.ocf.json": [_stakeholder(s, self.stakeholder_ids[s.name]) for s in self.stakeholders],
            "StockClasses.ocf.json": [_stock_class(c, self.class_ids, common_id) for c in self.classes],
            "StockPlans.ocf.json": self.stock_plans(),
            "VestingTerms.ocf.json": [self.vesting[key] for key in sorted(self.vesting)],
            "Transactions.ocf.json": transactions,
        }
        manifest: dict[str, Any] = {
            "ocf_version": OCF_VERSION, "file_type": "OCF_MANIFEST_FILE", "issuer": _issuer(self.company),
            "as_of": timezone.localtime(generated_at).date().isoformat(), "generated_at": generated_at.isoformat(),
            "stock_legend_templates_files": [], "valuations_files": [],
            "comments": ["Exported by Tranche from the company's equity ledger."],
        }
        files: dict[str, dict[str, Any]] = {}
        for name, (list_name, file_type) in FILES.items():
            manifest[list_name] = [{"filepath": f"./{name}", "md5": "0" * 32}]  # write_zip sets the md5
            files[name] = {"file_type": file_type, "items": contents[name]}
        # Imported here: tokens builds on equity, not the reverse.
        from tokens.ocf_sidecar import SIDECAR_NAME, tokens_sidecar

        sidecar = tokens_sidecar(company=self.company, stakeholder_ids=self.stakeholder_ids)
        if sidecar is not None:  # a company without tokens exports a plain OCF package
            files[SIDECAR_NAME] = sidecar
        return {MANIFEST_NAME: manifest, **files}


def ocf_files(*, company: Company, generated_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The OCF files of the company's whole ledger, by file name (the manifest is `Manifest.ocf.json`)."""
    return _Exporter(company).files(generated_at or timezone.now())


def ocf_package_zip(*, company: Company, generated_at: datetime | None = None) -> bytes:
    """The OCF package as a zip with a folder named after the company, as `<slug>.ocf.zip` downloads it."""
    return write_zip(ocf_files(company=company, generated_at=generated_at), folder=f"{company.slug}.ocf")


def ocf_package_filename(company: Company) -> str:
    return f"{company.slug}.ocf.zip"
