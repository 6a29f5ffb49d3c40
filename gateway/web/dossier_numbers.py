"""Dossier numbers the office types on its pages: said plainly when one cannot be a number
(before anything is sent) or when no dossier has it (auth asked the dossier service)."""

import re
from collections.abc import Callable

from libs.contracts.ids import ID_PATTERN
from libs.servicekit.errors import Invalid
from libs.servicekit.references import UNKNOWN_PREFIX

Translate = Callable[[str], str]
_DOSSIER_NUMBER = re.compile(ID_PATTERN)


def unknown_dossiers(error: Invalid) -> str | None:
    """The dossier numbers auth found unknown (checked with the dossier service), or None."""
    for field in ("dossier_ids", "dossier_id"):
        message = (error.fields or {}).get(field, "")
        if message.startswith(UNKNOWN_PREFIX):
            return message.removeprefix(UNKNOWN_PREFIX)
    return None


def printable(text: str) -> str:
    """`text` with control characters (NUL, ...) shown as U+FFFD: what a page may echo."""
    return "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)


def malformed_numbers(ids: list[str], _: Translate) -> str | None:
    """What the page says of typed values that cannot be dossier numbers, or None."""
    bad = [value for value in ids if not _DOSSIER_NUMBER.fullmatch(value)]
    if not bad:
        return None
    # Shown as typed, but printable and short: the page never echoes control characters.
    shown = ", ".join(printable(value[:40]) + ("…" if len(value) > 40 else "")
                      for value in bad[:5])
    return _("This is not a dossier number: %(values)s. A dossier number has letters, digits, "
             "“-”, “_” and “.” only.") % {"values": shown}
