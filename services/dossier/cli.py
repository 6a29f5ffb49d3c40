"""Office commands: `python -m services.dossier [import FILE|DIR ... | schema]`.

Without a command the service runs. `import` sends dossier records to the gateway's admin API
(`POST /admin/api/v1/dossier-imports`) as a staff user, with a progress line per record and a
summary (created / updated / unchanged / removed / rejected with reasons). A file holds one
record (a JSON object), a list of records (a JSON array), or one record per line (`.jsonl`);
a directory is read file by file in name order.

A record with more than 500 objects in a list is sent in parts (partial records, reference
order: risk objects before the contracts using them), so no request outlives the gateway's RPC
timeout. Objects that cannot even be read (a date that is no date, a missing field) are
refused here, one by one with their line and field, and the rest of the record is still sent;
the service then refuses objects that break a rule. When a record had unreadable objects,
`--remove-missing` is not applied to it: an unreadable object must not make its stored version
disappear.
"""

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import BaseModel, ValidationError

from libs.contracts.dossier import DossierRecord, ImportReport, Rejection
from services.dossier.import_plan import KIND_ORDER, LIST_NAMES
from services.dossier.store import MODELS

IMPORT_PATH = "/admin/api/v1/dossier-imports"
# Objects per request: an import of a few hundred objects answers well within the gateway's
# RPC timeout (5 s); a bigger record is sent as several partial records of this size.
PART_SIZE = 500
RECORD_SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass
class SourceRecord:
    """One record as read from a file, with where it came from."""

    location: str  # e.g. "export/2026-11.jsonl:12" or "dupont.json[0]"
    data: Any = None
    error: str | None = None


@dataclass
class Totals:
    """The summary of a whole import run."""

    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, location: str, report: ImportReport) -> None:
        """Count one record's report."""
        self.records += 1
        self.created += report.created
        self.updated += report.updated
        self.unchanged += report.unchanged
        self.removed += report.removed
        self.rejected += report.rejected
        for rejection in report.rejections:
            reasons = "; ".join(f"{path}: {reason}" for path, reason in rejection.reasons.items())
            self.problems.append(f"{location} {rejection.path} ({rejection.object_id}): {reasons}")


def read_records(paths: list[Path]) -> Iterator[SourceRecord]:
    """Every record of the given files and directories, in order."""
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.suffix in RECORD_SUFFIXES) \
            if path.is_dir() else [path]
        for file in files:
            yield from _records_of(file)


def _records_of(file: Path) -> Iterator[SourceRecord]:
    text = file.read_text(encoding="utf-8")
    if file.suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield _parsed(f"{file}:{number}", line)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        yield SourceRecord(f"{file}:{error.lineno}", error=f"not JSON: {error.msg}")
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield SourceRecord(f"{file}[{index}]", data=item)
    else:
        yield SourceRecord(str(file), data=data)


def _parsed(location: str, line: str) -> SourceRecord:
    try:
        return SourceRecord(location, data=json.loads(line))
    except json.JSONDecodeError as error:
        return SourceRecord(location, error=f"not JSON: {error.msg}")


def _error_reasons(error: ValidationError, prefix: str) -> dict[str, str]:
    return {prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]):
            e["msg"] for e in error.errors()}


def split_unreadable(data: dict[str, Any]) -> tuple[dict[str, Any], list[Rejection]]:
    """The record without the objects that cannot be read, and those objects' rejections."""
    cleaned = dict(data)
    rejections: list[Rejection] = []
    for kind in KIND_ORDER:
        name = LIST_NAMES[kind]
        items = data.get(name)
        if not isinstance(items, list):
            continue
        model: type[BaseModel] = MODELS[kind]
        kept = []
        for index, item in enumerate(items):
            try:
                model.model_validate(item)
            except ValidationError as error:
                object_id = str(item.get(f"{kind}_id", "")) if isinstance(item, dict) else ""
                rejections.append(Rejection(path=f"{name}[{index}]", object_id=object_id,
                                            reasons=_error_reasons(error, f"{name}[{index}]")))
            else:
                kept.append(item)
        cleaned[name] = kept
    return cleaned, rejections


class AdminApi:
    """The gateway's admin API as a staff user; the access token is renewed when it runs out."""

    def __init__(self, gateway_url: str, email: str, password: str) -> None:
        self._http = httpx.Client(base_url=gateway_url, timeout=60.0)
        pair = self._expect(self._http.post("/api/v1/auth/login",
                                            json={"email": email, "password": password}))
        self._access, self._refresh = pair["access_token"], pair["refresh_token"]

    @staticmethod
    def _expect(response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise SystemExit(f"{response.request.method} {response.request.url.path}: "
                             f"{response.status_code} {response.text[:300]}")
        return response.json()

    def upsert(self, record: dict[str, Any], remove_missing: bool) -> httpx.Response:
        """POST one record; a 401 (token ran out) is retried once with a refreshed token."""
        for attempt in range(2):
            response = self._http.post(
                IMPORT_PATH, json=record, params={"remove_missing": str(remove_missing).lower()},
                headers={"Authorization": f"Bearer {self._access}"})
            if response.status_code != 401 or attempt:
                return response
            pair = self._expect(self._http.post("/api/v1/auth/refresh",
                                                json={"refresh_token": self._refresh}))
            self._access, self._refresh = pair["access_token"], pair["refresh_token"]
        return response  # pragma: no cover - the loop always returns

    def close(self) -> None:
        """Close the connection."""
        self._http.close()


def record_parts(record: dict[str, Any], size: int = PART_SIZE
                 ) -> Iterator[tuple[dict[str, Any], str | None, int]]:
    """A record cut into partial records of at most `size` objects, in reference order.

    Yields (part, list name, offset of the part's first object in that list); the first part
    carries the dossier's own fields and the lists small enough to travel together.
    """
    header = {key: value for key, value in record.items()
              if key not in LIST_NAMES.values()}
    first = dict(header)
    sent = False
    for kind in KIND_ORDER:
        name = LIST_NAMES[kind]
        items = record.get(name)
        if not isinstance(items, list):
            continue
        if len(items) <= size:
            first[name] = items
            continue
        if len(first) > len(header):  # the smaller lists that must go before this one
            yield first, None, 0
            first = dict(header)
        for offset in range(0, len(items), size):
            yield {**header, name: items[offset:offset + size]}, name, offset
        sent = True
    if len(first) > len(header) or not sent:
        yield first, None, 0


def _shifted(path: str, name: str | None, offset: int) -> str:
    """A path of a part (`claims[3].x`) as a path of the whole record (`claims[503].x`)."""
    if name is None or not path.startswith(f"{name}["):
        return path
    index, rest = path[len(name) + 1:].split("]", 1)
    return f"{name}[{int(index) + offset}]{rest}"


def send_record(api: AdminApi, record: dict[str, Any], remove_missing: bool) -> ImportReport:
    """Upsert one record; a big one goes in parts (without removals, which need it whole)."""
    parts = [(record, None, 0)] if remove_missing else list(record_parts(record))
    total = ImportReport(dossier_id=str(record.get("dossier_id", "?")), dossier="unchanged")
    for number, (part, name, offset) in enumerate(parts):
        response = api.upsert(part, remove_missing)
        if response.status_code != 200:
            problem = response.json() if response.headers.get("content-type", "").endswith(
                "json") else {"detail": response.text[:300]}
            total.dossier = "rejected" if number == 0 else total.dossier
            total.rejected += 1
            total.rejections.append(Rejection(
                path=name or "record", object_id="",
                reasons=problem.get("errors") or {"record": str(problem.get("detail"))}))
            if number == 0:
                break
            continue
        report = ImportReport.model_validate(response.json())
        if number == 0 or report.dossier in ("created", "rejected"):
            total.dossier = report.dossier
        for field_name in ("created", "updated", "unchanged", "removed", "rejected"):
            setattr(total, field_name, getattr(total, field_name) + getattr(report, field_name))
        total.rejections += [Rejection(
            path=_shifted(r.path, name, offset), object_id=r.object_id,
            reasons={_shifted(k, name, offset): v for k, v in r.reasons.items()})
            for r in report.rejections]
    return total


def import_records(api: AdminApi, records: list[SourceRecord], remove_missing: bool,
                   out: TextIO) -> Totals:
    """Send every record, printing a progress line each; return the totals."""
    totals = Totals()
    for number, source in enumerate(records, start=1):
        progress = f"[{number}/{len(records)}] {source.location}"
        if source.error is not None or not isinstance(source.data, dict):
            reason = source.error or "a record must be a JSON object"
            totals.add(source.location, ImportReport(
                dossier_id="?", dossier="rejected", rejected=1,
                rejections=[Rejection(path="record", object_id="", reasons={"record": reason})]))
            print(f"{progress}: rejected ({reason})", file=out)
            continue
        cleaned, unreadable = split_unreadable(source.data)
        report = send_record(api, cleaned, remove_missing and not unreadable)
        report.rejected += len(unreadable)
        report.rejections = unreadable + report.rejections
        totals.add(source.location, report)
        print(f"{progress}: {report.dossier_id} {report.dossier} - created {report.created}, "
              f"updated {report.updated}, unchanged {report.unchanged}, removed "
              f"{report.removed}, rejected {report.rejected}", file=out)
    return totals


def print_summary(totals: Totals, out: TextIO) -> None:
    """The closing summary of an import run."""
    print(f"\n{totals.records} record(s): created {totals.created}, updated {totals.updated}, "
          f"unchanged {totals.unchanged}, removed {totals.removed}, rejected {totals.rejected}",
          file=out)
    for problem in totals.problems:
        print(f"  rejected: {problem}", file=out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.dossier",
        description="MyBroker dossier service (runs without a command)")
    commands = parser.add_subparsers(dest="command")
    upload = commands.add_parser("import", help="import dossier records through the admin API")
    upload.add_argument("paths", nargs="+", type=Path, help="files (.json, .jsonl) or directories")
    upload.add_argument("--gateway", default=os.environ.get(
        "MYBROKER_IMPORT_GATEWAY_URL", "http://127.0.0.1:8000"))
    upload.add_argument("--email", default=os.environ.get("MYBROKER_IMPORT_EMAIL"),
                        help="staff e-mail (or MYBROKER_IMPORT_EMAIL)")
    upload.add_argument("--remove-missing", action="store_true",
                        help="remove stored objects of the given lists that a record no "
                        "longer holds")
    commands.add_parser("schema", help="print the JSON schema of one import record")
    return parser


def run(arguments: list[str]) -> None:
    """Run the command in `arguments`, or the service when there is none."""
    options = _parser().parse_args(arguments)
    if options.command is None:
        from services.dossier.main import main
        main()
    elif options.command == "schema":
        print(json.dumps(DossierRecord.model_json_schema(), indent=2))
    else:
        password = os.environ.get("MYBROKER_IMPORT_PASSWORD")
        if not options.email or not password:
            raise SystemExit("Give the staff e-mail (--email or MYBROKER_IMPORT_EMAIL) and "
                             "the password in MYBROKER_IMPORT_PASSWORD.")
        records = list(read_records(options.paths))
        api = AdminApi(options.gateway, options.email, password)
        try:
            totals = import_records(api, records, options.remove_missing, sys.stderr)
        finally:
            api.close()
        print_summary(totals, sys.stdout)
        sys.exit(1 if totals.rejected else 0)
