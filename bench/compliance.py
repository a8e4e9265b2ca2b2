"""The KYC review queue with 500 and with 50,000 applications, and screening throughput.

The queue page is rendered in-process by Django's test client against a throw-away database (Django's test
database machinery: created, migrated, filled with bulk inserts, dropped), so the development data is never
touched. What matters is that the page's time stays in the same order and its query count does not grow.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.compliance_screening import screening_throughput
from bench.result import Result

SIZES = (500, 50_000)
REPEATS = 15


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TRANCHE_DEV", "1")
    import django

    django.setup()


def _fill(total: int, start: int) -> None:
    """Add applications up to `total`: most decided, a realistic share waiting, some with screening hits."""
    from django.utils import timezone

    from accounts.models import User
    from compliance.models import KycApplication, ScreeningHit

    now = timezone.now()
    states = ["approved"] * 14 + ["rejected"] * 2 + ["submitted"] * 2 + ["in_review", "needs_information"]
    users = User.objects.bulk_create(
        [User(email=f"bench{n}@example.net", full_name=f"Bench Applicant {n}") for n in range(start, total)],
        batch_size=5000,
    )
    applications = []
    for n, user in enumerate(users, start=start):
        state = states[n % len(states)]
        submitted = now - timedelta(minutes=n % 20_000)
        applications.append(KycApplication(
            user=user, state=state, legal_name=user.full_name, country_of_residence="US",
            submitted_at=submitted, risk_level="low",
            approval_expires_at=now + timedelta(days=300) if state == "approved" else None,
            decided_at=submitted + timedelta(hours=5) if state in {"approved", "rejected"} else None,
            assigned_at=submitted + timedelta(hours=1),
        ))
    created = KycApplication.objects.bulk_create(applications, batch_size=5000)
    ScreeningHit.objects.bulk_create(
        [ScreeningHit(application=a, list_name="sanctions", entry_id=str(a.pk), matched_name="Someone", score=75)
         for a in created[:: 25]], batch_size=5000,
    )


def _measure_queue(client: Any) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/compliance/queue/")  # warm caches and templates
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/compliance/queue/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), len(queries.captured_queries)


def _queue_metrics() -> dict[str, float]:
    _setup_django()
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment

    from accounts.models import User

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench"  # never the suite's test database
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    metrics: dict[str, float] = {}
    try:
        officer = User.objects.create_user(email="officer@bench.example", is_compliance_officer=True)
        TOTP.activate(officer, generate_totp_secret())
        client = Client()
        client.force_login(officer)
        filled = 0
        for size in SIZES:
            _fill(size, filled)
            filled = size
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            milliseconds, queries = _measure_queue(client)
            metrics[f"queue_page_ms_{size}"] = round(milliseconds, 2)
            metrics[f"queue_page_queries_{size}"] = queries
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    metrics["queue_page_ms_ratio_50000_to_500"] = round(metrics["queue_page_ms_50000"] / metrics["queue_page_ms_500"], 3)
    return metrics


def run() -> Result:
    metrics = _queue_metrics()
    metrics["screening_per_second"] = round(screening_throughput(), 1)
    notes = [f"Queue page rendered by Django's test client, median of {REPEATS} requests, officer signed in.",
             "Screening: applications per second against a synthetic list the size of OFAC's SDN list."]
    return Result(metrics=metrics, notes=notes)
