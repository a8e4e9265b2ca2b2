"""The outbox across processes, on committed data: a worker killed (SIGKILL) after signing and before the
broadcast, or after the broadcast and before the receipt, leaves one contract deployed once the work runs again;
workers running at the same time never send an intent twice; a deployment asked for by a founder is worked by the
task the service queues after commit. The kills are done twice: in a plain process running `outbox_work()`, and in a
real `celery worker` followed by a new worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection, transaction
from web3 import Web3
from web3.utils.address import get_create_address

from config import embedded
from config.celery import app
from tests.tokens.factories import founder_actor, outbox_settle, sale_for, token_for
from tests.tokens.worker import start_celery_worker
from tokens import services, tasks
from tokens.chain import client, keys, outbox
from tokens.choices import DeployStatus, IntentState, SaleState
from tokens.intents import intent_enqueue
from tokens.models import ChainIntent, ChainTransaction, Token

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
WORK = "import django; django.setup(); from tokens.chain.outbox import outbox_work; print(outbox_work())"


def run_worker(devnet_url: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    """`outbox_work()` in a process of its own, on the test database; TRANCHE_OUTBOX_CRASH_AT kills it midway."""
    url = urlsplit(os.environ.get("DATABASE_URL") or embedded.database_url())
    env = {
        **os.environ, "TRANCHE_DEV": "1", "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "CHAIN_RPC_URL": devnet_url, "CHAIN_ID": "31337", outbox.CRASH_ENV: crash_at,
    }
    return subprocess.run([sys.executable, "-c", WORK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def deploy_intent() -> ChainIntent:
    token = token_for(founder_actor())
    with transaction.atomic():  # written as a service writes it, but with no task queued
        return intent_enqueue(chain_id=token.chain_id, purpose="token.deploy", obj=token, role="deployer")


@pytest.mark.parametrize("crash_at", ["after_sign", "after_broadcast"])
def test_a_worker_killed_midway_leaves_exactly_one_contract_deployed(
        devnet: Web3, devnet_url: str, crash_at: str) -> None:
    deployer = keys.address("deployer", 31337)
    intent = deploy_intent()
    nonce = devnet.eth.get_transaction_count(deployer, "pending")
    expected = get_create_address(deployer, nonce)

    killed = run_worker(devnet_url, crash_at)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    intent.refresh_from_db()
    attempt = intent.attempts.get()  # stored before anything left the process
    assert (intent.state, intent.nonce) == (IntentState.SIGNED, nonce)
    if crash_at == "after_sign":
        assert attempt.broadcast_at is None
        assert client.rpc("eth_getTransactionByHash", [attempt.tx_hash], w3=devnet) is None
        assert devnet.eth.get_transaction_count(deployer, "pending") == nonce
    else:
        assert devnet.eth.get_transaction_receipt(attempt.tx_hash)["contractAddress"] == expected

    again = run_worker(devnet_url)
    assert again.returncode == 0, again.stderr
    outbox_settle(devnet)

    intent.refresh_from_db()
    assert intent.state == IntentState.CONFIRMED
    assert ChainIntent.objects.count() == 1
    assert {a.nonce for a in intent.attempts.all()} == {nonce}
    assert intent.attempts.count() == 1  # the same bytes were sent (again), nothing was signed twice
    assert intent.contract_address == expected == Token.objects.get().address
    assert devnet.eth.get_transaction_count(deployer) == nonce + 1  # one deployment by the deployer
    assert devnet.eth.get_code(expected)
    assert not devnet.eth.get_code(get_create_address(deployer, nonce + 1))


def test_workers_running_at_the_same_time_send_each_intent_once(devnet: Web3, settings: Any) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    deployer = keys.address("deployer", 31337)
    founder = founder_actor()
    with transaction.atomic():
        for symbol in ("ONE", "TWO", "THREE"):
            token = token_for(founder, symbol=symbol)
            intent_enqueue(chain_id=token.chain_id, purpose="token.deploy", obj=token, role="deployer")
    nonce = devnet.eth.get_transaction_count(deployer, "pending")
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(3):
                outbox.outbox_work()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    outbox_settle(devnet)

    intents = list(ChainIntent.objects.order_by("nonce"))
    assert {i.state for i in intents} == {IntentState.CONFIRMED}
    assert [i.nonce for i in intents] == [nonce, nonce + 1, nonce + 2]
    assert ChainTransaction.objects.count() == 3
    assert devnet.eth.get_transaction_count(deployer) == nonce + 3
    assert sorted(i.contract_address for i in intents) == sorted(get_create_address(deployer, n)
                                                                for n in range(nonce, nonce + 3))
    assert outbox.outbox_work() == 0


def test_a_deployment_is_worked_by_the_task_queued_after_commit(devnet: Web3, settings: Any) -> None:
    """The service queues `tokens.tasks.outbox_work` on commit (run eagerly here): it signs the token's deployment;
    later passes (the periodic task in production) finish the rest."""
    settings.CHAIN_CONFIRMATIONS = 0
    founder = founder_actor()
    sale = sale_for(founder, token_for(founder))

    services.sale_deploy(actor=founder, sale=sale)

    assert ChainIntent.objects.get(purpose="token.deploy").state == IntentState.CONFIRMED
    outbox_settle(devnet)
    sale.refresh_from_db()
    assert sale.state == SaleState.SCHEDULED
    assert sale.token.deploy_status == DeployStatus.DEPLOYED


@pytest.mark.parametrize("crash_at", ["after_sign", "after_broadcast"])
def test_a_celery_worker_killed_midway_and_a_new_one_deploy_the_contract_once(
        devnet: Web3, devnet_url: str, crash_at: str, tmp_path: Path) -> None:
    deployer = keys.address("deployer", 31337)
    intent = deploy_intent()
    nonce = devnet.eth.get_transaction_count(deployer, "pending")
    queue = f"test-outbox-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    second: subprocess.Popen[bytes] | None = None
    first = start_celery_worker(devnet_url, queue, log, crash_at)
    try:
        tasks.outbox_work.delay()
        assert first.wait(timeout=90) == -signal.SIGKILL, log.read_text()
        intent.refresh_from_db()
        assert intent.state == IntentState.SIGNED

        second = start_celery_worker(devnet_url, queue, log)
        deadline = time.monotonic() + 90
        while intent.state == IntentState.SIGNED and time.monotonic() < deadline:
            tasks.outbox_work.delay()
            time.sleep(1)
            intent.refresh_from_db()
        assert intent.state in (IntentState.MINED, IntentState.CONFIRMED), log.read_text()
    finally:
        app.conf.task_always_eager = eager
        app.conf.task_default_queue = "celery"
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

    expected = get_create_address(deployer, nonce)
    assert intent.attempts.count() == 1
    assert intent.contract_address == expected
    assert devnet.eth.get_transaction_count(deployer) == nonce + 1
    assert devnet.eth.get_code(expected)
