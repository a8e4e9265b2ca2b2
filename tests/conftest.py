"""Fixtures shared by the whole suite: people in every role, a company with its team, clients signed in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TRANCHE_DEV", "1")

import pytest  # noqa: E402
from django.test import Client  # noqa: E402

from tests.factories import CompanyFactory, MembershipFactory, UserFactory  # noqa: E402

TEST_REDIS_DB = 15

# WhiteNoise looks for collected static files at start-up; tests serve them from the app folders instead.
(Path(__file__).resolve().parent.parent / ".local" / "staticfiles").mkdir(parents=True, exist_ok=True)  # never the development database 0: the suite flushes its cache before every test


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Static files straight from the app folders (no collectstatic manifest), and an empty cache per test.

    Rate-limit counters live in the cache, so every test starts with none, away from `make run`'s data.
    """
    from django.core.cache import cache
    from django.utils import translation

    from config import embedded

    translation.activate("en")  # a request in another language must not leak into the next test's messages

    settings.MEDIA_ROOT = tmp_path / "media"  # uploads made by tests never land in the development folders
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests need no strength
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

    if not os.environ.get("REDIS_URL"):
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": embedded.redis_url(TEST_REDIS_DB),
            }
        }
    else:
        settings.CACHES["default"]["KEY_PREFIX"] = "tranche-test"
    cache.clear()
    return


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    """Tasks run in-process after commit; tests/platform/test_worker.py runs a real worker."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    return


@dataclass
class Cast:
    """One person in each role the permission matrix knows, and the company they act on."""

    company: object
    owner: object
    admin: object
    viewer: object
    other_founder: object
    investor: object
    compliance_officer: object
    platform_admin: object


@pytest.fixture
def cast(db) -> Cast:  # type: ignore[no-untyped-def]
    company = CompanyFactory(legal_name="Lumen Labs, Inc.")
    other = CompanyFactory(legal_name="Quill Robotics Ltd", jurisdiction="GB")
    return Cast(
        company=company,
        owner=MembershipFactory(company=company, role="owner").user,
        admin=MembershipFactory(company=company, role="admin").user,
        viewer=MembershipFactory(company=company, role="viewer").user,
        other_founder=MembershipFactory(company=other, role="owner").user,
        investor=UserFactory(),
        compliance_officer=UserFactory(is_compliance_officer=True, two_factor=True),
        platform_admin=UserFactory(is_superuser=True, is_staff=True, two_factor=True),
    )


@pytest.fixture
def client_for(db):  # type: ignore[no-untyped-def]
    """A test client signed in as the given user (or anonymous for None)."""

    def make(user: object | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)  # type: ignore[arg-type]
        return client

    return make


@pytest.fixture(scope="session", autouse=True)
def _close_server_connections(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Live-server threads keep their database connections open; end them so the test database can be dropped."""
    yield
    from django.db import connection

    test_database = connection.settings_dict["NAME"]
    if not test_database.startswith("test_"):  # only ever the suite's own database, never a developer's
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_database],
        )
