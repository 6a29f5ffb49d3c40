"""The data export's rules: which parts are in, what the ZIP's manifest lists, the readable
index.html in the client's language, retries, limits and the time limit."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.privacy import (
    EXPORT_PARTS,
    PART_MODELS,
    ExportPart,
    ExportPartReady,
    ExportReady,
    ExportState,
)
from libs.i18n import load_translations
from libs.servicekit.export_parts import public_fields
from services.auth.privacy.export_rules import (
    MAX_PART_ATTEMPTS,
    ExportRecord,
    ExportRefused,
    PartProgress,
    failures_at_deadline,
    manifest,
    may_start,
    render_index,
    retry_after_failure,
    zip_filename,
)
from services.documents.privacy_export import file_name
from services.notifier.privacy_export import export_ready_mail

ASKED = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
TRANSLATIONS = load_translations()


def ready(part: ExportPart, *files: str, records: int = 2) -> PartProgress:
    return PartProgress(state="ready", keys=(f"{part}/{part}.json", f"{part}/{part}.schema.json",
                                             *files), records=records, size=100)


def export(**parts: PartProgress) -> ExportRecord:
    return ExportRecord(
        export_id="e" * 32, account_id="u1", email="pieter@example.be", language="nl",
        state=ExportState.RUNNING, requested_at=ASKED, deadline_at=ASKED + timedelta(hours=1),
        parts={ExportPart(name): progress for name, progress in parts.items()})


def every_part_ready() -> ExportRecord:
    parts = {part.value: ready(part) for part in EXPORT_PARTS}
    parts["documents"] = ready(ExportPart.DOCUMENTS, "documents/files/d1-polis.pdf",
                               "documents/files/d2-foto.jpg")
    return export(**parts)


def test_the_zip_is_assembled_only_once_every_part_is_written() -> None:
    waiting = export(account=ready(ExportPart.ACCOUNT))
    assert not waiting.all_parts_ready()
    assert waiting.public().parts_done == [ExportPart.ACCOUNT]
    assert ExportPart.MAILS in waiting.public().parts_waiting
    assert every_part_ready().all_parts_ready()


def test_the_manifest_lists_each_part_with_its_data_schema_and_files() -> None:
    listed = manifest(every_part_ready(), ASKED)
    by_part = {entry["part"]: entry for entry in listed["parts"]}
    assert list(by_part) == [part.value for part in EXPORT_PARTS]
    assert by_part["documents"]["files"] == ["documents/files/d1-polis.pdf",
                                             "documents/files/d2-foto.jpg"]
    assert by_part["dossiers"]["data"] == "dossiers/dossiers.json"
    assert by_part["dossiers"]["schema"] == "dossiers/dossiers.schema.json"
    assert by_part["account"]["files"] == []
    assert listed["email"] == "pieter@example.be"
    json.dumps(listed)  # it goes into the ZIP as manifest.json


@pytest.mark.parametrize(("language", "title", "documents_title"), [
    ("nl", "Uw gegevens bij MyBroker", "Uw documenten (de originele bestanden)"),
    ("fr", "Vos données chez MyBroker", "Vos documents (les fichiers originaux)"),
    ("en", "Your data at MyBroker", "Your documents (the original files)"),
])
def test_the_index_page_summarises_the_export_in_the_clients_language(
        language: str, title: str, documents_title: str) -> None:
    page = render_index(manifest(every_part_ready(), ASKED), language, TRANSLATIONS)
    assert f'<html lang="{language}">' in page
    assert f"<h1>{title}</h1>" in page
    assert documents_title in page
    assert 'href="documents/files/d1-polis.pdf"' in page
    assert 'href="mails/mails.schema.json"' in page
    assert "pieter@example.be" in page


def test_the_index_page_escapes_what_it_shows() -> None:
    record = every_part_ready()
    listed = manifest(record, ASKED)
    listed["email"] = "<script>alert(1)</script>@example.be"
    listed["parts"][2]["files"] = ['documents/files/d3-"><img src=x>.pdf']
    page = render_index(listed, "en", TRANSLATIONS)
    assert "<script>" not in page and "<img" not in page


def test_a_fourth_export_in_one_day_is_refused() -> None:
    may_start(2, 3)
    with pytest.raises(ExportRefused):
        may_start(3, 3)


def test_a_failed_part_is_asked_again_until_its_attempts_are_used() -> None:
    assert retry_after_failure(PartProgress(attempt=1), 1)
    assert not retry_after_failure(PartProgress(attempt=2), 1)  # a report of an old attempt
    assert not retry_after_failure(PartProgress(attempt=MAX_PART_ATTEMPTS), MAX_PART_ATTEMPTS)


def test_an_export_past_its_time_limit_says_which_parts_are_missing() -> None:
    record = export(account=ready(ExportPart.ACCOUNT),
                    documents=PartProgress(state="failed", reason="S3 refused"))
    failures = failures_at_deadline(record)
    assert failures["documents"] == "S3 refused"
    assert failures["mails"] == "no answer within the time limit"
    assert "account" not in failures


def test_every_part_has_a_json_schema() -> None:
    for part in EXPORT_PARTS:
        schema = PART_MODELS[part].model_json_schema()
        assert schema["type"] == "object" and schema["properties"]


def test_stored_records_lose_secrets_and_internal_fields() -> None:
    shown = public_fields({"_id": "u1", "email": "a@b.be", "password_hash": "$argon2",
                           "outbox": {"x": 1}, "outbox_pending": 0, "s_position": "k1",
                           "created_at": ASKED})
    assert shown == {"_id": "u1", "email": "a@b.be", "created_at": "2026-12-05 10:00:00+00:00"}


def test_a_documents_file_name_in_the_zip_is_unique_and_safe() -> None:
    assert file_name("d1", "../../etc/passwd") == "files/d1-etc_passwd"
    assert file_name("d2", "Polis été 2026.pdf") == "files/d2-Polis_t_2026.pdf"
    assert file_name("d3", "") == "files/d3-document"
    assert zip_filename("0123456789abcdef") == "mybroker-export-0123456789ab.zip"


def test_the_ready_mail_gives_the_privacy_page_and_the_last_day_in_the_clients_language(
) -> None:
    event = ExportReady(export_id="e1", account_id="u1", email="pieter@example.be",
                        language="fr", expires_at=datetime(2026, 12, 12, 10, tzinfo=UTC),
                        size=10)
    mail = export_ready_mail(event, sender="no-reply@mybroker.example",
                             public_url="https://mybroker.example/")
    text = mail.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert mail["Subject"] == "Vos données de MyBroker sont prêtes"
    assert "https://mybroker.example/privacy" in body
    assert "12 déc. 2026" in body
    assert mail["To"] == "pieter@example.be"
    assert ExportPartReady(export_id="e1", part=ExportPart.MAILS, attempt=1, keys=[],
                           records=0, size=0).routing_key == "privacy.export.part_ready"
