"""The Django project package: settings, URLs, the Celery app, ASGI/WSGI entry points."""

import importlib.util
import os

# Keccak in C for web3 and eth-account when safe-pysha3 is installed (as devnet/__init__.py does for the devnet),
# chosen before anything hashes, which is when eth-hash picks its backend.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from config.celery import app as celery_app  # noqa: E402 - after the hashing backend is chosen

__all__ = ["celery_app"]
