"""Two processes of every service, as production runs them: each effect happens once.

The stack runs on a vhost of its own (the shared one belongs to the system tests' stack, whose
services would otherwise answer this stack's calls). The office invites clients through the
gateway: auth's two replicas store and relay the invitation events, the notifier's two replicas
consume them. Every invitation mail arrives exactly once, one replica of each service holds its
outbox lease, and when that replica is killed the other takes over and the backlog drains.
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from deploy.local.applications import SERVICES, replica_name
from deploy.local.seed_demo import log_in
from tests.faults.replicated import Replicated, invite, mails_to, replicated_stack, wait_for

pytestmark = pytest.mark.system

INVITATIONS = 40
LEASE_TTL_SECONDS = 15.0


@pytest.fixture(scope="module")
def replicated(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    base: Path = tmp_path_factory.mktemp("replicas")
    with replicated_stack(mongo_url, base, label="replicas") as stack:
        yield stack


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
            invite(gateway, token, f"{marker}.{number}@example.com")

    wait_for(lambda: len(mails_to(replicated, marker)) >= INVITATIONS, 60)
    mails = mails_to(replicated, marker)
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
            invite(gateway, token, f"{marker}.{number}@example.com")
    wait_for(lambda: len(mails_to(replicated, marker)) >= 5, LEASE_TTL_SECONDS + 30)
    assert len({mail.recipients for mail in mails_to(replicated, marker)}) == 5

    def taken_over() -> bool:
        lease = database.leases.find_one({"_id": "outbox-relay"})
        return lease is not None and lease["holder"] not in holders

    # The survivor relayed its own writes at once; the timed scan is taken over at the expiry.
    wait_for(taken_over, LEASE_TTL_SECONDS + 10)
    assert taken_over(), "the surviving replica took the lease over"
    replicated.applications.restart(victim)
