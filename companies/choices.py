from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's role in a company. Owners manage the team; admins run the company's raises; viewers read."""

    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    VIEWER = "viewer", _("Viewer")


# Who may do what, in one place. Views, the API and templates ask these, never the role names.
CAN_EDIT = {Role.OWNER, Role.ADMIN}
CAN_INVITE = {Role.OWNER, Role.ADMIN}
CAN_MANAGE_OWNERS = {Role.OWNER}


class Jurisdiction(models.TextChoices):
    US_DE = "US-DE", _("Delaware, United States")
    US_CA = "US-CA", _("California, United States")
    US_NY = "US-NY", _("New York, United States")
    US_WY = "US-WY", _("Wyoming, United States")
    US_TX = "US-TX", _("Texas, United States")
    GB = "GB", _("England and Wales")
    IE = "IE", _("Ireland")
    DE = "DE", _("Germany")
    FR = "FR", _("France")
    NL = "NL", _("Netherlands")
    CH = "CH", _("Switzerland")
    SG = "SG", _("Singapore")
    HK = "HK", _("Hong Kong")
    KY = "KY", _("Cayman Islands")
    VG = "VG", _("British Virgin Islands")
    CA = "CA", _("Canada")
    AU = "AU", _("Australia")
    JP = "JP", _("Japan")
    AE = "AE", _("United Arab Emirates")
    EE = "EE", _("Estonia")
