"""Benchmark: mails one notifier process hands to the SMTP sink per second, with its pooled SMTP
connections (kept open between mails) against one connection per mail, in the same run; then
the notifier's resident memory once the burst is over and it idles.

For each mode, a notifier process (python -m services.notifier) is started on the
infrastructure of `make test`'s wrapper (its own database, the run's vhost) towards an SMTP
sink in this process (aiosmtpd, counting what it accepts); --mails invitation events are
published onto the bus at once, and the rate is taken between the first and the last mail the
sink accepted, the events published beforehand while the notifier was stopped (so the
publishing is not measured). The notifier's CPU time (utime + stime of /proc/<pid>/stat) over the
same span gives CPU ms per mail and mails per CPU-second: the figure that stays comparable on a
busy machine. Each mail is one event, claimed in the
database before the hand-off and recorded after it, as in production.

    .venv/bin/python -m deploy.local.stack test -- \
        .venv/bin/python -m tests.load.bench_mail_throughput --mails 2000

Loopback only; the sink and the publisher share the 2 cores with the notifier and the
database: compare, don't quote. The target is >= 200 mails/s pooled.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aio_pika
from aiosmtpd.controller import Controller

from deploy.local.processes import ProcessGroup, free_port, http_ok
from libs.contracts.auth import InvitationCreated
from libs.contracts.topology import EVENTS_EXCHANGE

REPOSITORY = Path(__file__).resolve().parents[2]
TARGET_PER_SECOND = 200.0


class CountingSink:
    """Counts the mails it accepts (distinct Message-IDs) and when the first and last came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: set[str] = set()
        self.taken = 0
        self.first = 0.0
        self.last = 0.0
        self.pid = 0  # the notifier's, once started: its CPU time is read at the first mail
        self.cpu_first = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        now = time.perf_counter()
        with self.lock:
            self.taken += 1
            self.message_ids.add(str(mail["Message-ID"]))
            if not self.first and self.pid:
                self.cpu_first = cpu_seconds(self.pid)
            self.first = self.first or now
            self.last = now
        return "250 Message accepted for delivery"


def rss_mb(pid: int) -> float:
    """The process's resident memory (VmRSS) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system, /proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish(amqp_url: str, count: int, tag: str) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        expires = datetime.now(UTC) + timedelta(days=7)
        pending = []
        for number in range(count):
            event = InvitationCreated(
                dossier_id=None, invitation_id=f"{tag}-{number}", user_id=f"u-{tag}-{number}",
                email=f"bench-{tag}-{number}@example.com", display_name="Bench Client",
                language="nl", activation_token=uuid.uuid4().hex, expires_at=expires)
            pending.append(exchange.publish(aio_pika.Message(
                event.model_dump_json().encode(), content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=InvitationCreated.routing_key))
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await connection.close()


def run_mode(name: str, keep_alive: float, args: argparse.Namespace, group: ProcessGroup,
             run_id: str) -> dict[str, float]:
    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    health = free_port()
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("MYBROKER_")} | {
        "MYBROKER_ENVIRONMENT": "test", "MYBROKER_LOG_LEVEL": "WARNING",
        "MYBROKER_AMQP_URL": args.amqp_url, "MYBROKER_MONGO_URL": args.mongo_url,
        "MYBROKER_MONGO_DB_PREFIX": f"bench_{run_id}_{name}",
        "MYBROKER_NOTIFIER_HEALTH_PORT": str(health),
        "MYBROKER_NOTIFIER_SMTP_HOST": "127.0.0.1",
        "MYBROKER_NOTIFIER_SMTP_PORT": str(smtp_port),
        "MYBROKER_NOTIFIER_SMTP_KEEP_ALIVE_SECONDS": str(keep_alive),
        "MYBROKER_NOTIFIER_EVENT_PREFETCH": str(args.prefetch),
        "MYBROKER_NOTIFIER_SMS_SINK_DIR": tempfile.mkdtemp(prefix="bench-sms-")}
    process = f"notifier-{name}"
    try:
        def start() -> None:
            started = group.start(process, [sys.executable, "-m", "services.notifier"],
                                  env=environment, cwd=REPOSITORY)
            sink.pid = started.pid  # (setpriv execs the notifier: the same pid)
            group.wait_until(process, lambda: http_ok(f"http://127.0.0.1:{health}/health/ready"),
                             timeout=60, what="ready")

        # The first start declares the queues; the events wait in them while the notifier is
        # stopped, so the second start drains a full queue: the notifier's pace, not the
        # publisher's.
        start()
        group.stop(process)
        sink.pid = 0
        started = time.perf_counter()
        asyncio.run(publish(args.amqp_url, args.mails, f"{run_id}{name}"))
        published = time.perf_counter() - started
        start()
        deadline = time.monotonic() + args.timeout
        while sink.taken < args.mails and time.monotonic() < deadline:
            time.sleep(0.05)
        seconds = max(sink.last - sink.first, 1e-9)
        rate = (sink.taken - 1) / seconds if sink.taken > 1 else 0.0
        pid = group.processes[process].pid
        # From the first mail accepted to the last (the last few records settle meanwhile).
        cpu = max(cpu_seconds(pid) - sink.cpu_first, 1e-9) if sink.cpu_first else float("nan")
        handled = max(sink.taken - 1, 1)
        time.sleep(args.idle)  # the burst is over: the notifier idles
        return {"mails": sink.taken, "distinct": len(sink.message_ids), "seconds": seconds,
                "per_second": rate, "published_s": published, "idle_rss_mb": rss_mb(pid),
                "cpu_ms_per_mail": cpu * 1000 / handled, "per_cpu_second": handled / cpu}
    finally:
        group.stop(process)
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds of idling after the burst before the RSS is read")
    parser.add_argument("--prefetch", type=int, default=16,
                        help="events the notifier handles at once (its event_prefetch)")
    parser.add_argument("--amqp-url", default=os.environ.get("MYBROKER_TEST_AMQP_URL", ""))
    parser.add_argument("--mongo-url", default=os.environ.get("MYBROKER_TEST_MONGO_URL", ""))
    args = parser.parse_args()
    if not (args.amqp_url and args.mongo_url):
        parser.error("run it under `python -m deploy.local.stack test --` (or give the URLs)")
    run_id = uuid.uuid4().hex[:6]
    group = ProcessGroup(Path(tempfile.mkdtemp(prefix="bench-mail-")) / "logs")
    results = {}
    try:
        for name, keep_alive in (("pooled", 10.0), ("per-mail", 0.0)):
            results[name] = run_mode(name, keep_alive, args, group, run_id)
    finally:
        group.stop_all()
    print(f"\n{args.mails} invitation events, one notifier process each mode, "
          f"event prefetch {args.prefetch}")
    print(f"{'mode':<10} {'mails':>6} {'distinct':>8} {'seconds':>8} {'mails/s':>8} "
          f"{'CPU ms/mail':>11} {'mails/CPU-s':>11} {'idle RSS MB':>11} {'publish s':>9}")
    for name, figures in results.items():
        print(f"{name:<10} {figures['mails']:>6.0f} {figures['distinct']:>8.0f} "
              f"{figures['seconds']:>8.2f} {figures['per_second']:>8.1f} "
              f"{figures['cpu_ms_per_mail']:>11.2f} {figures['per_cpu_second']:>11.1f} "
              f"{figures['idle_rss_mb']:>11.1f} {figures['published_s']:>9.1f}")
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
    pooled, single = results["pooled"]["per_second"], results["per-mail"]["per_second"]
    print(f"pooled / per-mail: {pooled / single if single else float('nan'):.2f}x; "
          f"target >= {TARGET_PER_SECOND:.0f} mails/s pooled: "
          f"{'met' if pooled >= TARGET_PER_SECOND else 'NOT met'}")


if __name__ == "__main__":
    main()
