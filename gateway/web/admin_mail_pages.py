"""The office page "Mail problems": mails handed to the mail server whose acceptance MyBroker
never learned (the notifier stopped in between), and those the mail server refused up to the
retry limit (dead-lettered). The notifier does not repeat them by itself: staff check with the
recipient and resend, an explicit decision the notifier records (who, when). Same shape as the
"Document problems" page. And the dossier's delivery log (every mail, resend as a new mail).
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from gateway.deps import DossierIdPath, Rpc
from gateway.web.admin_pages import office_page, refusal_message, staff_only
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.rendering import _mark
from gateway.web.session import WebSession
from libs.contracts import notifier
from libs.servicekit.errors import ServiceError

router = APIRouter(include_in_schema=False)
MAILS_SHOWN = 100
RESENT = _mark("The mail has been sent again.")
REASONS = {
    "redelivered_while_sending": _mark("MyBroker stopped while handing it to the mail server."),
    "stalled_while_sending": _mark("The hand-off to the mail server never finished."),
    "no_smtp_answer": _mark("The mail server took the mail but never answered."),
    "dead_lettered": _mark("The mail server refused it every time it was tried: it did not "
                           "leave."),
}


async def _mail_problems_page(
    request: Request, session: WebSession, pages: Pages, rpc: Rpc, *, done: str = "",
    error: str | None = None, status_code: int = 200,
) -> Response:
    listed = await rpc.call(notifier.LIST_MAIL_PROBLEMS, notifier.MailProblemsQuery(
        caller=session.claims.caller(), limit=MAILS_SHOWN))
    _ = pages.gettext(pages.language(request, session))
    return office_page(pages, request, session, "admin/mail_problems.html", {
        "problems": listed.problems,
        "reasons": {reason: _(text) for reason, text in REASONS.items()},
        "all_shown": len(listed.problems) < MAILS_SHOWN, "shown": MAILS_SHOWN,
        "notice": _(RESENT) if done == "resent" else None, "error": error},
        status_code=status_code)


@router.get("/admin/mail-problems")
async def mail_problems_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, done: str = "",
) -> Response:
    """Mails that may or may not have left, the latest first, each with a resend button."""
    return await _mail_problems_page(request, staff_only(session), pages, rpc, done=done)


@router.post("/admin/mail-problems/{mail_id}/resend", dependencies=[CsrfChecked])
async def resend_mail(
    mail_id: str, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """A staff member decided: the mail goes (again), once."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(notifier.RESEND_MAIL, notifier.ResendMailRequest(
            caller=caller, mail_id=mail_id))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _mail_problems_page(request, session, pages, rpc, error=message,
                                         status_code=status)
    return pages.redirect(request, "/admin/mail-problems?done=resent")


# --- the dossier's delivery log --------------------------------------------------------------

LOG_PAGE_SIZE = 50
RESENT_AS_NEW = _mark("The mail has been sent again as a new mail.")
RESULTS = {
    "sending": _mark("Being sent"),
    "sent": _mark("Sent"),
    "failed": _mark("Refused, tried again"),
    "uncertain": _mark("Uncertain"),
    "dead_lettered": _mark("Given up (dead-lettered)"),
    "held": _mark("Held for the daily digest"),
    "collecting": _mark("Gathering news"),
}


async def _mail_log_page(
    request: Request, session: WebSession, pages: Pages, rpc: Rpc, dossier_id: str, *,
    before: str | None = None, done: str = "", error: str | None = None, status_code: int = 200,
) -> Response:
    log = await rpc.call(notifier.LIST_DOSSIER_MAILS, notifier.DossierMailsQuery(
        caller=session.claims.caller(), dossier_id=dossier_id, limit=LOG_PAGE_SIZE,
        before=before))
    _ = pages.gettext(pages.language(request, session))
    here = f"/admin/dossiers/{quote(dossier_id, safe='')}/mails"
    return office_page(pages, request, session, "admin/mail_log.html", {
        "dossier_id": dossier_id, "mails": log.mails, "here": here,
        "results": {result: _(text) for result, text in RESULTS.items()},
        "is_first_page": before is None, "first_page": here,
        "next_page": f"{here}?before={log.next_before}" if log.next_before else None,
        "notice": _(RESENT_AS_NEW) if done == "resent" else None, "error": error},
        status_code=status_code)


@router.get("/admin/dossiers/{dossier_id}/mails")
async def mail_log_page(
    dossier_id: DossierIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    done: str = "",
    before: Annotated[str | None, Query(pattern=notifier.MAIL_LOG_CURSOR_PATTERN)] = None,
) -> Response:
    """Every mail about the dossier: to whom, in which language, when, what came of it."""
    return await _mail_log_page(request, staff_only(session), pages, rpc, dossier_id,
                                before=before, done=done)


@router.post("/admin/dossiers/{dossier_id}/mails/{mail_id}/resend",
             dependencies=[CsrfChecked])
async def resend_logged_mail(
    dossier_id: DossierIdPath, mail_id: Annotated[str, Path(pattern=notifier.MAIL_ID_PATTERN)],
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """A staff member sends a logged mail again, as a new mail."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(notifier.RESEND_LOGGED_MAIL, notifier.ResendLoggedMailRequest(
            caller=caller, dossier_id=dossier_id, mail_id=mail_id))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _mail_log_page(request, session, pages, rpc, dossier_id, error=message,
                                    status_code=status)
    return pages.redirect(
        request, f"/admin/dossiers/{quote(dossier_id, safe='')}/mails?done=resent")
