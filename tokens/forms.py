"""The token wizard's forms: what a founder types, in whole units (100,000,000 tokens, 0.001 ETH), turned into the
base units the services and the chain take. A value finer than the asset allows is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from compliance.choices import Exemption
from equity.choices import InvestmentState, RoundKind
from equity.models import Investment, Stakeholder
from tokens.choices import AllocationKind, AllocationMode, EligibilityMode, PaymentAsset, WarrantKind
from tokens.models import Sale, Token
from tokens.units import UnitsError, from_base_units, to_base_units

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
# The shared field template renders each radio's own tag: the Tabler class must be on the widget.
RADIO = forms.RadioSelect(attrs={"class": "form-check-input"})
ADDRESS = forms.TextInput(attrs={"placeholder": "0x…", "spellcheck": "false", "autocomplete": "off",
                                 "class": "font-monospace"})


def amount_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    """An amount in whole units. Its decimals are checked against the asset in `clean` (ETH: 18, a stablecoin:
    its own), so the field itself allows any number of places."""
    return forms.DecimalField(label=label, min_value=0, max_digits=90, **kwargs)


def _times_help() -> str:
    return gettext("In your time zone (%(zone)s).") % {"zone": timezone.get_current_timezone_name()}


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("For example “Lumen”."))
    symbol = forms.CharField(label=_("Symbol"), max_length=11, help_text=_("For example “LUMEN”; at most 11 letters."))
    supply_cap = forms.IntegerField(label=_("Supply cap (whole tokens)"), min_value=1,
                                    help_text=_("No more tokens can ever exist; nobody can raise it."))
    decimals = forms.IntegerField(label=_("Decimals"), min_value=0, max_value=18, initial=18,
                                  help_text=_("18, as nearly every token has, unless you know why not."))
    admin_address = forms.CharField(
        label=_("The company's admin address"), max_length=42, widget=ADDRESS,
        help_text=_("A multisig or hardware wallet the company controls: it holds the token's admin role after "
                    "launch. The platform never keeps it."))
    lockup_end = forms.DateTimeField(label=_("Transfers unlock"), required=False, widget=DATETIME)
    investor_pool = forms.IntegerField(
        label=_("Investor token pool (whole tokens)"), min_value=0, initial=0,
        help_text=_("Reserved for token warrants of the pro-rata kind; 0 if there are none."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lockup_end"].help_text = gettext("Buyers cannot transfer tokens before this. Empty: no lock-up. "
                                                      ) + _times_help()

    @staticmethod
    def initial_from(token: Token) -> dict[str, Any]:
        return {"name": token.name, "symbol": token.symbol, "decimals": token.decimals,
                "supply_cap": token.supply_cap // token.unit, "admin_address": token.admin_address,
                "lockup_end": timezone.localtime(token.lockup_end) if token.lockup_end else None,
                "investor_pool": token.investor_pool // token.unit}

    def service_fields(self) -> dict[str, Any]:
        """The cleaned data as `token_create`/`token_update` take it (base units)."""
        data = dict(self.cleaned_data)
        unit = 10 ** data["decimals"]
        data["supply_cap"] *= unit
        data["investor_pool"] *= unit
        return data


AMOUNT_FIELDS = ("price", "soft_cap", "hard_cap", "min_per_investor", "max_per_investor")


class SaleForm(forms.Form):
    name = forms.CharField(label=_("Name of the sale"), max_length=100, initial=_("Public sale"))
    payment_asset = forms.ChoiceField(label=_("Paid in"), choices=PaymentAsset.choices, widget=RADIO,
                                      initial=PaymentAsset.ETH)
    payment_token_address = forms.CharField(label=_("Stablecoin address"), max_length=42, required=False,
                                            widget=ADDRESS, help_text=_("Only for a sale paid in a stablecoin."))
    payment_symbol = forms.CharField(label=_("Stablecoin symbol"), max_length=11, required=False,
                                     help_text=_("For example USDC."))
    payment_decimals = forms.IntegerField(label=_("Stablecoin decimals"), min_value=0, max_value=36, required=False,
                                          help_text=_("USDC has 6."))
    price = amount_field(_("Price per token"), help_text=_("In whole units of what buyers pay: 0.001 for 0.001 ETH."))
    soft_cap = amount_field(_("Soft cap"), help_text=_("If the sale raises less, every buyer can take their money "
                                                       "back."))
    hard_cap = amount_field(_("Hard cap"), help_text=_("The sale stops taking money here."))
    min_per_investor = amount_field(_("Minimum per investor"), initial=0)
    max_per_investor = amount_field(_("Maximum per investor"))
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME)
    treasury_address = forms.CharField(label=_("Treasury address"), max_length=42, widget=ADDRESS,
                                       help_text=_("Where the proceeds go once the sale is finalized."))
    allocation_mode = forms.ChoiceField(label=_("Allocation"), choices=AllocationMode.choices,
                                        widget=RADIO, initial=AllocationMode.FIRST_COME_FIRST_SERVED)
    eligibility_mode = forms.ChoiceField(
        label=_("How the contract knows who may buy"), choices=EligibilityMode.choices, widget=RADIO,
        initial=EligibilityMode.ALLOWLIST,
        help_text=_("Either way, only approved investors' verified wallets may buy."))
    exemption = forms.ChoiceField(label=_("Exemption"), choices=Exemption.choices, widget=RADIO,
                                  initial=Exemption.REG_D_506C)
    jurisdictions = forms.MultipleChoiceField(
        label=_("Open to residents of"), choices=lambda: list(countries), required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several. None chosen: open wherever the exemption allows."))
    accepts_card = forms.BooleanField(label=_("Also accept card payments"), required=False,
                                      help_text=_("Only for a sale paid in a US dollar stablecoin."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = _times_help()

    @staticmethod
    def initial_from(sale: Sale) -> dict[str, Any]:
        decimals = sale.payment_decimals
        initial: dict[str, Any] = {name: getattr(sale, name) for name in (
            "name", "payment_asset", "payment_token_address", "payment_symbol", "treasury_address",
            "allocation_mode", "eligibility_mode", "exemption", "jurisdictions", "accepts_card")}
        initial.update({name: from_base_units(getattr(sale, name), decimals) for name in AMOUNT_FIELDS})
        initial["payment_decimals"] = decimals if sale.payment_asset == PaymentAsset.ERC20 else None
        initial["starts_at"] = timezone.localtime(sale.starts_at)
        initial["ends_at"] = timezone.localtime(sale.ends_at)
        if sale.payment_asset == PaymentAsset.ETH:
            initial["payment_symbol"] = ""
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("payment_asset") == PaymentAsset.ERC20:
            for name in ("payment_token_address", "payment_symbol", "payment_decimals"):
                if data.get(name) in (None, ""):
                    self.add_error(name, gettext("A sale paid in a stablecoin needs this."))
            symbol, decimals = (data.get("payment_symbol") or "").strip().upper(), data.get("payment_decimals")
        else:
            symbol, decimals = "ETH", 18
        if decimals is None:
            return data
        for name in AMOUNT_FIELDS:
            value: Decimal | None = data.get(name)
            if value is None:
                continue
            try:
                data[name] = to_base_units(value, decimals)
            except UnitsError:
                self.add_error(name, gettext("%(field)s has more decimal places than %(symbol)s allows (%(decimals)s).")
                               % {"field": self.fields[name].label, "symbol": symbol or gettext("the stablecoin"),
                                  "decimals": decimals})
        return data

    def service_fields(self) -> dict[str, Any]:
        """The cleaned data as `sale_create`/`sale_update` take it."""
        data = dict(self.cleaned_data)
        if data["payment_asset"] == PaymentAsset.ETH:
            data.update(payment_token_address="", payment_symbol="ETH", payment_decimals=18)
        else:
            data["payment_symbol"] = data["payment_symbol"].strip().upper()
        data["jurisdictions"] = list(data.get("jurisdictions") or [])
        return data


# --- token warrants and vesting allocations (the token's holders page) ---------------------------------------


def _whole_tokens(form: forms.Form, field: str, token: Token) -> int | None:
    """The field's whole tokens in base units, or None (with the field's error) when finer than the token allows."""
    value = form.cleaned_data.get(field)
    if value is None:
        return None
    try:
        return to_base_units(value, token.decimals)
    except UnitsError:
        form.add_error(field, gettext("%(symbol)s has %(decimals)s decimals: %(value)s is finer than that.") % {
            "symbol": token.symbol, "decimals": token.decimals, "value": value})
        return None


def _choices(form: forms.Form, name: str) -> forms.ModelChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared so on the form
    return field


class InvestmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.round.name}: {obj.stakeholder.name}, {obj.amount:,.2f} {obj.currency}"


class WarrantForm(forms.Form):
    stakeholder = forms.ModelChoiceField(label=_("Holder"), queryset=Stakeholder.objects.none(),
                                         empty_label=_("Choose a stakeholder"))
    investment = InvestmentChoiceField(
        label=_("Attached to"), queryset=Investment.objects.none(), required=False, empty_label=_("Nothing (a standalone warrant)"),
        help_text=_("A SAFE or priced investment of the same holder."))
    kind = forms.ChoiceField(label=_("Tokens"), choices=WarrantKind.choices, widget=RADIO, initial=WarrantKind.PRO_RATA)
    token_amount = amount_field(_("Number of tokens"), required=False,
                                help_text=_("For a fixed warrant only, in whole tokens."))
    price_per_token = forms.DecimalField(label=_("Price per token"), required=False, min_value=0, max_digits=20,
                                         decimal_places=10, help_text=_("Empty when the tokens are free."))

    def __init__(self, *args: Any, token: Token, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = token
        company = token.company
        _choices(self, "stakeholder").queryset = Stakeholder.objects.filter(company=company).order_by("name")
        _choices(self, "investment").queryset = (
            Investment.objects.filter(round__company=company, round__kind__in=[RoundKind.SAFE, RoundKind.PRICED],
                                      state__in=InvestmentState.counting())
            .select_related("round", "stakeholder").order_by("round__name", "stakeholder__name"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == WarrantKind.FIXED:
            if data.get("token_amount") in (None, Decimal(0)):
                self.add_error("token_amount", gettext("Give the number of tokens of a fixed warrant."))
        elif data.get("token_amount") is not None:
            self.add_error("token_amount", gettext(
                "A pro-rata warrant's tokens come from the investor pool at launch: leave the number empty."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["token_amount"] = _whole_tokens(self, "token_amount", self.token)
        return data


class AllocationForm(forms.Form):
    kind = forms.ChoiceField(label=_("For"), choices=[(k.value, k.label) for k in AllocationKind
                                                      if k != AllocationKind.INVESTOR], initial=AllocationKind.TEAM)
    label = forms.CharField(label=_("Who or what"), max_length=200, help_text=_("For example “Mei Chen, CEO”."))
    stakeholder = forms.ModelChoiceField(label=_("Stakeholder"), queryset=Stakeholder.objects.none(), required=False,
                                         empty_label=_("None"))
    beneficiary_address = forms.CharField(label=_("Beneficiary address"), max_length=42, widget=ADDRESS,
                                          help_text=_("The wallet the vesting contract releases to."))
    amount = amount_field(_("Tokens"))
    vesting_start = forms.DateTimeField(label=_("Vesting starts"), widget=DATETIME)
    cliff_months = forms.IntegerField(label=_("Cliff (months)"), min_value=0, max_value=120, initial=12)
    duration_months = forms.IntegerField(label=_("Vesting (months)"), min_value=1, max_value=240, initial=48,
                                         help_text=_("From the start; linear after the cliff."))

    def __init__(self, *args: Any, token: Token, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = token
        _choices(self, "stakeholder").queryset = Stakeholder.objects.filter(company=token.company).order_by("name")
        self.fields["vesting_start"].help_text = _times_help()

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["amount"] = _whole_tokens(self, "amount", self.token)
        # Calendar months from the start: a 12-month cliff from 1 March ends on the next 1 March.
        start = data["vesting_start"]
        data["cliff"] = start + relativedelta(months=data.pop("cliff_months")) - start
        data["duration"] = start + relativedelta(months=data.pop("duration_months")) - start
        return data
