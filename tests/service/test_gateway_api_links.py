"""Both API documents hold together: every reference resolves, and every OpenAPI link leads to
an operation of the same document, names that operation's parameters and takes them from where
the answer (or the call) has them; a client developer can follow them, and so does the stateful
fuzzing."""

from collections.abc import Iterator
from typing import Any

import pytest

from libs.contracts.caller import Role
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import sign_in_as_staff

Document = dict[str, Any]


@pytest.fixture
def documents(gateway: Gateway) -> dict[str, Document]:
    client = gateway.client.get("/api/openapi.json").json()
    sign_in_as_staff(gateway, Role.ADMIN)
    admin = gateway.client.get("/admin/api-docs/openapi.json").json()
    return {"client": client, "admin": admin}


def links_of(document: Document) -> Iterator[tuple[str, str, str, str, dict[str, Any]]]:
    """(path, method, status, link name, link) of every link in the document."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                for name, link in answer.get("links", {}).items():
                    yield path, method, status, name, link


def target_of(document: Document, reference: str) -> tuple[str, str, Document]:
    """The (path, method, operation) a `#/paths/...` operationRef points at."""
    assert reference.startswith("#/paths/"), reference
    escaped_path, method = reference.removeprefix("#/paths/").rsplit("/", 1)
    path = escaped_path.replace("~1", "/").replace("~0", "~")
    return path, method, document["paths"].get(path, {}).get(method)


def schema_at(document: Document, schema: Document, pointer: str) -> Document | None:
    """The part of a response schema a `$response.body#/...` pointer reaches (None: nowhere)."""
    for step in [part for part in pointer.split("/") if part]:
        while "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
        choices = [option for option in schema.get("anyOf", [schema])
                   if option.get("type") != "null"]
        schema = choices[0]
        while "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
        if step.isdigit():
            if schema.get("type") != "array":
                return None
            schema = schema["items"]
        elif step in schema.get("properties", {}):
            schema = schema["properties"][step]
        else:
            return None
    return schema


def parameter_names(operation: Document, where: str) -> set[str]:
    return {parameter["name"] for parameter in operation.get("parameters", [])
            if parameter["in"] == where}


def references_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from references_in(value)


def test_every_reference_resolves_in_its_document(documents: dict[str, Document]) -> None:
    """A request body written by hand names no model the document lacks (a code generator, and
    the fuzzing, would give up on that operation)."""
    dangling = []
    for half, document in documents.items():
        for reference in set(references_in(document)):
            node: Any = document
            for step in reference.removeprefix("#/").split("/"):
                step = step.replace("~1", "/").replace("~0", "~")
                node = node.get(step) if isinstance(node, dict) else None
            if node is None:
                dangling.append(f"{half}: {reference}")
    assert dangling == []


def test_every_link_leads_to_an_operation_of_its_document_and_takes_values_that_exist(
    documents: dict[str, Document],
) -> None:
    wrong = []
    for half, document in documents.items():
        for path, method, status, name, link in links_of(document):
            source = document["paths"][path][method]
            target_path, target_method, target = target_of(document, link["operationRef"])
            where = f"{half}: {method.upper()} {path} {status} {name}"
            if target is None:
                wrong.append(f"{where}: no {target_method.upper()} {target_path} here")
                continue
            takes = parameter_names(target, "path") | parameter_names(target, "query")
            if not parameter_names(target, "path") <= set(link["parameters"]):
                wrong.append(f"{where}: not every path parameter of the target is given")
            for parameter, expression in link["parameters"].items():
                if parameter not in takes:
                    wrong.append(f"{where}: the target takes no {parameter}")
                kind, _, rest = expression.partition("#")
                if kind == "$response.body":
                    answer = source["responses"][status]["content"]["application/json"]
                    if schema_at(document, answer["schema"], rest) is None:
                        wrong.append(f"{where}: the answer has no {rest}")
                elif kind.startswith("$request.path."):
                    if kind.removeprefix("$request.path.") not in parameter_names(source, "path"):
                        wrong.append(f"{where}: the call has no {kind}")
                elif kind.startswith("$request.query."):
                    if kind.removeprefix("$request.query.") not in parameter_names(source, "query"):
                        wrong.append(f"{where}: the call has no {kind}")
                else:
                    wrong.append(f"{where}: {expression} is not an expression used here")
    assert wrong == []


def test_what_a_call_creates_leads_to_where_it_is_read_and_handled(
    documents: dict[str, Document],
) -> None:
    def followed(document: Document, method: str, path: str, status: str) -> dict[str, str]:
        links = document["paths"][path][method]["responses"][status]["links"]
        return {name: " ".join(target_of(document, link["operationRef"])[1::-1])
                for name, link in links.items()}

    client, admin = documents["client"], documents["admin"]
    dossier = "/api/v1/dossiers/{dossier_id}"
    assert followed(client, "post", f"{dossier}/messages", "201") == {
        "ReadRequest": f"get {dossier}/requests/{{request_id}}",
        "Reply": f"post {dossier}/requests/{{request_id}}/replies"}
    assert followed(client, "post", f"{dossier}/documents", "201")["DownloadDocument"] == (
        f"get {dossier}/documents/{{document_id}}/content")
    invited = followed(admin, "post", "/admin/api/v1/invitations", "201")
    assert invited["ResendInvitation"] == "post /admin/api/v1/users/{user_id}/invitation/resend"
    assert invited["RevokeInvitation"] == "post /admin/api/v1/users/{user_id}/invitation/revoke"


def test_no_list_leads_to_disabling_or_erasing(documents: dict[str, Document]) -> None:
    """A list's first item may be anyone's: its links read or handle it, never end an account
    or erase a dossier (only what the same call just created is offered for that)."""
    for document in documents.values():
        for path, method, _, name, link in links_of(document):
            target_path, target_method, _ = target_of(document, link["operationRef"])
            destructive = target_path.endswith(("/erasure", "/disable")) and (
                target_method == "post")
            assert not (destructive and method == "get"), f"{path} -> {name}"


def test_a_failure_is_documented_as_the_problem_it_is_sent_as(
    documents: dict[str, Document],
) -> None:
    """Failures are sent as application/problem+json: that is where their schema is, so a
    client (and the fuzzing's schema check) reads a problem's fields from the document; a route
    describing a failure in its own words keeps it a problem. Only an answer with a body of its
    own (a 409 "signed before" with the offer) is JSON."""
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    wrong = []
    for half, document in documents.items():
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for status, answer in operation["responses"].items():
                    content = answer.get("content", {})
                    own_body = list(content) == ["application/json"] and (
                        content["application/json"] != problem)
                    if status[0] in "45" and content != {"application/problem+json": problem} \
                            and not own_body:
                        wrong.append(f"{half}: {method.upper()} {path} {status}")
    assert wrong == []
