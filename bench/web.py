"""Requests per second of the home page and a company's public page, as a ratio to a bare Django view.

All three are served the same way: gunicorn with the platform's own configuration (DEBUG off, WhiteNoise,
the embedded PostgreSQL and Redis), loaded by `wrk` from a separate process on loopback. The ratio is what
counts; the absolute figures depend on the machine and are reported for context.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.result import Result

ROOT = Path(__file__).resolve().parent.parent
DURATION_S = int(os.environ.get("BENCH_WEB_SECONDS", "8"))
CONNECTIONS = 8
PAGES = {"bare": "/_bench/bare/", "home": "/", "company": "/c/lumen-labs-inc/"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url}")


def _requests_per_second(url: str) -> float:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", url], capture_output=True, text=True, check=True
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found:
        raise RuntimeError(output)
    return float(found.group(1))


def run() -> Result:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing: `make bench` installs it (Debian package wrk)")
    port = _free_port()
    env = {**os.environ, "DJANGO_ROOT_URLCONF": "bench.web_urls", "WEB_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "DJANGO_DEBUG": "0"}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--config", "platform/gunicorn.conf.py", "--access-logfile",
         "/dev/null", "config.wsgi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for page in PAGES.values():
            _wait_until_up(base + page)
        rps = {name: _requests_per_second(base + page) for name, page in PAGES.items()}
        # The baseline once more at the end, so drift during the run shows in the ratio's denominator.
        rps["bare"] = (rps["bare"] + _requests_per_second(base + PAGES["bare"])) / 2
    finally:
        server.terminate()
        server.wait(timeout=30)
    return Result(
        metrics={
            "home_rps_ratio_to_bare_view": round(rps["home"] / rps["bare"], 4),
            "company_rps_ratio_to_bare_view": round(rps["company"] / rps["bare"], 4),
            "bare_view_rps": round(rps["bare"], 1),
            "home_rps": round(rps["home"], 1),
            "company_rps": round(rps["company"], 1),
        },
        notes=[f"gunicorn, 2 sync workers x 2 threads; wrk -t2 -c{CONNECTIONS} -d{DURATION_S}s on loopback."],
    )
