"""Benchmark: a client's submission (HTTP 201) -> the office's mail handed to SMTP, at fixed rates.

Starts its own stack (every service and the gateway as processes, as the system tests do) on
the infrastructure of `make test`'s wrapper, imports --dossiers copies of a fixture dossier and
invites clients to them (at most 100 dossiers each), then, for each kind and each rate, sends
submissions through the gateway at that fixed rate (open loop: one every 1/rate s, whatever the
answers) for --seconds. Each office mail is matched to its submission by the request id in its
desk link; its latency is from the moment the submission was sent to the moment the SMTP sink
stored it (the Maildir file's mtime): what a client's click costs until the office's mailbox.

    .venv/bin/python -m deploy.local.stack test -- \
        .venv/bin/python -m tests.load.bench_request_mails --rates 50,100,150

Kinds: `message` (POST /api/v1/dossiers/{id}/messages) and each form kind whose JSON route
(POST /api/v1/dossiers/{id}/forms/{kind}) the gateway serves; a kind it does not serve is
reported and skipped. `--events` adds kind `event`: RequestSubmitted published straight onto
the bus at the same rates (the notifier's share alone: bus, notifier, SMTP sink).

What "handed to SMTP" means with the office's one-minute digest: the first submission of a quiet
dossier (for its office address) is mailed at once; what the dossier sends within the following
window is gathered into one digest (by design: the office asked for one mail per burst). This
benchmark measures the at-once path: the stack's digest window is --window seconds (2, as the
system tests) instead of 60, and submissions go round-robin over the dossiers, so a dossier is
used again only after more than the window (the run refuses a rate too high for that). Any mail
that still went into a digest is counted as `digested` and left out of the latencies. The
per-account submission limit (5 messages, then one per 12 s) is raised: the figures stand for
many clients each sending one request, not for one client flooding the office.

Loopback only; the load generator shares the 2 cores with the stack: compare, don't quote.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from deploy.local.applications import SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import write_demo_eid
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate, log_in
from tests.system.stack import SystemStack, _storage_and_mail, fixture_dossier, staff_log_in

DESK_LINK = re.compile(r"/admin/desk/([0-9a-f]{32})")
FORM_KINDS = ("personal_data", "address", "family_member", "claim")
# Each client writes in 10 dossiers: the requests service keeps one submission window per
# account (compare-and-set), so a few accounts sending most submissions contend on it (429).
DOSSIERS_PER_CLIENT = 10


@dataclass
class Submission:
    """One submission: when it was sent, how it was answered, which request it made."""

    kind: str
    sent_at: float  # time.time(): comparable with the Maildir file's mtime
    answered_after: float = -1.0
    status: int = 0
    request_id: str = ""


@dataclass
class Phase:
    """One kind at one rate."""

    kind: str
    rate: float
    seconds: float
    submissions: list[Submission] = field(default_factory=list)
    mail_latencies: list[float] = field(default_factory=list)
    missing: int = 0
    digested: int = 0
    elapsed: float = 0.0  # until the last answer


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (nan for none)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _start(base: Path, window: float, claims: str) -> SystemStack:
    run_id = uuid.uuid4().hex[:8]
    group = ProcessGroup(base / "logs")
    storage, mail = _storage_and_mail(group, base)
    keys = write_signing_keys(base / "secrets")
    eid = write_demo_eid(base / "eid")
    settings = {
        "MYBROKER_NOTIFIER_OFFICE_DIGEST_WINDOW_SECONDS": str(window),
        "MYBROKER_NOTIFIER_MAIL_CHECK_SECONDS": "1",
        "MYBROKER_NOTIFIER_OFFICE_ADDRESSES": json.dumps({"claim": claims}),
        # Many clients each sending a request, not one client flooding (see the docstring).
        "MYBROKER_REQUESTS_MESSAGE_BURST": "1000000",
        "MYBROKER_REQUESTS_MESSAGE_INTERVAL_SECONDS": "0.001",
    }
    config = ApplicationConfig(
        environment="test", amqp_url=os.environ["MYBROKER_TEST_AMQP_URL"],
        mongo_url=os.environ["MYBROKER_TEST_MONGO_URL"], mongo_db_prefix=f"bench_{run_id}",
        storage=storage, mail=mail, private_key_path=keys.private_key_path,
        public_key_path=keys.public_key_path, admin_email=f"admin.{run_id}@mybroker.example",
        admin_password=new_password(), office_email=f"office.{run_id}@mybroker.example",
        gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
        s3_bucket=f"bench-{run_id}", extra_environment=settings)
    applications = ApplicationStack(config, group)
    applications.start_all()
    return SystemStack(config=config, applications=applications, group=group, eid=eid)


@dataclass(frozen=True)
class Office:
    """The imported dossiers and the clients who may write in them."""

    dossiers: list[str]
    clients: list[tuple[str, str, list[str]]]  # email, password, dossiers
    template: dict[str, Any]


def _prepare(stack: SystemStack, gateway: httpx.Client, count: int) -> Office:
    template = fixture_dossier("dupont")
    print(f"importing {count} dossiers and inviting their clients", flush=True)
    token = staff_log_in(stack, gateway)
    prefix = f"BENCH-{uuid.uuid4().hex[:6]}"
    dossiers = []
    for number in range(count):
        dossier = {**template, "dossier_id": f"{prefix}-{number:05d}",
                   "broker_reference": f"KL-B{number:05d}"}
        import_dossier(gateway, token, dossier)
        dossiers.append(dossier["dossier_id"])
        if number % 100 == 99:
            token = staff_log_in(stack, gateway)  # access tokens live five minutes
    clients = []
    for start in range(0, count, DOSSIERS_PER_CLIENT):
        granted = dossiers[start:start + DOSSIERS_PER_CLIENT]
        email_address = f"bench.{uuid.uuid4().hex[:8]}@example.com"
        password = new_password()
        invite_and_activate(gateway, staff_log_in(stack, gateway), stack.maildir,
                            email=email_address, display_name="Bench Client",
                            dossier_ids=granted, password=password)
        clients.append((email_address, password, granted))
    return Office(dossiers=dossiers, clients=clients, template=template)


def _payload(kind: str, office: Office, number: int) -> tuple[str, dict[str, Any]]:
    """The path (under the dossier) and JSON body of submission `number` of `kind`."""
    marker = f"bench {kind} {number}"
    if kind == "message":
        return "messages", {"subject": marker, "body": "Benchmark: is dit verzekerd?"}
    persons = office.template["persons"]
    today = date.today()
    payloads: dict[str, dict[str, Any]] = {
        "personal_data": {"person_id": persons[0]["person_id"],
                          "phone": f"+32 470 {number % 1000:03d} {number % 997:03d}"},
        "address": {"start_date": (today + timedelta(days=30)).isoformat(),
                    "street": "Veldstraat", "number": str(1 + number % 300),
                    "postal_code": "9000", "municipality": "Gent",
                    "person_ids": [person["person_id"] for person in persons]},
        "family_member": {"member_kind": "child", "last_name": "Dupont",
                          "first_name": f"Bench{number}", "birth_date": "2024-05-01"},
        "claim": {"risk_object_ids": [office.template["risk_objects"][0]["risk_object_id"]],
                  "loss_date": (today - timedelta(days=1)).isoformat(), "loss_time": "14:30",
                  "description": f"Benchmark: {marker}", "vat_liable": False},
    }
    return f"forms/{kind}", {"payload": payloads[kind], "remark": marker,
                             "idempotency_key": f"bench-{uuid.uuid4().hex}"}


async def _tokens(gateway_url: str, office: Office) -> list[dict[str, str]]:
    with httpx.Client(base_url=gateway_url, timeout=60.0) as gateway:
        return [bearer(log_in(gateway, address, password)["access_token"])
                for address, password, _ in office.clients]


def _client_of(office: Office) -> Callable[[str], int]:
    owner = {dossier: index for index, (_, _, granted) in enumerate(office.clients)
             for dossier in granted}
    return owner.__getitem__


async def _run_phase(gateway_url: str, office: Office, phase: Phase, offset: int) -> None:
    """Send phase.rate submissions a second for phase.seconds, open loop."""
    tokens = await _tokens(gateway_url, office)
    client_of = _client_of(office)
    total = int(phase.rate * phase.seconds)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60.0, limits=limits) as http:

        async def submit(number: int) -> None:
            dossier = office.dossiers[(offset + number) % len(office.dossiers)]
            path, body = _payload(phase.kind, office, number)
            submission = Submission(kind=phase.kind, sent_at=time.time())
            phase.submissions.append(submission)
            started = time.perf_counter()
            try:
                response = await http.post(f"/api/v1/dossiers/{dossier}/{path}", json=body,
                                           headers=tokens[client_of(dossier)])
            except httpx.HTTPError:
                submission.status = -1
                return
            submission.answered_after = time.perf_counter() - started
            submission.status = response.status_code
            if response.status_code in (200, 201):
                submission.request_id = response.json()["request_id"]

        tasks = []
        started = time.perf_counter()
        for number in range(total):
            delay = started + number / phase.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(submit(number)))
        await asyncio.gather(*tasks)
        phase.elapsed = time.perf_counter() - started


async def _run_events(amqp_url: str, phase: Phase, dossiers: int) -> None:
    """Publish RequestSubmitted straight onto the bus at phase.rate a second: the notifier's
    share alone (bus, notifier, SMTP), without the gateway and the requests service."""
    from libs.contracts.requests import RequestSubmitted
    from libs.servicekit.bus import EVENTS, create_broker

    broker = create_broker(amqp_url, "bench-publisher")
    await broker.start()
    try:
        total = int(phase.rate * phase.seconds)
        started = time.perf_counter()
        pending = []
        for number in range(total):
            delay = started + number / phase.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event = RequestSubmitted(
                dossier_id=f"EVENTS-{number % dossiers:05d}", request_id=uuid.uuid4().hex,
                kind="message", subject=f"bench event {number}", sent_by="bench")
            submission = Submission(kind="event", sent_at=time.time(), status=201,
                                    request_id=event.request_id)
            phase.submissions.append(submission)
            pending.append(asyncio.create_task(broker.publish(
                event.model_dump(mode="json"), exchange=EVENTS, routing_key=event.routing_key,
                persist=True)))
        await asyncio.gather(*pending)
        phase.elapsed = time.perf_counter() - started
    finally:
        await broker.stop()


class Mailbox:
    """The SMTP sink's Maildir, read incrementally: request id -> (stored at, digest?)."""

    def __init__(self, maildir: Path, offices: set[str]) -> None:
        self._new = maildir / "new"
        self._offices = offices
        self._seen: set[str] = set()
        self.mails: dict[str, tuple[float, bool]] = {}
        self.digests: list[float] = []

    def read(self) -> None:
        """Read the mails stored since the last call."""
        for path in self._new.iterdir():
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            stored_at = path.stat().st_mtime
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
            if not any(office in str(message.get("To", "")) for office in self._offices):
                continue
            digest = "office-digest" in str(message.get("Message-ID", ""))
            if digest:
                self.digests.append(stored_at)
            part = message.get_body(("plain",))
            text = "" if part is None else str(part.get_content())
            for request_id in DESK_LINK.findall(text):
                self.mails.setdefault(request_id, (stored_at, digest))


def _settle(phase: Phase, mailbox: Mailbox, wait: float) -> None:
    """Wait for the phase's mails (at most `wait` s after the last one came), then match."""
    wanted = {s.request_id for s in phase.submissions if s.request_id}
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        mailbox.read()
        if wanted <= mailbox.mails.keys():
            break
        time.sleep(0.5)
    for submission in phase.submissions:
        if not submission.request_id:
            continue
        found = mailbox.mails.get(submission.request_id)
        if found is None:
            phase.missing += 1
        elif found[1]:
            phase.digested += 1
        else:
            phase.mail_latencies.append(found[0] - submission.sent_at)


def _probe(gateway_url: str, office: Office, kind: str) -> str:
    """'' when the gateway takes this kind, else why not."""
    if kind == "message":
        return ""
    [token] = asyncio.run(_tokens(gateway_url, Office(office.dossiers, office.clients[:1],
                                                      office.template)))
    path, body = _payload(kind, office, 0)
    with httpx.Client(base_url=gateway_url, timeout=30.0) as gateway:
        response = gateway.post(f"/api/v1/dossiers/{office.dossiers[-1]}/{path}", json=body,
                                headers=token)
    if response.status_code in (200, 201):
        return ""
    return f"HTTP {response.status_code}: {response.text[:160]}"


def _line(phase: Phase) -> str:
    answers = [s.answered_after * 1000 for s in phase.submissions if s.answered_after >= 0]
    ok = sum(1 for s in phase.submissions if s.status in (200, 201))
    mails = [latency * 1000 for latency in phase.mail_latencies]
    sent = [s.sent_at for s in phase.submissions]
    sending = max(sent, default=0.0) - min(sent, default=0.0)
    sent_rate = (len(sent) - 1) / sending if sending > 0 else float("nan")
    return (f"| {phase.kind} | {phase.rate:.0f} | {sent_rate:.0f} "
            f"| {ok}/{len(phase.submissions)} | {percentile(answers, 0.5):.0f} "
            f"| {percentile(answers, 0.99):.0f} | {percentile(mails, 0.5):.0f} "
            f"| {percentile(mails, 0.99):.0f} | {max(mails, default=float('nan')):.0f} "
            f"| {len(mails)} | {phase.digested} | {phase.missing} |")


def main() -> None:
    """Run the benchmark and print its figures as a Markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--rates", default="50,100,150",
                        help="submissions per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per kind and rate")
    parser.add_argument("--kinds", default="message," + ",".join(FORM_KINDS))
    parser.add_argument("--dossiers", type=int, default=400)
    parser.add_argument("--window", type=float, default=2.0,
                        help="the stack's office digest window (s)")
    parser.add_argument("--events", action="store_true",
                        help="also publish RequestSubmitted straight onto the bus at each rate "
                             "(the notifier's share alone)")
    parser.add_argument("--keep-running", action="store_true",
                        help="after the figures, wait for Ctrl-C (to profile the stack)")
    arguments = parser.parse_args()
    rates = [float(rate) for rate in arguments.rates.split(",")]
    too_fast = [rate for rate in rates if rate * arguments.window * 1.5 > arguments.dossiers]
    if too_fast:
        parser.error(f"--dossiers {arguments.dossiers} is too few for {too_fast}/s: a dossier "
                     f"must stay quiet for the {arguments.window} s window (rate x window x 1.5)")
    with tempfile.TemporaryDirectory(prefix="bench-request-mails-") as directory:
        base = Path(directory)
        claims = f"claims.{uuid.uuid4().hex[:8]}@mybroker.example"
        stack = _start(base, arguments.window, claims)
        try:
            kinds = [kind for kind in arguments.kinds.split(",") if kind]
            office = Office(dossiers=[], clients=[], template={})
            if kinds:  # the events need no dossiers: the notifier does not read them
                with httpx.Client(base_url=stack.gateway_url, timeout=120.0) as gateway:
                    office = _prepare(stack, gateway, arguments.dossiers)
            mailbox = Mailbox(stack.maildir, {stack.config.office_email, claims})
            time.sleep(arguments.window + 1)
            phases: list[Phase] = []
            skipped: dict[str, str] = {}
            offset = 0
            for kind in kinds:
                reason = _probe(stack.gateway_url, office, kind)
                if reason:
                    skipped[kind] = reason
                    continue
                for rate in rates:
                    time.sleep(arguments.window + 1)  # every dossier quiet again
                    phase = Phase(kind=kind, rate=rate, seconds=arguments.seconds)
                    print(f"{kind} at {rate:.0f}/s for {arguments.seconds:.0f} s", flush=True)
                    asyncio.run(_run_phase(stack.gateway_url, office, phase, offset))
                    offset += len(phase.submissions)
                    _settle(phase, mailbox, wait=30.0)
                    phases.append(phase)
                    print(_line(phase), flush=True)
            if arguments.events:
                for rate in rates:
                    time.sleep(arguments.window + 1)
                    phase = Phase(kind="event", rate=rate, seconds=arguments.seconds)
                    print(f"events at {rate:.0f}/s for {arguments.seconds:.0f} s", flush=True)
                    asyncio.run(_run_events(stack.config.amqp_url, phase, arguments.dossiers))
                    _settle(phase, mailbox, wait=60.0)
                    phases.append(phase)
                    print(_line(phase), flush=True)
            print(f"\n{os.cpu_count()} CPUs shared by the stack and the load generator; "
                  f"{arguments.seconds:.0f} s per line, {arguments.dossiers} dossiers, "
                  f"digest window {arguments.window} s")
            print("| kind | offered/s | sent/s | 201 | HTTP p50 ms | HTTP p99 ms "
                  "| mail p50 ms | mail p99 ms | mail max ms | mailed at once | digested "
                  "| missing |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for phase in phases:
                print(_line(phase))
            for phase in phases:
                statuses = sorted({s.status for s in phase.submissions})
                counts = {status: sum(1 for s in phase.submissions if s.status == status)
                          for status in statuses}
                print(f"{phase.kind} {phase.rate:.0f}/s answers: {counts} (-1: no answer)")
            for kind, reason in skipped.items():
                print(f"skipped {kind}: {reason}")
            if arguments.keep_running:
                print(f"stack runs (gateway {stack.gateway_url}); Ctrl-C stops it", flush=True)
                while True:
                    time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            stack.group.stop_all()


if __name__ == "__main__":
    main()
