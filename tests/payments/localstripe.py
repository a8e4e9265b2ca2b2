"""A localstripe server for tests that talk to Stripe's API: `localstripe_url` is its base address.

Import the fixture into a test module (`from tests.payments.localstripe import localstripe_url`).

Why not the `localstripe` console script: even with `--from-scratch` it rewrites the fixed file
`/tmp/localstripe.pickle` after every change (so concurrent servers clobber each other's saved state), and it
listens on every interface with no option to choose. This runs the same aiohttp app from the installed package
with the disk store switched off, on 127.0.0.1 and a free port. Its state lives only in the process, so every
server starts from scratch.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

API_KEY = "sk_test_tranche_localstripe"  # localstripe accepts any key that starts with sk_

_SERVER = """
import sys
from aiohttp import web
from localstripe import resources
resources.Store.dump_to_disk = lambda self: None  # state in memory only: never touch /tmp/localstripe.pickle
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1) as response:  # noqa: S310 (local)
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def localstripe_server(log: Path, *, start_timeout: float = 20.0) -> Iterator[str]:
    """Run localstripe until the block ends; yields its base URL (`http://127.0.0.1:<port>`)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(url):
                if process.poll() is not None:
                    raise RuntimeError(f"localstripe exited with {process.returncode}: {log.read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"localstripe did not answer on {url} within {start_timeout} s")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One localstripe per test module, empty when the module starts."""
    with localstripe_server(tmp_path_factory.mktemp("localstripe") / "localstripe.log") as url:
        yield url
