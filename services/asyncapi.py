"""The AsyncAPI document of the whole bus: `python -m services.asyncapi` prints it.

faststream writes it from the brokers the services' own composition roots (`build`) wire: every
RPC method a service answers (with its request model), every event queue a service consumes
(with the event model) and every event a service's outbox publishes (declared beside its
subscribers). Nothing in it is written by hand, so it lists what the code does.

The services are built from their default settings, never from the environment: building
connects to nothing, and the document says the same wherever it is generated.
"""

import contextlib
import importlib
import json
import pkgutil
import sys
from importlib.metadata import version
from typing import Any, cast

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI
from pydantic import create_model

from libs import contracts
from libs.contracts.privacy import StaffReadsRecorded
from libs.contracts.rpc import RpcErrorBody, RpcMethod
from libs.servicekit.bus import declare_emitted_events
from services.auth import main as auth
from services.auth.config import AuthSettings
from services.documents import main as documents
from services.documents.config import DocumentsSettings
from services.dossier import main as dossier
from services.dossier.config import DossierSettings
from services.notifier import main as notifier
from services.notifier.config import NotifierSettings
from services.requests import main as requests
from services.requests.config import RequestsSettings
from services.signing import main as signing
from services.signing.config import SigningSettings

TITLE = "MyBroker message bus"
DESCRIPTION = (
    "RPC methods (request on the named queue, reply on the caller's `reply_to` queue with the "
    "same correlation id) and events (topic exchange `mybroker.events`, routing key "
    "`<producer>.<aggregate>.<event>`) of every MyBroker service."
)
_SCHEMAS = "#/components/schemas/{model}"


def system_brokers() -> list[RabbitBroker]:
    """The broker of every service, wired by the service's own `build` (nothing connects)."""
    return [
        auth.build(AuthSettings.model_construct()).runtime.broker,
        dossier.build(DossierSettings.model_construct()).runtime.broker,
        requests.build(RequestsSettings.model_construct()).runtime.broker,
        documents.build(DocumentsSettings.model_construct()).runtime.broker,
        signing.build(SigningSettings.model_construct()).runtime.broker,
        notifier.build(NotifierSettings.model_construct()).runtime.broker,
        gateway_broker(),
    ]


def gateway_broker() -> RabbitBroker:
    """The gateway publishes one event itself, without an outbox: the access log's staff
    reads (gateway/access_log.py); this broker only declares it for the document."""
    broker = RabbitBroker(logger=None)
    declare_emitted_events(broker, producer="gateway", events=(StaffReadsRecorded,))
    return broker


def contract_rpc_methods() -> dict[str, RpcMethod[Any, Any]]:
    """Every RPC method the contracts define, by queue."""
    methods: dict[str, RpcMethod[Any, Any]] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__):
        module = importlib.import_module(f"{contracts.__name__}.{module_info.name}")
        methods.update({value.queue: value for value in vars(module).values()
                        if isinstance(value, RpcMethod)})
    return methods


def _add_replies(document: dict[str, Any], methods: dict[str, RpcMethod[Any, Any]]) -> None:
    """Give each RPC operation its reply: faststream documents what a subscriber receives only.

    What travels back is the envelope `{result, error}`; its `result` is the method's reply.
    """
    components = document["components"]
    for operation in document["operations"].values():
        channel_name = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        method = methods.get(document["channels"][channel_name].get("address", ""))
        if method is None or operation["action"] != "receive":
            continue
        envelope = create_model(
            f"{method.reply.__name__}Envelope", result=(cast(Any, method.reply | None), None),
            error=(RpcErrorBody | None, None))
        schema = envelope.model_json_schema(ref_template=_SCHEMAS)
        for name, definition in {**schema.pop("$defs", {}), envelope.__name__: schema}.items():
            # Schemas are named by model: two different models of one name cannot both be right.
            if components["schemas"].setdefault(name, definition) != definition:
                raise ValueError(f"two different models are named {name}")
        message_name = f"{method.queue}:Reply"
        components["messages"][message_name] = {
            "title": message_name,
            "correlationId": {"location": "$message.header#/correlation_id"},
            "payload": {"$ref": _SCHEMAS.format(model=envelope.__name__)},
        }
        operation["reply"] = {
            "address": {"location": "$message.header#/reply_to"},
            "messages": [{"$ref": f"#/components/messages/{message_name}"}],
        }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every service's subscribers and published events."""
    brokers = system_brokers()
    specification = AsyncAPI(*brokers, title=TITLE, version=version("mybroker"),
                             description=DESCRIPTION, schema_version="3.0.0")
    document: dict[str, Any] = specification.to_specification().to_jsonable()
    _add_replies(document, contract_rpc_methods())
    return document


def main() -> None:
    """Print the document as JSON on stdout."""
    # What the services log while being built (e.g. "no signing key") must not mix with it.
    with contextlib.redirect_stdout(sys.stderr):
        document = asyncapi_document()
    print(json.dumps(document, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
