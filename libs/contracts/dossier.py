"""Contracts of the dossier service: the client's insurance file."""

from datetime import date

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod


class Address(BaseModel):
    street: str
    number: str = ""
    box: str = ""
    postal_code: str
    city: str
    country: str = "BE"


class Person(BaseModel):
    person_id: str
    role: str = Field(description="policyholder | partner | child | other")
    last_name: str
    first_name: str
    birth_date: date | None = None
    national_number: str | None = None
    language: str = "nl"
    email: str | None = None
    phone: str | None = None
    address: Address | None = None


class RiskObject(BaseModel):
    risk_object_id: str
    kind: str = Field(description="vehicle | building | person | other")
    description: str
    details: dict[str, str] = Field(default_factory=dict, description="Kind-specific fields")


class Guarantee(BaseModel):
    code: str
    label: str
    insured_amount_cents: int | None = None
    deductible_cents: int | None = None


class Contract(BaseModel):
    contract_id: str
    policy_number: str
    insurer: str
    product: str
    status: str = Field(default="active", description="active | suspended | ended")
    start_date: date
    end_date: date | None = None
    annual_premium_cents: int
    currency: str = "EUR"
    risk_object_ids: list[str] = Field(default_factory=list)
    guarantees: list[Guarantee] = Field(default_factory=list)


class Claim(BaseModel):
    claim_id: str
    claim_number: str
    contract_id: str
    risk_object_id: str | None = None
    occurred_on: date
    description: str
    status: str = Field(default="open", description="open | closed")


class Invoice(BaseModel):
    invoice_id: str
    invoice_number: str
    contract_id: str
    due_date: date
    amount_cents: int
    currency: str = "EUR"
    status: str = Field(default="open", description="open | paid")


class DossierImport(BaseModel):
    """A dossier as the broker's management system exports it (replaces the stored dossier)."""

    dossier_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    broker_reference: str | None = None
    persons: list[Person] = Field(default_factory=list)
    risk_objects: list[RiskObject] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    invoices: list[Invoice] = Field(default_factory=list)


class DossierSummary(BaseModel):
    dossier_id: str
    name: str
    broker_reference: str | None = None
    person_count: int
    contract_count: int


class ImportDossierRequest(BaseModel):
    caller: Caller
    dossier: DossierImport
    correlation_id: str | None = None


class DossierQuery(BaseModel):
    caller: Caller
    dossier_id: str


class DossierListQuery(BaseModel):
    caller: Caller
    dossier_ids: list[str]


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
