"""System-test fixtures: the running stack, an HTTP client on its gateway, two clients."""

from collections.abc import Iterator

import httpx
import pytest

from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    import_dossiers,
    new_client,
    staff_log_in,
    system_stack,
)

__all__ = ["system_stack"]  # the session stack, shared with tests/browser

DUPONT = fixture_dossier("dupont")["dossier_id"]
PEETERS = fixture_dossier("peeters")["dossier_id"]


@pytest.fixture(scope="session")
def gateway(system_stack: SystemStack) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway, as a browser or the mobile app would use it."""
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def staff_token(system_stack: SystemStack, gateway: httpx.Client) -> str:
    """A fresh access token of the office admin."""
    return staff_log_in(system_stack, gateway)


@pytest.fixture(scope="session")
def office_dossiers(system_stack: SystemStack, gateway: httpx.Client) -> tuple[str, str]:
    """The Dupont and Peeters dossiers, imported by the office."""
    import_dossiers(system_stack, gateway, "dupont", "peeters")
    return DUPONT, PEETERS


@pytest.fixture(scope="session")
def dupont_client(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str]
) -> ClientLogin:
    """Pieter Dupont, invited to and activated for the Dupont dossier only."""
    return new_client(system_stack, gateway, "Pieter Dupont", [DUPONT])


@pytest.fixture(scope="session")
def peeters_client(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str]
) -> ClientLogin:
    """An Peeters, invited to and activated for the Peeters dossier only."""
    return new_client(system_stack, gateway, "An Peeters", [PEETERS])
