"""A document's type comes from its bytes; the name only picks a member of a container family."""

from pathlib import Path

import pytest

from services.documents.sniffing import ViewKind, sniff

FIXTURES = Path(__file__).parent.parent / "fixtures" / "documents"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIL = b"From: jan@kantoor.be\r\nTo: an@example.be\r\nSubject: Polis\r\n\r\nBeste An\r\n"


@pytest.mark.parametrize(("head", "filename", "content_type", "view"), [
    (b"%PDF-1.7\n", "polis.pdf", "application/pdf", ViewKind.PDF),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "foto.png", "image/png", ViewKind.IMAGE),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "foto.jpg", "image/jpeg", ViewKind.IMAGE),
    (b"GIF89a\x01\x00", "a.gif", "image/gif", ViewKind.IMAGE),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp", ViewKind.IMAGE),
    (b"\x00\x00\x00\x18ftypheic\x00", "IMG_0001.HEIC", "image/heic", ViewKind.IMAGE),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "Bericht.MSG", "application/vnd.ms-outlook",
     ViewKind.TEXT),
    (b"{\\rtf1\\ansi", "brief.rtf", "application/rtf", ViewKind.OFFICE),
    (b"Polis AUTO-2024-0001\n", "notitie.txt", "text/plain", ViewKind.TEXT),
    ("Één polis, €\n".encode("cp1252"), "oud.txt", "text/plain", ViewKind.TEXT),
    (b"<!DOCTYPE html><html>", "page.htm", "text/html", ViewKind.TEXT),
    (b"  <HTML><body>", "x", "text/html", ViewKind.TEXT),
    (MAIL, "bericht.eml", "message/rfc822", ViewKind.TEXT),
    (b"\x00\x01\x02binary", "data.bin", "application/octet-stream", ViewKind.NONE),
    (b"", "leeg.txt", "application/octet-stream", ViewKind.NONE),
])
def test_the_type_is_read_from_the_first_bytes(
    head: bytes, filename: str, content_type: str, view: ViewKind
) -> None:
    assert (sniff(head, filename).content_type, sniff(head, filename).view) == (
        content_type, view)


@pytest.mark.parametrize(("filename", "content_type"), [
    ("polis.docx", DOCX),
    ("polis.odt", "application/vnd.oasis.opendocument.text"),
    ("polis.doc", "application/msword"),
    ("premies.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("premies.ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("premies.xls", "application/vnd.ms-excel"),
])
def test_office_files_made_by_an_office_suite_are_recognised(
    filename: str, content_type: str
) -> None:
    head = (FIXTURES / filename).read_bytes()[:8192]
    assert sniff(head, filename) == sniff(head, filename.upper())
    assert sniff(head, filename).content_type == content_type
    assert sniff(head, filename).view == ViewKind.OFFICE


def test_a_claimed_extension_that_does_not_fit_the_bytes_is_ignored() -> None:
    assert sniff(b"%PDF-1.4", "virus.exe").content_type == "application/pdf"
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00", "polis.pdf").content_type == (
        "application/octet-stream")
    docx_head = (FIXTURES / "polis.docx").read_bytes()[:8192]
    assert sniff(docx_head, "polis.pdf").content_type == "application/zip"
    word_97 = (FIXTURES / "polis.doc").read_bytes()[:8192]
    assert sniff(word_97, "polis.docx").view == ViewKind.NONE


def test_a_zip_without_office_parts_is_only_a_zip_even_named_docx() -> None:
    assert sniff(b"PK\x03\x04" + b"\x00" * 26 + b"payload.exe", "polis.docx").content_type == (
        "application/zip")


def test_text_that_merely_starts_with_a_colon_line_is_not_a_mail() -> None:
    assert sniff(b"Opmerking: zie bijlage\nTweede regel\n", "a.txt").content_type == "text/plain"
