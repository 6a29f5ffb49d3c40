"""The request forms as pages (manual 4.1-4.4), on fake services: what each form is prefilled
with, what it sends, how a refusal keeps what was typed, drafts and double submits."""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from libs.contracts import documents, dossier, requests
from libs.contracts import request_forms as forms
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Invalid, NotFound
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_pages import csrf, sign_in

PIETER = dossier.Person(person_id="p1", role="policyholder", last_name="Dupont",
                        first_name="Pieter", birth_date=date(1981, 4, 12),
                        national_number="81.04.12-153.52", language="nl",
                        email="pieter@example.be", phone="+32 475 12 34 56",
                        address=dossier.Address(street="Kortrijksesteenweg", number="214",
                                                postal_code="9000", city="Gent"))
HOUSEHOLD = [forms.HouseholdMember(person_id="p1", role="policyholder", last_name="Dupont",
                                   first_name="Pieter"),
             forms.HouseholdMember(person_id="p2", role="partner", last_name="Claes",
                                   first_name="Sofie")]
CHOICES = [forms.RiskObjectChoice(risk_object_id="r1", kind="vehicle",
                                  description="Volkswagen Golf 1-ABC-123"),
           forms.RiskObjectChoice(risk_object_id="r2", kind="building",
                                  description="Kortrijksesteenweg 214, Gent")]


def context_of(query: BaseModel) -> forms.FormContext:
    """The form context the requests service would answer for the Dupont household."""
    assert isinstance(query, forms.FormContextQuery)
    about = query.about
    if about is not None and about.ref_id not in ("p1", "r1", "r2", "c1", "c2"):
        raise NotFound("This object does not exist.")
    claim = None
    if query.kind == forms.FormKind.CLAIM:
        from_contract = about is not None and about.kind == forms.FormAboutKind.CONTRACT
        several = from_contract and about is not None and about.ref_id == "c2"
        claim = forms.ClaimContext(
            general=forms.ClaimGeneralData(person_id="p1", last_name="Dupont",
                                           first_name="Pieter", email="pieter@example.be",
                                           street="Kortrijksesteenweg", number="214",
                                           postal_code="9000", municipality="Gent"),
            risk_objects=CHOICES,
            preselected=[] if several else (["r1"] if about and about.ref_id in ("r1", "c1")
                                            else []),
            contract=forms.ContractChoice(contract_id=about.ref_id or "", policy_number="AU-1",
                                          insurer="AG", product="Auto",
                                          risk_object_ids=["r1", "r2"])
            if from_contract and about is not None else None,
            limited_to_contract=from_contract)
    return forms.FormContext(
        dossier_id=query.dossier_id, kind=query.kind, about=about, household=HOUSEHOLD,
        person=PIETER if query.kind == forms.FormKind.PERSONAL_DATA else None,
        current_address=PIETER.address, family_member_kinds=list(forms.FamilyMemberKind),
        claim=claim, today=date(2026, 12, 5))


def submitted(request: BaseModel) -> forms.FormSubmitted:
    """What the service answers: the request, its form with no document for any file yet."""
    assert isinstance(request, forms.SubmitForm)
    return forms.FormSubmitted(request_id="q1", dossier_id=request.dossier_id,
                               kind=request.kind, status="pending",
                               sent_at=datetime(2026, 12, 5, 9, tzinfo=UTC), created=True,
                               form=request.payload)


@pytest.fixture
def forms_gateway(gateway: Gateway) -> Gateway:
    gateway.rpc.answer(forms.FORM_CONTEXT, context_of)
    gateway.rpc.answer(forms.GET_DRAFT, NotFound("No draft."))
    gateway.rpc.answer(forms.DELETE_DRAFT, Ack())
    gateway.rpc.answer(forms.SUBMIT_FORM, submitted)
    sign_in(gateway)
    return gateway


def field_value(html: str, name: str) -> str:
    found = re.search(r'<input id="' + re.escape(name) + r'"[^>]* value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def the_submission(gateway: Gateway) -> forms.SubmitForm:
    [sent] = gateway.rpc.called(forms.SUBMIT_FORM)
    assert isinstance(sent, forms.SubmitForm)
    return sent


def key_of(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([A-Za-z0-9_.:-]+)"', html)
    assert found is not None
    return found.group(1)


# --- 4.1 -------------------------------------------------------------------------------------


def test_the_personal_data_form_shows_the_person_as_the_office_holds_them(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/personal-data/p1")
    assert page.status_code == 200
    assert "<h1 id=\"form-title\">Persoonsgegevens wijzigen</h1>" in page.text
    assert field_value(page.text, "last_name") == "Dupont"
    assert field_value(page.text, "national_number") == "81.04.12-153.52"
    assert field_value(page.text, "birth_date") == "1981-04-12"
    assert 'value="nl" selected' in page.text


def test_only_the_changed_personal_data_is_sent_and_the_confirmation_follows(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/personal-data/p1")
    key = key_of(page.text)
    answer = forms_gateway.client.post("/forms/personal-data/p1?dossier=D1", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": key, "last_name": "Dupont",
        "first_name": "Pieter", "birth_date": "1981-04-12",
        "national_number": "81.04.12-153.52", "language": "nl", "email": "pieter@dupont.be",
        "phone": "", "remark": "Nieuw adres"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/forms/sent?kind=personal_data&dossier=D1"
    sent = the_submission(forms_gateway)
    assert sent.payload == {"person_id": "p1", "email": "pieter@dupont.be", "phone": ""}
    assert sent.idempotency_key == key
    assert sent.about == forms.FormAbout(kind=forms.FormAboutKind.PERSON, ref_id="p1")
    assert sent.remark == "Nieuw adres"
    confirmation = forms_gateway.client.get(answer.headers["location"])
    assert "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar" in confirmation.text
    assert 'href="/requests?dossier=D1"' in confirmation.text


def test_a_refused_field_is_shown_beside_it_with_everything_typed_kept(
    forms_gateway: Gateway,
) -> None:
    forms_gateway.rpc.answer(forms.SUBMIT_FORM, Invalid(
        "Not valid.", fields={"national_number": "not a Belgian national register number"}))
    answer = forms_gateway.client.post("/forms/personal-data/p1", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": "k" * 32, "last_name": "Dupond",
        "first_name": "Pieter", "birth_date": "1981-04-12", "national_number": "12345",
        "language": "fr", "email": "pieter@example.be", "phone": "+32 475 12 34 56"})
    assert answer.status_code == 422
    assert field_value(answer.text, "last_name") == "Dupond"
    assert field_value(answer.text, "national_number") == "12345"
    assert 'value="fr" selected' in answer.text
    assert ('<p class="field-error" id="national_number-error">Dit rijksregisternummer is '
            'niet geldig') in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert key_of(answer.text) == "k" * 32, "the same form keeps its idempotency key"


def test_a_form_that_changes_nothing_is_not_sent(forms_gateway: Gateway) -> None:
    values = {"csrf_token": csrf(forms_gateway), "idempotency_key": "k" * 32,
              "last_name": "Dupont", "first_name": "Pieter", "birth_date": "1981-04-12",
              "national_number": "81.04.12-153.52", "language": "nl",
              "email": "pieter@example.be", "phone": "+32 475 12 34 56"}
    answer = forms_gateway.client.post("/forms/personal-data/p1", data=values)
    assert answer.status_code == 422
    assert "U hebt nog niets gewijzigd." in answer.text
    assert forms_gateway.rpc.called(forms.SUBMIT_FORM) == []


def test_another_dossiers_person_is_not_found(forms_gateway: Gateway) -> None:
    assert forms_gateway.client.get("/forms/personal-data/p9").status_code == 404


# --- 4.2 -------------------------------------------------------------------------------------


def test_the_address_form_offers_the_household_and_the_municipalities_of_a_postal_code(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/address")
    assert page.status_code == 200
    assert 'name="person_ids" value="p1" checked' in page.text
    assert 'name="person_ids" value="p2" checked' in page.text
    assert 'hx-get="/forms/municipalities"' in page.text
    options = forms_gateway.client.get("/forms/municipalities?postal_code=1050")
    assert options.text.split() == ['<option', 'value="Brussel"></option>', '<option',
                                    'value="Elsene"></option>']
    assert forms_gateway.client.get("/forms/municipalities?postal_code=12").text.strip() == ""


def test_the_new_address_is_sent_with_who_moves(forms_gateway: Gateway) -> None:
    answer = forms_gateway.client.post("/forms/address", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": "a" * 32,
        "start_date": "2027-01-01", "postal_code": "2000", "municipality": "Antwerpen",
        "street": "Meir", "number": "1", "box": "", "person_ids": ["p1", "p2"]})
    assert answer.status_code == 303
    assert the_submission(forms_gateway).payload == {
        "start_date": "2027-01-01", "postal_code": "2000", "municipality": "Antwerpen",
        "street": "Meir", "number": "1", "box": "", "person_ids": ["p1", "p2"]}


def test_an_address_without_anyone_moving_comes_back_with_its_data(
    forms_gateway: Gateway,
) -> None:
    forms_gateway.rpc.answer(forms.SUBMIT_FORM, Invalid("Not valid.", fields={
        "person_ids": "at least one", "municipality": "not of this postal code"}))
    answer = forms_gateway.client.post("/forms/address", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": "a" * 32,
        "start_date": "2027-01-01", "postal_code": "2000", "municipality": "Gent",
        "street": "Meir", "number": "1"})
    assert answer.status_code == 422
    assert field_value(answer.text, "street") == "Meir"
    assert "Kies minstens één lid van uw gezin." in answer.text
    assert "Deze gemeente hoort niet bij de postcode." in answer.text
    assert 'value="p1" checked' not in answer.text


# --- 4.3 -------------------------------------------------------------------------------------


def test_a_family_member_is_sent_with_its_kind(forms_gateway: Gateway) -> None:
    page = forms_gateway.client.get("/forms/family-member")
    assert "Ander familielid" in page.text
    answer = forms_gateway.client.post("/forms/family-member", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": "f" * 32,
        "member_kind": "child", "last_name": "Dupont", "first_name": "Emma",
        "birth_date": "2024-02-29", "national_number": ""})
    assert answer.status_code == 303
    payload = the_submission(forms_gateway).payload
    assert payload["member_kind"] == "child" and payload["first_name"] == "Emma"
    assert payload["national_number"] is None


# --- 4.4 -------------------------------------------------------------------------------------


def test_a_claim_from_a_risk_object_has_it_preselected_and_the_names_read_only(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/claim/risk-objects/r1")
    assert page.status_code == 200
    for section in ("Algemene gegevens", "Mijn beschadigde goederen",
                    "Mijn schadegeval - omschrijving", "Toegevoegde documenten"):
        assert section in page.text
    assert re.search(r'id="general.last_name"[^>]*value="Dupont"[^>]* readonly', page.text)
    assert not re.search(r'id="general.email"[^>]* readonly', page.text)
    assert '<option value="r1" selected>' in page.text
    assert 'max="2026-12-05"' in page.text


def test_a_claim_from_a_contract_of_several_risk_objects_starts_empty(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/claim/contracts/c2")
    assert "selected>" not in page.text.split('id="damaged-goods"')[1].split("</section>")[0]
    assert "Enkel de risico-objecten van dit contract worden voorgesteld." in page.text


def multipart(gateway: Gateway, path: str, fields: list[tuple[str, str]],
              files: list[tuple[str, bytes]]) -> Any:
    return gateway.client.post(path, data=dict(fields) | {
        "risk_object_id": [value for name, value in fields if name == "risk_object_id"],
        "attachment_description": [v for n, v in fields if n == "attachment_description"]},
        # a browser sends an empty part for a file field where nothing was chosen
        files=[("attachment", (name, body, "application/octet-stream")) for name, body in files]
        or [("attachment", ("", b"", "application/octet-stream"))])


def claim_fields(gateway: Gateway) -> list[tuple[str, str]]:
    return [("csrf_token", csrf(gateway)), ("idempotency_key", "c" * 32),
            ("general.email", "pieter@dupont.be"), ("general.last_name", "Someone Else"),
            ("risk_object_id", "r1"), ("risk_object_id", ""),
            ("loss_date", "2026-12-01"), ("loss_time", "14:30"),
            ("description", "Aanrijding op de parking"), ("vat_liable", "no"),
            ("police_report_number", "GE.12.L3.012345/2026"),
            ("attachment_description", "Foto voorkant"),
            ("attachment_description", "Proces-verbaal")]


def test_a_declared_claim_is_sent_and_its_files_are_attached_to_the_request(
    forms_gateway: Gateway,
) -> None:
    stored: list[documents.BeginUploadRequest] = []

    def begin(request: BaseModel) -> documents.UploadSlot:
        assert isinstance(request, documents.BeginUploadRequest)
        stored.append(request)
        return documents.UploadSlot(document_id=f"d{len(stored)}", max_size=2 * 1024 * 1024,
                                    upload_url=f"http://s3.test/b/d{len(stored)}")

    def complete(request: BaseModel) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        begun = stored[int(request.document_id[1:]) - 1]
        return documents.DocumentPublic(
            document_id=request.document_id, dossier_id="D1", title=begun.title,
            filename=begun.filename, content_type=begun.content_type, size=request.size,
            sha256=request.sha256, uploaded_by="u1", uploaded_at=datetime.now(UTC))

    forms_gateway.rpc.answer(documents.BEGIN_UPLOAD, begin)
    forms_gateway.rpc.answer(documents.COMPLETE_UPLOAD, complete)
    forms_gateway.rpc.answer(forms.ATTACH_CLAIM_DOCUMENTS, submitted_claim)
    answer = multipart(forms_gateway, "/forms/claim/contracts/c1?dossier=D1",
                       claim_fields(forms_gateway),
                       [("voorkant.jpg", b"\xff\xd8" + b"x" * 5000), ("pv.pdf", b"%PDF-1.7")])
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/forms/sent?kind=claim&dossier=D1"
    sent = the_submission(forms_gateway)
    assert sent.kind == forms.FormKind.CLAIM
    assert sent.payload["risk_object_ids"] == ["r1"]
    assert sent.payload["general"]["email"] == "pieter@dupont.be"
    assert sent.payload["police_report_number"] == "GE.12.L3.012345/2026"
    assert sent.payload["attachments"] == [
        {"filename": "voorkant.jpg", "size": 5002, "description": "Foto voorkant"},
        {"filename": "pv.pdf", "size": 8, "description": "Proces-verbaal"}]
    assert [(r.filename, r.title, r.context.ref_id) for r in stored[:2]] == [
        ("voorkant.jpg", "Foto voorkant", "q1"), ("pv.pdf", "Proces-verbaal", "q1")]
    assert stored[2].content_type == "application/pdf", "the declaration itself, as a PDF"
    [attach] = forms_gateway.rpc.called(forms.ATTACH_CLAIM_DOCUMENTS)
    assert isinstance(attach, forms.AttachClaimDocuments)
    assert (attach.request_id, attach.document_ids) == ("q1", ["d1", "d2"])
    assert attach.declaration_document_id == "d3"


def submitted_claim(request: BaseModel) -> forms.FormSubmitted:
    return forms.FormSubmitted(request_id="q1", dossier_id="D1", kind=forms.FormKind.CLAIM,
                               status="pending", sent_at=datetime.now(UTC), created=False,
                               form={})


def test_a_claim_sent_twice_with_one_key_uploads_its_files_once(
    forms_gateway: Gateway,
) -> None:
    def first_time(request: BaseModel) -> forms.FormSubmitted:
        answer = submitted(request)
        form = {**answer.form, "declaration_document_id": "d0", "attachments": [
            {"document_id": "d1", "filename": "foto.jpg", "size": 4}]}
        return answer.model_copy(update={"created": False, "form": form})

    forms_gateway.rpc.answer(forms.SUBMIT_FORM, first_time)
    answer = multipart(forms_gateway, "/forms/claim/risk-objects/r1",
                       claim_fields(forms_gateway), [("foto.jpg", b"jpeg")])
    assert answer.status_code == 303
    assert forms_gateway.rpc.called(documents.BEGIN_UPLOAD) == []
    assert forms_gateway.rpc.called(forms.ATTACH_CLAIM_DOCUMENTS) == []


def test_a_claim_resent_once_complete_is_answered_before_its_files_are_read(
    forms_gateway: Gateway,
) -> None:
    page = forms_gateway.client.get("/forms/claim/risk-objects/r1")
    action = re.search(r'<form method="post" action="([^"]+)" class="form request-form claim',
                       page.text)
    assert action is not None
    key = key_of(page.text)
    assert action.group(1) == f"/forms/claim/risk-objects/r1?key={key}&amp;dossier=D1"
    forms_gateway.rpc.answer(requests.FIND_RESUBMITTED, requests.RequestPublic(
        request_id="q1", dossier_id="D1", kind="claim", subject="", status="pending", sent_by="u1",
        sent_at=datetime.now(UTC), form={
            "loss_date": "2026-12-01", "loss_time": "10:00", "description": "x",
            "declaration_document_id": "d0",
            "attachments": [{"document_id": "d1", "filename": "foto.jpg", "size": 4}]}))
    answer = multipart(forms_gateway, f"/forms/claim/risk-objects/r1?key={key}&dossier=D1",
                       claim_fields(forms_gateway), [("foto.jpg", b"jpeg")])
    assert answer.status_code == 303
    assert answer.headers["location"] == "/forms/sent?kind=claim&dossier=D1"
    assert forms_gateway.rpc.called(forms.SUBMIT_FORM) == []
    assert forms_gateway.rpc.called(requests.ADMIT_ATTACHMENT) == []


def test_a_file_over_the_limit_is_refused_without_losing_the_rest_of_the_claim(
    forms_gateway: Gateway,
) -> None:
    answer = multipart(forms_gateway, "/forms/claim/risk-objects/r1",
                       claim_fields(forms_gateway),
                       [("klein.jpg", b"x" * 100), ("groot.mov", b"x" * (2 * 1024 * 1024 + 1))])
    assert answer.status_code == 422
    assert "groot.mov werd niet toegevoegd: een document mag hoogstens 2 MB zijn." in answer.text
    assert "Kies uw documenten opnieuw" in answer.text
    assert re.search(r'id="description"[^>]*>Aanrijding op de parking</textarea>', answer.text)
    assert field_value(answer.text, "general.email") == "pieter@dupont.be"
    assert field_value(answer.text, "general.last_name") == "Dupont", "read-only stays"
    assert '<option value="r1" selected>' in answer.text
    assert forms_gateway.rpc.called(forms.SUBMIT_FORM) == []
    assert len(forms_gateway.rpc.called(requests.ADMIT_ATTACHMENT)) == 1, "an upload, admitted"


def test_a_claim_in_the_future_shows_the_error_beside_the_date(forms_gateway: Gateway) -> None:
    forms_gateway.rpc.answer(forms.SUBMIT_FORM, Invalid("Not valid.", fields={
        "loss_date": "in the future", "risk_object_ids.1": "chosen twice"}))
    answer = multipart(forms_gateway, "/forms/claim/risk-objects/r1",
                       claim_fields(forms_gateway), [])
    assert answer.status_code == 422
    assert '<p class="field-error" id="loss_date-error">' in answer.text
    assert field_value(answer.text, "loss_time") == "14:30"
    assert forms_gateway.rpc.called(requests.ADMIT_ATTACHMENT) == [], "no upload to admit"


# --- drafts ----------------------------------------------------------------------------------


def test_a_half_filled_form_is_saved_as_a_draft_and_offered_on_another_device(
    forms_gateway: Gateway,
) -> None:
    saved: list[forms.SaveDraft] = []

    def save(request: BaseModel) -> forms.FormDraft:
        assert isinstance(request, forms.SaveDraft)
        saved.append(request)
        return forms.FormDraft(dossier_id="D1", kind=request.kind, about=request.about,
                               data=request.data, saved_at=datetime.now(UTC),
                               expires_at=datetime.now(UTC) + timedelta(days=30))

    forms_gateway.rpc.answer(forms.SAVE_DRAFT, save)
    refused = forms_gateway.client.post("/forms/draft", data={"kind": "address"})
    assert refused.status_code == 403, "the CSRF header is needed"
    answer = forms_gateway.client.post(
        "/forms/draft?dossier=D1", headers={"X-CSRF-Token": csrf(forms_gateway)},
        data={"kind": "address", "about": "", "street": "Meir", "person_ids": ["p2"],
              "csrf_token": "x", "idempotency_key": "y" * 32})
    assert answer.status_code == 204
    assert saved[0].kind == forms.FormKind.ADDRESS
    assert saved[0].data == {"street": "Meir", "person_ids": ["p2"]}
    forms_gateway.rpc.answer(forms.GET_DRAFT, lambda request: save(forms.SaveDraft(
        caller=request.caller, dossier_id="D1", kind=forms.FormKind.ADDRESS,  # type: ignore[attr-defined]
        data=saved[0].data)))
    offered = forms_gateway.client.get("/forms/address")
    assert "Concept hervatten" in offered.text
    assert field_value(offered.text, "street") == ""
    resumed = forms_gateway.client.get("/forms/address?draft=resume")
    assert field_value(resumed.text, "street") == "Meir"
    assert 'value="p2" checked' in resumed.text and 'value="p1" checked' not in resumed.text


def test_a_draft_can_be_discarded_from_its_notice(forms_gateway: Gateway) -> None:
    forms_gateway.rpc.answer(forms.GET_DRAFT, forms.FormDraft(
        dossier_id="D1", kind=forms.FormKind.PERSONAL_DATA,
        about=forms.FormAbout(kind=forms.FormAboutKind.PERSON, ref_id="p1"),
        data={"phone": "0470"}, saved_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(days=30)))
    page = forms_gateway.client.get("/forms/personal-data/p1")
    notice = page.text.split('class="notice draft-notice"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', notice))
    assert fields["kind"] == "personal_data" and fields["about"] == "person:p1"
    answer = forms_gateway.client.post("/forms/draft/discard", data=fields)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/forms/personal-data/p1?dossier=D1"
    [deleted] = forms_gateway.rpc.called(forms.DELETE_DRAFT)
    assert isinstance(deleted, forms.DraftKey) and deleted.about is not None
    assert deleted.about.ref_id == "p1"


def test_a_sent_form_deletes_its_draft(forms_gateway: Gateway) -> None:
    forms_gateway.client.post("/forms/family-member", data={
        "csrf_token": csrf(forms_gateway), "idempotency_key": "f" * 32,
        "member_kind": "partner", "last_name": "Claes", "first_name": "Sofie",
        "birth_date": "1983-09-27"})
    [deleted] = forms_gateway.rpc.called(forms.DELETE_DRAFT)
    assert isinstance(deleted, forms.DraftKey) and deleted.kind == forms.FormKind.FAMILY_MEMBER


# --- the buttons on the insurance file's pages --------------------------------------------------


def test_my_data_offers_the_three_forms(forms_gateway: Gateway) -> None:
    forms_gateway.rpc.answer(dossier.LIST_PERSONS, dossier.PersonList(
        dossier_id="D1", persons=[PIETER]))
    page = forms_gateway.client.get("/my-data")
    assert 'href="/forms/personal-data/p1?dossier=D1"' in page.text
    assert ">Gegevens wijzigen</a>" in page.text
    assert ">Adres wijzigen</a>" in page.text
    assert ">Familielid toevoegen</a>" in page.text


@pytest.mark.parametrize(("language", "title", "section"), [
    ("fr", "Déclaration de sinistre", "Mes biens endommagés"),
    ("en", "Claim declaration", "My damaged goods"),
])
def test_the_claim_form_speaks_the_readers_language(
    forms_gateway: Gateway, language: str, title: str, section: str
) -> None:
    forms_gateway.client.get(f"/lang/{language}?next=/")
    page = forms_gateway.client.get("/forms/claim/risk-objects/r1")
    assert f'<html lang="{language}">' in page.text
    assert f'<h1 id="form-title">{title}</h1>' in page.text
    assert section in page.text
