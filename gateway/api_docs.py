"""The OpenAPI documents and their Swagger UI, served from an installed package: the docs pages
load nothing from another host (a strict CSP says so to the browser).

Anyone may read the client API (/api/openapi.json, /api/docs): the mobile app and its
developers need it. The admin API (/admin/api/v1) names every office operation and its fields;
it is described only to signed-in staff (/admin/api-docs and its openapi.json, with the web
session's cookies, which the Swagger page sends along).

The message bus between the services is no client API either: its AsyncAPI document
(/admin/asyncapi.json) is for signed-in staff too. JSON only: the AsyncAPI renderers load their
scripts from a CDN, and no installed package ships one.
"""

import asyncio
import copy
import sys
from html import escape
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from gateway.problems import Problem, ProblemDetails
from gateway.web.admin_pages import staff_only
from gateway.web.pages import Pages, PageSession

router = APIRouter(include_in_schema=False)
ADMIN_PREFIX = "/admin/"
_SCHEMA_REF = "#/components/schemas/"
# fastapi-offline ships Swagger UI 5 (it draws OpenAPI 3.1, which FastAPI writes); only its
# static files are used.
SWAGGER_DIR = files("fastapi_offline") / "static"
ASYNCAPI_SECONDS = 60.0  # generating the bus's document takes a few seconds of CPU
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
# Scripts, styles and fetches from this gateway only; Swagger UI sets inline style attributes
# and draws icons from data: URLs.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'none'")
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/static/api-docs.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _referenced_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas `paths` refer to, directly or through other schemas."""
    needed: set[str] = set()
    pending: list[Any] = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith(_SCHEMA_REF):
                name = reference.removeprefix(_SCHEMA_REF)
                if name in schemas and name not in needed:
                    needed.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {name: schemas[name] for name in sorted(needed)}


# Referenced by every operation's failures (gateway.problems.PROBLEM_RESPONSES), given once.
_PROBLEM_SCHEMA = ProblemDetails.model_json_schema(mode="serialization",
                                                   ref_template=f"{_SCHEMA_REF}{{model}}")


def _openapi(app: FastAPI, *, admin: bool) -> dict[str, Any]:
    """The OpenAPI document of the admin API or of the rest, made once per app: only the
    schemas its own paths use, so neither half names the other's models."""
    cache: dict[bool, dict[str, Any]] = app.state.__dict__.setdefault("openapi_halves", {})
    if admin not in cache:
        full = app.openapi()
        paths = copy.deepcopy({path: operations for path, operations in full["paths"].items()
                               if path.startswith(ADMIN_PREFIX) == admin})
        components = dict(full.get("components", {}))
        schemas = {**components.get("schemas", {}), "ProblemDetails": _PROBLEM_SCHEMA}
        components["schemas"] = _referenced_schemas(paths, schemas)
        title = "MyBroker admin API" if admin else "MyBroker API"
        cache[admin] = {**full, "info": {**full["info"], "title": title}, "paths": paths,
                        "components": components}
    return cache[admin]


def _docs_page(title: str, openapi_url: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), openapi_url=escape(openapi_url)),
                        headers={"Content-Security-Policy": DOCS_CSP,
                                 "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "same-origin"})


@router.get("/api/openapi.json")
async def client_openapi(request: Request) -> JSONResponse:
    """The client API's OpenAPI document (public)."""
    return JSONResponse(_openapi(request.app, admin=False))


@router.get("/api/docs")
async def client_docs() -> HTMLResponse:
    """Swagger UI on the client API (public)."""
    return _docs_page("MyBroker API", "/api/openapi.json")


@router.get("/api/docs/assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    """Swagger UI's script and style, from the installed package."""
    if name not in ASSETS:
        raise Problem(404, "not_found", "No such file.")
    return FileResponse(str(SWAGGER_DIR / name), media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/admin/api-docs/openapi.json")
async def admin_openapi(request: Request, session: PageSession, pages: Pages) -> Response:
    """The admin API's OpenAPI document, for signed-in staff only."""
    staff_only(session)
    return pages.finish(request, JSONResponse(_openapi(request.app, admin=True)))


async def _asyncapi(app: FastAPI) -> bytes:
    """The bus's AsyncAPI document, generated once per app by `python -m services.asyncapi` in a
    child process: the services' wiring (its imports, what building it logs) stays out of the
    gateway's process, and the event loop does not wait for it."""
    state = app.state.__dict__
    async with state.setdefault("asyncapi_lock", asyncio.Lock()):
        if "asyncapi" not in state:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.asyncapi",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                async with asyncio.timeout(ASYNCAPI_SECONDS):
                    document, errors = await process.communicate()
            except TimeoutError:
                process.kill()
                await process.wait()
                raise
            if process.returncode != 0:
                raise RuntimeError(f"services.asyncapi failed: {errors.decode()[-2000:]}")
            state["asyncapi"] = document
    cached: bytes = state["asyncapi"]
    return cached


@router.get("/admin/asyncapi.json")
async def admin_asyncapi(request: Request, session: PageSession, pages: Pages) -> Response:
    """The message bus's AsyncAPI document (RPC methods and events), for signed-in staff only."""
    staff_only(session)
    return pages.finish(request, Response(await _asyncapi(request.app),
                                          media_type="application/json"))


@router.get("/admin/api-docs")
async def admin_docs(request: Request, session: PageSession, pages: Pages) -> Response:
    """Swagger UI on the admin API, for signed-in staff only."""
    staff_only(session)
    page = pages.finish(request, _docs_page("MyBroker admin API", "/admin/api-docs/openapi.json"))
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page
