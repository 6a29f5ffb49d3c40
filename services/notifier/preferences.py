"""A client's mail preferences ("Mijn meldingen"): per category immediate mail or one daily
digest, and the language of their mails. The notifier owns them, since it applies them; the
gateway reads and saves them over RPC.

Legally required and security mails are in no category: signature requests and reminders,
password and login mails, the invitation, registration and eID mails always go at once.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from libs.contracts.caller import Caller
from libs.contracts.envelope import utc_now
from libs.contracts.notifier import (
    NotificationPreferences,
    NotificationSettings,
    PreferencesQuery,
    SavePreferencesRequest,
)
from libs.servicekit.errors import Forbidden
from libs.servicekit.logs import get_logger
from services.notifier.config import NotifierSettings, digest_clock
from services.notifier.store import MailStore

log = get_logger(__name__)


class Category(StrEnum):
    """The client mails a preference can delay into the daily digest."""

    REQUESTS = "requests"  # news of their requests, client sheet reminders
    DOCUMENTS = "documents"  # documents the office published
    SIGNATURES = "signatures"  # a document signed by everyone (never the request to sign)


def digest_due(now: datetime, digest_at: str) -> datetime:
    """The first digest moment (the office's local time) after `now`: today's, or tomorrow's
    when it passed."""
    at, zone = digest_clock(digest_at)
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), at, tzinfo=zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return due


def held_back(preferences: NotificationPreferences, category: Category) -> bool:
    """Whether a mail of `category` waits for the client's daily digest."""
    return bool(getattr(preferences, category.value) == "daily_digest")


def _own_account(caller: Caller) -> str:
    if caller.user_id.startswith("service:"):
        raise Forbidden("Preferences belong to a person's account.")
    return caller.user_id


class Preferences:
    """The RPCs of the preferences, and what the handlers ask of them."""

    def __init__(self, store: MailStore, settings: NotifierSettings) -> None:
        self._store = store
        self._settings = settings

    async def of(self, user_id: str) -> NotificationPreferences:
        """The client's preferences (immediate everything, their account's language, until they
        choose)."""
        found = await self._store.preferences(user_id) if user_id else None
        if found is None:
            return NotificationPreferences()
        return NotificationPreferences.model_validate(
            {key: found[key] for key in NotificationPreferences.model_fields if key in found})

    async def get_preferences(self, query: PreferencesQuery) -> NotificationSettings:
        """The caller's own preferences."""
        return NotificationSettings(preferences=await self.of(_own_account(query.caller)),
                                    digest_at=self._settings.client_digest_at)

    async def save_preferences(self, request: SavePreferencesRequest) -> NotificationSettings:
        """Replace the caller's own preferences."""
        user_id = _own_account(request.caller)
        await self._store.save_preferences(user_id, request.preferences.model_dump(), utc_now())
        log.info("mail preferences saved", user_id=user_id)
        return NotificationSettings(preferences=request.preferences,
                                    digest_at=self._settings.client_digest_at)
