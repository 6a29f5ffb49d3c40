"""The event contract: the AsyncAPI document faststream generates from the services' wiring lists
every event and RPC method of the contracts with its schema, and every event the services' code
emits — an event a service starts to emit without declaring it fails here."""

import ast
import importlib
import pkgutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from libs import contracts
from libs.contracts.envelope import Event
from services.asyncapi import asyncapi_document, contract_rpc_methods

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = "#/components/schemas/"


def contract_events() -> dict[str, type[Event]]:
    """Every event class of libs/contracts, by class name."""
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"{contracts.__name__}.{module.name}")
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        event_type = pending.pop()
        pending.extend(event_type.__subclasses__())
        if event_type.__module__.startswith(contracts.__name__ + "."):
            found[event_type.__name__] = event_type
    return found


@pytest.fixture(scope="module", name="document")
def document_fixture() -> dict[str, Any]:
    # faststream warns, and keeps one of them, when two channels or two payload schemas share a
    # name: the document would then describe one of them wrongly.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return asyncapi_document()


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` names inside the document."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any], action: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(address, operation) of every operation that sends or receives."""
    for operation in document["operations"].values():
        if operation["action"] == action:
            yield resolve(document, operation["channel"]).get("address", ""), operation


def payload(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    [message] = operation["messages"]
    return resolve(document, resolve(document, resolve(document, message))["payload"])


def assert_describes(document: dict[str, Any], schema: dict[str, Any],
                     model: type[BaseModel]) -> None:
    """`schema` is `model`'s: the same fields, the same required ones, nested models present."""
    assert schema.get("title") == model.__name__
    assert set(schema["properties"]) == set(model.model_fields)
    assert set(schema.get("required", [])) == {
        name for name, field in model.model_fields.items() if field.is_required()}
    for field_schema in schema["properties"].values():
        for reference in _references(field_schema):
            assert reference.removeprefix(SCHEMAS) in document["components"]["schemas"]


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_every_contract_event_is_published_and_described(document: dict[str, Any]) -> None:
    events = contract_events()
    assert len(events) >= 19
    sent = dict(operations(document, "send"))
    for event_type in events.values():
        assert event_type.routing_key in sent, f"{event_type.__name__} is not in the document"
        assert_describes(document, payload(document, sent[event_type.routing_key]), event_type)


def test_every_consumed_event_queue_is_described_by_its_event(document: dict[str, Any]) -> None:
    by_key = {event_type.routing_key: event_type for event_type in contract_events().values()}
    consumed = [(address, operation) for address, operation in operations(document, "receive")
                if address in by_key]
    assert {address for address, _ in consumed} >= {
        "requests.request.submitted", "auth.invitation.created", "documents.document.published"}
    for address, operation in consumed:
        assert_describes(document, payload(document, operation), by_key[address])


def test_every_rpc_method_is_described_with_its_request_and_reply(
    document: dict[str, Any],
) -> None:
    methods = contract_rpc_methods()
    assert len(methods) >= 60
    received = dict(operations(document, "receive"))
    for queue, method in methods.items():
        assert queue in received, f"RPC method {queue} is not in the document"
        assert_describes(document, payload(document, received[queue]), method.request)
        [reply] = received[queue]["reply"]["messages"]
        envelope = resolve(document, resolve(document, reply)["payload"])
        assert set(envelope["properties"]) == {"result", "error"}
        result = envelope["properties"]["result"]["anyOf"][0]
        assert_describes(document, resolve(document, result), method.reply)


def document_references(document: dict[str, Any]) -> set[str]:
    return set(_references(document))


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    for reference in document_references(document):
        assert resolve(document, {"$ref": reference}), reference


# --- events the code emits -------------------------------------------------------------------

def emitted_event_names(source: str, event_names: set[str]) -> set[str]:
    """Event classes a service's code uses as values: constructs, or keeps to construct later.

    Not counted: a type annotation (a consumer's handler parameter) and the `event_type=` of a
    subscription (what a service consumes, not what it emits).
    """
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            skipped.update(id(inner) for inner in ast.walk(node.annotation))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            skipped.update(id(inner) for inner in ast.walk(node.returns))
        elif isinstance(node, ast.keyword) and node.arg == "event_type":
            skipped.update(id(inner) for inner in ast.walk(node.value))
    used: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            used.add(node.attr)
    return used & event_names


def undocumented_emitted_events(
    sources: dict[str, str], events: dict[str, type[Event]], document: dict[str, Any],
) -> dict[str, set[str]]:
    """Per source file, the events its code emits whose routing key the document never sends."""
    sent = {address for address, _ in operations(document, "send")}
    missing: dict[str, set[str]] = {}
    for name, source in sources.items():
        unlisted = {event for event in emitted_event_names(source, set(events))
                    if events[event].routing_key not in sent}
        if unlisted:
            missing[name] = unlisted
    return missing


def test_every_event_the_services_emit_is_in_the_document(document: dict[str, Any]) -> None:
    sources = {str(path.relative_to(ROOT)): path.read_text()
               for path in sorted((ROOT / "services").rglob("*.py"))}
    events = contract_events()
    emitted = set().union(*(emitted_event_names(source, set(events))
                            for source in sources.values()))
    # The scan sees the emitters it must: the outbox of each producing service.
    assert {"RequestSubmitted", "DossierChanged", "PersonChanged", "InvitationCreated",
            "DocumentsBatchPublished", "LoginLockedOut"} <= emitted
    assert undocumented_emitted_events(sources, events, document) == {}


class ParcelShipped(Event):
    """An event no service declares: the check must catch a service that emits it."""

    routing_key = "requests.parcel.shipped"
    parcel_id: str


def test_an_emitted_event_the_document_does_not_list_fails_the_check(
    document: dict[str, Any],
) -> None:
    handler = (
        "from libs.contracts.requests import RequestSubmitted\n"
        "from tests.unit.test_asyncapi_contract import ParcelShipped\n\n"
        "async def ship(store, parcel_id: str, event: RequestSubmitted) -> None:\n"
        "    await store.save(parcel_id, ParcelShipped(parcel_id=parcel_id))\n"
    )
    consumer = "subscribe_event(broker, event_type=ParcelShipped, handle=ship)\n"
    events: dict[str, type[Event]] = {**contract_events(), "ParcelShipped": ParcelShipped}
    missing = undocumented_emitted_events(
        {"services/requests/shipping.py": handler, "services/notifier/subscribers.py": consumer},
        events, document)
    assert missing == {"services/requests/shipping.py": {"ParcelShipped"}}
