"""Rules of the signing service: each signer's state and order, the audit trail's hash chain
(one changed byte anywhere is found), the evidence page, the sealed PDF and its check."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto.x509 import Certificate
from pypdf import PdfReader

from deploy.local.demo_pdf import text_pdf
from libs.contracts.envelope import office_day
from libs.contracts.signing import (
    AuditKind,
    AuditRecord,
    AuditTrail,
    RequestState,
    SignatureMethod,
    SignerRecipient,
    SignerState,
    SigningEvidence,
)
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid
from services.signing import domain
from services.signing.domain import SignatureRequest, Signer, SigningPolicy
from services.signing.seal_certificates import make_demo_seal
from services.signing.sealing import Seal, check_pdf, seal_pdf, trust_roots
from services.signing.verify import check_trail
from services.signing.verify import main as verify_main

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
POLICY = SigningPolicy(reauthenticate_after=timedelta(minutes=15))
EVIDENCE = SigningEvidence(client_ip="192.0.2.10", device="Firefox on Windows")


def request(*, ordered: bool = False, signers: int = 2) -> SignatureRequest:
    return SignatureRequest(
        request_id="r1", dossier_id="D1", document_id="doc1", title="Klantenfiche",
        document_sha256="a" * 64, original_sha256="a" * 64, ordered=ordered,
        requested_by="staff1", requested_at=NOW,
        signers=[Signer(person_id=f"P{i}", name=f"Signer {i}", order=i, recipients=[
            SignerRecipient(user_id=f"u{i}", email=f"s{i}@example.be", display_name="S")])
            for i in range(1, signers + 1)])


def sign(req: SignatureRequest, index: int, **changes: object) -> None:
    arguments: dict[str, object] = {
        "user_id": f"u{index}", "method": SignatureMethod.CHECKBOX, "approved": True,
        "authenticated_at": NOW - timedelta(minutes=1), "evidence": EVIDENCE, "now": NOW,
        "policy": POLICY}
    arguments.update(changes)
    domain.sign(req, req.signers[index - 1], **arguments)  # type: ignore[arg-type]


def test_every_signer_may_sign_at_once_unless_the_order_is_fixed() -> None:
    free = request()
    assert [s.person_id for s in domain.to_invite(free)] == ["P1", "P2"]
    fixed = request(ordered=True)
    assert [s.person_id for s in domain.to_invite(fixed)] == ["P1"]
    domain.mark_opened(fixed, fixed.signers[1], NOW)  # opened early: still not their turn
    with pytest.raises(Conflict) as early:
        sign(fixed, 2)
    assert early.value.fields == {"reason": "not_your_turn"}
    domain.mark_opened(fixed, fixed.signers[0], NOW)
    sign(fixed, 1)
    assert [s.person_id for s in domain.signers_whose_turn(fixed)] == ["P2"]
    sign(fixed, 2)
    assert fixed.state is RequestState.SEALING


def test_a_signer_goes_from_sent_to_opened_to_signed_and_not_twice() -> None:
    req = request(signers=1)
    signer = req.signers[0]
    with pytest.raises(Invalid):
        sign(req, 1)  # never opened
    assert domain.mark_opened(req, signer, NOW)
    assert not domain.mark_opened(req, signer, NOW + timedelta(minutes=1))  # once
    assert signer.opened_at == NOW
    with pytest.raises(Invalid):
        sign(req, 1, approved=False)
    with pytest.raises(Forbidden):
        sign(req, 1, authenticated_at=NOW - timedelta(hours=1))
    with pytest.raises(Forbidden):
        sign(req, 1, authenticated_at=None)
    sign(req, 1)
    assert signer.state is SignerState.SIGNED and signer.evidence["client_ip"] == "192.0.2.10"
    with pytest.raises(Conflict) as twice:
        sign(req, 1)
    assert twice.value.fields == {"reason": "already_signed"}


def test_a_refusal_cancellation_or_due_date_closes_the_request() -> None:
    refused = request()
    domain.refuse(refused, refused.signers[1], reason="Wrong address", now=NOW)
    assert refused.state is RequestState.REFUSED
    assert not domain.mark_opened(refused, refused.signers[0], NOW)
    with pytest.raises(Gone):
        sign(refused, 1)
    cancelled = request()
    assert domain.cancel(cancelled, NOW) and not domain.cancel(cancelled, NOW)
    overdue = request()
    overdue.due_date = date(2026, 12, 1)
    assert domain.expire(overdue, NOW.date())
    assert [s.state for s in overdue.signers] == [SignerState.EXPIRED, SignerState.EXPIRED]


def test_reminders_come_every_interval_up_to_the_limit() -> None:
    req = request(signers=1)
    req.signers[0].mailed_at = NOW - timedelta(days=3)
    every = timedelta(days=3)
    assert [s.person_id for s in domain.reminders_due(req, NOW, every, 2)] == ["P1"]
    req.signers[0].reminders = 1
    assert domain.reminders_due(req, NOW, every, 2) == []
    assert domain.reminders_due(req, NOW + every, every, 2) != []
    req.signers[0].reminders = 2
    assert domain.reminders_due(req, NOW + 10 * every, every, 2) == []


def trail(count: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for index in range(count):
        records.append(domain.next_record(
            request_id="r1", previous=records[-1] if records else None,
            kind=AuditKind.OPENED if index else AuditKind.REQUESTED,
            at=NOW + timedelta(seconds=index), actor="u1", details={"n": str(index)},
            document_sha256="a" * 64))
    return records


def test_the_chain_of_an_untouched_trail_holds() -> None:
    records = trail(5)
    check = domain.check_chain(records, request_id="r1", document_sha256="a" * 64,
                               head_hash=records[-1].hash)
    assert check.intact and check.records == 5


@pytest.mark.parametrize("field", ["actor", "details", "at", "kind", "document_sha256"])
def test_one_changed_byte_in_any_record_breaks_the_chain(field: str) -> None:
    records = trail(5)
    stored = records[2].model_dump()
    if field == "actor":
        stored["actor"] = "u2"  # one byte
    elif field == "details":
        stored["details"] = {"n": "3"}
    elif field == "at":
        stored["at"] = records[2].at + timedelta(milliseconds=1)
    elif field == "kind":
        stored["kind"] = AuditKind.SIGNED
    else:
        stored["document_sha256"] = "b" + "a" * 63
    records[2] = AuditRecord.model_validate(stored)
    check = domain.check_chain(records, request_id="r1", document_sha256="a" * 64)
    assert not check.intact
    assert "record 3 was changed" in check.problems


def test_a_removed_or_rehashed_record_breaks_the_chain() -> None:
    records = trail(5)
    assert not domain.check_chain([*records[:2], *records[3:]], request_id="r1",
                                  document_sha256="a" * 64).intact
    # A forger who rehashes a changed record still breaks the link of the next one.
    forged = records[1].model_copy(update={"actor": "someone"})
    forged = forged.model_copy(update={"hash": domain.record_hash(
        request_id="r1", seq=2, kind=forged.kind.value, at=forged.at, actor="someone",
        details=forged.details, document_sha256=forged.document_sha256,
        previous_hash=forged.previous_hash)})
    check = domain.check_chain([records[0], forged, *records[2:]], request_id="r1",
                               document_sha256="a" * 64)
    assert check.problems == ["record 3 does not follow record 2"]
    # Dropping the last records is seen against the head the request remembers.
    assert not domain.check_chain(records[:4], request_id="r1", document_sha256="a" * 64,
                                  head_hash=records[-1].hash).intact


def test_a_time_read_back_naive_hashes_like_the_aware_one() -> None:
    record = trail(1)[0]
    naive = record.model_copy(update={"at": record.at.replace(tzinfo=None)})
    assert domain.check_chain([naive], request_id="r1", document_sha256="a" * 64).intact


def signed_request() -> SignatureRequest:
    req = request()
    for index in (1, 2):
        domain.mark_opened(req, req.signers[index - 1], NOW)
        sign(req, index)
    return req


def test_the_evidence_page_names_each_signer_how_when_where_and_the_documents_hash() -> None:
    lines = domain.evidence_lines(signed_request(), audit_head="c" * 64,
                                  sealed_at=NOW + timedelta(minutes=5))
    text = "\n".join(lines)
    assert f"Document SHA-256: {'a' * 64}" in text
    assert "Signer 1: Signer 1" in text and "Signer 2: Signer 2" in text
    assert text.count("Checkbox \"Gelezen en goedgekeurd\" (simple electronic signature)") == 2
    assert text.count("Signed: 2026-12-05 09:00:00 UTC") == 2
    assert "IP address: 192.0.2.10" in text and "Device: Firefox on Windows" in text
    assert f"Audit trail head (SHA-256): {'c' * 64}" in text


@pytest.fixture(scope="module")
def demo() -> tuple[Seal, list[Certificate]]:
    seal = make_demo_seal("unit-test-passphrase")
    return (Seal(pkcs12=seal.seal_pkcs12, passphrase=seal.seal_passphrase),
            trust_roots(seal.ca_pem))


def test_the_sealed_pdf_is_the_original_plus_the_evidence_page_and_checks_out(
    demo: tuple[Seal, list[Certificate]],
) -> None:
    seal, roots = demo
    original = text_pdf("Klantenfiche", ["Naam: Pieter Dupont"])
    lines = domain.evidence_lines(signed_request(), audit_head="c" * 64, sealed_at=NOW)
    sealed = seal_pdf(original, lines, seal)
    assert sealed.startswith(original)  # an incremental update: the original bytes untouched
    reader = PdfReader(BytesIO(sealed))
    assert len(reader.pages) == 2
    evidence = reader.pages[1].extract_text()
    assert "Signature evidence" in evidence and "a" * 64 in evidence.replace("\n", "")
    check = check_pdf(sealed, roots)
    assert check.intact and check.trusted and not check.timestamped  # no TSA configured here
    assert not check_pdf(sealed, []).trusted


@pytest.mark.parametrize("where", ["original", "evidence page", "seal padding", "trailer"])
def test_one_changed_byte_of_the_sealed_pdf_is_caught_by_its_seal(
    demo: tuple[Seal, list[Certificate]], where: str,
) -> None:
    seal, roots = demo
    original = text_pdf("Polis", ["Voorwaarden"])
    sealed = seal_pdf(original, ["Signature evidence"], seal)
    contents = sealed.index(b"/Contents <") + len(b"/Contents <")
    position = {"original": len(original) // 2, "evidence page": len(original) + 40,
                "seal padding": sealed.index(b">", contents) - 10,
                "trailer": len(sealed) - 30}[where]
    changed = bytearray(sealed)
    changed[position] ^= 0x01
    assert not check_pdf(bytes(changed), roots).intact


def test_no_byte_of_the_sealed_pdf_can_change_unseen_by_the_verification(
    demo: tuple[Seal, list[Certificate]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """pyHanko checks the digest and signature; bytes its digest cannot cover (the CMS blob's
    unsigned parts) are caught by the trail, whose completed record holds the PDF's sha256."""
    seal, _ = demo
    demo_ca = tmp_path / "ca.pem"
    demo_ca.write_bytes(make_demo_seal("unused").ca_pem)  # the wrong CA: not trusted
    sealed = seal_pdf(text_pdf("Polis", ["Voorwaarden"]), ["Signature evidence"], seal)
    records = trail(2)
    records.append(domain.next_record(
        request_id="r1", previous=records[-1], kind=AuditKind.COMPLETED, at=NOW,
        actor="service:signing", details={"signed_sha256": hashlib.sha256(sealed).hexdigest()},
        document_sha256="a" * 64))
    (tmp_path / "trail.json").write_text(AuditTrail(records=records).model_dump_json())
    arguments = ["--audit-json", str(tmp_path / "trail.json"), "--no-timestamp"]
    (tmp_path / "sealed.pdf").write_bytes(sealed)
    assert verify_main([str(tmp_path / "sealed.pdf"), *arguments]) == 1  # untrusted CA
    for position in range(0, len(sealed), max(1, len(sealed) // 60)):
        changed = bytearray(sealed)
        changed[position] ^= 0x01
        (tmp_path / "changed.pdf").write_bytes(changed)
        assert verify_main([str(tmp_path / "changed.pdf"), *arguments]) == 1, position
        assert "FAIL: the PDF is not the one" in capsys.readouterr().out


def test_the_trail_must_name_the_pdf_it_completed() -> None:
    records = trail(2)
    completed = domain.next_record(
        request_id="r1", previous=records[-1], kind=AuditKind.COMPLETED, at=NOW,
        actor="service:signing", details={"signed_sha256": hashlib.sha256(b"pdf").hexdigest()},
        document_sha256="a" * 64)
    assert check_trail([*records, completed], hashlib.sha256(b"pdf").hexdigest()) == []
    assert check_trail([*records, completed], hashlib.sha256(b"other").hexdigest()) == [
        "the PDF is not the one the trail's completed record names"]


def test_a_due_date_is_checked_against_the_day_in_brussels_not_in_utc() -> None:
    """At 23:30 UTC on 5 December it is already 6 December at the office: a request due on
    the 6th may be made, one due on the 5th has passed."""
    today = office_day(datetime(2026, 12, 5, 23, 30, tzinfo=UTC))
    assert today == date(2026, 12, 6)

    def problems(due: date) -> dict[str, str]:
        return domain.validate_new_request(signer_person_ids=["P1"], known_persons={"P1"},
                                           persons_without_account=set(), due_date=due,
                                           today=today)
    assert problems(date(2026, 12, 6)) == {}
    assert problems(date(2026, 12, 5)) == {"due_date": "The due date has passed."}
    # In summer Brussels is two hours ahead: 21:59 UTC is still the 1st of July, 22:00 the 2nd.
    assert office_day(datetime(2026, 7, 1, 21, 59, tzinfo=UTC)) == date(2026, 7, 1)
    assert office_day(datetime(2026, 7, 1, 22, 0, tzinfo=UTC)) == date(2026, 7, 2)
