"""Who may join an offering: each exemption, jurisdictions, and KYC state."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from compliance import eligibility as e
from compliance.limits import InvestmentLimit

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def investor(**overrides):
    values = {
        "approved": True,
        "approval_expires_at": NOW + timedelta(days=200),
        "country_of_residence": "FR",
        "us_person": False,
        "accreditation": e.NOT_ACCREDITED,
    }
    values.update(overrides)
    return e.Investor(**values)


def decide(who, exemption=e.REG_CF, **offering):
    return e.offering_eligibility(investor=who, offering=e.Offering(exemption=exemption, **offering), now=NOW)


@pytest.mark.parametrize(
    ("exemption", "accreditation", "expected"),
    [
        (e.REG_D_506C, e.VERIFIED, e.ELIGIBLE),
        (e.REG_D_506C, e.SELF_CERTIFIED, e.VERIFIED_ACCREDITATION_REQUIRED),
        (e.REG_D_506C, e.NOT_ACCREDITED, e.VERIFIED_ACCREDITATION_REQUIRED),
        (e.REG_D_506B, e.VERIFIED, e.ELIGIBLE),
        (e.REG_D_506B, e.SELF_CERTIFIED, e.ELIGIBLE),
        (e.REG_D_506B, e.NOT_ACCREDITED, e.ACCREDITATION_REQUIRED),  # sophisticated or not: see the module
        (e.REG_CF, e.NOT_ACCREDITED, e.ELIGIBLE),
        (e.REG_CF, e.VERIFIED, e.ELIGIBLE),
        (e.REG_S, e.NOT_ACCREDITED, e.ELIGIBLE),
    ],
)
def test_accreditation_per_exemption(exemption, accreditation, expected):
    decision = decide(investor(accreditation=accreditation), exemption)
    assert decision.code == expected
    assert decision.eligible is (expected == e.ELIGIBLE)
    assert decision.message == e.MESSAGES[expected]


def test_reg_s_refuses_us_persons_wherever_they_live():
    assert decide(investor(us_person=True, country_of_residence="FR"), e.REG_S).code == e.US_PERSON_EXCLUDED
    assert decide(investor(us_person=False, country_of_residence="US"), e.REG_S).code == e.US_PERSON_EXCLUDED
    assert decide(investor(us_person=False, country_of_residence="DE"), e.REG_S)


@pytest.mark.parametrize("exemption", sorted(e.EXEMPTIONS))
def test_an_excluded_jurisdiction_refuses_its_residents(exemption):
    who = investor(country_of_residence="CN", accreditation=e.VERIFIED)
    assert decide(who, exemption, closed_to=frozenset({"CN", "KP"})).code == e.JURISDICTION_EXCLUDED
    assert decide(investor(accreditation=e.VERIFIED), exemption, closed_to=frozenset({"CN"})).eligible


def test_codes_are_compared_without_regard_to_case_or_spaces():
    assert decide(investor(country_of_residence="cn"), closed_to=frozenset({" Cn "})).code == e.JURISDICTION_EXCLUDED


def test_a_us_state_can_be_closed_without_closing_the_country():
    closed = frozenset({"US-NY"})
    assert decide(investor(country_of_residence="US", us_person=True, us_state="NY"), closed_to=closed).code == (
        e.JURISDICTION_EXCLUDED
    )
    assert decide(investor(country_of_residence="US", us_person=True, us_state="US-NY"), closed_to=closed).code == (
        e.JURISDICTION_EXCLUDED
    )
    assert decide(investor(country_of_residence="US", us_person=True, us_state="CA"), closed_to=closed).eligible


def test_open_to_lists_where_the_offering_is_available():
    open_to = frozenset({"FR", "DE", "US-CA"})
    assert decide(investor(country_of_residence="DE"), open_to=open_to).eligible
    assert decide(investor(country_of_residence="IT"), open_to=open_to).code == e.JURISDICTION_NOT_OPEN
    assert decide(investor(country_of_residence="US", us_person=True, us_state="CA"), open_to=open_to).eligible
    assert decide(investor(country_of_residence="US", us_person=True, us_state="TX"), open_to=open_to).code == (
        e.JURISDICTION_NOT_OPEN
    )
    assert decide(investor(country_of_residence="US", us_person=True), open_to=frozenset({"US"})).eligible


def test_missing_country_is_refused():
    assert decide(investor(country_of_residence="")).code == e.COUNTRY_UNKNOWN


@pytest.mark.parametrize("exemption", sorted(e.EXEMPTIONS))
def test_unapproved_or_expired_kyc_is_never_eligible(exemption):
    verified = {"accreditation": e.VERIFIED}
    assert decide(investor(approved=False, **verified), exemption).code == e.KYC_NOT_APPROVED
    assert decide(investor(approval_expires_at=NOW, **verified), exemption).code == e.KYC_EXPIRED
    assert decide(investor(approval_expires_at=None, **verified), exemption).code == e.KYC_EXPIRED
    assert decide(investor(approval_expires_at=NOW + timedelta(seconds=1), **verified), exemption).eligible


def test_reg_cf_within_the_limit():
    offering = e.Offering(exemption=e.REG_CF)
    left = InvestmentLimit(limit=Decimal("5250.00"), used=Decimal("5000.00"), remaining=Decimal("250.00"), rule="x")
    spent = InvestmentLimit(limit=Decimal("5250.00"), used=Decimal("5250.00"), remaining=Decimal("0.00"), rule="x")
    unlimited = InvestmentLimit(limit=None, used=Decimal("9000.00"), remaining=None, rule="accredited")
    check = e.offering_eligibility
    who = investor()
    assert check(investor=who, offering=offering, now=NOW, limit=left)
    assert check(investor=who, offering=offering, now=NOW, limit=left, amount=Decimal("250.00"))
    assert check(investor=who, offering=offering, now=NOW, limit=left, amount=Decimal("250.01")).code == (
        e.REG_CF_LIMIT_EXCEEDED
    )
    assert check(investor=who, offering=offering, now=NOW, limit=spent).code == e.REG_CF_LIMIT_REACHED
    assert check(investor=who, offering=offering, now=NOW, limit=unlimited, amount=Decimal("1000000"))
    # The Reg CF limit says nothing about a Reg D offering.
    reg_d = e.Offering(exemption=e.REG_D_506B)
    assert check(investor=investor(accreditation=e.SELF_CERTIFIED), offering=reg_d, now=NOW, limit=spent)


def test_unknown_exemption_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown exemption"):
        e.Offering(exemption="reg_a")
