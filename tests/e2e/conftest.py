"""Browser tests: Playwright drives Debian's Chromium against a live Django server on this machine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the test makes are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Save a full-page screenshot under tests/e2e/artifacts/<test name>/NN-<step>.png."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = iter(range(1, 100))

    def take(page, step: str) -> None:  # type: ignore[no-untyped-def]
        page.screenshot(path=str(folder / f"{next(count):02d}-{step}.png"), full_page=True)

    return take


@pytest.fixture
def signed_in(browser, live_server):  # type: ignore[no-untyped-def]
    """A browser page already signed in as the given user (a session made by Django's test client)."""
    from django.conf import settings
    from django.test import Client

    def make(user, viewport: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860})
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url,
        }])
        return context.new_page()

    return make
