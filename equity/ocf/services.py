"""Import: an OCF package written into a company's empty cap table, in one transaction.

The package is read and checked in full before anything is written: schemas first (`equity.ocf.package`), then
references (every stakeholder, class, plan, vesting terms and security an item names exists) and the ledger's own
rules (authorized shares, nothing used beyond what a security holds, the pool never below zero), each error
naming the file, the item and the field. Only then are the rows written, through the same services (and so the
same checks and audit events) as a founder's entries; ledger rows keep their OCF security_id as `security_ref`.

What Tranche's ledger cannot hold is refused (RSUs, retractions, splits, ...) rather than dropped, so the cap
table never silently differs from the package; what has no effect on it (acceptances, vesting events,
stakeholder change events, valuations, documents) is skipped and reported in `OcfImportResult.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from companies.models import Company
from compliance.audit import Actor
from compliance.services import audit_record
from equity import services
from equity.choices import ClassKind, Relationship, StakeholderKind, TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder
from equity.ocf.package import Package, PackageInvalid, load, read_zip
from equity.ocf.selectors import PARTICIPATING_WITHOUT_CAP

RELATIONSHIPS: dict[str, str] = {
    "FOUNDER": Relationship.FOUNDER, "EMPLOYEE": Relationship.EMPLOYEE, "NON_US_EMPLOYEE": Relationship.EMPLOYEE,
    "EXECUTIVE": Relationship.EMPLOYEE, "OFFICER": Relationship.EMPLOYEE, "ADVISOR": Relationship.ADVISOR,
    "CONSULTANT": Relationship.ADVISOR, "BOARD_MEMBER": Relationship.ADVISOR, "INVESTOR": Relationship.INVESTOR,
}
EXERCISES = {"TX_EQUITY_COMPENSATION_EXERCISE", "TX_PLAN_SECURITY_EXERCISE"}
CREATING_PARENTS = {"TX_STOCK_TRANSFER", "TX_WARRANT_EXERCISE", "TX_CONVERTIBLE_CONVERSION", *EXERCISES}
SKIPPED = {  # no effect on the cap table Tranche keeps
    "TX_STOCK_ACCEPTANCE", "TX_WARRANT_ACCEPTANCE", "TX_CONVERTIBLE_ACCEPTANCE", "TX_EQUITY_COMPENSATION_ACCEPTANCE",
    "TX_PLAN_SECURITY_ACCEPTANCE", "TX_VESTING_EVENT", "TX_VESTING_ACCELERATION", "CE_STAKEHOLDER_RELATIONSHIP",
    "CE_STAKEHOLDER_STATUS", "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT",
}
NOT_KEPT_FILES = {"OCF_VALUATIONS_FILE": "valuations", "OCF_FINANCINGS_FILE": "financings",
                  "OCF_DOCUMENTS_FILE": "documents", "OCF_STOCK_LEGEND_TEMPLATES_FILE": "stock legend templates"}
OPTION_TYPES = {"OPTION", "OPTION_NSO", "OPTION_ISO"}


@dataclass
class OcfImportResult:
    share_classes: int = 0
    stakeholders: int = 0
    plans: int = 0
    transactions: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Row:
    """A ledger row to write, with its references still as OCF ids."""

    where: str
    kind: str
    effective_date: date
    security_ref: str
    quantity: int = 0
    acts_on: str | None = None
    stakeholder: str | None = None
    share_class: str | None = None
    plan: str | None = None
    price_per_share: Decimal | None = None
    amount: Decimal | None = None
    currency: str = "USD"
    vesting: tuple[int, int] | None = None
    vesting_start: date | None = None
    terms: dict[str, Any] = field(default_factory=dict)
    memo: str = ""


@dataclass
class _Plan:
    where: str
    name: str
    share_class: str
    reserved: int
    effective_date: date | None


def _where(filename: str, item: dict[str, Any]) -> str:
    return f"{filename}, item {item.get('id')} ({item.get('object_type')})"


def _vesting_shape(terms: dict[str, Any]) -> tuple[int, int] | None:
    """(months, cliff months) of monthly vesting with an optional cliff, the shape Tranche keeps; else None."""
    conditions = {c["id"]: c for c in terms["vesting_conditions"]}
    start = next((c for c in terms["vesting_conditions"] if c["trigger"]["type"] == "VESTING_START_DATE"), None)
    if start is None:
        return None
    steps: list[tuple[int, int]] = []
    current = start
    while current["next_condition_ids"]:
        if len(current["next_condition_ids"]) != 1 or current["next_condition_ids"][0] not in conditions:
            return None
        current = conditions[current["next_condition_ids"][0]]
        trigger = current["trigger"]
        period = trigger.get("period", {})
        if trigger["type"] != "VESTING_SCHEDULE_RELATIVE" or period.get("type") != "MONTHS" or len(steps) > 1:
            return None
        steps.append((int(period["length"]), int(period["occurrences"])))
    if len(steps) == 1 and steps[0][0] == 1:
        return steps[0][1], 0
    if len(steps) == 1 and steps[0][1] == 1:
        return steps[0][0], steps[0][0]
    if len(steps) == 2 and steps[0][1] == 1 and steps[1][0] == 1:
        return steps[0][0] + steps[1][1], steps[0][0]
    return None


class _Reader:
    """Turns a validated package into what to write, collecting every error instead of stopping at the first."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.classes: dict[str, dict[str, Any]] = {}
        self.stakeholders: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, _Plan] = {}
        self.vesting: dict[str, tuple[int, int] | None] = {}
        self.rows: list[_Row] = []

    def error(self, where: str, field_name: str | None, message: str) -> None:
        self.errors.append(f"{where}, field {field_name}: {message}" if field_name else f"{where}: {message}")

    def integer(self, where: str, field_name: str, value: str) -> int:
        number = Decimal(value)
        if number != number.to_integral_value():
            self.error(where, field_name, _("%(value)s is not a whole number of shares.") % {"value": value})
        return int(number)

    def decimal(self, where: str, field_name: str, value: str, places: int) -> Decimal:
        number = Decimal(value)
        if number != number.quantize(Decimal(1).scaleb(-places)):
            self.error(where, field_name, _("%(value)s has more than %(n)s decimal places.")
                       % {"value": value, "n": places})
        return number

    def read(self) -> None:
        self.read_vesting_terms()
        self.read_stakeholders()
        self.read_classes()
        self.read_plans()
        self.read_transactions()
        for file_type, label in NOT_KEPT_FILES.items():
            count = len(self.package.items(file_type))
            if count:
                self.notes.append(_("%(n)s %(what)s not imported: Tranche does not keep them.")
                                  % {"n": count, "what": label})
        if self.package.ignored:
            self.notes.append(_("Files the manifest does not list were ignored: %(files)s.")
                              % {"files": ", ".join(self.package.ignored)})

    def _unique(self, seen: dict[str, Any], where: str, ocf_id: str) -> bool:
        if ocf_id in seen:
            self.error(where, "id", _("another item of this file type has the id %(id)r.") % {"id": ocf_id})
            return False
        return True

    def read_vesting_terms(self) -> None:
        for filename, item in self.package.items("OCF_VESTING_TERMS_FILE"):
            if self._unique(self.vesting, _where(filename, item), item["id"]):
                self.vesting[item["id"]] = _vesting_shape(item)
        odd = sorted(key for key, shape in self.vesting.items() if shape is None)
        if odd:
            self.notes.append(_("Vesting terms Tranche cannot hold (it keeps monthly vesting with an optional cliff) "
                                "were not applied to their securities: %(ids)s.") % {"ids": ", ".join(odd)})

    def read_stakeholders(self) -> None:
        names: dict[str, str] = {}
        for filename, item in self.package.items("OCF_STAKEHOLDERS_FILE"):
            where = _where(filename, item)
            if not self._unique(self.stakeholders, where, item["id"]):
                continue
            name = item["name"]["legal_name"].strip()
            if name.lower() in names:
                self.error(where, "name.legal_name", _("stakeholder %(other)s has the same name.")
                           % {"other": names[name.lower()]})
            names[name.lower()] = item["id"]
            relationships = item.get("current_relationships") or [item.get("current_relationship")]
            relationship = next((RELATIONSHIPS[r] for r in relationships if r in RELATIONSHIPS), Relationship.OTHER)
            emails = ((item.get("contact_info") or {}).get("emails") or (item.get("primary_contact") or {})
                      .get("emails") or [])
            self.stakeholders[item["id"]] = {
                "where": where, "name": name, "relationship": relationship,
                "kind": StakeholderKind.INDIVIDUAL if item["stakeholder_type"] == "INDIVIDUAL" else StakeholderKind.ENTITY,
                "email": emails[0]["email_address"] if emails else "",
            }

    def read_classes(self) -> None:
        names: dict[str, str] = {}
        authorized: dict[str, tuple[date, int, str]] = {}
        for filename, item in self.package.items("OCF_TRANSACTIONS_FILE"):
            if item["object_type"] == "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT":
                when = date.fromisoformat(item["date"])
                if item["stock_class_id"] not in authorized or authorized[item["stock_class_id"]][0] <= when:
                    authorized[item["stock_class_id"]] = (when, self.integer(
                        _where(filename, item), "new_shares_authorized", item["new_shares_authorized"]), item["id"])
        for filename, item in self.package.items("OCF_STOCK_CLASSES_FILE"):
            where = _where(filename, item)
            if not self._unique(self.classes, where, item["id"]):
                continue
            if item["name"].strip().lower() in names:
                self.error(where, "name", _("stock class %(other)s has the same name.")
                           % {"other": names[item["name"].strip().lower()]})
            names[item["name"].strip().lower()] = item["id"]
            ratio = Decimal(1)
            for right in item.get("conversion_rights", []):
                mechanism = right.get("conversion_mechanism", {})
                if mechanism.get("type") == "RATIO_CONVERSION":
                    ratio = (Decimal(mechanism["ratio"]["numerator"]) / Decimal(mechanism["ratio"]["denominator"])
                             ).quantize(Decimal("0.000001"))
                    break
            cap = item.get("participation_cap_multiple")
            shares = self.integer(where, "initial_shares_authorized", item["initial_shares_authorized"])
            if item["id"] in authorized:
                shares = authorized[item["id"]][1]
                self.notes.append(_("%(class)s: authorized shares set to %(n)s from %(tx)s (Tranche keeps the "
                                    "current number, not its history).")
                                  % {"class": item["name"], "n": f"{shares:,}", "tx": authorized[item["id"]][2]})
            self.classes[item["id"]] = {
                "where": where, "name": item["name"].strip(),
                "kind": ClassKind.PREFERRED if item["class_type"] == "PREFERRED" else ClassKind.COMMON,
                "authorized_shares": shares,
                "par_value": Decimal(item["par_value"]["amount"]) if "par_value" in item else Decimal(0),
                "original_issue_price": (Decimal(item["price_per_share"]["amount"]) if "price_per_share" in item
                                         else Decimal(0)),
                "liquidation_multiple": Decimal(item.get("liquidation_preference_multiple", "1")),
                "participating": cap is not None or PARTICIPATING_WITHOUT_CAP in item.get("comments", []),
                "participation_cap": Decimal(cap) if cap is not None else None,
                "conversion_ratio": ratio,
                "seniority": self.integer(where, "seniority", item["seniority"]),
            }

    def read_plans(self) -> None:
        first_use: dict[str, date] = {}
        for _filename, item in self.package.items("OCF_TRANSACTIONS_FILE"):
            if item.get("stock_plan_id"):
                when = date.fromisoformat(item["date"])
                first_use[item["stock_plan_id"]] = min(first_use.get(item["stock_plan_id"], when), when)
        names: dict[str, str] = {}
        for filename, item in self.package.items("OCF_STOCK_PLANS_FILE"):
            where = _where(filename, item)
            if not self._unique(self.plans, where, item["id"]):
                continue
            class_ids = item.get("stock_class_ids") or [item.get("stock_class_id")]
            if class_ids[0] not in self.classes:
                self.error(where, "stock_class_ids", _("no stock class has the id %(id)r.") % {"id": class_ids[0]})
            if len(class_ids) > 1:
                self.notes.append(_("%(plan)s: options are taken to be for %(class)s, the first of its classes.")
                                  % {"plan": item["plan_name"], "class": class_ids[0]})
            if item["plan_name"].strip().lower() in names:
                self.error(where, "plan_name", _("stock plan %(other)s has the same name.")
                           % {"other": names[item["plan_name"].strip().lower()]})
            names[item["plan_name"].strip().lower()] = item["id"]
            approved = item.get("board_approval_date")
            self.plans[item["id"]] = _Plan(
                where=where, name=item["plan_name"].strip(), share_class=class_ids[0],
                reserved=self.integer(where, "initial_shares_reserved", item["initial_shares_reserved"]),
                effective_date=date.fromisoformat(approved) if approved else first_use.get(item["id"]),
            )

    def read_transactions(self) -> None:
        TransactionReader(self).read()


class TransactionReader:
    """The transactions of a package, in date order, checked as the ledger would check them."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        entries = reader.package.items("OCF_TRANSACTIONS_FILE")
        self.items = [(_where(filename, item), item) for filename, item in entries]
        self.securities: dict[str, _Row] = {}  # security_id -> the row that created it
        self.aliases: dict[str, str] = {}  # balance_security_id -> the security that keeps the balance
        self.left: dict[str, int] = {}
        self.issued: dict[str, int] = {}
        self.pool: dict[str, int] = {}
        self.reserved: dict[str, int] = {}
        self.converted: set[str] = set()
        self.issuances: dict[str, tuple[str, dict[str, Any]]] = {}  # TX_STOCK_ISSUANCE by security_id
        self.results: set[str] = set()  # security ids another transaction creates through its resulting ids
        self.vesting_starts: dict[str, date] = {}

    def error(self, where: str, field_name: str | None, message: str) -> None:
        self.reader.error(where, field_name, message)

    def read(self) -> None:
        seen: set[str] = set()
        for where, item in self.items:
            if item["id"] in seen:
                self.error(where, "id", _("another transaction has the id %(id)r.") % {"id": item["id"]})
            seen.add(item["id"])
            kind = item["object_type"]
            if kind == "TX_STOCK_ISSUANCE":
                if item["security_id"] in self.issuances:
                    self.error(where, "security_id", _("%(id)r is issued twice (also by %(other)s).")
                               % {"id": item["security_id"], "other": self.issuances[item["security_id"]][1]["id"]})
                self.issuances[item["security_id"]] = (where, item)
            elif kind in CREATING_PARENTS:
                self.results.update(item["resulting_security_ids"])
            if item.get("balance_security_id"):
                self.results.add(item["balance_security_id"])
                self.aliases[item["balance_security_id"]] = item["security_id"]
            if kind == "TX_VESTING_START":
                self.vesting_starts[item["security_id"]] = date.fromisoformat(item["date"])
        for plan_id, plan in self.reader.plans.items():
            self.pool[plan_id] = self.reserved[plan_id] = plan.reserved
        skipped: dict[str, int] = {}
        order = sorted(range(len(self.items)), key=lambda i: (self.items[i][1]["date"], i))
        for index in order:
            where, item = self.items[index]
            kind = item["object_type"]
            if kind in SKIPPED:
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            if kind in ("TX_VESTING_START", "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT"):
                continue  # read before: they shape the securities and classes
            if kind == "TX_STOCK_ISSUANCE" and item["security_id"] in self.results:
                continue  # written with the transaction that creates it
            handler = getattr(self, f"on_{kind.lower()}", None)
            if handler is None:
                self.error(where, "object_type", _("Tranche's ledger cannot hold a %(type)s; remove it or record the "
                                                   "outcome another way.") % {"type": kind})
                continue
            handler(where, item)
        for security_id in self.vesting_starts:
            if self._resolve(security_id) not in self.securities:
                self.error(next(w for w, i in self.items if i.get("security_id") == security_id
                                and i["object_type"] == "TX_VESTING_START"), "security_id",
                           _("no security has the id %(id)r.") % {"id": security_id})
        if skipped:
            self.reader.notes.append(_("Skipped, as they do not change the cap table: %(types)s.") % {
                "types": ", ".join(f"{n} × {kind}" for kind, n in sorted(skipped.items()))})

    # Lookups and checks ------------------------------------------------------------------------------------

    def _resolve(self, security_id: str) -> str:
        while security_id in self.aliases:
            security_id = self.aliases[security_id]
        return security_id

    def _security(self, where: str, item: dict[str, Any], kinds: list[str]) -> _Row | None:
        row = self.securities.get(self._resolve(item["security_id"]))
        if row is None:
            self.error(where, "security_id", _("no security issued before %(date)s has the id %(id)r.")
                       % {"date": item["date"], "id": item["security_id"]})
            return None
        if row.kind not in kinds:
            self.error(where, "security_id", _("%(id)r is not a security this transaction can act on (it is: "
                                               "%(kind)s).") % {"id": item["security_id"],
                                                                "kind": TransactionKind(row.kind).label})
            return None
        return row

    def _known(self, where: str, field_name: str, value: str | None, known: dict[str, Any], what: str) -> bool:
        if value not in known:
            self.error(where, field_name, _("no %(what)s has the id %(id)r.") % {"what": what, "id": value})
            return False
        return True

    def _quantity(self, where: str, field_name: str, value: str) -> int:
        quantity = self.reader.integer(where, field_name, value)
        if quantity <= 0:
            self.error(where, field_name, _("Enter a number of shares above zero."))
        return quantity

    def _new_security(self, where: str, row: _Row) -> None:
        if len(row.security_ref) > 40:
            self.error(where, "security_id", _("Tranche keeps security ids of up to 40 characters."))
        elif row.security_ref in self.securities:
            self.error(where, "security_id", _("another security already has the id %(id)r.") % {"id": row.security_ref})
        self.securities[row.security_ref] = row
        self.left[row.security_ref] = row.quantity

    def _use(self, where: str, source: _Row, quantity: int) -> None:
        if quantity > self.left[source.security_ref]:
            self.error(where, "quantity", _("%(security)s has %(n)s shares left.")
                       % {"security": source.security_ref, "n": f"{self.left[source.security_ref]:,}"})
        self.left[source.security_ref] -= quantity

    def _issue(self, where: str, share_class: str | None, quantity: int) -> None:
        if share_class is None or share_class not in self.reader.classes:
            return
        self.issued[share_class] = self.issued.get(share_class, 0) + quantity
        authorized = self.reader.classes[share_class]["authorized_shares"]
        if self.issued[share_class] > authorized:
            self.error(where, "quantity", _("%(class)s would have %(n)s shares issued of %(authorized)s authorized.")
                       % {"class": self.reader.classes[share_class]["name"], "n": f"{self.issued[share_class]:,}",
                          "authorized": f"{authorized:,}"})

    def _vesting(self, where: str, item: dict[str, Any], row: _Row) -> None:
        terms_id = item.get("vesting_terms_id")
        if terms_id is not None and self._known(where, "vesting_terms_id", terms_id, self.reader.vesting,
                                                "vesting terms"):
            row.vesting = self.reader.vesting[terms_id]
        row.vesting_start = self.vesting_starts.get(row.security_ref)

    @staticmethod
    def _memo(item: dict[str, Any], field_name: str = "comments") -> str:
        value = item.get(field_name) or ""
        return ("; ".join(value) if isinstance(value, list) else str(value))[:300]

    def _add(self, row: _Row) -> _Row:
        self.reader.rows.append(row)
        return row

    def _resulting(self, where: str, item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for security_id in item["resulting_security_ids"]:
            if security_id not in self.issuances:
                self.error(where, "resulting_security_ids", _("no TX_STOCK_ISSUANCE creates the resulting security "
                                                              "%(id)r.") % {"id": security_id})
            else:
                found.append(self.issuances[security_id])
        if not item["resulting_security_ids"]:
            self.error(where, "resulting_security_ids", _("name the stock issued by this transaction."))
        return found

    def _certificates(self, where: str, item: dict[str, Any], kind: str, source: _Row, share_class: str | None,
                      quantity: int | None, memo: str = "", amount: Decimal | None = None) -> None:
        """The receivers' certificates of a transfer, exercise or conversion, one ledger row each."""
        resulting = self._resulting(where, item)
        total = 0
        for issuance_where, issuance in resulting:
            if not self._known(issuance_where, "stakeholder_id", issuance["stakeholder_id"], self.reader.stakeholders,
                               "stakeholder"):
                continue
            if share_class is not None and issuance["stock_class_id"] != share_class:
                self.error(issuance_where, "stock_class_id", _("the stock must be of %(class)r, the class of %(id)r.")
                           % {"class": share_class, "id": item["security_id"]})
            elif not self._known(issuance_where, "stock_class_id", issuance["stock_class_id"], self.reader.classes,
                                 "stock class"):
                continue
            count = self._quantity(issuance_where, "quantity", issuance["quantity"])
            total += count
            row = _Row(where=where, kind=kind, effective_date=date.fromisoformat(item["date"]),
                       security_ref=issuance["security_id"], quantity=count, acts_on=source.security_ref,
                       stakeholder=issuance["stakeholder_id"], share_class=issuance["stock_class_id"],
                       price_per_share=Decimal(issuance["share_price"]["amount"]),
                       currency=issuance["share_price"]["currency"], memo=memo, amount=amount)
            self._vesting(issuance_where, issuance, row)
            self._new_security(issuance_where, row)
            if kind != TransactionKind.STOCK_TRANSFER:
                self._issue(issuance_where, row.share_class, count)
            self._add(row)
        if quantity is not None and resulting and total != quantity:
            self.error(where, "quantity", _("%(n)s shares, but the resulting securities hold %(total)s.")
                       % {"n": f"{quantity:,}", "total": f"{total:,}"})
        if kind != TransactionKind.CONVERSION:
            self._use(where, source, total)

    # One handler per OCF transaction type Tranche keeps ---------------------------------------------------

    def on_tx_stock_issuance(self, where: str, item: dict[str, Any]) -> None:
        known = self._known(where, "stakeholder_id", item["stakeholder_id"], self.reader.stakeholders, "stakeholder")
        known &= self._known(where, "stock_class_id", item["stock_class_id"], self.reader.classes, "stock class")
        if item.get("stock_plan_id"):
            self.reader.notes.append(_("%(where)s: issued under plan %(plan)s; Tranche records it as a plain stock "
                                       "issuance.") % {"where": where, "plan": item["stock_plan_id"]})
        row = _Row(where=where, kind=TransactionKind.STOCK_ISSUANCE, effective_date=date.fromisoformat(item["date"]),
                   security_ref=item["security_id"], quantity=self._quantity(where, "quantity", item["quantity"]),
                   stakeholder=item["stakeholder_id"], share_class=item["stock_class_id"],
                   price_per_share=Decimal(item["share_price"]["amount"]), currency=item["share_price"]["currency"],
                   memo=self._memo(item))
        self._vesting(where, item, row)
        self._new_security(where, row)
        if known:
            self._issue(where, row.share_class, row.quantity)
        self._add(row)

    def on_tx_stock_transfer(self, where: str, item: dict[str, Any]) -> None:
        source = self._security(where, item, TransactionKind.creating_stock())
        if source is not None:
            self._certificates(where, item, TransactionKind.STOCK_TRANSFER, source, source.share_class,
                               self._quantity(where, "quantity", item["quantity"]), memo=self._memo(item))

    def on_tx_equity_compensation_exercise(self, where: str, item: dict[str, Any]) -> None:
        source = self._security(where, item, [TransactionKind.OPTION_GRANT])
        if source is not None and source.plan in self.reader.plans:
            self._certificates(where, item, TransactionKind.OPTION_EXERCISE, source,
                               self.reader.plans[source.plan].share_class,
                               self._quantity(where, "quantity", item["quantity"]), memo=self._memo(item))

    on_tx_plan_security_exercise = on_tx_equity_compensation_exercise

    def on_tx_warrant_exercise(self, where: str, item: dict[str, Any]) -> None:
        source = self._security(where, item, [TransactionKind.WARRANT_ISSUANCE])
        if source is not None:
            self._certificates(where, item, TransactionKind.WARRANT_EXERCISE, source, source.share_class, None,
                               memo=self._memo(item))

    def on_tx_convertible_conversion(self, where: str, item: dict[str, Any]) -> None:
        source = self._security(where, item, [TransactionKind.CONVERTIBLE_ISSUANCE])
        if source is None:
            return
        if source.security_ref in self.converted:
            self.error(where, "security_id", _("%(id)r has already converted.") % {"id": source.security_ref})
        if len(item["resulting_security_ids"]) > 1:
            self.error(where, "resulting_security_ids", _("Tranche converts a SAFE or note into one stock issuance."))
        self.converted.add(source.security_ref)
        amount = item.get("quantity_converted")
        self._certificates(where, item, TransactionKind.CONVERSION, source, None, None, memo=self._memo(
            item, "reason_text"), amount=self.reader.decimal(where, "quantity_converted", amount, 2) if amount else None)

    def _consume(self, where: str, item: dict[str, Any], kinds: list[str], kind: str, memo: str,
                 price: Decimal | None = None, currency: str = "USD") -> None:
        source = self._security(where, item, kinds)
        quantity = self._quantity(where, "quantity", item["quantity"])
        if source is None:
            return
        self._use(where, source, quantity)
        if kind == TransactionKind.OPTION_CANCELLATION and source.plan is not None:
            self.pool[source.plan] += quantity
        elif source.share_class is not None:
            self.issued[source.share_class] = self.issued.get(source.share_class, 0) - quantity
        self._add(_Row(where=where, kind=kind, effective_date=date.fromisoformat(item["date"]),
                       security_ref=source.security_ref, quantity=quantity, acts_on=source.security_ref,
                       stakeholder=source.stakeholder, share_class=source.share_class if source.plan is None else None,
                       plan=source.plan, price_per_share=price, currency=currency, memo=memo))

    def on_tx_stock_cancellation(self, where: str, item: dict[str, Any]) -> None:
        self._consume(where, item, TransactionKind.creating_stock(), TransactionKind.STOCK_CANCELLATION,
                      self._memo(item, "reason_text"))

    def on_tx_stock_repurchase(self, where: str, item: dict[str, Any]) -> None:
        self._consume(where, item, TransactionKind.creating_stock(), TransactionKind.STOCK_REPURCHASE,
                      self._memo(item), price=Decimal(item["price"]["amount"]), currency=item["price"]["currency"])

    def on_tx_equity_compensation_cancellation(self, where: str, item: dict[str, Any]) -> None:
        self._consume(where, item, [TransactionKind.OPTION_GRANT], TransactionKind.OPTION_CANCELLATION,
                      self._memo(item, "reason_text"))

    on_tx_plan_security_cancellation = on_tx_equity_compensation_cancellation

    def on_tx_stock_plan_pool_adjustment(self, where: str, item: dict[str, Any]) -> None:
        plan_id = item["stock_plan_id"]
        if not self._known(where, "stock_plan_id", plan_id, self.reader.plans, "stock plan"):
            return
        change = self.reader.integer(where, "shares_reserved", item["shares_reserved"]) - self.reserved[plan_id]
        if change == 0:
            self.reader.notes.append(_("%(where)s leaves the pool as it was; nothing recorded.") % {"where": where})
            return
        if self.pool[plan_id] + change < 0:
            self.error(where, "shares_reserved", _("only %(n)s shares of the pool are not granted.")
                       % {"n": f"{self.pool[plan_id]:,}"})
        self.reserved[plan_id] += change
        self.pool[plan_id] += change
        self._add(_Row(where=where, kind=TransactionKind.PLAN_ADJUSTMENT, effective_date=date.fromisoformat(
            item["date"]), security_ref="", plan=plan_id, quantity=change, memo=self._memo(item)))

    def on_tx_equity_compensation_issuance(self, where: str, item: dict[str, Any]) -> None:
        if item["compensation_type"] not in OPTION_TYPES:
            self.error(where, "compensation_type", _("Tranche's ledger holds options, not %(type)s.")
                       % {"type": item["compensation_type"]})
            return
        plan_id = item.get("stock_plan_id")
        if plan_id is None:
            self.error(where, "stock_plan_id", _("Tranche grants options from a stock plan; name the plan."))
            return
        known = self._known(where, "stakeholder_id", item["stakeholder_id"], self.reader.stakeholders, "stakeholder")
        known &= self._known(where, "stock_plan_id", plan_id, self.reader.plans, "stock plan")
        row = _Row(where=where, kind=TransactionKind.OPTION_GRANT, effective_date=date.fromisoformat(item["date"]),
                   security_ref=item["security_id"], quantity=self._quantity(where, "quantity", item["quantity"]),
                   stakeholder=item["stakeholder_id"], plan=plan_id,
                   price_per_share=Decimal(item["exercise_price"]["amount"]),
                   currency=item["exercise_price"]["currency"], memo=self._memo(item))
        self._vesting(where, item, row)
        self._new_security(where, row)
        if known:
            self.pool[plan_id] -= row.quantity
            if self.pool[plan_id] < 0:
                self.error(where, "quantity", _("the pool would be short by %(n)s shares.")
                           % {"n": f"{-self.pool[plan_id]:,}"})
        self._add(row)

    on_tx_plan_security_issuance = on_tx_equity_compensation_issuance

    def on_tx_warrant_issuance(self, where: str, item: dict[str, Any]) -> None:
        known = self._known(where, "stakeholder_id", item["stakeholder_id"], self.reader.stakeholders, "stakeholder")
        classes = [trigger["conversion_right"].get("converts_to_stock_class_id")
                   for trigger in item["exercise_triggers"] if "conversion_right" in trigger]
        share_class = next((c for c in classes if c), None)
        if share_class is None:
            self.error(where, "exercise_triggers", _("name the stock class the warrant converts to "
                                                     "(converts_to_stock_class_id)."))
        elif not self._known(where, "exercise_triggers.converts_to_stock_class_id", share_class,
                             self.reader.classes, "stock class"):
            known = False
        if "quantity" not in item or "exercise_price" not in item:
            self.error(where, "quantity" if "quantity" not in item else "exercise_price",
                       _("Tranche records a warrant with its number of shares and exercise price."))
            return
        row = _Row(where=where, kind=TransactionKind.WARRANT_ISSUANCE, effective_date=date.fromisoformat(item["date"]),
                   security_ref=item["security_id"], quantity=self._quantity(where, "quantity", item["quantity"]),
                   stakeholder=item["stakeholder_id"], share_class=share_class,
                   price_per_share=Decimal(item["exercise_price"]["amount"]),
                   currency=item["exercise_price"]["currency"], memo=self._memo(item),
                   terms={"expiry_date": item.get("warrant_expiration_date")})
        self._new_security(where, row)
        if known:
            self._add(row)

    def on_tx_convertible_issuance(self, where: str, item: dict[str, Any]) -> None:
        self._known(where, "stakeholder_id", item["stakeholder_id"], self.reader.stakeholders, "stakeholder")
        mechanism: dict[str, Any] = next(
            (t["conversion_right"]["conversion_mechanism"] for t in item["conversion_triggers"]
             if t.get("conversion_right", {}).get("conversion_mechanism", {}).get("type")
             in ("SAFE_CONVERSION", "CONVERTIBLE_NOTE_CONVERSION")), {})
        if item["convertible_type"] == "CONVERTIBLE_SECURITY" and not mechanism:
            self.error(where, "convertible_type", _("Tranche's ledger holds SAFEs and convertible notes."))
            return
        if mechanism.get("type") == "CONVERTIBLE_NOTE_CONVERSION" or item["convertible_type"] == "NOTE":
            instrument = "convertible_note"
        elif mechanism.get("conversion_timing") == "PRE_MONEY":
            instrument = "pre_money_safe"
        else:
            instrument = "post_money_safe"
        cap = mechanism.get("conversion_valuation_cap", {}).get("amount")
        discount = mechanism.get("conversion_discount")
        rates = mechanism.get("interest_rates") or []
        mfn = bool(mechanism.get("conversion_mfn"))
        if cap is None and discount is None and not mfn:
            self.error(where, "conversion_triggers", _("Give a valuation cap, a discount, or both (or mark it MFN)."))
        if discount is not None and not (Decimal(0) < Decimal(discount) < Decimal(1)):
            self.error(where, "conversion_triggers", _("A discount is a fraction between 0 and 1, for example 0.20."))
        amount = self.reader.decimal(where, "investment_amount.amount", item["investment_amount"]["amount"], 2)
        if amount <= 0:
            self.error(where, "investment_amount.amount", _("Enter an amount above zero."))
        terms = {"instrument": instrument, "valuation_cap": str(Decimal(cap)) if cap is not None else None,
                 "discount": str(Decimal(discount)) if discount is not None else None,
                 "interest_rate": str(Decimal(rates[0]["rate"])) if rates else None, "mfn": mfn,
                 "pro_rata": Decimal(item.get("pro_rata") or 0) > 0}
        row = _Row(where=where, kind=TransactionKind.CONVERTIBLE_ISSUANCE, effective_date=date.fromisoformat(
            item["date"]), security_ref=item["security_id"], stakeholder=item["stakeholder_id"], amount=amount,
            currency=item["investment_amount"]["currency"], terms=terms, memo=self._memo(item))
        self._new_security(where, row)
        self._add(row)


def _named(where: str, error: ValidationError) -> ValidationError:
    """A service's refusal, prefixed with the OCF item it came from."""
    if hasattr(error, "error_dict"):
        return ValidationError([f"{where}, field {name}: {message}" for name, messages in error.message_dict.items()
                                for message in messages])
    return ValidationError([f"{where}: {message}" for message in error.messages])


@transaction.atomic
def ocf_package_import(*, actor: Actor, company: Company, package: Package) -> OcfImportResult:
    """Write a validated package into the company's cap table, which must be empty. All or nothing."""
    company = Company.objects.select_for_update().get(pk=company.pk)
    services._require_editor(actor, company)
    if (ShareClass.objects.filter(company=company).exists() or Stakeholder.objects.filter(company=company).exists()
            or EquityTransaction.objects.filter(company=company).exists()):
        raise ValidationError(_("%(company)s already has a cap table. Import an OCF package into a company whose "
                                "cap table is empty.") % {"company": company.legal_name})
    reader = _Reader(package)
    try:
        reader.read()
    except (InvalidOperation, KeyError, TypeError, ValueError) as error:  # what the schemas allow but makes no sense
        raise ValidationError(_("The package could not be read: %(error)r.") % {"error": error}) from error
    if reader.errors:
        raise ValidationError(reader.errors)
    fallback = date.fromisoformat(package.manifest["as_of"])
    classes: dict[str, ShareClass] = {}
    stakeholders: dict[str, Stakeholder] = {}
    plans: dict[str, EquityPlan] = {}
    securities: dict[str, EquityTransaction] = {}
    for ocf_id, fields in reader.classes.items():
        where = fields.pop("where")
        try:
            classes[ocf_id] = services.share_class_create(actor=actor, company=company, **fields)
        except ValidationError as error:
            raise _named(where, error) from error
    for ocf_id, fields in reader.stakeholders.items():
        where = fields.pop("where")
        try:
            stakeholders[ocf_id] = services.stakeholder_create(actor=actor, company=company, **fields)
        except ValidationError as error:
            raise _named(where, error) from error
    for ocf_id, plan in reader.plans.items():
        try:
            plans[ocf_id] = services.plan_create(actor=actor, share_class=classes[plan.share_class], name=plan.name,
                                                 reserved=plan.reserved,
                                                 effective_date=plan.effective_date or fallback)
        except ValidationError as error:
            raise _named(plan.where, error) from error
    for row in reader.rows:
        months, cliff = row.vesting if row.vesting else (None, None)
        plan_row = plans[row.plan] if row.plan else None
        values: dict[str, Any] = {
            "kind": row.kind, "effective_date": row.effective_date,
            "security_ref": row.security_ref or (f"PLAN-{plan_row.pk}" if plan_row else ""),
            "quantity": row.quantity, "acts_on": securities[row.acts_on] if row.acts_on else None,
            "stakeholder": stakeholders[row.stakeholder] if row.stakeholder else None,
            "share_class": classes[row.share_class] if row.share_class else None, "plan": plan_row,
            "price_per_share": row.price_per_share, "amount": row.amount, "currency": row.currency,
            "vesting_start": row.vesting_start, "vesting_months": months, "vesting_cliff_months": cliff,
            "terms": row.terms, "memo": row.memo,
        }
        try:
            with transaction.atomic():
                written = services._append(actor, company, **values)  # the ledger's one writer, which audits each row
        except ValidationError as error:
            raise _named(row.where, error) from error
        except DatabaseError as error:  # a trigger's refusal: the checks above should have caught it first
            raise ValidationError(f"{row.where}: {error}".strip()) from error
        if row.kind in TransactionKind.creating():
            securities[row.security_ref] = written
    result = OcfImportResult(share_classes=len(classes), stakeholders=len(stakeholders), plans=len(plans),
                             transactions=len(reader.rows), notes=reader.notes)
    # Imported here: tokens builds on equity, not the reverse.
    from tokens.ocf_sidecar import SIDECAR_NAME, tokens_sidecar_import

    if SIDECAR_NAME in package.extensions:
        names = {item["id"]: item["name"]["legal_name"] for _, item in package.items("OCF_STAKEHOLDERS_FILE")}
        counts = tokens_sidecar_import(actor=actor, company=company, document=package.extensions[SIDECAR_NAME],
                                       stakeholder_names=names)
        result.notes.append(_("From %(file)s: %(tokens)s tokens, %(sales)s sales, %(warrants)s token warrants and "
                              "%(allocations)s token allocations.") % {"file": SIDECAR_NAME, **counts})
    audit_record(actor=actor, action="equity.ocf_import", target=company, company_id=company.pk, changes={
        "issuer": package.manifest["issuer"].get("legal_name"), "share_classes": result.share_classes,
        "stakeholders": result.stakeholders, "plans": result.plans, "transactions": result.transactions,
        "notes": len(result.notes)})
    return result


def ocf_zip_import(*, actor: Actor, company: Company, data: bytes) -> OcfImportResult:
    """Read, validate and import an uploaded `.ocf.zip`. Raises ValidationError listing what is wrong, and
    PermissionDenied for anyone but the company's owners and admins (checked before the upload is read)."""
    services._require_editor(actor, company)
    return ocf_files_import(actor=actor, company=company, files=read_zip_or_invalid(data))


def read_zip_or_invalid(data: bytes) -> dict[str, bytes]:
    try:
        return read_zip(data)
    except PackageInvalid as error:
        raise ValidationError(error.errors) from error


def ocf_files_import(*, actor: Actor, company: Company, files: dict[str, bytes]) -> OcfImportResult:
    """Import the package among `files` (path -> content), as a folder of OCF files like the official samples."""
    services._require_editor(actor, company)
    try:
        package = load(files)
    except PackageInvalid as error:
        raise ValidationError(error.errors) from error
    return ocf_package_import(actor=actor, company=company, package=package)
