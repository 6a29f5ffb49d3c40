"""The signing mails: the signer's link leads into the portal to the document's signature page,
in their language; a reminder says so; the office hears when everyone signed."""

from datetime import date
from email.message import EmailMessage

from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
    SignerRecipient,
)
from services.notifier.signing_mails import (
    office_completed_mail,
    office_refused_mail,
    signature_cancelled_mail,
    signature_completed_mail,
    signer_invited_mail,
)


def plain_text(mail: EmailMessage) -> str:
    """The mail's plain-text part (the HTML part says the same)."""
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())

AN = SignerRecipient(user_id="u-an", email="an@example.be", display_name="An Peeters",
                     language="fr")
PIETER = SignerRecipient(user_id="u-p", email="pieter@example.be", display_name="Pieter Dupont")
INVITED = SignerInvited(dossier_id="DOS-1", signature_request_id="r1", document_id="d1",
                        title="Klantenfiche", note="Graag vóór vrijdag", person_id="P1",
                        due_date=date(2026, 12, 24), recipients=[PIETER, AN])


def test_the_signer_is_asked_to_sign_with_a_link_to_the_document_in_its_dossier() -> None:
    mail = signer_invited_mail(INVITED, PIETER, sender="no-reply@mybroker.example",
                               public_url="https://mybroker.example/")
    body = plain_text(mail)
    assert mail["Subject"] == "Document te ondertekenen in MyBroker: Klantenfiche"
    assert "https://mybroker.example/signing/r1?dossier=DOS-1" in body
    assert "Graag vóór vrijdag" in body and "24 dec 2026" in body
    assert mail["To"] == "Pieter Dupont <pieter@example.be>"


def test_each_account_gets_its_own_mail_in_its_language_and_a_reminder_says_so() -> None:
    first = signer_invited_mail(INVITED, AN, sender="s@x", public_url="https://m")
    reminder = signer_invited_mail(INVITED.model_copy(update={"reminder": 1}), AN,
                                   sender="s@x", public_url="https://m")
    assert first["Subject"] == "Document à signer dans MyBroker : Klantenfiche"
    assert reminder["Subject"].startswith("Rappel : ")
    other = signer_invited_mail(INVITED, PIETER, sender="s@x", public_url="https://m")
    assert len({first["Message-ID"], reminder["Message-ID"], other["Message-ID"]}) == 3


def test_signers_and_the_office_hear_that_everyone_signed() -> None:
    event = SignatureCompleted(dossier_id="DOS-1", signature_request_id="r1",
                               title="Klantenfiche", signed_document_id="d2",
                               recipients=[PIETER])
    signer = signature_completed_mail(event, PIETER, sender="s@x", public_url="https://m")
    assert "in afwachting van verdere behandeling" in plain_text(signer)
    office = office_completed_mail(event, sender="s@x", office="kantoor@x", language="nl",
                                   public_url="https://m")
    assert office["To"] == "kantoor@x" and "DOS-1" in office["Subject"]
    assert "https://m/admin/signing" in plain_text(office)


def test_the_office_hears_who_refused_which_document_but_not_why() -> None:
    event = SignatureRefused(dossier_id="DOS-1", signature_request_id="r1", title="Polis BA",
                             person_id="P1", signer_name="Pieter Dupont",
                             reason="Het adres klopt niet")
    mail = office_refused_mail(event, sender="s@x", office="kantoor@x", language="nl",
                               public_url="https://m/")
    body = plain_text(mail)
    assert mail["To"] == "kantoor@x"
    assert mail["Subject"] == "Ondertekening geweigerd: Polis BA (dossier DOS-1)"
    assert "Pieter Dupont" in body and "Polis BA" in body
    assert "adres klopt niet" not in body and "adres klopt niet" not in mail["Subject"]
    assert "https://m/admin/signing?state=refused" in body
    again = office_refused_mail(event, sender="s@x", office="kantoor@x", language="en",
                                public_url="https://m/")
    assert again["Message-ID"] == mail["Message-ID"]  # the same event: one mail, not two
    assert again["Subject"].startswith("Signature refused: ")


def test_each_unsigned_signer_hears_of_a_cancellation_in_their_language() -> None:
    event = SignatureCancelled(dossier_id="DOS-1", signature_request_id="r1",
                               title="Klantenfiche", recipients=[PIETER, AN])
    dutch = signature_cancelled_mail(event, PIETER, sender="s@x", public_url="https://m")
    french = signature_cancelled_mail(event, AN, sender="s@x", public_url="https://m")
    assert dutch["To"] == "Pieter Dupont <pieter@example.be>"
    assert dutch["Subject"] == "Ondertekening geannuleerd: Klantenfiche"
    assert "niet meer te ondertekenen" in plain_text(dutch)
    assert french["Subject"] == "Signature annulée : Klantenfiche"
    assert dutch["Message-ID"] != french["Message-ID"]
    assert event.event_id in dutch["Message-ID"] and PIETER.user_id in dutch["Message-ID"]
