"""The admin API for mails whose delivery is uncertain: the list, and the staff's resend.

A mail the notifier handed to SMTP without learning the outcome (it stopped in between) is never
repeated by the notifier itself; staff see it here and decide. The resend is recorded (who, when).
"""

from typing import Annotated

from fastapi import Path, Query

from gateway.api_links import ADMIN, answer_links, link
from gateway.deps import DossierIdPath, Rpc, StaffCaller
from gateway.problems import api_router
from libs.contracts import notifier

router = api_router(prefix="/admin/api/v1", tags=["admin"])


@router.get("/mail-problems", responses=answer_links(200, ResendMail=link(
    f"POST {ADMIN}/mail-problems/{{mail_id}}/resend", "Send it again, once",
    mail_id="$response.body#/problems/0/mail_id")))
async def list_mail_problems(
    staff: StaffCaller, rpc: Rpc, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> notifier.MailProblemList:
    """Mails that may or may not have left (state `uncertain`), the latest first."""
    return await rpc.call(notifier.LIST_MAIL_PROBLEMS, notifier.MailProblemsQuery(
        caller=staff.caller(), limit=limit))


@router.post("/mail-problems/{mail_id}/resend")
async def resend_mail(
    mail_id: Annotated[str, Path(pattern=notifier.MAIL_ID_PATTERN)], staff: StaffCaller,
    rpc: Rpc,
) -> notifier.MailResent:
    """Send an uncertain mail again, once (409 when it is not uncertain, e.g. resent already)."""
    return await rpc.call(notifier.RESEND_MAIL, notifier.ResendMailRequest(
        caller=staff.caller(), mail_id=mail_id))


# --- the dossier's delivery log --------------------------------------------------------------


@router.get("/dossiers/{dossier_id}/mails", responses=answer_links(200, ResendMail=link(
    f"POST {ADMIN}/dossiers/{{dossier_id}}/mails/{{mail_id}}/resend", "Send it again as a new mail",
    dossier_id="$request.path.dossier_id", mail_id="$response.body#/mails/0/mail_id")))
async def list_dossier_mails(
    dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[str | None, Query(pattern=notifier.MAIL_LOG_CURSOR_PATTERN, description=(
        "`next_before` of the previous page"))] = None,
) -> notifier.DossierMailLog:
    """Every mail about the dossier, the latest first: kind, recipient, language, when, result
    (sent, failed, uncertain, dead_lettered, held for the client's digest), attempts; a page
    at a time (`before` = `next_before`)."""
    return await rpc.call(notifier.LIST_DOSSIER_MAILS, notifier.DossierMailsQuery(
        caller=staff.caller(), dossier_id=dossier_id, limit=limit, before=before))


@router.post("/dossiers/{dossier_id}/mails/{mail_id}/resend")
async def resend_logged_mail(
    dossier_id: DossierIdPath, mail_id: Annotated[str, Path(pattern=notifier.MAIL_ID_PATTERN)],
    staff: StaffCaller, rpc: Rpc,
) -> notifier.LoggedMail:
    """Send a logged mail again as a new mail (its own Message-ID, noting the original). Only
    mails whose content can be rebuilt: office digests, and mails not sent (uncertain,
    dead-lettered) whose body is kept; 409 otherwise."""
    return await rpc.call(notifier.RESEND_LOGGED_MAIL, notifier.ResendLoggedMailRequest(
        caller=staff.caller(), dossier_id=dossier_id, mail_id=mail_id))
