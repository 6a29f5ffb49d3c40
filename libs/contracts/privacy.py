"""Privacy (GDPR): the staff access log, erasure of dossiers and accounts, retention.

Two sections: erasure (this engineer's: the access log "Wie bekeek mijn dossier", the erasure
saga, the erasure of an account and a client deleting their own login) and export.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from libs.contracts.auth import StaffOrigin
from libs.contracts.caller import Caller
from libs.contracts.dossier import Claim, Contract, Invoice, Person, RiskObject
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


# --- export ---
# "Download all my data" (GDPR articles 15 and 20). A choreography on the bus: the auth
# service (owner of the account, and of the export) announces `privacy.export.requested`;
# each service writes its part (JSON + its JSON schema) under the export's prefix in the
# exports bucket and reports `part_ready` or `part_failed`; auth assembles the ZIP once every
# part is in and announces `privacy.export.ready` (the notifier mails the client).


class ExportPart(StrEnum):
    """One service's share of an export; each is written by the service that owns the data."""

    ACCOUNT = "account"  # auth: the account, its logins, sessions, eID links
    DOSSIERS = "dossiers"  # dossier: persons, risk objects, contracts, claims, invoices
    DOCUMENTS = "documents"  # documents: every document's record and its original
    REQUESTS = "requests"  # requests: requests, forms, messages, client sheets
    SIGNATURES = "signatures"  # signing: signature requests and their evidence
    MAILS = "mails"  # notifier: the mails sent to the client


EXPORT_PARTS: tuple[ExportPart, ...] = tuple(ExportPart)


class ExportState(StrEnum):
    RUNNING = "running"  # parts are being written or the ZIP assembled
    READY = "ready"  # the ZIP can be downloaded until `expires_at`
    FAILED = "failed"  # a part did not come within the time limit (`failed_parts` says which)
    EXPIRED = "expired"  # the ZIP was deleted after its lifetime


class ExportRequested(Event):
    """The client asked for all the portal holds about them: each service writes its part."""

    routing_key = "privacy.export.requested"
    export_id: str
    account_id: str
    email: str = Field(description="The account's e-mail address (mails sent to it)")
    dossier_ids: list[str] = Field(description="The dossiers the account may see")
    parts: list[ExportPart] = Field(description="The parts to write (all, or one retried)")
    attempt: int = Field(default=1, description="1, then higher for a part asked again")
    prefix: str = Field(description="Key prefix in the exports bucket under which to write")


class ExportPartReady(Event):
    """A service wrote its part of an export into the exports bucket."""

    routing_key = "privacy.export.part_ready"
    export_id: str
    part: ExportPart
    attempt: int
    keys: list[str] = Field(description="Every object written for the part (JSON, schema, "
                            "files), relative to the export's prefix")
    records: int = Field(description="How many records the part holds")
    size: int = Field(description="Bytes written together")


class ExportPartFailed(Event):
    """A service could not write its part of an export (after trying again itself)."""

    routing_key = "privacy.export.part_failed"
    export_id: str
    part: ExportPart
    attempt: int
    reason: str


class ExportReady(Event):
    """The export's ZIP is in the exports bucket: the client is told by mail."""

    routing_key = "privacy.export.ready"
    export_id: str
    account_id: str
    email: str
    language: str
    expires_at: datetime
    size: int


class ExportPublic(BaseModel):
    """One export as the client (and the office) sees it."""

    export_id: str
    account_id: str
    state: ExportState
    requested_at: datetime
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    size: int | None = None
    parts_done: list[ExportPart] = Field(default_factory=list)
    parts_waiting: list[ExportPart] = Field(default_factory=list)
    failed_parts: dict[str, str] = Field(default_factory=dict,
                                         description="Part -> why it failed")


class RequestExport(BaseModel):
    caller: Caller
    language: str | None = Field(default=None, max_length=8, description="Of the index.html "
                                 "and the mail; the account's language when absent")


class ExportStarted(BaseModel):
    export: ExportPublic
    created: bool = Field(description="False: one was already running and is returned")


class ExportsQuery(BaseModel):
    caller: Caller


class ExportList(BaseModel):
    exports: list[ExportPublic]


class ExportQuery(BaseModel):
    caller: Caller
    export_id: str


class ExportDownload(BaseModel):
    """A presigned GET of the export's ZIP the gateway streams from."""

    export: ExportPublic
    download_url: str
    filename: str
    size: int


class StaffExportsQuery(BaseModel):
    caller: Caller
    state: ExportState | None = None
    limit: int = Field(default=100, ge=1, le=500)


REQUEST_EXPORT = RpcMethod("auth.rpc.privacy_request_export", RequestExport, ExportStarted)
LIST_MY_EXPORTS = RpcMethod("auth.rpc.privacy_list_my_exports", ExportsQuery, ExportList)
GET_EXPORT = RpcMethod("auth.rpc.privacy_get_export", ExportQuery, ExportPublic)
OPEN_EXPORT_DOWNLOAD = RpcMethod("auth.rpc.privacy_open_export_download", ExportQuery,
                                 ExportDownload)
LIST_EXPORTS = RpcMethod("auth.rpc.privacy_list_exports", StaffExportsQuery, ExportList)


# The parts' JSON (one file each, `<part>.json`, with `<part>.schema.json` beside it).
class StoredRecord(BaseModel):
    """A record as the service stores it (internal fields left out)."""

    record_id: str
    kind: str = Field(description="What the record is (login, session, request, mail, ...)")
    data: dict[str, Any]


class StoredFile(BaseModel):
    """A file of the part inside the ZIP (a document's original, a signature's evidence)."""

    path: str = Field(description="Path of the file in the ZIP")
    title: str
    content_type: str
    size: int
    sha256: str | None = None
    record_id: str = Field(description="The record the file belongs to")


class AccountPart(BaseModel):
    """Article 15: the account and how it was used."""

    account: dict[str, Any]
    records: list[StoredRecord] = Field(description="Logins, sessions, eID links, "
                                        "registrations, audit entries about the account")


class DossierContents(BaseModel):
    dossier_id: str
    name: str | None = None
    persons: list[Person]
    risk_objects: list[RiskObject]
    contracts: list[Contract]
    claims: list[Claim]
    invoices: list[Invoice]


class DossiersPart(BaseModel):
    dossiers: list[DossierContents]


class RecordsPart(BaseModel):
    """A part made of the service's records about the client, and the files they hold."""

    records: list[StoredRecord]
    files: list[StoredFile] = Field(default_factory=list)


PART_MODELS: dict[ExportPart, type[BaseModel]] = {
    ExportPart.ACCOUNT: AccountPart,
    ExportPart.DOSSIERS: DossiersPart,
    ExportPart.DOCUMENTS: RecordsPart,
    ExportPart.REQUESTS: RecordsPart,
    ExportPart.SIGNATURES: RecordsPart,
    ExportPart.MAILS: RecordsPart,
}
