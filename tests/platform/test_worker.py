"""A real Celery worker, on the embedded Redis and the test database, does the work services queue."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from companies import services
from compliance.audit import Actor
from config import embedded
from config.celery import app
from tests.factories import MembershipFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """Start `celery worker` on a queue of its own (so a `make run` worker never takes these tasks)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # The same server as the suite, but its test database.
    url = urlsplit(os.environ.get("DATABASE_URL") or embedded.database_url())
    env = {
        **os.environ,
        "TRANCHE_DEV": "1",
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
    }
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "--app", "config", "worker", "--queues", queue,
         "--pool", "solo", "--loglevel", "INFO", "--hostname", f"{queue}@test"],
        cwd=ROOT, env=env, stdout=(tmp_path.parent / "worker.log").open("w"), stderr=subprocess.STDOUT,
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield tmp_path
    finally:
        app.conf.task_always_eager = eager
        app.conf.task_default_queue = "celery"
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.django_db(transaction=True)
def test_an_invitation_email_is_sent_by_the_worker_after_commit(worker: Path) -> None:
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(
        actor=Actor(user=owner.user), company=owner.company, email="leo@lumen.example", role="admin"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(worker.iterdir()):
        time.sleep(0.2)
    messages = [path.read_text() for path in worker.iterdir()]
    assert len(messages) == 1, "the worker did not send the invitation within a minute"
    assert "To: leo@lumen.example" in messages[0]
    link = re.search(r"/invitations/([^/\s]+)/", messages[0])
    assert link is not None
    assert services.invitation_from_token(link.group(1)) == invitation
