"""Turning templates into pages in the reader's language, and failures into readable pages."""

import gettext
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.config import GatewaySettings
from gateway.dossier_reads import today
from gateway.office import OfficeKeeper
from gateway.problems import with_retry_after
from gateway.read_model import ReadModel, matches
from gateway.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    Language,
    as_language,
    format_day,
    format_moment,
    format_money,
    format_number,
    load_translations,
)
from gateway.web.session import (
    AUTH_COOKIES,
    LANGUAGE_COOKIE,
    SessionRefresher,
    WebSession,
    apply_cookies,
    cookie,
    csrf_token,
    queue_cookie_deletion,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Where a kept page has its reader's CSRF token (render_kept): unguessable, so no text of a
# dossier can hold it and have a token put in its place.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"
PAGE_HEADERS = {
    # Scripts and styles only from our own /static; no framing (clickjacking of the forms).
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    # The activation link carries its secret in the address: never pass it on to other sites.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show personal data
}


@dataclass(frozen=True)
class MenuItem:
    """An entry of the left menu (manual 3.1): only pages that exist are listed."""

    path: str
    label: str  # msgid, translated when shown


MENU = (
    MenuItem("/", "Welcome"),
    MenuItem("/signing", "Documents to sign"),
    MenuItem("/my-data", "My data"),
    MenuItem("/risks", "My risks"),
    MenuItem("/contracts", "My contracts"),
    MenuItem("/claims", "My claims"),
    MenuItem("/invoices", "My invoices"),
    MenuItem("/requests", "My requests"),
    MenuItem("/documents", "My documents"),
    MenuItem("/access-log", "Who viewed my dossier"),
    MenuItem("/privacy", "My privacy"),
)


def _mark(message: str) -> str:
    """Marks a msgid for extraction where it is translated later (pybabel -k _mark)."""
    return message


# What a page says for each problem code; texts a reader can act on, never a stack trace.
ERROR_MESSAGES: dict[str, str] = {
    "not_found": _mark("This page or item does not exist, or it is not part of your dossiers."),
    "forbidden": _mark("You do not have access to this page."),
    "csrf": _mark("This form has expired. Please go back, reload the page and try again."),
    "unavailable": _mark("MyBroker is temporarily unavailable. Please try again in a moment."),
    "rate_limited": _mark("Too many attempts. Please wait a few minutes and try again."),
    "invalid": _mark("Some information is not valid. Please go back and check the form."),
    "too_large": _mark("The file is too large."),
}
DEFAULT_ERROR_MESSAGE = _mark("Something went wrong on our side. Please try again later.")


def in_dossier(path: str, dossier_id: str | None) -> str:
    """`path` naming `dossier_id`, so the link opens in that dossier wherever it is followed
    (a mail, another tab, a shared address) - see pages.active_dossier_id."""
    address, _, fragment = path.partition("#")
    if not dossier_id or "dossier" in parse_qs(urlsplit(address).query):
        return path
    separator = "&" if "?" in address else "?"
    named = f"{address}{separator}dossier={quote(dossier_id, safe='')}"
    return f"{named}#{fragment}" if fragment else named


def safe_next(target: str | None) -> str:
    """A local path to go to after a form, never another site (open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


class PageRenderer:
    """Jinja environments per language (each with its gettext installed), and page responses."""

    def __init__(self, settings: GatewaySettings, refresher: SessionRefresher,
                 office: OfficeKeeper | None = None) -> None:
        self.settings = settings
        self.refresher = refresher
        # The office's name, look and legal mentions for the header and footer of every page.
        self.office = office if office is not None else OfficeKeeper()
        self.translations = load_translations()
        # Templates are compiled once; only in dev does an edited one show without a restart.
        reload = settings.environment == "dev"
        self._environments = {
            language: self._environment(translations, auto_reload=reload)
            for language, translations in self.translations.items()
        }

    @staticmethod
    def _environment(translations: gettext.GNUTranslations, *,
                     auto_reload: bool = True) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=auto_reload,
        )
        environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        return environment

    def language(self, request: Request, session: WebSession | None = None) -> Language:
        """The reader's language: their choice (cookie), else their account's, else Dutch."""
        chosen = as_language(cookie(request, LANGUAGE_COOKIE))
        if chosen is None and session is not None:
            chosen = as_language(session.claims.lang)
        return chosen or DEFAULT_LANGUAGE

    def gettext(self, language: Language) -> Callable[[str], str]:
        """The translation function of `language`, for messages made in Python."""
        return self.translations[language].gettext

    def ngettext(self, language: Language) -> Callable[[str, str, int], str]:
        """The plural-aware translation function of `language` ("1 document", "2 documents")."""
        return self.translations[language].ngettext

    def finish(self, request: Request, response: Response) -> Response:
        """`response` with the cookie changes this request queued and the pages' headers."""
        with_retry_after(response)  # also a form's own "unavailable" 503 says when to retry
        response.headers.update(PAGE_HEADERS)
        # Secure when configured, and always over HTTPS (the device cookie lives a year).
        secure = self.settings.cookie_secure or request.url.scheme == "https"
        return apply_cookies(request, response, secure=secure)

    def redirect(self, request: Request, target: str) -> Response:
        """See-other to a local path (after a form post), with the queued cookies."""
        return self.finish(request, RedirectResponse(safe_next(target), status_code=303))

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        session: WebSession | None = None,
        status_code: int = 200,
    ) -> Response:
        """The page `template` in the reader's language."""
        language = self.language(request, session)
        page = self._page_context(request, language, session, context)
        html = self._environments[language].get_template(template).render(page)
        return self.finish(request, HTMLResponse(html, status_code=status_code))

    async def render_kept(
        self,
        request: Request,
        read_model: ReadModel,
        dossier_ids: tuple[str, ...],
        key: tuple[Hashable, ...],
        template: str,
        context: Callable[[], Awaitable[dict[str, Any]]],
        *,
        session: WebSession,
    ) -> Response:
        """The page `template` of a signed-in reader, kept in the read model while the versions
        of `dossier_ids` last (the reader is authorized for each: the caller checked it).

        The page is kept per address, day, language, office version and reader (user, name);
        `key` adds what else of the page's `context` is not in those dossiers. The reader's
        CSRF token is put in at each request, never kept. The ETag is strong (the page is the
        same bytes) and names the CSRF token too: `If-None-Match` with it gets 304."""
        kept = self.kept_page(request, read_model, dossier_ids, key, template, session=session)
        if kept is not None:
            return kept
        language = self.language(request, session)

        async def page() -> str:
            values = {**await context(), "csrf_token": CSRF_PLACEHOLDER}
            page_context = self._page_context(request, language, session, values)
            return self._environments[language].get_template(template).render(page_context)

        answer = await read_model.read(
            dossier_ids, self._kept_key(request, language, session, template, key), page)
        token = csrf_token(request)
        html: str = answer.value.replace(CSRF_PLACEHOLDER, token)
        headers = {"ETag": _page_etag(answer.etag, token)} if answer.etag else None
        return self.finish(request, HTMLResponse(html, headers=headers))

    def kept_page(self, request: Request, read_model: ReadModel, dossier_ids: tuple[str, ...],
                  key: tuple[Hashable, ...], template: str, *,
                  session: WebSession) -> Response | None:
        """What `render_kept` answers without rendering: 304 when `If-None-Match` names the
        page's ETag, else the kept page; None when nothing is kept for the current versions."""
        language = self.language(request, session)
        full_key = self._kept_key(request, language, session, template, key)
        tag = read_model.etag(dossier_ids, full_key)
        if tag is None:
            return None
        token = csrf_token(request)
        etag = _page_etag(tag, token)
        if matches(request.headers.get("if-none-match"), etag):
            return self.finish(request, Response(status_code=304, headers={"ETag": etag}))
        kept = read_model.kept(dossier_ids, full_key)
        if kept is None:
            return None
        html: str = kept.value.replace(CSRF_PLACEHOLDER, token)
        return self.finish(request, HTMLResponse(html, headers={"ETag": etag}))

    def _kept_key(self, request: Request, language: Language, session: WebSession,
                  template: str, key: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
        claims = session.claims
        return ("page", template, request.url.path, request.url.query, today(), language,
                self.office.current().version, claims.sub, claims.name, *key)

    def render_fragment(self, request: Request, template: str, context: dict[str, Any], *,
                        session: WebSession | None = None) -> Markup:
        """The partial template `template` as a page would include it (a fragment to keep:
        gateway/web/dossier_pages.py)."""
        language = self.language(request, session)
        page = self._page_context(request, language, session, context)
        # The autoescaped template's output: already safe HTML.
        return Markup(self._environments[language].get_template(template).render(page))  # noqa: S704

    def _page_context(self, request: Request, language: Language, session: WebSession | None,
                      context: dict[str, Any]) -> dict[str, Any]:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        page = {
            "lang": language,
            "languages": LANGUAGE_NAMES,
            "here": quote(here, safe="/"),
            "current_path": request.url.path,
            "csrf_token": csrf_token(request),
            "session": session,
            "menu": MENU if session else (),
            "money": lambda cents, currency="EUR": format_money(cents, currency, language),
            "number": lambda value: format_number(value, language),
            "day": lambda value: format_day(value, language),
            "moment": lambda value: format_moment(value, language),
            "office": self.office.current(),
            **context,
        }
        page["in_dossier"] = lambda path: in_dossier(path, page.get("active"))
        return page

    def render_error(self, request: Request, status: int, code: str) -> Response:
        """A readable error page in the reader's language; "sign in first" goes to the login."""
        if status == 401:
            queue_cookie_deletion(request, *AUTH_COOKIES)
            target = request.url.path if request.method == "GET" else "/"
            return self.finish(request, RedirectResponse(
                f"/login?next={quote(target, safe='/')}", status_code=303))
        message = ERROR_MESSAGES.get(code, DEFAULT_ERROR_MESSAGE)
        translate = self.gettext(self.language(request))
        return self.render(request, "error.html", {"status": status, "message": translate(message)},
                           status_code=status)


def _page_etag(version_tag: str, csrf: str) -> str:
    """A page's strong ETag: its version's and the CSRF token its forms carry."""
    digest = hashlib.blake2b(f"{version_tag}|{csrf}".encode(), digest_size=16).hexdigest()
    return f'"{digest}"'
