"""Where the embedded PostgreSQL and Redis listen when no DATABASE_URL / REDIS_URL is given.

`platform/services.py` starts them; settings only compute the same addresses, so importing settings never
starts a server. Unix sockets under `.local/run/` keep them off TCP ports that another program may hold.
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"
RUN_DIR = LOCAL_DIR / "run"

POSTGRES_PORT = 5432  # only names the socket file (.s.PGSQL.5432); the server listens on no TCP port
POSTGRES_USER = "tranche"
POSTGRES_DB = "tranche"

# A unix socket path is limited to 107 bytes on Linux; a very deep checkout would exceed it.
_MAX_SOCKET_PATH = 100


def postgres_socket() -> Path:
    return RUN_DIR / f".s.PGSQL.{POSTGRES_PORT}"


def redis_socket() -> Path:
    return RUN_DIR / "redis.sock"


def _check_length(path: Path) -> None:
    if len(str(path)) > _MAX_SOCKET_PATH:
        raise RuntimeError(
            f"The project path is too deep for a unix socket ({path}); move the checkout or set "
            "DATABASE_URL and REDIS_URL to servers of your own."
        )


def database_url() -> str:
    _check_length(postgres_socket())
    return f"postgres://{POSTGRES_USER}@/{POSTGRES_DB}?host={RUN_DIR}"


def redis_url(db: int = 0) -> str:
    _check_length(redis_socket())
    return f"unix://{redis_socket()}?db={db}"
