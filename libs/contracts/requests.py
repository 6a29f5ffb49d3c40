"""Contracts of the requests service: forms and free messages sent by clients."""

from datetime import datetime

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId
from libs.contracts.rpc import Ack, RpcMethod
from libs.contracts.shown_names import GivenName, ShownName


class RequestPublic(BaseModel):
    request_id: str
    dossier_id: str
    kind: str = Field(description="message (later: the five forms)")
    subject: ShownName
    body: str
    status: str = Field(description="pending | in_progress | accepted | refused")
    sent_by: str = Field(description="user id of the sender")
    sent_by_name: str = Field(
        default="", description="The sender's name when they sent it: the co-users of a "
        "dossier see who sent what")
    sent_at: datetime


class SendMessageRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    subject: GivenName = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    sender_name: str = Field(default="", max_length=200,
                             description="The caller's name from their access token")
    correlation_id: str | None = None


class ListRequestsQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId
    status: str | None = None


class RequestList(BaseModel):
    requests: list[RequestPublic]


class AdmitAttachmentRequest(BaseModel):
    """Before a client's upload is read: may this account attach files now? (RATE_LIMITED with
    `retry_after` in seconds when not.)"""

    caller: Caller
    dossier_id: DossierId


SEND_MESSAGE = RpcMethod("requests.rpc.send_message", SendMessageRequest, RequestPublic)
LIST_REQUESTS = RpcMethod("requests.rpc.list_requests", ListRequestsQuery, RequestList)
ADMIT_ATTACHMENT = RpcMethod("requests.rpc.admit_attachment", AdmitAttachmentRequest, Ack)


class RequestSubmitted(Event):
    """A client sent a request or message; the office is told by mail."""

    routing_key = "requests.request.submitted"

    request_id: str
    kind: str
    subject: str
    sent_by: str
