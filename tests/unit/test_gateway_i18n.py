"""Pages speak Dutch by default, French and English on request; money reads like the locale."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import Request

from gateway.config import GatewaySettings
from gateway.web.i18n import (
    CATALOG_DIR,
    LANGUAGES,
    Language,
    format_day,
    format_moment,
    format_money,
    format_number,
)
from gateway.web.rendering import PageRenderer, safe_next
from gateway.web.session import SessionRefresher

GATEWAY_DIR = Path(__file__).parents[2] / "gateway"
NOTIFIER_DIR = Path(__file__).parents[2] / "services" / "notifier"
LOGIN_TITLE = {"nl": "Aanmelden", "fr": "Se connecter", "en": "Log in"}
PASSWORD_LABEL = {"nl": "Wachtwoord", "fr": "Mot de passe", "en": "Password"}


class NoRpc:
    async def call(self, method: object, request: object) -> object:
        raise AssertionError("rendering a page must not call services")


@pytest.fixture(scope="module")
def renderer() -> PageRenderer:
    return PageRenderer(GatewaySettings(environment="test"), SessionRefresher(NoRpc()))  # type: ignore[arg-type]


def page_request(path: str, cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": path, "query_string": b"",
                    "headers": headers, "scheme": "http", "server": ("testserver", 80)})


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_login_page_is_rendered_in_the_chosen_language(
    renderer: PageRenderer, language: Language
) -> None:
    response = renderer.render(page_request("/login", f"mb_lang={language}"), "login.html",
                               {"next": "/", "email": ""})
    html = bytes(response.body).decode()
    assert f'<html lang="{language}">' in html
    assert f"<h1>{LOGIN_TITLE[language]}</h1>" in html
    assert PASSWORD_LABEL[language] in html


def test_dutch_is_the_default_language(renderer: PageRenderer) -> None:
    response = renderer.render(page_request("/login"), "login.html", {"next": "/", "email": ""})
    assert "<h1>Aanmelden</h1>" in bytes(response.body).decode()


def test_an_unknown_language_cookie_falls_back_to_dutch(renderer: PageRenderer) -> None:
    assert renderer.language(page_request("/login", "mb_lang=de")) == "nl"


def plain(text: str) -> str:
    """`text` with the locale's non-breaking spaces as ordinary spaces, to compare easily."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("language", "shown"), [
    ("nl", "€ 1.234,56"), ("fr", "1 234,56 €"), ("en", "€1,234.56"),
])
def test_a_premium_in_cents_is_shown_as_euros_of_the_readers_locale(
    language: Language, shown: str
) -> None:
    assert plain(format_money(123456, "EUR", language)) == shown


def test_small_and_negative_amounts_keep_their_cents() -> None:
    assert plain(format_money(5, "EUR", "nl")) == "€ 0,05"
    assert plain(format_money(-2550, "EUR", "en")) == "-€25.50"


@pytest.mark.parametrize(("language", "count", "shown"), [
    ("nl", 1, "1 factuur vervallen"), ("nl", 3, "3 facturen vervallen"),
    ("fr", 1, "1 facture en retard"), ("fr", 2, "2 factures en retard"),
    ("en", 1, "1 invoice overdue"), ("en", 0, "0 invoices overdue"),
])
def test_counted_things_take_the_plural_form_of_the_readers_language(
    renderer: PageRenderer, language: Language, count: int, shown: str
) -> None:
    ngettext = renderer.ngettext(language)
    assert ngettext("%(num)s invoice overdue", "%(num)s invoices overdue", count) % {
        "num": count} == shown


@pytest.mark.parametrize(("language", "value", "shown"), [
    ("nl", 25.0, "25"), ("nl", 24.8046875, "24,8"), ("fr", 1536.5, "1 536,5"),
    ("en", 24.8046875, "24.8"),
])
def test_numbers_have_the_readers_decimal_sign(language: Language, value: float,
                                               shown: str) -> None:
    assert plain(format_number(value, language)) == shown


def test_dates_and_moments_are_localised_and_shown_in_brussels_time() -> None:
    assert format_day(date(2024, 1, 1), "nl") == "1 jan 2024"
    assert format_day(date(2024, 1, 1), "fr") == "1 janv. 2024"
    # 09:30 UTC is 10:30 in Brussels in winter.
    assert format_moment(datetime(2025, 3, 4, 9, 30, tzinfo=UTC), "nl") == "4 mrt 2025, 10:30"
    # A moment's day is its day in Brussels: 23:31 UTC on 5 December is already 6 December.
    assert format_day(datetime(2026, 12, 5, 23, 31, tzinfo=UTC), "fr") == "6 déc. 2026"
    assert format_day(datetime(2026, 12, 5, 23, 31), "nl") == "6 dec 2026"  # stored naive UTC


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_pages_is_translated(language: Language) -> None:
    """A text added to a template or page without a translation fails here (run pybabel)."""
    used = {
        message for _, _, message, *_ in extract_from_dir(
            str(GATEWAY_DIR),
            method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2")],
            keywords={"_": None, "gettext": None, "_mark": None, "ngettext": (1, 2)},
        )
    }
    with (CATALOG_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file)
    # A plural message is (singular, plural), in the code and in the catalog, with every form
    translated = {message.id for message in catalog if message.id and (
        all(message.string) if isinstance(message.string, tuple | list) else message.string)}
    missing = sorted(str(message) for message in used if message not in translated)
    assert ("%(num)s invoice overdue", "%(num)s invoices overdue") in used
    assert missing == []
    for message in catalog:
        if message.id:
            placeholders = set(re.findall(r"%\(\w+\)s", str(message.id)))
            assert set(re.findall(r"%\(\w+\)s", str(message.string))) == placeholders
            assert not message.fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_mails_is_translated(language: Language) -> None:
    """A text added to a mail template (services/notifier/templates) or to the notifier's
    code without a translation fails here: the mails share the pages' catalogs."""
    used = {
        message for _, _, message, *_ in extract_from_dir(
            str(NOTIFIER_DIR),
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2"),
                        ("templates/**.txt", "jinja2")],
            options_map={"templates/**": {"trim_blocks": "true", "lstrip_blocks": "true"}},
            keywords={"_": None, "gettext": None, "_mark": None, "ngettext": (1, 2)},
        )
    }
    with (CATALOG_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file)
    translated = {message.id for message in catalog if message.id and message.string}
    assert {"Dear %(name)s,", "Claim declaration", "Your insurance broker"} <= used
    assert sorted(str(message) for message in used if message not in translated) == []


@pytest.mark.parametrize("catalog", sorted(
    str(path.relative_to(CATALOG_DIR)) for path in [*CATALOG_DIR.glob("*/LC_MESSAGES/messages.po"),
                                                    *CATALOG_DIR.glob("*.pot")]))
def test_every_catalog_reads_without_a_broken_entry(catalog: str) -> None:
    """The catalogs merge by union between branches (.gitattributes); a union can drop one of
    two identical lines, such as the empty `msgstr ""` of neighbouring entries of the template."""
    with (CATALOG_DIR / catalog).open("rb") as po_file:
        read_po(po_file, abort_invalid=True)


@pytest.mark.parametrize(("target", "safe"), [
    ("/contracts", "/contracts"), ("//evil.example", "/"), ("https://evil.example", "/"),
    ("/\\evil.example", "/"), (None, "/"),
])
def test_after_a_form_the_browser_only_goes_to_a_page_of_mybroker(
    target: str | None, safe: str
) -> None:
    assert safe_next(target) == safe
