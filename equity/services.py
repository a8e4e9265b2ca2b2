"""Writes to the equity ledger. Each function is one transaction: it checks the founder's role, locks what it
will change in primary-key order, refuses what would break the ledger with a message a founder can act on,
appends the transaction and writes the audit log. The database triggers hold the same rules underneath."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from companies.choices import CAN_EDIT
from companies.models import Company, Membership
from compliance.audit import Actor
from compliance.services import audit_record
from equity.choices import TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder

PREFIXES: dict[str, str] = {
    TransactionKind.STOCK_ISSUANCE: "CS", TransactionKind.STOCK_TRANSFER: "CS", TransactionKind.OPTION_EXERCISE: "CS",
    TransactionKind.WARRANT_EXERCISE: "CS", TransactionKind.CONVERSION: "CS", TransactionKind.OPTION_GRANT: "OPT",
    TransactionKind.WARRANT_ISSUANCE: "W", TransactionKind.CONVERTIBLE_ISSUANCE: "CN",
}


def _require_editor(actor: Actor, company: Company) -> None:
    if actor.user is None or not Membership.objects.filter(
        company=company, user=actor.user, role__in=list(CAN_EDIT)
    ).exists():
        raise PermissionDenied(_("Only the company's owners and admins can change its cap table."))


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
