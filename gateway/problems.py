"""The one place where failures become HTTP answers: RFC 9457 problem details for the APIs.

A service error travels over RPC as an ErrorCode; here each code gets its HTTP status. Request
validation errors, unknown routes and unexpected failures get the same problem shape. Web pages
are not an API: their failures are handed to a page renderer that answers in HTML.
"""

from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.contracts.errors import ErrorCode
from libs.servicekit.errors import ServiceError
from libs.servicekit.logs import get_logger

log = get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:mybroker:problem:"
API_PATH_PREFIXES = ("/api/", "/admin/api/")
WWW_AUTHENTICATE = 'Bearer realm="mybroker"'
RETRY_AFTER_FIELD = "retry_after"  # seconds; a RATE_LIMITED service error may carry it
# What a 503 without its own figure tells the caller: the bus reconnects every second and a
# restarted service is back within seconds, so a short wait is enough.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.INVALID: 422,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}

class ProblemDetails(BaseModel):
    """How every API failure is answered (RFC 9457, media type application/problem+json)."""

    type: str = Field(description="urn:mybroker:problem:<code>, e.g. ...:not_found")
    title: str = Field(description="The HTTP status phrase")
    status: int
    detail: str = Field(description="What went wrong, in words a client can act on")
    instance: str = Field(description="The path that was asked")
    errors: dict[str, str] | None = Field(
        default=None, description="Invalid fields: field path -> what is wrong with it")


# Every API operation may answer these: a missing or refused token, an object that is not
# the caller's, a rule of a service, a limit, a service that cannot be reached. The OpenAPI
# document lists them for each operation, so a client (and the fuzzing) knows every answer.
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 431, 503)
# The schema is referenced, not given as a `model`: FastAPI would build a validator and a
# serializer of ProblemDetails for each status of each operation (1,500 of them, several MiB)
# only to write this reference; the API documents add the schema itself (gateway.api_docs).
PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemDetails"


def problem(status: int, description: str) -> dict[str, Any]:
    """A failure an operation describes in its own words: still a problem (its media type and
    schema), which a route's own `responses` entry would otherwise replace."""
    return {"description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem(status, HTTPStatus(status).phrase) for status in PROBLEM_STATUSES}


def api_router(prefix: str = "", *, tags: list[str]) -> APIRouter:
    """A router of API operations, each of which lists the problem answers above."""
    return APIRouter(prefix=prefix, tags=list(tags), responses=PROBLEM_RESPONSES)


PageErrorRenderer = Callable[[Request, int, str], Response]
"""Renders a readable error page: (request, HTTP status, problem code) -> HTML response."""


class Problem(Exception):
    """A failure found by the gateway itself that has no service error code (e.g. too large)."""

    def __init__(self, status: int, code: str, detail: str,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors  # the parts of the request it is about (e.g. each refused file)


class UnexpectedFailures:
    """ASGI middleware: an unexpected failure is answered here (500) and not raised further.

    Starlette's outermost error handler answers too, but then re-raises, and uvicorn closes the
    connection of a request that raised: a keep-alive client's next call on it is dropped. Only
    a failure after the answer started (a stream cut short) still goes up: that connection is
    broken anyway.
    """

    def __init__(
        self, app: ASGIApp, answer: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise
            response = await self.answer(Request(scope, receive), error)
            await response(scope, receive, send)


def status_of(error: ServiceError) -> int:
    """The HTTP status of a service error."""
    return STATUS_BY_CODE.get(error.code, 500)


def is_api_request(request: Request) -> bool:
    """True for the JSON APIs, which answer problems; web pages answer HTML."""
    return request.url.path.startswith(API_PATH_PREFIXES)


def with_retry_after(response: Response) -> Response:
    """`response` with a `Retry-After` if it is a 503 without one (RFC 9110 §10.2.3)."""
    if response.status_code == 503 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: dict[str, str] | None = None,
) -> JSONResponse:
    """An `application/problem+json` response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def field_errors(errors: Sequence[Any]) -> dict[str, str]:
    """Pydantic/FastAPI validation errors as {field path: message}, the request part dropped."""
    fields: dict[str, str] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] == "body":
            location = location[1:]
        if error.get("type") == "json_invalid":
            location = []
        fields.setdefault(".".join(location) or "body", str(error.get("msg", "invalid")))
    return fields


def install_problem_handlers(app: FastAPI, render_page_error: PageErrorRenderer) -> None:
    """Map every failure of `app` to a problem (APIs) or to a readable page (web)."""

    def answer(
        request: Request, status: int, code: str, detail: str,
        errors: dict[str, str] | None = None,
    ) -> Response:
        if is_api_request(request):
            response: Response = problem_response(request, status, code, detail, errors=errors)
        else:
            response = render_page_error(request, status, code)
        return with_retry_after(response)

    async def on_service_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ServiceError)
        status = status_of(error)
        if status >= 500:
            log.warning("service error", code=str(error.code), detail=error.detail,
                        path=request.url.path)
        fields = dict(error.fields or {})
        retry_after = fields.pop(RETRY_AFTER_FIELD, None)
        response = answer(request, status, str(error.code), error.detail, fields or None)
        if retry_after is not None and retry_after.isdigit():
            response.headers["Retry-After"] = retry_after  # the service's own figure wins
        return response

    async def on_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, Problem)
        return answer(request, error.status, error.code, error.detail, error.errors)

    async def on_request_invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError | ValidationError)
        return answer(request, 422, str(ErrorCode.INVALID), "The request is not valid.",
                      field_errors(error.errors()))

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        code = str(ErrorCode.NOT_FOUND) if error.status_code == 404 else f"http_{error.status_code}"
        detail = (
            "There is nothing at this address." if error.status_code == 404 else str(error.detail)
        )
        response = answer(request, error.status_code, code, detail)
        if error.headers:
            response.headers.update(error.headers)
        return response

    async def on_unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected failure", path=request.url.path)
        return answer(request, 500, str(ErrorCode.INTERNAL), "Something went wrong on our side.")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_request_invalid)
    app.add_exception_handler(ValidationError, on_request_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)  # failures of outer middleware
    app.add_middleware(UnexpectedFailures, answer=on_unexpected)
