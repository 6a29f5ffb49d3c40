"""Which passwords are too predictable to accept: common ones and trivial patterns (ASVS 6.2).

The list is zxcvbn's "passwords" frequency list (the 30,000 most used passwords of public
leaks), shipped inside the zxcvbn package and so updated with it. A password is refused when it
is on the list, when it is a listed password with digits or symbols around it ("Summer2024!"),
or when it is one short piece repeated or a run of neighbouring characters ("abcabcabcabc",
"123456789012"). No composition rules: length and this list are the whole policy (NIST 800-63B).
"""

import ast
import importlib.util
import itertools
import string
from functools import cache
from pathlib import Path

# Stripped from both ends before the list lookup: "password123!" is "password" in disguise.
_DECORATION = string.digits + string.punctuation + string.whitespace
_LONGEST_REPEATED_UNIT = 4  # "abcdabcdabcd" is as weak as "abcd"


@cache
def common_passwords() -> frozenset[str]:
    """The common-passwords list, lower case (loaded once).

    Read from zxcvbn's list file without running it: importing the zxcvbn package builds
    ranked dictionaries of all six of its lists (95,000 words), about 12 MiB the auth service
    would hold for good; this keeps only the 30,000 passwords (about 4 MiB). The file is one
    dict of comma-separated strings, `{"passwords": "123456,password,...".split(","), ...}`."""
    package = importlib.util.find_spec("zxcvbn")  # finds it, does not run it
    if package is None or not package.submodule_search_locations:
        raise RuntimeError("zxcvbn (the common-passwords list) is not installed")
    path = Path(package.submodule_search_locations[0]) / "frequency_lists.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if (isinstance(key, ast.Constant) and key.value == "passwords"
                    and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    and isinstance(value.func.value, ast.Constant)
                    and isinstance(value.func.value.value, str)):
                return frozenset(value.func.value.value.lower().split(","))
    raise RuntimeError(f"{path} no longer holds the passwords list as a comma-separated string")


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
