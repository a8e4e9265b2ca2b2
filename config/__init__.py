"""The Django project package: settings, URLs, the Celery app, ASGI/WSGI entry points."""

import devnet  # noqa: F401 - first: it points eth-hash at the C keccak backend before anything hashes
from config.celery import app as celery_app

__all__ = ["celery_app"]
