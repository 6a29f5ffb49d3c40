"""Dossier reads through the read model (gateway/read_model.py), for the API and the pages.

Every function here is called by a route that has already authorized the caller for the dossier
(`GrantedDossier`, or the page's active dossier from the token's grants): the read model is
asked only after that, and its keys always hold the dossier id.
"""

from collections.abc import Awaitable, Callable, Hashable

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.deps import GatewayState
from libs.contracts.envelope import office_day, utc_now
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod

ETAG = "ETag"


def today() -> str:
    """Some answers depend on the day (an invoice due yesterday is overdue today)."""
    return office_day(utc_now()).isoformat()


def json_key(path: str, key: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """The read model's key of a JSON answer: its path (which holds the dossier), the day, and
    what of the query it depends on (gateway/read_fast_path.py looks answers up by it too)."""
    return ("json", path, today(), *key)


async def versioned_json(
    request: Request, state: GatewayState, dossier_id: str, key: tuple[Hashable, ...],
    produce: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """The JSON answer of one read of `dossier_id`: from memory when this version was read
    before, 304 when the client already has it (`If-None-Match`), else `produce`d by the service.
    The ETag is the version's (+ the query's): any change of the dossier changes it."""

    async def body() -> bytes:
        return (await produce()).model_dump_json().encode()

    answer = await state.read_model.read(
        (dossier_id,), json_key(request.url.path, key), body,
        if_none_match=request.headers.get("if-none-match"))
    headers = {ETAG: answer.etag} if answer.etag else None
    if answer.not_modified:
        return Response(status_code=304, headers=headers)
    return Response(answer.value, media_type="application/json", headers=headers)


async def cached_call(
    state: GatewayState, dossier_ids: tuple[str, ...], method: RpcMethod[RequestT, ReplyT],
    request: RequestT, key: tuple[Hashable, ...],
) -> ReplyT:
    """`method`'s reply for `request` about `dossier_ids` (all granted to the caller), kept in
    the read model while their versions last. `key` must hold everything of the request that
    the reply depends on besides the dossiers (the caller is only checked by the service)."""

    async def call() -> ReplyT:
        return await state.rpc.call(method, request)

    return await state.read_model.read_reply(dossier_ids, (method.queue, today(), *key), call,
                                             method.reply)
