"""Every mail the notifier sends, rendered in NL, FR and EN: a text and an HTML part, the HTML
well-formed, every link absolute into the portal (and in the text part too), no remote image,
branded by the office settings; a template that fails to render fails here."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
import structlog
from jinja2 import UndefinedError

from libs.contracts.auth import (
    DossierMember,
    EidLinked,
    EidLinkRefused,
    EidLinkRequested,
    InvitationCreated,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
    RegistrationPending,
)
from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.lockout import LoginLockedOut
from libs.contracts.office import OfficeAddresses, OfficeColours, OfficeSettingsPublic
from libs.contracts.privacy import LoginDeleted
from libs.contracts.requests import RequestSubmitted
from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
    SignerRecipient,
)
from libs.i18n import LANGUAGES, Language
from services.notifier.account_mails import (
    login_locked_mail,
    password_changed_mail,
    password_reset_mail,
)
from services.notifier.client_digest import HeldItem, client_digest_mail
from services.notifier.document_mails import documents_published_mail
from services.notifier.domain import invitation_mail
from services.notifier.mail_templates import (
    LOGO_CID,
    Branding,
    OfficeBrandingSource,
    renderer,
    resolve_language,
)
from services.notifier.office_digest import digest_item, digest_mail, reply_item
from services.notifier.privacy_erasure import login_deleted_mail
from services.notifier.registration_mails import (
    eid_link_refused_mail,
    eid_link_requested_mail,
    eid_linked_mail,
    registration_confirmation_mail,
    registration_decision_mail,
    registration_pending_mail,
)
from services.notifier.request_mails import (
    ClientUpdate,
    Recipient,
    RequestFacts,
    client_sheet_mail,
    request_update_mail,
)
from services.notifier.signing_mails import (
    office_completed_mail,
    office_refused_mail,
    signature_cancelled_mail,
    signature_completed_mail,
    signer_invited_mail,
)

PORTAL = "https://portaal.peeters-verzekeringen.be"
SENDER = "Peeters <no-reply@peeters.be>"
T0 = datetime(2026, 11, 10, 8, 30, tzinfo=UTC)
EXPIRES = datetime(2026, 11, 12, 22, 30, tzinfo=UTC)
OFFICE = OfficeSettingsPublic(
    name="Verzekeringen Peeters & Zonen", postal_address="Kerkstraat 1\n2000 Antwerpen",
    phone="+32 3 123 45 67", colours=OfficeColours(primary="#0b5394", accent="#7a4100"),
    fsma_number="012345 A", company_number="BE 0123.456.789", website="www.peeters.be",
    legal_footer="Verzekeringsmakelaar ingeschreven bij de FSMA.", default_language="nl")
BRANDING = Branding.from_settings(OFFICE)
# The smallest PNG: its signature and a header are enough to be recognised as one.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def person(language: Language, **fields: object) -> dict[str, object]:
    return {"email": "an@example.be", "display_name": "An <Peeters>", "language": language,
            "dossier_id": "DOS-2019-00417", "occurred_at": T0, **fields}


def signer(language: Language) -> SignerRecipient:
    return SignerRecipient(user_id="u-an", email="an@example.be", display_name="An Peeters",
                           language=language)


def _signing(language: Language, reminder: int) -> EmailMessage:
    event = SignerInvited(dossier_id="DOS-1", signature_request_id="sr1", document_id="d1",
                          title="Klantenfiche <2026>", note="Graag vóór vrijdag\n& tekenen",
                          person_id="P1", due_date=date(2026, 12, 24),
                          recipients=[signer(language)], reminder=reminder)
    return signer_invited_mail(event, signer(language), sender=SENDER, public_url=PORTAL,
                               branding=BRANDING)


COMPLETED = SignatureCompleted(dossier_id="DOS-1", signature_request_id="sr1",
                               title="Klantenfiche", signed_document_id="d2", recipients=[])
FACTS = RequestFacts(request_id="r1", dossier_id="DOS-2019-00417", kind="claim",
                     subject="Waterschade keuken", sent_at=T0)


def _office(language: Language, lines: list[str]) -> EmailMessage:
    return digest_mail("d1.office-digest", "DOS-2019-00417", lines, sender=SENDER,
                       office="office@peeters.be", public_url=PORTAL, language=language,
                       branding=BRANDING)


def _submitted(number: int, kind: str = "message") -> str:
    return digest_item(RequestSubmitted(
        event_id=f"e{number}", dossier_id="DOS-2019-00417", request_id=f"r{number}", kind=kind,
        subject=f"Vraag {number} <b>", sent_by="u1", sent_by_name="An Peeters",
        occurred_at=T0))


Builder = Callable[[Language], EmailMessage]
MAILS: dict[str, Builder] = {
    "invitation": lambda lang: invitation_mail(InvitationCreated(**person(
        lang, invitation_id="i1", user_id="u1", activation_token="tok", expires_at=EXPIRES)),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "password-reset": lambda lang: password_reset_mail(PasswordResetRequested(**person(
        lang, reset_id="p1", user_id="u1", reset_token="tok", expires_at=EXPIRES)),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "password-changed": lambda lang: password_changed_mail(PasswordChanged(**person(
        lang, user_id="u1", how="change")), sender=SENDER, public_url=PORTAL,
        branding=BRANDING),
    "login-locked": lambda lang: login_locked_mail(LoginLockedOut(**person(
        lang, unlock_id="l1", user_id="u1", unlock_token="tok", expires_at=EXPIRES)),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "registration-confirmation": lambda lang: registration_confirmation_mail(
        RegistrationConfirmationRequested(**person(
            lang, registration_id="g1", confirmation_token="tok", expires_at=EXPIRES)),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "registration-approved": lambda lang: registration_decision_mail(RegistrationDecided(
        **person(lang, registration_id="g1", user_id="u1", approved=True)),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "registration-refused": lambda lang: registration_decision_mail(RegistrationDecided(
        **person(lang, registration_id="g1", user_id=None, approved=False,
                 reason="Geen klant <meer>\nbij ons")),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "eid-linked": lambda lang: eid_linked_mail(EidLinked(**person(
        lang, link_id="k1", user_id="u1")), sender=SENDER, public_url=PORTAL,
        branding=BRANDING),
    "eid-link-refused": lambda lang: eid_link_refused_mail(EidLinkRefused(**person(
        lang, link_id="k1", reason="Kaart van een ander")), sender=SENDER, public_url=PORTAL,
        branding=BRANDING),
    "documents-published-one": lambda lang: documents_published_mail(
        DocumentsBatchPublished(dossier_id="DOS-1", batch_id="b1", titles=["Polis <auto>"],
                                count=1),
        DossierMember(user_id="u1", email="an@example.be", display_name="An", language=lang),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "documents-published-several": lambda lang: documents_published_mail(
        DocumentsBatchPublished(dossier_id="DOS-1", batch_id="b1",
                                titles=["Polis auto", "Attest"], count=2),
        DossierMember(user_id="u1", email="an@example.be", display_name="An", language=lang),
        sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "request-update": lambda lang: request_update_mail(
        "w1.request-update", FACTS, ClientUpdate(answers=2, status="refused"),
        Recipient(user_id="u1", email="an@example.be", display_name="An", language=lang),
        sender=SENDER, public_url=PORTAL, at=T0, branding=BRANDING),
    "client-sheet-due": lambda lang: client_sheet_mail(
        "k.client-sheet-due", "DOS-2019-00417",
        Recipient(user_id="u1", email="an@example.be", display_name="An", language=lang),
        sender=SENDER, public_url=PORTAL, at=T0, branding=BRANDING),
    "office-new-request": lambda lang: _office(lang, [_submitted(1, "claim")]),
    "office-client-reply": lambda lang: _office(lang, [reply_item(
        "e5", "claim", "Waterschade", T0, request_id="r1", author_name="An Peeters")]),
    "office-digest": lambda lang: _office(lang, [_submitted(1), _submitted(2, "address")]),
    "signing-request": lambda lang: _signing(lang, 0),
    "signing-reminder": lambda lang: _signing(lang, 1),
    "signing-completed": lambda lang: signature_completed_mail(
        COMPLETED, signer(lang), sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "signing-refused": lambda lang: office_refused_mail(
        SignatureRefused(dossier_id="DOS-1", signature_request_id="sr1", title="Polis <BA>",
                         person_id="P1", signer_name="Pieter Dupont",
                         reason="Het adres klopt niet"),
        sender=SENDER, office="office@peeters.be", language=lang, public_url=PORTAL,
        branding=BRANDING),
    "signing-cancelled": lambda lang: signature_cancelled_mail(
        SignatureCancelled(dossier_id="DOS-1", signature_request_id="sr1",
                           title="Klantenfiche", recipients=[signer(lang)]),
        signer(lang), sender=SENDER, public_url=PORTAL, branding=BRANDING),
    "signing-office": lambda lang: office_completed_mail(
        COMPLETED, sender=SENDER, office="office@peeters.be", language=lang,
        public_url=PORTAL, branding=BRANDING),
    "client-digest": lambda lang: client_digest_mail(
        "d1.client-digest", [HeldItem("Nieuwe documenten <polis>", "DOS-1"),
                             HeldItem("Uw aanvraag is aanvaard", None)],
        name="An Peeters", email="an@example.be", language=lang, day=date(2026, 12, 5),
        sender=SENDER, public_url=PORTAL, at=datetime(2026, 12, 5, 16, tzinfo=UTC),
        branding=BRANDING),
    "registration-pending": lambda lang: registration_pending_mail(
        RegistrationPending(registration_id="g1", user_id="u1", email="an@example.be",
                            display_name="An <Peeters>"),
        sender=SENDER, office="inschrijvingen@peeters.be", language=lang, public_url=PORTAL,
        branding=BRANDING),
    "eid-link-requested": lambda lang: eid_link_requested_mail(
        EidLinkRequested(link_id="k1", email="an@example.be", display_name="An <Peeters>"),
        sender=SENDER, office="inschrijvingen@peeters.be", language=lang, public_url=PORTAL,
        branding=BRANDING),
    "login-deleted": lambda lang: login_deleted_mail(
        LoginDeleted(user_id="u1", display_name="Jan <Peeters>", email="jan@example.be",
                     dossier_ids=["DOS-1"]),
        sender=SENDER, office="office@peeters.be", language=lang, public_url=PORTAL,
        branding=BRANDING),
}
VOID = {"meta", "br", "img", "hr", "link", "input"}


class Page(HTMLParser):
    """The links, images and tag balance of an HTML part."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.links.append(values.get("href") or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
        self.styles.append(values.get("style") or "")
        if values.get("background") is not None:
            self.problems.append(f"background attribute on <{tag}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()


def parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.problems == [] and page.open == []
    return page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(MAILS))
def test_every_mail_renders_as_text_and_well_formed_html_with_links_into_the_portal(
    kind: str, language: Language,
) -> None:
    mail = MAILS[kind](language)
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Content-Language"] == language
    text, html = parts(mail)
    page = parsed(html)
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in html
    for link in page.links:
        assert link.startswith(PORTAL + "/"), link
        assert link in text  # the text part carries the same links
    assert page.images == []  # no logo given: no image at all, never a remote one
    assert not any("url(" in style for style in page.styles)
    for part in (text, html, str(mail["Subject"])):
        assert "%(" not in part and "{{" not in part and "{%" not in part
    # Branded: the office's name, colour and legal mentions in both parts.
    assert "#0b5394" in html
    for shown in ("Verzekeringen Peeters", "012345 A", "BE 0123.456.789", "Kerkstraat 1",
                  "ingeschreven bij de FSMA"):
        assert shown in text and shown in html


@pytest.mark.parametrize("kind", sorted(MAILS))
def test_each_mail_has_one_call_to_action_into_the_portal_and_says_it_in_the_text(
    kind: str,
) -> None:
    text, html = parts(MAILS[kind]("nl"))
    links = parsed(html).links
    if kind == "registration-refused":  # no account: nothing to open
        assert links == [] and PORTAL not in text
        return
    assert links, "a mail with nothing to click"
    assert links[-1] in text


@pytest.mark.parametrize(("kind", "words"), [
    ("invitation", {"nl": "Beste An <Peeters>", "fr": "Bonjour An <Peeters>",
                    "en": "Dear An <Peeters>"}),
    ("request-update", {"nl": "De status van uw aanvraag is nu: geweigerd.",
                        "fr": "Le statut de votre demande est maintenant : refusée.",
                        "en": "The status of your request is now: refused."}),
    ("signing-request", {"nl": "Gelieve te ondertekenen voor 24 dec 2026.",
                         "fr": "Merci de signer avant le 24 déc. 2026.",
                         "en": "Please sign before 24 Dec 2026."}),
    ("invitation", {"nl": "geldig tot 12 nov 2026, 23:30", "fr": "jusqu'au 12 nov. 2026",
                    "en": "valid until 12 Nov 2026, 23:30"}),
])
def test_texts_dates_and_times_are_in_the_readers_language(
    kind: str, words: dict[str, str],
) -> None:
    for language, expected in words.items():
        text, _html = parts(MAILS[kind](language))  # type: ignore[arg-type]
        assert expected in text.replace("\u202f", " ").replace("\xa0", " ")


def test_the_office_hears_of_a_refusal_but_never_its_reason() -> None:
    mail = MAILS["signing-refused"]("nl")
    text, html = parts(mail)
    assert "Pieter Dupont" in text and "Polis &lt;BA&gt;" in html
    assert "adres klopt niet" not in text + html + str(mail["Subject"])


def test_what_people_typed_is_escaped_in_the_html_and_left_as_is_in_the_text() -> None:
    mail = MAILS["registration-refused"]("nl")
    text, html = parts(mail)
    assert "Geen klant <meer>" in text and "Geen klant &lt;meer&gt;" in html
    assert "An &lt;Peeters&gt;" in html and "<Peeters>" not in html
    assert "Verzekeringen Peeters &amp; Zonen" in html
    signing_text, signing_html = parts(MAILS["signing-request"]("fr"))
    assert "Klantenfiche <2026>" in signing_text and "&lt;2026&gt;" in signing_html
    assert str(MAILS["signing-request"]("fr")["Subject"]).endswith("Klantenfiche <2026>")


def test_the_logo_is_an_inline_part_of_the_html_never_a_remote_image() -> None:
    branding = Branding.from_settings(OFFICE, logo=PNG)
    mail = client_sheet_mail("k.client-sheet-due", "D1", Recipient(
        user_id="u1", email="an@example.be", display_name="An", language="fr"),
        sender=SENDER, public_url=PORTAL, at=T0, branding=branding)
    alternative = list(mail.iter_parts())
    assert [part.get_content_type() for part in alternative] == [
        "text/plain", "multipart/related"]
    html_part, logo = list(alternative[1].iter_parts())
    assert html_part.get_content_type() == "text/html"
    assert logo.get_content_type() == "image/png" and logo["Content-ID"] == f"<{LOGO_CID}>"
    assert logo.get_content() == PNG
    assert parsed(str(html_part.get_content())).images == [f"cid:{LOGO_CID}"]


def test_a_logo_that_is_no_image_and_a_colour_that_is_no_colour_are_left_out() -> None:
    office = OFFICE.model_copy(update={"colours": OfficeColours(
        primary="red;background:url(https://evil.example/x)", accent="#7a4100")})
    branding = Branding.from_settings(office, logo=b"<svg onload=alert(1)>")
    assert branding.logo is None and branding.primary == "#1f4e79"


def test_an_office_without_settings_signs_as_the_insurance_broker_in_the_readers_language() -> None:
    source = OfficeBrandingSource()
    mail = password_changed_mail(PasswordChanged(**person(
        "fr", user_id="u1", how="change")), sender=SENDER, public_url=PORTAL,
        branding=source.branding())
    text, html = parts(mail)
    assert "Votre courtier en assurances" in text and "FSMA" not in text
    parsed(html)


def test_the_branding_follows_the_latest_office_settings() -> None:
    current = [OfficeSettingsPublic()]
    source = OfficeBrandingSource(settings=lambda: current[-1])
    assert source.branding().name == ""
    current.append(OFFICE)
    assert source.branding().name == "Verzekeringen Peeters & Zonen"
    assert source.branding() is source.branding()  # not rebuilt for every mail


def test_the_language_is_the_persons_then_the_accounts_then_the_offices() -> None:
    assert resolve_language("fr", "en", default="nl") == "fr"
    assert resolve_language(None, "en", default="nl") == "en"
    assert resolve_language(None, "", default="fr") == "fr"
    assert resolve_language("fr-BE", default="nl") == "fr"


def test_an_unknown_language_gets_the_offices_and_is_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        assert resolve_language("de", "en", default="fr", event_id="e1") == "fr"
    assert any(entry.get("language") == "de" and entry.get("used") == "fr" for entry in logs)
    mail = MAILS["invitation"]("de")  # type: ignore[arg-type]
    assert parts(mail)[0].startswith("Beste")  # the office's default: Dutch


def test_a_missing_variable_fails_the_rendering() -> None:
    with pytest.raises(UndefinedError):
        renderer().render("invitation", "nl", BRANDING, PORTAL, {"name": "An"})


@pytest.mark.parametrize(("kind", "words"), [
    ("registration-pending", {"nl": "wacht op uw goedkeuring",
                              "fr": "attend votre approbation",
                              "en": "awaits your approval"}),
    ("eid-link-requested", {"nl": "eID-kaart te koppelen aan het account van an@example.be",
                            "fr": "lier sa carte eID au compte de an@example.be",
                            "en": "link their eID card to the account of an@example.be"}),
])
def test_the_office_is_told_who_waits_for_its_decision_with_a_link_to_the_admin_pages(
    kind: str, words: dict[str, str],
) -> None:
    for language, expected in words.items():
        mail = MAILS[kind](language)  # type: ignore[arg-type]
        text, html = parts(mail)
        assert expected in text and "An <Peeters>" in text and "An &lt;Peeters&gt;" in html
        assert f"{PORTAL}/admin" in text and parsed(html).links == [f"{PORTAL}/admin"]
        assert mail["To"] == "inschrijvingen@peeters.be"
        assert mail["Message-ID"].endswith(f".{kind}@mybroker>")


def test_office_mails_go_to_the_purposes_address_else_the_general_else_the_configured() -> None:
    current = [OfficeSettingsPublic()]
    source = OfficeBrandingSource(settings=lambda: current[-1])
    assert source.office_address("registrations", "office@x.be") == "office@x.be"
    current.append(OFFICE.model_copy(update={"addresses": OfficeAddresses(
        general="info@peeters.be")}))
    assert source.office_address("registrations", "office@x.be") == "info@peeters.be"
    current.append(OFFICE.model_copy(update={"addresses": OfficeAddresses(
        general="info@peeters.be", registrations="nieuw@peeters.be")}))
    assert source.office_address("registrations", "office@x.be") == "nieuw@peeters.be"
