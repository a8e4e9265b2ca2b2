"""Small template helpers for the shared look: form widgets with Tabler classes, role badges."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


@register.simple_tag
def field_widget(field: BoundField) -> SafeString:
    classes = [_css_class(field.field.widget), field.field.widget.attrs.get("class", "")]
    if field.errors:
        classes.append("is-invalid")
    return field.as_widget(attrs={"class": " ".join(c for c in classes if c)})


@register.filter
def is_checkbox(field: BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.filter
def is_radio(field: BoundField) -> bool:
    return isinstance(field.field.widget, forms.RadioSelect)


@register.filter
def role_color(role: str) -> str:
    return {"owner": "purple", "admin": "blue", "viewer": "secondary"}.get(role, "secondary")


@register.filter
def percent(value: Fraction | Decimal | float | None, places: int = 2) -> str:
    """An ownership fraction (0.8889) as a percentage a finance reader expects ("88.89%")."""
    if value is None:
        return "—"
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    return f"{(exact * 100).quantize(Decimal(1).scaleb(-places)):,.{places}f}%"


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(value: Decimal | int | float | None, currency: str = "USD") -> str:
    """An amount as a finance reader expects it: the currency, thousands separators, two decimals
    ("$1,234,567.00", "CHF 1,000.00"); "—" for none."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    digits = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency} {digits}"


@register.filter
def cents(value: int | None, currency: str = "USD") -> str:
    """Whole cents shown as money."""
    return "—" if value is None else money(Decimal(value).scaleb(-2), currency)


@register.filter
def price(value: Decimal | None, currency: str = "USD") -> str:
    """A price per share: at least two decimals, and every further decimal that is not a trailing zero
    ("$0.05", "$1.1144", "$0.00001")."""
    if value is None:
        return "—"
    places = max(2, -Decimal(value).normalize().as_tuple().exponent)  # type: ignore[operator]
    symbol = CURRENCY_SYMBOLS.get(currency)
    digits = f"{Decimal(value):,.{places}f}"
    return f"{symbol}{digits}" if symbol else f"{currency} {digits}"


@register.filter
def per_share(value: Decimal | None, currency: str = "USD") -> str:
    """An amount per share computed by the engine, always to 4 decimals so a column lines up ("$5.9120")."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency)
    digits = f"{Decimal(value):,.4f}"
    return f"{symbol}{digits}" if symbol else f"{currency} {digits}"
