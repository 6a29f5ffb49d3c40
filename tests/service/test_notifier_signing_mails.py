"""The notifier's signing mails through the bus: a refusal tells the office who refused which
document (not why), a cancellation each account of a signer who had not signed; a redelivered
event mails nobody twice."""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

from libs.contracts.signing import SignatureCancelled, SignatureRefused, SignerRecipient
from services.notifier.main import NotifierService
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    mail_sink,
    publish,
    service,
    smtp_port,
)

AN = SignerRecipient(user_id="u-an", email="an@example.be", display_name="An Peeters",
                     language="fr")
PIETER = SignerRecipient(user_id="u-p", email="pieter@example.be", display_name="Pieter Dupont")


async def test_a_refusal_mails_the_office_once_without_the_reason(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    event = SignatureRefused(dossier_id="D1", signature_request_id="r1", title="Polis BA",
                             person_id="P1", signer_name="Pieter Dupont",
                             reason="Mijn adres is fout")
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)
    assert mail_sink.recipients == [["office@broker.test"]]
    [mail] = mail_sink.mails
    assert mail["Subject"] == "Ondertekening geweigerd: Polis BA (dossier D1)"
    assert "adres is fout" not in mail.as_string()
    assert "Pieter Dupont" in mail.as_string()


async def test_a_cancellation_mails_each_account_still_to_sign_once(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    event = SignatureCancelled(dossier_id="D1", signature_request_id="r1", title="Polis BA",
                               recipients=[PIETER, AN, PIETER])
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)
    assert sorted(mail_sink.recipients) == [["an@example.be"], ["pieter@example.be"]]
    subjects = sorted(str(mail["Subject"]) for mail in mail_sink.mails)
    assert subjects == ["Ondertekening geannuleerd: Polis BA", "Signature annulée : Polis BA"]
