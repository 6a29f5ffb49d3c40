"""The office settings as the mails use them: the latest copy, kept by every notifier replica.

Asked by GET_OFFICE when the service starts (retried while auth is away: the neutral defaults
meanwhile), then replaced by each `auth.office.settings_changed`, heard on a queue of this
replica only (exclusive, auto-deleted: every replica hears every change, none piles up for a
replica that is gone). The highest version wins, so a late or repeated event never undoes a
newer change; asking again now and then catches a change that passed during a bus outage.

The logo's bytes are kept too (every mail carries them inline): fetched from the documents
service (OPEN_OFFICE_ASSET, then the presigned GET) when the settings name another logo, at most
MAX_LOGO_BYTES and checked against the settings' logo_sha256. A fetch that fails is logged and
tried again at the next refresh; the mails go without a logo meanwhile, never wait for it.

    office = OfficeSettingsCopy(rpc)
    office.subscribe(broker)           # before the broker starts
    office.current().name              # in a mail
    office.logo()                      # the current logo's bytes, or None
"""

import asyncio
import hashlib

import httpx
from faststream.rabbit import RabbitBroker, RabbitQueue

from libs.contracts.documents import OPEN_OFFICE_ASSET, OpenOfficeAssetRequest
from libs.contracts.envelope import new_id
from libs.contracts.office import (
    GET_OFFICE,
    GetOfficeRequest,
    OfficeSettingsChanged,
    OfficeSettingsPublic,
)
from libs.servicekit.bus import EVENTS
from libs.servicekit.logs import get_logger
from services.notifier.handlers import RpcCalling

log = get_logger(__name__)
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0
REFRESH_SECONDS = 300.0  # asked again this often: a change lost in a bus outage is caught up
MAX_LOGO_BYTES = 512 * 1024  # as the gateway accepts at upload; a larger body is refused
LOGO_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class LogoUnavailable(Exception):
    """The logo's bytes could not be had (too large, another hash, the store refused)."""


class OfficeSettingsCopy:
    """The latest OfficeSettingsPublic this replica knows."""

    def __init__(self, rpc: RpcCalling, http: httpx.AsyncClient | None = None) -> None:
        self._rpc = rpc
        self._http = http or httpx.AsyncClient(timeout=LOGO_TIMEOUT, follow_redirects=False)
        self._settings = OfficeSettingsPublic()
        self._loaded = False
        self._logo: tuple[str, bytes] | None = None  # (sha256, bytes) of the last fetched logo

    def logo(self) -> bytes | None:
        """The current logo's bytes, or None (no logo, or not fetched yet)."""
        kept, wanted = self._logo, self._settings.logo_sha256
        if kept is None or wanted is None or kept[0] != wanted:
            return None
        return kept[1]

    async def refresh_logo(self) -> None:
        """Fetch the logo the current settings name, unless it is the kept one; a failure is
        logged (the mails go without a logo until a later refresh fetches it)."""
        settings = self._settings
        document_id, sha256 = settings.logo_document_id, settings.logo_sha256
        if document_id is None or sha256 is None:
            self._logo = None
            return
        if self._logo is not None and self._logo[0] == sha256:
            return
        try:
            body = await self._fetch_logo(document_id, sha256)
        except Exception as error:  # noqa: BLE001 - the mails go without the logo meanwhile
            log.warning("office logo not fetched: mails go without it", error=str(error),
                        document_id=document_id)
            return
        if self._settings.logo_sha256 == sha256:  # not replaced while it was fetched
            self._logo = (sha256, body)
            log.info("office logo kept for the mails", size=len(body))

    async def _fetch_logo(self, document_id: str, sha256: str) -> bytes:
        ticket = await self._rpc.call(OPEN_OFFICE_ASSET,
                                      OpenOfficeAssetRequest(document_id=document_id))
        if ticket.size is not None and ticket.size > MAX_LOGO_BYTES:
            raise LogoUnavailable(f"the logo is {ticket.size} bytes")
        body = bytearray()
        async with self._http.stream("GET", ticket.download_url) as response:
            if response.status_code != 200:
                raise LogoUnavailable(f"the store answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_LOGO_BYTES:
                    raise LogoUnavailable("the logo is larger than allowed")
        if hashlib.sha256(body).hexdigest() != sha256:
            raise LogoUnavailable("the logo does not match its hash")
        return bytes(body)

    async def close(self) -> None:
        await self._http.aclose()

    def current(self) -> OfficeSettingsPublic:
        """The settings to use now (the defaults until auth first answered)."""
        return self._settings

    @property
    def loaded(self) -> bool:
        """Whether auth answered at least once."""
        return self._loaded

    def offer(self, settings: OfficeSettingsPublic) -> bool:
        """Keep `settings` if newer than the kept ones (or auth's first answer); True if kept."""
        if self._loaded and settings.version <= self._settings.version:
            return False
        self._settings, self._loaded = settings, True
        log.info("office settings now", version=settings.version)
        return True

    async def load(self) -> None:
        """Ask auth for the current settings once, then fetch their logo if it is new."""
        self.offer(await self._rpc.call(GET_OFFICE, GetOfficeRequest()))
        await self.refresh_logo()

    async def keep_loaded(self) -> None:
        """Load until auth answers (backing off), then again every REFRESH_SECONDS."""
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                await self.load()
            except Exception as error:  # noqa: BLE001 - the mails use the last copy meanwhile
                log.warning("office settings not loaded; retrying", error=str(error),
                            retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LONGEST_RETRY_SECONDS)
                continue
            delay = FIRST_RETRY_SECONDS
            await asyncio.sleep(REFRESH_SECONDS)

    def subscribe(self, broker: RabbitBroker) -> None:
        """Hear every settings change on a queue of this replica only."""
        queue = RabbitQueue(f"notifier.office-settings.{new_id()}", exclusive=True,
                            auto_delete=True, routing_key=OfficeSettingsChanged.routing_key)

        async def changed(event: OfficeSettingsChanged) -> None:
            if self.offer(event.settings):
                await self.refresh_logo()

        broker.subscriber(queue, EVENTS, title="notifier.office-settings",
                          description=OfficeSettingsChanged.__doc__)(changed)

