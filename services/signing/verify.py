"""Check a signed PDF and, optionally, its audit trail, offline:

    python -m services.signing.verify signed.pdf --trust sealing-ca.pem \
        [--audit-json trail.json]   # the admin API's /signature-requests/{id}/audit answer
        [--audit REQUEST_ID]        # read from the signing service's database instead

The PDF passes when its last signature (the office's seal) is intact and covers the whole file,
chains to a certificate of --trust and, unless --no-timestamp, carries a trusted RFC 3161
timestamp. The trail passes when every record hashes to its stored hash and follows the one
before, all name the same document, and its "completed" record names this PDF's sha256.
Exit status 0 when everything passes, 1 otherwise; each finding is printed.
"""

import argparse
import asyncio
import hashlib
import json
import sys
from pathlib import Path

from libs.contracts.signing import AuditKind, AuditRecord, AuditTrail
from services.signing.domain import check_chain
from services.signing.sealing import check_pdf, trust_roots


def check_trail(records: list[AuditRecord], pdf_sha256: str | None) -> list[str]:
    """What is wrong with a trail (and its tie to the PDF); empty when nothing is."""
    if not records:
        return ["the audit trail is empty"]
    first = min(records, key=lambda r: r.seq)
    chain = check_chain(records, request_id=first.signature_request_id,
                        document_sha256=first.document_sha256)
    problems = list(chain.problems)
    if pdf_sha256 is not None:
        completed = [r for r in records if r.kind is AuditKind.COMPLETED]
        if not completed:
            problems.append("the trail has no completed record")
        elif completed[-1].details.get("signed_sha256") != pdf_sha256:
            problems.append("the PDF is not the one the trail's completed record names")
    return problems


async def _records_from_database(request_id: str) -> list[AuditRecord]:
    from libs.servicekit.mongo import create_mongo_client
    from services.signing.config import SigningSettings
    from services.signing.main import SERVICE
    from services.signing.store import SigningStore

    settings = SigningSettings()
    client = create_mongo_client(settings.mongo_url)
    try:
        return await SigningStore(client[settings.database_name(SERVICE)]).audit_records(
            request_id)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.signing.verify",
                                     description="Check a signed PDF and its audit trail.")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--trust", type=Path, action="append", default=[],
                        help="PEM file of CA certificates to trust (repeatable)")
    parser.add_argument("--audit-json", type=Path, help="the trail as the admin API gives it")
    parser.add_argument("--audit", metavar="REQUEST_ID", help="read the trail from the database")
    parser.add_argument("--no-timestamp", action="store_true",
                        help="accept a seal without a timestamp (PAdES B-B)")
    arguments = parser.parse_args(argv)

    body = arguments.pdf.read_bytes()
    roots = [cert for path in arguments.trust for cert in trust_roots(path.read_bytes())]
    result = check_pdf(body, roots)
    problems: list[str] = []
    if not result.intact:
        problems.append(f"the PDF's seal is not intact ({result.summary})")
    if not result.trusted:
        problems.append("the seal does not chain to a trusted certificate")
    if not result.timestamped and not arguments.no_timestamp:
        problems.append("the seal carries no trusted timestamp")
    print(f"PDF sha256: {hashlib.sha256(body).hexdigest()}")
    print(f"seal: {result.signer or '-'}; signed at {result.signed_at or '-'}; "
          f"intact={result.intact} trusted={result.trusted} timestamped={result.timestamped}")

    records: list[AuditRecord] | None = None
    if arguments.audit_json is not None:
        trail = json.loads(arguments.audit_json.read_text(encoding="utf-8"))
        records = AuditTrail.model_validate(trail).records
    elif arguments.audit is not None:
        records = asyncio.run(_records_from_database(arguments.audit))
    if records is not None:
        trail_problems = check_trail(records, hashlib.sha256(body).hexdigest())
        print(f"audit trail: {len(records)} records, "
              f"{'intact' if not trail_problems else 'NOT intact'}")
        problems += trail_problems
    for problem in problems:
        print(f"FAIL: {problem}")
    print("OK" if not problems else "NOT VALID")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
