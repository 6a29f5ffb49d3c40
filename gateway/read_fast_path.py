"""The short way for the most frequent reads: "my contracts" answered from the read model without
the framework's routing, dependency solving and response validation.

An ASGI middleware inside the edge guard and the request context (so header limits, `no-store`,
the correlation id, the trace and the request metrics apply as to any request). For
`GET /api/v1/dossiers/{id}/contracts` and `/contract-pages` it does what the routes' dependencies
do first, in the same order: the bearer token verified by the same verifier (signature, expiry,
ended sessions, dossiers taken away), then the dossier among the token's grants, then the query
as the route reads it. Only then does it ask the read model, and only for an answer the route
itself kept (same key, same ETag): a hit is sent from memory, an ETag the client already has is
304. Anything else (no token, a refused one, another dossier, an unusual query, a version not
known, nothing kept yet) goes on to the route unchanged, which answers as it always did.

The contracts page (`GET /contracts`) the same way: the session cookie checked as the pages'
dependency does, the active dossier among the token's grants, then only a page the route kept
for this reader (gateway/web/dossier_pages.py `kept_contracts_page`), with the page's headers
and cookies as the route would send them.
"""

import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.dossier_views import Paging, paging_key
from gateway.deps import GatewayState
from gateway.dossier_reads import json_key
from gateway.web.dossier_pages import kept_contracts_page
from libs.contracts.ids import ID_PATTERN
from libs.servicekit.errors import ServiceError

_ID = ID_PATTERN.removeprefix("^").removesuffix("$")
_READS = re.compile(rf"^/api/v1/dossiers/(?P<dossier>{_ID})/(?P<list>contracts|contract-pages)$")
_ROUTES = {"contracts": "/api/v1/dossiers/{dossier_id}/contracts",
           "contract-pages": "/api/v1/dossiers/{dossier_id}/contract-pages"}
_BEARER = b"bearer "


class _RouteName:
    """What the request metrics read of a route: its path template."""

    def __init__(self, path: str) -> None:
        self.path = path


_ROUTE_NAMES = {name: _RouteName(path) for name, path in _ROUTES.items()}
_PAGE = "/contracts"
_PAGE_ROUTE = _RouteName(_PAGE)


def _query(list_name: str, query_string: bytes) -> tuple[Any, ...] | None:
    """The route's key of the query, or None when the route should read it itself."""
    if list_name == "contracts":
        return () if not query_string else None
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True,
                          strict_parsing=bool(query_string), max_num_fields=8)
        fields = dict(pairs)
        if len(fields) != len(pairs):  # a repeated parameter: as the route would read it
            return None
        return paging_key(Paging.model_validate(fields))
    except (ValueError, ValidationError):
        return None


class ReadFastPath:
    """ASGI middleware: kept answers of "my contracts" straight from the read model."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from memory when everything allows it, else pass the request on."""
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == _PAGE:
            if not await self._page(scope, receive, send):
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] != "GET" or not (
                matched := _READS.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        answered = await self._answer(scope, send, matched["dossier"], matched["list"])
        if not answered:
            await self.app(scope, receive, send)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> bool:
        state: GatewayState = scope["app"].state.gateway
        if not state.read_model.versions.synchronised:
            return False
        response = kept_contracts_page(Request(scope))
        if response is None:
            return False
        scope["route"] = _PAGE_ROUTE
        await response(scope, receive, send)
        return True

    async def _answer(self, scope: Scope, send: Send, dossier_id: str, list_name: str) -> bool:
        state: GatewayState = scope["app"].state.gateway
        if not state.read_model.versions.synchronised:
            return False
        token = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == _BEARER:
                token = value[7:].strip().decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if not token:
            return False
        try:
            claims = state.verifier.verify(token)
        except ServiceError:
            return False  # the route answers the refusal
        if dossier_id not in claims.dossiers:
            return False  # the route answers "not found"
        key = _query(list_name, scope.get("query_string", b""))
        if key is None:
            return False
        answer = state.read_model.kept((dossier_id,), json_key(scope["path"], key),
                                       if_none_match=if_none_match)
        if answer is None or answer.etag is None:
            return False
        scope["route"] = _ROUTE_NAMES[list_name]  # the metrics count it under its route
        headers = [(b"etag", answer.etag.encode())]
        if answer.not_modified:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        body: bytes = answer.value
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), *headers]})
        await send({"type": "http.response.body", "body": body})
        return True
