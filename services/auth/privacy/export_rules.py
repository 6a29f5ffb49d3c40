"""Rules of the client's data export (GDPR articles 15 and 20), pure: the parts' progress, the
manifest of the ZIP and its readable `index.html`."""

import gettext
import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from libs.contracts.privacy import EXPORT_PARTS, ExportPart, ExportPublic, ExportState
from libs.i18n import Language, as_language, format_moment

MAX_PART_ATTEMPTS = 3  # a failed part is asked again twice, then the export fails
ZIP_PREFIX = "exports/"
INDEX_FILE = "index.html"
MANIFEST_FILE = "manifest.json"


class ExportRefused(Exception):
    """The client may not start an export now (the limit per day is reached)."""


@dataclass(frozen=True)
class PartProgress:
    """Where one part of an export is."""

    state: str = "waiting"  # waiting, ready, failed
    attempt: int = 1
    keys: tuple[str, ...] = ()
    records: int = 0
    size: int = 0
    reason: str | None = None

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> "PartProgress":
        """The progress as stored in the export's record."""
        if not stored:
            return cls()
        return cls(state=stored.get("state", "waiting"), attempt=int(stored.get("attempt", 1)),
                   keys=tuple(stored.get("keys") or ()), records=int(stored.get("records", 0)),
                   size=int(stored.get("size", 0)), reason=stored.get("reason"))


@dataclass(frozen=True)
class ExportRecord:
    """An export as the auth service keeps it."""

    export_id: str
    account_id: str
    email: str
    language: str
    state: ExportState
    requested_at: datetime
    deadline_at: datetime
    parts: dict[ExportPart, PartProgress] = field(default_factory=dict)
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    size: int | None = None
    failed_parts: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """Where its parts and its ZIP are in the exports bucket."""
        return export_prefix(self.export_id)

    @property
    def zip_key(self) -> str:
        """The key of the assembled ZIP."""
        return f"{self.prefix}{zip_filename(self.export_id)}"

    def progress(self, part: ExportPart) -> PartProgress:
        """The progress of `part`."""
        return self.parts.get(part, PartProgress())

    def all_parts_ready(self) -> bool:
        """Every part is written: the ZIP can be assembled."""
        return all(self.progress(part).state == "ready" for part in EXPORT_PARTS)

    def public(self) -> ExportPublic:
        """What the client and the office see of it."""
        done = [part for part in EXPORT_PARTS if self.progress(part).state == "ready"]
        waiting = [part for part in EXPORT_PARTS if self.progress(part).state != "ready"]
        return ExportPublic(
            export_id=self.export_id, account_id=self.account_id, state=self.state,
            requested_at=self.requested_at, ready_at=self.ready_at, expires_at=self.expires_at,
            size=self.size, parts_done=done, parts_waiting=waiting,
            failed_parts=dict(self.failed_parts))


def export_prefix(export_id: str) -> str:
    """The key prefix of an export in the exports bucket."""
    return f"{ZIP_PREFIX}{export_id}/"


def zip_filename(export_id: str) -> str:
    """The ZIP's file name (what the browser saves)."""
    return f"mybroker-export-{export_id[:12]}.zip"


def failures_at_deadline(record: ExportRecord) -> dict[str, str]:
    """Part -> why, for an export whose time limit passed before every part came in."""
    failures: dict[str, str] = {}
    for part in EXPORT_PARTS:
        progress = record.progress(part)
        if progress.state == "failed":
            failures[part.value] = progress.reason or "failed"
        elif progress.state != "ready":
            failures[part.value] = "no answer within the time limit"
    return failures or {"zip": "the archive was not assembled within the time limit"}


def may_start(requested_today: int, limit_per_day: int) -> None:
    """Refuse one export too many in a day (each one reads the whole dossier)."""
    if requested_today >= limit_per_day:
        raise ExportRefused(f"at most {limit_per_day} exports a day")


def retry_after_failure(progress: PartProgress, attempt: int) -> bool:
    """A failed part is asked again while it has attempts left (a stale report is ignored)."""
    return attempt == progress.attempt and attempt < MAX_PART_ATTEMPTS


def expires_at(ready_at: datetime, lifetime: timedelta) -> datetime:
    """When the ZIP is deleted (the download link works until then)."""
    return ready_at + lifetime


def manifest(record: ExportRecord, generated_at: datetime) -> dict[str, Any]:
    """What the ZIP holds, part by part (`manifest.json`, and the basis of `index.html`)."""
    return {
        "export_id": record.export_id,
        "account_id": record.account_id,
        "email": record.email,
        "requested_at": record.requested_at.isoformat(),
        "generated_at": generated_at.isoformat(),
        "parts": [
            {
                "part": part.value,
                "data": f"{part.value}/{part.value}.json",
                "schema": f"{part.value}/{part.value}.schema.json",
                "records": record.progress(part).records,
                "size": record.progress(part).size,
                "files": [key for key in record.progress(part).keys
                          if not key.endswith((f"{part.value}.json", ".schema.json"))],
            }
            for part in EXPORT_PARTS
        ],
    }


PART_TITLES: dict[ExportPart, str] = {
    ExportPart.ACCOUNT: "Your account and login history",
    ExportPart.DOSSIERS: "Your dossiers: persons, risk objects, contracts, claims and invoices",
    ExportPart.DOCUMENTS: "Your documents (the original files)",
    ExportPart.REQUESTS: "Your requests, forms and messages",
    ExportPart.SIGNATURES: "Your signatures and their evidence",
    ExportPart.MAILS: "The e-mails sent to you",
}


def render_index(manifest_data: dict[str, Any], language: str,
                 translations: dict[Language, gettext.GNUTranslations]) -> str:
    """The readable summary at the root of the ZIP, in the client's language."""
    shown: Language = as_language(language) or "nl"
    text = translations[shown].gettext
    generated = datetime.fromisoformat(manifest_data["generated_at"])
    rows = []
    for entry in manifest_data["parts"]:
        title = text(PART_TITLES[ExportPart(entry["part"])])
        files = "".join(
            f'<li><a href="{html.escape(path)}">{html.escape(path.rsplit("/", 1)[-1])}</a></li>'
            for path in entry["files"])
        rows.append(
            f"<section><h2>{html.escape(title)}</h2>"
            f"<p>{html.escape(text('Records: %(count)s') % {'count': entry['records']})}</p>"
            f'<p><a href="{html.escape(entry["data"])}">{html.escape(text("The data (JSON)"))}'
            f'</a> · <a href="{html.escape(entry["schema"])}">'
            f'{html.escape(text("Its description (JSON schema)"))}</a></p>'
            + (f"<ul>{files}</ul>" if files else "") + "</section>")
    title = text("Your data at MyBroker")
    intro = text("This archive holds everything the portal keeps about you and the dossiers "
                 "you can see, made on %(moment)s for %(email)s.") % {
        "moment": format_moment(generated, shown), "email": manifest_data["email"]}
    return (f'<!DOCTYPE html><html lang="{shown}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(intro)}</p>{''.join(rows)}</body></html>")
