"""The gateway's read model of the dossiers: answers kept per dossier version, ETags from it.

The dossier service publishes a `dossier.<kind>.changed` event for every object an import
writes (through its outbox, after the write); an erasure of a dossier publishes its
`privacy.erasure.*` steps. Every gateway instance hears them on a queue of its
own (exclusive, auto-deleted) and counts, per dossier, the changes it heard: that count, with the
epoch of the current bus connection, is the dossier's version in this instance. An answer read
from the dossier service is kept under (dossier, version, query) in a memory cache bounded in
bytes (least recently used goes first); the next identical read of the same version is answered
from memory, and a client that sends the version's ETag back gets 304 without any RPC.

What keeps it honest:
- Authorization comes first: the routes resolve the caller and the dossier grant before asking
  here, and a key always holds its dossier id, so nothing crosses dossiers.
- Unknown version = no cache. Until the listener consumes (start, gateway restart), and from a
  lost bus connection until the reconnection, every read goes to the service. A reconnection
  starts a new epoch: events published while this instance's queue did not exist are lost, so
  every version heard before is dropped.
- A read is kept only under the version it started with, and only if that version is still
  current when it ends (a change heard meanwhile means it may be half old).
- For SETTLE_SECONDS after a change of a dossier (and after each (re)connection) nothing of it is
  kept: an import writes object after object, and what follows its last object event (its
  counts) is done well within that time.
- An import through this gateway bumps the dossier's version when the service acknowledges it,
  before the events even arrive; other instances see the change when its first event arrives
  (the relay publishes right after the write).
"""

import hashlib
import json
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

from libs.contracts.envelope import new_id
from libs.contracts.topology import EVENTS_EXCHANGE
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
ReplyT = TypeVar("ReplyT", bound=BaseModel)
# Every event of the dossier service names its dossier; so do the steps of a dossier's erasure
# (after which nothing of it may be served from memory).
ROUTING_KEYS = ("dossier.#", "privacy.erasure.#")
SETTLE_SECONDS = 1.0
CACHE_BYTES = 64 * 1024 * 1024
ENTRY_MAX_BYTES = 1024 * 1024  # a bigger answer is not kept
MAX_DOSSIERS = 200_000  # versions kept before a new epoch starts (memory bound)

reads = Counter("mybroker_gateway_read_model_total",
                "Dossier reads by outcome: hit, miss (read from the service), not_modified "
                "(304), uncached (version unknown)", ["outcome"])
cache_bytes = Gauge("mybroker_gateway_read_model_bytes", "Bytes held by the read model's cache")


class DossierVersions:
    """Per dossier, how many changes this instance heard in the current epoch of its bus
    connection; no version at all while not synchronised or just after a change."""

    def __init__(self, *, settle_seconds: float = SETTLE_SECONDS,
                 max_dossiers: int = MAX_DOSSIERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settle = settle_seconds
        self._max_dossiers = max_dossiers
        self._clock = clock
        self._epoch: str | None = None
        self._since = 0.0
        self._counts: dict[str, int] = {}
        self._changed_at: dict[str, float] = {}
        self.on_reset: list[Callable[[], None]] = []
        self.on_change: list[Callable[[str], None]] = []

    @property
    def synchronised(self) -> bool:
        """Whether changes are heard now."""
        return self._epoch is not None

    def synchronise(self) -> None:
        """The listener consumes (again): a new epoch, every version heard before dropped."""
        self._epoch = new_id()[:12]
        self._since = self._clock()
        self._forget()

    def desynchronise(self) -> None:
        """The bus connection is lost: no version is known until the listener is back."""
        self._epoch = None
        self._forget()

    def _forget(self) -> None:
        self._counts.clear()
        self._changed_at.clear()
        for reset in self.on_reset:
            reset()

    def changed(self, dossier_id: str) -> None:
        """A change of `dossier_id` was heard (or acknowledged to this instance)."""
        if self._epoch is None:
            return
        if dossier_id not in self._counts and len(self._counts) >= self._max_dossiers:
            self.synchronise()  # bounded: a fresh epoch instead of an ever-growing map
        self._counts[dossier_id] = self._counts.get(dossier_id, 0) + 1
        self._changed_at[dossier_id] = self._clock()
        for change in self.on_change:
            change(dossier_id)

    def version(self, dossier_id: str) -> str | None:
        """The dossier's version in this instance, or None: not synchronised, or settling."""
        if self._epoch is None:
            return None
        now = self._clock()
        if now - self._since < self._settle:
            return None
        changed_at = self._changed_at.get(dossier_id)
        if changed_at is not None and now - changed_at < self._settle:
            return None
        return f"{self._epoch}.{self._counts.get(dossier_id, 0)}"


@dataclass
class _Entry:
    value: Any
    size: int


def size_of(value: bytes | str) -> int:
    """The memory a kept answer takes: its bytes, or a string's whole object (a page with a
    "€" takes two bytes a character). Only these are kept: anything else would be counted
    short of what it holds."""
    if not isinstance(value, bytes | str):
        raise TypeError(f"the read model keeps bytes or text, not {type(value).__name__}")
    return sys.getsizeof(value)


@dataclass
class AnswerCache:
    """Answers by key, bounded in bytes; the least recently used go first. Each key's first
    element is its dossier id: a change of a dossier drops its answers at once."""

    max_bytes: int = CACHE_BYTES
    max_entry_bytes: int = ENTRY_MAX_BYTES
    _entries: "OrderedDict[tuple[Hashable, ...], _Entry]" = field(default_factory=OrderedDict)
    _by_dossier: dict[str, set[tuple[Hashable, ...]]] = field(default_factory=dict)
    size: int = 0

    def get(self, key: tuple[Hashable, ...]) -> Any | None:
        """The value kept under `key`, now the most recently used; None if none."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(self, key: tuple[Hashable, ...], value: Any, size: int) -> None:
        """Keep `value` (about `size` bytes) under `key`, evicting the least recently used."""
        if size > self.max_entry_bytes:
            return
        self._drop(key)
        self._entries[key] = _Entry(value, size)
        self._by_dossier.setdefault(str(key[0]), set()).add(key)
        self.size += size
        while self.size > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))
        cache_bytes.set(self.size)

    def _drop(self, key: tuple[Hashable, ...]) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.size -= entry.size
        keys = self._by_dossier.get(str(key[0]))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_dossier[str(key[0])]

    def drop_dossier(self, dossier_id: str) -> None:
        """Forget every answer of `dossier_id`."""
        for key in list(self._by_dossier.get(dossier_id, ())):
            self._drop(key)
        cache_bytes.set(self.size)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self._by_dossier.clear()
        self.size = 0
        cache_bytes.set(0)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Answer:
    """A read: its value (a reply model, or a JSON body), and its ETag when versioned."""

    value: Any
    etag: str | None
    not_modified: bool = False


def etag_of(version: str, key: tuple[Hashable, ...]) -> str:
    """A weak ETag of one answer of one version (never the same for another query)."""
    digest = hashlib.blake2b(f"{version}|{key!r}".encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (or is `*`)."""
    if not if_none_match:
        return False
    tags = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


class ReadModel:
    """The versions and the cache together: what a route asks for a dossier read."""

    def __init__(self, versions: DossierVersions | None = None,
                 cache: AnswerCache | None = None) -> None:
        self.versions = versions or DossierVersions()
        self.cache = cache or AnswerCache()
        self.versions.on_reset.append(self.cache.clear)
        self.versions.on_change.append(self.cache.drop_dossier)

    async def read(
        self, dossier_ids: tuple[str, ...], key: tuple[Hashable, ...],
        produce: Callable[[], Awaitable[bytes | str]], *, if_none_match: str | None = None,
    ) -> Answer:
        """The answer `produce` gives for `key`, of the dossiers `dossier_ids` (the caller is
        authorized for each): from the cache when the versions are known and it was read
        before, `not_modified` when `if_none_match` names its ETag."""
        version = self._version(dossier_ids)
        if version is None:
            reads.labels("uncached").inc()
            return Answer(await produce(), None)
        full_key = (dossier_ids[0], version, dossier_ids, *key)
        etag = etag_of(version, full_key)
        if matches(if_none_match, etag):
            reads.labels("not_modified").inc()
            return Answer(None, etag, not_modified=True)
        kept = self.cache.get(full_key)
        if kept is not None:
            reads.labels("hit").inc()
            return Answer(kept, etag)
        reads.labels("miss").inc()
        value = await produce()
        if self._version(dossier_ids) != version:  # changed meanwhile: not kept, no ETag
            return Answer(value, None)
        self.cache.put(full_key, value, size_of(value))
        return Answer(value, etag)

    async def read_reply(self, dossier_ids: tuple[str, ...], key: tuple[Hashable, ...],
                         produce: Callable[[], Awaitable[ReplyT]], reply: type[ReplyT]) -> ReplyT:
        """A service's reply through `read`, kept as its JSON: the objects of a reply take five
        to seven times the bytes of its JSON, so only a kept serialization is what the cache's
        bound counts. Read back, it is validated again (tens of microseconds a page)."""

        async def as_json() -> bytes:
            return (await produce()).model_dump_json().encode()

        return reply.model_validate_json((await self.read(dossier_ids, key, as_json)).value)

    def kept(self, dossier_ids: tuple[str, ...], key: tuple[Hashable, ...], *,
             if_none_match: str | None = None) -> Answer | None:
        """What `read` would answer without producing: the kept answer (or `not_modified`),
        None when there is none for the current versions."""
        version = self._version(dossier_ids)
        if version is None:
            return None
        full_key = (dossier_ids[0], version, dossier_ids, *key)
        etag = etag_of(version, full_key)
        if matches(if_none_match, etag):
            reads.labels("not_modified").inc()
            return Answer(None, etag, not_modified=True)
        value = self.cache.get(full_key)
        if value is None:
            return None
        reads.labels("hit").inc()
        return Answer(value, etag)

    def etag(self, dossier_ids: tuple[str, ...], key: tuple[Hashable, ...]) -> str | None:
        """The ETag `read` gives the answer of `key` now (None: no version known), without
        looking anything up: a route may answer 304 before it produces anything."""
        version = self._version(dossier_ids)
        if version is None:
            return None
        return etag_of(version, (dossier_ids[0], version, dossier_ids, *key))

    def _version(self, dossier_ids: tuple[str, ...]) -> str | None:
        versions = [self.versions.version(dossier_id) for dossier_id in dossier_ids]
        if not versions or any(version is None for version in versions):
            return None
        return ",".join(version for version in versions if version is not None)


def dossier_of(body: bytes) -> str | None:
    """The `dossier_id` of an event's JSON body, if it names one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    dossier_id = payload.get("dossier_id") if isinstance(payload, dict) else None
    return dossier_id if isinstance(dossier_id, str) and dossier_id else None


class DossierEventListener:
    """Feeds the versions from the events exchange: synchronised once consuming, not from a
    lost connection until aio-pika restored the queue and its consumer, then a new epoch."""

    def __init__(self, amqp_url: str, versions: DossierVersions, *,
                 exchange: str = EVENTS_EXCHANGE, reconnect_seconds: float = 1.0) -> None:
        self._amqp_url = amqp_url
        self._versions = versions
        self._exchange = exchange
        self._reconnect_seconds = reconnect_seconds
        self._connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        """Connect, declare and bind this instance's queue, consume; then synchronised."""
        connection = await aio_pika.connect_robust(
            self._amqp_url, reconnect_interval=self._reconnect_seconds)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self._exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(
                f"gateway.dossier-versions.{new_id()}", exclusive=True, auto_delete=True)
            for routing_key in ROUTING_KEYS:
                await queue.bind(exchange, routing_key=routing_key)
            await queue.consume(self._on_message, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        connection.close_callbacks.add(self._on_lost)
        connection.reconnect_callbacks.add(self._on_reconnected)
        self._connection = connection
        self._versions.synchronise()
        log.info("dossier read model synchronised")

    def _on_lost(self, *_: object) -> None:
        if self._versions.synchronised:
            log.warning("dossier read model not synchronised: reads go to the service")
        self._versions.desynchronise()

    def _on_reconnected(self, *_: object) -> None:
        log.info("dossier read model synchronised again; versions heard before are dropped")
        self._versions.synchronise()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        dossier_id = dossier_of(message.body)
        if dossier_id is not None:
            self._versions.changed(dossier_id)

    async def close(self) -> None:
        """Stop listening; no version is known any more."""
        self._versions.desynchronise()
        if self._connection is not None:
            self._connection.close_callbacks.discard(self._on_lost)
            await self._connection.close()
            self._connection = None

