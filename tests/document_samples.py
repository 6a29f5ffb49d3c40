"""Document files of the types MyBroker shows, made at test time from a text (no binaries kept).

PowerPoint with python-pptx, then .ppt and .odp by LibreOffice from it; HEIC with pillow-heif
(a test-only encoder); WEBP with Pillow; an Outlook .msg written as the compound file Outlook
itself writes (a minimal writer of the format, [MS-CFB] version 3, and [MS-OXMSG] properties).
"""

import io
import itertools
import shutil
import struct
import subprocess
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import pillow_heif
from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.util import Inches, Pt

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"


def pptx_bytes(title: str, text: str) -> bytes:
    """A one-slide presentation with a title and a line of text."""
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    slide.shapes.title.text = title
    box = slide.shapes.add_textbox(Inches(1), Inches(2.5), Inches(8), Inches(1.5))
    box.text_frame.text = text
    box.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


@cache
def converted(body: bytes, name: str, target: str) -> bytes:
    """`body` (a file called `name`) saved by LibreOffice as `target` ("ppt", "odp")."""
    with tempfile.TemporaryDirectory(prefix="mybroker-sample-") as directory:
        work = Path(directory)
        (work / name).write_bytes(body)
        subprocess.run(
            [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={work.as_uri()}/p",
             "--convert-to", target, "--outdir", str(work / "out"), str(work / name)],
            check=True, capture_output=True, timeout=180)
        return (work / "out" / f"{Path(name).stem}.{target}").read_bytes()


def _photo() -> Image.Image:
    picture = Image.new("RGB", (800, 600), (40, 110, 190))
    ImageDraw.Draw(picture).rectangle((200, 150, 600, 450), fill=(240, 200, 40))
    return picture


def heic_bytes() -> bytes:
    """An 800x600 photo as HEIC, as an iPhone stores it."""
    out = io.BytesIO()
    pillow_heif.from_pillow(_photo()).save(out, quality=80)
    return out.getvalue()


def zip_bomb_docx(unpacked_mib: int) -> bytes:
    """A .docx whose document part is `unpacked_mib` MiB of zeros: about 1 KB a MiB packed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            megabyte = bytes(1024 * 1024)
            for _ in range(unpacked_mib):
                part.write(megabyte)
    return out.getvalue()


def webp_bytes() -> bytes:
    """An 800x600 picture as WEBP."""
    out = io.BytesIO()
    _photo().save(out, "WEBP", quality=80)
    return out.getvalue()


# --- Outlook .msg --------------------------------------------------------------------------

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREE, _END_OF_CHAIN, _FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


class _Entry:
    def __init__(self, name: str, data: bytes | None, children: "list[_Entry] | None" = None):
        self.name = name
        self.data = data  # None: a storage
        self.children = children or []
        self.index = 0
        self.start = _END_OF_CHAIN
        self.left = self.right = self.child = _NO_STREAM


def _chain(table: list[int], first: int, count: int) -> None:
    for offset in range(count):
        table[first + offset] = first + offset + 1 if offset < count - 1 else _END_OF_CHAIN


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file holding `streams` ("storage/stream" paths) - what olefile reads."""
    root = _Entry("Root Entry", None)
    for path, data in streams.items():
        parent = root
        *storages, name = path.split("/")
        for storage in storages:
            found = next((c for c in parent.children if c.name == storage), None)
            if found is None:
                found = _Entry(storage, None)
                parent.children.append(found)
            parent = found
        parent.children.append(_Entry(name, data))
    entries: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.index = len(entries)
        entries.append(entry)
        for child in entry.children:
            number(child)

    number(root)
    for entry in entries:  # siblings as a right-leaning chain in the format's name order
        ordered = sorted(entry.children, key=lambda e: (len(e.name), e.name.upper()))
        if ordered:
            entry.child = ordered[0].index
        for this, following in itertools.pairwise(ordered):
            this.right = following.index

    mini = bytearray()
    mini_fat: list[int] = []
    large: list[_Entry] = []
    for entry in entries[1:]:
        if entry.data is None:
            continue
        if len(entry.data) >= _MINI_CUTOFF:
            large.append(entry)
            continue
        count = max(1, -(-len(entry.data) // _MINI_SECTOR))
        entry.start = len(mini_fat) if entry.data else _END_OF_CHAIN
        if entry.data:
            mini_fat.extend([0] * count)
            _chain(mini_fat, entry.start, count)
            mini += entry.data.ljust(count * _MINI_SECTOR, b"\x00")

    def sectors(size: int) -> int:
        return -(-size // _SECTOR)

    directory_sectors = sectors(len(entries) * 128)
    mini_fat_sectors = sectors(len(mini_fat) * 4)
    mini_sectors = sectors(len(mini))
    large_sectors = sum(sectors(len(e.data or b"")) for e in large)
    body_sectors = directory_sectors + mini_fat_sectors + mini_sectors + large_sectors
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < body_sectors + fat_sectors:
        fat_sectors += 1
    fat = [_FREE] * (fat_sectors * _SECTOR // 4)
    for sector in range(fat_sectors):
        fat[sector] = _FAT_SECTOR
    next_sector = fat_sectors

    def allocate(count: int) -> int:
        nonlocal next_sector
        first = next_sector
        if count:
            _chain(fat, first, count)
        next_sector += count
        return first if count else _END_OF_CHAIN

    directory_start = allocate(directory_sectors)
    mini_fat_start = allocate(mini_fat_sectors)
    root.start = allocate(mini_sectors)
    for entry in large:
        entry.start = allocate(sectors(len(entry.data or b"")))

    def directory_entry(entry: _Entry) -> bytes:
        name = entry.name.encode("utf-16-le") + b"\x00\x00"
        kind = 5 if entry is root else (1 if entry.data is None else 2)
        size = len(mini) if entry is root else len(entry.data or b"")
        start = entry.start if (entry is root or entry.data is not None) else 0
        return (name.ljust(64, b"\x00") + struct.pack("<HBB3I", len(name), kind, 1, entry.left,
                                                      entry.right, entry.child)
                + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16 + struct.pack("<IQ", start, size))

    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, fat_sectors, directory_start, 0, _MINI_CUTOFF,
                            mini_fat_start if mini_fat_sectors else _END_OF_CHAIN,
                            mini_fat_sectors, _END_OF_CHAIN, 0)
              + b"".join(struct.pack("<I", s) for s in range(fat_sectors))
              + struct.pack("<I", _FREE) * (109 - fat_sectors))
    assert len(header) == _SECTOR

    def padded(data: bytes | bytearray, count: int) -> bytes:
        return bytes(data).ljust(count * _SECTOR, b"\x00")

    body = [padded(b"".join(struct.pack("<I", v) for v in fat), fat_sectors),
            padded(b"".join(directory_entry(e) for e in entries), directory_sectors),
            b"".join(struct.pack("<I", v) for v in mini_fat).ljust(
                mini_fat_sectors * _SECTOR, b"\xff"),
            padded(mini, mini_sectors)]
    body += [padded(e.data or b"", sectors(len(e.data or b""))) for e in large]
    return header + b"".join(body)


def _unicode(property_id: int, text: str) -> tuple[str, bytes]:
    return f"__substg1.0_{property_id:04X}001F", text.encode("utf-16-le")


def msg_bytes(*, sender: str, sender_email: str, to: str, subject: str, body: str,
              attachments: dict[str, bytes], date: str = "Mon, 3 Nov 2025 10:00:00 +0100",
              ) -> bytes:
    """An Outlook message (.msg) with its headers, a plain-text body and attachments."""
    headers = f"Date: {date}\r\nSubject: {subject}\r\n"
    streams = dict([
        _unicode(0x0037, subject), _unicode(0x0C1A, sender), _unicode(0x0C1F, sender_email),
        _unicode(0x0E04, to), _unicode(0x1000, body), _unicode(0x007D, headers),
        _unicode(0x001A, "IPM.Note"),
    ])
    streams["__properties_version1.0"] = b"\x00" * 32
    for number, (filename, data) in enumerate(attachments.items()):
        storage = f"__attach_version1.0_#{number:08X}"
        name_stream, name = _unicode(0x3707, filename)
        streams[f"{storage}/{name_stream}"] = name
        streams[f"{storage}/__substg1.0_37010102"] = data
        streams[f"{storage}/__properties_version1.0"] = b"\x00" * 8
    return compound_file(streams)
