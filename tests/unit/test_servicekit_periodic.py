import asyncio

from libs.servicekit.errors import Unavailable
from libs.servicekit.periodic import run_every


async def test_a_periodic_job_outlives_a_failed_round_and_an_absent_database() -> None:
    rounds: list[str] = []
    done = asyncio.Event()

    async def job() -> None:
        rounds.append(f"round {len(rounds) + 1}")
        if len(rounds) == 1:
            raise RuntimeError("a bad document")
        if len(rounds) == 2:
            raise Unavailable("the database is away")
        done.set()

    task = asyncio.create_task(run_every(0.01, job, name="test job"))
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        task.cancel()
    assert rounds[:3] == ["round 1", "round 2", "round 3"]


async def test_a_periodic_job_stops_when_cancelled() -> None:
    rounds = 0
    ran = asyncio.Event()

    async def job() -> None:
        nonlocal rounds
        rounds += 1
        ran.set()

    task = asyncio.create_task(run_every(0.01, job, name="counting"))
    await asyncio.wait_for(ran.wait(), timeout=5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    counted = rounds
    await asyncio.sleep(0.05)
    assert task.cancelled() and counted > 0 and rounds == counted
