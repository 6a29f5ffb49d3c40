"""What a file is, from its first bytes (no I/O): the client's declared type is never trusted.

The bytes decide the family (PDF, an image, a ZIP or OLE2 container, RTF, text). Inside a
container family only, the file name's extension picks the member (a .docx and an .xlsx are
both ZIP files with the same first bytes); an extension that does not fit the bytes is ignored.
"""

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from libs.contracts import documents

HEAD_BYTES = 8192  # how much of the body the sniffer reads
ZIP_SIGNATURE = b"PK\x03\x04"
# A ZIP container (docx, xlsx, pptx, odt, zip...) is judged by its central directory, read from
# the end of the stored body, before anything unpacks it: a few KB of compressed zeros may
# stand for gigabytes that LibreOffice, or the office's own PC, would inflate.
ARCHIVE_TAIL_BYTES = 1024 * 1024  # the end read: ~10,000 directory entries fit in it
MAX_ARCHIVE_ENTRIES = 10_000  # a docx holds a few dozen parts, a large pptx a few hundred
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PACKING_RATIO = 100  # office files pack 2 to 20 times; zeros pack 1,000 times
RATIO_CHECKED_FROM = 10 * 1024 * 1024  # below this much unpacked, no ratio is a danger
UNPACKS_TOO_LARGE = "The file unpacks to more than 100 MB; it was refused as a possible zip bomb."
UNPACKS_TOO_FAR = ("The file unpacks to more than 100 times its size; it was refused as a "
                   "possible zip bomb.")
TOO_MANY_PARTS = "The file holds too many parts; it was refused as a possible zip bomb."
UNREADABLE_DIRECTORY = ("The file's table of contents cannot be read; it was refused as a "
                        "possible zip bomb.")
ARCHIVE_PROBLEMS = (UNPACKS_TOO_LARGE, UNPACKS_TOO_FAR, TOO_MANY_PARTS, UNREADABLE_DIRECTORY)
OCTET_STREAM = "application/octet-stream"


class ViewKind(StrEnum):
    """How the document is shown: every document except images as PDF (manual 3.4)."""

    PDF = "pdf"  # already a PDF: shown as is
    IMAGE = "image"  # shown as the image (a JPEG of it if browsers cannot), with a thumbnail
    OFFICE = "office"  # converted by LibreOffice
    TEXT = "text"  # plain text, HTML, e-mail (.eml, .msg): rewritten as plain text, then PDF
    NONE = "none"  # cannot be shown; downloadable only


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    view: ViewKind


_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_BY_EXTENSION = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".msg": "application/vnd.ms-outlook",  # OUTLOOK_MESSAGE
}
_OOXML_BY_EXTENSION = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_OOXML_MARKERS = (b"[Content_Types].xml", b"_rels/.rels", b"docProps/")
_ODF_TYPES = frozenset({
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,60}:[ \t]")
_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"received:", b"message-id:",
                 b"mime-version:", b"return-path:")
HEIC = "image/heic"
OUTLOOK_MESSAGE = "application/vnd.ms-outlook"
# What every browser shows itself; another image (HEIC, the iPhone's photos) gets a JPEG view.
BROWSER_IMAGE_TYPES = documents.BROWSER_IMAGE_TYPES
IMAGE_TYPES = BROWSER_IMAGE_TYPES | {HEIC}
INLINE_TYPES = documents.INLINE_TYPES  # the only types shown inline


def sniff(head: bytes, filename: str) -> Sniffed:
    """The content type and the way to show a body starting with `head`, named `filename`."""
    extension = PurePosixPath(filename.lower()).suffix
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf", ViewKind.PDF)
    for signature, content_type in _IMAGES:
        if head.startswith(signature):
            return Sniffed(content_type, ViewKind.IMAGE)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", ViewKind.IMAGE)
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1"}:
        return Sniffed(HEIC, ViewKind.IMAGE)  # shown through a JPEG made of it
    if head.startswith(b"{\\rtf"):
        return Sniffed("application/rtf", ViewKind.OFFICE)
    if head.startswith(_OLE2):
        member = _OLE2_BY_EXTENSION.get(extension)
        if member is None:
            return Sniffed("application/x-ole-storage", ViewKind.NONE)
        if member == OUTLOOK_MESSAGE:
            return Sniffed(member, ViewKind.TEXT)  # read by outlook_msg, like an .eml
        return Sniffed(member, ViewKind.OFFICE)
    if head.startswith(ZIP_SIGNATURE):
        return _sniff_zip(head, extension)
    return _sniff_text(head, extension)


def _sniff_zip(head: bytes, extension: str) -> Sniffed:
    # OpenDocument stores an uncompressed first entry "mimetype" holding its exact type.
    if head[30:38] == b"mimetype":
        declared = head[38:38 + 80].split(b"PK", 1)[0].decode("ascii", "replace")
        if declared in _ODF_TYPES:
            return Sniffed(declared, ViewKind.OFFICE)
    content_type = _OOXML_BY_EXTENSION.get(extension)
    if content_type is not None and any(marker in head for marker in _OOXML_MARKERS):
        return Sniffed(content_type, ViewKind.OFFICE)
    return Sniffed("application/zip", ViewKind.NONE)


def _sniff_text(head: bytes, extension: str) -> Sniffed:
    if not head or b"\x00" in head or not _decodes_as_text(head):
        return Sniffed(OCTET_STREAM, ViewKind.NONE)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = start[:1024].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        extension in {".html", ".htm"} and lowered.startswith(b"<")
    ):
        return Sniffed("text/html", ViewKind.TEXT)
    if _looks_like_mail(start):
        return Sniffed("message/rfc822", ViewKind.TEXT)
    return Sniffed("text/plain", ViewKind.TEXT)


def _decodes_as_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut off by the end of the head is still text.
        if error.start < len(head) - 3:
            return _mostly_printable(head)
    return True


def _mostly_printable(head: bytes) -> bool:
    """Windows-1252 text: almost only printable bytes and whitespace."""
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return control <= len(head) // 100


def _looks_like_mail(start: bytes) -> bool:
    header_block = start.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines = [line for line in header_block.split(b"\n") if line and line[:1] not in b" \t"]
    if len(lines) < 2 or not all(_HEADER_LINE.match(line) for line in lines):
        return False
    names = {line.split(b":", 1)[0].lower() + b":" for line in lines}
    return b"from:" in names and len(names.intersection(_MAIL_HEADERS)) >= 2


def archive_problem(tail: bytes, size: int) -> str | None:
    """Why a ZIP container of `size` bytes, ending in `tail`, may not be kept, or None.

    Only its central directory is read (the sizes each part declares), nothing is inflated.
    """
    try:
        # zipfile finds the directory from the end: the bytes before `tail` are never needed.
        with zipfile.ZipFile(io.BytesIO(tail)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error):
        # The whole file without a directory is no ZIP anything unpacks (the converter says
        # so); a directory that starts before the end read is far too large to be a document.
        return None if len(tail) >= size else UNREADABLE_DIRECTORY
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        return TOO_MANY_PARTS
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        return UNPACKS_TOO_LARGE
    if unpacked > RATIO_CHECKED_FROM and unpacked > MAX_PACKING_RATIO * size:
        return UNPACKS_TOO_FAR
    return None
