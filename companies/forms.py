from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from companies.choices import Role
from companies.models import Company


class CompanyForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https",
                             widget=forms.URLInput(attrs={"placeholder": "https://"}))
    founder_title = forms.CharField(
        label=_("Your title"), max_length=100, required=False, help_text=_("For example, CEO.")
    )

    class Meta:
        model = Company
        fields = ["legal_name", "jurisdiction", "incorporation_date", "website", "pitch", "logo"]
        widgets = {
            "incorporation_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "pitch": forms.Textarea(attrs={"rows": 3, "maxlength": 280}),
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
            "legal_name": forms.TextInput(attrs={"placeholder": _("Lumen Labs, Inc.")}),
        }

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["founder_title"]

    def clean_incorporation_date(self) -> date | None:
        value: date | None = self.cleaned_data.get("incorporation_date")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("The incorporation date cannot be in the future."))
        return value

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        limit = settings.COMPANY_LOGO_MAX_BYTES
        if logo and hasattr(logo, "size") and logo.size > limit:
            raise forms.ValidationError(_("The logo must be at most %(size)s.") % {"size": filesizeformat(limit)})
        return logo


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.ADMIN)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
