"""A small valid PDF made in code, for the demo office and the tests (no PDF library needed)."""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(title: str, lines: list[str]) -> bytes:
    commands = ["BT", "/F1 16 Tf", "56 780 Td", f"({_escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        commands += ["0 -18 Td", f"({_escape(line)}) Tj"]
    commands.append("ET")
    return "\n".join(commands).encode("latin-1", errors="replace")


def text_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF showing `title` and `lines` in Helvetica (Latin-1 text)."""
    return pages_pdf([(title, lines)])


def pages_pdf(pages: list[tuple[str, list[str]]]) -> bytes:
    """An A4 PDF with one page per (title, lines) pair, in Helvetica (Latin-1 text)."""
    # Objects: 1 catalog, 2 page tree, 3 font, then a page and its content stream per page.
    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, (title, lines) in enumerate(pages):
        stream = _page_stream(title, lines)
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        ]
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref_at = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        body += b"%010d 00000 n \n" % offset
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref_at)
    return bytes(body)
