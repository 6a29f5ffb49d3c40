"""The admin API for mails whose delivery is uncertain: the list, and the staff's resend.

A mail the notifier handed to SMTP without learning the outcome (it stopped in between) is never
repeated by the notifier itself; staff see it here and decide. The resend is recorded (who, when).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.deps import Rpc, StaffCaller
from libs.contracts import notifier

router = APIRouter(prefix="/admin/api/v1", tags=["admin"])


@router.get("/mail-problems")
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
