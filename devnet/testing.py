"""Start a devnet (or anvil, with the same accounts and chain id) for a test, and stop it afterwards.

with node_process() as url:
    w3 = Web3(Web3.HTTPProvider(url))
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from devnet.accounts import DEFAULT_MNEMONIC

REPO = Path(__file__).resolve().parent.parent
ANVIL = REPO / "node_modules" / ".bin" / "anvil"
CAST = REPO / "node_modules" / ".bin" / "cast"
CHAIN_ID = 31337


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 30) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310 - local URL
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local URL
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"node exited with {process.returncode}:\n{output}")
        try:
            rpc(url, "eth_chainId", timeout=2)
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no answer from {url} after {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _running(command: list[str], port: int, timeout: float) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    process = subprocess.Popen(  # noqa: S603 - fixed command line
        command,
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_ready(url, process, timeout)
        yield url
    finally:
        _stop(process)


@contextmanager
def node_process(
    *, scheduler: str = "sequential", workers: int = 2, block_time: float = 0, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """Run `python -m devnet` on a free port; yield its HTTP URL (the WebSocket is the same URL, ws://)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "devnet",
        "--port",
        str(port),
        "--scheduler",
        scheduler,
        "--workers",
        str(workers),
        "--block-time",
        str(block_time),
        "--silent",
        *extra_args,
    ]
    with _running(command, port, timeout=60) as url:
        yield url


@contextmanager
def anvil_process(
    *, scheduler: str = "sequential", workers: int = 2, block_time: float = 0, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """Run anvil with the devnet's defaults; `scheduler` and `workers` are accepted and ignored."""
    port = free_port()
    command = [
        str(ANVIL),
        "--port",
        str(port),
        "--chain-id",
        str(CHAIN_ID),
        "--mnemonic",
        DEFAULT_MNEMONIC,
        "--silent",
        *extra_args,
    ]
    if block_time:
        command += ["--block-time", str(block_time)]
    with _running(command, port, timeout=60) as url:
        yield url
