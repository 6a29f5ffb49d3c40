"""The office settings as the pages show them: the latest copy in memory, per gateway instance.

Loaded by GET_OFFICE at start (the neutral defaults meanwhile, retried while auth is away) and
replaced by each `auth.office.settings_changed`, heard on a queue of this instance only
(exclusive, auto-deleted, like the revocations): every replica gets every change. The highest
version wins, so a late or repeated event never undoes a newer one; after a reconnect the
settings are asked again (a change may have passed while the connection was down).

The logo is kept too (a few hundred KB at most): fetched once per new logo from the documents
service, checked against the hash the settings name, and served from memory.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from libs.contracts.envelope import new_id
from libs.contracts.office import OfficeSettingsChanged, OfficeSettingsPublic
from libs.contracts.topology import EVENTS_EXCHANGE
from libs.servicekit.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class OfficeLogo:
    """The current logo's bytes, as checked against the settings' hash."""

    sha256: str
    content_type: str
    body: bytes


@dataclass
class OfficeKeeper:
    """The latest office settings this instance knows (highest version), and its logo."""

    settings: OfficeSettingsPublic = field(default_factory=OfficeSettingsPublic)
    loaded: bool = False  # from auth at least once (else: the defaults)
    logo: OfficeLogo | None = None

    def current(self) -> OfficeSettingsPublic:
        """The settings the pages use now."""
        return self.settings

    def offer(self, settings: OfficeSettingsPublic) -> bool:
        """Keep `settings` if newer than what is kept (or the first answer from auth); True
        if kept."""
        if self.loaded and settings.version <= self.settings.version:
            return False
        self.settings, self.loaded = settings, True
        if self.logo is not None and self.logo.sha256 != settings.logo_sha256:
            self.logo = None
        return True


class OfficeListener:
    """Feeds an OfficeKeeper from `auth.office.settings_changed` on an instance queue."""

    def __init__(self, amqp_url: str, keeper: OfficeKeeper,
                 reload: Callable[[], Awaitable[None]], *, exchange: str = EVENTS_EXCHANGE,
                 ) -> None:
        self._amqp_url = amqp_url
        self._keeper = keeper
        self._reload = reload
        self._exchange = exchange
        self._connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        """Connect, declare and bind the instance queue, and start consuming."""
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self._exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(
            f"gateway.office.{new_id()}", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=OfficeSettingsChanged.routing_key)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_reconnect(self, *_: object) -> None:
        try:
            await self._reload()
        except Exception:
            log.warning("could not reload the office settings", exc_info=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.receive(message.body)

    def receive(self, body: bytes) -> None:
        """Keep the settings an event carries, if newer."""
        try:
            event = OfficeSettingsChanged.model_validate_json(body)
        except ValidationError:
            log.warning("ignored a malformed office settings event")
            return
        if self._keeper.offer(event.settings):
            log.info("office settings changed", version=event.settings.version)

    async def close(self) -> None:
        """Stop listening; the exclusive queue disappears with the connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
