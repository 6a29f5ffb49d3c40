"""Composition root of the gateway: `create_app(settings)`; `python -m gateway` serves it."""

import asyncio
import contextlib
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from gateway import api_docs
from gateway.access_log import StaffReadBuffer, StaffReadMiddleware
from gateway.api import (
    admin,
    admin_documents,
    admin_requests,
    admin_signing,
    client_sheet,
    documents,
    dossier_views,
    dossiers,
    forms,
    health,
    me,
    privacy_exports,
    request_events,
    requests,
)
from gateway.api import auth as auth_routes
from gateway.api import mobile_signing as mobile_signing_api
from gateway.api import privacy as privacy_api
from gateway.api import signing as signing_api
from gateway.api.admin_accounts import router as admin_accounts_router
from gateway.api.admin_mails import router as admin_mails_router
from gateway.api.admin_office import router as admin_office_router
from gateway.api.eid import router as eid_router
from gateway.api.registration import router as registration_router
from gateway.config import GatewaySettings
from gateway.deps import GatewayState, RpcCaller
from gateway.edge import MAX_HEADER_BYTES, SERVER_PARSER, EdgeGuard
from gateway.login_gate import LoginGate
from gateway.observability import RequestContext
from gateway.office import OfficeListener
from gateway.problems import PROBLEM_RESPONSES, install_problem_handlers
from gateway.read_fast_path import ReadFastPath
from gateway.read_model import DossierEventListener
from gateway.request_events import RequestEventHub, RequestEventListener
from gateway.tokens import (
    DenyList,
    RevocationListener,
    RevokedGrants,
    TokenVerifier,
    load_public_key,
)
from gateway.web import (
    admin_desk_actions,
    admin_desk_pages,
    admin_list_pages,
    client_sheet_pages,
    document_pages,
    dossier_pages,
    mobile_signing_pages,
    pages,
    privacy_export_pages,
    request_pages,
    signing_pages,
)
from gateway.web.access_pages import router as access_pages_router
from gateway.web.admin_document_pages import router as admin_document_pages_router
from gateway.web.admin_mail_pages import router as admin_mail_pages_router
from gateway.web.admin_office_pages import router as admin_office_pages_router
from gateway.web.admin_pages import router as admin_pages_router
from gateway.web.claim_form_pages import router as claim_form_pages_router
from gateway.web.data_change_pages import router as data_change_pages_router
from gateway.web.eid_pages import router as eid_pages_router
from gateway.web.form_pages import router as form_pages_router
from gateway.web.notification_pages import router as notification_pages_router
from gateway.web.office_assets import router as office_assets_router
from gateway.web.privacy_pages import router as privacy_pages_router
from gateway.web.registration_pages import router as registration_pages_router
from gateway.web.rendering import PageRenderer
from gateway.web.session import SessionRefresher
from gateway.web.signing_request_pages import router as signing_request_pages_router
from libs.contracts import auth, office
from libs.contracts.envelope import utc_now
from libs.servicekit import memory
from libs.servicekit.logs import configure_logging, get_logger
from libs.servicekit.rpc import RpcClient

log = get_logger(__name__)
RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
STATIC_DIR = Path(__file__).parent / "web" / "static"
# pdf.js is loaded as ES modules (.mjs): a browser runs a module only with a JavaScript type, and
# a slim image may lack /etc/mime.types, where Python would learn the extension.
mimetypes.add_type("text/javascript", ".mjs")


async def _retry(what: str, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` until it succeeds, backing off; the gateway stays up (not ready) meanwhile."""
    delay = RETRY_SECONDS
    while True:
        try:
            await action()
        except Exception as error:  # noqa: BLE001 - keep serving, report not-ready, retry
            log.warning(f"{what} failed; retrying", error=str(error) or type(error).__name__,
                        retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
        else:
            return


def create_app(
    settings: GatewaySettings,
    rpc: RpcCaller | None = None,
    *,
    storage: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The gateway app; tests pass a fake `rpc` (and a `storage` client on a mock transport)."""
    deny_list = DenyList(settings.access_token_max_seconds)
    revoked_grants = RevokedGrants(settings.access_token_max_seconds)
    verifier = TokenVerifier(deny_list, leeway_seconds=settings.token_leeway_seconds,
                             revoked_grants=revoked_grants)
    bus_client = RpcClient(settings.amqp_url, timeout_seconds=settings.rpc_timeout_seconds)
    rpc_caller: RpcCaller = rpc if rpc is not None else bus_client
    storage_client = storage or httpx.AsyncClient(
        timeout=httpx.Timeout(settings.storage_timeout_seconds), follow_redirects=False)
    state = GatewayState(settings=settings, rpc=rpc_caller, verifier=verifier,
                         deny_list=deny_list, storage=storage_client,
                         logins=LoginGate(in_flight=settings.logins_in_flight,
                                          waiting=settings.logins_waiting,
                                          max_wait_seconds=settings.rpc_timeout_seconds),
                         request_events=RequestEventHub(
                             queue_size=settings.request_stream_queue,
                             per_account=settings.request_streams_per_account,
                             max_streams=settings.request_streams_max))
    state.checks["token_key"] = lambda: verifier.has_key
    state.checks["bus"] = (lambda: True) if rpc is not None else (lambda: bus_client.connected)

    async def load_key() -> None:
        if not settings.jwt_public_key_path:
            raise ValueError("MYBROKER_GATEWAY_JWT_PUBLIC_KEY_PATH is not set")
        verifier.use_key(load_public_key(settings.jwt_public_key_path))

    async def load_revoked_sessions() -> None:
        since = utc_now() - timedelta(seconds=settings.access_token_max_seconds)
        revoked = await rpc_caller.call(
            auth.LIST_REVOKED_SESSIONS, auth.RevokedSessionsRequest(since=since))
        for session_id in revoked.session_ids:
            deny_list.add(session_id)
        for grant in revoked.grants:
            revoked_grants.add(grant.user_id, grant.dossier_id, grant.revoked_at)
        log.info("revoked sessions loaded", count=len(revoked.session_ids),
                 grants=len(revoked.grants))

    listener = RevocationListener(settings.amqp_url, deny_list, load_revoked_sessions,
                                  revoked_grants=revoked_grants)
    async def load_office() -> None:
        if state.office.offer(await rpc_caller.call(office.GET_OFFICE, office.GetOfficeRequest())):
            log.info("office settings loaded", version=state.office.current().version)

    # Until auth answers, the pages show the neutral defaults; then each change as it comes.
    office_listener = OfficeListener(settings.amqp_url, state.office, load_office)
    # Not a readiness check: without the bus the pages still work, only not live.
    request_listener = RequestEventListener(settings.amqp_url, state.request_events)
    # The access log: staff reads, published in batches (a fake `rpc` of tests may publish).
    staff_reads = StaffReadBuffer(bus_client.publish_event if rpc is None
                                  else getattr(rpc, "publish_event", None))
    # Not a readiness check either: without it every dossier read goes to the service.
    dossier_listener = DossierEventListener(settings.amqp_url, state.read_model.versions)

    async def connect_bus() -> None:
        await _retry("connecting the RPC client", bus_client.connect)
        log.info("message bus connected")
        # Listen first, then load the list: no revocation can fall between the two.
        await _retry("starting the revocation listener", listener.start)
        await _retry("loading revoked sessions", load_revoked_sessions)
        # The same order for the office settings: listen, then ask.
        await _retry("starting the office settings listener", office_listener.start)
        await _retry("loading the office settings", load_office)

    background: list[asyncio.Task[None]] = []

    async def try_then_retry(what: str, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except Exception:  # noqa: BLE001 - not fatal: retried in the background
            background.append(asyncio.create_task(_retry(what, action)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await try_then_retry("loading the token public key", load_key)
        background.append(asyncio.create_task(staff_reads.run()))
        if rpc is None:
            background.append(asyncio.create_task(connect_bus()))
            background.append(asyncio.create_task(
                _retry("starting the request event listener", request_listener.start)))
            background.append(asyncio.create_task(
                _retry("starting the dossier read model", dossier_listener.start)))
        else:
            await try_then_retry("loading revoked sessions", load_revoked_sessions)
            await try_then_retry("loading the office settings", load_office)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):
                await listener.close()
            with contextlib.suppress(Exception):
                await request_listener.close()
            with contextlib.suppress(Exception):
                await office_listener.close()
                await dossier_listener.close()
            if rpc is None:
                await bus_client.close()
            if storage is None:
                await storage_client.aclose()

    app = FastAPI(
        title="MyBroker gateway", version="1", lifespan=lifespan,
        # The OpenAPI documents and Swagger UI are gateway.api_docs' routes.
        docs_url=None, openapi_url=None, redoc_url=None,
        # RequestContext opens each request's span (continuing `traceparent`) and counts it in
        # Prometheus; FastAPI's own OpenTelemetry would add a second server span and one per
        # operation to every request (about an eighth of the gateway's CPU on "my contracts").
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = state
    app.state.staff_reads = staff_reads
    app.state.pages = PageRenderer(settings, SessionRefresher(rpc_caller), state.office)
    install_problem_handlers(app, app.state.pages.render_error)
    app.add_middleware(StaffReadMiddleware, buffer=staff_reads)  # the access log
    app.add_middleware(ReadFastPath)  # kept answers of "my contracts" without the routing
    app.add_middleware(EdgeGuard)  # header limits (431), Cache-Control: no-store
    app.add_middleware(RequestContext)
    include_routes(
        app,
        # requests.router's `requests/{request_id}`: a route with a fixed segment there (events)
        # must come before it; so the forms' /admin/api/v1/requests/changes come first.
        forms.router, forms.admin_router,
        auth_routes.router, me.router, dossiers.router, documents.router, request_events.router,
        requests.router, admin.router, health.router, pages.router, admin_documents.router,
        # The request desk; a route with a fixed segment after requests/ (events, changes)
        # must come before it, or `{request_id}` takes that segment for an id.
        admin_requests.router,
        api_docs.router,  # public client API docs, staff-only admin docs
        document_pages.router, admin_document_pages_router,  # the staff's upload page
        admin_mails_router, admin_mail_pages_router,  # mail problems, mail logs
        notification_pages_router,  # "Mijn meldingen"
        access_pages_router, registration_router, admin_accounts_router,  # access and accounts
        registration_pages_router, eid_router, eid_pages_router, admin_pages_router,
        admin_list_pages.router,
        dossier_views.router, dossier_views.admin_router, dossier_pages.router,
        client_sheet.router, client_sheet.admin_router, client_sheet_pages.router,  # manual 4.5
        request_pages.router,  # "Mijn aanvragen", new message, the page stream
        admin_desk_pages.router, admin_desk_actions.router,  # the request desk
        signing_api.router, admin_signing.router, signing_pages.router,  # the checkbox, then
        mobile_signing_api.router, mobile_signing_api.admin_router,  # the mobile signature
        mobile_signing_pages.router,
        signing_request_pages_router,  # the office's form of a signature request
        form_pages_router,  # the request forms' pages (manual 4.1-4.4)
        data_change_pages_router,
        office_assets_router, admin_office_router, admin_office_pages_router,  # the office's look
        claim_form_pages_router,
        privacy_api.router, privacy_api.admin_router, privacy_pages_router,  # access log, erasure
        privacy_exports.router, privacy_exports.admin_router,  # the client's data export
        privacy_export_pages.router,  # (GDPR articles 15 and 20)
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def include_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Put the routers' own routes on the app, in this order (the first match wins).

    Not `app.include_router`: FastAPI keeps an included router aside and, at its first match,
    builds a second copy of each of its routes (dependencies, the response model's validator
    and serializer), about 16 MiB for the gateway. A router here already carries what its routes
    need (prefix, tags, and for the API the problem answers, see `api_router`), so the app
    holds the routes themselves."""
    for router in routers:
        if router.on_startup or router.on_shutdown or router.dependencies:
            raise RuntimeError("a router's start/stop handlers or dependencies would be lost")
        for route in router.routes:
            if (isinstance(route, APIRoute) and route.include_in_schema
                    and not PROBLEM_RESPONSES.keys() <= route.responses.keys()):
                raise RuntimeError(f"{route.path}: make its router with api_router(), so the "
                                   "API documents its problem answers")
            app.router.routes.append(route)


def main() -> None:
    """Serve the gateway on its host and port until SIGINT/SIGTERM."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    memory.bound_malloc()
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            http=SERVER_PARSER, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                            log_config=None, access_log=False, proxy_headers=True,
                            forwarded_allow_ips=forwarded_allow_ips(settings))
    _Server(config, app.state.gateway.request_events).run()


class _Server(uvicorn.Server):
    """uvicorn waits for every answer in progress before it stops: live streams never end on
    their own, so they are ended when the stop begins (the clients reconnect elsewhere)."""

    def __init__(self, config: uvicorn.Config, streams: RequestEventHub) -> None:
        super().__init__(config)
        self._streams = streams

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start the stop: end the live streams, then as uvicorn does."""
        with contextlib.suppress(RuntimeError):  # no loop running (yet)
            asyncio.get_event_loop().call_soon_threadsafe(self._streams.end_all)
        super().handle_exit(sig, frame)


def forwarded_allow_ips(settings: GatewaySettings) -> list[str]:
    """Where uvicorn takes X-Forwarded-For/-Proto from: the configured proxy networks, else
    loopback only. The client address (per-IP login back-off, audit log) comes from the header
    only on a connection from there; anyone else's header is ignored. Passed explicitly, so
    uvicorn's own FORWARDED_ALLOW_IPS variable is never read: one setting decides."""
    return [str(network) for network in settings.proxy_networks()] or ["127.0.0.1", "::1"]
