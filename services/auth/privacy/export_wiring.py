"""Building the data exports of the auth service, and their periodic sweep (one replica at a
time); their RPC methods, the parts' reports and the account part: privacy/subscribers.py."""

from collections.abc import Callable
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import privacy
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.mongo import Document
from libs.servicekit.periodic import run_every
from services.auth.config import AuthSettings
from services.auth.privacy.exports import PrivacyExports
from services.auth.privacy.store import ExportRecords

SERVICE = "auth"
EMITS = (privacy.ExportRequested, privacy.ExportReady)  # the parts' reports: export_parts


def build_exports(database: AsyncDatabase[Document], settings: AuthSettings, *,
                  notify: Callable[[], None]) -> PrivacyExports:
    """Build the exports' owner (its bus entry points: privacy/subscribers.py)."""
    return PrivacyExports(
        ExportRecords(database), ExportStorage.from_settings(settings),
        limit_per_day=settings.export_limit_per_day,
        time_limit=timedelta(seconds=settings.export_time_limit_seconds),
        lifetime=timedelta(days=settings.export_lifetime_days), notify=notify)


async def sweep_exports(exports: PrivacyExports, database: AsyncDatabase[Document],
                        seconds: float) -> None:
    """Fail late exports and delete expired ZIPs, in one replica at a time."""
    await run_every(seconds, exports.sweep, name="privacy export sweep",
                    lease=Lease(database, "privacy-export-sweep"))
