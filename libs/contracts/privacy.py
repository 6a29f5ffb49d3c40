"""Privacy (GDPR): the staff access log, erasure of dossiers and accounts, retention.

Two sections: erasure (this engineer's: the access log "Wie bekeek mijn dossier", the erasure
saga, the erasure of an account and a client deleting their own login) and export.
"""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.auth import StaffOrigin
from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.rpc import Ack, RpcMethod

# --- erasure ---

# The access log: every staff read of a dossier's data (GDPR art. 15: the client may know who
# consulted their data). The gateway sees every read; auth stores them (it knows the staff).


class StaffRead(BaseModel):
    """One staff read: who, when, what (the kind of page or call and its object), from where."""

    read_id: str = Field(description="Unique id of the read; a redelivered batch stores it once")
    at: datetime
    staff_id: str
    staff_name: str = Field(max_length=200)
    route_kind: str = Field(max_length=200, description="The route read, e.g. "
                            "'/admin/api/v1/dossiers/{dossier_id}'")
    dossier_id: DossierId | None = Field(default=None, description="The dossier read, when "
                                         "the read concerned one (a list of all is none)")
    object_id: str | None = Field(default=None, max_length=200,
                                  description="The object read inside the dossier, if any")
    client_ip: str | None = Field(default=None, max_length=100)


class StaffReadsRecorded(Event):
    """A batch of staff reads the gateway saw (published every fraction of a second)."""

    routing_key: ClassVar[str] = "gateway.staff_reads.recorded"
    reads: list[StaffRead] = Field(max_length=1000)


class StaffReadQuery(BaseModel):
    """One page of the access log: a dossier's (its client), a staff member's, or all."""

    caller: Caller
    dossier_id: DossierId | None = None
    staff_id: ObjectId | None = None
    before: str | None = Field(default=None, max_length=200, description="cursor of the page")
    limit: int = Field(default=50, ge=1, le=200)


class StaffReadLog(BaseModel):
    reads: list[StaffRead]
    next_before: str | None = None


LIST_STAFF_READS = RpcMethod("auth.rpc.list_staff_reads", StaffReadQuery, StaffReadLog)

# The erasure of a dossier: a saga over the bus. The dossier service coordinates (it says
# whether the dossier exists) and keeps the saga's state; every service erases what it holds
# and reports; a report lists what was deleted and what the law requires to keep.

ERASURE_SERVICES = ("auth", "dossier", "documents", "requests", "signing", "notifier")


class ErasureRequested(Event):
    """Erase everything held for `dossier_id` (each service its own data), then report."""

    routing_key: ClassVar[str] = "privacy.erasure.requested"
    erasure_id: str


class KeptEvidence(BaseModel):
    """Data kept after an erasure because the law requires it, with the reason."""

    collection: str
    count: int
    reason: str


class ErasureCompleted(Event):
    """One service erased what it held for a dossier (also sent again on a re-request)."""

    routing_key: ClassVar[str] = "privacy.erasure.completed"
    erasure_id: str
    service: str
    deleted: dict[str, int] = Field(default_factory=dict, description="collection or bucket "
                                    "-> how many items were deleted")
    kept: list[KeptEvidence] = Field(default_factory=list)


class ServiceProgress(StrEnum):
    PENDING = "pending"
    DONE = "done"


class ServiceErasure(BaseModel):
    service: str
    state: ServiceProgress
    reported_at: datetime | None = None
    deleted: dict[str, int] = Field(default_factory=dict)
    kept: list[KeptEvidence] = Field(default_factory=list)


class ErasureState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


class DossierErasure(BaseModel):
    """The saga's state and, once finished, its report."""

    erasure_id: str
    dossier_id: str
    state: ErasureState
    requested_at: datetime
    requested_by: str
    finished_at: datetime | None = None
    services: list[ServiceErasure]


class DossierErasureRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    origin: StaffOrigin | None = None
    correlation_id: str | None = None


class DossierErasureQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class ErasureListQuery(BaseModel):
    caller: Caller
    limit: int = Field(default=50, ge=1, le=200)


class ErasureList(BaseModel):
    erasures: list[DossierErasure]


REQUEST_DOSSIER_ERASURE = RpcMethod(
    "dossier.rpc.request_erasure", DossierErasureRequest, DossierErasure)
GET_DOSSIER_ERASURE = RpcMethod("dossier.rpc.get_erasure", DossierErasureQuery, DossierErasure)
LIST_DOSSIER_ERASURES = RpcMethod("dossier.rpc.list_erasures", ErasureListQuery, ErasureList)

# The erasure of a client account (the office admin) and of a client's own login.


class AccountErasureRequest(BaseModel):
    caller: Caller
    user_id: ObjectId
    origin: StaffOrigin | None = None


class AccountErasureReport(BaseModel):
    user_id: str
    deleted: dict[str, int]
    kept: list[KeptEvidence] = Field(default_factory=list)


class OwnLoginDeletion(BaseModel):
    """A client deletes their own login, confirming with their password."""

    caller: Caller
    password: str = Field(min_length=1, max_length=1024)


class LoginDeleted(Event):
    """A client deleted their own login (the office is told; the dossier stays the office's)."""

    routing_key: ClassVar[str] = "auth.login.deleted"
    user_id: str
    display_name: str
    email: str
    dossier_ids: list[str] = Field(default_factory=list)


class AccountErased(Event):
    """A client account was erased (by the office admin, by its owner, or with its only
    dossier): services that keep things by address (the notifier's mails) forget it too."""

    routing_key: ClassVar[str] = "auth.account.erased"
    user_id: str
    email: str


ERASE_ACCOUNT = RpcMethod("auth.rpc.erase_account", AccountErasureRequest, AccountErasureReport)
DELETE_OWN_LOGIN = RpcMethod("auth.rpc.delete_own_login", OwnLoginDeletion, Ack)
