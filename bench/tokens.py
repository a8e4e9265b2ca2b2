"""The event scanner: how fast it ingests a sale's purchases next to the node alone, and how soon a purchase shows.

Part 1, throughput: a devnet (1,000,000,000 gas blocks) holds a first-come-first-served TrancheSale with
`TOKENS_BENCH_PURCHASES` (default 10,000) purchases, each by a different allowlisted buyer, mined 1,000 to a block.
The sale and its token are watched from the first purchase's block, so the blocks read hold exactly the purchases.
The floor is the node alone answering the same `eth_getLogs` ranges (same addresses and topics, raw JSON-RPC, the
answer parsed); the scanner is one whole `chain_scan` pass from an empty database: the same reads plus the header
checks, decoding, the ChainEvent and Purchase rows (investor looked up by wallet) and the cursor, committed. Best
of three each; `scanner_ratio_to_raw_getlogs` is the scanner's rate over the floor's (goal >= 0.5). The
database's own share is measured apart (`store_floor_seconds`: the pass's rows copied back in, no Python), and
`scanner_ratio_ceiling_read_then_store` is what a pass that reads and then stores could reach at best.

Part 2, latency: a devnet mining a block every second, the scanner run as beat runs it (a pass every
`CELERY_BEAT_SCHEDULE["tokens-scan"]` interval, 2 s), purchases sent at uneven moments, and a reader polling the
public sale page (its live fragment, as the browser's htmx poll gets it) every 100 ms for each purchase's
transaction hash. `purchase_to_page_median_blocks` is the median of (first seen on the page - the block's
timestamp) / block time (goal <= 2). Block timestamps are whole seconds, so a block is up to 1 s younger than its
timestamp says: the figure errs on the slow side.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.result import Result

PURCHASES = int(os.environ.get("TOKENS_BENCH_PURCHASES", "10000"))
PER_BLOCK = 1000
SEND_BATCH = 500
REPEATS = 3
LATENCY_PURCHASES = int(os.environ.get("TOKENS_BENCH_LATENCY_PURCHASES", "40"))
BLOCK_TIME = 1.0
POLL_SECONDS = 0.1
CHAIN_ID = 31337
GAS_LIMIT = 1_000_000_000


# ------------------------------------------------------------------------------------------ the node


def _post(url: str, payload: Any, timeout: float = 120) -> Any:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310 - local URL
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local URL
        return json.loads(response.read())


def call(url: str, method: str, params: list[Any] | None = None) -> Any:
    reply = _post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def send_all(url: str, raws: Sequence[bytes]) -> list[str]:
    """Raw transactions into the pool, `SEND_BATCH` per JSON-RPC batch; returns their hashes."""
    hashes: list[str] = []
    for start in range(0, len(raws), SEND_BATCH):
        batch = [{"jsonrpc": "2.0", "id": n, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
                 for n, raw in enumerate(raws[start: start + SEND_BATCH])]
        replies = sorted(_post(url, batch), key=lambda r: r["id"])
        errors = [r["error"] for r in replies if "error" in r]
        if errors:
            raise RuntimeError(f"eth_sendRawTransaction: {errors[:3]}")
        hashes += [r["result"] for r in replies]
    return hashes


@contextmanager
def devnet(accounts: Sequence[bytes], *, block_time: float = 0) -> Iterator[str]:
    """A devnet with these accounts funded at genesis (besides the ten dev accounts)."""
    from devnet.testing import node_process

    with tempfile.TemporaryDirectory(prefix="tokens-bench-") as folder:
        state = Path(folder) / "state.json"
        state.write_text(json.dumps({"accounts": {
            "0x" + address.hex(): {"balance": hex(10**24), "nonce": 0} for address in accounts}}))
        with node_process(block_time=block_time,
                          extra_args=["--load-state", str(state), "--gas-limit", str(GAS_LIMIT)]) as url:
            yield url


def receipt_wait(url: str, tx_hash: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = call(url, "eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            if receipt["status"] != "0x1":
                raise RuntimeError(f"{tx_hash} reverted")
            return dict(receipt)
        time.sleep(0.05)
    raise TimeoutError(tx_hash)


def deploy_sale(url: str, workload: Any, buyers: Sequence[int], *, mine: bool) -> int:
    """Deploy the token and one first-come-first-served sale with `buyers` allowlisted; returns its first block."""
    now = int(call(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    first = int(call(url, "eth_blockNumber"), 16) + 1
    last_hash = ""
    for block in workload.setup_transactions(deployer=0, holders=[], buyers=buyers, sale_start=now + 1,
                                             pro_rata_sales=0, fcfs_sales=1):
        last_hash = send_all(url, block)[-1]
        if mine:
            call(url, "evm_mine")
    receipt_wait(url, last_hash)
    return first


# ------------------------------------------------------------------------------------------ the rows


def sale_rows(workload: Any, start_block: int, label: str) -> Any:
    """The Token, a live Sale and their WatchedContract rows, as deployment leaves them."""
    from django.utils import timezone
    from web3 import Web3

    from companies.models import Company
    from devnet.workloads import MAX_PURCHASE, MIN_PURCHASE, PRICE
    from tokens.choices import ContractKind, DeployStatus, SaleState
    from tokens.models import Sale, Token, WatchedContract

    company = Company.objects.create(legal_name=f"Scan {label} Labs, Inc.", slug=f"scan-{label}",
                                     jurisdiction="US-DE")
    admin = Web3.to_checksum_address(workload.addresses[0])
    token = Token.objects.create(company=company, name="Scan Token", symbol="SCAN", supply_cap=10**30,
                                 admin_address=admin, chain_id=CHAIN_ID,
                                 address=Web3.to_checksum_address(workload.deployment.token),
                                 deploy_status=DeployStatus.DEPLOYED, deploy_block=start_block)
    now = timezone.now()
    sale = Sale.objects.create(
        token=token, name="Scan sale", state=SaleState.LIVE, price=PRICE, soft_cap=10**18, hard_cap=10**27,
        min_per_investor=MIN_PURCHASE, max_per_investor=MAX_PURCHASE, starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30), finalize_grace=timedelta(days=1), claim_period=timedelta(days=7),
        treasury_address=admin, address=Web3.to_checksum_address(workload.deployment.fcfs_sale),
        deploy_block=start_block)
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=token.address, kind=ContractKind.TOKEN,
                                   start_block=start_block, token=token)
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=sale.address, kind=ContractKind.SALE,
                                   start_block=start_block, token=token, sale=sale)
    return sale


def scanned_forget() -> None:
    """Back to before the first pass: no events, projections or cursor, nothing backfilled."""
    from tokens.models import ChainEvent, Claim, Purchase, SaleRefund, ScanCursor, WatchedContract

    for model in (Purchase, Claim, SaleRefund, ChainEvent, ScanCursor):
        model.objects.all().delete()
    WatchedContract.objects.update(backfilled_through=None)


# ------------------------------------------------------------------------------------------ part 1


def throughput(notes: list[str]) -> dict[str, float]:
    from django.conf import settings

    from devnet.workloads import Workload
    from tokens import projections
    from tokens.chain import client, scanner
    from tokens.models import Purchase, WatchedContract

    started = time.perf_counter()
    workload = Workload(PURCHASES + 1, seed="tokens-bench")
    buyers = list(range(1, PURCHASES + 1))
    with devnet(workload.addresses) as url:
        call(url, "evm_setAutomine", [False])
        deploy_sale(url, workload, buyers, mine=True)
        signing = time.perf_counter()
        raws = [workload.purchase(buyer, workload.deployment.fcfs_sale, 10**15 + buyer) for buyer in buyers]
        signed = time.perf_counter()
        first = int(call(url, "eth_blockNumber"), 16) + 1
        for start in range(0, len(raws), PER_BLOCK):
            send_all(url, raws[start: start + PER_BLOCK])
            call(url, "evm_mine")
        mined = time.perf_counter()
        head = int(call(url, "eth_blockNumber"), 16)
        notes.append(f"Setup: {PURCHASES:,} purchases signed in {signed - signing:.1f} s, sent and mined "
                     f"{PER_BLOCK:,} per block (blocks {first}-{head}) in {mined - signed:.1f} s; the whole "
                     f"setup took {mined - started:.1f} s.")

        sale = sale_rows(workload, first, "throughput")
        settings.CHAIN_RPC_URL = url
        reader = scanner.NodeReader(client.web3(url))
        addresses = [w.lower() for w in WatchedContract.objects.values_list("address", flat=True)]
        topics = list(scanner.event_shapes())
        provider: Any = reader.w3.provider

        # The ranges the scanner reads: as many CHAIN_SCAN_MAX_RANGE-block ranges as the blocks need.
        size = settings.CHAIN_SCAN_MAX_RANGE
        ranges = [(a, min(head, a + size - 1)) for a in range(first, head + 1, size)]
        raw_seconds = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            count = 0
            for a, b in ranges:
                reply = provider.make_request("eth_getLogs", [{"fromBlock": hex(a), "toBlock": hex(b),
                                                               "address": addresses, "topics": [topics]}])
                count += len(reply["result"])
            raw_seconds.append(time.perf_counter() - t0)
        if count != PURCHASES:
            raise RuntimeError(f"the node returned {count} logs for {PURCHASES} purchases")

        scan_seconds = []
        for _ in range(REPEATS):
            scanned_forget()
            scanner._range_sizes.clear()
            scanner._checksummed.clear()  # each run checksums the buyers' addresses afresh
            t0 = time.perf_counter()
            stored = scanner.chain_scan(CHAIN_ID, reader=reader)
            scan_seconds.append(time.perf_counter() - t0)
            if stored != PURCHASES or projections.sale_standing(sale)["purchases"] != PURCHASES:
                raise RuntimeError(f"the scanner stored {stored} events for {PURCHASES} purchases")
        t0 = time.perf_counter()
        again = scanner.chain_scan(CHAIN_ID, reader=reader)
        idle_pass = time.perf_counter() - t0
        if again != 0 or Purchase.objects.filter(sale=sale, removed=False).count() != PURCHASES:
            raise RuntimeError("a second pass over the same blocks changed rows")
        store = store_floor()
    raw, scan = min(raw_seconds), min(scan_seconds)
    notes.append(f"Throughput over {len(ranges)} eth_getLogs range(s) of up to {size} blocks: the node alone "
                 f"{raw:.3f} s ({PURCHASES / raw:,.0f} logs/s), a scanner pass {scan:.3f} s "
                 f"({PURCHASES / scan:,.0f} events/s, best of {REPEATS}; all runs: "
                 f"{', '.join(f'{s:.3f}' for s in scan_seconds)} s). A pass with nothing new "
                 f"(the safety window re-read) took {idle_pass * 1000:.0f} ms.")
    notes.append(f"Storing alone: the pass's own rows (events and purchases, already in COPY's text form) copied "
                 f"back into the emptied tables and committed, no node and no Python, took {store:.3f} s "
                 f"(best of {REPEATS}). A pass that reads, then stores, can reach at most raw / (raw + store) = "
                 f"{raw / (raw + store):.2f} of the node's rate even if decoding cost nothing.")
    return {
        "scanner_events_per_second": round(PURCHASES / scan, 1),
        "raw_getlogs_events_per_second": round(PURCHASES / raw, 1),
        "scanner_ratio_to_raw_getlogs": round(raw / scan, 3),
        "store_floor_seconds": round(store, 3),
        "scanner_ratio_ceiling_read_then_store": round(raw / (raw + store), 3),
    }


def store_floor() -> float:
    """The database's share of a pass: the rows a pass wrote, dumped with COPY TO and copied back into the
    emptied tables (same indexes, constraints and deferred foreign keys, committed), best of `REPEATS`. What a
    pass adds to this and to the node's answer is its own Python."""
    import io

    from django.db import connection, transaction

    from tokens.models import ChainEvent, Purchase

    tables = [(model._meta.db_table, ", ".join(str(f.column) for f in model._meta.concrete_fields))
              for model in (ChainEvent, Purchase)]
    with connection.cursor() as sql:
        dumps = []
        for table, columns in tables:
            text = io.StringIO()
            sql.cursor.copy_expert(f"COPY {table} ({columns}) TO STDOUT", text)
            dumps.append(text.getvalue())
    seconds = []
    for _ in range(REPEATS):
        scanned_forget()
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as sql:
            for (table, columns), dump in zip(tables, dumps, strict=True):
                sql.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO(dump))
        seconds.append(time.perf_counter() - t0)
    if Purchase.objects.count() != PURCHASES:
        raise RuntimeError("the copied rows are not the pass's")
    return min(seconds)


# ------------------------------------------------------------------------------------------ part 2


def latency(notes: list[str]) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from devnet.workloads import Workload
    from tokens import projections
    from tokens.chain import client, scanner
    from tokens.models import WatchedContract

    period: Any = settings.CELERY_BEAT_SCHEDULE["tokens-scan"]["schedule"]
    period_seconds = period.total_seconds() if isinstance(period, timedelta) else float(period)
    workload = Workload(LATENCY_PURCHASES + 1, seed="tokens-bench-latency")
    buyers = list(range(1, LATENCY_PURCHASES + 1))
    with devnet(workload.addresses, block_time=BLOCK_TIME) as url:
        start_block = deploy_sale(url, workload, buyers, mine=False)
        scanned_forget()
        WatchedContract.objects.all().delete()  # part 1's contracts lived on another devnet
        sale = sale_rows(workload, start_block, "latency")
        settings.CHAIN_RPC_URL = url
        client.web3(url)
        page = reverse("tokens:sale_public", args=[sale.token.company.slug, sale.pk])
        seen: dict[str, float] = {}
        stop = threading.Event()
        failures: list[str] = []
        source = ["page"]

        def beat() -> None:
            try:
                while not stop.is_set():
                    tick = time.monotonic()
                    scanner.chain_scan(CHAIN_ID)
                    stop.wait(max(0.0, period_seconds - (time.monotonic() - tick)))
            except Exception as error:  # noqa: BLE001 - reported: the bench fails on it
                failures.append(repr(error))
            finally:
                connection.close()

        def reader(wanted: list[str]) -> None:
            browser = Client()
            try:
                while not stop.is_set():
                    now = time.time()
                    if source[0] == "page":
                        try:
                            html = browser.get(page, headers={"HX-Request": "true"}).content.decode()
                        except Exception as error:  # noqa: BLE001 - the page belongs to another part; say so
                            source[0] = f"sale_standing (the page failed: {error!r})"
                            continue
                        for tx_hash in wanted:
                            if tx_hash not in seen and f'title="{tx_hash}"' in html:
                                seen[tx_hash] = now
                    else:
                        count = projections.sale_standing(sale)["purchases"]
                        from tokens.models import Purchase

                        for tx_hash in Purchase.objects.filter(sale=sale, removed=False).values_list(
                                "tx_hash", flat=True)[: count]:
                            seen.setdefault(tx_hash, now)
                    stop.wait(POLL_SECONDS)
            finally:
                connection.close()

        hashes: list[str] = []
        beat_thread = threading.Thread(target=beat)
        beat_thread.start()
        reader_thread = threading.Thread(target=reader, args=(hashes,))
        reader_thread.start()
        try:
            shuffle = random.Random(7)  # noqa: S311 - uneven send times, not security
            for buyer in buyers:
                raw = workload.purchase(buyer, workload.deployment.fcfs_sale, 10**15 + buyer)
                hashes.append(send_all(url, [raw])[0])
                time.sleep(shuffle.uniform(0.2, 1.3))
            deadline = time.monotonic() + 30
            while len(seen) < len(hashes) and time.monotonic() < deadline and not failures:
                time.sleep(0.1)
        finally:
            stop.set()
            beat_thread.join()
            reader_thread.join()
        if failures:
            raise RuntimeError(f"the scanner failed: {failures[0]}")
        if len(seen) < len(hashes):
            raise RuntimeError(f"{len(hashes) - len(seen)} purchases never showed")
        delays = []
        for tx_hash in hashes:
            receipt = receipt_wait(url, tx_hash)
            block = call(url, "eth_getBlockByNumber", [receipt["blockNumber"], False])
            delays.append((seen[tx_hash] - int(block["timestamp"], 16)) / BLOCK_TIME)
    notes.append(f"Latency: {len(delays)} purchases sent 0.2-1.3 s apart to a devnet with {BLOCK_TIME:g} s blocks, a "
                 f"scanner pass every {period_seconds:g} s (the beat schedule), the {source[0]} polled every "
                 f"{POLL_SECONDS * 1000:.0f} ms: from the block's timestamp to the row, median "
                 f"{statistics.median(delays):.2f}, 90th percentile {sorted(delays)[int(0.9 * len(delays))]:.2f}, "
                 f"max {max(delays):.2f} block times.")
    return {
        "purchase_to_page_median_blocks": round(statistics.median(delays), 2),
        "purchase_to_page_max_blocks": round(max(delays), 2),
    }


def run() -> Result:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TRANCHE_DEV", "1")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_tokens"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    notes: list[str] = []
    try:
        metrics = throughput(notes)
        metrics.update(latency(notes))
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return Result(metrics=metrics, notes=notes)
