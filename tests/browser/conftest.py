"""Browser-test fixtures: Debian chromium driven by Playwright, on the system tests' stack."""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    import_dossiers,
    new_client,
    system_stack,
)

__all__ = ["system_stack"]  # the session stack, shared with tests/system

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# Module scope, not session: the sync API keeps an event loop running in this thread while it
# is open, and pytest-asyncio cannot run the async tests collected after these meanwhile.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver (sync API)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian chromium."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          headless=True)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def dupont_family(system_stack: SystemStack) -> ClientLogin:
    """A client of the Dupont dossier, invited and activated through the gateway."""
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont")
        return new_client(system_stack, gateway, "Pieter Dupont",
                          [fixture_dossier("dupont")["dossier_id"]])

