"""Journey 1's opening, in a real browser: a founder signs up, creates the company, invites the co-founder,
who joins; the public page shows the company."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from companies.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-passphrase-7"


def _link(pattern: str) -> str:
    found = re.search(pattern, mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(0)


def _sign_up(page: Any, base: str, email: str, name: str, shot: Any, step: str) -> None:
    page.fill("#id_email", email)
    page.fill("#id_full_name", name)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    shot(page, f"{step}-sign-up")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/confirm-email/")
    confirm = _link(r"http://\S+/accounts/confirm-email/\S+/")
    page.goto(confirm)
    page.get_by_role("button", name="Confirm").click()


def test_founder_signs_up_creates_a_company_and_invites_a_cofounder(
    live_server: Any, browser: Any, shot: Any, settings: Any
) -> None:
    base = settings.SITE_URL = live_server.url  # links in e-mails point at this server
    mei = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()

    mei.goto(base + "/")
    shot(mei, "home")
    mei.get_by_role("link", name="Sign up").first.click()
    _sign_up(mei, base, "mei@lumen.example", "Mei Chen", shot, "mei")
    mei.wait_for_url("**/dashboard/")
    assert mei.get_by_text("You are not part of a company yet").is_visible()
    shot(mei, "dashboard-empty")

    # Creating a company: a mistake first, shown beside its field, then the real thing.
    mei.get_by_role("link", name="Create a company").first.click()
    mei.fill("#id_legal_name", "")
    mei.get_by_role("button", name="Create company").click()
    assert mei.locator("#id_legal_name_error").is_visible()
    shot(mei, "company-form-error")
    mei.fill("#id_legal_name", "Lumen Labs, Inc.")
    mei.select_option("#id_jurisdiction", "US-DE")
    mei.fill("#id_incorporation_date", "2025-03-03")
    mei.fill("#id_website", "https://lumen.example")
    mei.fill("#id_pitch", "Photonic chips that cut the energy of AI inference tenfold.")
    mei.fill("#id_founder_title", "CEO")
    mei.get_by_role("button", name="Create company").click()
    mei.wait_for_url("**/companies/lumen-labs-inc/team/")
    assert mei.get_by_text("Lumen Labs, Inc. is set up").is_visible()

    # Inviting the co-founder: a bad address is refused, then the right one goes out.
    mei.fill("#id_email", "leo@")
    mei.get_by_role("button", name="Send invitation").click()
    assert mei.locator("#id_email_error").is_visible()
    mei.fill("#id_email", "leo@lumen.example")
    mei.select_option("#id_role", "admin")
    mei.get_by_role("button", name="Send invitation").click()
    assert mei.get_by_text("Invitation sent to leo@lumen.example").is_visible()
    assert mei.locator("#invitations").get_by_text("Pending").is_visible()
    shot(mei, "team-invited")
    invitation_link = _link(r"http://\S+/invitations/\S+/")

    # Leo follows the link, creates his account, and joins.
    leo = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    leo.goto(invitation_link)
    assert leo.get_by_text("Join Lumen Labs, Inc. on Tranche").is_visible()
    shot(leo, "leo-invitation")
    leo.get_by_role("link", name="Create an account").click()
    _sign_up(leo, base, "leo@lumen.example", "Leo Park", shot, "leo")
    leo.goto(invitation_link)
    leo.get_by_role("button", name="Accept invitation").click()
    leo.wait_for_url("**/companies/lumen-labs-inc/")
    assert leo.get_by_text("You joined Lumen Labs, Inc. as Admin").is_visible()
    shot(leo, "leo-joined")
    assert Membership.objects.get(user__email="leo@lumen.example").role == "admin"

    # The same link cannot be used twice.
    leo.goto(invitation_link)
    assert leo.get_by_text("already been used").is_visible()

    # Anyone can see the public page.
    visitor = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    visitor.goto(base + "/c/lumen-labs-inc/")
    assert visitor.get_by_role("heading", name="Lumen Labs, Inc.").is_visible()
    assert visitor.get_by_text("Photonic chips that cut the energy").is_visible()
    assert visitor.get_by_text("Mei Chen").is_visible()
    assert visitor.get_by_text("leo@lumen.example").count() == 0  # no e-mail address on a public page
    shot(visitor, "public-page")

    # And on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(base + "/c/lumen-labs-inc/")
    shot(phone, "public-page-phone")
