"""Names people give (file names, titles, display names, subjects), as they are kept and shown.

Bidirectional formatting characters reorder what a reader sees: "polis\u202Efdp.exe" shows as
"polisexe.pdf". They and the control characters are stripped from every such name where it
enters a contract, so no page, mail or download header ever shows one.
"""

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 and C1 controls with DEL; ALM U+061C, LRM/RLM U+200E/F, LRE..RLO U+202A-E, LRI..PDI
# U+2066-9.
_HIDDEN = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_name(value: str) -> str:
    """`value` without control and bidirectional formatting characters."""
    return _HIDDEN.sub("", value)


def _given_name(value: str) -> str:
    cleaned = shown_name(value)
    if value and not cleaned:
        raise ValueError("The name holds only invisible characters.")
    return cleaned


# What a person types (uploads, forms, imports): cleaned; one of only such characters refused.
GivenName = Annotated[str, AfterValidator(_given_name)]
# What is read back to be shown (also data stored before this rule): cleaned, never refused.
ShownName = Annotated[str, AfterValidator(shown_name)]
