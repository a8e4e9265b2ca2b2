"""Fixtures of the token tests: one devnet per session; `devnet`, which points the platform at it and runs the
test between evm_snapshot and evm_revert (the database is rolled back by pytest-django; the chain by this); and
`worker`, a real Celery worker with a thread doing beat's job."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from config.celery import app
from devnet.testing import node_process
from tests.tokens.worker import start_celery_worker
from tokens import tasks
from tokens.chain import client


@pytest.fixture(scope="session")
def devnet_url() -> Iterator[str]:
    with node_process(scheduler="sequential") as url:
        yield url


@pytest.fixture
def devnet(devnet_url: str, settings: Any) -> Iterator[Web3]:
    settings.CHAIN_RPC_URL = devnet_url
    settings.CHAIN_ID = 31337
    w3 = client.web3(devnet_url)
    snapshot = client.rpc("evm_snapshot", w3=w3)
    try:
        yield w3
    finally:
        assert client.rpc("evm_revert", [snapshot], w3=w3) is True


@pytest.fixture
def worker(devnet: Web3, devnet_url: str, tmp_path: Path) -> Iterator[Path]:
    """A real worker on its own queue, and a thread that does beat's job: every half second it queues the
    outbox, the scanner and the clock, and mines a block (a chain keeps making blocks; confirmations need them).
    Yields the worker's log file."""
    queue = f"test-sale-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    process = start_celery_worker(devnet_url, queue, log)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.5):
            tasks.outbox_work.delay()
            tasks.chain_scan.delay()
            tasks.sales_advance.delay()
            client.rpc("evm_mine", w3=devnet)

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        yield log
    finally:
        stop.set()
        ticker.join()
        app.conf.task_always_eager = eager
        app.conf.task_default_queue = "celery"
        process.terminate()
        try:
            process.wait(timeout=20)
        except Exception:  # noqa: BLE001 - a worker that will not stop is killed
            process.kill()
