"""A real Celery worker for the token tests, on a queue of its own, and a way to wait for what it does."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

from config import embedded
from tokens.chain import outbox

ROOT = Path(__file__).resolve().parents[2]


def start_celery_worker(devnet_url: str, queue: str, log: Path, crash_at: str = "") -> subprocess.Popen[bytes]:
    """A real `celery worker` on a queue of its own (as tests/platform/test_worker.py starts one), on the test
    database, talking to `devnet_url`; `crash_at` makes the outbox SIGKILL its own process at that point."""
    url = urlsplit(os.environ.get("DATABASE_URL") or embedded.database_url())
    env = {
        **os.environ, "TRANCHE_DEV": "1",
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "CHAIN_RPC_URL": devnet_url, "CHAIN_ID": "31337", outbox.CRASH_ENV: crash_at,
        # What the worker itself queues (after a launch, say) stays on its queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "--app", "config", "worker", "--queues", queue, "--pool", "solo",
         "--loglevel", "INFO", "--hostname", f"{queue}-{crash_at or 'ok'}@test"],
        cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)


def eventually(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Poll `check` every half second until it returns something true; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}")
