"""The gateway's read model on its own: versions, settling, the byte-bounded cache, ETags."""

import asyncio
import sys
from typing import Any

import pytest

from gateway.read_model import (
    AnswerCache,
    DossierVersions,
    ReadModel,
    dossier_of,
    etag_of,
    matches,
)
from libs.contracts.dossier import DossierSummaries, DossierSummary


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_version_until_synchronised_nor_while_settling() -> None:
    clock = Clock()
    versions = DossierVersions(settle_seconds=1.0, clock=clock)
    assert versions.version("D1") is None  # the listener does not consume yet
    versions.synchronise()
    assert versions.version("D1") is None  # just (re)connected: settling
    clock.now += 1.5
    first = versions.version("D1")
    assert first is not None
    versions.changed("D1")
    assert versions.version("D1") is None  # an import is writing it
    assert versions.version("D2") is not None  # another dossier is not concerned
    clock.now += 1.5
    second = versions.version("D1")
    assert second is not None and second != first


def test_a_lost_connection_forgets_every_version_and_a_new_epoch_starts() -> None:
    clock = Clock()
    versions = DossierVersions(settle_seconds=0.0, clock=clock)
    versions.synchronise()
    before = versions.version("D1")
    versions.desynchronise()
    assert versions.version("D1") is None
    versions.changed("D1")  # heard nothing meanwhile: ignored
    versions.synchronise()
    after = versions.version("D1")
    assert after is not None and after != before  # no answer of the old epoch is served


def test_the_cache_is_bounded_in_bytes_least_recently_used_first() -> None:
    cache = AnswerCache(max_bytes=100, max_entry_bytes=60)
    cache.put(("D1", "a"), b"a" * 40, 40)
    cache.put(("D1", "b"), b"b" * 40, 40)
    assert cache.get(("D1", "a")) is not None  # now the most recently used
    cache.put(("D2", "c"), b"c" * 40, 40)
    assert cache.get(("D1", "b")) is None  # evicted
    assert cache.get(("D1", "a")) is not None and cache.get(("D2", "c")) is not None
    assert cache.size == 80
    cache.put(("D2", "big"), b"x" * 61, 61)  # too big to keep
    assert cache.get(("D2", "big")) is None
    cache.drop_dossier("D1")
    assert cache.get(("D1", "a")) is None and cache.size == 40


def test_a_read_is_kept_per_version_and_etag_and_not_kept_if_it_changed_meanwhile() -> None:
    versions = DossierVersions(settle_seconds=0.0)
    model = ReadModel(versions, AnswerCache())
    versions.synchronise()
    produced: list[int] = []

    async def produce() -> bytes:
        produced.append(1)
        return b"answer"

    async def changing() -> bytes:
        versions.changed("D1")  # an import lands while the service answers
        return b"half old"

    async def scenario() -> None:
        first = await model.read(("D1",), ("q",), produce)
        again = await model.read(("D1",), ("q",), produce)
        assert (first.value, again.value, len(produced)) == (b"answer", b"answer", 1)
        assert first.etag is not None and first.etag == again.etag
        assert (await model.read(("D1",), ("q",), produce, if_none_match=first.etag)
                ).not_modified
        assert not (await model.read(("D1",), ("other",), produce,
                                     if_none_match=first.etag)).not_modified
        assert not (await model.read(("D2",), ("q",), produce,
                                     if_none_match=first.etag)).not_modified
        versions.changed("D1")
        fresh = await model.read(("D1",), ("q",), produce)
        assert len(produced) == 4 and fresh.etag != first.etag
        raced = await model.read(("D1",), ("r",), changing)
        assert raced.etag is None  # neither kept nor tagged
        assert (await model.read(("D1",), ("r",), produce)).value == b"answer"

    asyncio.run(scenario())


def test_if_none_match_and_event_bodies() -> None:
    tag = etag_of("e.1", ("D1", "q"))
    assert matches(tag, tag) and matches(f'"x", {tag}', tag) and matches("*", tag)
    assert matches(tag.removeprefix("W/"), tag)
    assert not matches(None, tag) and not matches('W/"other"', tag)
    assert dossier_of(b'{"dossier_id": "D1", "change": "created"}') == "D1"
    assert dossier_of(b'{"change": "created"}') is None
    assert dossier_of(b"not json") is None


def test_a_service_reply_is_kept_as_its_json_so_the_bound_counts_what_it_holds() -> None:
    """A reply's objects take five to seven times its JSON; kept as JSON, the cache's size is
    the memory it holds, and the reply read back equals the one the service gave."""
    versions = DossierVersions(settle_seconds=0.0)
    model = ReadModel(versions, AnswerCache())
    versions.synchronise()
    reply = DossierSummaries(dossiers=[
        DossierSummary(dossier_id=f"DOS-2024-{number:05}", name=f"Familie Peeters {number}",
                       person_count=3, contract_count=number)
        for number in range(50)])
    calls: list[int] = []

    async def service() -> DossierSummaries:
        calls.append(1)
        return reply

    async def scenario() -> None:
        first = await model.read_reply(("D1",), ("summaries",), service, DossierSummaries)
        again = await model.read_reply(("D1",), ("summaries",), service, DossierSummaries)
        assert first == reply and again == reply and len(calls) == 1
        assert model.cache.size == sys.getsizeof(reply.model_dump_json().encode())

    asyncio.run(scenario())


def test_the_cache_refuses_what_it_could_not_count() -> None:
    model = ReadModel(DossierVersions(settle_seconds=0.0), AnswerCache())
    model.versions.synchronise()

    async def a_model() -> Any:
        return DossierSummaries(dossiers=[])

    with pytest.raises(TypeError, match="bytes or text"):
        asyncio.run(model.read(("D1",), ("q",), a_model))
