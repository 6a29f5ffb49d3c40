"""Contracts of the client's forms (manual 4.1-4.4): payloads, what a form is prefilled with,
drafts, the submission command and the office's feed of accepted data changes.

Each form kind has one payload model (FORM_PAYLOADS). A submission carries the payload as a
plain object; the requests service validates it with the kind's model and reports every field
error under the payload's own field names ("loss_date", "risk_object_ids.1"), so a page can show
each beside its field. What is stored in a request's `form` is the kind's *stored* model
(FORM_RECORDS): the payload plus what the service read from the dossier when it accepted it
(the old values next to the new, the names of the persons, the municipality's official name).
"""

import json
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from libs.contracts.caller import Caller
from libs.contracts.documents import CLIENT_ATTACHMENT_MAX_FILES
from libs.contracts.dossier import Address, DossierRecord, Person
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.paging import CursorPage, PageCursor
from libs.contracts.requests import RequestPublic
from libs.contracts.rpc import Ack, RpcMethod
from libs.contracts.shown_names import ShownName, shown_name


class FormKind(StrEnum):
    """The forms of manual 4.1-4.4; the values are the request kinds they create."""

    PERSONAL_DATA = "personal_data"  # 4.1 "Persoonlijke gegevens wijzigen"
    ADDRESS = "address"  # 4.2 "Adres wijzigen"
    FAMILY_MEMBER = "family_member"  # 4.3 "Een familielid toevoegen"
    CLAIM = "claim"  # 4.4 "Schade aangifte"


DATA_CHANGE_KINDS = frozenset({FormKind.PERSONAL_DATA, FormKind.ADDRESS, FormKind.FAMILY_MEMBER})
"""Forms that change the dossier's data. The broker's management system is the master of that
data: once accepted, such a change is offered to it (CHANGES_SINCE) and becomes visible in the
portal only with the broker's next import."""

AWAITING_BROKER_UPDATE = "awaiting_broker_update"
"""The status note of an accepted data change: "accepted - visible after your broker's next
update" (pages translate it)."""


def status_note(kind: str, status: str) -> str | None:
    """The note a page shows beside a request's status (None: nothing to add)."""
    if kind in DATA_CHANGE_KINDS and status == "accepted":
        return AWAITING_BROKER_UPDATE
    return None


# --- what a form is about (where it was opened from) -----------------------------------------


class FormAboutKind(StrEnum):
    """Same values as the request's `about` kinds (RequestAbout)."""

    GENERAL = "general"
    PERSONAL_DATA = "personal_data"  # the household's data (address, a new family member)
    PERSON = "person"
    CONTRACT = "contract"
    RISK_OBJECT = "risk_object"


class FormAbout(BaseModel):
    """Where a form was opened from: a person (4.1), a risk object or a contract (4.4)."""

    kind: FormAboutKind = FormAboutKind.GENERAL
    ref_id: ObjectId | None = None
    label: ShownName = Field(default="", max_length=200,
                             description="Set by the service (a name, a policy number)")

    @property
    def key(self) -> str:
        """`kind:ref_id` (or `general`): the query parameter `about` and a draft's key part."""
        return self.kind.value if self.ref_id is None else f"{self.kind.value}:{self.ref_id}"


def parse_about(text: str | None) -> FormAbout | None:
    """`risk_object:<id>`, `contract:<id>`, `person:<id>` or `general` (ValueError otherwise)."""
    if text is None or text == "":
        return None
    kind, _, ref_id = text.partition(":")
    if kind in (FormAboutKind.GENERAL, FormAboutKind.PERSONAL_DATA) and not ref_id:
        return FormAbout(kind=FormAboutKind(kind))
    if not ref_id or kind not in {k.value for k in FormAboutKind} \
            or kind in (FormAboutKind.GENERAL, FormAboutKind.PERSONAL_DATA):
        raise ValueError("about is general, person:<id>, contract:<id> or risk_object:<id>")
    return FormAbout(kind=FormAboutKind(kind), ref_id=ref_id)


# --- field types ------------------------------------------------------------------------------


def _typed(value: str) -> str:
    cleaned = shown_name(value).strip()
    if value and not cleaned:
        raise ValueError("The text holds only invisible characters.")
    return cleaned


def _text(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length,
                             max_length=max_length)


# What a person types: trimmed, its length checked, then freed of control and bidirectional
# characters (a text of only such characters is refused).
Typed = AfterValidator(_typed)
Name = Annotated[str, _text(1, 100), Typed]
Street = Annotated[str, _text(1, 200), Typed]
HouseNumber = Annotated[str, _text(1, 20), Typed]
Box = Annotated[str, _text(0, 20), Typed]
ShortText = Annotated[str, _text(0, 200), Typed]
OtherRisk = Annotated[str, _text(0, 1000), Typed]
Description = Annotated[str, _text(1, 5000), Typed]
ReportNumber = Annotated[str, _text(0, 50), Typed]
Remark = Annotated[str, _text(0, 10_000), Typed]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30,
                                         pattern=r"^(|\+?[0-9 ./()-]{6,30})$")]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[1-9][0-9]{3}$")]
NationalNumber = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
"""A Belgian national register number, with or without its separators (checked by the service
with python-stdnum's be.nn; stored as its 11 digits)."""


class Language(StrEnum):
    NL = "nl"
    FR = "fr"
    DE = "de"
    EN = "en"


# --- 4.1 personal data ------------------------------------------------------------------------

PERSONAL_DATA_FIELDS = ("last_name", "first_name", "birth_date", "national_number", "language",
                        "email", "phone")
"""The person's fields a client may ask to change, in the form's order."""


class PersonalDataForm(BaseModel):
    """4.1: the person's values as the client wants them. A field left out (null) is not
    changed; the service keeps only the fields that differ from what the office holds, and
    refuses a form that changes nothing. "" clears an optional field (email, phone)."""

    person_id: ObjectId
    last_name: Name | None = None
    first_name: Name | None = None
    birth_date: date | None = None
    national_number: NationalNumber | None = None
    language: Language | None = None
    email: EmailStr | Literal[""] | None = None
    phone: Phone | None = None


class FieldChange(BaseModel):
    """One changed field: what the office held, what the client asks (None: empty)."""

    field: str = Field(description="One of PERSONAL_DATA_FIELDS")
    old: str | None
    new: str | None


class PersonalDataRecord(PersonalDataForm):
    """What a personal-data request stores: only the changed fields, old -> new."""

    person_name: ShownName = ""
    changes: list[FieldChange] = Field(default_factory=list)
    person_before: Person | None = Field(
        default=None, description="The person as the office held them at submission")


# --- 4.2 address -----------------------------------------------------------------------------


class AddressForm(BaseModel):
    """4.2: start date of the new address, the address, who of the household moves."""

    start_date: date
    street: Street
    number: HouseNumber
    box: Box = ""
    postal_code: PostalCode
    municipality: Name
    person_ids: list[ObjectId] = Field(min_length=1, max_length=50,
                                       description="The household members who move")


class AddressRecord(AddressForm):
    """What an address request stores: the municipality's name as the list spells it."""

    refnis: str = Field(default="", description="The municipality's REFNIS (NIS) code")
    person_names: dict[str, ShownName] = Field(default_factory=dict)
    persons_before: list[Person] = Field(default_factory=list)


# --- 4.3 family member -----------------------------------------------------------------------


class FamilyMemberKind(StrEnum):
    PARTNER = "partner"
    CHILD = "child"
    OTHER_FAMILY = "other_family"  # another family member
    OTHER = "other"


class FamilyMemberForm(BaseModel):
    """4.3: the kind of family member and the person's data."""

    member_kind: FamilyMemberKind
    last_name: Name
    first_name: Name
    birth_date: date
    national_number: NationalNumber | None = None
    language: Language | None = None
    email: EmailStr | Literal[""] | None = None
    phone: Phone | None = None


class FamilyMemberRecord(FamilyMemberForm):
    """What a family-member request stores (the national number as its 11 digits)."""


# --- 4.4 claim --------------------------------------------------------------------------------

READ_ONLY_CLAIM_FIELDS = ("last_name", "first_name")
"""The general data a client cannot change on the claim form (manual 4.4)."""


class ClaimGeneralData(BaseModel):
    """The declarant's general data: prefilled; name and first name read-only (the service
    takes them from the dossier, whatever was sent)."""

    person_id: ObjectId | None = Field(default=None, description="The declarant (default: "
                                       "the policyholder)")
    last_name: ShownName = ""
    first_name: ShownName = ""
    email: EmailStr | Literal[""] = ""
    phone: Phone = ""
    street: ShortText = ""
    number: Box = ""
    box: Box = ""
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] = ""
    municipality: ShortText = ""
    iban: Annotated[str, StringConstraints(strip_whitespace=True, max_length=42)] = ""


class ClaimAttachment(BaseModel):
    """A file sent with the declaration (uploaded first as a document of context
    request:<id>), with the client's description."""

    document_id: ObjectId | None = Field(
        default=None, description="None until the file is uploaded (multipart submission)")
    filename: ShownName = ""
    size: int = Field(default=0, ge=0)
    description: ShortText = ""


MAX_CLAIM_RISK_OBJECTS = 20
MAX_CLAIM_ATTACHMENTS = CLIENT_ATTACHMENT_MAX_FILES  # the gateway enforces the bytes


class ClaimForm(BaseModel):
    """4.4 "Schade aangifte": general data, the damaged goods, the loss, the attachments."""

    general: ClaimGeneralData | None = Field(
        default=None, description="Left out: the general data as the office holds them")
    risk_object_ids: list[ObjectId] = Field(
        default_factory=list, max_length=MAX_CLAIM_RISK_OBJECTS,
        description="The damaged risk objects of the dossier, each once")
    other_risk_description: OtherRisk = Field(
        default="", description="'Omschrijving ander risico'")
    loss_date: date = Field(description="Date of the loss (*)")
    loss_time: time = Field(description="Time of the loss, Belgian local time (*)")
    description: Description
    vat_liable: bool = Field(default=False, description="'Btw-plichtige'")
    police_report_number: ReportNumber | None = Field(
        default=None, description="'Proces-verbaal' number")
    attachments: list[ClaimAttachment] = Field(default_factory=list,
                                               max_length=MAX_CLAIM_ATTACHMENTS)


class ClaimRiskObjectRef(BaseModel):
    risk_object_id: str
    kind: str
    description: ShownName


class ClaimRecord(ClaimForm):
    """What a claim request stores: the risk objects' descriptions and the declaration PDF."""

    general: ClaimGeneralData = Field(default_factory=ClaimGeneralData)

    contract_id: str | None = Field(default=None, description="Opened from this contract")
    policy_number: str | None = None
    risk_objects: list[ClaimRiskObjectRef] = Field(default_factory=list)
    loss_at: datetime | None = Field(default=None, description="Date and time of loss, UTC")
    declaration_document_id: str | None = Field(
        default=None, description="The declaration as a PDF among the dossier's documents")


FORM_PAYLOADS: dict[FormKind, type[BaseModel]] = {
    FormKind.PERSONAL_DATA: PersonalDataForm,
    FormKind.ADDRESS: AddressForm,
    FormKind.FAMILY_MEMBER: FamilyMemberForm,
    FormKind.CLAIM: ClaimForm,
}
FORM_RECORDS: dict[FormKind, type[BaseModel]] = {
    FormKind.PERSONAL_DATA: PersonalDataRecord,
    FormKind.ADDRESS: AddressRecord,
    FormKind.FAMILY_MEMBER: FamilyMemberRecord,
    FormKind.CLAIM: ClaimRecord,
}


# --- submission -------------------------------------------------------------------------------

# As the messages' keys: any text (the store keeps a hash of it), at most 128 characters.
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SubmitForm(BaseModel):
    """A client sends a form. The same idempotency key again (double click, retry, an app
    resending) returns the request stored the first time, never a second one."""

    caller: Caller
    dossier_id: DossierId
    kind: FormKind
    payload: dict[str, Any] = Field(description="The kind's payload model (FORM_PAYLOADS)")
    about: FormAbout | None = None
    remark: Remark = ""
    idempotency_key: IdempotencyKey | None = None
    sender_name: str = Field(default="", max_length=200)
    correlation_id: str | None = None


class FormSubmitted(BaseModel):
    """The request a form created (or had created, for a repeated idempotency key)."""

    request_id: str
    dossier_id: str
    kind: FormKind
    status: str
    sent_at: datetime
    created: bool = Field(description="False when the idempotency key had been used already")
    form: dict[str, Any] = Field(description="The kind's stored model (FORM_RECORDS)")
    about: FormAbout | None = None
    status_note: str | None = None
    request: RequestPublic | None = Field(
        default=None, description="The whole request as GET requests/{request_id} shows it")


# --- context: what a form is prefilled with ---------------------------------------------------


class FormContextQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId
    kind: FormKind
    about: FormAbout | None = None


class HouseholdMember(BaseModel):
    person_id: str
    role: str
    last_name: ShownName
    first_name: ShownName
    birth_date: date | None = None
    address: Address | None = None


class RiskObjectChoice(BaseModel):
    risk_object_id: str
    kind: str
    description: ShownName


class ContractChoice(BaseModel):
    contract_id: str
    policy_number: str
    insurer: str
    product: str
    risk_object_ids: list[str]


class ClaimContext(BaseModel):
    """4.4: the general data (name/first name read-only), the risk objects the client may
    choose from, those preselected, and the contract it was opened from."""

    general: ClaimGeneralData
    read_only_fields: list[str] = Field(default_factory=lambda: list(READ_ONLY_CLAIM_FIELDS))
    risk_objects: list[RiskObjectChoice] = Field(
        description="The choices: the dossier's risk objects, or only the contract's")
    preselected: list[str] = Field(default_factory=list)
    contract: ContractChoice | None = None
    limited_to_contract: bool = Field(
        default=False, description="Only the contract's risk objects may be chosen")


class FormContext(BaseModel):
    """What a form is prefilled with, as the office holds it; one section per kind."""

    dossier_id: str
    kind: FormKind
    about: FormAbout | None = None
    household: list[HouseholdMember] = Field(default_factory=list)
    person: Person | None = Field(default=None, description="4.1: the person, current values")
    current_address: Address | None = Field(default=None, description="4.2: the household's")
    family_member_kinds: list[FamilyMemberKind] = Field(default_factory=list)
    claim: ClaimContext | None = None
    today: date = Field(description="Today in Belgium (dates in the future are refused)")


# --- drafts -----------------------------------------------------------------------------------

DRAFT_DAYS = 30
MAX_DRAFT_BYTES = 64 * 1024


class DraftKey(BaseModel):
    """A draft is one per (account, dossier, form kind, about)."""

    caller: Caller
    dossier_id: DossierId
    kind: FormKind
    about: FormAbout | None = None


class SaveDraft(BaseModel):
    """Autosave: the half-filled form as the page holds it (not validated, at most 64 KB)."""

    caller: Caller
    dossier_id: DossierId
    kind: FormKind
    about: FormAbout | None = None
    data: dict[str, Any]

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
            raise ValueError(f"a draft holds at most {MAX_DRAFT_BYTES // 1024} KB")
        return value


class FormDraft(BaseModel):
    dossier_id: str
    kind: FormKind
    about: FormAbout | None = None
    data: dict[str, Any]
    saved_at: datetime
    expires_at: datetime


class ListDraftsQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class DraftList(BaseModel):
    drafts: list[FormDraft]


# --- the office's feed of accepted data changes ----------------------------------------------


class ChangesQuery(BaseModel):
    """Staff (the office's system): accepted data changes recorded after `since`, oldest
    first; the next page by the signed `cursor` of the previous one."""

    caller: Caller
    since: datetime | None = None
    cursor: PageCursor = None
    limit: int = Field(default=100, ge=1, le=500)


class DataChange(BaseModel):
    """One accepted personal-data, address or family-member request, as the dossier-import
    schema's record: what the broker's system would import to apply it."""

    change_id: str
    feed_key: str = Field(default="", description="The feed's order (recorded time, id)")
    request_id: str
    dossier_id: str
    kind: FormKind
    accepted_at: datetime
    recorded_at: datetime
    record: DossierRecord
    changes: list[FieldChange] = Field(default_factory=list,
                                       description="Personal data: old -> new")
    new_person: bool = Field(default=False, description="Family member: the person's id is "
                             "provisional; the broker's system gives it its own")


class ChangesPage(CursorPage[DataChange]):
    """One page of the feed (`libs.contracts.paging`)."""


class AttachClaimDocuments(BaseModel):
    """After a multipart claim: the uploaded files' document ids (context request:<id>), one
    per attachment of the declaration in order (None: keep), and the declaration's PDF."""

    caller: Caller
    dossier_id: DossierId
    request_id: ObjectId
    document_ids: list[ObjectId | None] = Field(default_factory=list,
                                                max_length=MAX_CLAIM_ATTACHMENTS)
    declaration_document_id: ObjectId | None = None


SUBMIT_FORM = RpcMethod("requests.rpc.submit_form", SubmitForm, FormSubmitted)
FORM_CONTEXT = RpcMethod("requests.rpc.form_context", FormContextQuery, FormContext)
SAVE_DRAFT = RpcMethod("requests.rpc.save_draft", SaveDraft, FormDraft)
GET_DRAFT = RpcMethod("requests.rpc.get_draft", DraftKey, FormDraft)
DELETE_DRAFT = RpcMethod("requests.rpc.delete_draft", DraftKey, Ack)
LIST_DRAFTS = RpcMethod("requests.rpc.list_drafts", ListDraftsQuery, DraftList)
CHANGES_SINCE = RpcMethod("requests.rpc.changes_since", ChangesQuery, ChangesPage)
ATTACH_CLAIM_DOCUMENTS = RpcMethod("requests.rpc.attach_claim_documents", AttachClaimDocuments,
                                   FormSubmitted)
