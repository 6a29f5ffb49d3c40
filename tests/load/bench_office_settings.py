"""Benchmark: how soon a change of the office settings shows on the login page, by the event
alone (no restart, no call through this gateway).

Starts a stack of its own (like bench_request_events) on the infrastructure
`deploy.local.stack test` provides. Then N times: the office admin's change is sent straight to
auth (UPDATE_OFFICE over the bus, as another gateway replica would), and the login page is
polled until it shows the new name; the time from auth's answer to the page showing it is the
figure (outbox relay + event + this gateway's instance queue). Prints p50/p99/max.

    python -m deploy.local.stack test -- .venv/bin/python -m tests.load.bench_office_settings \
        --changes 30

The figures are printed, not asserted.
"""

import argparse
import asyncio
import html
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from deploy.local.seed_demo import bearer, log_in
from libs.contracts import office
from libs.contracts.caller import Caller, Role
from libs.servicekit.rpc import RpcClient
from tests.load.bench_request_events import percentile, start_stack

POLL_SECONDS = 0.01
GIVE_UP_SECONDS = 30.0


async def measure(amqp_url: str, base: str, admin_id: str, changes: int) -> list[float]:
    """Seconds from auth's answer to the login page showing the change, per change."""
    rpc = RpcClient(amqp_url, timeout_seconds=10)
    await rpc.connect()
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10.0) as gateway:
            for number in range(changes):
                current = await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
                name = f"Kantoor {number} {uuid.uuid4().hex[:6]}"
                settings = office.OfficeSettings(**current.model_dump(
                    include=set(office.OfficeSettings.model_fields)))
                await rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
                    caller=Caller(user_id=admin_id, role=Role.ADMIN),
                    settings=settings.model_copy(update={"name": name}),
                    expected_version=current.version))
                changed_at = time.perf_counter()
                while html.escape(name) not in (await gateway.get("/login")).text:
                    if time.perf_counter() - changed_at > GIVE_UP_SECONDS:
                        raise RuntimeError(f"change {number} did not show in 30 s")
                    await asyncio.sleep(POLL_SECONDS)
                latencies.append(time.perf_counter() - changed_at)
    finally:
        await rpc.close()
    return latencies


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--changes", type=int, default=30)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-office-settings-") as directory:
        group, config = start_stack(Path(directory), 0)
        try:
            with httpx.Client(base_url=config.gateway_url, timeout=30.0) as gateway:
                staff = log_in(gateway, config.admin_email, config.admin_password)["access_token"]
                admin_id = gateway.get("/api/v1/me", headers=bearer(staff)).json()["user_id"]
            latencies = asyncio.run(measure(config.amqp_url, config.gateway_url, admin_id,
                                            arguments.changes))
            print(f"office settings change at auth -> shown on the login page, "
                  f"{len(latencies)} changes: p50 {percentile(latencies, 0.5):.1f} ms  "
                  f"p99 {percentile(latencies, 0.99):.1f} ms  "
                  f"max {1000 * max(latencies):.1f} ms")
        finally:
            group.stop_all()


if __name__ == "__main__":
    main()
