"""What routes depend on, as `Annotated` aliases so route signatures stay short.

`CurrentCaller` is any signed-in user, `StaffCaller` broker staff only (a client gets 403),
`GrantedDossier` a dossier id from the path that is in the caller's token grants (else 404,
before any RPC), `Rpc` the client that calls the services. `DossierIdPath` and `ObjectIdPath`
are ids in a path: anything but the strict id format (`libs.contracts.ids`) is a 422.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Protocol

import httpx
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from gateway.access_log import note_caller
from gateway.config import GatewaySettings
from gateway.login_gate import LoginGate
from gateway.office import OfficeKeeper
from gateway.read_model import ReadModel
from gateway.request_events import RequestEventHub
from gateway.tokens import DenyList, TokenVerifier
from libs.contracts.auth import AccessClaims, StaffOrigin
from libs.contracts.ids import ID_MAX_LENGTH, ID_PATTERN
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import Forbidden, NotFound, Unauthenticated


class RpcCaller(Protocol):
    """The servicekit RpcClient's calling interface (tests pass a fake with the same method)."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        """Send `request` to `method`; return its reply or raise its ServiceError."""
        ...


@dataclass
class GatewayState:
    """Everything the routes share, built once by `create_app`."""

    settings: GatewaySettings
    rpc: RpcCaller
    verifier: TokenVerifier
    deny_list: DenyList
    storage: httpx.AsyncClient
    logins: LoginGate
    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)  # readiness
    request_events: RequestEventHub = field(default_factory=RequestEventHub)  # live pages
    office: OfficeKeeper = field(default_factory=OfficeKeeper)  # the office settings, kept fresh
    read_model: ReadModel = field(default_factory=ReadModel)  # dossier reads by version


def gateway_state(request: Request) -> GatewayState:
    """The app's shared state."""
    state: GatewayState = request.app.state.gateway
    return state


async def _state_of(request: Request) -> GatewayState:
    # Dependencies are `async def`: FastAPI runs a plain `def` one in a worker thread, a hop
    # that cost more than the whole answer of a read from the read model.
    return gateway_state(request)


State = Annotated[GatewayState, Depends(_state_of)]


async def rpc_client(state: State) -> RpcCaller:
    """The RPC client of this process."""
    return state.rpc


Rpc = Annotated[RpcCaller, Depends(rpc_client)]

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token of the request, or 401."""
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("Sign in first: this needs a bearer access token.")
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


async def current_caller(token: BearerToken, state: State, request: Request) -> AccessClaims:
    """The verified claims of the bearer token (expired, forged or revoked -> 401)."""
    claims = state.verifier.verify(token)
    note_caller(request.scope.setdefault("state", {}), claims)  # the access log's "who"
    return claims


CurrentCaller = Annotated[AccessClaims, Depends(current_caller)]


async def staff_caller(claims: CurrentCaller) -> AccessClaims:
    """The caller, who must be broker staff (agent or admin)."""
    if not claims.caller().is_staff:
        raise Forbidden("Only the broker's staff may use the admin API.")
    return claims


StaffCaller = Annotated[AccessClaims, Depends(staff_caller)]


DossierIdPath = Annotated[str, Path(
    min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN,
    description="A dossier number: letters, digits, '-', '_', '.'; at most 64")]
ObjectIdPath = Annotated[str, Path(
    min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN,
    description="An object id: letters, digits, '-', '_', '.'; at most 64")]


async def granted_dossier(dossier_id: DossierIdPath, claims: CurrentCaller) -> str:
    """A dossier id from the path that the token grants; any other is "not found"."""
    if dossier_id not in claims.dossiers:
        raise NotFound("This dossier does not exist.")
    return dossier_id


GrantedDossier = Annotated[str, Depends(granted_dossier)]


def origin_of(request: Request) -> StaffOrigin:
    """Where a staff request came from, for the audit log."""
    return StaffOrigin(
        client_ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:500] or None,
    )
