from django.db import models
from django.utils.translation import gettext_lazy as _


class KycState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval", _("Awaiting second approval")
    NEEDS_INFORMATION = "needs_information", _("Needs information")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# States in which the queue waits on compliance staff, and in which the applicant may edit.
OPEN_FOR_REVIEW = {KycState.SUBMITTED, KycState.RESUBMITTED, KycState.IN_REVIEW, KycState.AWAITING_SECOND_APPROVAL}
EDITABLE_BY_APPLICANT = {KycState.DRAFT, KycState.NEEDS_INFORMATION}


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class DocumentType(models.TextChoices):
    PASSPORT = "passport", _("Passport")
    NATIONAL_ID = "national_id", _("National identity card")
    DRIVING_LICENCE = "driving_licence", _("Driving licence")


class DocumentKind(models.TextChoices):
    IDENTITY = "identity", _("Identity document")
    SELFIE = "selfie", _("Selfie")
    PROOF_OF_ADDRESS = "proof_of_address", _("Proof of address")


class Accreditation(models.TextChoices):
    NOT_ACCREDITED = "not_accredited", _("Not accredited")
    SELF_CERTIFIED = "self_certified", _("Accredited (self-certified)")
    VERIFIED = "verified", _("Accredited (verified)")


class HitStatus(models.TextChoices):
    OPEN = "open", _("To review")
    CLEARED = "cleared", _("Cleared (not the same person)")
    CONFIRMED = "confirmed", _("Confirmed")


class ScreeningList(models.TextChoices):
    SANCTIONS = "sanctions", _("Sanctions (OFAC SDN)")
    PEP = "pep", _("Politically exposed persons")


class Exemption(models.TextChoices):
    REG_CF = "reg_cf", _("Regulation Crowdfunding")
    REG_D_506B = "reg_d_506b", _("Regulation D 506(b)")
    REG_D_506C = "reg_d_506c", _("Regulation D 506(c)")
    REG_S = "reg_s", _("Regulation S")
