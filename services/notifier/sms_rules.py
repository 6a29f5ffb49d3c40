"""Pure rules of the SMS port: phone numbers, texts per language, rate-limit windows (no I/O)."""

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers

from libs.contracts.sms import SmsPurpose

# Mobile signature codes go to phones: a fixed line or a premium number cannot receive them.
_TEXTABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
_UNPARSABLE = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "the country code is unknown",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "it has no digits to dial",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "it is too short",
    phonenumbers.NumberParseException.TOO_LONG: "it is too long",
}
_CODE = re.compile(r"^[0-9]{4,8}$")
_MINUTES = re.compile(r"^[0-9]{1,3}$")


class InvalidPhoneNumber(ValueError):
    """The number cannot receive an SMS; the message says why, in words a person can act on."""


class InvalidSmsParameters(ValueError):
    """The template's parameters are missing or malformed."""


def normalise_phone_number(typed: str, default_region: str) -> str:
    """The E.164 form (+32470123456) of a mobile number typed in any usual way.

    A number without country code is read in `default_region` (BE: 0470 12 34 56).
    """
    try:
        number = phonenumbers.parse(typed, default_region)
    except phonenumbers.NumberParseException as error:
        why = _UNPARSABLE.get(error.error_type, "it cannot be read")
        raise InvalidPhoneNumber(f"This is not a phone number: {why}.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            "This phone number does not exist: check the digits and the country code.")
    if phonenumbers.number_type(number) not in _TEXTABLE:
        raise InvalidPhoneNumber("This number cannot receive text messages: give a mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked_phone_number(e164: str) -> str:
    """The number as logs and lists show it: country code and last two digits only."""
    return e164[:3] + "*" * (len(e164) - 5) + e164[-2:]


@dataclass(frozen=True)
class SmsTemplate:
    """The texts of one purpose per language and the parameters it needs, with their shapes."""

    texts: dict[str, str]
    parameters: dict[str, re.Pattern[str]]
    secret_parameters: frozenset[str]  # never stored: the log keeps the text with these masked


# One SMS segment is 160 GSM-7 characters: the texts stay under it, without accents that would
# switch the whole message to UCS-2 (70 characters).
TEMPLATES = {
    SmsPurpose.IDENTITY_CODE: SmsTemplate(
        texts={
            "nl": "Uw MyBroker-code is {code}. Geldig {valid_minutes} minuten. "
                  "Geef deze code aan niemand, ook niet aan uw makelaar.",
            "fr": "Votre code MyBroker est {code}. Valable {valid_minutes} minutes. "
                  "Ne le donnez a personne, pas meme a votre courtier.",
            "en": "Your MyBroker code is {code}. Valid for {valid_minutes} minutes. "
                  "Never share it, not even with your broker.",
        },
        parameters={"code": _CODE, "valid_minutes": _MINUTES},
        secret_parameters=frozenset({"code"}),
    ),
}


def render_sms(purpose: SmsPurpose, language: str, parameters: dict[str, str]) -> tuple[str, str]:
    """The text to send and the text to keep (secret parameters masked) of one SMS."""
    template = TEMPLATES[purpose]
    problems = {name: "missing" for name in template.parameters if name not in parameters}
    problems |= {name: "not expected" for name in parameters if name not in template.parameters}
    problems |= {name: "malformed" for name, shape in template.parameters.items()
                 if name in parameters and not shape.fullmatch(parameters[name])}
    if problems:
        raise InvalidSmsParameters(
            ", ".join(f"{name} {problem}" for name, problem in sorted(problems.items())))
    text = template.texts[language]
    masked = {name: ("*" * len(value) if name in template.secret_parameters else value)
              for name, value in parameters.items()}
    return text.format(**parameters), text.format(**masked)


def request_fingerprint(
    purpose: SmsPurpose, phone_number: str, account_id: str, language: str,
    parameters: dict[str, str],
) -> str:
    """A digest of what an idempotency key stands for: the same key for another SMS is refused.

    Secret parameters stay out: a hash of a 6-digit code is reversed by trying a million codes,
    so a database reader would learn every valid code. Callers use one key per code.
    """
    secret = TEMPLATES[purpose].secret_parameters
    public = {name: value for name, value in parameters.items() if name not in secret}
    canonical = json.dumps([purpose, phone_number, account_id, language, public],
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` SMS within any `window` (a sliding window, not calendar hours)."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class WindowDecision:
    """Whether one more SMS fits, the moments to keep, and how long to wait when it does not."""

    allowed: bool
    kept: tuple[datetime, ...]
    retry_after_seconds: int = 0


def decide_in_window(rule: RateLimit, sent: Sequence[datetime], now: datetime) -> WindowDecision:
    """Count the SMS of the last `rule.window`; one more is allowed below `rule.limit`."""
    recent = tuple(sorted(moment for moment in sent if moment > now - rule.window))
    if len(recent) < rule.limit:
        return WindowDecision(True, (*recent, now))
    # The oldest SMS that still counts leaves the window first; one more fits then.
    frees_at = recent[len(recent) - rule.limit] + rule.window
    return WindowDecision(False, recent,
                          max(1, math.ceil((frees_at - now).total_seconds())))
