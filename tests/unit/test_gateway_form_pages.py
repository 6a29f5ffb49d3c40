"""The form pages' own rules: only changed personal data is sent, the service's field errors
land beside the right fields, the municipalities of a postal code are offered."""

from datetime import date

from gateway.web.claim_form_pages import claim_payload
from gateway.web.data_change_pages import changed_fields
from gateway.web.form_pages import field_errors, municipality_names, valid_key
from libs.contracts import request_forms as forms
from libs.servicekit.errors import Invalid

HELD = {"last_name": "Dupont", "first_name": "Pieter", "birth_date": "1981-04-12",
        "national_number": "81.04.12-153.52", "language": "nl",
        "email": "pieter@example.be", "phone": "+32 475 12 34 56"}


def test_only_the_fields_the_client_changed_are_sent() -> None:
    typed = {**HELD, "first_name": " Pieter ", "email": "pieter@dupont.be", "phone": ""}
    assert changed_fields(typed, HELD) == {"email": "pieter@dupont.be", "phone": ""}


def test_an_optional_field_emptied_other_than_email_or_phone_is_sent_as_null() -> None:
    assert changed_fields({**HELD, "national_number": ""}, HELD) == {"national_number": None}


def test_a_form_unchanged_sends_nothing() -> None:
    assert changed_fields(dict(HELD), HELD) == {}


def identity(message: str) -> str:
    return message


def test_the_services_field_errors_are_shown_beside_their_fields() -> None:
    refused = Invalid("Not valid.", fields={"general.email": "not an e-mail",
                                            "risk_object_ids.1": "chosen twice",
                                            "loss_date": "required"})
    errors = field_errors(refused, {"general.email": "x@", "loss_date": ""}, identity)
    assert errors["general.email"] == "Enter a valid e-mail address."
    assert errors["risk_object_ids.1"] == errors["risk_object_ids"] == (
        "Choose each risk object once, among those offered.")
    assert errors["loss_date"] == "This field is mandatory."


def test_a_refusal_without_fields_is_said_above_the_form() -> None:
    assert field_errors(Invalid("Not valid."), {}, identity) == {
        "form": "Please check this field."}


def test_the_municipalities_of_a_postal_code_in_the_readers_language() -> None:
    assert municipality_names("9000", "nl") == ["Gent"]
    assert municipality_names("9000", "fr") == ["Gand"]
    assert municipality_names("1050", "nl") == ["Brussel", "Elsene"]
    assert municipality_names("0000", "nl") == []
    assert municipality_names("90000", "nl") == []


def test_a_posted_idempotency_key_of_another_shape_is_replaced() -> None:
    assert valid_key("a" * 32) == "a" * 32
    assert valid_key("<script>") != "<script>"
    assert len(valid_key("")) == 32


def test_the_claim_payload_takes_the_rows_chosen_and_not_the_read_only_names() -> None:
    context = forms.FormContext(
        dossier_id="D1", kind=forms.FormKind.CLAIM, today=date(2026, 12, 5),
        claim=forms.ClaimContext(general=forms.ClaimGeneralData(person_id="p1"),
                                 risk_objects=[]))
    payload = claim_payload({"general.last_name": "Someone", "general.phone": "0475 12 34 56",
                             "risk_object_id": ["r1", "", "r2"], "vat_liable": "yes",
                             "loss_date": "2026-12-01", "loss_time": "", "description": " x "},
                            context)
    assert "last_name" not in payload["general"]
    assert payload["general"]["person_id"] == "p1"
    assert payload["risk_object_ids"] == ["r1", "r2"]
    assert payload["vat_liable"] is True
    assert payload["loss_time"] is None and payload["description"] == "x"
    assert payload["police_report_number"] is None
