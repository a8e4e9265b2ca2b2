"""Uint256Field: every uint256 round-trips exactly through PostgreSQL; anything else is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tokens.fields import UINT256_MAX, Uint256Field
from tokens.models import ChainEvent, ChainIntent, ChainTransaction


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 2**63, 2**128 + 1, UINT256_MAX])
def test_every_uint256_round_trips(value: int) -> None:
    intent = ChainIntent.objects.create(chain_id=1, purpose="test", object_key="x", role="deployer")
    attempt = ChainTransaction.objects.create(intent=intent, nonce=0, raw=b"\x01", tx_hash="0x" + "ab" * 32, gas=1,
                                              max_fee_per_gas=value, max_priority_fee_per_gas=0)
    attempt.refresh_from_db()
    assert attempt.max_fee_per_gas == value
    assert type(attempt.max_fee_per_gas) is int
    assert ChainTransaction.objects.filter(max_fee_per_gas=value).count() == 1


@pytest.mark.parametrize("value", [-1, UINT256_MAX + 1, "1.5", "abc", True])
def test_out_of_range_or_fractional_values_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        Uint256Field().to_python(value)


def test_event_hash_format_is_enforced_by_the_database() -> None:
    assert any(c.name == "tokens_event_hash_format" for c in ChainEvent._meta.constraints)
