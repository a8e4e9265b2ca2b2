"""The token wizard's forms: what a founder types, in whole units (100,000,000 tokens, 0.001 ETH), turned into the
base units the services and the chain take. A value finer than the asset allows is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from compliance.choices import Exemption
from tokens.choices import AllocationMode, EligibilityMode, PaymentAsset
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
