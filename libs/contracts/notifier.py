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

UncertainReason = Literal["redelivered_while_sending", "stalled_while_sending", "no_smtp_answer",
                          "dead_lettered"]


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
    reason: UncertainReason = Field(description="`dead_lettered`: SMTP refused it up to the "
                                    "retry limit (it surely did not leave)")
    claimed_at: datetime = Field(description="When it was handed to SMTP (the last time)")
    uncertain_at: datetime = Field(description="When it was made uncertain or dead-lettered")
    last_error: str | None = None


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


# --- the dossier's delivery log ------------------------------------------------------------------

MailResult = Literal["sending", "sent", "failed", "uncertain", "dead_lettered", "held",
                     "collecting"]
MAIL_LOG_CURSOR_PATTERN = r"^[0-9]{1,15}$"


class DossierMailsQuery(BaseModel):
    """Staff ask which mails the notifier sent (or failed to send) about a dossier."""

    caller: Caller
    dossier_id: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=50, ge=1, le=200)
    before: str | None = Field(default=None, pattern=MAIL_LOG_CURSOR_PATTERN,
                               description="`next_before` of the previous page")


class LoggedMail(BaseModel):
    """One mail of the dossier's delivery log."""

    mail_id: str
    kind: str
    recipient: str
    subject: str
    language: str | None = None
    result: MailResult
    attempts: int = Field(description="Hand-offs to SMTP so far (retries = attempts - 1)")
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    resend_of: str | None = Field(default=None, description="The mail this one repeats")
    resent_as: list[str] = Field(default_factory=list)
    resent_by: str | None = None
    digest_id: str | None = Field(default=None,
                                  description="The client digest that told a held mail")
    resendable: bool = Field(description="Whether staff may send it again as a new mail")


class DossierMailLog(BaseModel):
    mails: list[LoggedMail]
    next_before: str | None = None


class ResendLoggedMailRequest(BaseModel):
    """A staff member sends a logged mail again: a new mail (own Message-ID) noting the
    original."""

    caller: Caller
    dossier_id: str = Field(min_length=1, max_length=64)
    mail_id: str = Field(pattern=MAIL_ID_PATTERN)


LIST_DOSSIER_MAILS = RpcMethod("notifier.rpc.list_dossier_mails", DossierMailsQuery,
                               DossierMailLog)
RESEND_LOGGED_MAIL = RpcMethod("notifier.rpc.resend_logged_mail", ResendLoggedMailRequest,
                               LoggedMail)


# --- a client's mail preferences -----------------------------------------------------------------

NotificationMode = Literal["immediate", "daily_digest"]
MailLanguage = Literal["nl", "fr", "en"]


class NotificationPreferences(BaseModel):
    """How a client hears of news: per category at once or in one daily digest, and in which
    language. Legally required and security mails (signature requests, password and login mails,
    invitation, registration) always go at once: they are not a category here."""

    requests: NotificationMode = "immediate"
    documents: NotificationMode = "immediate"
    signatures: NotificationMode = "immediate"
    language: MailLanguage | None = Field(
        default=None, description="None: the account's language")


class NotificationSettings(BaseModel):
    preferences: NotificationPreferences
    digest_at: str = Field(description="When the daily digest goes, e.g. '17:00 Europe/Brussels'")


class PreferencesQuery(BaseModel):
    caller: Caller


class SavePreferencesRequest(BaseModel):
    caller: Caller
    preferences: NotificationPreferences


GET_PREFERENCES = RpcMethod("notifier.rpc.get_preferences", PreferencesQuery,
                            NotificationSettings)
SAVE_PREFERENCES = RpcMethod("notifier.rpc.save_preferences", SavePreferencesRequest,
                             NotificationSettings)
