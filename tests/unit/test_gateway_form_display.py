"""A sent form as the client reads it in "Mijn aanvragen": labelled rows in the reader's
language, old -> new for a change, names instead of ids, the declaration as a document."""

from gateway.web.form_display import FormRow, readable_form
from gateway.web.i18n import load_translations

DUTCH = load_translations()["nl"].gettext


def test_a_personal_data_change_shows_old_and_new_side_by_side_and_no_ids() -> None:
    rows = readable_form({
        "person_id": "P1", "person_name": "An Peeters", "phone": None,
        "changes": [{"field": "phone", "old": None, "new": "+32 470 11 22 33"}],
        "person_before": {"person_id": "P1", "phone": None}}, "nl", DUTCH)
    assert rows == [FormRow("Persoon", "An Peeters"), FormRow("Gevraagde wijzigingen", rows=(
        FormRow("Telefoon", "— → +32 470 11 22 33"),))]


def test_a_claim_shows_its_loss_its_goods_and_the_declaration_pdf() -> None:
    rows = readable_form({
        "loss_date": "2026-11-12", "loss_time": "14:30:00", "vat_liable": False,
        "risk_object_ids": ["R1"], "risk_objects": [
            {"risk_object_id": "R1", "kind": "vehicle", "description": "VW Golf 1-ABC-123"}],
        "attachments": [{"document_id": "D7", "filename": "pv.pdf", "size": 10,
                         "description": "Proces-verbaal"}],
        "declaration_document_id": "D9", "loss_at": "2026-11-12T13:30:00Z"},
        "nl", DUTCH)
    shown = {row.label: row for row in rows}
    assert shown["Datum van het schadegeval"].value == "12 nov 2026"
    assert shown["Uur van het schadegeval"].value == "14:30"
    assert shown["Btw-plichtige"].value == "Nee"
    assert shown["Mijn beschadigde goederen"].rows == (FormRow("", "VW Golf 1-ABC-123"),)
    assert shown["Toegevoegde documenten"].rows == (
        FormRow("pv.pdf", "Proces-verbaal", document_id="D7"),)
    assert shown["Aangifte (PDF)"].document_id == "D9"
    assert not any("R1" in row.value for row in rows)


def test_a_message_has_no_form_rows() -> None:
    assert readable_form(None, "nl", DUTCH) == []
