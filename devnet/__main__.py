"""`python -m devnet`: start the Tranche devnet (options named as anvil names them)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from devnet.accounts import DEFAULT_MNEMONIC, derive_accounts
from devnet.chain import Chain, ChainConfig, load_state_alloc
from devnet.rpc import RpcServer
from devnet.state import EMPTY_SHA3, AccountRecord

log = logging.getLogger("devnet")

WEI_PER_ETHER = 10**18


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devnet",
        description=(
            "Ethereum JSON-RPC devnet on py-evm whose block builder executes transactions in parallel "
            "worker processes and commits exactly what sequential execution would. Option names follow "
            "anvil, so tests can run against either."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    p.add_argument(
        "--port", "-p", type=int, default=8545, help="HTTP and WebSocket port (default: %(default)s)"
    )
    p.add_argument("--chain-id", type=int, default=31337, help="chain id (default: %(default)s)")
    p.add_argument(
        "--mnemonic",
        "-m",
        default=DEFAULT_MNEMONIC,
        help="BIP-39 mnemonic of the dev accounts (default: anvil's)",
    )
    p.add_argument(
        "--accounts", "-a", type=int, default=10, help="number of funded dev accounts (default: %(default)s)"
    )
    p.add_argument(
        "--balance", type=int, default=10000, help="ETH given to each dev account (default: %(default)s)"
    )
    p.add_argument(
        "--block-time",
        "-b",
        type=float,
        default=0,
        help="seconds between blocks (interval mining); 0 mines a block for every transaction (automine, the default)",
    )
    p.add_argument("--gas-limit", type=int, default=30_000_000, help="block gas limit (default: %(default)s)")
    p.add_argument(
        "--scheduler",
        choices=["sequential", "block-stm", "sharded"],
        default="sequential",
        help=(
            "how blocks are executed: sequential (the reference), block-stm (optimistic parallel execution "
            "validated in order) or sharded (grouped by predicted touched state, validated in order) "
            "(default: %(default)s)"
        ),
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help=(
            "executors for the parallel schedulers, the coordinator included: it runs one share of each "
            "block and N-1 worker processes run the rest (default: %(default)s)"
        ),
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        help="directory that keeps the chain across restarts (default: in memory only)",
    )
    p.add_argument(
        "--load-state", type=Path, help="start from accounts in this JSON file (as written by --dump-state)"
    )
    p.add_argument("--dump-state", type=Path, help="write the accounts to this JSON file on exit")
    p.add_argument("--timestamp", type=int, help="genesis timestamp (default: now)")
    p.add_argument("--silent", action="store_true", help="log warnings only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if options.silent else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    accounts = derive_accounts(options.mnemonic, options.accounts)
    alloc: list[tuple[bytes, AccountRecord, bytes, dict[int, int]]] = [
        (account.address, AccountRecord(0, options.balance * WEI_PER_ETHER, EMPTY_SHA3), b"", {})
        for account in accounts
    ]
    if options.load_state:
        loaded = load_state_alloc(options.load_state)
        overridden = {row[0] for row in loaded}
        alloc = [row for row in alloc if row[0] not in overridden] + loaded
    if options.data_dir:
        options.data_dir.mkdir(parents=True, exist_ok=True)
    config = ChainConfig(
        chain_id=options.chain_id,
        gas_limit=options.gas_limit,
        genesis_timestamp=options.timestamp,
        alloc=alloc,
    )
    chain = Chain(
        config,
        scheduler=options.scheduler,
        workers=options.workers,
        data_dir=options.data_dir,
        dev_accounts=accounts,
    )
    server = RpcServer(chain, block_time=options.block_time)
    log.info(
        "devnet listening on http://%s:%d (chain id %d, scheduler %s, %d workers, head block %d)",
        options.host,
        options.port,
        options.chain_id,
        options.scheduler,
        options.workers if options.scheduler != "sequential" else 0,
        chain.head.number,
    )
    for index, account in enumerate(accounts):
        log.info("(%d) %s", index, account.key.address)

    def stop(signum: int, frame: object) -> None:
        raise web.GracefulExit()

    signal.signal(signal.SIGTERM, stop)
    try:
        web.run_app(server.application(), host=options.host, port=options.port, print=None, access_log=None)
    finally:
        if options.dump_state:
            options.dump_state.write_text(json.dumps(chain.dump_state(), indent=1) + "\n")
        chain.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
