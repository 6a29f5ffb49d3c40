"""Languages of the web pages and the mails: one set of Babel catalogs, compiled at start, and
locale-aware formatting for Belgium.

The `.po` files (`catalogs/`) are the source (committed); they are compiled into memory when a
process starts, so there is no build step and no `.mo` file to forget. Dutch is the default
language. The gateway and the notifier share them: one translation workflow.
"""

import gettext
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from libs.contracts.envelope import OFFICE_TIMEZONE, office_day

Language = Literal["nl", "fr", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "nl"
CATALOG_DIR = Path(__file__).parent / "catalogs"
DOMAIN = "messages"
SHOWN_TIMEZONE = OFFICE_TIMEZONE  # stored in UTC, shown in the office's time
LOCALES: dict[Language, str] = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
LANGUAGE_NAMES: dict[Language, str] = {"nl": "Nederlands", "fr": "Français", "en": "English"}


def as_language(value: str | None) -> Language | None:
    """`value` if it names a supported language, else None."""
    for language in LANGUAGES:
        if value == language:
            return language
    return None


def compile_catalog(po_path: Path) -> gettext.GNUTranslations:
    """The translations of one `.po` file, compiled in memory."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_translations(directory: Path = CATALOG_DIR) -> dict[Language, gettext.GNUTranslations]:
    """Every supported language's translations from `<directory>/<lang>/LC_MESSAGES`."""
    return {
        language: compile_catalog(directory / language / "LC_MESSAGES" / f"{DOMAIN}.po")
        for language in LANGUAGES
    }


def format_money(cents: int, currency: str, language: Language) -> str:
    """An amount stored in cents, as the reader writes money (e.g. "€ 1.234,56" in Dutch)."""
    return format_currency(Decimal(cents) / 100, currency, locale=LOCALES[language])


def format_number(value: float, language: Language, digits: int = 1) -> str:
    """A number rounded to `digits` decimals as the reader writes it ("25", "24,8" in Dutch)."""
    return format_decimal(round(value, digits), locale=LOCALES[language])


def format_day(day: date, language: Language) -> str:
    """A calendar date in the reader's language (e.g. "1 jan 2025").

    A moment (a datetime, stored in UTC) is shown as its day in Brussels: a request sent at
    23:30 UTC on 5 December was sent on 6 December for the office and the client.
    """
    if isinstance(day, datetime):
        day = office_day(day)
    return format_date(day, format="medium", locale=LOCALES[language])


def format_moment(moment: datetime, language: Language) -> str:
    """A UTC moment in Brussels time, in the reader's language, to the minute."""
    locale = Locale.parse(LOCALES[language])
    shown = moment.astimezone(SHOWN_TIMEZONE)
    # The locale's own way to join a date and a time ("{1} {0}", "{1} 'à' {0}", ...).
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.format(format_time(shown, format="short", locale=locale),
                          format_date(shown, format="medium", locale=locale))
