"""What an Outlook message (.msg) says: its headers, its text and the names of its attachments.

A .msg is an OLE2 compound file ([MS-CFB]) whose streams hold the message's properties
([MS-OXMSG]): `__substg1.0_<id><type>`, type 001F for UTF-16 text, 001E for 8-bit text in the
message's code page, 0102 for bytes. olefile (BSD) reads the compound file; the few properties
shown are read here. extract-msg would read more, but it is GPL-3.0: not for this product.
"""

import email.parser
import email.policy
import io
from dataclasses import dataclass, field

import olefile

_ATTACHMENT_PREFIX = "__attach_version1.0_#"
_SUBJECT, _SENDER_NAME, _SENDER_EMAIL = 0x0037, 0x0C1A, 0x0C1F
_DISPLAY_TO, _DISPLAY_CC, _TRANSPORT_HEADERS = 0x0E04, 0x0E03, 0x007D
_BODY, _HTML_BODY = 0x1000, 0x1013
_ATTACH_LONG_NAME, _ATTACH_NAME, _ATTACH_DISPLAY_NAME = 0x3707, 0x3704, 0x3001


class UnreadableMessage(Exception):
    """Not an Outlook message this reader understands."""


@dataclass
class OutlookMessage:
    subject: str = ""
    sender: str = ""
    to: str = ""
    cc: str = ""
    date: str = ""
    text: str = ""
    html: str = ""
    attachments: list[str] = field(default_factory=list)


class _Properties:
    """The text and byte properties of one storage (the message, or one attachment)."""

    def __init__(self, ole: olefile.OleFileIO, storage: list[str]) -> None:
        self._ole = ole
        self._storage = storage

    def _read(self, name: str) -> bytes | None:
        path = [*self._storage, name]
        if not self._ole.exists("/".join(path)):
            return None
        data: bytes = self._ole.openstream(path).read()
        return data

    def text(self, property_id: int) -> str:
        """A text property ("" when absent), trailing NULs dropped."""
        unicode = self._read(f"__substg1.0_{property_id:04X}001F")
        if unicode is not None:
            return unicode.decode("utf-16-le", "replace").rstrip("\x00")
        narrow = self._read(f"__substg1.0_{property_id:04X}001E")
        if narrow is not None:  # 8-bit text: Windows-1252, as Belgian offices' Outlook writes
            return narrow.decode("cp1252", "replace").rstrip("\x00")
        return ""

    def binary(self, property_id: int) -> bytes | None:
        """A binary property, or None."""
        return self._read(f"__substg1.0_{property_id:04X}0102")


def _header(headers: str, name: str) -> str:
    if not headers:
        return ""
    parsed = email.parser.HeaderParser(policy=email.policy.default).parsestr(headers)
    return str(parsed.get(name, "") or "")


def read_message(raw: bytes) -> OutlookMessage:
    """The parts of an Outlook message worth showing (blocking: run it in a thread)."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(raw))
    except (OSError, ValueError) as error:
        raise UnreadableMessage(f"not an Outlook message ({error})") from None
    with ole:
        message = _Properties(ole, [])
        headers = message.text(_TRANSPORT_HEADERS)
        sender_name, sender_email = message.text(_SENDER_NAME), message.text(_SENDER_EMAIL)
        if sender_name and sender_email and sender_email not in sender_name:
            sender = f"{sender_name} <{sender_email}>"
        else:
            sender = sender_name or sender_email or _header(headers, "From")
        html = message.text(_HTML_BODY)
        if not html and (html_bytes := message.binary(_HTML_BODY)) is not None:
            html = html_bytes.decode("utf-8", "replace")
        found = OutlookMessage(
            subject=message.text(_SUBJECT) or _header(headers, "Subject"),
            sender=sender,
            to=message.text(_DISPLAY_TO) or _header(headers, "To"),
            cc=message.text(_DISPLAY_CC) or _header(headers, "Cc"),
            date=_header(headers, "Date"),
            text=message.text(_BODY),
            html=html,
        )
        storages = sorted({entry[0] for entry in ole.listdir(streams=True, storages=True)
                           if entry[0].startswith(_ATTACHMENT_PREFIX)})
        for storage in storages:
            attachment = _Properties(ole, [storage])
            found.attachments.append(
                attachment.text(_ATTACH_LONG_NAME) or attachment.text(_ATTACH_NAME)
                or attachment.text(_ATTACH_DISPLAY_NAME) or "(unnamed)")
    if not (found.subject or found.sender or found.text or found.html):
        raise UnreadableMessage("no subject, sender or text found")
    return found
