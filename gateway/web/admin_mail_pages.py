"""The office page "Mail problems": mails handed to the mail server whose acceptance MyBroker
never learned (the notifier stopped in between). The notifier does not repeat them by itself:
staff check with the recipient and resend, an explicit decision the notifier records (who, when).
Same shape as the "Document problems" page.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.deps import Rpc
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
