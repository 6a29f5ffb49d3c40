import asyncio

from libs.servicekit.errors import Unavailable
from libs.servicekit.lease import Lease
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


class _SlowToStopLeases:
    """A leases collection whose update is still unwinding when the renewer is cancelled: the
    stop of a service arrives while the lease's block waits for its renewer to end."""

    def __init__(self) -> None:
        self.updates = 0
        self.renewer_stopping = asyncio.Event()

    async def update_one(self, *_: object) -> object:
        self.updates += 1
        if self.updates == 1:  # the first acquire: the lease is ours
            return type("Updated", (), {"matched_count": 1})()
        try:  # the renewal: slow, as a database call across a loaded machine
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            self.renewer_stopping.set()
            await asyncio.sleep(0.2)  # the driver gives its connection back first
            raise
        raise AssertionError("never reached")

    async def delete_one(self, *_: object) -> None:
        return None


async def test_a_stop_that_arrives_while_the_lease_s_renewer_ends_still_stops_the_job() -> None:
    leases = _SlowToStopLeases()
    database = {"leases": leases}
    lease = Lease(database, "digest", holder="replica-1", ttl_seconds=0.03)  # type: ignore[arg-type]
    job_done = asyncio.Event()

    async def job() -> None:
        await asyncio.sleep(0.05)  # the renewer is inside its renewal by now
        job_done.set()

    task = asyncio.create_task(run_every(0.001, job, name="digest", lease=lease))
    await asyncio.wait_for(job_done.wait(), timeout=5)
    await asyncio.wait_for(leases.renewer_stopping.wait(), timeout=5)
    task.cancel()  # the service stops: the lease's block is waiting for its renewer
    finished, _ = await asyncio.wait({task}, timeout=2)
    assert task in finished, "the job's task swallowed its cancellation and runs on"
    assert task.cancelled()
