"""A plain A4 PDF of headed label/value lines (fpdf2's built-in fonts): what the office files
when a client sends a form — the claim declaration, the confirmed client sheet."""

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

# Letters and signs without a decomposition into a Latin-1 one.
_PLAIN = {"\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0152": "OE",
          "\u0153": "oe", "\u0131": "i", "\u2014": "-", "\u2013": "-", "\u2018": "'",
          "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u20ac": "EUR", "\u2026": "..."}


def latin1(text: str) -> str:
    """The PDF's built-in fonts hold Latin-1: other letters lose their accents ("ł" -> "l"),
    what has no such form becomes "?"."""
    kept = []
    for char in text:
        try:
            char.encode("latin-1")
            kept.append(char)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            kept.append(base if base and base.isascii() else _PLAIN.get(char, "?"))
    return "".join(kept)


class FormPdf:
    """Headings and label/value lines, page breaks by themselves."""

    def __init__(self, title: str, *, created_at: datetime | None = None) -> None:
        # fpdf2 is imported here, not at the top: a process needs it only once a client sends
        # such a form, not while it serves reads (it costs megabytes of memory).
        from fpdf import FPDF

        self._pdf: FPDF = FPDF(format="A4")
        self._pdf.set_title(latin1(title))
        self._pdf.set_creator("MyBroker")
        if created_at is not None:  # a fixed date: the same form makes the same bytes
            self._pdf.set_creation_date(created_at)
        self._pdf.set_auto_page_break(auto=True, margin=15)
        self._pdf.add_page()
        self._width = self._pdf.epw

    def heading(self, text: str, size: int = 13) -> None:
        self._pdf.set_font("Helvetica", "B", size)
        self._pdf.ln(3)
        self._pdf.multi_cell(self._width, 7, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self._pdf.set_font("Helvetica", "", 10)

    def line(self, label: str, value: str) -> None:
        """A bold label, its value under it ("-" when empty)."""
        self._pdf.set_font("Helvetica", "B", 10)
        self._pdf.multi_cell(self._width, 5, latin1(label), new_x="LMARGIN", new_y="NEXT")
        self._pdf.set_font("Helvetica", "", 10)
        self._pdf.multi_cell(self._width, 5, latin1(value or "-"), new_x="LMARGIN",
                             new_y="NEXT")
        self._pdf.ln(1)

    def text(self, text: str) -> None:
        """A line of plain text."""
        self._pdf.set_font("Helvetica", "", 10)
        self._pdf.multi_cell(self._width, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self._pdf.output())
