"""Sign-up with e-mail verification, log-in with its rate limit, two-factor for staff, profile and API token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from allauth.mfa.utils import decrypt
from django.core import mail
from django.test import Client

from accounts.models import User
from compliance.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "sam@example.com", "full_name": "Sam Rivera", "password1": "a-long-passphrase-7", "password2": "a-long-passphrase-7"}


def test_sign_up_sends_a_verification_link_that_logs_the_person_in() -> None:
    client = Client()
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(email="sam@example.com")
    assert user.full_name == "Sam Rivera"
    assert not EmailAddress.objects.get(user=user).verified
    # Mandatory verification: not signed in until the link is followed.
    assert client.get("/dashboard/").status_code == 302

    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link is not None
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/dashboard/").status_code == 200
    assert AuditEvent.objects.filter(actor=user, action="user.sign_up").exists()
    assert AuditEvent.objects.filter(actor=user, action="user.confirm_email").exists()


@pytest.mark.parametrize("email", ["not-an-email", "sam@", "@example.com", "sam@@example.com", ""])
def test_sign_up_with_an_invalid_email_shows_the_error_beside_the_field(email: str) -> None:
    response = Client().post("/accounts/signup/", {**SIGNUP, "email": email})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert 'id="id_email_error"' in response.content.decode()
    assert not User.objects.exists()
    assert not mail.outbox


def test_sign_up_with_a_registered_email_is_refused_whatever_its_case() -> None:
    UserFactory(email="sam@example.com")
    response = Client().post("/accounts/signup/", {**SIGNUP, "email": "Sam@Example.com"})
    assert response.status_code == 200
    assert "already registered" in " ".join(response.context["form"].errors["email"])
    assert User.objects.count() == 1


def test_sign_up_with_a_weak_or_mismatched_password_is_refused() -> None:
    weak = Client().post("/accounts/signup/", {**SIGNUP, "password1": "12345", "password2": "12345"})
    assert weak.status_code == 200
    assert weak.context["form"].errors
    mismatch = Client().post("/accounts/signup/", {**SIGNUP, "password2": "something-else-99"})
    assert mismatch.status_code == 200
    assert mismatch.context["form"].errors
    assert not User.objects.exists()


def test_log_in_and_log_out() -> None:
    user = UserFactory(email="mei@lumen.example")
    client = Client()
    response = client.post("/accounts/login/", {"login": "MEI@lumen.example", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/dashboard/").status_code == 302
    assert list(AuditEvent.objects.filter(actor=user).values_list("action", flat=True).order_by("pk")) == [
        "user.log_in", "user.log_out"]


def test_repeated_failed_log_ins_are_rate_limited() -> None:
    UserFactory(email="mei@lumen.example")
    client = Client()
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": "mei@lumen.example", "password": "wrong-password"})
        assert "Too many failed login attempts" not in response.content.decode()
    blocked = client.post("/accounts/login/", {"login": "mei@lumen.example", "password": PASSWORD})
    # Even the right password is refused while the limit holds, and the form says why.
    assert blocked.status_code == 200
    assert "Too many failed login attempts" in blocked.content.decode()
    assert client.get("/dashboard/").status_code == 302


def _current_code(user: User) -> str:
    secret = decrypt(Authenticator.objects.get(user=user, type="totp").data["secret"])
    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]  # the current period, whatever the tolerance
    return format_hotp_value(hotp_value(secret, counter))


def test_a_compliance_officer_logs_in_with_a_second_factor() -> None:
    officer = UserFactory(email="ana@tranche.example", is_compliance_officer=True, two_factor=True)
    client = Client()
    response = client.post("/accounts/login/", {"login": officer.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/compliance/audit/").status_code == 302  # not in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors
    assert client.post("/accounts/2fa/authenticate/", {"code": _current_code(officer)}).status_code == 302
    assert client.get("/compliance/audit/").status_code == 200


def test_totp_secrets_are_encrypted_at_rest() -> None:
    officer = UserFactory(is_compliance_officer=True, two_factor=True)
    stored = Authenticator.objects.get(user=officer).data["secret"]
    assert len(decrypt(stored)) == 32
    assert decrypt(stored) not in stored


def test_profile_changes_are_saved_and_audited(client_for: Any) -> None:
    user = UserFactory(full_name="Old Name")
    response = client_for(user).post("/profile/", {"full_name": "Sam Rivera", "preferred_language": "zh-hans"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.preferred_language) == ("Sam Rivera", "zh-hans")
    event = AuditEvent.objects.get(action="user.update_profile")
    assert event.changes["full_name"] == ["Old Name", "Sam Rivera"]


def test_an_api_token_authenticates_and_revoking_it_stops_it(client_for: Any) -> None:
    user = UserFactory()
    client = client_for(user)
    client.post("/profile/api-token/", {"action": "rotate"})
    page = client.get("/profile/").content.decode()
    key = re.search(r'<code class="user-select-all">(\w+)</code>', page)
    assert key is not None
    api = Client(HTTP_AUTHORIZATION=f"Token {key.group(1)}")
    assert api.get("/api/v1/me/").json()["email"] == user.email
    client.post("/profile/api-token/", {"action": "revoke"})
    assert api.get("/api/v1/me/").status_code == 401


def test_the_language_switch_serves_simplified_chinese() -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "股权" in page  # "cap table" and friends are translated


def test_a_saved_language_is_used_on_every_page_until_the_switch_says_otherwise(client_for: Any) -> None:
    user = UserFactory(preferred_language="zh-hans")
    client = client_for(user)
    assert '<html lang="zh-hans">' in client.get("/dashboard/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/dashboard/").content.decode()
