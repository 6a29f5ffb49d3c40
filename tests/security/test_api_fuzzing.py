"""The gateway's OpenAPI, fuzzed by schemathesis on the real processes, as a client and as staff.

Every operation of the client and admin APIs gets generated requests within (and around) its
schema: none may answer a server error, and every answer must conform to the document (status
codes, content types, response schemas). Client routes run in the client's own dossier, so
the fuzzing reaches the services instead of stopping at "not your dossier" (the authorization
matrix covers that). A fixed example budget per operation keeps the run bounded.

Then statefully: sequences of valid calls that follow the documents' OpenAPI links, so an id a
call created or listed (a message, an upload, an export, an invitation, a request on the desk) is
read, answered, revoked or disabled by the next call instead of guessed; the same checks on
every answer. (A generated dossier import seldom passes the import rules, so the links from an
imported dossier are seldom followed.) Only the
declared links are followed (no inferred ones): a list's first item may be anyone's, and the
documents link lists to reads and the desk's actions only, never to disabling or erasing.
A fixed number of scenarios and steps keeps this bounded too.
"""

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err, Ok
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import (
    APIStateMachine,
    StepInput,
    StepOutput,
    normalize_name,
)

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

    def answered(self, response: Response) -> None:
        """A 401 to a caller's own token: its session ended (a fuzzed logout or password change
        ends the very session that sent it); the next call logs in again, instead of every
        later call meeting a 401 until the token would have expired."""
        if response.status_code != 401:
            return
        sent = response.request.headers.get("Authorization", "")
        for who, (_, token) in list(self.tokens.items()):
            if sent == f"Bearer {token}":
                del self.tokens[who]


@pytest.fixture(scope="module")
def callers(system_stack: SystemStack) -> Iterator[Callers]:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossier(gateway, staff_log_in(system_stack, gateway), fixture_dossier("dupont"))
        client = new_client(system_stack, gateway, "Pieter Fuzz", [DUPONT])
    yield Callers(system_stack, client)


def documents(stack: SystemStack, callers: Callers) -> dict[str, dict[str, Any]]:
    """Both documents: the client API's (public) and the admin API's (for signed-in staff
    only)."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30.0) as gateway:
        client_api = gateway.get("/api/openapi.json").json()
        staff_cookie = {"mb_access": callers.headers("/admin")["Authorization"].split()[1]}
        admin_api = httpx.get(f"{stack.gateway_url}/admin/api-docs/openapi.json",
                              cookies=staff_cookie, timeout=30.0).json()
    return {"client API": client_api, "admin API": admin_api}


def operations(stack: SystemStack, callers: Callers) -> Iterator[Any]:
    """Every operation of both documents."""
    for document in documents(stack, callers).values():
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
            response = case.call(base_url=system_stack.gateway_url,
                                 headers=callers.headers(case.path))
            callers.answered(response)
            case.validate_response(response, checks=CHECKS[mode])

        try:
            call()
        except Unsatisfiable:  # nothing invalid can be sent (no parameters, no body)
            continue
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - all are reported
            failures[operation.label] = str(failure)[:1500]
    assert failures == {}, "\n\n".join(f"{label}: {why}" for label, why in failures.items())


# Stateful: scenarios of calls along the links, each a few steps long; a scenario starts with a
# call that needs no id (a list, or one that creates something), as ids are what the links give.
# 20 to 90 seconds for each document on two cores, as loaded (a step is one call).
SCENARIOS = 150
STEPS_PER_SCENARIO = 8
# The API's state changes under the fuzzer: a replayed prefix may get another answer (a 429
# where a 201 was), and Hypothesis then refuses to go on with that run. A new run goes on
# where it stopped, as schemathesis' own runner does; a few at most.
RESTARTS = 10
# Links followed with the value they carry and answered with a success: fewer means the links
# lead nowhere (a renamed field, a call that no longer creates anything).
FOLLOWED_AT_LEAST = 10
# Valid calls only, along the declared links only: invalid ones are the stateless test's (an
# invalid call may also be drawn without its token, and meet only 401s).
STATEFUL: dict[str, Any] = {"phases": {"stateful": {"generation": {"mode": "positive"},
                                                    "inference": {"algorithms": []}}}}


def in_own_dossier(document: dict[str, Any]) -> dict[str, Any]:
    """The client document as the client of the Dupont dossier uses it: `{dossier_id}` is that
    dossier in every path (so a list of the dossier can start a scenario, as a list without
    parameters does), and no stream that never ends."""
    mine: dict[str, Any] = json.loads(json.dumps(document).replace("{dossier_id}", DUPONT))
    for path in STREAMS:
        mine["paths"].pop(path.replace("{dossier_id}", DUPONT), None)
    for operations_of_path in mine["paths"].values():
        for operation in operations_of_path.values():
            operation["parameters"] = [
                parameter for parameter in operation.get("parameters", [])
                if (parameter["in"], parameter["name"]) != ("path", "dossier_id")]
            for answer in operation.get("responses", {}).values():
                for link in answer.get("links", {}).values():
                    link["parameters"].pop("dossier_id", None)
    return mine


@dataclass
class Progress:
    scenarios: int = 0
    followed: Counter[str] = field(default_factory=Counter)  # link -> successful calls
    answers: Counter[str] = field(default_factory=Counter)  # "GET /path 404" -> calls


def workflow(document: dict[str, Any], stack: SystemStack, callers: Callers,
             progress: Progress) -> type[APIStateMachine]:
    """The document's state machine: its calls carry the caller's token, answers are checked
    as in the stateless test, and `progress` counts scenarios and links followed."""
    schema = schemathesis.openapi.from_dict(
        document, config=SchemathesisConfig.from_dict(STATEFUL))
    machine = schema.as_state_machine()
    guessing = {normalize_name(f"RANDOM -> {loaded.ok().label}")
                for loaded in schema.get_all_operations()
                if isinstance(loaded, Ok) and "{" in loaded.ok().path}

    class Workflow(machine):  # type: ignore[valid-type, misc]
        root_rules = machine.root_rules - guessing

        def teardown(self) -> None:
            progress.scenarios += 1
            super().teardown()

        def step(self, input: StepInput) -> StepOutput:
            output: StepOutput = super().step(input)
            callers.answered(output.response)
            progress.answers[f"{input.case.method} {input.case.path} "
                             f"{output.response.status_code}"] += 1
            if (input.transition is not None and input.applied_parameters
                    and 200 <= output.response.status_code < 300):
                progress.followed[input.transition.id] += 1
            return output

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"base_url": stack.gateway_url, "headers": callers.headers(case.path)}

        def validate_response(self, response: Response, case: schemathesis.Case[Any],
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=RESPONSE_CHECKS, transport_kwargs=kwargs,
                                   recorder=self.recorder)

    # A scenario starting with a guessed id (a reply to a made-up request) is the stateless
    # test's: such a start is no rule here.
    for name in machine.root_rules & guessing:
        setattr(Workflow, name, None)
    return Workflow


@pytest.mark.parametrize("api", ["client API", "admin API"])
def test_no_sequence_of_linked_calls_breaks_or_strays_from_the_schema(
    system_stack: SystemStack, callers: Callers, api: str
) -> None:
    document = documents(system_stack, callers)[api]
    if api == "client API":
        document = in_own_dossier(document)
    progress = Progress()
    machine = workflow(document, system_stack, callers, progress)
    for _ in range(RESTARTS):
        try:
            machine.run(settings=settings(
                max_examples=SCENARIOS - progress.scenarios,
                stateful_step_count=STEPS_PER_SCENARIO, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.generate]))
        except FlakyStrategyDefinition:
            if progress.scenarios < SCENARIOS:
                continue
        break
    else:
        pytest.fail(f"{progress.scenarios} scenarios of {SCENARIOS} ran: the rest kept stopping")
    print(f"{api}: {progress.scenarios} scenarios; links followed: {dict(progress.followed)}")
    assert progress.followed.total() >= FOLLOWED_AT_LEAST, progress.answers.most_common(20)
