"""Contracts of the requests service: what clients send (messages, forms), each a thread with
the office's answers, its status and timeline, and the office's request desk."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.documents import CLIENT_ATTACHMENT_MAX_FILES
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.paging import MAX_CURSOR as MAX_CURSOR
from libs.contracts.paging import CursorPage, PageCursor
from libs.contracts.rpc import Ack, RpcMethod
from libs.contracts.shown_names import GivenName, ShownName

MAX_BODY = 10_000
MAX_ATTACHMENTS = CLIENT_ATTACHMENT_MAX_FILES  # per entry
MAX_DESK_PAGE = 200
MAX_IDEMPOTENCY_KEY = 128


class RequestKind(StrEnum):
    """What was sent: a free message (manual 6) or one of the forms (manual 4)."""

    MESSAGE = "message"
    PERSONAL_DATA = "personal_data"
    ADDRESS = "address"
    FAMILY_MEMBER = "family_member"
    CLAIM = "claim"
    CLIENT_SHEET = "client_sheet"


class RequestStatus(StrEnum):
    """Where a request stands; the client filters "my requests" on it (manual 3.2)."""

    PENDING = "pending"  # "in afwachting": sent, the broker has not picked it up yet
    IN_PROGRESS = "in_progress"  # "in behandeling"
    ACCEPTED = "accepted"  # "aanvaard"
    REFUSED = "refused"  # "geweigerd", with a reason shown to the client
    CLOSED = "closed"  # "afgesloten": no more replies; a new question is a new message


class AboutKind(StrEnum):
    """What a message is about (manual 6)."""

    GENERAL = "general"
    PERSONAL_DATA = "personal_data"
    PERSON = "person"
    CONTRACT = "contract"
    RISK_OBJECT = "risk_object"
    CLAIM = "claim"


class RequestAbout(BaseModel):
    """What a request is about: the kind, the dossier object's id where there is one, and a
    label to show (e.g. the contract's policy number)."""

    kind: AboutKind = AboutKind.GENERAL
    ref_id: ObjectId | None = None
    label: GivenName = Field(default="", max_length=200)


class AttachmentRef(BaseModel):
    """A file of an entry: a document of the dossier (context `request:<request_id>`)."""

    document_id: ObjectId
    filename: GivenName = Field(max_length=255)
    size: int = Field(ge=0)
    description: GivenName = Field(default="", max_length=500)


class EntryAuthor(StrEnum):
    CLIENT = "client"
    OFFICE = "office"


class ThreadEntry(BaseModel):
    """One message of the thread: the client's first message (or a form's remark), the office's
    answers and the client's replies."""

    entry_id: str
    author: EntryAuthor
    author_id: str
    author_name: ShownName = ""
    body: str = ""
    attachments: list[AttachmentRef] = Field(default_factory=list)
    at: datetime


class InternalNote(BaseModel):
    """A note of the office on a request: never shown to the client."""

    note_id: str
    author_id: str
    author_name: ShownName = ""
    body: str
    at: datetime


class TimelineStepKind(StrEnum):
    SENT = "sent"
    TAKEN = "taken"
    ANSWERED = "answered"
    CLIENT_REPLIED = "client_replied"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    CLOSED = "closed"
    RELEASED = "released"
    REASSIGNED = "reassigned"


class TimelineStep(BaseModel):
    step: TimelineStepKind
    at: datetime
    by_name: ShownName = ""


class RequestPublic(BaseModel):
    """A request as its dossier's clients see it: everything but the office's notes."""

    request_id: str
    dossier_id: str
    kind: str = Field(description="A RequestKind: message, personal_data, address, "
                      "family_member, claim, client_sheet")
    subject: ShownName = Field(description="Free text for a message; may be empty for a form "
                               "(pages title it from its kind)")
    body: str = Field(default="", description="The first entry's text (the message)")
    about: RequestAbout = Field(default_factory=RequestAbout)
    form: dict[str, Any] | None = Field(default=None, description="A form's validated payload "
                                        "(None for a message)")
    status: str = Field(description="A RequestStatus: pending | in_progress | accepted | "
                        "refused | closed")
    status_reason: str | None = Field(default=None, description="Why it was refused")
    entries: list[ThreadEntry] = Field(default_factory=list, description="Oldest first")
    assignee_id: str | None = None
    assignee_name: ShownName | None = None
    timeline: list[TimelineStep] = Field(default_factory=list)
    target_at: datetime | None = Field(default=None, description="When the office's first "
                                       "answer is due (Belgian working days)")
    answered_at: datetime | None = Field(default=None, description="The office's first answer")
    overdue: bool = Field(default=False, description="Not answered and past its target")
    unread_by_client: bool = False
    unread_by_office: bool = False
    sent_by: str = Field(description="user id of the sender")
    sent_by_name: str = Field(
        default="", description="The sender's name when they sent it: the co-users of a "
        "dossier see who sent what")
    sent_at: datetime
    updated_at: datetime | None = None
    version: int = 1


class OfficeRequest(RequestPublic):
    """A request as the office's desk shows it: with the internal notes."""

    notes: list[InternalNote] = Field(default_factory=list)


class RequestSummary(BaseModel):
    """One row of "Mijn aanvragen" and of the office's desk."""

    request_id: str
    dossier_id: str
    kind: str
    subject: ShownName
    about: RequestAbout = Field(default_factory=RequestAbout)
    status: str
    status_reason: str | None = None
    sent_at: datetime
    updated_at: datetime | None = None
    unread_by_client: bool = False
    last_entry_at: datetime | None = None
    target_at: datetime | None = None
    answered_at: datetime | None = None
    overdue: bool = False
    sent_by: str = ""
    sent_by_name: str = ""


class DeskItem(RequestSummary):
    """A desk row: what the office needs to pick the next request."""

    unread_by_office: bool = False
    assignee_id: str | None = None
    assignee_name: ShownName | None = None


# --- client side ---------------------------------------------------------------------------


class SendMessageRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    subject: GivenName = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    sender_name: str = Field(default="", max_length=200,
                             description="The caller's name from their access token")
    about: RequestAbout = Field(default_factory=RequestAbout)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY,
        description="The same key from the same user in the same dossier: the request stored "
        "the first time is returned, no second one is made")
    request_id: ObjectId | None = Field(
        default=None, description="Chosen by the gateway when files were uploaded first into "
        "the context request:<request_id>; a fresh id otherwise")
    correlation_id: str | None = None


class ListRequestsQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId
    status: str | None = Field(default=None, description="all, or a RequestStatus")


class RequestList(BaseModel):
    requests: list[RequestSummary]


class GetRequestQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId
    request_id: ObjectId
    mark_read: bool = Field(default=True, description="The client opened it: clear "
                            "unread_by_client")


class ReplyCommand(BaseModel):
    """The client adds an entry to the thread (while it is not closed)."""

    caller: Caller
    dossier_id: DossierId
    request_id: ObjectId
    body: str = Field(default="", max_length=MAX_BODY)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    author_name: str = Field(default="", max_length=200)
    correlation_id: str | None = None


class AttachCommand(BaseModel):
    """Files uploaded after their entry was stored, added to it (the caller's own entry)."""

    caller: Caller
    dossier_id: DossierId
    request_id: ObjectId
    entry_id: str | None = Field(default=None, max_length=64,
                                 description="None: the request's first entry")
    attachments: list[AttachmentRef] = Field(min_length=1, max_length=MAX_ATTACHMENTS)


class AdmitAttachmentRequest(BaseModel):
    """Before a client's upload is read: may this account attach files now? (RATE_LIMITED with
    `retry_after` in seconds when not.)"""

    caller: Caller
    dossier_id: DossierId


class FindResubmittedQuery(BaseModel):
    """Before the files of a resend are read: the request this caller already stored in this
    dossier under this idempotency key (NOT_FOUND when none)."""

    caller: Caller
    dossier_id: DossierId
    idempotency_key: str = Field(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)
    kind: RequestKind | None = Field(
        default=None, description="What the resend is: another kind stored under the key is "
        "CONFLICT (409), before any file is read")


SEND_MESSAGE = RpcMethod("requests.rpc.send_message", SendMessageRequest, RequestPublic)
LIST_REQUESTS = RpcMethod("requests.rpc.list_requests", ListRequestsQuery, RequestList)
GET_REQUEST = RpcMethod("requests.rpc.get_request", GetRequestQuery, RequestPublic)
REPLY = RpcMethod("requests.rpc.reply", ReplyCommand, RequestPublic)
ATTACH = RpcMethod("requests.rpc.attach", AttachCommand, RequestPublic)
ADMIT_ATTACHMENT = RpcMethod("requests.rpc.admit_attachment", AdmitAttachmentRequest, Ack)
FIND_RESUBMITTED = RpcMethod("requests.rpc.find_resubmitted", FindResubmittedQuery,
                             RequestPublic)


# --- office side (staff callers only) ------------------------------------------------------


class AssigneeFilter(StrEnum):
    ME = "me"
    NONE = "none"


class DeskQuery(BaseModel):
    """The office's desk: every dossier's requests, overdue first, then closest to target;
    answered ones after, finished ones last (newest first)."""

    caller: Caller
    status: RequestStatus | None = None
    open_only: bool = Field(default=False, description="Only pending and in progress")
    kind: RequestKind | None = None
    dossier_id: DossierId | None = None
    assignee: ObjectId | None = Field(default=None, description="me, none or a user id")
    older_than_days: int | None = Field(default=None, ge=0, le=3650)
    unread_only: bool = Field(default=False, description="Only the requests the office has "
                              "not read since the client last wrote (the menu's count)")
    limit: int = Field(default=50, ge=1, le=MAX_DESK_PAGE)
    cursor: PageCursor = None


class DeskPage(CursorPage[DeskItem]):
    """One page of the desk (`libs.contracts.paging`)."""


class DeskGetQuery(BaseModel):
    caller: Caller
    request_id: ObjectId
    mark_read: bool = True


class OfficeCommand(BaseModel):
    """A staff action on one request; `version` (optional) refuses it (409) when the request
    changed since the caller read it."""

    caller: Caller
    request_id: ObjectId
    staff_name: str = Field(default="", max_length=200,
                            description="The caller's name from their access token")
    version: int | None = Field(default=None, ge=1)
    correlation_id: str | None = None


class TakeCommand(OfficeCommand):
    """Take in progress: assigned to the caller."""


class AssignCommand(OfficeCommand):
    assignee_id: ObjectId
    assignee_name: str = Field(default="", max_length=200)


class StatusChange(StrEnum):
    """What an office may set: accept, refuse (with a reason), close, release (back to pending)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    CLOSED = "closed"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"


class SetStatusCommand(OfficeCommand):
    status: StatusChange
    reason: str | None = Field(default=None, max_length=2000,
                               description="Required to refuse; shown to the client")


class AnswerCommand(OfficeCommand):
    body: str = Field(default="", max_length=MAX_BODY)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    status: StatusChange | None = Field(default=None,
                                        description="A status change in the same step")
    reason: str | None = Field(default=None, max_length=2000)


class AddNoteCommand(OfficeCommand):
    body: str = Field(min_length=1, max_length=MAX_BODY)


DESK_LIST = RpcMethod("requests.rpc.desk_list", DeskQuery, DeskPage)
DESK_GET = RpcMethod("requests.rpc.desk_get", DeskGetQuery, OfficeRequest)
TAKE = RpcMethod("requests.rpc.take", TakeCommand, OfficeRequest)
REASSIGN = RpcMethod("requests.rpc.reassign", AssignCommand, OfficeRequest)
ANSWER = RpcMethod("requests.rpc.answer", AnswerCommand, OfficeRequest)
SET_STATUS = RpcMethod("requests.rpc.set_status", SetStatusCommand, OfficeRequest)
ADD_NOTE = RpcMethod("requests.rpc.add_note", AddNoteCommand, OfficeRequest)


# --- events (`requests.request.*`, through the outbox) -----------------------------------


class RequestSubmitted(Event):
    """A client sent a request or message; the office is told by mail."""

    routing_key = "requests.request.submitted"

    request_id: str
    kind: str
    subject: str
    sent_by: str
    about_kind: str = AboutKind.GENERAL
    sent_by_name: str = ""


class RequestReplied(Event):
    """An entry was added to a thread: a client's reply (office mail) or the office's answer
    (client mail)."""

    routing_key = "requests.request.replied"

    request_id: str
    kind: str
    subject: str
    entry_id: str
    author: EntryAuthor
    author_name: str = ""
    sent_by: str = Field(default="", description="The client who sent the request")


class RequestStatusChanged(Event):
    """The office moved a request; `sent_by` (the client who sent it) gets the mail."""

    routing_key = "requests.request.status_changed"

    request_id: str
    kind: str
    subject: str
    old_status: str
    new_status: str
    reason: str | None = None
    by_name: str = ""
    sent_by: str


class RequestAssigned(Event):
    """A request was taken or reassigned."""

    routing_key = "requests.request.assigned"

    request_id: str
    assignee_id: str
    assignee_name: str = ""
