"""Who may join an offering: the offering's exemption and jurisdictions against the investor's approved KYC data.

Pure and typed: no Django import. The answer is a reason code plus an English message; the web layer translates
by code at the edge. The string values of exemptions and accreditation match `compliance.choices`.

Decisions made here (each has a test):
- No approved, unexpired KYC, no investment, whatever the exemption.
- Reg D 506(c): only accreditation the platform verified (Rule 506(c)(2)(ii) "reasonable steps to verify").
- Reg D 506(b): accredited investors, self-certified accepted. Rule 506(b)(2)(ii) would allow up to 35
  non-accredited but sophisticated purchasers, but only with the disclosure of Rule 502(b)(2) (audited financial
  statements and more) delivered to them, which this platform does not produce; so non-accredited investors,
  sophisticated or not, are refused ("accreditation_required"). Issuers who need that route handle it off-platform.
- Reg S: no US persons (Rule 902(k)); a resident of the United States is treated as a US person whatever the
  flag says, because residence is what the KYC verified.
- Regulation Crowdfunding: anyone approved, within the investment limit when the caller passes it.
- Jurisdictions: ISO 3166-1 alpha-2 country codes ("FR"), or ISO 3166-2 codes for US states ("US-NY"). A country
  listed as closed excludes all of its residents; a listed US state excludes that state's residents. When the
  offering lists jurisdictions it is open to, the investor's country (or, for "US-XX" entries, state) must be one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from compliance.limits import InvestmentLimit

REG_CF = "reg_cf"
REG_D_506B = "reg_d_506b"
REG_D_506C = "reg_d_506c"
REG_S = "reg_s"
EXEMPTIONS = frozenset({REG_CF, REG_D_506B, REG_D_506C, REG_S})

NOT_ACCREDITED = "not_accredited"
SELF_CERTIFIED = "self_certified"
VERIFIED = "verified"

# Reason codes: stable identifiers the web layer maps to translated messages.
ELIGIBLE = "eligible"
KYC_NOT_APPROVED = "kyc_not_approved"
KYC_EXPIRED = "kyc_expired"
COUNTRY_UNKNOWN = "country_unknown"
JURISDICTION_EXCLUDED = "jurisdiction_excluded"
JURISDICTION_NOT_OPEN = "jurisdiction_not_open"
VERIFIED_ACCREDITATION_REQUIRED = "verified_accreditation_required"
ACCREDITATION_REQUIRED = "accreditation_required"
US_PERSON_EXCLUDED = "us_person_excluded"
REG_CF_LIMIT_REACHED = "reg_cf_limit_reached"
REG_CF_LIMIT_EXCEEDED = "reg_cf_limit_exceeded"

MESSAGES: dict[str, str] = {
    ELIGIBLE: "You may invest in this offering.",
    KYC_NOT_APPROVED: "Your identity verification must be approved before you can invest.",
    KYC_EXPIRED: "Your identity verification has expired; please renew it before investing.",
    COUNTRY_UNKNOWN: "Your country of residence is missing from your verified details.",
    JURISDICTION_EXCLUDED: "This offering is not available to residents of your jurisdiction.",
    JURISDICTION_NOT_OPEN: "This offering is only open to residents of certain jurisdictions, not yours.",
    VERIFIED_ACCREDITATION_REQUIRED: (
        "This offering (Rule 506(c)) is open only to accredited investors whose status has been verified."
    ),
    ACCREDITATION_REQUIRED: "This offering (Rule 506(b)) is open only to accredited investors.",
    US_PERSON_EXCLUDED: "This offering (Regulation S) is not open to US persons.",
    REG_CF_LIMIT_REACHED: "You have reached your Regulation Crowdfunding investment limit for the last 12 months.",
    REG_CF_LIMIT_EXCEEDED: "This amount is above what your Regulation Crowdfunding investment limit leaves you.",
}


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.strip().upper() for value in values if value.strip())


@dataclass(frozen=True)
class Offering:
    """What eligibility needs of an equity round or a token sale."""

    exemption: str
    open_to: frozenset[str] = field(default_factory=frozenset)  # empty: open everywhere not closed
    closed_to: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.exemption not in EXEMPTIONS:
            raise ValueError(f"unknown exemption {self.exemption!r}")
        object.__setattr__(self, "open_to", _codes(self.open_to))
        object.__setattr__(self, "closed_to", _codes(self.closed_to))


@dataclass(frozen=True)
class Investor:
    """The investor's KYC data as approved: the caller passes `approved=False` for any other state."""

    approved: bool
    approval_expires_at: datetime | None
    country_of_residence: str  # ISO 3166-1 alpha-2
    us_person: bool
    accreditation: str = NOT_ACCREDITED
    us_state: str = ""  # "NY" or "US-NY"; only meaningful for US residents

    def jurisdictions(self) -> frozenset[str]:
        """The codes that describe where the investor lives: the country, and the state for US residents."""
        country = self.country_of_residence.strip().upper()
        codes = {country} if country else set()
        state = self.us_state.strip().upper()
        if country == "US" and state:
            codes.add(state if state.startswith("US-") else f"US-{state}")
        return frozenset(codes)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    code: str
    message: str

    def __bool__(self) -> bool:
        return self.eligible


def _decide(code: str) -> Eligibility:
    return Eligibility(eligible=code == ELIGIBLE, code=code, message=MESSAGES[code])


def _jurisdiction_code(investor: Investor, offering: Offering) -> str | None:
    where = investor.jurisdictions()
    if not where:
        return COUNTRY_UNKNOWN
    if where & offering.closed_to:
        return JURISDICTION_EXCLUDED
    if offering.open_to:
        country = investor.country_of_residence.strip().upper()
        states_listed = {code for code in offering.open_to if code.startswith(f"{country}-")}
        if country in offering.open_to:
            return None
        # The offering lists some states of the investor's country: the investor must live in one of them.
        if not (states_listed and where & states_listed):
            return JURISDICTION_NOT_OPEN
    return None


def offering_eligibility(
    *,
    investor: Investor,
    offering: Offering,
    now: datetime,
    limit: InvestmentLimit | None = None,
    amount: Decimal | None = None,
) -> Eligibility:
    """Whether the investor may join the offering now, and if not, the first reason why.

    For Regulation Crowdfunding pass the investor's `limit` (from `compliance.limits.reg_cf_limit`) and, when
    checking a specific commitment, its `amount`.
    """
    if not investor.approved:
        return _decide(KYC_NOT_APPROVED)
    if investor.approval_expires_at is None or investor.approval_expires_at <= now:
        return _decide(KYC_EXPIRED)
    refusal = _jurisdiction_code(investor, offering)
    if refusal is not None:
        return _decide(refusal)
    if offering.exemption == REG_D_506C and investor.accreditation != VERIFIED:
        return _decide(VERIFIED_ACCREDITATION_REQUIRED)
    if offering.exemption == REG_D_506B and investor.accreditation not in (VERIFIED, SELF_CERTIFIED):
        return _decide(ACCREDITATION_REQUIRED)
    if offering.exemption == REG_S and (investor.us_person or investor.country_of_residence.strip().upper() == "US"):
        return _decide(US_PERSON_EXCLUDED)
    if offering.exemption == REG_CF and limit is not None and limit.remaining is not None:
        if limit.remaining <= 0:
            return _decide(REG_CF_LIMIT_REACHED)
        if amount is not None and amount > limit.remaining:
            return _decide(REG_CF_LIMIT_EXCEEDED)
    return _decide(ELIGIBLE)
