"""The forms' rules (manual 4.1-4.4), pure: the dossier's data comes in, a stored record or an
Invalid naming each wrong field (under the payload's field names) comes out."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from stdnum.be import nn
from stdnum.exceptions import ValidationError as NumberInvalid

from libs.contracts.dossier import Contract, Person, RiskObject
from libs.contracts.envelope import OFFICE_TIMEZONE, office_day
from libs.contracts.request_forms import (
    FORM_PAYLOADS,
    PERSONAL_DATA_FIELDS,
    AddressForm,
    AddressRecord,
    ClaimAttachment,
    ClaimForm,
    ClaimGeneralData,
    ClaimRecord,
    ClaimRiskObjectRef,
    FamilyMemberForm,
    FamilyMemberRecord,
    FieldChange,
    FormAbout,
    FormAboutKind,
    FormKind,
    PersonalDataForm,
    PersonalDataRecord,
)
from libs.servicekit.errors import Invalid, NotFound
from services.requests.forms.postal import comparable, match_municipality, municipalities_of

OLDEST_BIRTH_DATE = date(1900, 1, 1)
MOVE_WINDOW = timedelta(days=366)  # an address change is announced around its date
ModelT = TypeVar("ModelT", bound=BaseModel)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors by field path ("risk_object_ids.1"), the first message of each."""
    fields: dict[str, str] = {}
    for problem in error.errors():
        path = ".".join(str(part) for part in problem["loc"]) or "form"
        fields.setdefault(path, problem["msg"])
    return fields


def parse_payload(kind: FormKind, payload: Mapping[str, Any]) -> BaseModel:
    """The payload as the kind's model, or Invalid with every wrong field."""
    try:
        return FORM_PAYLOADS[kind].model_validate(dict(payload))
    except ValidationError as error:
        raise Invalid("The form has errors.", fields=field_errors(error)) from None


def _refuse(problems: Mapping[str, str]) -> None:
    if problems:
        raise Invalid("The form has errors.", fields=dict(problems))


def person_name(person: Person) -> str:
    return f"{person.first_name} {person.last_name}".strip()


# --- national register number ----------------------------------------------------------------


def national_number_problem(number: str, birth_date: date | None) -> tuple[str | None, str]:
    """(why the number is refused or None, its 11 digits): a valid be.nn whose birth date,
    when the number holds one, is `birth_date`."""
    try:
        compact = nn.validate(number)
    except NumberInvalid:
        return "not a valid Belgian national register number", number
    try:
        encoded = nn.get_birth_date(compact)
    except NumberInvalid:
        encoded = None
    if birth_date is not None and encoded is not None and encoded != birth_date:
        return ("does not match the birth date "
                f"({encoded.strftime('%d/%m/%Y')} in the number)"), compact
    return None, compact


def birth_date_problem(birth_date: date, today: date) -> str | None:
    if birth_date > today:
        return "must not be in the future"
    if birth_date < OLDEST_BIRTH_DATE:
        return "is too far in the past"
    return None


# --- 4.1 personal data ------------------------------------------------------------------------


def _shown(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def personal_data_record(form: PersonalDataForm, person: Person, today: date
                         ) -> PersonalDataRecord:
    """Only the fields that differ from what the office holds, old -> new; nothing changed
    is refused."""
    problems: dict[str, str] = {}
    birth_date = form.birth_date if form.birth_date is not None else person.birth_date
    if form.birth_date is not None and (why := birth_date_problem(form.birth_date, today)):
        problems["birth_date"] = why
    national_number = form.national_number
    if national_number:
        why, national_number = national_number_problem(national_number, birth_date)
        if why:
            problems["national_number"] = why
    _refuse(problems)
    wanted = form.model_dump()
    wanted["national_number"] = national_number
    changes: list[FieldChange] = []
    kept: dict[str, object] = {}
    for field in PERSONAL_DATA_FIELDS:
        new = wanted[field]
        if new is None:
            continue  # not sent: unchanged
        old = getattr(person, field)
        if field == "national_number" and old:
            old = nn.compact(old) if nn.is_valid(old) else old
        if _shown(new) == _shown(old):
            continue
        if field in ("last_name", "first_name") and _shown(new) is None:
            problems[field] = "must not be empty"
            continue
        changes.append(FieldChange(field=field, old=_shown(old), new=_shown(new)))
        kept[field] = new
    _refuse(problems)
    if not changes:
        raise Invalid("Nothing was changed.", fields={"form": "change at least one field"})
    return PersonalDataRecord(person_id=form.person_id, person_name=person_name(person),
                              changes=changes, person_before=person,
                              **kept)


# --- 4.2 address --------------------------------------------------------------------------------


def address_record(form: AddressForm, household: Sequence[Person], today: date,
                   language: str = "nl") -> AddressRecord:
    """Start date near today, postal code and municipality of one another, movers of this
    household (each once)."""
    problems: dict[str, str] = {}
    if abs(form.start_date - today) > MOVE_WINDOW:
        problems["start_date"] = "must be within a year of today"
    municipality = None
    if not municipalities_of(form.postal_code):
        problems["postal_code"] = "is not a Belgian postal code"
    else:
        municipality = match_municipality(form.postal_code, form.municipality)
        if municipality is None:
            names = " / ".join(sorted({name for found in municipalities_of(form.postal_code)
                                       for name in found.names.values()}))
            problems["municipality"] = f"is not the municipality of {form.postal_code} ({names})"
    by_id = {person.person_id: person for person in household}
    seen: set[str] = set()
    for index, person_id in enumerate(form.person_ids):
        if person_id not in by_id:
            problems[f"person_ids.{index}"] = "is not a member of this household"
        elif person_id in seen:
            problems[f"person_ids.{index}"] = "is chosen twice"
        seen.add(person_id)
    _refuse(problems)
    assert municipality is not None
    return AddressRecord(
        **form.model_dump(exclude={"municipality"}),
        # The official spelling of the name the client chose ("liege" -> "Liège").
        municipality=_same(form.municipality, municipality.names.values())
        or municipality.name_in(language),
        refnis=municipality.refnis,
        person_names={person_id: person_name(by_id[person_id]) for person_id in form.person_ids},
        persons_before=[by_id[person_id] for person_id in form.person_ids])


def _same(typed: str, official: Iterable[str]) -> str | None:
    wanted = comparable(typed)
    return next((name for name in official if comparable(name) == wanted), None)


# --- 4.3 family member --------------------------------------------------------------------------


def family_member_record(form: FamilyMemberForm, today: date) -> FamilyMemberRecord:
    """Birth date not in the future; the national number, when given, valid and of that
    birth date."""
    problems: dict[str, str] = {}
    if why := birth_date_problem(form.birth_date, today):
        problems["birth_date"] = why
    national_number = form.national_number or None
    if national_number:
        why_number, national_number = national_number_problem(national_number, form.birth_date)
        if why_number:
            problems["national_number"] = why_number
    _refuse(problems)
    return FamilyMemberRecord(**{**form.model_dump(), "national_number": national_number})


# --- 4.4 claim ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimFacts:
    """What the dossier service says about the dossier the claim is declared in."""

    risk_objects: Mapping[str, RiskObject]  # every risk object of the dossier
    persons: Sequence[Person]
    contract: Contract | None = None  # the contract the form was opened from


def claim_choices(facts: ClaimFacts, about: FormAbout | None) -> tuple[list[str], list[str]]:
    """(the risk objects the client may choose from, those preselected), per manual 4.4:
    from a risk object, that one; from a contract, only the contract's risk objects, its
    only one preselected."""
    if facts.contract is not None:
        offered = [ref for ref in facts.contract.risk_object_ids if ref in facts.risk_objects]
        return offered, offered[:] if len(offered) == 1 else []
    offered = list(facts.risk_objects)
    if about is not None and about.kind == FormAboutKind.RISK_OBJECT and about.ref_id:
        return offered, [about.ref_id] if about.ref_id in facts.risk_objects else []
    return offered, []


def declarant(facts: ClaimFacts, person_id: str | None) -> Person | None:
    """The declaring person: the one named, else the policyholder, else the first person."""
    if person_id is not None:
        return next((p for p in facts.persons if p.person_id == person_id), None)
    return next((p for p in facts.persons if p.role == "policyholder"),
                facts.persons[0] if facts.persons else None)


def held_general(facts: ClaimFacts) -> ClaimGeneralData:
    """The declarant's general data as the office holds them (the form's prefill)."""
    holder = declarant(facts, None)
    if holder is None:
        return ClaimGeneralData()
    address = holder.address
    return ClaimGeneralData(
        person_id=holder.person_id, last_name=holder.last_name, first_name=holder.first_name,
        email=holder.email or "", phone=holder.phone or "",
        street=address.street if address else "", number=address.number if address else "",
        box=address.box if address else "",
        postal_code=address.postal_code if address else "",
        municipality=address.city if address else "")


def claim_record(form: ClaimForm, facts: ClaimFacts, about: FormAbout | None,
                 now: datetime) -> ClaimRecord:
    """Every rule of the claim form, enforced whatever the page did."""
    problems: dict[str, str] = {}
    offered, _ = claim_choices(facts, about)
    allowed = set(offered)
    seen: set[str] = set()
    for index, risk_object_id in enumerate(form.risk_object_ids):
        field = f"risk_object_ids.{index}"
        if risk_object_id in seen:
            problems[field] = "a risk object can be chosen only once"
        elif risk_object_id not in facts.risk_objects:
            problems[field] = "is not a risk object of this dossier"
        elif risk_object_id not in allowed:
            problems[field] = "is not covered by this contract"
        seen.add(risk_object_id)
    if facts.contract is not None and offered and not form.risk_object_ids:
        problems["risk_object_ids"] = "choose the damaged risk object of this contract"
    elif not form.risk_object_ids and not form.other_risk_description:
        problems["risk_object_ids"] = "choose a damaged risk object or describe another risk"
    local = datetime.combine(form.loss_date, form.loss_time, tzinfo=OFFICE_TIMEZONE)
    today = office_day(now)
    if form.loss_date > today:
        problems["loss_date"] = "must not be in the future"
    elif local > now:
        problems["loss_time"] = "must not be in the future"
    elif form.loss_date < OLDEST_BIRTH_DATE:
        problems["loss_date"] = "is too far in the past"
    sent = form.general if form.general is not None else held_general(facts)
    person = declarant(facts, sent.person_id)
    if sent.person_id is not None and person is None:
        problems["general.person_id"] = "is not a member of this household"
    documents = [a.document_id for a in form.attachments if a.document_id is not None]
    if len(documents) != len(set(documents)):
        problems["attachments"] = "a document is attached twice"
    _refuse(problems)
    general = sent.model_copy(update={
        "person_id": person.person_id if person else None,
        "last_name": person.last_name if person else "",
        "first_name": person.first_name if person else ""})
    contract = facts.contract
    return ClaimRecord(
        **form.model_dump(exclude={"general"}), general=general,
        contract_id=contract.contract_id if contract else None,
        policy_number=contract.policy_number if contract else None,
        risk_objects=[ClaimRiskObjectRef(
            risk_object_id=ref, kind=facts.risk_objects[ref].kind,
            description=facts.risk_objects[ref].description) for ref in form.risk_object_ids],
        loss_at=local.astimezone(UTC))


def attachments_with_documents(record: ClaimRecord, documents: Sequence[str | None]
                               ) -> list[ClaimAttachment]:
    """The record's attachments with the document ids the upload gave them, in order."""
    if len(documents) != len(record.attachments):
        raise Invalid("The attachments do not match the declaration's.",
                      fields={"attachments": f"expected {len(record.attachments)}"})
    return [attachment.model_copy(update={"document_id": document or attachment.document_id})
            for attachment, document in zip(record.attachments, documents, strict=True)]


def require_origin(about: FormAbout | None, facts: ClaimFacts) -> None:
    """A claim opened from a risk object of another dossier (or none) is not found."""
    if about is not None and about.kind == FormAboutKind.RISK_OBJECT \
            and about.ref_id not in facts.risk_objects:
        raise NotFound("This risk object does not exist in the dossier.")
