"""Checks of the numbers a broker's export carries: plates, VINs, postal codes, national numbers.

Each function returns None when the value is acceptable, else a short reason in English (the
import report is read by office staff and integrators, not by clients).
"""

import re

from stdnum.be import nn

# Belgian plates, separators ignored: since 2010 "1-ABC-123" (a digit 1-9, three letters, three
# digits); 2008-2010 "123-ABC"; 1973-2008 "ABC-123". Personalised, trade ("ZZ"), diplomatic and
# temporary plates are not accepted by this rule: the office imports them as `other` data.
_PLATE_FORMS = (
    re.compile(r"[1-9][A-Z]{3}[0-9]{3}"),
    re.compile(r"[0-9]{3}[A-Z]{3}"),
    re.compile(r"[A-Z]{3}[0-9]{3}"),
)
_PLATE_SEPARATORS = re.compile(r"[\s.-]")

# ISO 3779: 17 characters, digits and capitals except I, O and Q.
_VIN_FORM = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_VIN_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# Regions (first character of the manufacturer code) whose rules make position 9 a check digit:
# North America (1-5) and China (L). European makers usually put other data there (often "Z"),
# so elsewhere only the format is checked.
_CHECK_DIGIT_REGIONS = frozenset("12345L")

_BELGIAN_POSTAL_CODE = re.compile(r"[1-9][0-9]{3}")
_CURRENCY = re.compile(r"[A-Z]{3}")


def normalized_plate(plate: str) -> str:
    """The plate without separators, in capitals: "1-abc-123" -> "1ABC123"."""
    return _PLATE_SEPARATORS.sub("", plate).upper()


def plate_problem(plate: str) -> str | None:
    """Why `plate` is not a Belgian licence plate, or None."""
    compact = normalized_plate(plate)
    if any(form.fullmatch(compact) for form in _PLATE_FORMS):
        return None
    return f"{plate!r} is not a Belgian licence plate (e.g. 1-ABC-123)"


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 check character ("0"-"9" or "X") of a well-formed 17-character VIN."""
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problem(vin: str) -> str | None:
    """Why `vin` is not a valid vehicle identification number, or None.

    The format is always checked; the check digit (position 9) only for regions that require
    it (North America, China), where a VIN with a wrong or missing check digit is refused.
    """
    if not _VIN_FORM.fullmatch(vin):
        return f"{vin!r} is not a VIN: 17 characters, digits and capitals except I, O, Q"
    if vin[0] in _CHECK_DIGIT_REGIONS and vin[8] != vin_check_digit(vin):
        return f"{vin!r} has a wrong check digit (position 9 should be {vin_check_digit(vin)})"
    return None


def postal_code_problem(postal_code: str, country: str) -> str | None:
    """Why `postal_code` is not valid in `country`, or None (only Belgian codes are checked)."""
    if country.upper() != "BE" or _BELGIAN_POSTAL_CODE.fullmatch(postal_code.strip()):
        return None
    return f"{postal_code!r} is not a Belgian postal code (4 digits, 1000-9999)"


def national_number_problem(national_number: str) -> str | None:
    """Why `national_number` is not a Belgian national register number, or None."""
    if nn.is_valid(national_number):
        return None
    return f"{national_number!r} is not a valid Belgian national register number"


def money_problem(cents: int | None) -> str | None:
    """Why an amount in cents is not acceptable, or None (money is never negative here)."""
    if cents is not None and cents < 0:
        return "must not be negative"
    return None


def currency_problem(currency: str) -> str | None:
    """Why `currency` is not an ISO 4217 code, or None."""
    if _CURRENCY.fullmatch(currency):
        return None
    return f"{currency!r} is not a currency code (e.g. EUR)"
