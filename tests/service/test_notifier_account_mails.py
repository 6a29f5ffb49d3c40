"""The notifier mails the password-reset link and the "password changed" notice, once each."""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
)
from libs.contracts.lockout import LoginLockedOut
from services.notifier.main import NotifierService
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    PUBLIC_URL,
    MailSink,
    mail_sink,
    publish,
    service,
    smtp_port,
)


def reset_requested(language: str = "nl") -> PasswordResetRequested:
    return PasswordResetRequested(
        reset_id="r1", user_id="u1", email="an@example.be", display_name="An Peeters",
        language=language, reset_token="reset-secret",
        expires_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))


def body_of(sink: MailSink, index: int = 0) -> str:
    part = sink.mails[index].get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


@pytest.mark.parametrize(("language", "subject", "valid_until"), [
    ("nl", "Een nieuw wachtwoord voor MyBroker", "geldig tot 1 mrt 2025, 10:30"),
    ("fr", "Un nouveau mot de passe pour MyBroker", "valable jusqu'au 1 mars 2025, 10:30"),
    ("en", "A new password for MyBroker", "valid until 1 Mar 2025, 10:30"),
])
async def test_the_client_receives_the_reset_link_in_their_language(
    service: NotifierService, mail_sink: MailSink, language: str, subject: str,
    valid_until: str,
) -> None:
    event = reset_requested(language)
    await publish(service.runtime.broker, event)
    assert mail_sink.recipients == [["an@example.be"]]
    assert mail_sink.mails[0]["Subject"] == subject
    assert mail_sink.mails[0]["Message-ID"] == f"<{event.event_id}.password-reset@mybroker>"
    content = body_of(mail_sink)
    assert f"{PUBLIC_URL}/reset-password?token=reset-secret" in content
    assert valid_until in content  # Brussels time


async def test_the_reset_link_is_mailed_once_however_often_the_event_comes(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    event = reset_requested()
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)
    assert len(mail_sink.mails) == 1


async def test_the_owner_is_warned_when_the_password_changed(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    await publish(service.runtime.broker, PasswordChanged(
        user_id="u1", email="an@example.be", display_name="An Peeters", language="fr",
        how="change", occurred_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert mail_sink.mails[0]["Subject"] == "Votre mot de passe MyBroker a été modifié"
    assert f"{PUBLIC_URL}/forgot-password" in body_of(mail_sink)


# --- self-registration ------------------------------------------------------------------------


async def test_a_registered_person_receives_the_confirmation_link(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    event = RegistrationConfirmationRequested(
        registration_id="g1", email="lotte@example.be", display_name="Lotte Maes",
        language="en", confirmation_token="confirm-secret",
        expires_at=datetime(2025, 3, 2, 9, 0, tzinfo=UTC))
    await publish(service.runtime.broker, event)
    assert mail_sink.mails[0]["Subject"] == "Confirm your registration with MyBroker"
    assert f"{PUBLIC_URL}/register/confirm?token=confirm-secret" in body_of(mail_sink)


async def test_an_approved_client_is_mailed_the_login_link(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    await publish(service.runtime.broker, RegistrationDecided(
        registration_id="g1", user_id="u1", email="lotte@example.be",
        display_name="Lotte Maes", language="nl", approved=True))
    assert mail_sink.mails[0]["Subject"] == "Uw toegang tot MyBroker is goedgekeurd"
    assert f"{PUBLIC_URL}/login" in body_of(mail_sink)


async def test_a_refused_client_is_mailed_the_reason(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    await publish(service.runtime.broker, RegistrationDecided(
        registration_id="g1", user_id="u1", email="lotte@example.be",
        display_name="Lotte Maes", language="fr", approved=False,
        reason="Nous ne vous connaissons pas comme client."))
    assert mail_sink.mails[0]["Subject"] == "Votre inscription à MyBroker"
    assert "Nous ne vous connaissons pas comme client." in body_of(mail_sink)


async def test_a_client_is_told_their_eid_now_logs_in(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    await publish(service.runtime.broker, EidLinked(
        link_id="l1", user_id="u1", email="lotte@example.be", display_name="Lotte Maes",
        language="nl"))
    assert mail_sink.mails[0]["Subject"] == "Uw eID is gekoppeld aan MyBroker"
    assert f"{PUBLIC_URL}/eid" in body_of(mail_sink)


async def test_a_card_holder_is_told_the_eid_link_was_refused_and_why(
    service: NotifierService, mail_sink: MailSink,
) -> None:
    await publish(service.runtime.broker, EidLinkRefused(
        link_id="l1", email="lotte@example.be", display_name="Lotte Maes", language="nl",
        reason="Dit adres kennen we niet."))
    assert mail_sink.mails[0]["Subject"] == "Uw eID werd niet gekoppeld aan MyBroker"
    assert "Dit adres kennen we niet." in body_of(mail_sink)


# --- lockout ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "subject", "valid_until"), [
    ("nl", "Aanmelden op MyBroker tijdelijk geblokkeerd", "geldig tot 1 mrt 2025, 10:30"),
    ("fr", "Connexion à MyBroker temporairement bloquée", "valable jusqu'au 1 mars 2025, 10:30"),
    ("en", "Signing in to MyBroker is paused for a while", "valid until 1 Mar 2025, 10:30"),
])
async def test_the_owner_of_a_locked_address_is_mailed_the_unlock_link_once(
    service: NotifierService, mail_sink: MailSink, language: str, subject: str,
    valid_until: str,
) -> None:
    event = LoginLockedOut(
        unlock_id="k1", user_id="u1", email="an@example.be", display_name="An Peeters",
        language=language, unlock_token="unlock-secret",
        expires_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)  # a redelivery
    assert mail_sink.recipients == [["an@example.be"]]
    assert mail_sink.mails[0]["Subject"] == subject
    assert mail_sink.mails[0]["Message-ID"] == f"<{event.event_id}.login-locked@mybroker>"
    content = body_of(mail_sink)
    assert f"{PUBLIC_URL}/unlock?token=unlock-secret" in content
    assert f"{PUBLIC_URL}/forgot-password" in content
    assert valid_until in content  # Brussels time
