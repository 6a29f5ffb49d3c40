"""The gateway lets a bounded number of logins reach auth; a flood beyond it gets 503 at once."""

import asyncio

import pytest

from gateway.login_gate import LoginGate
from libs.servicekit.errors import Unavailable


async def test_logins_beyond_the_slots_and_the_line_are_refused_at_once() -> None:
    gate = LoginGate(in_flight=2, waiting=1, max_wait_seconds=5)
    release = asyncio.Event()
    inside = 0

    async def login() -> None:
        nonlocal inside
        async with gate.admitted():
            inside += 1
            await release.wait()

    admitted = [asyncio.create_task(login()) for _ in range(3)]  # two at auth, one in line
    await asyncio.sleep(0)  # one turn of the loop: each login runs until it holds or waits
    assert inside == 2
    loop_turned = asyncio.Event()
    asyncio.get_running_loop().call_soon(loop_turned.set)
    with pytest.raises(Unavailable) as refused:
        async with gate.admitted():
            pass
    # Refused without waiting at all: the event loop did not even turn once meanwhile.
    assert not loop_turned.is_set()
    assert refused.value.fields == {"retry_after": "2"}
    assert "Too many log-ins at the moment" in refused.value.detail
    release.set()
    await asyncio.gather(*admitted)
    assert inside == 3  # the one in line went through once a slot was free


async def test_a_login_waiting_longer_than_the_bound_is_refused() -> None:
    gate = LoginGate(in_flight=1, waiting=5, max_wait_seconds=0.1)
    release = asyncio.Event()

    async def slow_login() -> None:
        async with gate.admitted():
            await release.wait()

    holder = asyncio.create_task(slow_login())
    await asyncio.sleep(0)  # the holder takes the only slot
    with pytest.raises(Unavailable):
        async with gate.admitted():
            pass
    assert not holder.done()  # refused after the bound, not once the slot came free
    release.set()
    await holder
    async with gate.admitted():  # the slot is free again
        pass
