"""A stack with two processes of every service (as production runs them), on a RabbitMQ vhost
and databases of its own, for the fault tests that need replicas."""

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy.local import infra
from deploy.local.applications import (
    SERVICES,
    ApplicationConfig,
    ApplicationStack,
    replica_ports,
)
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.maildir import ReceivedMail, read_mails
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, expect
from tests.system.stack import TEST_ENVIRONMENT, _storage_and_mail

REPLICAS = 2


@dataclass(frozen=True)
class Replicated:
    config: ApplicationConfig
    applications: ApplicationStack
    group: ProcessGroup
    run_id: str


@contextmanager
def replicated_stack(mongo_url: str, base: Path, *, label: str,
                     extra_environment: Mapping[str, str] | None = None,
                     amqp_url: str | None = None) -> Iterator[Replicated]:
    """Start the stack (the gateway once, every service twice), stop and remove it after. On a
    vhost of its own of the machine's RabbitMQ, or on `amqp_url` (a node of the test's own)."""
    run_id = uuid.uuid4().hex[:8]
    vhost = f"{label}-{run_id}"
    if amqp_url is None and not infra.create_vhost(vhost):
        pytest.skip("cannot create a RabbitMQ vhost for the replicated stack (rabbitmqctl)")
    group = ProcessGroup(base / "logs")
    try:
        storage, mail = _storage_and_mail(group, base)
        keys = write_signing_keys(base / "secrets")
        config = ApplicationConfig(
            environment="test", amqp_url=amqp_url or infra.amqp_url(vhost), mongo_url=mongo_url,
            mongo_db_prefix=f"{label}_{run_id}", storage=storage, mail=mail,
            private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
            admin_email=f"admin.{run_id}@mybroker.example", admin_password=new_password(),
            office_email=f"office.{run_id}@mybroker.example",
            gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
            s3_bucket=f"{label}-{run_id}",
            extra_environment=TEST_ENVIRONMENT | dict(extra_environment or {}),
            replicas=REPLICAS, replica_health_ports=replica_ports(REPLICAS, free_port),
        )
        applications = ApplicationStack(config, group)
        applications.start_all()
        yield Replicated(config, applications, group, run_id)
    finally:
        group.stop_all()
        if amqp_url is None:
            infra.delete_vhost(vhost)
        infra.drop_databases(mongo_url, [f"{label}_{run_id}_{name}" for name in SERVICES])


def invite(gateway: httpx.Client, token: str, email: str) -> None:
    expect(gateway.post("/admin/api/v1/invitations", headers=bearer(token), json={
        "email": email, "display_name": "Replica Client", "dossier_ids": [],
    }), 201)


def mails_to(replicated: Replicated, marker: str) -> list[ReceivedMail]:
    """The mails in the SMTP sink to a recipient whose address holds `marker`."""
    return [mail for mail in read_mails(replicated.config.mail.maildir)
            if any(marker in recipient for recipient in mail.recipients)]


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
