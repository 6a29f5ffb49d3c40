"""A document's type comes from its bytes; the name only picks a member of a container family."""

import io
import os
import zipfile
from pathlib import Path

import pytest

from services.documents.sniffing import (
    ARCHIVE_TAIL_BYTES,
    TOO_MANY_PARTS,
    UNPACKS_TOO_FAR,
    UNPACKS_TOO_LARGE,
    UNREADABLE_DIRECTORY,
    ViewKind,
    archive_problem,
    sniff,
)
from tests.document_samples import zip_bomb_docx

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


def _tail(body: bytes) -> bytes:
    return body[-ARCHIVE_TAIL_BYTES:]


@pytest.mark.parametrize("filename", ["polis.docx", "polis.odt", "premies.xlsx", "premies.ods"])
def test_an_office_file_passes_the_archive_check(filename: str) -> None:
    body = (FIXTURES / filename).read_bytes()
    assert archive_problem(_tail(body), len(body)) is None


def test_an_archive_that_unpacks_to_more_than_100_mb_is_refused() -> None:
    bomb = zip_bomb_docx(101)
    assert sniff(bomb[:8192], "polis.docx").content_type == DOCX  # it looks like any docx
    assert archive_problem(_tail(bomb), len(bomb)) == UNPACKS_TOO_LARGE


def test_an_archive_that_unpacks_to_over_100_times_its_size_is_refused() -> None:
    bomb = zip_bomb_docx(20)  # 20 MiB from ~20 KB: below the size limit, far over the ratio
    assert archive_problem(_tail(bomb), len(bomb)) == UNPACKS_TOO_FAR


def test_an_archive_of_more_than_ten_thousand_parts_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"p{number}", b"")
    body = out.getvalue()
    assert archive_problem(_tail(body), len(body)) == TOO_MANY_PARTS


def test_a_large_archive_is_judged_by_the_end_of_its_body_only() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # 3 MiB that do not pack: an honest archive
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/media/image1.png", os.urandom(3 * 1024 * 1024))
    body = out.getvalue()
    assert len(body) > ARCHIVE_TAIL_BYTES
    assert archive_problem(_tail(body), len(body)) is None
    # An end without a directory, in a body longer than what is read: refused, not guessed.
    assert archive_problem(os.urandom(ARCHIVE_TAIL_BYTES), len(body)) == UNREADABLE_DIRECTORY


def test_a_small_body_that_is_no_archive_is_left_to_the_converter() -> None:
    body = b"PK\x03\x04" + b"\x00" * 100
    assert archive_problem(body, len(body)) is None
