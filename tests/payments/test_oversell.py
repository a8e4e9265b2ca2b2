"""Invariant 1 under real concurrency: 500 commitments from 50 clients released together by a barrier, against
the real PostgreSQL (the project configures 200 connections), into a round with room for exactly 100."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.investing import TICKET, approved_investors, commitment_storm, reg_d_round
from equity.choices import InvestmentState
from equity.models import Investment
from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_five_hundred_concurrent_commitments_fill_a_round_with_room_for_a_hundred_exactly() -> None:
    round = reg_d_round(TICKET * 100)
    storm = commitment_storm(round=round, investors=approved_investors(500, "oversell"), clients=50)
    assert storm.errors == []
    assert (storm.accepted, storm.refused) == (100, 400)
    assert storm.raised == round.maximum_amount == Decimal(100_000)
    assert storm.oversold_count == 0
    live = Investment.objects.filter(round=round, state__in=InvestmentState.counting())
    assert live.count() == 100
    assert Payment.objects.filter(commitment__investment__round=round).exclude(provider_id=None).count() == 100
