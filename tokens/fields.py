"""The one field for wei and token amounts: a Python `int` stored as NUMERIC(78,0), which holds every uint256.

A DecimalField would hand back `Decimal` and invite arithmetic with fractions; a BigIntegerField stops at 2**63.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db import models

UINT256_MAX = 2**256 - 1


class Uint256Field(models.DecimalField):
    description = "A non-negative integer up to 2**256 - 1 (wei, token base units)"
    # What django-stubs reads as the attribute's types: an int comes back, never a Decimal.
    _pyi_private_set_type: int | str | Decimal
    _pyi_private_get_type: int  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_digits"] = 78
        kwargs["decimal_places"] = 0
        super().__init__(*args, **kwargs)

    @property
    def validators(self) -> list[Any]:
        # DecimalField's DecimalValidator expects a Decimal; the range is checked in to_python.
        return [v for v in super().validators if not isinstance(v, DecimalValidator)]

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    def from_db_value(self, value: Decimal | None, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value)

    def to_python(self, value: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValidationError("A yes/no value is not an amount.", code="invalid")
        try:
            number = Decimal(value) if isinstance(value, str) else value
        except ArithmeticError as error:
            raise ValidationError(f"{value!r} is not an amount.", code="invalid") from error
        if isinstance(number, Decimal):
            if number != number.to_integral_value():
                raise ValidationError(f"{value} is not a whole number of base units.", code="invalid")
            number = int(number)
        if not isinstance(number, int):
            raise ValidationError(f"{value!r} is not an amount.", code="invalid")
        if not 0 <= number <= UINT256_MAX:
            raise ValidationError(f"{value} is not between 0 and 2**256 - 1.", code="invalid")
        return number

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or hasattr(value, "as_sql"):
            return value
        return Decimal(self.to_python(value))  # type: ignore[arg-type]

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        return self.get_db_prep_value(value, connection)
