"""The gateway's OpenAPI, fuzzed by schemathesis on the real processes, as a client and as staff.

Every operation of the client and admin APIs gets generated requests within (and around) its
schema: none may answer a server error, and every answer must conform to the document (status
codes, content types, response schemas). Client routes run in the client's own dossier, so
the fuzzing reaches the services instead of stopping at "not your dossier" (the authorization
matrix covers that). A fixed example budget per operation keeps the run bounded.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Err, Ok

from deploy.local.seed_demo import bearer, import_dossier
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, new_client, staff_log_in

pytestmark = pytest.mark.system

DUPONT = fixture_dossier("dupont")["dossier_id"]
EXAMPLES_PER_OPERATION = 12
TOKEN_SECONDS = 240  # access tokens live five minutes: log in again before then


@dataclass
class Callers:
    """Who calls: the office admin on /admin, a client of the Dupont dossier elsewhere."""

    stack: SystemStack
    client: ClientLogin
    tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    def headers(self, path: str) -> dict[str, str]:
        """A fresh bearer token of the caller who may use `path`."""
        who = "admin" if path.startswith("/admin") else "client"
        issued, token = self.tokens.get(who, (0.0, ""))
        if time.monotonic() - issued > TOKEN_SECONDS:
            with httpx.Client(base_url=self.stack.gateway_url, timeout=30.0) as gateway:
                token = (staff_log_in(self.stack, gateway) if who == "admin"
                         else self.client.log_in(gateway))
            self.tokens[who] = (time.monotonic(), token)
        return bearer(token)


@pytest.fixture(scope="module")
def callers(system_stack: SystemStack) -> Iterator[Callers]:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossier(gateway, staff_log_in(system_stack, gateway), fixture_dossier("dupont"))
        client = new_client(system_stack, gateway, "Pieter Fuzz", [DUPONT])
    yield Callers(system_stack, client)


def operations(stack: SystemStack, callers: Callers) -> Iterator[Any]:
    """Every operation of both documents: the client API's (public) and the admin API's (for
    signed-in staff only)."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30.0) as gateway:
        client_api = gateway.get("/api/openapi.json").json()
        staff_cookie = {"mb_access": callers.headers("/admin")["Authorization"].split()[1]}
        admin_api = httpx.get(f"{stack.gateway_url}/admin/api-docs/openapi.json",
                              cookies=staff_cookie, timeout=30.0).json()
    for document in (client_api, admin_api):
        yield from schemathesis.openapi.from_dict(document).get_all_operations()


# Valid requests: no server error, and every answer as documented (status, media type,
# body). Not `positive_data_acceptance`: a schema-valid request may still break a rule of a
# service (an import rule, an unknown status), answered 422 with its fields as documented.
# Invalid requests: no server error and documented answers; not `negative_data_rejection`, as
# every call here carries a valid token, and unknown query parameters are ignored by design.
RESPONSE_CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
                   checks.content_type_conformance, checks.response_schema_conformance]
CHECKS = {GenerationMode.POSITIVE: RESPONSE_CHECKS, GenerationMode.NEGATIVE: RESPONSE_CHECKS}
# A live stream (server-sent events) never ends by itself: a generated call would wait until its
# token expires. Its opening and refusals are the authorization matrix's (CLIENT_STREAMS).
STREAMS = {"/api/v1/dossiers/{dossier_id}/requests/events"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid requests", "invalid requests"])
def test_no_operation_breaks_or_strays_from_its_schema(
    system_stack: SystemStack, callers: Callers, mode: GenerationMode
) -> None:
    failures: dict[str, str] = {}
    for loaded in operations(system_stack, callers):
        if isinstance(loaded, Err):
            failures[str(loaded.err())] = "the document describes this operation wrongly"
            continue
        assert isinstance(loaded, Ok)
        operation = loaded.ok()
        if operation.path in STREAMS:
            continue
        in_own_dossier = ({"dossier_id": DUPONT} if not operation.path.startswith("/admin")
                          and "{dossier_id}" in operation.path else None)

        @given(case=operation.as_strategy(generation_mode=mode,
                                          path_parameters=in_own_dossier))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.call_and_validate(base_url=system_stack.gateway_url,
                                   headers=callers.headers(case.path), checks=CHECKS[mode])

        try:
            call()
        except Unsatisfiable:  # nothing invalid can be sent (no parameters, no body)
            continue
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - all are reported
            failures[operation.label] = str(failure)[:1500]
    assert failures == {}, "\n\n".join(f"{label}: {why}" for label, why in failures.items())
