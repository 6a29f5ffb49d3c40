"""The outbox relay's back-off while the bus is away: short enough that a backlog goes out
within seconds of the bus coming back."""

import asyncio
from typing import Any

from libs.servicekit.outbox import RETRY_SECONDS_AT_MOST, OutboxRelay


class AwayBus(OutboxRelay):
    """A relay whose every pass fails, as when RabbitMQ is down."""

    def __init__(self) -> None:
        self._wakeup = asyncio.Event()
        self._poll_seconds = 1.0

        class AlwaysMine:
            async def acquire(self) -> bool:
                return True

            async def release(self) -> None:
                return None

        self._lease: Any = AlwaysMine()

    async def relay_pending(self) -> int:
        raise ConnectionError("the bus is away")


async def test_the_retry_delay_doubles_then_stays_short_while_the_bus_is_away() -> None:
    relay = AwayBus()
    delays, delay = [], 1.0
    for _ in range(8):
        delay = await relay._one_pass(delay)
        delays.append(delay)

    assert delays[:2] == [2.0, 4.0]
    assert max(delays) == RETRY_SECONDS_AT_MOST <= 5.0


class QuietRelay(AwayBus):
    """A relay with nothing to publish, whose lease is always its own."""

    async def relay_pending(self) -> int:
        return 0


async def test_a_stop_that_comes_with_a_wake_up_still_stops_the_relay() -> None:
    relay = QuietRelay()
    running = asyncio.create_task(relay.run())
    await asyncio.sleep(0.01)  # the relay waits for a write or its next timed pass
    relay.notify()  # a write, at the very moment the service stops
    running.cancel()
    finished, _ = await asyncio.wait({running}, timeout=2)
    assert running in finished, "the relay swallowed its stop and runs on"
    assert running.cancelled()
