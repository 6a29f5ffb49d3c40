"""The office settings as the mails use them: the latest copy, kept by every notifier replica.

Asked by GET_OFFICE when the service starts (retried while auth is away: the neutral defaults
meanwhile), then replaced by each `auth.office.settings_changed`, heard on a queue of this
replica only (exclusive, auto-deleted: every replica hears every change, none piles up for a
replica that is gone). The highest version wins, so a late or repeated event never undoes a
newer change; asking again now and then catches a change that passed during a bus outage.

    office = OfficeSettingsCopy(rpc)
    office.subscribe(broker)           # before the broker starts
    office.current().name              # in a mail
"""

import asyncio

from faststream.rabbit import RabbitBroker, RabbitQueue

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


class OfficeSettingsCopy:
    """The latest OfficeSettingsPublic this replica knows."""

    def __init__(self, rpc: RpcCalling) -> None:
        self._rpc = rpc
        self._settings = OfficeSettingsPublic()
        self._loaded = False

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
        """Ask auth for the current settings once."""
        self.offer(await self._rpc.call(GET_OFFICE, GetOfficeRequest()))

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
            self.offer(event.settings)

        broker.subscriber(queue, EVENTS, title="notifier.office-settings",
                          description=OfficeSettingsChanged.__doc__)(changed)

