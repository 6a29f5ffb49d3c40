"""Rules of the office settings: pure functions, each field checked and normalised on its own.

`checked_settings` returns the settings as they will be stored (trimmed, the company number in
its usual 0123.456.789 form) and, per field, what is wrong. A refusal names the field with a
reason the office admin can act on: a colour says its measured contrast against the page.
"""

import re
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from stdnum.be import vat as be_enterprise
from stdnum.exceptions import ValidationError as NumberInvalid

from libs.contracts.ids import ID_MAX_LENGTH, ID_PATTERN
from libs.contracts.office import OfficeAddresses, OfficeColours, OfficeSettings

PAGE_BACKGROUND = "#ffffff"  # text in the brand colours is read on white cards
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal text
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# FSMA registration numbers: digits, optionally a space and the status letters ("114389 A",
# "0123456 A-cB"); bounded so a free text never passes for one.
FSMA_NUMBER = re.compile(r"\d{3,10}(?: ?[A-Za-z]{1,3}(?:-[A-Za-z]{1,3})?)?")
PHONE = re.compile(r"\+?[0-9 ()./-]{6,30}")
LOGO_ID = re.compile(ID_PATTERN)
SHA256 = re.compile(r"[0-9a-f]{64}")

MAX_LENGTHS = {
    "name": 120, "postal_address": 300, "phone": 40, "fsma_number": 20, "company_number": 20,
    "website": 200, "legal_footer": 1000, "opening_hours": 500,
}
MAX_EMAIL = 254


def _channel(value: int) -> float:
    """One sRGB channel (0-255) as linear light (WCAG 2.x relative luminance)."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """The relative luminance of #rrggbb."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colour_problem(value: str) -> str | None:
    """Why `value` cannot be a brand colour, or None: #rrggbb readable on the page (AA)."""
    if not HEX_COLOUR.fullmatch(value):
        return "Give the colour as #rrggbb (six hexadecimal digits), e.g. #1f4e79."
    ratio = contrast_ratio(value, PAGE_BACKGROUND)
    if ratio < MIN_CONTRAST:
        return (f"Contrast {ratio:.2f}:1 against the white page is below the "
                f"{MIN_CONTRAST}:1 that text needs (WCAG AA); choose a darker colour.")
    return None


def company_number(value: str) -> tuple[str, str | None]:
    """The Belgian enterprise number as 0123.456.789 and None, or (value, why not)."""
    if not value:
        return "", None
    try:
        digits = be_enterprise.validate(value)
    except NumberInvalid:
        return value, ("Not a valid Belgian enterprise number (10 digits starting with 0 or "
                       "1, with a correct check number), e.g. 0403.170.701.")
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}", None


def email_address(value: str) -> tuple[str, str | None]:
    """`value` normalised (the domain in lower case) and None, or (value, why not)."""
    if not value:
        return "", None
    if len(value) > MAX_EMAIL:
        return value, f"At most {MAX_EMAIL} characters."
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return value, "Not a valid e-mail address."
    return checked.normalized, None


def website_problem(value: str) -> str | None:
    """Why `value` is not the office's website address (https, a host name), or None."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https":
        return "Give the website's https:// address."
    host = parts.hostname or ""
    if "." not in host or parts.username or parts.password or any(
            ch.isspace() for ch in value):
        return "Give the website's address, e.g. https://www.example.be."
    return None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _lines(value: str) -> str:
    """A multi-line text trimmed: line ends unified, trailing spaces and empty edges dropped."""
    lines = [line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


def checked_settings(settings: OfficeSettings) -> tuple[OfficeSettings, dict[str, str]]:
    """`settings` as stored (normalised), and what is wrong with them per field path."""
    problems: dict[str, str] = {}
    name = _one_line(settings.name)
    if not name:
        problems["name"] = "Give the office's name."
    values: dict[str, str] = {
        "name": name,
        "postal_address": _lines(settings.postal_address),
        "phone": _one_line(settings.phone),
        "fsma_number": _one_line(settings.fsma_number),
        "website": settings.website.strip(),
        "legal_footer": _lines(settings.legal_footer),
        "opening_hours": _lines(settings.opening_hours),
    }
    values["company_number"], problem = company_number(settings.company_number.strip())
    if problem:
        problems["company_number"] = problem
    if values["phone"] and not PHONE.fullmatch(values["phone"]):
        problems["phone"] = "Give a phone number: digits, spaces, +, ( ) . / - only."
    if values["fsma_number"] and not FSMA_NUMBER.fullmatch(values["fsma_number"]):
        problems["fsma_number"] = "Give the FSMA number: digits, e.g. 114389 A."
    if problem := website_problem(values["website"]):
        problems["website"] = problem
    for field, limit in MAX_LENGTHS.items():
        if len(values[field]) > limit:
            problems[field] = f"At most {limit} characters."
    addresses: dict[str, str] = {}
    for purpose, address in settings.addresses.model_dump().items():
        addresses[purpose], problem = email_address(str(address).strip())
        if problem:
            problems[f"addresses.{purpose}"] = problem
    colours: dict[str, str] = {}
    for role, colour in settings.colours.model_dump().items():
        colours[role] = str(colour).strip().lower()
        if problem := colour_problem(colours[role]):
            problems[f"colours.{role}"] = problem
    logo_id, logo_hash = settings.logo_document_id, settings.logo_sha256
    if (logo_id is None) != (logo_hash is None):
        problems["logo_document_id"] = "A logo needs both its document id and its hash."
    elif logo_id is not None and logo_hash is not None and (
            len(logo_id) > ID_MAX_LENGTH or not LOGO_ID.fullmatch(logo_id)
            or not SHA256.fullmatch(logo_hash)):
        problems["logo_document_id"] = "Not a stored logo."
    checked = OfficeSettings(
        **values, addresses=OfficeAddresses(**addresses), colours=OfficeColours(**colours),
        default_language=settings.default_language, logo_document_id=logo_id,
        logo_sha256=logo_hash)
    return checked, problems


def changed_fields(before: OfficeSettings, after: OfficeSettings) -> list[str]:
    """The field paths whose value differs (for the audit log: who changed what)."""
    old, new = before.model_dump(), after.model_dump()
    changed: list[str] = []
    for key in new:
        if isinstance(new[key], dict):
            changed += [f"{key}.{sub}" for sub in new[key] if new[key][sub] != old[key].get(sub)]
        elif new[key] != old.get(key):
            changed.append(key)
    return changed
