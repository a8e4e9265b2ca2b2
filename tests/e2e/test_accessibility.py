"""Every page so far, checked in Chromium with axe-core (the accessibility engine behind Lighthouse):
no serious or critical violation of WCAG 2.1 A/AA rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js").read_text()


def violations(page: Any) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_public_pages_have_no_serious_accessibility_violations(live_server: Any, browser: Any, cast: Any) -> None:
    page = browser.new_context().new_page()
    for path in ["/", "/accounts/signup/", "/accounts/login/", "/accounts/password/reset/",
                 f"/c/{cast.company.slug}/", "/c/no-such-company/"]:
        page.goto(live_server.url + path)
        assert violations(page) == [], path


def test_flash_messages_have_no_serious_accessibility_violations(live_server: Any, signed_in: Any, cast: Any) -> None:
    owner = signed_in(cast.owner)
    owner.goto(live_server.url + "/profile/")
    owner.get_by_role("button", name="Save").click()
    assert owner.get_by_text("Your profile is saved.").is_visible()
    assert violations(owner) == []


def test_signed_in_pages_have_no_serious_accessibility_violations(live_server: Any, signed_in: Any, cast: Any) -> None:
    owner = signed_in(cast.owner)
    for path in ["/dashboard/", "/profile/", "/companies/", "/companies/new/", f"/companies/{cast.company.slug}/",
                 f"/companies/{cast.company.slug}/team/", f"/companies/{cast.company.slug}/edit/", "/accounts/2fa/",
                 f"/companies/{cast.company.slug}/cap-table/",
                 *[f"/companies/{cast.company.slug}/cap-table/record/{what}/"
                   for what in ("share-class", "stakeholder", "issue", "plan", "grant", "convertible")]]:
        owner.goto(live_server.url + path)
        assert violations(owner) == [], path
    for path in ["/kyc/?step=identity", "/kyc/?step=document", "/kyc/?step=profile", "/kyc/?step=review"]:
        owner.goto(live_server.url + path)
        assert violations(owner) == [], path
    from compliance.models import KycApplication

    application = KycApplication.objects.get(user=cast.owner)
    KycApplication.objects.filter(pk=application.pk).update(state="submitted", submitted_at=application.created_at)
    owner.goto(live_server.url + "/kyc/")
    assert violations(owner) == [], "/kyc/ (submitted)"
    officer = signed_in(cast.compliance_officer)
    for path in ["/compliance/audit/", "/compliance/queue/", f"/compliance/queue/{application.pk}/"]:
        officer.goto(live_server.url + path)
        assert violations(officer) == [], path


def test_equity_pages_have_no_serious_accessibility_violations(live_server: Any, signed_in: Any, cast: Any) -> None:
    from companies.models import Membership
    from tests.equity.lumen import lumen_after_seed

    lumen = lumen_after_seed(Membership.objects.get(company=cast.company, user=cast.owner))
    owner = signed_in(cast.owner)
    for path in [f"{lumen.base}/?as_of=2026-06-01", f"{lumen.base}/ledger/", f"{lumen.base}/ledger/?kind=option_grant",
                 f"{lumen.base}/stakeholders/{lumen.mei.pk}/", f"{lumen.base}/stakeholders/{lumen.ada.pk}/",
                 f"{lumen.base}/stakeholders/{lumen.hannah.pk}/", f"{lumen.base}/waterfall/",
                 f"{lumen.base}/waterfall/?exit_value=1500000"]:
        owner.goto(live_server.url + path)
        assert violations(owner) == [], path
