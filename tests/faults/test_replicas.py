"""Two processes of every service, as production runs them: each effect happens once.

The stack runs on a vhost of its own (the shared one belongs to the system tests' stack, whose
services would otherwise answer this stack's calls). The office invites clients through the
gateway: auth's two replicas store and relay the invitation events, the notifier's two replicas
consume them. Every invitation mail arrives exactly once, one replica of each service holds its
outbox lease, and when that replica is killed the other takes over and the backlog drains.
"""

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from deploy.local import infra
from deploy.local.applications import (
    SERVICES,
    ApplicationConfig,
    ApplicationStack,
    replica_name,
    replica_ports,
)
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.maildir import ReceivedMail, read_mails
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, expect, log_in
from tests.system.stack import TEST_ENVIRONMENT, _storage_and_mail

pytestmark = pytest.mark.system

REPLICAS = 2
INVITATIONS = 40
LEASE_TTL_SECONDS = 15.0


@dataclass(frozen=True)
class Replicated:
    config: ApplicationConfig
    applications: ApplicationStack
    group: ProcessGroup
    run_id: str


@pytest.fixture(scope="module")
def replicated(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    run_id = uuid.uuid4().hex[:8]
    vhost = f"replicas-{run_id}"
    if not infra.create_vhost(vhost):
        pytest.skip("cannot create a RabbitMQ vhost for the replicated stack (rabbitmqctl)")
    base = tmp_path_factory.mktemp("replicas")
    group = ProcessGroup(base / "logs")
    try:
        storage, mail = _storage_and_mail(group, base)
        keys = write_signing_keys(base / "secrets")
        config = ApplicationConfig(
            environment="test", amqp_url=infra.amqp_url(vhost), mongo_url=mongo_url,
            mongo_db_prefix=f"replicas_{run_id}", storage=storage, mail=mail,
            private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
            admin_email=f"admin.{run_id}@mybroker.example", admin_password=new_password(),
            office_email=f"office.{run_id}@mybroker.example",
            gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
            s3_bucket=f"replicas-{run_id}", extra_environment=TEST_ENVIRONMENT,
            replicas=REPLICAS, replica_health_ports=replica_ports(REPLICAS, free_port),
        )
        applications = ApplicationStack(config, group)
        applications.start_all()
        yield Replicated(config, applications, group, run_id)
    finally:
        group.stop_all()
        infra.delete_vhost(vhost)
        infra.drop_databases(mongo_url, [f"replicas_{run_id}_{name}" for name in SERVICES])


def _invite(gateway: httpx.Client, token: str, email: str) -> None:
    expect(gateway.post("/admin/api/v1/invitations", headers=bearer(token), json={
        "email": email, "display_name": "Replica Client", "dossier_ids": [],
    }), 201)


def _invitation_mails(replicated: Replicated, marker: str) -> list[ReceivedMail]:
    return [mail for mail in read_mails(replicated.config.mail.maildir)
            if any(marker in recipient for recipient in mail.recipients)]


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)


def test_every_process_runs_twice_and_each_invitation_is_mailed_once(
    replicated: Replicated,
) -> None:
    names = replicated.config.process_names()
    assert names.count("gateway") == 1
    assert {replica_name(service, 2) for service in SERVICES} <= set(names)
    marker = f"inv-{replicated.run_id}"
    with httpx.Client(base_url=replicated.config.gateway_url, timeout=15.0) as gateway:
        token = log_in(gateway, replicated.config.admin_email,
                       replicated.config.admin_password)["access_token"]
        for number in range(INVITATIONS):
            _invite(gateway, token, f"{marker}.{number}@example.com")

    _wait_for(lambda: len(_invitation_mails(replicated, marker)) >= INVITATIONS, 60)
    mails = _invitation_mails(replicated, marker)
    per_recipient = Counter(mail.recipients for mail in mails)
    assert len(per_recipient) == INVITATIONS, "an invitation was never mailed"
    assert set(per_recipient.values()) == {1}, f"mailed twice: {per_recipient.most_common(3)}"
    assert len({mail.message_id for mail in mails}) == INVITATIONS


def test_one_replica_holds_each_outbox_lease_and_the_other_takes_over_when_it_dies(
    replicated: Replicated,
) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(replicated.config.mongo_url)
    database = client[f"replicas_{replicated.run_id}_auth"]
    lease = database.leases.find_one({"_id": "outbox-relay"})
    assert lease is not None, "auth's relay never took its lease"
    holders = {lease["holder"]}

    # Kill the process holding auth's lease (its pid is in the holder's name: host:pid:random).
    holder_pid = int(lease["holder"].split(":")[1])
    victim = next(name for name in ("auth", replica_name("auth", 2))
                  if replicated.group.processes[name].pid == holder_pid)
    replicated.group.kill(victim)

    marker = f"takeover-{replicated.run_id}"
    with httpx.Client(base_url=replicated.config.gateway_url, timeout=15.0) as gateway:
        token = log_in(gateway, replicated.config.admin_email,
                       replicated.config.admin_password)["access_token"]
        for number in range(5):
            _invite(gateway, token, f"{marker}.{number}@example.com")
    _wait_for(lambda: len(_invitation_mails(replicated, marker)) >= 5, LEASE_TTL_SECONDS + 30)
    assert len({mail.recipients for mail in _invitation_mails(replicated, marker)}) == 5

    def taken_over() -> bool:
        lease = database.leases.find_one({"_id": "outbox-relay"})
        return lease is not None and lease["holder"] not in holders

    # The survivor relayed its own writes at once; the timed scan is taken over at the expiry.
    _wait_for(taken_over, LEASE_TTL_SECONDS + 10)
    assert taken_over(), "the surviving replica took the lease over"
    replicated.applications.restart(victim)
