from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.choices import PaymentMethod


class CommitForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (USD)"), max_digits=20, decimal_places=2, min_value=Decimal("0.01"))
    method = forms.ChoiceField(label=_("Pay by"), choices=PaymentMethod.choices, initial=PaymentMethod.CARD,
                               widget=forms.RadioSelect)


class SignForm(forms.Form):
    signed_name = forms.CharField(label=_("Type your full legal name to sign"), max_length=200)
    consent = forms.BooleanField(label=_("I have read the subscription agreement and agree to be bound by it."))


class CardForm(forms.Form):
    number = forms.CharField(label=_("Card number"), max_length=23,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric",
                                                           "placeholder": "4242 4242 4242 4242"}))


class BankAccountForm(forms.Form):
    routing_number = forms.CharField(label=_("Routing number"), max_length=9,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "110000000"}))
    account_number = forms.CharField(label=_("Account number"), max_length=17,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                                   "placeholder": "000123456789"}))


class MaterialChangeForm(forms.Form):
    summary = forms.CharField(label=_("What changed"), widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Investors read this and must reconfirm within five business days."))


class EarlyCloseForm(forms.Form):
    closes_on = forms.DateField(label=_("New deadline"), widget=forms.DateInput(attrs={"type": "date"}))


class TokenOrderForm(forms.Form):
    """A card purchase of tokens: how many dollars, for which of the investor's wallets."""

    amount = forms.DecimalField(label=_("Amount (USD)"), max_digits=20, decimal_places=2, min_value=Decimal("0.01"),
                                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    wallet = forms.ChoiceField(label=_("Tokens go to"), help_text=_(
        "One of your verified wallets; you claim the tokens from the sale with it once the sale is finalized."))

    def __init__(self, *args: object, wallets: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["wallet"].choices = [(address, address) for address in wallets]  # type: ignore[attr-defined]
