"""Writes to the equity ledger. Each function is one transaction: it checks the founder's role, locks what it
will change in primary-key order, refuses what would break the ledger with a message a founder can act on,
appends the transaction and writes the audit log. The database triggers hold the same rules underneath."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from companies.models import Company
from companies.permissions import company_editor_required
from compliance.audit import Actor
from compliance.services import audit_record, model_changes
from equity import captable, selectors
from equity.choices import (
    ClassKind,
    InvestmentSource,
    InvestmentState,
    RoundKind,
    RoundState,
    TransactionKind,
)
from equity.models import EquityPlan, EquityTransaction, Investment, Round, ShareClass, Stakeholder

PREFIXES: dict[str, str] = {
    TransactionKind.STOCK_ISSUANCE: "CS", TransactionKind.STOCK_TRANSFER: "CS", TransactionKind.OPTION_EXERCISE: "CS",
    TransactionKind.WARRANT_EXERCISE: "CS", TransactionKind.CONVERSION: "CS", TransactionKind.OPTION_GRANT: "OPT",
    TransactionKind.WARRANT_ISSUANCE: "W", TransactionKind.CONVERTIBLE_ISSUANCE: "CN",
}


def _require_editor(actor: Actor, company: Company) -> None:
    company_editor_required(user=actor.user, company=company,
                            refusal=_("Only the company's owners and admins can change its cap table."))


def _lock_company(company: Company) -> Company:
    """Serialises ledger writes of one company: security numbers are allocated in order, checks see each other."""
    return Company.objects.select_for_update().get(pk=company.pk)


def _next_ref(company: Company, kind: str) -> str:
    prefix = PREFIXES[kind]
    count = EquityTransaction.objects.filter(company=company, security_ref__startswith=f"{prefix}-",
                                             kind__in=TransactionKind.creating()).count()
    return f"{prefix}-{count + 1}"


def _append(actor: Actor, company: Company, **fields: Any) -> EquityTransaction:
    row = EquityTransaction(company=company, created_by=actor.user, **fields)
    row.full_clean(exclude=["acts_on", "created_by"], validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=f"equity.{row.kind}", target=row, company_id=company.pk,
                 changes={"security": row.security_ref, "shares": row.quantity,
                          "holder": str(row.stakeholder) if row.stakeholder else None,
                          "class": str(row.share_class) if row.share_class else None})
    return row


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise ValidationError({"quantity": _("Enter a number of shares above zero.")})


def issued_shares(share_class: ShareClass) -> int:
    rows = EquityTransaction.objects.filter(share_class=share_class)
    created = rows.filter(kind__in=TransactionKind.creating_stock()).aggregate(n=Sum("quantity"))["n"] or 0
    removed = rows.filter(kind__in=[TransactionKind.STOCK_TRANSFER, TransactionKind.STOCK_CANCELLATION,
                                    TransactionKind.STOCK_REPURCHASE]).aggregate(n=Sum("quantity"))["n"] or 0
    return int(created - removed)


def remaining(security: EquityTransaction) -> int:
    used = security.followers.filter(kind__in=TransactionKind.consuming()).aggregate(n=Sum("quantity"))["n"] or 0
    return int(security.quantity - used)


def pool_available(plan: EquityPlan) -> int:
    rows = EquityTransaction.objects.filter(plan=plan)
    added = rows.filter(Q(kind=TransactionKind.PLAN_ADJUSTMENT) | Q(kind=TransactionKind.OPTION_CANCELLATION))
    granted = rows.filter(kind=TransactionKind.OPTION_GRANT).aggregate(n=Sum("quantity"))["n"] or 0
    return int((added.aggregate(n=Sum("quantity"))["n"] or 0) - granted)


def _check_authorized(share_class: ShareClass, adding: int) -> None:
    share_class = ShareClass.objects.select_for_update().get(pk=share_class.pk)
    issued = issued_shares(share_class)
    if issued + adding > share_class.authorized_shares:
        raise ValidationError({"quantity": _(
            "%(class)s has %(left)s shares left to issue of %(authorized)s authorized."
        ) % {"class": share_class.name, "left": f"{share_class.authorized_shares - issued:,}",
             "authorized": f"{share_class.authorized_shares:,}"}})


@transaction.atomic
def share_class_create(*, actor: Actor, company: Company, **fields: Any) -> ShareClass:
    _require_editor(actor, company)
    share_class = ShareClass(company=company, **fields)
    share_class.full_clean(exclude=["company"], validate_constraints=False)
    if ShareClass.objects.filter(company=company, name__iexact=share_class.name).exists():
        raise ValidationError({"name": _("The company already has a class with this name.")})
    share_class.save()
    audit_record(actor=actor, action="equity.share_class_create", target=share_class, company_id=company.pk,
                 changes={"name": share_class.name, "authorized": share_class.authorized_shares})
    return share_class


@transaction.atomic
def stakeholder_create(*, actor: Actor, company: Company, **fields: Any) -> Stakeholder:
    _require_editor(actor, company)
    stakeholder = Stakeholder(company=company, **fields)
    stakeholder.full_clean(exclude=["company"], validate_constraints=False)
    if Stakeholder.objects.filter(company=company, name__iexact=stakeholder.name).exists():
        raise ValidationError({"name": _("The cap table already has a stakeholder with this name.")})
    stakeholder.save()
    audit_record(actor=actor, action="equity.stakeholder_create", target=stakeholder, company_id=company.pk)
    return stakeholder


@transaction.atomic
def plan_create(*, actor: Actor, share_class: ShareClass, name: str, reserved: int, effective_date: date) -> EquityPlan:
    company = _lock_company(share_class.company)
    _require_editor(actor, company)
    _positive(reserved)
    if EquityPlan.objects.filter(company=company, name__iexact=name).exists():
        raise ValidationError({"name": _("The company already has a plan with this name.")})
    plan = EquityPlan.objects.create(company=company, name=name.strip(), share_class=share_class)
    _append(actor, company, kind=TransactionKind.PLAN_ADJUSTMENT, effective_date=effective_date, plan=plan,
            security_ref=f"PLAN-{plan.pk}", quantity=reserved, memo=_("Pool created"))
    return plan


@transaction.atomic
def plan_adjust(*, actor: Actor, plan: EquityPlan, quantity: int, effective_date: date) -> EquityTransaction:
    """Grow (positive) or shrink (negative) the pool; it can never shrink below what is still ungranted."""
    company = _lock_company(plan.company)
    _require_editor(actor, company)
    plan = EquityPlan.objects.select_for_update().get(pk=plan.pk)
    if quantity == 0:
        raise ValidationError({"quantity": _("Enter a number of shares other than zero.")})
    if quantity < 0 and pool_available(plan) + quantity < 0:
        raise ValidationError({"quantity": _("Only %(n)s shares of the pool are not granted.")
                               % {"n": f"{pool_available(plan):,}"}})
    return _append(actor, company, kind=TransactionKind.PLAN_ADJUSTMENT, effective_date=effective_date, plan=plan,
                   security_ref=f"PLAN-{plan.pk}", quantity=quantity)


@transaction.atomic
def stock_issue(
    *, actor: Actor, stakeholder: Stakeholder, share_class: ShareClass, quantity: int, effective_date: date,
    price_per_share: Decimal | None = None, vesting_start: date | None = None, vesting_months: int | None = None,
    vesting_cliff_months: int | None = None, memo: str = "",
) -> EquityTransaction:
    company = _lock_company(stakeholder.company)
    _require_editor(actor, company)
    if share_class.company_id != company.pk:
        raise ValidationError({"share_class": _("This class belongs to another company.")})
    _positive(quantity)
    _check_authorized(share_class, quantity)
    return _append(
        actor, company, kind=TransactionKind.STOCK_ISSUANCE, effective_date=effective_date,
        security_ref=_next_ref(company, TransactionKind.STOCK_ISSUANCE), stakeholder=stakeholder,
        share_class=share_class, quantity=quantity, price_per_share=price_per_share, vesting_start=vesting_start,
        vesting_months=vesting_months, vesting_cliff_months=vesting_cliff_months, memo=memo,
    )


@transaction.atomic
def option_grant(
    *, actor: Actor, plan: EquityPlan, stakeholder: Stakeholder, quantity: int, exercise_price: Decimal,
    effective_date: date, vesting_start: date | None = None, vesting_months: int = 48, vesting_cliff_months: int = 12,
) -> EquityTransaction:
    company = _lock_company(plan.company)
    _require_editor(actor, company)
    plan = EquityPlan.objects.select_for_update().get(pk=plan.pk)
    if stakeholder.company_id != company.pk:
        raise ValidationError({"stakeholder": _("This stakeholder belongs to another company.")})
    _positive(quantity)
    if quantity > pool_available(plan):
        raise ValidationError({"quantity": _("The pool has %(n)s shares left to grant.")
                               % {"n": f"{pool_available(plan):,}"}})
    return _append(
        actor, company, kind=TransactionKind.OPTION_GRANT, effective_date=effective_date,
        security_ref=_next_ref(company, TransactionKind.OPTION_GRANT), stakeholder=stakeholder, plan=plan,
        quantity=quantity, price_per_share=exercise_price, vesting_start=vesting_start or effective_date,
        vesting_months=vesting_months, vesting_cliff_months=vesting_cliff_months,
    )


def _consume(actor: Actor, security: EquityTransaction, kind: str, quantity: int, effective_date: date,
             **fields: Any) -> EquityTransaction:
    company = _lock_company(security.company)
    _require_editor(actor, company)
    security = EquityTransaction.objects.select_for_update().get(pk=security.pk)
    _positive(quantity)
    if effective_date < security.effective_date:
        raise ValidationError({"effective_date": _("The date cannot be before the security was issued.")})
    left = remaining(security)
    if quantity > left:
        raise ValidationError({"quantity": _("%(security)s has %(n)s shares left.")
                               % {"security": security.security_ref, "n": f"{left:,}"}})
    return _append(actor, company, kind=kind, effective_date=effective_date, acts_on=security, quantity=quantity,
                   **fields)


@transaction.atomic
def option_exercise(*, actor: Actor, grant: EquityTransaction, quantity: int, effective_date: date) -> EquityTransaction:
    """Exercise options into stock of the plan's class: the grant shrinks, a certificate is issued."""
    if grant.kind != TransactionKind.OPTION_GRANT or grant.plan is None:
        raise ValidationError(_("Only an option grant can be exercised."))
    _check_authorized(grant.plan.share_class, quantity)
    return _consume(actor, grant, TransactionKind.OPTION_EXERCISE, quantity, effective_date,
                    security_ref=_next_ref(grant.company, TransactionKind.OPTION_EXERCISE),
                    stakeholder=grant.stakeholder, share_class=grant.plan.share_class,
                    price_per_share=grant.price_per_share)


@transaction.atomic
def option_cancel(*, actor: Actor, grant: EquityTransaction, quantity: int, effective_date: date) -> EquityTransaction:
    """Cancel (forfeit) options; the shares go back to the pool they were granted from."""
    if grant.kind != TransactionKind.OPTION_GRANT:
        raise ValidationError(_("Only an option grant can be cancelled this way."))
    return _consume(actor, grant, TransactionKind.OPTION_CANCELLATION, quantity, effective_date,
                    security_ref=grant.security_ref, stakeholder=grant.stakeholder, plan=grant.plan)


@transaction.atomic
def stock_cancel(*, actor: Actor, certificate: EquityTransaction, quantity: int, effective_date: date,
                 repurchase_price: Decimal | None = None) -> EquityTransaction:
    """Cancel shares, or repurchase them when a price is given."""
    if certificate.kind not in TransactionKind.creating_stock():
        raise ValidationError(_("Only a stock certificate can be cancelled or repurchased."))
    kind = TransactionKind.STOCK_REPURCHASE if repurchase_price is not None else TransactionKind.STOCK_CANCELLATION
    return _consume(actor, certificate, kind, quantity, effective_date, security_ref=certificate.security_ref,
                    stakeholder=certificate.stakeholder, share_class=certificate.share_class,
                    price_per_share=repurchase_price)


@transaction.atomic
def stock_transfer(*, actor: Actor, certificate: EquityTransaction, to: Stakeholder, quantity: int,
                   effective_date: date, price_per_share: Decimal | None = None) -> EquityTransaction:
    """Move shares to another stakeholder: the source certificate shrinks, the receiver gets a new one."""
    if certificate.kind not in TransactionKind.creating_stock():
        raise ValidationError(_("Only a stock certificate can be transferred."))
    if to.company_id != certificate.company_id or to.pk == certificate.stakeholder_id:
        raise ValidationError({"to": _("Choose another stakeholder of the same company.")})
    return _consume(actor, certificate, TransactionKind.STOCK_TRANSFER, quantity, effective_date,
                    security_ref=_next_ref(certificate.company, TransactionKind.STOCK_TRANSFER), stakeholder=to,
                    share_class=certificate.share_class, price_per_share=price_per_share)


@transaction.atomic
def convertible_issue(
    *, actor: Actor, stakeholder: Stakeholder, instrument: str, amount: Decimal, effective_date: date,
    valuation_cap: Decimal | None = None, discount: Decimal | None = None, interest_rate: Decimal | None = None,
    mfn: bool = False, pro_rata: bool = False,
) -> EquityTransaction:
    """Record a SAFE (post- or pre-money) or a convertible note with its terms."""
    company = _lock_company(stakeholder.company)
    _require_editor(actor, company)
    instruments = {"post_money_safe", "pre_money_safe", "convertible_note"}
    if instrument not in instruments:
        raise ValidationError({"instrument": _("Choose a post-money SAFE, a pre-money SAFE or a convertible note.")})
    if amount <= 0:
        raise ValidationError({"amount": _("Enter an amount above zero.")})
    if valuation_cap is None and discount is None and not mfn:
        raise ValidationError({"valuation_cap": _("Give a valuation cap, a discount, or both (or mark it MFN).")})
    if discount is not None and not (Decimal(0) < discount < Decimal(1)):
        raise ValidationError({"discount": _("A discount is a fraction between 0 and 1, for example 0.20.")})
    terms = {"instrument": instrument, "valuation_cap": str(valuation_cap) if valuation_cap is not None else None,
             "discount": str(discount) if discount is not None else None,
             "interest_rate": str(interest_rate) if interest_rate is not None else None, "mfn": mfn,
             "pro_rata": pro_rata}
    return _append(actor, company, kind=TransactionKind.CONVERTIBLE_ISSUANCE, effective_date=effective_date,
                   security_ref=_next_ref(company, TransactionKind.CONVERTIBLE_ISSUANCE), stakeholder=stakeholder,
                   amount=amount, terms=terms)


@transaction.atomic
def warrant_issue(
    *, actor: Actor, stakeholder: Stakeholder, share_class: ShareClass, quantity: int, exercise_price: Decimal,
    effective_date: date, expiry_date: date | None = None, memo: str = "",
) -> EquityTransaction:
    """Issue a warrant: the right to buy `quantity` shares of `share_class` at `exercise_price` until `expiry_date`.
    Shares are checked against the class's authorized count when the warrant is exercised, as for options."""
    company = _lock_company(stakeholder.company)
    _require_editor(actor, company)
    if share_class.company_id != company.pk:
        raise ValidationError({"share_class": _("This class belongs to another company.")})
    _positive(quantity)
    if exercise_price < 0:
        raise ValidationError({"exercise_price": _("An exercise price cannot be negative.")})
    if expiry_date is not None and expiry_date <= effective_date:
        raise ValidationError({"expiry_date": _("A warrant must expire after the date it is issued.")})
    return _append(
        actor, company, kind=TransactionKind.WARRANT_ISSUANCE, effective_date=effective_date,
        security_ref=_next_ref(company, TransactionKind.WARRANT_ISSUANCE), stakeholder=stakeholder,
        share_class=share_class, quantity=quantity, price_per_share=exercise_price,
        terms={"expiry_date": expiry_date.isoformat() if expiry_date is not None else None}, memo=memo,
    )


@transaction.atomic
def warrant_exercise(*, actor: Actor, warrant: EquityTransaction, quantity: int,
                     effective_date: date) -> EquityTransaction:
    """Exercise a warrant into stock of its class: the warrant shrinks, a certificate is issued."""
    company = _lock_company(warrant.company)
    _require_editor(actor, company)
    if warrant.kind != TransactionKind.WARRANT_ISSUANCE or warrant.share_class is None:
        raise ValidationError(_("Only a warrant can be exercised this way."))
    expiry = warrant.terms.get("expiry_date")
    if expiry and effective_date > date.fromisoformat(expiry):
        raise ValidationError({"effective_date": _("%(security)s expired on %(date)s.")
                               % {"security": warrant.security_ref, "date": expiry}})
    _positive(quantity)
    _check_authorized(warrant.share_class, quantity)
    return _consume(actor, warrant, TransactionKind.WARRANT_EXERCISE, quantity, effective_date,
                    security_ref=_next_ref(company, TransactionKind.WARRANT_EXERCISE),
                    stakeholder=warrant.stakeholder, share_class=warrant.share_class,
                    price_per_share=warrant.price_per_share)


# --- rounds ---------------------------------------------------------------------------------------------------

ROUND_FIELDS = (
    "name", "kind", "target_amount", "minimum_amount", "maximum_amount", "minimum_ticket", "opens_on", "closes_on",
    "exemption", "jurisdictions", "pre_money_valuation", "pool_target_percent", "pool_new_shares", "series_name",
    "liquidation_multiple", "participating", "participation_cap", "instrument", "valuation_cap", "discount", "mfn",
    "pro_rata",
)


def _round_locked(round: Round) -> Round:
    return Round.objects.select_for_update().select_related("company").get(pk=round.pk)


def _jurisdiction_valid(code: str) -> bool:
    if len(code) == 5 and code.startswith("US-"):
        return code[3:].isalpha() and code[3:].isupper()
    return code in dict(countries)


def _round_check_terms(round: Round) -> None:
    """What a round's terms must satisfy in any state, with messages a founder can act on."""
    round.full_clean(exclude=["company", "created_by", "share_class"], validate_constraints=False)
    errors: dict[str, str] = {}
    if round.minimum_amount <= 0:
        errors["minimum_amount"] = _("Enter a minimum above zero.")
    elif round.minimum_amount > round.target_amount:
        errors["minimum_amount"] = _("The minimum to close cannot be above the target.")
    if round.target_amount > round.maximum_amount:
        errors["maximum_amount"] = _("The maximum cannot be below the target.")
    if round.minimum_ticket < 0 or round.minimum_ticket > round.maximum_amount:
        errors["minimum_ticket"] = _("The minimum investment must be between zero and the round's maximum.")
    if round.opens_on and round.closes_on and round.opens_on > round.closes_on:
        errors["closes_on"] = _("The deadline cannot be before the opening date.")
    bad = [code for code in round.jurisdictions if not _jurisdiction_valid(code)]
    if bad:
        errors["jurisdictions"] = _("Not a country or US state code: %(codes)s.") % {"codes": ", ".join(bad)}
    if round.kind == RoundKind.PRICED:
        if round.pre_money_valuation is not None and round.pre_money_valuation <= 0:
            errors["pre_money_valuation"] = _("Enter a valuation above zero.")
        if round.pool_target_percent is not None and round.pool_new_shares is not None:
            errors["pool_new_shares"] = _("Give the pool as a percentage or as new shares, not both.")
        if round.pool_target_percent is not None and not (0 < round.pool_target_percent < 100):
            errors["pool_target_percent"] = _("A pool target is a percentage between 0 and 100.")
        if round.participation_cap is not None and (
                not round.participating or round.participation_cap < round.liquidation_multiple):
            errors["participation_cap"] = _("A cap needs participation and is at least the preference multiple.")
    elif round.discount is not None and not (Decimal(0) < round.discount < Decimal(1)):
        errors["discount"] = _("A discount is a fraction between 0 and 1, for example 0.20.")
    if errors:
        raise ValidationError(errors)


def _round_check_ready(round: Round, today: date) -> None:
    """What a round needs before investors can see it."""
    errors: dict[str, str] = {}
    if round.kind == RoundKind.PRICED:
        if round.pre_money_valuation is None:
            errors["pre_money_valuation"] = _("A priced round needs a pre-money valuation.")
        if not round.series_name.strip():
            errors["series_name"] = _("Name the new series, for example Series Seed Preferred.")
        else:
            existing = ShareClass.objects.filter(company=round.company, name__iexact=round.series_name.strip()).first()
            if existing is not None and issued_shares(existing):
                errors["series_name"] = _("%(name)s already has shares issued; name the round's new "
                                          "series.") % {"name": existing.name}
    else:
        if not round.instrument:
            errors["instrument"] = _("Choose the SAFE the round issues.")
        if round.valuation_cap is None and round.discount is None and not round.mfn:
            errors["valuation_cap"] = _("Give a valuation cap, a discount, or both (or mark it MFN).")
    if not round.jurisdictions:
        errors["jurisdictions"] = _("List the jurisdictions the offering is open to.")
    if round.closes_on is None:
        errors["closes_on"] = _("Set the deadline.")
    elif round.closes_on < today:
        errors["closes_on"] = _("The deadline has passed.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def round_create(*, actor: Actor, company: Company, **fields: Any) -> Round:
    """A draft round: nothing is visible to investors until it is opened."""
    _require_editor(actor, company)
    unknown = set(fields) - set(ROUND_FIELDS)
    if unknown:
        raise ValueError(f"not round terms: {sorted(unknown)}")
    round = Round(company=company, created_by=actor.user, **fields)
    _round_check_terms(round)
    round.save()
    audit_record(actor=actor, action="equity.round_create", target=round, company_id=company.pk,
                 changes={"name": round.name, "kind": round.kind, "target": str(round.target_amount)})
    return round


@transaction.atomic
def round_update(*, actor: Actor, round: Round, **fields: Any) -> Round:
    """Change a draft's terms. An open round's terms are what investors committed to: they do not move."""
    round = _round_locked(round)
    _require_editor(actor, round.company)
    if round.state != RoundState.DRAFT:
        raise ValidationError(_("Only a draft round can be changed; this one is %(state)s.")
                              % {"state": round.get_state_display().lower()})
    unknown = set(fields) - set(ROUND_FIELDS)
    if unknown:
        raise ValueError(f"not round terms: {sorted(unknown)}")
    changes = model_changes(round, fields)
    _round_check_terms(round)
    round.save()
    if changes:
        audit_record(actor=actor, action="equity.round_update", target=round, company_id=round.company_id,
                     changes=changes)
    return round


@transaction.atomic
def round_open(*, actor: Actor, round: Round) -> Round:
    """Open a draft to investors, after checking that its terms are complete and, for a priced round, that
    the cap table can take it (a pro-forma at the target must solve)."""
    round = _round_locked(round)
    _require_editor(actor, round.company)
    if round.state != RoundState.DRAFT:
        raise ValidationError(_("Only a draft round can be opened."))
    today = timezone.localdate()
    _round_check_terms(round)
    _round_check_ready(round, today)
    if round.kind == RoundKind.PRICED:
        try:
            selectors.round_pro_forma(round=round, closing_date=max(today, round.opens_on or today))
        except ValueError as error:
            raise ValidationError(_("The round's terms do not work with the cap table: %(problem)s")
                                  % {"problem": error}) from error
    round.state = RoundState.OPEN
    round.opens_on = round.opens_on or today
    round.opened_at = timezone.now()
    round.save(update_fields=["state", "opens_on", "opened_at"])
    audit_record(actor=actor, action="equity.round_open", target=round, company_id=round.company_id)
    return round


@transaction.atomic
def round_start_closing(*, actor: Actor, round: Round) -> Round:
    """Stop taking investments while the documents are signed; the close itself follows."""
    round = _round_locked(round)
    _require_editor(actor, round.company)
    if round.state != RoundState.OPEN:
        raise ValidationError(_("Only an open round can move to closing."))
    round.state = RoundState.CLOSING
    round.save(update_fields=["state"])
    audit_record(actor=actor, action="equity.round_start_closing", target=round, company_id=round.company_id)
    return round


@transaction.atomic
def round_cancel(*, actor: Actor, round: Round) -> Round:
    """Cancel a round that has not closed. Money the company recorded as received goes back outside Tranche;
    the investments are marked cancelled so that nothing of it reaches the cap table."""
    round = _round_locked(round)
    _require_editor(actor, round.company)
    if round.state in (RoundState.CLOSED, RoundState.CANCELLED):
        raise ValidationError(_("A %(state)s round cannot be cancelled.") % {"state": round.get_state_display().lower()})
    live = round.investments.select_for_update().filter(state__in=InvestmentState.counting()).order_by("pk")
    if live.filter(source=InvestmentSource.PLATFORM).exists():
        raise ValidationError(_("Investors' payments on Tranche must be refunded before the round is cancelled."))
    cancelled = live.update(state=InvestmentState.CANCELLED)
    round.state = RoundState.CANCELLED
    round.save(update_fields=["state"])
    audit_record(actor=actor, action="equity.round_cancel", target=round, company_id=round.company_id,
                 changes={"investments_cancelled": cancelled})
    return round


@transaction.atomic
def investment_record(
    *, actor: Actor, round: Round, stakeholder: Stakeholder, amount: Decimal, received_on: date, reference: str = "",
) -> Investment:
    """Record money the company received outside Tranche (a wire). The round's row lock serialises every
    investment into the round, so the running total can never pass the maximum, whatever the concurrency."""
    round = _round_locked(round)
    _require_editor(actor, round.company)
    if round.state != RoundState.OPEN:
        raise ValidationError(_("Investments are taken only while the round is open; it is %(state)s.")
                              % {"state": round.get_state_display().lower()})
    if stakeholder.company_id != round.company_id:
        raise ValidationError({"stakeholder": _("This stakeholder belongs to another company.")})
    if amount <= 0:
        raise ValidationError({"amount": _("Enter an amount above zero.")})
    if amount < round.minimum_ticket:
        raise ValidationError({"amount": _("The minimum investment is %(min)s.")
                               % {"min": f"${round.minimum_ticket:,.2f}"}})
    left = round.maximum_amount - selectors.round_raised(round=round)
    if amount > left:
        raise ValidationError({"amount": _("The round has %(left)s left of its %(max)s maximum.")
                               % {"left": f"${left:,.2f}", "max": f"${round.maximum_amount:,.2f}"}})
    investment = Investment(round=round, stakeholder=stakeholder, amount=amount, currency=round.currency,
                            source=InvestmentSource.WIRE, state=InvestmentState.FUNDED, received_on=received_on,
                            reference=reference.strip(), created_by=actor.user)
    investment.full_clean(exclude=["round", "stakeholder", "investor", "security", "created_by"],
                          validate_constraints=False)
    investment.save()
    audit_record(actor=actor, action="equity.investment_record", target=investment, company_id=round.company_id,
                 changes={"round": round.name, "investor": stakeholder.name, "amount": str(amount)})
    return investment


@transaction.atomic
def investment_cancel(*, actor: Actor, investment: Investment) -> Investment:
    """Take back a recorded wire before the close (entered by mistake, or returned to the investor)."""
    round = _round_locked(investment.round)
    _require_editor(actor, round.company)
    investment = Investment.objects.select_for_update().get(pk=investment.pk)
    if investment.source != InvestmentSource.WIRE or investment.state != InvestmentState.FUNDED:
        raise ValidationError(_("Only a recorded wire that has not been accepted can be cancelled here."))
    if round.state not in (RoundState.OPEN, RoundState.CLOSING):
        raise ValidationError(_("The round is %(state)s.") % {"state": round.get_state_display().lower()})
    investment.state = InvestmentState.CANCELLED
    investment.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="equity.investment_cancel", target=investment, company_id=round.company_id,
                 changes={"amount": str(investment.amount), "investor": investment.stakeholder.name})
    return investment


@transaction.atomic
def convertible_convert(
    *, actor: Actor, convertible: EquityTransaction, share_class: ShareClass, quantity: int, price_per_share: Decimal,
    converted_amount: Decimal, effective_date: date, memo: str = "",
) -> EquityTransaction:
    """A SAFE or note becomes stock (once: a unique index refuses a second conversion)."""
    if convertible.kind != TransactionKind.CONVERTIBLE_ISSUANCE:
        raise ValidationError(_("Only a SAFE or a note converts."))
    company = _lock_company(convertible.company)
    _require_editor(actor, company)
    if EquityTransaction.objects.filter(kind=TransactionKind.CONVERSION, acts_on=convertible).exists():
        raise ValidationError(_("%(security)s has already converted.") % {"security": convertible.security_ref})
    _positive(quantity)
    _check_authorized(share_class, quantity)
    return _append(actor, company, kind=TransactionKind.CONVERSION, effective_date=effective_date,
                   security_ref=_next_ref(company, TransactionKind.CONVERSION), acts_on=convertible,
                   stakeholder=convertible.stakeholder, share_class=share_class, quantity=quantity,
                   price_per_share=price_per_share, amount=converted_amount, memo=memo)


@transaction.atomic
def share_class_authorize(*, actor: Actor, share_class: ShareClass, authorized_shares: int) -> ShareClass:
    """Change the number of authorized shares (a charter amendment); never below what is issued."""
    company = _lock_company(share_class.company)
    _require_editor(actor, company)
    share_class = ShareClass.objects.select_for_update().get(pk=share_class.pk)
    issued = issued_shares(share_class)
    if authorized_shares < issued:
        raise ValidationError({"authorized_shares": _("%(n)s shares are issued; authorize at least that many.")
                               % {"n": f"{issued:,}"}})
    changes = model_changes(share_class, {"authorized_shares": authorized_shares})
    share_class.save(update_fields=["authorized_shares"])
    audit_record(actor=actor, action="equity.share_class_authorize", target=share_class, company_id=company.pk,
                 changes=changes)
    return share_class


def _round_close_priced(actor: Actor, round: Round, accepted: list[Investment], closing_date: date) -> None:
    try:
        result = selectors.round_pro_forma(
            round=round, closing_date=closing_date,
            investments=[captable.Investment(item.stakeholder.name, item.amount) for item in accepted])
    except ValueError as error:
        raise ValidationError(_("The round cannot close on these terms: %(problem)s") % {"problem": error}) from error
    company = round.company
    issued_by_class: dict[str, int] = {}
    for class_name, count in [*((i.share_class, i.shares) for i in result.investments),
                              *((c.share_class, c.shares) for c in result.conversions)]:
        issued_by_class[class_name] = issued_by_class.get(class_name, 0) + count
    classes: dict[str, ShareClass] = {}
    for engine_class in result.capitalization.share_classes:
        if engine_class.name not in issued_by_class:
            continue
        prepared = ShareClass.objects.filter(company=company, name=engine_class.name).first()
        if prepared is not None:  # the founder set the series up before the round, empty: the round's terms rule
            classes[engine_class.name] = _share_class_take_round_terms(
                actor, prepared, engine_class, issued_by_class[engine_class.name])
        else:
            classes[engine_class.name] = share_class_create(
                actor=actor, company=company, name=engine_class.name, kind=ClassKind.PREFERRED,
                authorized_shares=issued_by_class[engine_class.name],
                original_issue_price=engine_class.original_issue_price,
                liquidation_multiple=engine_class.liquidation_multiple, participating=engine_class.participating,
                participation_cap=engine_class.participation_cap, seniority=engine_class.seniority)
    for investment, shares in zip(accepted, result.investments, strict=True):
        investment.security = stock_issue(
            actor=actor, stakeholder=investment.stakeholder, share_class=classes[shares.share_class],
            quantity=shares.shares, effective_date=closing_date, price_per_share=shares.price, memo=round.name)
    instruments = {row.security_ref: row for row in
                   selectors.convertible_list_outstanding(company=company, as_of=closing_date)}
    for conversion in result.conversions:
        convertible_convert(
            actor=actor, convertible=instruments[conversion.instrument], share_class=classes[conversion.share_class],
            quantity=conversion.shares, price_per_share=conversion.conversion_price,
            converted_amount=conversion.converted_amount, effective_date=closing_date, memo=round.name)
    if result.new_pool_shares:
        _pool_top_up(actor, company, result.new_pool_shares, closing_date)
    round.price_per_share = result.price_per_share
    round.share_class = classes[round.series_name]


def _share_class_take_round_terms(actor: Actor, share_class: ShareClass, terms: captable.ShareClass,
                                  issuing: int) -> ShareClass:
    share_class = ShareClass.objects.select_for_update().get(pk=share_class.pk)
    if issued_shares(share_class):
        raise ValidationError(_("%(name)s already has shares issued.") % {"name": share_class.name})
    changes = model_changes(share_class, {
        "kind": ClassKind.PREFERRED, "original_issue_price": terms.original_issue_price,
        "liquidation_multiple": terms.liquidation_multiple, "participating": terms.participating,
        "participation_cap": terms.participation_cap, "seniority": terms.seniority,
        "authorized_shares": max(share_class.authorized_shares, issuing),
    })
    share_class.full_clean(exclude=["company"], validate_constraints=False)
    share_class.save()
    audit_record(actor=actor, action="equity.share_class_round_terms", target=share_class,
                 company_id=share_class.company_id, changes=changes)
    return share_class


def _pool_top_up(actor: Actor, company: Company, shares: int, effective_date: date) -> None:
    """Add the round's new pool shares to the company's plan (its first, or a new one on common stock), and
    authorize enough of the plan's class for every share issued or reserved."""
    plan = EquityPlan.objects.filter(company=company).select_related("share_class").order_by("pk").first()
    if plan is None:
        common = ShareClass.objects.filter(company=company, kind=ClassKind.COMMON).order_by("pk").first()
        if common is None:
            raise ValidationError(_("The pool top-up needs a common share class."))
        plan = plan_create(actor=actor, share_class=common, name=_("Equity Incentive Plan"), reserved=shares,
                           effective_date=effective_date)
    else:
        plan_adjust(actor=actor, plan=plan, quantity=shares, effective_date=effective_date)
    share_class = plan.share_class
    grants = EquityTransaction.objects.filter(plan__share_class=share_class, kind=TransactionKind.OPTION_GRANT)
    used = EquityTransaction.objects.filter(acts_on__in=grants, kind__in=TransactionKind.consuming())
    outstanding_options = ((grants.aggregate(n=Sum("quantity"))["n"] or 0)
                           - (used.aggregate(n=Sum("quantity"))["n"] or 0))
    needed = (issued_shares(share_class) + sum(pool_available(p) for p in share_class.plans.all())
              + outstanding_options)
    if needed > share_class.authorized_shares:
        share_class_authorize(actor=actor, share_class=share_class, authorized_shares=needed)


@transaction.atomic
def round_close(*, actor: Actor, round: Round, closing_date: date | None = None) -> Round:
    """Close the round in one transaction: accept every funded investment and write the ledger. A priced round
    creates its series (and a shadow series for a SAFE converting at another price), issues the investors'
    shares, converts every outstanding SAFE and note at the better of cap and discount, and tops up the pool;
    a SAFE round issues one SAFE per investment. Anything refused rolls the whole close back."""
    company = _lock_company(round.company)
    round = _round_locked(round)
    _require_editor(actor, company)
    if round.state not in (RoundState.OPEN, RoundState.CLOSING):
        raise ValidationError(_("Only an open round can close; this one is %(state)s.")
                              % {"state": round.get_state_display().lower()})
    closing_date = closing_date or timezone.localdate()
    if round.opens_on and closing_date < round.opens_on:
        raise ValidationError({"closing_date": _("The round cannot close before it opened.")})
    investments = list(round.investments.select_for_update().select_related("stakeholder").order_by("pk"))
    waiting = [item for item in investments if item.state in (InvestmentState.PENDING_PAYMENT,
                                                             InvestmentState.PROCESSING)]
    if waiting:
        raise ValidationError(_("%(n)s investments are still waiting for their payment to settle.")
                              % {"n": len(waiting)})
    accepted = [item for item in investments if item.state == InvestmentState.FUNDED]
    raised = sum((item.amount for item in accepted), Decimal(0))
    if raised < round.minimum_amount:
        raise ValidationError(_("The round has %(raised)s of the %(min)s it needs to close.")
                              % {"raised": f"${raised:,.2f}", "min": f"${round.minimum_amount:,.2f}"})
    if round.kind == RoundKind.PRICED:
        _round_close_priced(actor, round, accepted, closing_date)
    else:
        for investment in accepted:
            investment.security = convertible_issue(
                actor=actor, stakeholder=investment.stakeholder, instrument=round.instrument,
                amount=investment.amount, effective_date=closing_date, valuation_cap=round.valuation_cap,
                discount=round.discount, mfn=round.mfn, pro_rata=round.pro_rata)
    for investment in accepted:
        investment.state = InvestmentState.ACCEPTED
        investment.save(update_fields=["state", "security", "updated_at"])
    round.state = RoundState.CLOSED
    round.closed_on = closing_date
    round.save(update_fields=["state", "closed_on", "price_per_share", "share_class"])
    audit_record(actor=actor, action="equity.round_close", target=round, company_id=company.pk,
                 changes={"raised": str(raised), "investments": len(accepted),
                          "price_per_share": str(round.price_per_share) if round.price_per_share else None})
    return round
