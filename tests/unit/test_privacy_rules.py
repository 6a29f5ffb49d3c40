"""Retention rules and the erasure's helpers: what expires when, what an erasure matches, what
the access log records of a staff request."""

from datetime import UTC, datetime, timedelta

import pytest
from starlette.routing import Route

from gateway.access_log import StaffReadBuffer, staff_read_of
from gateway.web.privacy_pages import read_label
from libs.contracts.auth import AccessClaims
from libs.contracts.caller import Role
from libs.contracts.envelope import Event
from libs.contracts.privacy import LoginDeleted, StaffRead, StaffReadsRecorded
from libs.servicekit.erasure import mentions
from libs.servicekit.retention import COMMON_RULES, RetentionRule, effective_days, expired_query
from services.auth.privacy.erasure import RETENTION_RULES as AUTH_RULES
from services.dossier.privacy_erasure import RETENTION_RULES as DOSSIER_RULES
from services.notifier.privacy_erasure import login_deleted_mail

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REFUSED = next(rule for rule in AUTH_RULES if rule.data_class == "refused_registrations")


def test_a_refused_registration_expires_thirty_days_after_it_was_made_by_default() -> None:
    query = expired_query(REFUSED, NOW, {})
    assert query == {"status": "refused", "created_at": {"$lt": NOW - timedelta(days=30)}}


def test_the_office_can_keep_a_data_class_longer_or_shorter() -> None:
    assert effective_days(REFUSED, {"refused_registrations": 90}) == 90
    assert expired_query(REFUSED, NOW, {"refused_registrations": 7})["created_at"] == {
        "$lt": NOW - timedelta(days=7)}
    assert effective_days(REFUSED, {"access_log": 5}) == 30  # another class: the default


def test_a_retention_of_less_than_a_day_is_refused() -> None:
    with pytest.raises(ValueError, match="refused_registrations"):
        effective_days(REFUSED, {"refused_registrations": 0})


def test_every_retention_rule_states_its_legal_basis_and_a_positive_default() -> None:
    rules: tuple[RetentionRule, ...] = (*COMMON_RULES, *AUTH_RULES, *DOSSIER_RULES)
    assert {rule.data_class for rule in rules} >= {
        "refused_registrations", "expired_invitations", "access_log", "audit_log",
        "erasure_reports", "handled_events_log"}
    assert all(rule.days >= 1 and "GDPR" in rule.legal_basis for rule in rules)


def test_the_access_log_is_kept_two_years_and_the_audit_log_seven() -> None:
    days = {rule.data_class: rule.days for rule in AUTH_RULES}
    assert (days["access_log"], days["audit_log"]) == (730, 2555)


def test_an_erasure_matches_the_dossier_id_as_a_whole_not_inside_a_longer_one() -> None:
    assert mentions({"slot": "open:DOS-1:kantoor@x.be"}, "DOS-1")
    assert mentions({"_id": "user|DOS-1|claim"}, "DOS-1")
    assert mentions({"items": ["a", {"dossier": "DOS-1"}]}, "DOS-1")
    assert not mentions({"dossier_id": "DOS-10"}, "DOS-1")
    assert not mentions({"dossier_id": "XDOS-1"}, "DOS-1")


def _claims(role: Role) -> AccessClaims:
    return AccessClaims(sub="u1", sid="s1", role=role, email="els@kantoor.be",
                        name="Els Janssens", iat=0, exp=1)


def test_a_staff_read_names_the_route_its_dossier_and_object() -> None:
    route = Route("/admin/dossiers/{dossier_id}/documents/{document_id}", endpoint=lambda: None)
    scope = {"route": route, "path_params": {"dossier_id": "DOS-1", "document_id": "d9"},
             "client": ("10.0.0.5", 1234), "state": {}}
    read = staff_read_of(scope, _claims(Role.AGENT))
    assert (read.staff_name, read.dossier_id, read.object_id, read.client_ip) == (
        "Els Janssens", "DOS-1", "d9", "10.0.0.5")
    assert read.route_kind == "/admin/dossiers/{dossier_id}/documents/{document_id}"
    assert read_label(read.route_kind) == "Viewed a document"
    assert read_label(read.route_kind + "/file") == "Downloaded a document"
    assert read_label("/admin/api/v1/dossiers") == "Viewed a list"


async def test_buffered_reads_go_out_in_one_event_and_wait_while_the_bus_is_away() -> None:
    published: list[Event] = []
    away = True

    async def publish(event: Event) -> None:
        if away:
            raise ConnectionError("bus away")
        published.append(event)

    buffer = StaffReadBuffer(publish)
    for number in range(3):
        buffer.add(StaffRead(read_id=str(number), at=NOW, staff_id="u1", staff_name="Els",
                             route_kind="/admin"))
    with pytest.raises(ConnectionError):
        await buffer.flush()
    assert len(buffer) == 3  # kept for the next round
    away = False
    assert await buffer.flush() == 3
    [event] = published
    assert isinstance(event, StaffReadsRecorded)
    assert [read.read_id for read in event.reads] == ["0", "1", "2"]


def test_the_office_is_told_in_its_language_who_deleted_their_login() -> None:
    event = LoginDeleted(user_id="u1", display_name="Jan Peeters", email="jan@example.be",
                         dossier_ids=["DOS-1", "DOS-2"])
    mail = login_deleted_mail(event, sender="noreply@mybroker.example",
                              office="kantoor@mybroker.example", language="fr",
                              public_url="https://portal.example")
    plain = mail.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    assert mail["To"] == "kantoor@mybroker.example"
    assert mail["Subject"] == "Un client a supprimé son accès à MyBroker"
    assert "Jan Peeters (jan@example.be)" in body and "DOS-1, DOS-2" in body
    assert mail["Message-ID"] == f"<{event.event_id}.login-deleted@mybroker>"


def test_a_moment_stored_as_epoch_milliseconds_or_iso_text_is_compared_in_that_form() -> None:
    from services.notifier.privacy_erasure import RETENTION_RULES as NOTIFIER_RULES
    from services.signing.privacy_erasure import RETENTION_RULES as SIGNING_RULES

    rules = {rule.data_class: rule for rule in (*SIGNING_RULES, *NOTIFIER_RULES, *AUTH_RULES)}
    cutoff = NOW - timedelta(days=1)
    assert expired_query(rules["mobile_codes_sent"], NOW, {}) == {
        "at_ms": {"$lt": int(cutoff.timestamp() * 1000)}}
    assert expired_query(rules["mobile_challenges"], NOW, {}) == {
        "expires_at": {"$lt": "2026-02-28T12:00:00Z"}}
    assert expired_query(rules["sms_rate_windows"], NOW, {"sms_rate_windows": 3}) == {
        "kept.forget_at": {"$lt": NOW - timedelta(days=3)}}
    assert all(rule.days >= 1 and "GDPR" in rule.legal_basis for rule in rules.values())
    with pytest.raises(ValueError, match="stored_as"):
        RetentionRule("x", "c", "at", 1, "GDPR", stored_as="seconds")
