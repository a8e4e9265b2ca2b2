"""Commitments into one round from 50 concurrent clients: how many per second are accepted, and how many were
sold over the round's maximum (must be 0).

Each client is a thread with its own PostgreSQL connection (the embedded server allows 200); all of them wait at
a barrier and then commit as fast as they can, each commitment by a different approved investor, through the
same service a request uses (`investment_commit`, then the payment created at the sandbox provider). The round
has room for fewer commitments than are sent, so the lock that keeps it under its maximum is what is measured.
`tests/payments/test_oversell.py` runs the same storm (500 commitments, room for 100) as a test.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.result import Result

CLIENTS = 50
COMMITMENTS = 1000
ROOM = 800
TICKET = Decimal(1000)


@dataclass(frozen=True)
class Storm:
    accepted: int
    refused: int
    errors: list[str]
    seconds: float
    raised: Decimal
    maximum: Decimal

    @property
    def oversold_count(self) -> int:
        """Commitments accepted beyond the room the round had (0 when the maximum held)."""
        over = self.raised - self.maximum
        return int(over / TICKET) + (1 if over % TICKET else 0) if over > 0 else 0


def approved_investors(count: int, prefix: str) -> list[Any]:
    """`count` investors with approved KYC, inserted in bulk (accredited, so only the round's room limits them)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from compliance.models import KycApplication

    now = timezone.now()
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{n}@example.net", full_name=f"Investor {prefix}{n}") for n in range(count)])
    KycApplication.objects.bulk_create([
        KycApplication(user=user, state="approved", legal_name=user.full_name, country_of_residence="US",
                       region="OH", accreditation="self_certified", submitted_at=now, decided_at=now,
                       approval_expires_at=now + timedelta(days=300)) for user in users])
    return users


def commitment_storm(*, round: Any, investors: list[Any], clients: int, amount: Decimal = TICKET) -> Storm:
    """Send one commitment per investor from `clients` threads released together; return what happened."""
    from django.core.exceptions import ValidationError
    from django.db import connection

    from compliance.audit import Actor
    from equity.selectors import round_raised
    from payments import services
    from payments.providers.sandbox import SandboxProvider

    provider = SandboxProvider()
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    outcome = {"accepted": 0, "refused": 0}
    errors: list[str] = []
    shares = [investors[n::clients] for n in range(clients)]

    def client(mine: list[Any]) -> None:
        try:
            barrier.wait()
            for investor in mine:
                try:
                    commitment = services.investment_commit(actor=Actor(user=investor), round=round, amount=amount,
                                                            method="card", provider=provider)
                    services.payment_create_outside_transaction(payment=commitment.payments.get(),
                                                                provider=provider)
                    key = "accepted"
                except ValidationError:
                    key = "refused"
                with lock:
                    outcome[key] += 1
        except Exception as error:  # noqa: BLE001 - reported, never swallowed: the caller asserts there are none
            with lock:
                errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(mine,)) for mine in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    round.refresh_from_db()
    return Storm(accepted=outcome["accepted"], refused=outcome["refused"], errors=errors, seconds=seconds,
                 raised=round_raised(round=round), maximum=round.maximum_amount)


def reg_d_round(maximum: Decimal) -> Any:
    """An open Reg D 506(b) round with a $1,000 minimum ticket and room for `maximum`."""
    from datetime import date, timedelta

    from django.utils import timezone

    from accounts.models import User
    from companies.models import Company, Membership
    from compliance.audit import Actor
    from equity import services as equity_services

    founder = User.objects.create_user(email=f"founder-{time.monotonic_ns()}@bench.example")
    company = Company.objects.create(legal_name=f"Storm Labs {time.monotonic_ns()}, Inc.",
                                     slug=f"storm-{time.monotonic_ns()}", jurisdiction="US-DE")
    Membership.objects.create(company=company, user=founder, role="owner")
    actor = Actor(user=founder)
    common = equity_services.share_class_create(actor=actor, company=company, name="Common", kind="common",
                                                authorized_shares=10_000_000)
    mei = equity_services.stakeholder_create(actor=actor, company=company, name="Founder", relationship="founder")
    equity_services.stock_issue(actor=actor, stakeholder=mei, share_class=common, quantity=8_000_000,
                                effective_date=date(2025, 1, 6))
    draft = equity_services.round_create(
        actor=actor, company=company, name="Seed", kind="priced", target_amount=maximum / 2,
        minimum_amount=maximum / 4, maximum_amount=maximum, minimum_ticket=TICKET,
        closes_on=timezone.localdate() + timedelta(days=30), exemption="reg_d_506b", jurisdictions=["US"],
        pre_money_valuation=Decimal(8_000_000), series_name="Series Seed Preferred")
    return equity_services.round_open(actor=actor, round=draft)


def run() -> Result:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TRANCHE_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    settings.PAYMENTS_SANDBOX_AUTO_DELIVER = False
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_investing"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        seed = reg_d_round(TICKET * ROOM)
        storm = commitment_storm(round=seed, investors=approved_investors(COMMITMENTS, "storm"), clients=CLIENTS)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    if storm.errors:
        raise RuntimeError(f"the storm had errors: {storm.errors[:3]}")
    metrics = {
        "commitments_per_second_50_clients": round(storm.accepted / storm.seconds, 1),
        "oversold_count": storm.oversold_count,
        "commitments_accepted": storm.accepted,
        "commitments_refused": storm.refused,
        "storm_seconds": round(storm.seconds, 2),
    }
    notes = [f"{COMMITMENTS} commitments of ${TICKET:,.0f} from {CLIENTS} threads released by a barrier into a round "
             f"with room for {ROOM}; accepted per second of the storm's wall time (commit + payment at the sandbox)."]
    return Result(metrics=metrics, notes=notes)
