"""Uint256Field: every uint256 round-trips exactly through PostgreSQL; anything else is refused. A chain event's
hashes are refused by the database unless they are "0x" and 64 lower-case hex digits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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


GOOD_HASH = "0x" + "0123456789abcdef" * 4


def _event(**hashes: str) -> ChainEvent:
    return ChainEvent.objects.create(chain_id=1, log_index=0, block_number=1, address="0x" + "ab" * 20,
                                     name="Transfer", **{"tx_hash": GOOD_HASH, "block_hash": GOOD_HASH, **hashes})


@pytest.mark.django_db
def test_a_well_formed_event_hash_is_stored() -> None:
    event = _event()
    event.refresh_from_db()
    assert (event.tx_hash, event.block_hash) == (GOOD_HASH, GOOD_HASH)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["tx_hash", "block_hash"])
@pytest.mark.parametrize("value", [
    GOOD_HASH.upper(),  # upper case: the scanner compares hashes as stored, in lower case
    "0x" + GOOD_HASH[2:].upper(),
    GOOD_HASH[:-1] + "A",
    "0X" + GOOD_HASH[2:],
    GOOD_HASH[:-1],  # short
    "0x",
    "",
    GOOD_HASH[2:] + "00",  # 66 characters, no prefix
    GOOD_HASH[:-1] + "g",
    GOOD_HASH[:-1] + "\n",
    GOOD_HASH[:-2] + "é",  # 66 bytes, 65 characters
    "0x" + "é" * 32,  # 66 bytes
    "0x" + "x" * 64,
])
def test_event_hash_format_is_enforced_by_the_database(field: str, value: str) -> None:
    with pytest.raises(IntegrityError, match="tokens_event_hash_format"), transaction.atomic():
        _event(**{field: value})
