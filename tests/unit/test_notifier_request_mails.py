"""The mails about requests: the office's per-kind address, the client's news coalesced per
request (a status that flips back tells nothing), in the client's language, with one link."""

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from itertools import pairwise

import pytest

from services.notifier.config import NotifierSettings
from services.notifier.deliveries import mail_id_of
from services.notifier.office_digest import digest_mail, reply_item
from services.notifier.request_mails import (
    ClientUpdate,
    Recipient,
    RequestFacts,
    answer_item,
    client_sheet_mail,
    client_sheet_mail_key,
    client_update,
    request_update_mail,
    status_item,
)


def plain_text(mail: EmailMessage) -> str:
    """The mail's plain-text part (the HTML part says the same)."""
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())

T0 = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
AN = Recipient(user_id="u-an", email="an@example.be", display_name="An Peeters", language="nl")
FACTS = RequestFacts(request_id="r1", dossier_id="DOS-2019-00417", kind="claim",
                     subject="Waterschade keuken", sent_at=T0 - timedelta(days=2))
SENDER = "MyBroker <no-reply@mybroker.local>"


def flips(*statuses: str) -> list[str]:
    """Status changes one after the other, 10 s apart: pending -> a -> b ..."""
    return [status_item(f"e{number}", T0 + timedelta(seconds=10 * number), old, new)
            for number, (old, new) in enumerate(pairwise(statuses))]


def test_a_status_that_flips_back_within_the_window_tells_nothing() -> None:
    update = client_update(flips("pending", "in_progress", "pending"))
    assert update == ClientUpdate(answers=0, status=None)
    assert not update.worth_a_mail


def test_a_status_that_moves_on_tells_only_the_latest_state() -> None:
    update = client_update(flips("pending", "in_progress", "pending", "in_progress",
                                 "accepted"))
    assert update == ClientUpdate(answers=0, status="accepted")
    assert update.worth_a_mail


def test_the_changes_count_in_the_order_they_happened_not_the_order_they_arrived() -> None:
    lines = flips("pending", "in_progress", "refused")
    assert client_update(list(reversed(lines))).status == "refused"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_changes_of_the_same_millisecond_are_chained_whatever_their_ids(
    order: tuple[int, int],
) -> None:
    lines = [status_item("b", T0, "pending", "in_progress"),
             status_item("a", T0, "in_progress", "refused")]
    assert client_update([lines[i] for i in order]).status == "refused"
    back = [status_item("b", T0, "pending", "in_progress"),
            status_item("a", T0, "in_progress", "pending")]
    assert client_update([back[i] for i in order]).status is None


def test_an_answer_is_news_even_when_the_status_came_back() -> None:
    lines = [*flips("pending", "in_progress", "pending"), answer_item("e9", T0)]
    assert client_update(lines) == ClientUpdate(answers=1, status=None)


def test_the_same_event_always_gives_the_same_line() -> None:
    assert status_item("e1", T0, "pending", "accepted") == status_item(
        "e1", T0, "pending", "accepted")
    assert answer_item("e2", T0) == answer_item("e2", T0)


def test_claims_go_to_the_claims_desk_and_other_kinds_to_the_office() -> None:
    settings = NotifierSettings(office_email="office@broker.be",
                                office_addresses={"claim": "claims@broker.be"})
    assert settings.office_address("claim") == "claims@broker.be"
    assert settings.office_address("message") == "office@broker.be"
    assert settings.office_address("address") == "office@broker.be"


def test_the_office_addresses_come_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYBROKER_NOTIFIER_OFFICE_ADDRESSES",
                       '{"claim": "schade@broker.be", "personal_data": "admin@broker.be"}')
    settings = NotifierSettings()
    assert settings.office_address("claim") == "schade@broker.be"
    assert settings.office_address("personal_data") == "admin@broker.be"


def update_mail(update: ClientUpdate, recipient: Recipient = AN) -> str:
    mail = request_update_mail("w1.request-update", FACTS, update, recipient, sender=SENDER,
                               public_url="https://portal.broker.be/", at=T0)
    content: str = plain_text(mail)
    return content


def test_the_client_mail_names_the_request_and_its_new_status_and_links_to_it() -> None:
    mail = request_update_mail("w1.request-update", FACTS, ClientUpdate(answers=0,
                               status="accepted"), AN, sender=SENDER,
                               public_url="https://portal.broker.be/", at=T0)
    assert str(mail["Subject"]) == "Nieuws over uw aanvraag: Waterschade keuken"
    assert str(mail["To"]) == "An Peeters <an@example.be>"
    assert mail["Message-ID"] == "<w1.request-update@mybroker>"
    assert mail_id_of(str(mail["Message-ID"])) == "w1.request-update"
    content = plain_text(mail)
    assert content.startswith("Beste An Peeters")
    assert "Schade aangifte: Waterschade keuken" in content
    assert "Verstuurd op 10 nov 2026" in content
    assert "De status van uw aanvraag is nu: aanvaard." in content
    assert ("https://portal.broker.be/requests/r1?dossier=DOS-2019-00417" in content)
    assert content.count("https://") == 1


@pytest.mark.parametrize(("language", "words"), [
    ("fr", ["Bonjour An Peeters", "Déclaration de sinistre", "Votre courtier vous a répondu.",
            "en traitement"]),
    ("en", ["Dear An Peeters", "Claim declaration", "Your broker answered you.",
            "in progress"]),
    ("de", ["Beste An Peeters", "Schade aangifte", "Uw makelaar heeft u geantwoord.",
            "in behandeling"]),  # a language the portal has no texts for: the office's NL
])
def test_the_client_mail_is_in_the_clients_language(language: str, words: list[str]) -> None:
    recipient = Recipient(user_id="u-an", email="an@example.be", display_name="An Peeters",
                          language=language)
    content = update_mail(ClientUpdate(answers=1, status="in_progress"), recipient)
    for word in words:
        assert word in content


def test_a_refusal_says_where_to_read_the_reason_but_not_the_reason() -> None:
    content = update_mail(ClientUpdate(answers=0, status="refused"))
    assert "geweigerd" in content
    assert "De reden leest u in MyBroker." in content


def test_a_form_without_subject_is_named_by_its_kind() -> None:
    mail = request_update_mail(
        "w2.request-update", RequestFacts(request_id="r2", dossier_id="D1", kind="address",
                                          subject="", sent_at=None),
        ClientUpdate(answers=2, status=None), AN, sender=SENDER, public_url="http://h", at=T0)
    assert str(mail["Subject"]) == "Nieuws over uw aanvraag: Adres wijzigen"
    assert "Uw makelaar heeft u 2 keer geantwoord." in plain_text(mail)


def test_the_office_mail_of_a_claim_names_its_kind_sender_and_links_to_the_desk() -> None:
    line = reply_item("e5", "claim", "Waterschade keuken", T0, request_id="r1",
                      author_name="An Peeters")
    mail = digest_mail("e5.client-reply", "D-001", [line], sender=SENDER,
                       office="claims@broker.be", public_url="http://h", language="nl")
    assert str(mail["Subject"]) == (
        "Nieuw antwoord van de klant in dossier D-001: Waterschade keuken")
    assert str(mail["To"]) == "claims@broker.be"
    content = plain_text(mail)
    assert "Soort: Schade aangifte" in content
    assert "Van: An Peeters" in content
    assert "http://h/admin/desk/r1" in content


def test_a_digest_lists_replies_and_requests_with_their_kinds() -> None:
    lines = [reply_item("e5", "claim", "Waterschade", T0, request_id="r1", author_name="An"),
             reply_item("e6", "message", "Vraag", T0 + timedelta(seconds=5), request_id="r2",
                        author_name="Luc")]
    mail = digest_mail("d1.office-digest", "D-001", lines, sender=SENDER,
                       office="office@broker.be", public_url="http://h", language="en")
    assert str(mail["Subject"]) == "2 new replies from clients in dossier D-001"
    content = plain_text(mail)
    assert "Claim declaration: Waterschade (reply) · An\n  http://h/admin/desk/r1" in content
    assert "http://h/admin/desk/r2" in content
    assert "http://h/admin/desk?dossier_id=D-001" in content


def test_the_client_sheet_reminder_has_one_id_per_dossier_period_and_client() -> None:
    key = client_sheet_mail_key("DOS.1", date(2026, 12, 1), "u-an")
    assert key == client_sheet_mail_key("DOS.1", date(2026, 12, 1), "u-an")
    assert key.endswith(".client-sheet-due") and key.count(".") == 1
    assert key != client_sheet_mail_key("DOS.1", date(2027, 12, 1), "u-an")
    assert key != client_sheet_mail_key("DOS.1", date(2026, 12, 1), "u-luc")


def test_the_client_sheet_reminder_links_to_the_dossiers_sheet_in_the_clients_language() -> None:
    luc = Recipient(user_id="u-luc", email="luc@example.be", display_name="Luc Peeters",
                    language="fr")
    mail = client_sheet_mail("k.client-sheet-due", "DOS-2019-00417", luc, sender=SENDER,
                             public_url="http://h", at=T0)
    assert str(mail["Subject"]) == "Votre fiche client chez votre courtier en assurances"
    assert "http://h/client-sheet?dossier=DOS-2019-00417" in plain_text(mail)
