"""Turning an original into something a browser shows: a PDF (LibreOffice) or a thumbnail.

Text, HTML and e-mails are first rewritten into a plain UTF-8 text of our own (the e-mail's
headers, the visible text of the page): LibreOffice then never fetches a remote image or runs
anything the file brought along, and the PDF holds the text as text.
"""

import asyncio
import contextlib
import email
import email.policy
import math
import os
import shutil
import signal
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pi_heif
from PIL import Image, ImageOps

from services.documents.outlook_msg import UnreadableMessage, read_message
from services.documents.sniffing import OUTLOOK_MESSAGE

pi_heif.register_heif_opener()  # Pillow opens HEIC photos (decoding only)

PRLIMIT = "prlimit"
THUMBNAIL_PIXELS = (320, 320)
VIEW_PIXELS = (4096, 4096)  # a JPEG view of an image browsers cannot show is at most this big
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "section", "article", "header", "footer", "blockquote"})
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class ConversionFailed(Exception):
    """The file could not be turned into its view; the reason is shown to the user."""


class _TextOfHtml(HTMLParser):
    """Collects the visible text of an HTML page, a line per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def decode_text(raw: bytes) -> str:
    """Text in UTF-8 (with or without BOM), else Windows-1252 as Belgian offices write it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def text_of_html(markup: str) -> str:
    """The visible text of an HTML page."""
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _mail_text(message: EmailMessage) -> tuple[str, list[str]]:
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = content if isinstance(content, str) else decode_text(bytes(content))
        if body.get_content_type() == "text/html":
            text = text_of_html(text)
    attachments = [part.get_filename() or "(unnamed)" for part in message.iter_attachments()]
    return text, attachments


def _outlook_text(raw: bytes) -> str:
    try:
        message = read_message(raw)
    except UnreadableMessage as error:
        raise ConversionFailed(f"The Outlook message could not be read ({error}).") from None
    headers = [f"{name}: {value}" for name, value in (
        ("From", message.sender), ("To", message.to), ("Cc", message.cc),
        ("Date", message.date), ("Subject", message.subject)) if value]
    if message.attachments:
        headers.append(f"Attachments: {', '.join(message.attachments)}")
    text = message.text or text_of_html(message.html)
    return "\n".join(headers) + "\n\n" + text.replace("\r\n", "\n")


def readable_text(raw: bytes, content_type: str) -> str:
    """The text to show of a text, HTML or e-mail file (an e-mail's headers first)."""
    if content_type == OUTLOOK_MESSAGE:
        return _outlook_text(raw)
    if content_type == "message/rfc822":
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text, attachments = _mail_text(message)
        headers = [f"{name}: {message[name]}" for name in ("From", "To", "Cc", "Date", "Subject")
                   if message[name] is not None]
        if attachments:
            headers.append(f"Attachments: {', '.join(attachments)}")
        return "\n".join(headers) + "\n\n" + text
    text = decode_text(raw)
    return text_of_html(text) if content_type == "text/html" else text


def resource_limits(*, memory_bytes: int, timeout_seconds: float) -> list[str]:
    """The command prefix that runs a converter under kernel limits, inherited by its children:
    address space (a file that inflates in memory fails instead of taking the machine's RAM)
    and CPU time (a backstop to the wall-clock limit, should a child leave the process group).
    `prlimit` (util-linux) sets them before the exec: no Python runs in the forked child."""
    return [PRLIMIT, f"--as={memory_bytes}", f"--cpu={math.ceil(timeout_seconds)}", "--"]


async def soffice_to_pdf(
    source: Path, workdir: Path, *, soffice: str, profile: Path, timeout_seconds: float,
    memory_bytes: int, utf8_text: bool = False,
) -> Path:
    """Convert `source` to PDF with LibreOffice headless, within a time and a memory limit.

    `profile` is a LibreOffice user profile no other running conversion uses.
    """
    outdir = workdir / "out"
    # A .txt is read as UTF-8 with LF line ends whatever the machine's locale.
    text_filter = ["--infilter=Text (encoded):UTF8,LF,,,"] if utf8_text else []
    process = await asyncio.create_subprocess_exec(
        *resource_limits(memory_bytes=memory_bytes, timeout_seconds=timeout_seconds),
        soffice, "--headless", "--norestore", "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}", *text_filter, "--convert-to", "pdf",
        "--outdir", str(outdir), str(source),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group: a timeout kills every child too
    )
    try:
        async with asyncio.timeout(timeout_seconds):
            output, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)  # a killed run may leave it half written
        raise ConversionFailed(
            f"The conversion to PDF took longer than {timeout_seconds:g} s.") from None
    produced = outdir / f"{source.stem}.pdf"
    if process.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
        tail = output.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise ConversionFailed("LibreOffice could not convert this file to PDF"
                               + (f" ({tail[0][:200]})." if tail else "."))
    return produced


def _save_jpeg(source: Path, target: Path, pixels: tuple[int, int], quality: int) -> None:
    try:
        with Image.open(source) as image:
            upright = ImageOps.exif_transpose(image)  # a phone's photo stands as it was taken
            upright.thumbnail(pixels)
            upright.convert("RGB").save(target, "JPEG", quality=quality)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ConversionFailed(f"The image could not be read ({error}).") from None


def make_thumbnail(source: Path, target: Path) -> None:
    """A JPEG of at most THUMBNAIL_PIXELS of an image (blocking: run it in a thread)."""
    _save_jpeg(source, target, THUMBNAIL_PIXELS, 80)


def make_image_view(source: Path, target: Path) -> None:
    """A JPEG a browser shows of an image it cannot (HEIC), at most VIEW_PIXELS (blocking)."""
    _save_jpeg(source, target, VIEW_PIXELS, 88)
