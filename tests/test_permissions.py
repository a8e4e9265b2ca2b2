"""The permission matrix: every page and API endpoint, asked by every role, answers as expected.

Roles: anonymous, investor, another company's founder, viewer, admin, owner, compliance officer, platform admin.
A later capability adds its URLs here; `test_every_route_is_in_the_matrix` fails until it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from companies import services
from companies.models import Invitation, Membership
from compliance.audit import Actor

ROLES = ["anonymous", "investor", "other_founder", "viewer", "admin", "owner", "compliance_officer", "platform_admin"]
MEMBERS = {"viewer", "admin", "owner"}
EDITORS = {"admin", "owner"}
STAFF = {"compliance_officer", "platform_admin"}


@dataclass(frozen=True)
class Rule:
    name: str  # the route's name, as `reverse` knows it
    method: str
    path: Callable[[Any], str]  # builds the path from the cast
    expect: Callable[[str], int]  # role -> status code
    data: Callable[[Any, str], dict[str, Any]] | None = None
    json: bool = False


def page(members_only: set[str] | None = None, ok: int = 200) -> Callable[[str], int]:
    """A signed-in page: anonymous is sent to log in; outside `members_only` it is 403."""
    return lambda role: 302 if role == "anonymous" else (ok if members_only is None or role in members_only else 403)


def api(members_only: set[str] | None = None, ok: int = 200) -> Callable[[str], int]:
    return lambda role: 401 if role == "anonymous" else (ok if members_only is None or role in members_only else 403)


def public(role: str) -> int:
    return 200


def slug(cast: Any) -> str:
    return cast.company.slug


def viewer_membership(cast: Any) -> int:
    return Membership.objects.get(company=cast.company, user=cast.viewer).pk


def pending_invitation(cast: Any) -> Invitation:
    return Invitation.objects.create(
        company=cast.company, email="pending@x.example", role="viewer", invited_by=cast.owner,
        expires_at=timezone.now() + timezone.timedelta(days=1),
    )


def investor_application(cast: Any) -> Any:
    """The investor's submitted application (with a document and a screening hit), made once per test."""
    from datetime import date

    from compliance.models import KycApplication

    application, _ = KycApplication.objects.get_or_create(
        user=cast.investor,
        defaults={"state": "submitted", "legal_name": "Ivy Investor", "date_of_birth": date(1990, 1, 1),
                  "submitted_at": timezone.now()},
    )
    return application


def investor_document(cast: Any) -> Any:
    from django.core.files.base import ContentFile

    from compliance.models import KycDocument

    document = KycDocument(application=investor_application(cast), kind="identity", original_name="id.png",
                           content_type="image/png", size=16, sha256="0" * 64)
    document.file.save("id", ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8), save=False)
    document.save()
    return document


def investor_hit(cast: Any) -> Any:
    from compliance.models import ScreeningHit

    return ScreeningHit.objects.get_or_create(application=investor_application(cast), list_name="sanctions",
                                              entry_id="1", defaults={"matched_name": "Ivy Investar", "score": 80})[0]


def ledger(cast: Any) -> dict[str, Any]:
    """The cast company's cap table, recorded once per test: a class, a holder with a certificate, a pool with a
    grant, a warrant; the ids and references the API's ledger writes name."""
    from datetime import date
    from decimal import Decimal

    from equity import services as equity
    from equity.models import EquityPlan, ShareClass

    common = ShareClass.objects.filter(company=cast.company, name="Common").first()
    if common is None:
        actor = Actor(user=cast.owner)
        common = equity.share_class_create(actor=actor, company=cast.company, name="Common", kind="common",
                                           authorized_shares=10_000_000)
        mei = equity.stakeholder_create(actor=actor, company=cast.company, name="Mei Chen")
        equity.stock_issue(actor=actor, stakeholder=mei, share_class=common, quantity=1_000, effective_date=date(2025, 1, 1))
        plan = equity.plan_create(actor=actor, share_class=common, name="Plan", reserved=1_000,
                                  effective_date=date(2025, 1, 1))
        equity.option_grant(actor=actor, plan=plan, stakeholder=mei, quantity=100, exercise_price=Decimal("0.1"),
                            effective_date=date(2025, 1, 1))
        equity.warrant_issue(actor=actor, stakeholder=mei, share_class=common, quantity=100,
                             exercise_price=Decimal("0.1"), effective_date=date(2025, 1, 1))
        equity.stakeholder_create(actor=actor, company=cast.company, name="Trust")
    holders = dict(cast.company.stakeholders.values_list("name", "pk"))
    return {"class": common.pk, "mei": holders["Mei Chen"], "trust": holders["Trust"],
            "plan": EquityPlan.objects.get(company=cast.company).pk}


def ledger_write(kind: str, data: Callable[[dict[str, Any]], dict[str, Any]]) -> Rule:
    return Rule(f"api-transaction-{kind}", "post", lambda c: f"/api/v1/companies/{slug(c)}/transactions/{kind}/",
                api(EDITORS, ok=201), data=lambda c, r: {"effective_date": "2025-06-01", **data(ledger(c))}, json=True)


VENTURE_HACKS = {  # $2M at an $8M pre-money, 6,000,000 founder shares, a 20% pool in the pre-money
    "share_classes": [{"name": "Common"}], "positions": [{"holder": "Founders", "share_class": "Common",
                                                          "shares": 6_000_000}],
    "round": {"series": "Series A", "pre_money": "8000000", "investments": [{"investor": "Investor", "amount": "2000000"}],
              "pool": {"target": "0.20"}},
}


def cast_round(cast: Any, state: str = "open") -> Any:
    """A SAFE round of the cast company (opened unless asked for a draft), made once per test."""
    from datetime import timedelta
    from decimal import Decimal

    from equity import services as equity
    from equity.models import Round

    found = Round.objects.filter(company=cast.company, name=f"Bridge {state}").first()
    if found is None:
        actor = Actor(user=cast.owner)
        found = equity.round_create(
            actor=actor, company=cast.company, name=f"Bridge {state}", kind="safe", target_amount=Decimal(100_000),
            minimum_amount=Decimal(50_000), maximum_amount=Decimal(200_000), instrument="post_money_safe",
            valuation_cap=Decimal(5_000_000), jurisdictions=["US"], closes_on=timezone.localdate() + timedelta(days=9))
        if state == "open":
            found = equity.round_open(actor=actor, round=found)
    return found


def cast_investment(cast: Any) -> Any:
    from decimal import Decimal

    from equity import services as equity

    bridge = cast_round(cast)
    actor = Actor(user=cast.owner)
    holder = equity.stakeholder_create(actor=actor, company=cast.company, name="Wire Investor")
    return equity.investment_record(actor=actor, round=bridge, stakeholder=holder, amount=Decimal(1_000),
                                    received_on=timezone.localdate())


def cast_stakeholder(cast: Any) -> Any:
    """A stakeholder of the cast company holding common stock, made once per test."""
    from datetime import date

    from equity import services as equity
    from equity.models import Stakeholder

    found = Stakeholder.objects.filter(company=cast.company, name="Matrix Holder").first()
    if found is None:
        actor = Actor(user=cast.owner)
        common = equity.share_class_create(actor=actor, company=cast.company, name="Common", kind="common",
                                           authorized_shares=1_000_000)
        found = equity.stakeholder_create(actor=actor, company=cast.company, name="Matrix Holder")
        equity.stock_issue(actor=actor, stakeholder=found, share_class=common, quantity=1_000,
                           effective_date=date(2025, 1, 2))
    return found


def own(ok: int = 200) -> Callable[[str], int]:
    """The investor's own commitment: anyone else signed in gets 404, as if it did not exist."""
    return lambda role: 401 if role == "anonymous" else (ok if role == "investor" else 404)


def approved_investor(cast: Any) -> Any:
    """The investor, verified and accredited by self-certification: eligible for the cast round."""
    from datetime import timedelta

    from compliance.models import KycApplication

    KycApplication.objects.update_or_create(user=cast.investor, defaults={
        "state": "approved", "legal_name": "Ivy Investor", "country_of_residence": "US", "region": "NY",
        "accreditation": "self_certified", "submitted_at": timezone.now(), "decided_at": timezone.now(),
        "approval_expires_at": timezone.now() + timedelta(days=300)})
    return cast.investor


def cast_commitment(cast: Any, *, signed: bool = False) -> Any:
    """The investor's $1,000 commitment to the cast round, made once per test; the provider has not been asked for
    its payment (the matrix runs inside a transaction, where the provider is never called)."""
    from decimal import Decimal

    from payments import services as payments
    from payments.models import Commitment
    from payments.providers import payment_provider

    found = Commitment.objects.filter(investor=cast.investor).first()
    if found is None:
        approved_investor(cast)
        found = payments.investment_commit(actor=Actor(user=cast.investor), round=cast_round(cast),
                                           amount=Decimal(1_000), method="card", provider=payment_provider())
    if signed and not found.signed_at:
        found = payments.commitment_sign(actor=Actor(user=cast.investor), commitment=found, signed_name="Ivy Investor",
                                         agreement_pdf=payments.agreement_pdf(found))
    return found


def own_page(ok: int = 200) -> Callable[[str], int]:
    """The investor's own page: anonymous is sent to log in, anyone else finds nothing (404)."""
    return lambda role: 302 if role == "anonymous" else (ok if role == "investor" else 404)


def cast_token(cast: Any) -> Any:
    """The cast company's draft LUMEN token, made once per test."""
    from tokens import services as tokens
    from tokens.models import Token

    found = Token.objects.filter(company=cast.company).first()
    if found is None:
        found = tokens.token_create(actor=Actor(user=cast.owner), company=cast.company, name="Lumen", symbol="LUMEN",
                                    supply_cap=10**26, admin_address="0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc")
    return found


def cast_sale(cast: Any, state: str = "draft") -> Any:
    """A sale of the cast token: a draft, or (`live`) one whose contracts exist, made once per test."""
    from datetime import timedelta

    from tokens import services as tokens
    from tokens.models import Sale

    found = Sale.objects.filter(token__company=cast.company, name=f"Sale {state}").first()
    if found is None:
        now = timezone.now()
        found = tokens.sale_create(
            actor=Actor(user=cast.owner), token=cast_token(cast), name=f"Sale {state}", payment_asset="eth",
            price=10**15, soft_cap=10**19, hard_cap=10**20, min_per_investor=10**17, max_per_investor=2 * 10**19,
            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=30),
            treasury_address="0x976EA74026E726554dB657fA54763abd0C3a0aa9", exemption="reg_d_506b", jurisdictions=["US"])
        if state == "live":
            Sale.objects.filter(pk=found.pk).update(state="live", address=f"0x{found.pk:040x}")
    return found


def investor_wallet(cast: Any) -> str:
    """The approved investor's verified wallet."""
    approved_investor(cast)
    return str(cast.investor.wallets.get_or_create(
        address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", chain_id=31337,
        defaults={"message": "-", "signature": "-", "verified_at": timezone.now()})[0].address)


def cast_token_order(cast: Any) -> Any:
    """The investor's card order of the cast's live sale, cancelled before paying (so its page never asks the
    provider for a payment, which the matrix's transaction forbids), made once per test."""
    from decimal import Decimal

    from payments.models import Payment, TokenOrder

    order = TokenOrder.objects.filter(investor=cast.investor).first()
    if order is None:
        order = TokenOrder.objects.create(sale=cast_sale(cast, "live"), investor=cast.investor,
                                          wallet=investor_wallet(cast), amount=Decimal(100), units=100 * 10**6,
                                          state="cancelled")
        Payment.objects.create(token_order=order, key=f"pay_matrix_{order.pk}", provider="sandbox", method="card",
                               amount=order.amount)
    return order


def cast_allocation(cast: Any) -> Any:
    """A converted token warrant of the investor, waiting to be claimed, made once per test."""
    from tokens.models import TokenAllocation

    return TokenAllocation.objects.get_or_create(token=cast_token(cast), kind="investor", user=cast.investor,
                                                 defaults={"label": "Token warrant", "amount": 10**18,
                                                           "state": "claimable"})[0]


def cast_priced_allocation(cast: Any) -> Any:
    """A converted priced token warrant of the investor, waiting for its exercise price, made once per test."""
    from tokens.models import TokenAllocation

    return TokenAllocation.objects.get_or_create(token=cast_token(cast), kind="investor", user=cast.investor,
                                                 label="Priced token warrant",
                                                 defaults={"amount": 10**18, "state": "unpaid",
                                                           "exercise_price": "25.00"})[0]


TOKEN_POST = {"name": "Lumen", "symbol": "LUMEN", "supply_cap": "100000000", "decimals": "18",
              "admin_address": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "investor_pool": "0"}


RULES = [
    Rule("home", "get", lambda c: "/", public),
    Rule("dashboard", "get", lambda c: "/dashboard/", page()),
    Rule("accounts:profile", "get", lambda c: "/profile/", page()),
    Rule("accounts:profile", "post", lambda c: "/profile/", page(ok=302), data=lambda c, r: {"full_name": f"Name {r}", "preferred_language": "en"}),
    Rule("accounts:api_token", "post", lambda c: "/profile/api-token/", page(ok=302), data=lambda c, r: {"action": "rotate"}),
    Rule("companies:list", "get", lambda c: "/companies/", page()),
    Rule("companies:create", "get", lambda c: "/companies/new/", page()),
    Rule("companies:create", "post", lambda c: "/companies/new/", page(ok=302),
         data=lambda c, r: {"legal_name": f"New Co {r}", "jurisdiction": "US-DE"}),
    Rule("companies:detail", "get", lambda c: f"/companies/{slug(c)}/", page(MEMBERS)),
    Rule("companies:edit", "get", lambda c: f"/companies/{slug(c)}/edit/", page(EDITORS)),
    Rule("companies:edit", "post", lambda c: f"/companies/{slug(c)}/edit/", page(EDITORS, ok=302),
         data=lambda c, r: {"legal_name": c.company.legal_name, "jurisdiction": "US-DE", "pitch": f"by {r}"}),
    Rule("companies:members", "get", lambda c: f"/companies/{slug(c)}/team/", page(MEMBERS)),
    Rule("companies:members", "post", lambda c: f"/companies/{slug(c)}/team/", page(EDITORS, ok=302),
         data=lambda c, r: {"email": f"{r}-invitee@x.example", "role": "viewer"}),
    Rule("companies:member_role", "post", lambda c: f"/companies/{slug(c)}/team/{viewer_membership(c)}/role/",
         page(EDITORS, ok=302), data=lambda c, r: {"role": "admin"}),
    Rule("companies:member_remove", "post", lambda c: f"/companies/{slug(c)}/team/{viewer_membership(c)}/remove/",
         # A viewer removing their own membership is leaving, which anyone may do.
         page(MEMBERS, ok=302)),
    Rule("companies:invitation_revoke", "post",
         lambda c: f"/companies/{slug(c)}/invitations/{pending_invitation(c).pk}/revoke/", page(EDITORS, ok=302)),
    Rule("companies:invitation", "get",
         lambda c: f"/invitations/{services.invitation_token(pending_invitation(c))}/", public),
    Rule("companies:public", "get", lambda c: f"/c/{slug(c)}/", public),
    Rule("compliance:audit_log", "get", lambda c: "/compliance/audit/", page(STAFF)),
    Rule("equity:cap_table", "get", lambda c: f"/companies/{slug(c)}/cap-table/", page(MEMBERS)),
    Rule("equity:cap_table_csv", "get", lambda c: f"/companies/{slug(c)}/cap-table.csv", page(MEMBERS)),
    Rule("equity:ocf_export", "get", lambda c: f"/companies/{slug(c)}/cap-table.ocf.zip", page(MEMBERS)),
    Rule("equity:ocf_import", "get", lambda c: f"/companies/{slug(c)}/cap-table/import-ocf/", page(EDITORS)),
    Rule("equity:ocf_import", "post", lambda c: f"/companies/{slug(c)}/cap-table/import-ocf/", page(EDITORS, ok=400),
         data=lambda c, r: {}),  # no file: the form says so, nothing is written
    Rule("equity:cap_table_by_class_csv", "get", lambda c: f"/companies/{slug(c)}/cap-table/by-class.csv",
         page(MEMBERS)),
    Rule("equity:ledger", "get", lambda c: f"/companies/{slug(c)}/cap-table/ledger/", page(MEMBERS)),
    Rule("equity:ledger_csv", "get", lambda c: f"/companies/{slug(c)}/cap-table/ledger.csv", page(MEMBERS)),
    Rule("equity:stakeholder", "get",
         lambda c: f"/companies/{slug(c)}/cap-table/stakeholders/{cast_stakeholder(c).pk}/", page(MEMBERS)),
    Rule("equity:stakeholder_securities_csv", "get",
         lambda c: f"/companies/{slug(c)}/cap-table/stakeholders/{cast_stakeholder(c).pk}/securities.csv",
         page(MEMBERS)),
    Rule("equity:waterfall", "get",
         lambda c: f"/companies/{slug(c)}/cap-table/waterfall/?exit_value={cast_stakeholder(c) and 1000000}",
         page(MEMBERS)),
    Rule("equity:waterfall_csv", "get",
         lambda c: f"/companies/{slug(c)}/cap-table/waterfall.csv?exit_value={cast_stakeholder(c) and 1000000}",
         page(MEMBERS)),
    Rule("equity:round_model", "get", lambda c: f"/companies/{slug(c)}/cap-table/model/", page(MEMBERS)),
    Rule("equity:record", "get", lambda c: f"/companies/{slug(c)}/cap-table/record/stakeholder/", page(EDITORS)),
    Rule("equity:record", "post", lambda c: f"/companies/{slug(c)}/cap-table/record/stakeholder/", page(EDITORS, ok=302),
         data=lambda c, r: {"name": f"Holder {r}", "kind": "individual", "relationship": "investor"}),
    # Rounds: members read them, editors set them up, open, record investments and close.
    Rule("equity:round_list", "get", lambda c: f"/companies/{slug(c)}/rounds/", page(MEMBERS)),
    Rule("equity:round_new", "get", lambda c: f"/companies/{slug(c)}/rounds/new/", page(EDITORS)),
    Rule("equity:round_new", "post", lambda c: f"/companies/{slug(c)}/rounds/new/", page(EDITORS, ok=302),
         data=lambda c, r: {"name": f"Seed {r}", "kind": "priced", "target_amount": "100", "minimum_amount": "50",
                            "maximum_amount": "200", "minimum_ticket": "0"}),
    Rule("equity:round_detail", "get", lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/", page(MEMBERS)),
    Rule("equity:round_edit", "get",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c, 'draft').pk}/edit/offering/", page(EDITORS)),
    Rule("equity:round_preview", "get",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c, 'draft').pk}/preview/", page(EDITORS)),
    Rule("equity:round_action", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/start-closing/", page(EDITORS, ok=302)),
    Rule("equity:investment_record", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/investments/", page(EDITORS, ok=302),
         data=lambda c, r: {"new_investor": f"Angel {r}", "amount": "1000", "received_on": "2026-01-05"}),
    Rule("equity:investment_cancel", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/investments/{cast_investment(c).pk}/cancel/",
         page(EDITORS, ok=302)),
    Rule("logo", "get", lambda c: "/media/logos/missing.png", lambda r: 404),
    # KYC: every signed-in person has their own application; files only for their owner and compliance staff.
    Rule("compliance:kyc", "get", lambda c: "/kyc/", page()),
    Rule("compliance:kyc_document", "get", lambda c: f"/kyc/documents/{investor_document(c).pk}/",
         lambda role: 302 if role == "anonymous" else (200 if role in STAFF | {"investor"} else 404)),
    Rule("compliance:queue", "get", lambda c: "/compliance/queue/", page(STAFF)),
    Rule("compliance:review", "get", lambda c: f"/compliance/queue/{investor_application(c).pk}/", page(STAFF)),
    *[Rule(f"compliance:{name}", "post", lambda c, name=name: f"/compliance/queue/{investor_application(c).pk}/{name.replace('_', '-')}/",
           page(STAFF, ok=302)) for name in ("assign", "approve", "reject", "request_information", "note")],
    Rule("compliance:hit_resolve", "post",
         lambda c: f"/compliance/queue/{investor_application(c).pk}/hits/{investor_hit(c).pk}/resolve/",
         page(STAFF, ok=302), data=lambda c, r: {"status": "cleared", "note": "Different person."}),
    # The API
    Rule("api-me", "get", lambda c: "/api/v1/me/", api()),
    Rule("api-company-list", "get", lambda c: "/api/v1/companies/", api()),
    Rule("api-company-list", "post", lambda c: "/api/v1/companies/", api(ok=201),
         data=lambda c, r: {"legal_name": f"API Co {r}", "jurisdiction": "US-DE"}, json=True),
    Rule("api-company-detail", "get", lambda c: f"/api/v1/companies/{slug(c)}/", api(MEMBERS)),
    Rule("api-company-detail", "patch", lambda c: f"/api/v1/companies/{slug(c)}/", api(EDITORS),
         data=lambda c, r: {"pitch": f"by {r}"}, json=True),
    Rule("api-company-members", "get", lambda c: f"/api/v1/companies/{slug(c)}/members/", api(MEMBERS)),
    Rule("api-company-invitations", "get", lambda c: f"/api/v1/companies/{slug(c)}/invitations/", api(EDITORS)),
    Rule("api-company-invitations", "post", lambda c: f"/api/v1/companies/{slug(c)}/invitations/", api(EDITORS, ok=201),
         data=lambda c, r: {"email": f"{r}-api@x.example", "role": "viewer"}, json=True),
    Rule("api-invitation-accept", "post", lambda c: "/api/v1/invitations/accept/", api(ok=400),
         data=lambda c, r: {"token": "not-a-token"}, json=True),
    Rule("api-public-company-list", "get", lambda c: "/api/v1/public/companies/", public),
    Rule("api-public-company-detail", "get", lambda c: f"/api/v1/public/companies/{slug(c)}/", public),
    Rule("api-audit-events", "get", lambda c: "/api/v1/audit-events/", api(STAFF)),
    *[Rule(f"api-{name}", "get", lambda c, name=name: f"/api/v1/companies/{slug(c)}/{name}/", api(MEMBERS))
      for name in ("share-classes", "stakeholders", "transactions", "cap-table")],
    # Recording the cap table through the API: editors only.
    Rule("api-share-classes", "post", lambda c: f"/api/v1/companies/{slug(c)}/share-classes/", api(EDITORS, ok=201),
         data=lambda c, r: {"name": f"Class {r}", "kind": "common", "authorized_shares": 10}, json=True),
    Rule("api-stakeholders", "post", lambda c: f"/api/v1/companies/{slug(c)}/stakeholders/", api(EDITORS, ok=201),
         data=lambda c, r: {"name": f"Holder {r}"}, json=True),
    Rule("api-plans", "get", lambda c: f"/api/v1/companies/{slug(c)}/plans/", api(MEMBERS)),
    Rule("api-plans", "post", lambda c: f"/api/v1/companies/{slug(c)}/plans/", api(EDITORS, ok=201),
         data=lambda c, r: {"name": f"Plan {r}", "share_class": ledger(c)["class"], "reserved": 10,
                            "effective_date": "2025-06-01"}, json=True),
    ledger_write("stock-issuance", lambda ids: {"stakeholder": ids["mei"], "share_class": ids["class"], "quantity": 1}),
    ledger_write("stock-transfer", lambda ids: {"certificate": "CS-1", "to": ids["trust"], "quantity": 1}),
    ledger_write("stock-cancellation", lambda ids: {"certificate": "CS-1", "quantity": 1}),
    ledger_write("stock-repurchase", lambda ids: {"certificate": "CS-1", "quantity": 1, "repurchase_price": "0.1"}),
    ledger_write("plan-adjustment", lambda ids: {"plan": ids["plan"], "quantity": -1}),
    ledger_write("option-grant", lambda ids: {"plan": ids["plan"], "stakeholder": ids["trust"], "quantity": 1,
                                              "exercise_price": "0.1"}),
    ledger_write("option-exercise", lambda ids: {"grant": "OPT-1", "quantity": 1}),
    ledger_write("option-cancellation", lambda ids: {"grant": "OPT-1", "quantity": 1}),
    ledger_write("convertible-issuance", lambda ids: {"stakeholder": ids["trust"], "instrument": "post_money_safe",
                                                      "amount": "1000", "valuation_cap": "1000000"}),
    ledger_write("warrant-issuance", lambda ids: {"stakeholder": ids["trust"], "share_class": ids["class"],
                                                  "quantity": 1, "exercise_price": "1"}),
    ledger_write("warrant-exercise", lambda ids: {"warrant": "W-1", "quantity": 1}),
    # Rounds over the API: members read, editors write (a SAFE round with nothing raised cannot close: 400).
    Rule("api-rounds", "get", lambda c: f"/api/v1/companies/{slug(c)}/rounds/", api(MEMBERS)),
    Rule("api-rounds", "post", lambda c: f"/api/v1/companies/{slug(c)}/rounds/", api(EDITORS, ok=201),
         data=lambda c, r: {"name": f"Seed {r}", "kind": "priced", "target_amount": "100", "minimum_amount": "50",
                            "maximum_amount": "200"}, json=True),
    Rule("api-round", "get", lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/", api(MEMBERS)),
    Rule("api-round", "patch", lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c, 'draft').pk}/",
         api(EDITORS), data=lambda c, r: {"minimum_ticket": "10"}, json=True),
    *[Rule(f"api-round-{action}", "post",
           lambda c, action=action, state=state: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c, state).pk}/{action}/",
           api(EDITORS, ok=ok))
      for action, state, ok in (("open", "draft", 200), ("start-closing", "open", 200), ("close", "open", 400),
                                ("cancel", "open", 200))],
    Rule("api-round-investments", "get",
         lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/investments/", api(MEMBERS)),
    Rule("api-round-investments", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/investments/", api(EDITORS, ok=201),
         data=lambda c, r: {"stakeholder": cast_investment(c).stakeholder_id, "amount": "1000",
                            "received_on": "2026-01-05"}, json=True),
    Rule("api-investment-cancel", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/investments/{cast_investment(c).pk}/cancel/",
         api(EDITORS)),
    # Stateless calculations: anyone signed in (nothing of a company is read or written), never anonymous.
    Rule("api-calculation-pro-forma", "post", lambda c: "/api/v1/calculations/pro-forma/", api(),
         data=lambda c, r: VENTURE_HACKS, json=True),
    Rule("api-calculation-waterfall", "post", lambda c: "/api/v1/calculations/waterfall/", api(),
         data=lambda c, r: {**VENTURE_HACKS, "exit_value": "1000000.00"}, json=True),
    Rule("api-ocf-export", "get", lambda c: f"/api/v1/companies/{slug(c)}/ocf/", api(MEMBERS)),
    Rule("api-ocf-import", "post", lambda c: f"/api/v1/companies/{slug(c)}/ocf/import/", api(EDITORS, ok=400),
         data=lambda c, r: {}),  # no file: 400 for those allowed, before anything is read
    # Investing: an investor's commitments are theirs alone; a commitment's documents are also its company team's.
    Rule("api-commitments", "get", lambda c: "/api/v1/commitments/", api()),
    # Anyone signed in may try to commit; only the verified investor is eligible (the others: 400).
    Rule("api-commit", "post", lambda c: f"/api/v1/rounds/{cast_round(c).pk}/commitments/",
         lambda role: 401 if role == "anonymous" else (201 if role == "investor" else 400),
         data=lambda c, r: approved_investor(c) and {"amount": "1000", "method": "card"}, json=True),
    Rule("api-commitment", "get", lambda c: f"/api/v1/commitments/{cast_commitment(c).pk}/", own()),
    # A one-letter signature is refused before anything is written (a real one asks the provider for the payment,
    # which never happens inside the matrix's transaction).
    Rule("api-commitment-sign", "post", lambda c: f"/api/v1/commitments/{cast_commitment(c).pk}/sign/", own(ok=400),
         data=lambda c, r: {"signed_name": "I"}, json=True),
    *[Rule(f"api-commitment-{action}", "post",
           lambda c, action=action: f"/api/v1/commitments/{cast_commitment(c).pk}/{action}/", own())
      for action in ("cancel", "reconfirm")],
    Rule("api-commitment-pay", "post", lambda c: f"/api/v1/commitments/{cast_commitment(c).pk}/pay/", own(ok=400),
         data=lambda c, r: {"number": "4242424242424242"}, json=True),  # unsigned: sign first
    *[Rule(f"api-commitment-{name}", "get", lambda c, name=name: f"/api/v1/commitments/{cast_commitment(c).pk}/{name}/",
           own()) for name in ("payments", "refunds")],
    *[Rule(name, "get", lambda c, path=path: f"/api/v1/commitments/{cast_commitment(c, signed=True).pk}/{path}",
           lambda role: 401 if role == "anonymous" else (200 if role in MEMBERS | {"investor"} else 404))
      for name, path in (("api-commitment-documents", "documents/"), ("api-commitment-document",
                                                                     "documents/agreement/"))],
    Rule("api-round-commitments", "get",
         lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments/", api(MEMBERS)),
    Rule("api-commitment-decline", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments/{cast_commitment(c).pk}/decline/",
         api(EDITORS)),
    # The payment provider's webhooks: anyone, signed in or not, reaches it; the signature is the proof (none: 400).
    Rule("api-webhook", "post", lambda c: "/api/v1/webhooks/sandbox/", lambda role: 400, data=lambda c, r: {},
         json=True),
    # Investing pages: the checkout and the portfolio are the investor's own (another person's commitment: 404).
    Rule("payments:invest", "get", lambda c: f"/invest/{cast_round(c).pk}/", page()),
    Rule("payments:invest", "post", lambda c: f"/invest/{cast_round(c).pk}/",
         lambda role: 302 if role in {"anonymous", "investor"} else 200,  # the others see why they may not
         data=lambda c, r: approved_investor(c) and {"amount": "1000", "method": "card"}),
    Rule("payments:portfolio", "get", lambda c: "/portfolio/", page()),
    Rule("payments:commitment", "get", lambda c: f"/portfolio/commitments/{cast_commitment(c).pk}/", own_page()),
    Rule("payments:agreement_preview", "get",
         lambda c: f"/portfolio/commitments/{cast_commitment(c).pk}/agreement.pdf", own_page()),
    Rule("payments:sign", "post", lambda c: f"/portfolio/commitments/{cast_commitment(c).pk}/sign/",
         own_page(ok=400), data=lambda c, r: {"signed_name": "Ivy Investor"}),  # consent not ticked
    Rule("payments:pay", "post", lambda c: f"/portfolio/commitments/{cast_commitment(c).pk}/pay/",
         own_page(ok=400), data=lambda c, r: {"number": "4242424242424242"}),  # unsigned: sign first
    *[Rule(f"payments:{action}", "post",
           lambda c, action=action: f"/portfolio/commitments/{cast_commitment(c).pk}/{action}/", own_page(ok=302))
      for action in ("cancel", "reconfirm")],
    Rule("payments:document", "get",
         lambda c: f"/commitments/{cast_commitment(c, signed=True).pk}/documents/agreement.pdf",
         lambda role: 302 if role == "anonymous" else (200 if role in MEMBERS | {"investor"} else 404)),
    Rule("payments:round_commitments", "get",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments/", page(MEMBERS)),
    Rule("payments:round_commitments_csv", "get",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments.csv", page(MEMBERS)),
    Rule("payments:commitment_decline", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments/{cast_commitment(c).pk}/decline/",
         page(EDITORS, ok=302)),
    Rule("payments:commitment_return_rest", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/commitments/{cast_commitment(c).pk}/return-rest/",
         page(EDITORS, ok=302)),
    Rule("payments:round_material_change", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/material-change/", page(EDITORS, ok=302),
         data=lambda c, r: {"summary": "The valuation cap rises to $10M."}),
    Rule("payments:round_close_early", "post",
         lambda c: f"/companies/{slug(c)}/rounds/{cast_round(c).pk}/close-early/", page(EDITORS, ok=302),
         data=lambda c, r: {"closes_on": "2020-01-01"}),
    Rule("api-schema", "get", lambda c: "/api/v1/schema/", public),
    Rule("api-docs", "get", lambda c: "/api/v1/docs/", public),
    # Wallets: everyone signed in has their own; another person's wallet is not found (404), never shown or removed.
    Rule("accounts:wallets", "get", lambda c: "/wallets/", page()),
    Rule("accounts:wallet_link", "post", lambda c: "/wallets/link/", page(ok=302),
         data=lambda c, r: {"message": "not a signed message", "signature": "0x00"}),
    Rule("accounts:wallet_remove", "post",
         lambda c: f"/wallets/{c.investor.wallets.get_or_create(address='0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', chain_id=31337, defaults={'message': '-', 'signature': '-', 'verified_at': timezone.now()})[0].pk}/remove/",
         lambda role: 302 if role in {"anonymous", "investor"} else 404),
    Rule("api-wallet-list", "get", lambda c: "/api/v1/wallets/", api()),
    Rule("api-wallet-list", "post", lambda c: "/api/v1/wallets/", api(ok=400),
         data=lambda c, r: {"message": "not a signed message", "signature": "0x00"}, json=True),
    Rule("api-wallet-nonce", "post", lambda c: "/api/v1/wallets/nonce/", api(ok=201),
         data=lambda c, r: {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, json=True),
    *[Rule("api-wallet-detail", method,
           lambda c: f"/api/v1/wallets/{c.investor.wallets.get_or_create(address='0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', chain_id=31337, defaults={'message': '-', 'signature': '-', 'verified_at': timezone.now()})[0].pk}/",
           lambda role, ok=ok: 401 if role == "anonymous" else (ok if role == "investor" else 404))
      for method, ok in (("get", 200), ("delete", 204))],
    # Tokens: members read the company's tokens and sales, editors set them up and deploy; a deployed sale's page is
    # public, and what a purchase needs is answered for the investor's own verified wallet only.
    Rule("tokens:overview", "get", lambda c: f"/companies/{slug(c)}/tokens/", page(MEMBERS)),
    Rule("tokens:token_new", "get", lambda c: f"/companies/{slug(c)}/tokens/new/", page(EDITORS)),
    Rule("tokens:token_new", "post", lambda c: f"/companies/{slug(c)}/tokens/new/", page(EDITORS, ok=302),
         data=lambda c, r: TOKEN_POST),
    Rule("tokens:token_edit", "get", lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/edit/", page(EDITORS)),
    Rule("tokens:sale_new", "get", lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/sales/new/",
         page(EDITORS)),
    Rule("tokens:sale_review", "get", lambda c: f"/companies/{slug(c)}/sales/{cast_sale(c).pk}/", page(MEMBERS)),
    Rule("tokens:sale_edit", "get", lambda c: f"/companies/{slug(c)}/sales/{cast_sale(c).pk}/edit/", page(EDITORS)),
    Rule("tokens:sale_deploy", "post", lambda c: f"/companies/{slug(c)}/sales/{cast_sale(c).pk}/deploy/",
         page(EDITORS, ok=302)),
    Rule("tokens:sale_deployment", "get", lambda c: f"/companies/{slug(c)}/sales/{cast_sale(c).pk}/deployment/",
         page(MEMBERS)),
    Rule("tokens:sale_public", "get", lambda c: f"/c/{slug(c)}/sales/{cast_sale(c, 'live').pk}/", public),
    Rule("tokens:sale_purchase_terms", "get",
         lambda c: f"/c/{slug(c)}/sales/{cast_sale(c, 'live').pk}/purchase-terms/?wallet={investor_wallet(c)}",
         lambda role: 302 if role == "anonymous" else (200 if role == "investor" else 403)),
    # The development wallet's relay and faucet (devnet only): signed-in people; a refused method and a bad address
    # are answered without asking the node.
    Rule("tokens:chain_rpc", "post", lambda c: "/chain/rpc", lambda role: 403 if role == "anonymous" else 200,
         data=lambda c, r: {"jsonrpc": "2.0", "id": 1, "method": "eth_accounts", "params": []}, json=True),
    Rule("tokens:faucet", "post", lambda c: "/chain/faucet", page(ok=400), data=lambda c, r: {"address": "nope"}),
    # The hybrid: the combined cap table for members; warrants and allocations set up by editors (converting and
    # deploying need a live token: 400 for the cast's draft); a converted warrant claimed by its holder only (the
    # draft token refuses the claim itself: 400 on the API, a message and a redirect on the portfolio page).
    Rule("equity:cap_table_combined_csv", "get", lambda c: f"/companies/{slug(c)}/cap-table/combined.csv",
         page(MEMBERS)),
    Rule("api-cap-table-combined", "get", lambda c: f"/api/v1/companies/{slug(c)}/cap-table/combined/", api(MEMBERS)),
    Rule("api-tokens", "get", lambda c: f"/api/v1/companies/{slug(c)}/tokens/", api(MEMBERS)),
    Rule("api-token-sales", "get", lambda c: f"/api/v1/companies/{slug(c)}/tokens/{cast_token(c).pk}/sales/",
         api(MEMBERS)),
    Rule("api-sale-purchases", "get", lambda c: f"/api/v1/companies/{slug(c)}/sales/{cast_sale(c).pk}/purchases/",
         api(MEMBERS)),
    Rule("api-token-warrants", "get", lambda c: f"/api/v1/companies/{slug(c)}/token-warrants/", api(MEMBERS)),
    Rule("api-token-warrants", "post", lambda c: f"/api/v1/companies/{slug(c)}/token-warrants/",
         api(EDITORS, ok=201), data=lambda c, r: {"stakeholder": cast_stakeholder(c).pk, "kind": "fixed",
                                                  "token_amount": "1000"}, json=True),
    Rule("api-token-convert-warrants", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/tokens/{cast_token(c).pk}/convert-warrants/", api(EDITORS, ok=400)),
    Rule("api-token-allocations", "get",
         lambda c: f"/api/v1/companies/{slug(c)}/tokens/{cast_token(c).pk}/allocations/", api(MEMBERS)),
    Rule("api-token-allocations", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/tokens/{cast_token(c).pk}/allocations/", api(EDITORS, ok=201),
         data=lambda c, r: {"kind": "team", "label": "Team", "amount": "1000", "vesting_start": "2026-01-01T00:00:00Z",
                            "beneficiary_address": "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "cliff": "0",
                            "duration": "86400"}, json=True),
    Rule("api-token-allocations-deploy", "post",
         lambda c: f"/api/v1/companies/{slug(c)}/tokens/{cast_token(c).pk}/allocations/deploy/",
         api(EDITORS, ok=400)),
    Rule("api-token-allocation-claim", "post",
         lambda c: f"/api/v1/token-allocations/{cast_allocation(c).pk}/claim/", own(ok=400),
         data=lambda c, r: {"wallet": c.investor.wallets.get(address=investor_wallet(c)).pk}, json=True),
    Rule("api-portfolio-tokens", "get", lambda c: "/api/v1/portfolio/tokens/", api()),
    # The founder's hybrid page: members read it; editors issue and plan (a bad amount: 400, nothing written) and
    # press convert / deploy (the draft token refuses with a message: 302 back to the page).
    Rule("tokens:token_holders", "get", lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/holders/",
         page(MEMBERS)),
    Rule("tokens:warrant_new", "post", lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/warrants/new/",
         page(EDITORS, ok=400), data=lambda c, r: {"warrant-stakeholder": cast_stakeholder(c).pk,
                                                   "warrant-kind": "fixed", "warrant-token_amount": "-5"}),
    Rule("tokens:allocation_new", "post",
         lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/allocations/new/", page(EDITORS, ok=400),
         data=lambda c, r: {"allocation-kind": "team", "allocation-label": "Team", "allocation-amount": "1000",
                            "allocation-beneficiary_address": "nope"}),
    *[Rule(f"tokens:{name}", "post", lambda c, path=path: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/{path}/",
           page(EDITORS, ok=302))
      for name, path in (("warrants_convert", "warrants/convert"), ("allocations_deploy", "allocations/deploy"))],
    # Recording an exercise price the company received itself: editors only (no reference: refused with a message,
    # 302 back to the page, nothing recorded).
    Rule("tokens:exercise_record", "post",
         lambda c: f"/companies/{slug(c)}/tokens/{cast_token(c).pk}/allocations/{cast_priced_allocation(c).pk}"
                   "/exercise-recorded/", page(EDITORS, ok=302), data=lambda c, r: {"reference": " "}),
    # A deployed sale's team actions: a draft sale refuses with a message (302 back to its page).
    *[Rule(f"tokens:sale_{action}", "post", lambda c, action=action: f"/companies/{slug(c)}/sales/{cast_sale(c).pk}/{action}/",
           page(EDITORS, ok=302)) for action in ("finalize", "pause", "resume")],
    # Tokens by card: anyone signed in sees the checkout (the cast's ether sale takes no card: said on the page, and
    # a posted order is refused with 400, nothing written); an order's pages are its investor's alone.
    Rule("payments:token_checkout", "get", lambda c: f"/c/{slug(c)}/sales/{cast_sale(c, 'live').pk}/card/", page()),
    Rule("payments:token_checkout", "post", lambda c: f"/c/{slug(c)}/sales/{cast_sale(c, 'live').pk}/card/",
         page(ok=400), data=lambda c, r: {"amount": "100", "wallet": investor_wallet(c)}),
    Rule("payments:token_order", "get", lambda c: f"/portfolio/token-orders/{cast_token_order(c).pk}/", own_page()),
    Rule("payments:token_order_pay", "post", lambda c: f"/portfolio/token-orders/{cast_token_order(c).pk}/pay/",
         own_page(ok=400), data=lambda c, r: {"number": "4242424242424242"}),  # cancelled: not waiting for payment
    Rule("payments:token_order_cancel", "post",
         lambda c: f"/portfolio/token-orders/{cast_token_order(c).pk}/cancel/", own_page(ok=302)),
    Rule("payments:token_allocation_claim", "post", lambda c: f"/portfolio/tokens/{cast_allocation(c).pk}/claim/",
         own_page(ok=302), data=lambda c, r: {"wallet": c.investor.wallets.get(address=investor_wallet(c)).pk}),
    # A priced warrant's exercise: the holder's alone. Its page, starting the payment (written, then its page), and
    # the sandbox's card form (a number that is no card: 400, nothing charged). The API refuses a free allocation.
    Rule("payments:warrant_exercise", "get", lambda c: f"/portfolio/tokens/{cast_priced_allocation(c).pk}/exercise/",
         own_page()),
    Rule("payments:warrant_exercise_start", "post",
         lambda c: f"/portfolio/tokens/{cast_priced_allocation(c).pk}/exercise/start/", own_page(ok=302)),
    Rule("payments:warrant_exercise_pay", "post",
         lambda c: f"/portfolio/tokens/{cast_priced_allocation(c).pk}/exercise/pay/", own_page(ok=400),
         data=lambda c, r: {"number": "1234"}),
    Rule("api-warrant-exercise", "post", lambda c: f"/api/v1/token-allocations/{cast_allocation(c).pk}/exercise/",
         own(ok=400)),
    # Card orders over the API: anyone signed in lists their own (and may order: the cast's ether sale refuses it,
    # 400, nothing written); an order is its investor's alone (cancelled already: cancelling again says so, 200).
    Rule("api-token-orders", "get", lambda c: "/api/v1/token-orders/", api()),
    Rule("api-token-order-create", "post", lambda c: f"/api/v1/sales/{cast_sale(c, 'live').pk}/token-orders/",
         api(ok=400), data=lambda c, r: {"amount": "100", "wallet": investor_wallet(c)}, json=True),
    Rule("api-token-order", "get", lambda c: f"/api/v1/token-orders/{cast_token_order(c).pk}/", own()),
    Rule("api-token-order-cancel", "post", lambda c: f"/api/v1/token-orders/{cast_token_order(c).pk}/cancel/",
         own()),
]

# Routes that belong to libraries (allauth's accounts pages, Django admin, the language switch): their own
# projects test them; Tranche's use of them is covered by the account tests and the browser test.
LIBRARY_NAMESPACES = ("admin", "account_", "mfa_", "set_language", "javascript-catalog")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.method.upper()} {r.name}")
def test_permission_matrix(rule: Rule, role: str, cast: Any, client_for: Any) -> None:
    client = client_for(None if role == "anonymous" else getattr(cast, role))
    path = rule.path(cast)
    kwargs: dict[str, Any] = {}
    if rule.data is not None:
        kwargs["data"] = rule.data(cast, role)
        if rule.json:
            kwargs["content_type"] = "application/json"
    response = getattr(client, rule.method)(path, **kwargs)
    expected = rule.expect(role)
    assert response.status_code == expected, (
        f"{role} {rule.method.upper()} {path}: expected {expected}, got {response.status_code}"
    )
    if role == "anonymous" and expected == 302:
        assert "/accounts/login/" in response["Location"]


def _route_names(patterns: list[URLPattern | URLResolver], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _route_names(pattern.url_patterns, namespace)
        elif pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_every_route_is_in_the_matrix() -> None:
    ours = {name for name in _route_names(get_resolver().url_patterns) if not name.startswith(LIBRARY_NAMESPACES)}
    covered = {rule.name for rule in RULES}
    assert ours - covered == set(), "add these routes to the permission matrix"


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client_for: Any, db: Any) -> None:
    from tests.factories import UserFactory

    officer = UserFactory(is_compliance_officer=True)
    response = client_for(officer).get("/compliance/audit/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    api_response = client_for(officer).get("/api/v1/me/")
    assert api_response.status_code == 403


def test_actor_records_the_client_address(rf: Any) -> None:
    request = rf.get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="1.2.3.4")
    request.user = type("Anon", (), {"is_authenticated": False})()
    assert Actor.from_request(request).ip_address == "198.51.100.4"  # no trusted proxy: the header is ignored
