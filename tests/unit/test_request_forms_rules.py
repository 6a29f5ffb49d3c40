"""The forms' rules (manual 4.1-4.4) without infrastructure: the claim's risk objects, dates
not in the future, postal code against municipality, the national number, only changed fields,
idempotent submission."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from libs.contracts import dossier, request_forms
from libs.contracts.caller import Caller, Role
from libs.contracts.dossier import Address, Contract, Person, RiskObject
from libs.contracts.request_forms import (
    AddressForm,
    ClaimForm,
    FamilyMemberForm,
    FormAbout,
    FormAboutKind,
    FormKind,
    PersonalDataForm,
    SubmitForm,
)
from libs.contracts.requests import OfficeRequest
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.errors import Invalid, NotFound
from services.requests.forms import rules
from services.requests.forms.changes import data_change
from services.requests.forms.handlers import FormHandlers
from services.requests.forms.postal import match_municipality

NOW = datetime(2026, 11, 12, 9, 30, tzinfo=UTC)  # 10:30 in Brussels
TODAY = date(2026, 11, 12)


def national_number(born: date, serial: int = 123) -> str:
    """A valid Belgian national register number of someone born on `born`."""
    base = f"{born:%y%m%d}{serial:03d}"
    checked = ("2" + base) if born.year >= 2000 else base
    return f"{base}{97 - int(checked) % 97:02d}"


def risk(ref: str, description: str = "") -> RiskObject:
    return RiskObject(risk_object_id=ref, kind="vehicle", description=description or ref)


def contract(ref: str, risks: list[str]) -> Contract:
    return Contract(contract_id=ref, policy_number=f"POL-{ref}", insurer="AG", product="Auto",
                    start_date=date(2024, 1, 1), annual_premium_cents=1, risk_object_ids=risks)


HOLDER = Person(person_id="P1", role="policyholder", last_name="Peeters", first_name="An",
                birth_date=date(1985, 3, 14), email="an@example.be", language="nl",
                address=Address(street="Kerkstraat", number="1", postal_code="9000",
                                city="Gent"))
CHILD = Person(person_id="P2", role="child", last_name="Peeters", first_name="Mo",
               birth_date=date(2015, 6, 1))
RISKS = {ref: risk(ref) for ref in ("CAR", "HOUSE", "VAN")}


def claim(**changes: Any) -> ClaimForm:
    values: dict[str, Any] = {"risk_object_ids": ["CAR"], "loss_date": "2026-11-11",
                              "loss_time": "18:00", "description": "Rear-ended at a light"}
    values.update(changes)
    return ClaimForm.model_validate(values)


def refused(call: Any) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        call()
    return caught.value.fields or {}


# --- claim: the damaged risk objects -----------------------------------------------------------


def test_a_claim_from_a_risk_object_has_it_preselected_among_all_the_dossiers() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER])
    offered, preselected = rules.claim_choices(
        facts, FormAbout(kind=FormAboutKind.RISK_OBJECT, ref_id="HOUSE"))
    assert offered == ["CAR", "HOUSE", "VAN"] and preselected == ["HOUSE"]


def test_a_claim_from_a_contract_with_one_risk_object_has_it_preselected() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER],
                             contract=contract("C1", ["VAN"]))
    assert rules.claim_choices(facts, None) == (["VAN"], ["VAN"])


def test_a_claim_from_a_contract_with_several_offers_only_its_own_none_preselected() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER],
                             contract=contract("C2", ["CAR", "VAN"]))
    about = FormAbout(kind=FormAboutKind.CONTRACT, ref_id="C2")
    assert rules.claim_choices(facts, about) == (["CAR", "VAN"], [])
    # Nothing chosen is refused: the contract's risk object must be selected.
    assert "risk_object_ids" in refused(
        lambda: rules.claim_record(claim(risk_object_ids=[]), facts, about, NOW))
    # One outside the contract is refused, one of it accepted.
    assert refused(lambda: rules.claim_record(claim(risk_object_ids=["HOUSE"]), facts, about,
                                              NOW)) == {
        "risk_object_ids.0": "is not covered by this contract"}
    record = rules.claim_record(claim(risk_object_ids=["VAN"]), facts, about, NOW)
    assert record.contract_id == "C2" and record.policy_number == "POL-C2"
    assert [ref.risk_object_id for ref in record.risk_objects] == ["VAN"]


def test_another_dossiers_risk_object_and_the_same_one_twice_are_refused() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER])
    assert refused(lambda: rules.claim_record(
        claim(risk_object_ids=["CAR", "NOT-OURS", "CAR"]), facts, None, NOW)) == {
        "risk_object_ids.1": "is not a risk object of this dossier",
        "risk_object_ids.2": "a risk object can be chosen only once"}
    # Opened from another dossier's risk object: not found, like a missing one.
    with pytest.raises(NotFound):
        rules.require_origin(FormAbout(kind=FormAboutKind.RISK_OBJECT, ref_id="NOT-OURS"),
                             facts)


def test_another_risk_described_freely_is_enough_without_a_risk_object() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER])
    record = rules.claim_record(claim(risk_object_ids=[], other_risk_description="Bike"),
                                facts, None, NOW)
    assert record.other_risk_description == "Bike"
    assert "risk_object_ids" in refused(
        lambda: rules.claim_record(claim(risk_object_ids=[]), facts, None, NOW))


def test_the_claims_name_is_the_dossiers_whatever_was_sent() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER, CHILD])
    record = rules.claim_record(
        claim(general={"last_name": "Forged", "first_name": "X", "phone": "+32 470 12 34 56"}),
        facts, None, NOW)
    assert (record.general.last_name, record.general.first_name) == ("Peeters", "An")
    assert record.general.phone == "+32 470 12 34 56"


# --- claim: date and time of loss, mandatory fields --------------------------------------------


def test_a_loss_in_the_future_is_refused_in_belgian_time() -> None:
    facts = rules.ClaimFacts(risk_objects=RISKS, persons=[HOLDER])
    assert refused(lambda: rules.claim_record(claim(loss_date="2026-11-13"), facts, None,
                                              NOW)) == {"loss_date": "must not be in the future"}
    # 10:45 in Brussels is still to come at 09:30 UTC (10:30 local); 10:15 is past.
    assert refused(lambda: rules.claim_record(
        claim(loss_date="2026-11-12", loss_time="10:45"), facts, None, NOW)) == {
        "loss_time": "must not be in the future"}
    record = rules.claim_record(claim(loss_date="2026-11-12", loss_time="10:15"), facts,
                                None, NOW)
    assert record.loss_at == datetime(2026, 11, 12, 9, 15, tzinfo=UTC)


def test_date_time_and_description_of_the_loss_are_mandatory() -> None:
    fields = refused(lambda: rules.parse_payload(FormKind.CLAIM, {"description": "  "}))
    assert {"loss_date", "loss_time", "description"} <= set(fields)
    parsed = rules.parse_payload(FormKind.CLAIM, {
        "loss_date": "2026-11-11", "loss_time": "08:00", "description": "Hail"})
    assert isinstance(parsed, ClaimForm)
    assert parsed.vat_liable is False and parsed.police_report_number is None


# --- address ------------------------------------------------------------------------------------


def address(**changes: Any) -> AddressForm:
    values: dict[str, Any] = {"start_date": "2026-12-01", "street": "Veldstraat",
                              "number": "12", "postal_code": "9000", "municipality": "Gent",
                              "person_ids": ["P1"]}
    values.update(changes)
    return AddressForm.model_validate(values)


def test_postal_code_and_municipality_must_belong_together() -> None:
    household = [HOLDER, CHILD]
    record = rules.address_record(address(municipality="GAND"), household, TODAY)
    assert record.municipality == "Gand" and record.refnis == "44021"
    assert refused(lambda: rules.address_record(address(municipality="Brugge"), household,
                                                TODAY)) == {
        "municipality": "is not the municipality of 9000 (Gand / Gent)"}
    assert refused(lambda: rules.address_record(address(postal_code="9999"), household,
                                                TODAY)) == {
        "postal_code": "is not a Belgian postal code"}


def test_municipality_names_match_without_case_or_accents_in_every_language() -> None:
    found = match_municipality("4000", "liege")
    assert found is not None and found.names["fr"] == "Liège"
    assert match_municipality("4000", "Luik") == found
    # 1040 lies in two municipalities: the street decides, both are accepted.
    assert match_municipality("1040", "Etterbeek") is not None
    assert match_municipality("1040", "Bruxelles") is not None


def test_the_movers_are_members_of_the_household_each_once() -> None:
    assert refused(lambda: rules.address_record(
        address(person_ids=["P1", "P9", "P1"]), [HOLDER, CHILD], TODAY)) == {
        "person_ids.1": "is not a member of this household", "person_ids.2": "is chosen twice"}
    assert "person_ids" in refused(lambda: rules.parse_payload(FormKind.ADDRESS, {
        **address().model_dump(mode="json"), "person_ids": []}))


# --- family member and the national number -----------------------------------------------------


def member(**changes: Any) -> FamilyMemberForm:
    values: dict[str, Any] = {"member_kind": "child", "last_name": "Peeters",
                              "first_name": "Lou", "birth_date": "2019-04-02"}
    values.update(changes)
    return FamilyMemberForm.model_validate(values)


def test_a_family_member_born_in_the_future_is_refused() -> None:
    assert refused(lambda: rules.family_member_record(member(birth_date="2026-11-13"),
                                                      TODAY)) == {
        "birth_date": "must not be in the future"}


def test_the_national_number_is_optional_checked_and_of_the_birth_date() -> None:
    assert rules.family_member_record(member(), TODAY).national_number is None
    good = national_number(date(2019, 4, 2))
    dotted = f"{good[:2]}.{good[2:4]}.{good[4:6]}-{good[6:9]}.{good[9:]}"
    assert rules.family_member_record(member(national_number=dotted), TODAY
                                      ).national_number == good
    assert refused(lambda: rules.family_member_record(
        member(national_number=national_number(date(2018, 4, 2))), TODAY)) == {
        "national_number": "does not match the birth date (02/04/2018 in the number)"}
    wrong_check = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
    assert refused(lambda: rules.family_member_record(
        member(national_number=wrong_check), TODAY)) == {
        "national_number": "not a valid Belgian national register number"}


# --- personal data: only changed fields ---------------------------------------------------------


def test_only_the_changed_fields_are_kept_old_next_to_new() -> None:
    form = PersonalDataForm(person_id="P1", last_name="Peeters", first_name="Anna",
                            email="an@example.be", phone="+32 9 123 45 67")
    record = rules.personal_data_record(form, HOLDER, TODAY)
    assert [(c.field, c.old, c.new) for c in record.changes] == [
        ("first_name", "An", "Anna"), ("phone", None, "+32 9 123 45 67")]
    assert record.last_name is None and record.email is None  # unchanged: not sent on
    with pytest.raises(Invalid, match="Nothing was changed"):
        rules.personal_data_record(PersonalDataForm(person_id="P1", first_name="An"),
                                   HOLDER, TODAY)


def test_a_national_number_that_contradicts_the_held_birth_date_is_refused() -> None:
    assert refused(lambda: rules.personal_data_record(PersonalDataForm(
        person_id="P1", national_number=national_number(date(1985, 3, 15))), HOLDER,
        TODAY)) == {"national_number": "does not match the birth date (15/03/1985 in the "
                                       "number)"}


def test_an_accepted_change_is_offered_as_the_import_schemas_record() -> None:
    record = rules.personal_data_record(
        PersonalDataForm(person_id="P1", first_name="Anna", birth_date=date(1985, 3, 15)),
        HOLDER, TODAY)
    change = data_change(request_id="r1", dossier_id="D1", kind="personal_data",
                         form=record.model_dump(mode="json"), accepted_at=NOW, recorded_at=NOW)
    assert change is not None
    [person] = change.record.persons or []
    assert (person.person_id, person.first_name, person.birth_date, person.email) == (
        "P1", "Anna", date(1985, 3, 15), "an@example.be")
    moved = rules.address_record(address(person_ids=["P1", "P2"]), [HOLDER, CHILD], TODAY)
    change = data_change(request_id="r2", dossier_id="D1", kind="address",
                         form=moved.model_dump(mode="json"), accepted_at=NOW, recorded_at=NOW)
    assert change is not None
    assert [(p.person_id, p.address.street if p.address else None,
             p.address.valid_from if p.address else None)
            for p in change.record.persons or []] == [
        ("P1", "Veldstraat", date(2026, 12, 1)), ("P2", "Veldstraat", date(2026, 12, 1))]
    assert request_forms.status_note("address", "accepted") == \
        request_forms.AWAITING_BROKER_UPDATE
    assert request_forms.status_note("claim", "accepted") is None


# --- idempotency ------------------------------------------------------------------------------


class FakeDossier:
    """The dossier service's answers for dossier D1."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        if method.queue == dossier.LIST_PERSONS.queue:
            return method.reply.model_validate(
                dossier.PersonList(dossier_id="D1", persons=[HOLDER, CHILD]).model_dump())
        raise AssertionError(method.queue)


class MemoryRequests:
    """The requests' store, in memory: one request per (dossier, sender, key)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, OfficeRequest]] = []

    async def find_resubmitted(self, dossier_id: str, sent_by: str, key: str
                               ) -> OfficeRequest | None:
        return next((request for used, request in self.requests
                     if (request.dossier_id, request.sent_by, used) ==
                     (dossier_id, sent_by, key)), None)

    async def insert(self, request: OfficeRequest, events: object, *,
                     idempotency_key: str | None = None) -> OfficeRequest:
        if idempotency_key is not None and (first := await self.find_resubmitted(
                request.dossier_id, request.sent_by, idempotency_key)) is not None:
            return first
        self.requests.append((idempotency_key, request))
        return request


async def test_the_same_idempotency_key_returns_the_same_request_never_a_second() -> None:
    stored = MemoryRequests()
    events: list[int] = []

    async def admit(_: Caller) -> None:
        return None

    handlers = FormHandlers(
        stored, None, None, FakeDossier(),  # type: ignore[arg-type]
        on_events_stored=lambda: events.append(1), take_submission=admit,
        cursor_signer=CursorSigner(b"k" * 32), clock=lambda: NOW)
    caller = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1"])
    command = SubmitForm(caller=caller, dossier_id="D1", kind=FormKind.FAMILY_MEMBER,
                         payload=member().model_dump(mode="json"),
                         idempotency_key="key-0001-abcdef")
    first = await handlers.submit_form(command)
    again = await handlers.submit_form(command)
    assert first.created and not again.created
    assert again.request_id == first.request_id and again.status == "pending"
    assert len(stored.requests) == 1 and events == [1]
    other = await handlers.submit_form(command.model_copy(update={"idempotency_key": None}))
    assert other.request_id != first.request_id and len(stored.requests) == 2
    assert first.form["birth_date"] == "2019-04-02" and first.form["member_kind"] == "child"
    assert first.request is not None and first.request.status == "pending"
    assert first.request.entries[0].author == "client"
