"""Forms for recording the cap table in the browser; each maps to one equity service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from companies.models import Company
from compliance.choices import Exemption
from equity.choices import ClassKind, Relationship, RoundKind, SafeInstrument, StakeholderKind
from equity.models import EquityPlan, ShareClass, Stakeholder

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CompanyScopedForm(forms.Form):
    """Choice fields list only this company's classes, stakeholders and plans (never another company's)."""

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = field.queryset.filter(company=company)  # type: ignore[union-attr]
            if name == "effective_date":
                field.initial = timezone.localdate()


class ShareClassForm(CompanyScopedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=ClassKind.choices)
    authorized_shares = forms.IntegerField(label=_("Authorized shares"), min_value=1)
    par_value = forms.DecimalField(label=_("Par value"), min_value=0, decimal_places=10, initial=0)
    original_issue_price = forms.DecimalField(label=_("Original issue price"), min_value=0, decimal_places=10,
                                              initial=0)
    liquidation_multiple = forms.DecimalField(label=_("Liquidation preference (×)"), min_value=0, initial=1,
                                              decimal_places=2)
    participating = forms.BooleanField(label=_("Participating"), required=False)
    seniority = forms.IntegerField(label=_("Seniority"), min_value=0, initial=0,
                                   help_text=_("Higher is paid first; equal seniority is pari passu."))


class StakeholderForm(CompanyScopedForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=StakeholderKind.choices)
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
    email = forms.EmailField(label=_("E-mail"), required=False)


class StockIssueForm(CompanyScopedForm):
    stakeholder = forms.ModelChoiceField(label=_("Stakeholder"), queryset=Stakeholder.objects.all())
    share_class = forms.ModelChoiceField(label=_("Share class"), queryset=ShareClass.objects.all())
    quantity = forms.IntegerField(label=_("Shares"), min_value=1)
    price_per_share = forms.DecimalField(label=_("Price per share"), min_value=0, decimal_places=10, required=False)
    effective_date = forms.DateField(label=_("Date"), widget=DATE)
    vesting_months = forms.IntegerField(label=_("Vesting (months)"), min_value=1, required=False,
                                        help_text=_("Leave empty for fully vested shares."))
    vesting_cliff_months = forms.IntegerField(label=_("Cliff (months)"), min_value=0, required=False)


class PlanForm(CompanyScopedForm):
    name = forms.CharField(label=_("Name"), max_length=100, initial=_("Equity Incentive Plan"))
    share_class = forms.ModelChoiceField(label=_("Share class"), queryset=ShareClass.objects.all())
    reserved = forms.IntegerField(label=_("Shares reserved"), min_value=1)
    effective_date = forms.DateField(label=_("Date"), widget=DATE)


class OptionGrantForm(CompanyScopedForm):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=EquityPlan.objects.all())
    stakeholder = forms.ModelChoiceField(label=_("Stakeholder"), queryset=Stakeholder.objects.all())
    quantity = forms.IntegerField(label=_("Options"), min_value=1)
    exercise_price = forms.DecimalField(label=_("Exercise price"), min_value=0, decimal_places=10)
    effective_date = forms.DateField(label=_("Grant date"), widget=DATE)
    vesting_months = forms.IntegerField(label=_("Vesting (months)"), min_value=1, initial=48)
    vesting_cliff_months = forms.IntegerField(label=_("Cliff (months)"), min_value=0, initial=12)


class ConvertibleForm(CompanyScopedForm):
    stakeholder = forms.ModelChoiceField(label=_("Investor"), queryset=Stakeholder.objects.all())
    instrument = forms.ChoiceField(label=_("Instrument"), choices=[
        ("post_money_safe", _("Post-money SAFE")), ("pre_money_safe", _("Pre-money SAFE")),
        ("convertible_note", _("Convertible note"))])
    amount = forms.DecimalField(label=_("Amount (USD)"), min_value=0, decimal_places=2)
    valuation_cap = forms.DecimalField(label=_("Valuation cap (USD)"), min_value=0, decimal_places=2, required=False)
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_value=1, decimal_places=4, required=False,
                                  help_text=_("As a fraction: 0.20 for 20%."))
    interest_rate = forms.DecimalField(label=_("Interest rate (notes)"), min_value=0, decimal_places=4, required=False)
    mfn = forms.BooleanField(label=_("Most favoured nation"), required=False)
    pro_rata = forms.BooleanField(label=_("Pro rata right"), required=False)
    effective_date = forms.DateField(label=_("Date"), widget=DATE)


class RoundModelForm(forms.Form):
    """A priced round to model against today's cap table: nothing is saved."""

    series = forms.CharField(label=_("New series"), max_length=100, initial="Series Seed Preferred")
    pre_money = forms.DecimalField(label=_("Pre-money valuation (USD)"), min_value=1, decimal_places=2,
                                   initial=8_000_000)
    new_money = forms.DecimalField(label=_("New money (USD)"), min_value=1, decimal_places=2, initial=2_000_000)
    pool_target = forms.DecimalField(
        label=_("Available pool after the round, in percent of post-money fully diluted shares"), min_value=0, max_value=99,
        decimal_places=2, required=False, initial=10,
        help_text=_("Included in the pre-money (the option pool shuffle). Leave empty for no top-up."))
    closing_date = forms.DateField(label=_("Closing date"), widget=DATE, required=False)


# --- rounds: the wizard's steps, each a slice of the round's terms ----------------------------------------------

def money_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=0, decimal_places=2, max_digits=20, **kwargs)


class RoundBasicsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, initial=_("Seed"))
    kind = forms.ChoiceField(label=_("Kind"), choices=RoundKind.choices, widget=forms.RadioSelect,
                             initial=RoundKind.PRICED)
    target_amount = money_field(_("Target (USD)"))
    minimum_amount = money_field(_("Minimum to close (USD)"),
                                        help_text=_("Below this the round cannot close."))
    maximum_amount = money_field(_("Maximum (USD)"),
                                        help_text=_("Investments stop when it is reached."))
    minimum_ticket = money_field(_("Minimum investment (USD)"), initial=0)


class RoundPricedTermsForm(forms.Form):
    pre_money_valuation = money_field(_("Pre-money valuation (USD)"))
    pool_target_percent = forms.DecimalField(
        label=_("Available pool after the round (percent of post-money fully diluted)"), min_value=0, max_value=99,
        decimal_places=2, required=False,
        help_text=_("Included in the pre-money (the option pool shuffle). Leave empty for no top-up."))
    pool_new_shares = forms.IntegerField(label=_("Or: new pool shares"), min_value=1, required=False)
    series_name = forms.CharField(label=_("New series"), max_length=100, initial="Series Seed Preferred",
                                  help_text=_("A class of that name without shares yet is used as the series."))
    liquidation_multiple = forms.DecimalField(label=_("Liquidation preference (×)"), min_value=0, decimal_places=2,
                                              initial=1)
    participating = forms.BooleanField(label=_("Participating"), required=False)
    participation_cap = forms.DecimalField(label=_("Participation cap (×)"), min_value=0, decimal_places=2,
                                           required=False)


class RoundSafeTermsForm(forms.Form):
    instrument = forms.ChoiceField(label=_("Instrument"), choices=SafeInstrument.choices,
                                   initial=SafeInstrument.POST_MONEY_SAFE)
    valuation_cap = money_field(_("Valuation cap (USD)"), required=False)
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_value=1, decimal_places=4, required=False,
                                  help_text=_("As a fraction: 0.20 for 20%."))
    mfn = forms.BooleanField(label=_("Most favoured nation"), required=False)
    pro_rata = forms.BooleanField(label=_("Pro rata right"), required=False)


class RoundOfferingForm(forms.Form):
    exemption = forms.ChoiceField(label=_("Exemption"), choices=Exemption.choices, widget=forms.RadioSelect)
    jurisdictions = forms.MultipleChoiceField(
        label=_("Open to residents of"), choices=lambda: list(countries), widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."))
    opens_on = forms.DateField(label=_("Opens on"), widget=DATE, required=False,
                               help_text=_("Empty: the day you open it."))
    closes_on = forms.DateField(label=_("Deadline"), widget=DATE)


ROUND_STEPS: dict[str, type[forms.Form]] = {
    "basics": RoundBasicsForm, "priced-terms": RoundPricedTermsForm, "safe-terms": RoundSafeTermsForm,
    "offering": RoundOfferingForm,
}


class InvestmentForm(CompanyScopedForm):
    stakeholder = forms.ModelChoiceField(label=_("Investor on the cap table"), queryset=Stakeholder.objects.all(),
                                         required=False)
    new_investor = forms.CharField(label=_("Or a new investor"), max_length=200, required=False,
                                   help_text=_("Added to the cap table as a stakeholder."))
    amount = forms.DecimalField(label=_("Amount received (USD)"), min_value=Decimal("0.01"), decimal_places=2,
                                max_digits=20)
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    reference = forms.CharField(label=_("Wire reference"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("stakeholder")) == bool(data.get("new_investor", "").strip()):
            raise forms.ValidationError(_("Choose an investor on the cap table or name a new one."))
        return data
