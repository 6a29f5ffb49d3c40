"""Which passwords are too predictable to accept: common ones and trivial patterns (ASVS 6.2).

The list is zxcvbn's "passwords" frequency list (the 30,000 most used passwords of public
leaks), shipped inside the zxcvbn package and so updated with it. A password is refused when it
is on the list, when it is a listed password with digits or symbols around it ("Summer2024!"),
or when it is one short piece repeated or a run of neighbouring characters ("abcabcabcabc",
"123456789012"). No composition rules: length and this list are the whole policy (NIST 800-63B).
"""

import itertools
import string
from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

# Stripped from both ends before the list lookup: "password123!" is "password" in disguise.
_DECORATION = string.digits + string.punctuation + string.whitespace
_LONGEST_REPEATED_UNIT = 4  # "abcdabcdabcd" is as weak as "abcd"


@cache
def common_passwords() -> frozenset[str]:
    """The common-passwords list, lower case (loaded once)."""
    passwords: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(word.lower() for word in passwords)


def _is_repetition(password: str) -> bool:
    for unit in range(1, _LONGEST_REPEATED_UNIT + 1):
        if len(password) % unit == 0 and password == password[:unit] * (len(password) // unit):
            return True
    return False


def _is_sequence(password: str) -> bool:
    """A run like "abcdefghijkl", "987654321098" (digits wrap around) or "qrstuvwxyzab"."""
    steps = {
        (ord(later) - ord(earlier)) % 10 if earlier.isdigit() and later.isdigit()
        else ord(later) - ord(earlier)
        for earlier, later in itertools.pairwise(password)
    }
    return steps in ({1}, {-1}, {9})


def is_common_password(password: str) -> bool:
    """True when the password is on the common list or a trivial pattern."""
    lowered = password.lower()
    listed = common_passwords()
    core = lowered.strip(_DECORATION)
    return (
        lowered in listed
        or (core != "" and core in listed)
        or _is_repetition(lowered)
        or _is_sequence(lowered)
    )
