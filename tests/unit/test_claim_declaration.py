"""The claim declaration PDF: what the client declared, readable, in their language; names
outside the PDF fonts' Latin-1 keep their letters without the accents instead of failing."""

from datetime import UTC, datetime
from io import BytesIO

from pypdf import PdfReader

from gateway.claim_declaration import render_declaration
from libs.contracts.request_forms import ClaimRecord, FormKind, FormSubmitted

RECORD = ClaimRecord.model_validate({
    "general": {"last_name": "Wałęsa", "first_name": "Zoë", "phone": "+32 470 11 22 33",
                "street": "Kerkstraat", "number": "1", "postal_code": "9000",
                "municipality": "Gent"},
    "risk_object_ids": ["R-1"], "policy_number": "POL-123",
    "risk_objects": [{"risk_object_id": "R-1", "kind": "vehicle",
                      "description": "Volkswagen Golf 1-ABC-123"}],
    "other_risk_description": "Fiets", "loss_date": "2026-11-11", "loss_time": "18:05",
    "description": "Aanrijding aan het kruispunt — achteraan", "vat_liable": True,
    "police_report_number": "PV-2026-42",
    "attachments": [{"document_id": "d1", "filename": "foto.jpg", "size": 10,
                     "description": "Schade achteraan"}]})
SENT = FormSubmitted(request_id="r1", dossier_id="DOS-1", kind=FormKind.CLAIM,
                     status="pending", sent_at=datetime(2026, 11, 12, 9, 0, tzinfo=UTC),
                     created=True, form={})


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_the_declaration_holds_everything_the_client_declared() -> None:
    pdf = render_declaration(RECORD, SENT, remark="Graag snel", language="nl")
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in ("Schadeaangifte", "DOS-1", "Walesa Zoë", "POL-123",
                     "Volkswagen Golf 1-ABC-123", "Fiets", "11/11/2026 18:05",
                     "Aanrijding aan het kruispunt - achteraan", "Btw-plichtige", "Ja",
                     "PV-2026-42", "foto.jpg", "Schade achteraan", "Graag snel"):
        assert expected in text, expected


def test_the_labels_are_in_the_clients_language() -> None:
    text = text_of(render_declaration(RECORD, SENT, language="fr"))
    assert "Déclaration de sinistre" in text and "Assujetti à la TVA" in text
    assert "Oui" in text
