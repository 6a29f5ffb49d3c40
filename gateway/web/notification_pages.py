"""The client's page "Mijn meldingen" (my notifications): per category a mail at once or one
daily digest, and the language of the mails. The notifier keeps and applies the choice;
signature requests and the password, login, invitation and registration mails always go at
once, which the page says."""

from typing import Annotated, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.deps import Rpc
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.session import WebSession
from libs.contracts import notifier

router = APIRouter(include_in_schema=False)
CATEGORIES = ("requests", "documents", "signatures")
MODES = get_args(notifier.NotificationMode)
LANGUAGES = get_args(notifier.MailLanguage)


async def _page(request: Request, session: WebSession, pages: Pages, rpc: Rpc, *,
                saved: bool = False, status_code: int = 200, error: str | None = None,
                ) -> Response:
    current = await rpc.call(notifier.GET_PREFERENCES, notifier.PreferencesQuery(
        caller=session.claims.caller()))
    return pages.render(request, "access/notifications.html", {
        "preferences": current.preferences, "digest_at": current.digest_at.split()[0],
        "digest_zone": current.digest_at.split()[-1], "categories": CATEGORIES,
        "mail_languages": LANGUAGES, "saved": saved, "error": error}, session=session,
        status_code=status_code)


@router.get("/notifications")
async def notifications_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, saved: bool = False,
) -> Response:
    """The client's mail preferences."""
    return await _page(request, session, pages, rpc, saved=saved)


@router.post("/notifications", dependencies=[CsrfChecked])
async def save_notifications(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    requests: Annotated[str, Form(max_length=20)] = "immediate",
    documents: Annotated[str, Form(max_length=20)] = "immediate",
    signatures: Annotated[str, Form(max_length=20)] = "immediate",
    language: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Save the choice and show it again."""
    _ = pages.gettext(pages.language(request, session))
    chosen = {"requests": requests, "documents": documents, "signatures": signatures}
    if any(mode not in MODES for mode in chosen.values()) or (
            language and language not in LANGUAGES):
        return await _page(request, session, pages, rpc, status_code=422,
                           error=_("Choose one of the options shown."))
    await rpc.call(notifier.SAVE_PREFERENCES, notifier.SavePreferencesRequest(
        caller=session.claims.caller(), preferences=notifier.NotificationPreferences(
            **chosen, language=language or None)))
    return pages.redirect(request, "/notifications?saved=true")
