"""Contracts of the notifier service: the mails whose delivery is uncertain, for staff to resend.

SMTP has no idempotency: a mail handed to the relay just before the notifier died may or may
not have left. The notifier never repeats such a mail by itself; staff see it here and decide.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.rpc import RpcMethod

MAIL_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,200}$"  # deterministic ids: event id, kind, recipient

UncertainReason = Literal["redelivered_while_sending", "stalled_while_sending", "no_smtp_answer"]


class MailProblemsQuery(BaseModel):
    """Staff ask which mails may or may not have left."""

    caller: Caller
    limit: int = Field(default=100, ge=1, le=500)


class MailProblem(BaseModel):
    """A mail handed to SMTP whose acceptance was never recorded (state `uncertain`)."""

    mail_id: str
    kind: str = Field(description="invitation, new-request, office-digest, password-reset, ...")
    recipient: str
    subject: str
    dossier_id: str | None = None
    event_id: str | None = Field(default=None, description="The event that caused the mail")
    reason: UncertainReason
    claimed_at: datetime = Field(description="When it was handed to SMTP (the last time)")
    uncertain_at: datetime


class MailProblemList(BaseModel):
    problems: list[MailProblem]


class ResendMailRequest(BaseModel):
    """A staff member decides an uncertain mail must go (again); who and when are recorded."""

    caller: Caller
    mail_id: str = Field(pattern=MAIL_ID_PATTERN)


class MailResent(BaseModel):
    mail_id: str
    recipient: str
    resent_by: str
    resent_at: datetime


LIST_MAIL_PROBLEMS = RpcMethod("notifier.rpc.list_mail_problems", MailProblemsQuery,
                               MailProblemList)
RESEND_MAIL = RpcMethod("notifier.rpc.resend_mail", ResendMailRequest, MailResent)
