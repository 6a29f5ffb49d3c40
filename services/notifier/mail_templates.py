"""Rendering of the notifier's mails: one Jinja2 template per mail and part
(`templates/<kind>.txt`, `templates/<kind>.html`), texts in the shared Babel catalogs
(libs/i18n), branded by the office settings, in the reader's language.

A mail is multipart/alternative: the plain text first, then the HTML (a simple one-column layout
in the office's colours, readable on a phone). The office logo, when its bytes are given, is an
inline part (multipart/related, `cid:`): a mail never loads a remote image, so no tracking.

Compiled templates and translations are kept for the life of the process (`renderer()`).
"""

import email.policy
import gettext
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from libs.contracts.office import OfficeSettings, OfficeSettingsPublic
from libs.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    as_language,
    format_day,
    format_moment,
    format_money,
    load_translations,
)
from libs.servicekit.logs import get_logger

log = get_logger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
LOGO_CID = "office-logo@mybroker"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT = OfficeSettings()
# The image types mail clients show inline, by their first bytes.
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"))


def _mark(message: str) -> str:
    """A text to translate later (found by the extraction), unchanged."""
    return message


def _colour(value: str, default: str) -> str:
    """A #rrggbb colour, else the default (the value goes into a style attribute)."""
    return value if _COLOUR.match(value.strip()) else default


def logo_subtype(logo: bytes) -> str | None:
    """png, jpeg or gif by the bytes, else None."""
    for signature, subtype in _IMAGE_SIGNATURES:
        if logo.startswith(signature):
            return subtype
    return None


# What the mails call an office that has not named itself (the settings' default name is Dutch).
UNNAMED_OFFICE = _mark("Your insurance broker")


@dataclass(frozen=True)
class Branding:
    """What a mail shows of the office: name, colours, logo and the legal footer."""

    name: str  # "": the office has not named itself; the mails say "your insurance broker"
    primary: str
    accent: str
    postal_address: tuple[str, ...]
    phone: str
    website: str
    fsma_number: str
    company_number: str
    legal_footer: str
    default_language: Language
    logo: bytes | None = None

    @classmethod
    def from_settings(cls, settings: OfficeSettingsPublic | None = None, *,
                      logo: bytes | None = None) -> "Branding":
        """The branding of `settings` (default: a fresh deployment's); `logo`: the logo's
        bytes (PNG, JPEG or GIF), shown inline; anything else is left out."""
        office = settings if settings is not None else OfficeSettingsPublic()
        name = office.name.strip()
        return cls(
            name="" if name == _DEFAULT.name else name,
            primary=_colour(office.colours.primary, _DEFAULT.colours.primary),
            accent=_colour(office.colours.accent, _DEFAULT.colours.accent),
            postal_address=tuple(line.strip() for line in office.postal_address.splitlines()
                                 if line.strip()),
            phone=office.phone.strip(), website=office.website.strip(),
            fsma_number=office.fsma_number.strip(),
            company_number=office.company_number.strip(),
            legal_footer=office.legal_footer.strip(),
            default_language=as_language(office.default_language) or DEFAULT_LANGUAGE,
            logo=logo if logo and logo_subtype(logo) else None,
        )


DEFAULT_BRANDING = Branding.from_settings()


class OfficeBrandingSource:
    """THE one place the mail builders get the office's branding from.

    `settings` gives the latest office settings and `logo` the logo's bytes; by default a fresh
    deployment's settings and no logo. The notifier's office-settings module plugs in here
    (e.g. `OfficeBrandingSource(settings=office.current)`)."""

    def __init__(self, settings: Callable[[], OfficeSettingsPublic] | None = None,
                 logo: Callable[[], bytes | None] | None = None) -> None:
        self._settings = settings or OfficeSettingsPublic
        self._logo = logo or (lambda: None)
        self._last: tuple[OfficeSettingsPublic, bytes | None, Branding] | None = None

    def branding(self) -> Branding:
        """The branding of the latest settings (rebuilt only when they change)."""
        settings, logo = self._settings(), self._logo()
        last = self._last
        if last is not None and last[0] == settings and last[1] is logo:
            return last[2]
        branding = Branding.from_settings(settings, logo=logo)
        self._last = (settings, logo, branding)
        return branding

    def office_address(self, purpose: str, fallback: str) -> str:
        """Where the office's mails of `purpose` go: the settings' address for it (e.g.
        "registrations"), else their general one, else `fallback` (the configured one)."""
        addresses = self._settings().addresses
        chosen = getattr(addresses, purpose, "") if purpose in type(addresses).model_fields else ""
        return chosen.strip() or addresses.general.strip() or fallback


def resolve_language(*candidates: str | None, default: str | None = None,
                     **context: Any) -> Language:
    """The language of a mail: the first language given among `candidates` (the person's in
    the dossier, then the account's choice), else `default` (the office's). A given language
    the portal has no texts for ("de") also gets the office's default, and is logged."""
    fallback = as_language(_code(default)) or DEFAULT_LANGUAGE
    for candidate in candidates:
        if candidate is None or not candidate.strip():
            continue
        language = as_language(_code(candidate))
        if language is None:
            log.warning("mail language unknown: the office's default is used",
                        language=candidate[:16], used=fallback, **context)
            return fallback
        return language
    return fallback


def _code(value: str | None) -> str:
    return (value or "").strip().lower()[:2]


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


class MailRenderer:
    """One Jinja2 environment per language, compiled templates and translations kept."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self._translations = load_translations()
        self._environments = {
            language: self._environment(template_dir, language) for language in LANGUAGES}
        for environment in self._environments.values():  # compiled now, not at the first mail
            for name in environment.list_templates(extensions=("html", "txt")):
                environment.get_template(name)

    def _environment(self, template_dir: Path, language: Language) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(template_dir),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
            auto_reload=False,  # templates do not change while the process runs
        )
        environment.install_gettext_translations(  # type: ignore[attr-defined]
            self._translations[language], newstyle=True)
        environment.filters["moment"] = lambda moment: format_moment(moment, language)
        environment.filters["day"] = lambda day: format_day(day, language)
        environment.filters["money"] = lambda cents, currency="EUR": format_money(
            cents, currency, language)
        return environment

    def gettext(self, language: Language) -> gettext.GNUTranslations:
        """The compiled translations of `language`."""
        return self._translations[language]

    def render(self, template: str, language: Language, branding: Branding, portal_url: str,
               context: Mapping[str, Any]) -> RenderedMail:
        """Subject, text and HTML of mail `template` (a missing variable raises)."""
        environment = self._environments[language]
        values = {
            "language": language, "office": branding,
            "office_name": branding.name or self.gettext(language).gettext(UNNAMED_OFFICE),
            "portal_url": portal_url.rstrip("/"),
            "logo_cid": LOGO_CID if branding.logo else None, **context,
        }
        text_template = environment.get_template(f"{template}.txt")
        subject = _one_line("".join(
            text_template.blocks["subject"](text_template.new_context(values))))
        text = text_template.render(values).strip() + "\n"
        html = environment.get_template(f"{template}.html").render(values, subject=subject)
        return RenderedMail(subject=subject, text=text, html=html)


@cache
def renderer() -> MailRenderer:
    """The process's renderer (templates and catalogs are read once)."""
    return MailRenderer()


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Envelope:
    """The headers of one mail."""

    message_id: str
    date: datetime
    sender: str
    recipient: str


# Headers whose short printable ASCII values the mails write as given (see _PlainHeader).
_PLAIN_HEADERS = frozenset({
    "message-id", "date", "from", "to", "subject", "auto-submitted", "content-language",
    "mime-version", "content-transfer-encoding", "content-type"})


class _PlainHeader(str):
    """A header value that needs neither encoding nor folding (printable ASCII, one short
    line): folded as `Name: value`, as the stdlib's header classes fold it, without parsing it
    (its parse tree made a third of a mail's rendering and flattening). What the parsed header
    offers (`addresses`, `datetime`, ...) is parsed when first asked for."""

    name: str
    _parsed: BaseHeader | None

    def __new__(cls, name: str, value: str) -> "_PlainHeader":
        header = super().__new__(cls, value)
        header.name = name
        header._parsed = None
        return header

    def __reduce__(self) -> tuple[Any, ...]:  # copy.deepcopy (the generator may copy a part)
        return (_PlainHeader, (self.name, str(self)))

    def fold(self, *, policy: email.policy.Policy) -> str:
        """`Name: value` and the policy's line separator (what BaseHeader.fold gives)."""
        if len(self.name) + 2 + len(self) > (policy.max_line_length or len(self) + 100):
            return self._parse().fold(policy=policy)  # a policy with shorter lines
        return f"{self.name}: {self}{policy.linesep}"

    def _parse(self) -> BaseHeader:
        if self._parsed is None:
            self._parsed = _STDLIB_HEADERS(self.name, str(self))
        return self._parsed

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self._parse(), attribute)


_STDLIB_HEADERS = HeaderRegistry()


def _plain(name: str, value: str) -> bool:
    """Whether the header can be written as given: a header of _PLAIN_HEADERS, printable ASCII
    without encoded words, not folded (RFC 5322's 78 characters), no surrounding spaces."""
    return (name.lower() in _PLAIN_HEADERS and type(value) is str and value.isascii()
            and value.isprintable() and len(name) + 2 + len(value) <= 78
            and "=?" not in value and value == value.strip() and "  " not in value)


class _HeaderClasses(HeaderRegistry):
    """The stdlib's header registry builds a new class for every header it parses (a tenth of
    a mail's rendering); this one builds each once, and leaves plain values unparsed."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

    def __call__(self, name: str, value: Any) -> Any:
        if _plain(name, value):
            return _PlainHeader(name, value)
        return super().__call__(name, value)


# The default policy (EmailMessage, RFC 5322 headers), with the header classes kept.
MAIL_POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


def _boundary() -> str:
    """A MIME boundary no text can hold (else the generator compiles a regex per mail to pick
    one)."""
    return f"=_{secrets.token_hex(16)}"


def render_mail(template: str, envelope: Envelope, /, *, language: Language,
                branding: Branding, portal_url: str, **context: Any) -> EmailMessage:
    """The mail of `template` (templates/<template>.txt and .html) as an EmailMessage: text
    and HTML alternatives, the logo inline."""
    rendered = renderer().render(template, language, branding, portal_url, context)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Message-ID"] = envelope.message_id
    message["Date"] = format_datetime(envelope.date)
    message["From"] = envelope.sender
    message["To"] = envelope.recipient
    message["Subject"] = rendered.subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message.set_boundary(_boundary())
    message["Content-Language"] = language  # after the parts: they take the Content-* headers
    if branding.logo is not None:
        html_part = message.get_body(("html",))
        assert isinstance(html_part, EmailMessage)  # the part add_alternative just made
        subtype = logo_subtype(branding.logo) or "png"
        html_part.add_related(branding.logo, maintype="image", subtype=subtype,
                              cid=f"<{LOGO_CID}>", filename=f"logo.{subtype}",
                              disposition="inline")
        html_part.set_boundary(_boundary())
    return message

