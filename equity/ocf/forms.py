from django import forms
from django.utils.translation import gettext_lazy as _

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class OcfImportForm(forms.Form):
    package = forms.FileField(
        label=_("OCF package"),
        help_text=_("A .zip of Open Cap Format files with its Manifest.ocf.json, as Tranche and other cap table "
                    "tools export it."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_package(self) -> object:
        package = self.cleaned_data["package"]
        if package.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("An OCF package may be up to 20 MB."))
        return package
