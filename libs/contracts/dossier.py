"""Contracts of the dossier service: the client's insurance file."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, FieldName, ObjectId
from libs.contracts.rpc import RpcMethod
from libs.contracts.shown_names import GivenName, ShownName


class Address(BaseModel):
    street: str
    number: str = ""
    box: str = ""
    postal_code: str
    city: str
    country: str = "BE"
    valid_from: date | None = Field(default=None, description="Since when this address holds")
    valid_until: date | None = Field(default=None, description="Until when (None: still valid)")


class Person(BaseModel):
    person_id: ObjectId
    role: str = Field(description="policyholder | partner | child | other")
    last_name: GivenName
    first_name: GivenName
    birth_date: date | None = None
    national_number: str | None = None
    language: str = "nl"
    email: str | None = None
    phone: str | None = None
    address: Address | None = None


class VehicleDetails(BaseModel):
    """What identifies a vehicle (risk object of kind `vehicle`)."""

    license_plate: str | None = Field(default=None, description="Belgian plate, e.g. 1-ABC-123")
    make: str | None = None
    model: str | None = None
    vin: str | None = Field(default=None, description="Chassis number (ISO 3779, 17 characters)")
    first_registration: date | None = None


class BuildingDetails(BaseModel):
    """What identifies a building (risk object of kind `building`)."""

    address: Address | None = None
    building_type: str | None = Field(
        default=None, description="house | apartment | commercial | other (free text allowed)")
    occupancy: str | None = Field(
        default=None, description="owner | tenant | landlord | owner-occupier (free text allowed)")


class InsuredPersonDetails(BaseModel):
    """A person-related risk (kind `person`: health, life, accident)."""

    person_id: ObjectId | None = Field(
        default=None, description="The insured person of the dossier")
    cover: str | None = Field(default=None, description="health | life | accident | other")


USUAL_DRIVER = "usual_driver"
"""The field of a vehicle's `details` that holds the person id of its usual driver."""


class RiskObject(BaseModel):
    risk_object_id: ObjectId
    kind: str = Field(description="vehicle | building | person | other")
    description: str
    details: dict[FieldName, str] = Field(default_factory=dict,
                                          description="Kind-specific fields")
    detail_labels: dict[FieldName, str] = Field(
        default_factory=dict, description="How the broker's system names each field of "
        "`details` (shown for the fields MyBroker has no label of its own for)")
    vehicle: VehicleDetails | None = Field(default=None, description="Only for kind vehicle")
    building: BuildingDetails | None = Field(default=None, description="Only for kind building")
    insured_person: InsuredPersonDetails | None = Field(
        default=None, description="Only for kind person")


class Guarantee(BaseModel):
    code: str
    label: str
    insured_amount_cents: int | None = None
    deductible_cents: int | None = None
    optional: bool = Field(
        default=False, description="An optional cover chosen on top of the included ones")
    summary: str | None = Field(default=None, description="What it covers, in plain words")


class Contract(BaseModel):
    contract_id: ObjectId
    policy_number: str
    insurer: str
    product: str
    status: str = Field(default="active", description="active | suspended | ended")
    start_date: date
    end_date: date | None = None
    annual_premium_cents: int
    currency: str = "EUR"
    risk_object_ids: list[ObjectId] = Field(default_factory=list)
    guarantees: list[Guarantee] = Field(default_factory=list)
    renewal_date: date | None = Field(default=None, description="Next yearly renewal (due date)")
    periodicity: str = Field(
        default="yearly", description="How the premium is paid: yearly | half-yearly | "
        "quarterly | monthly")
    branch: str | None = Field(default=None, description="Insurance branch, e.g. car, fire")


class Claim(BaseModel):
    claim_id: ObjectId
    claim_number: str
    contract_id: ObjectId
    risk_object_id: ObjectId | None = None
    occurred_on: date
    description: str
    status: str = Field(default="open", description="open | in_progress | closed")
    risk_object_ids: list[ObjectId] = Field(
        default_factory=list, description="Further risk objects concerned (several allowed)")
    insurer_reference: str | None = Field(default=None, description="The insurer's claim number")
    claimed_amount_cents: int | None = None
    paid_amount_cents: int | None = None
    currency: str = "EUR"


class Invoice(BaseModel):
    invoice_id: ObjectId
    invoice_number: str
    contract_id: ObjectId
    due_date: date
    amount_cents: int
    currency: str = "EUR"
    status: str = Field(default="open", description="open | paid | overdue")
    invoice_date: date | None = None


class DossierImport(BaseModel):
    """A dossier as the broker's management system exports it (replaces the stored dossier)."""

    dossier_id: DossierId
    name: GivenName = Field(min_length=1, max_length=200)
    broker_reference: str | None = None
    persons: list[Person] = Field(default_factory=list)
    risk_objects: list[RiskObject] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    invoices: list[Invoice] = Field(default_factory=list)


class DossierSummary(BaseModel):
    dossier_id: str
    name: ShownName
    broker_reference: str | None = None
    person_count: int
    contract_count: int


class ImportDossierRequest(BaseModel):
    caller: Caller
    dossier: DossierImport
    correlation_id: str | None = None


class DossierQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class DossierListQuery(BaseModel):
    caller: Caller
    dossier_ids: list[DossierId] = Field(max_length=1000)


class DossierSummaries(BaseModel):
    dossiers: list[DossierSummary]


class ContractList(BaseModel):
    dossier_id: str
    contracts: list[Contract]
    risk_objects: list[RiskObject] = Field(description="The risk objects the contracts cover")


IMPORT_DOSSIER = RpcMethod("dossier.rpc.import_dossier", ImportDossierRequest, DossierSummary)
GET_DOSSIER_SUMMARY = RpcMethod("dossier.rpc.get_dossier_summary", DossierQuery, DossierSummary)
LIST_DOSSIER_SUMMARIES = RpcMethod(
    "dossier.rpc.list_dossier_summaries", DossierListQuery, DossierSummaries
)
LIST_CONTRACTS = RpcMethod("dossier.rpc.list_contracts", DossierQuery, ContractList)


class DossierImported(Event):
    """Staff imported (or re-imported) a dossier."""

    routing_key = "dossier.dossier.imported"

    name: str


# --- bulk import by the broker's external references -----------------------------------------

ObjectKind = Literal["person", "risk_object", "contract", "claim", "invoice"]
Change = Literal["created", "updated", "removed"]


class DossierRecord(BaseModel):
    """One dossier's data to upsert, keyed by the broker's own ids.

    A list left out (null) is not touched; a list given is upserted object by object (same
    object twice = unchanged). With `remove_missing`, stored objects of a given list that the
    record no longer holds are removed.
    """

    dossier_id: DossierId
    name: GivenName | None = Field(default=None, min_length=1, max_length=200,
                             description="Required when the dossier is new")
    broker_reference: str | None = Field(
        default=None, description="Client number in the broker's management system")
    persons: list[Person] | None = None
    risk_objects: list[RiskObject] | None = None
    contracts: list[Contract] | None = None
    claims: list[Claim] | None = None
    invoices: list[Invoice] | None = None


class UpsertDossierRequest(BaseModel):
    caller: Caller
    record: DossierRecord
    remove_missing: bool = False
    correlation_id: str | None = None


class Rejection(BaseModel):
    """An object the import refused, and why; the other objects of the record still went in."""

    path: str = Field(description="Where in the record, e.g. contracts[3]")
    object_id: str = Field(description="The broker's id of the refused object ('' if none)")
    reasons: dict[str, str] = Field(description="Field path -> what is wrong")


class ImportReport(BaseModel):
    """What one dossier record changed."""

    dossier_id: str
    dossier: Literal["created", "updated", "unchanged", "rejected"]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    rejections: list[Rejection] = Field(default_factory=list)


UPSERT_DOSSIER = RpcMethod("dossier.rpc.upsert_dossier", UpsertDossierRequest, ImportReport)


# --- references other services hold: checked against the owner ------------------------------


class DossierObjectRef(BaseModel):
    """An object of a dossier another service refers to (a document's claim, ...)."""

    dossier_id: DossierId
    kind: ObjectKind
    object_id: ObjectId


class ReferencesQuery(BaseModel):
    """Do these dossiers exist, and do these objects exist in the dossier they name?"""

    caller: Caller
    dossier_ids: list[DossierId] = Field(default_factory=list, max_length=100)
    objects: list[DossierObjectRef] = Field(default_factory=list, max_length=100)


class UnknownReferences(BaseModel):
    """What of a ReferencesQuery does not exist (for a client: or is not theirs to see)."""

    dossier_ids: list[str] = Field(default_factory=list)
    objects: list[DossierObjectRef] = Field(default_factory=list)

    @property
    def all_known(self) -> bool:
        """True when every asked reference exists."""
        return not self.dossier_ids and not self.objects


class DossierSearch(BaseModel):
    """Staff look dossiers up by the start of their number or a part of their name."""

    caller: Caller
    text: str = Field(default="", max_length=100)
    limit: int = Field(default=10, ge=1, le=50)


CHECK_REFERENCES = RpcMethod(
    "dossier.rpc.check_references", ReferencesQuery, UnknownReferences)
SEARCH_DOSSIERS = RpcMethod("dossier.rpc.search_dossiers", DossierSearch, DossierSummaries)


class PersonChanged(Event):
    """A person of a dossier was created, updated or removed by an import."""

    routing_key = "dossier.person.changed"

    change: Change
    person_id: str
    person: Person | None = Field(default=None, description="None when removed")


class RiskObjectChanged(Event):
    routing_key = "dossier.risk_object.changed"

    change: Change
    risk_object_id: str
    risk_object: RiskObject | None = None


class ContractChanged(Event):
    """Carries the contract's risk object ids (requests validate claim forms with them)."""

    routing_key = "dossier.contract.changed"

    change: Change
    contract_id: str
    contract: Contract | None = None


class ClaimChanged(Event):
    routing_key = "dossier.claim.changed"

    change: Change
    claim_id: str
    claim: Claim | None = None


class InvoiceChanged(Event):
    routing_key = "dossier.invoice.changed"

    change: Change
    invoice_id: str
    invoice: Invoice | None = None


class DossierChanged(Event):
    """The dossier itself (name, broker reference) was created or updated."""

    routing_key = "dossier.dossier.changed"

    change: Change
    name: str
    broker_reference: str | None = None


# --- consultation: paginated lists and details (manual 3.1) ----------------------------------

MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 1_000_000  # more than any dossier's objects: a bigger number is a 422


class ListQuery(BaseModel):
    """One page of a list: the first one, or the one a cursor of an earlier page leads to."""

    caller: Caller
    dossier_id: DossierId
    page_size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    sort: str | None = Field(default=None, max_length=40,
                             description="A field the list can be sorted on")
    descending: bool = False
    cursor: str | None = Field(
        default=None, max_length=4000,
        description="Opaque and signed: a `*_cursor` of a page of this list of this dossier, "
                    "same sort and order; any other is refused (422)")


class ObjectQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId
    object_id: ObjectId


class PageLinks(BaseModel):
    """Addresses of the neighbouring pages (set by the gateway; None: there is none)."""

    first: str
    previous: str | None = None
    next: str | None = None
    last: str


class PageInfo(BaseModel):
    """Where a page lies in its list. Pages are found by keyset, not by number: each cursor
    holds the boundary row's (sort value, id), so a deep page costs what the first one does."""

    dossier_id: str
    total: int = Field(description="Objects in the whole list")
    page: int = Field(description="This page's number (1 = first)")
    page_count: int
    page_size: int
    sort: str
    descending: bool
    previous_cursor: str | None = Field(default=None, description="None on the first page")
    next_cursor: str | None = Field(default=None, description="None on the last page")
    last_cursor: str = Field(description="Leads to the last page")
    links: PageLinks | None = None


class CoverLine(BaseModel):
    """One contract covering a risk object, with its guarantees grouped (plain-language summary)."""

    contract_id: str
    policy_number: str
    insurer: str
    product: str
    status: str
    renewal_date: date | None = None
    included: list[str] = Field(description="Labels of the included guarantees")
    optional: list[str] = Field(description="Labels of the optional guarantees chosen")


class RiskObjectLine(BaseModel):
    risk_object: RiskObject
    next_renewal: date | None = Field(description="Earliest renewal of its active contracts")
    covers: list[CoverLine]


class PersonList(BaseModel):
    dossier_id: str
    persons: list[Person]


class RiskObjectPage(PageInfo):
    items: list[RiskObjectLine]


class ContractPage(PageInfo):
    items: list[Contract]


class ClaimPage(PageInfo):
    items: list[Claim]


class InvoicePage(PageInfo):
    items: list[Invoice]
    open_amount_cents: int = Field(description="Open and overdue invoices of the whole dossier")
    overdue_count: int
    overdue_invoice_ids: list[str] = Field(
        default_factory=list, description="Invoices of this page not paid by their due date")
    currency: str = "EUR"


class RiskObjectDetail(BaseModel):
    dossier_id: str
    risk_object: RiskObject
    covers: list[CoverLine]
    contracts: list[Contract]
    claims: list[Claim]
    insured_person: Person | None = Field(
        default=None, description="The person of the dossier a person-related risk insures")
    usual_driver: Person | None = Field(
        default=None, description="The person of the dossier that details['usual_driver'] names")


class ContractDetail(BaseModel):
    dossier_id: str
    contract: Contract
    risk_objects: list[RiskObject]
    claims: list[Claim]
    invoices: list[Invoice]
    overdue_invoice_ids: list[str] = Field(default_factory=list)


class ClaimDetail(BaseModel):
    dossier_id: str
    claim: Claim
    contract: Contract | None
    risk_objects: list[RiskObject]


LIST_PERSONS = RpcMethod("dossier.rpc.list_persons", DossierQuery, PersonList)
LIST_RISK_OBJECTS = RpcMethod("dossier.rpc.list_risk_objects", ListQuery, RiskObjectPage)
GET_RISK_OBJECT = RpcMethod("dossier.rpc.get_risk_object", ObjectQuery, RiskObjectDetail)
LIST_CONTRACT_PAGE = RpcMethod("dossier.rpc.list_contract_page", ListQuery, ContractPage)
GET_CONTRACT = RpcMethod("dossier.rpc.get_contract", ObjectQuery, ContractDetail)
LIST_CLAIMS = RpcMethod("dossier.rpc.list_claims", ListQuery, ClaimPage)
GET_CLAIM = RpcMethod("dossier.rpc.get_claim", ObjectQuery, ClaimDetail)
LIST_INVOICES = RpcMethod("dossier.rpc.list_invoices", ListQuery, InvoicePage)
