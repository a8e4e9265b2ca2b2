from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compliance.choices import DocumentKind, HitStatus
from compliance.models import KycApplication

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class IdentityForm(forms.ModelForm):
    class Meta:
        model = KycApplication
        fields = ["legal_name", "date_of_birth", "country_of_residence", "address_line1", "address_line2", "city",
                  "region", "postal_code", "tax_residency"]
        widgets = {"date_of_birth": DATE}
        help_texts = {"legal_name": _("As written on your identity document.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("legal_name", "date_of_birth", "country_of_residence", "address_line1", "city", "postal_code",
                     "tax_residency"):
            self.fields[name].required = True


class DocumentForm(forms.ModelForm):
    identity_file = forms.FileField(label=_("Scan or photo of the document"), required=False,
                                    help_text=_("PDF, JPEG, PNG or WebP, at most 10 MB."))
    second_kind = forms.ChoiceField(label=_("And one of"), choices=[
        (DocumentKind.PROOF_OF_ADDRESS, _("Proof of address (a bill or bank statement from the last 3 months)")),
        (DocumentKind.SELFIE, _("A selfie holding the document")),
    ], widget=forms.RadioSelect(attrs={"class": "form-check-input"}), initial=DocumentKind.PROOF_OF_ADDRESS)
    second_file = forms.FileField(label=_("Its file"), required=False)

    class Meta:
        model = KycApplication
        fields = ["document_type", "document_number", "document_expiry"]
        widgets = {"document_expiry": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("document_type", "document_number", "document_expiry"):
            self.fields[name].required = True


class ProfileForm(forms.ModelForm):
    class Meta:
        model = KycApplication
        fields = ["accreditation", "annual_income", "net_worth", "invested_elsewhere_12m"]
        help_texts = {
            "annual_income": _("Used for the Regulation Crowdfunding investment limit. If you file jointly, you may "
                               "use joint income."),
            "net_worth": _("Excluding the value of your primary residence."),
            "invested_elsewhere_12m": _("Amounts invested in Regulation Crowdfunding offerings on other platforms "
                                        "in the last 12 months: they count toward your limit."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("annual_income", "net_worth"):
            self.fields[name].required = True
            self.fields[name].widget.attrs["min"] = "0"


class ApplicantMessageForm(forms.Form):
    body = forms.CharField(label=_("Message to the compliance team"), widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))
    internal = forms.BooleanField(label=_("Internal note (the applicant does not see it)"), required=False,
                                  initial=True)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason (sent to the applicant)"), widget=forms.Textarea(attrs={"rows": 3}))
    allow_resubmission = forms.BooleanField(label=_("Allow the applicant to correct and resubmit"), required=False,
                                            initial=True)


class RequestInformationForm(forms.Form):
    message = forms.CharField(label=_("What is missing (sent to the applicant)"),
                              widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class HitResolveForm(forms.Form):
    status = forms.ChoiceField(label=_("Decision"), choices=[(HitStatus.CLEARED, HitStatus.CLEARED.label),
                                                             (HitStatus.CONFIRMED, HitStatus.CONFIRMED.label)])
    note = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(is_active=True, is_compliance_officer=True).order_by(  # type: ignore[attr-defined]
            "full_name")
