"""Benchmark of the servicekit RPC over RabbitMQ (loopback): calls/s and latency percentiles.

Starts one answering subscriber (a trivial echo) in this process and calls it sequentially and
with N calls in flight, for comparison with faststream's `broker.request()` (DESIGN.md §4).

    python tests/load/bench_rpc.py --amqp-url amqp://guest:guest@127.0.0.1:5672/ --calls 2000
"""

import argparse
import asyncio
import statistics
import time
import uuid

from pydantic import BaseModel

from libs.contracts.rpc import RpcMethod
from libs.servicekit.bus import create_broker
from libs.servicekit.rpc import RpcClient, serve_rpc


class Echo(BaseModel):
    text: str


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _measure(client: RpcClient, method: RpcMethod[Echo, Echo], calls: int,
                   in_flight: int) -> str:
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with semaphore:
            started = time.perf_counter()
            await client.call(method, Echo(text=str(i)))
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return (f"in flight {in_flight:>3}: {calls / elapsed:8.0f} calls/s  "
            f"p50 {_percentile(latencies, 0.5) * 1000:6.1f} ms  "
            f"p95 {_percentile(latencies, 0.95) * 1000:6.1f} ms  "
            f"p99 {_percentile(latencies, 0.99) * 1000:6.1f} ms  "
            f"(mean {statistics.fmean(latencies) * 1000:.1f} ms)")


async def main() -> None:
    """Run the benchmark and print one line per concurrency level."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    method = RpcMethod(f"bench.rpc.echo.{uuid.uuid4().hex[:8]}", Echo, Echo)
    broker = create_broker(args.amqp_url, "bench")

    async def echo(request: Echo) -> Echo:
        return request

    serve_rpc(broker, method, echo, prefetch=64)
    await broker.start()
    client = RpcClient(args.amqp_url)
    await client.connect()
    try:
        for in_flight in (1, 16, 64):
            print(await _measure(client, method, args.calls, in_flight))
    finally:
        await client.close()
        await broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
