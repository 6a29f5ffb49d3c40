"""Contracts of the privacy features (GDPR): the client's own data export and erasure."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.dossier import Claim, Contract, Invoice, Person, RiskObject
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod

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
