"""The stack of the system and browser tests: every service and the gateway as its own process.

Mongo and RabbitMQ come from the `mongo_url` / `amqp_url` fixtures (tests/conftest.py). S3 and
the SMTP sink come from MYBROKER_TEST_S3_* / MYBROKER_TEST_SMTP_* + MYBROKER_TEST_MAILDIR (set by
`make test`), else they are started here from the virtualenv's `weed` and `aiosmtpd`.
One stack serves the whole session: the system and the browser conftests both use the
`system_stack` fixture below, and the last one to release it stops it.
"""

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local import infra
from deploy.local.applications import SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import DemoEid, write_demo_eid
from deploy.local.demo_seal import start_demo_signing
from deploy.local.demo_secrets import new_password, new_s3_keys, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import import_dossier, invite_and_activate, log_in


@dataclass
class SystemStack:
    """A running stack and what the tests need to drive it."""

    config: ApplicationConfig
    applications: ApplicationStack
    group: ProcessGroup
    eid: DemoEid  # auth trusts its CA; the gateway trusts its proxy secret

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return self.config.gateway_url

    @property
    def maildir(self) -> Path:
        """Where every mail the notifier sends lands."""
        return self.config.mail.maildir

    @property
    def claims_email(self) -> str:
        """The claims desk: where the office's mails about claims go."""
        addresses: dict[str, str] = json.loads(
            self.config.extra_environment[OFFICE_ADDRESSES])
        return addresses["claim"]


# The office's digest of a dossier's messages waits a minute in production; two seconds here,
# so a test sees the office mail without waiting a minute.
# A client of the shared fixtures sends messages and forms in many tests of one run: a burst of
# 40 per account (production: 5) keeps them under the window; the burst test uses this figure.
MESSAGE_BURST = 40
TEST_ENVIRONMENT = {"MYBROKER_NOTIFIER_OFFICE_DIGEST_WINDOW_SECONDS": "2",
                    "MYBROKER_NOTIFIER_MAIL_CHECK_SECONDS": "1",
                    "MYBROKER_REQUESTS_MESSAGE_BURST": str(MESSAGE_BURST),
                    # The data exports' sweep (expiry, time limit) each second, not minute.
                    "MYBROKER_AUTH_EXPORT_SWEEP_SECONDS": "1"}

OFFICE_ADDRESSES = "MYBROKER_NOTIFIER_OFFICE_ADDRESSES"

_shared: SystemStack | None = None
_users = 0
_failure: BaseException | None = None  # a stack that failed to start is not tried twice


def _storage_and_mail(
    group: ProcessGroup, base: Path
) -> tuple[infra.ObjectStorage, infra.MailSink]:
    environ = os.environ
    if environ.get("MYBROKER_TEST_S3_ENDPOINT"):
        storage = infra.ObjectStorage(environ["MYBROKER_TEST_S3_ENDPOINT"],
                                      environ.get("MYBROKER_TEST_S3_ACCESS_KEY", ""),
                                      environ.get("MYBROKER_TEST_S3_SECRET_KEY", ""))
    else:
        storage = infra.start_object_storage(group, base / "s3", infra.free_s3_port(),
                                             *new_s3_keys())
    if environ.get("MYBROKER_TEST_MAILDIR"):
        mail = infra.MailSink(environ.get("MYBROKER_TEST_SMTP_HOST", infra.LOOPBACK),
                              int(environ.get("MYBROKER_TEST_SMTP_PORT", "1025")),
                              Path(environ["MYBROKER_TEST_MAILDIR"]))
    else:
        mail = infra.start_mail_sink(group, free_port(), base / "maildir")
    return storage, mail


def _start(mongo_url: str, amqp_url: str, base: Path) -> SystemStack:
    run_id = uuid.uuid4().hex[:8]
    group = ProcessGroup(base / "logs")
    try:
        storage, mail = _storage_and_mail(group, base)
        keys = write_signing_keys(base / "secrets")
        eid = write_demo_eid(base / "eid")
        demo_signing = start_demo_signing(group, base / "signing")
        config = ApplicationConfig(
            environment="test", amqp_url=amqp_url, mongo_url=mongo_url,
            mongo_db_prefix=f"system_{run_id}", storage=storage, mail=mail,
            private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
            admin_email=f"admin.{run_id}@mybroker.example", admin_password=new_password(),
            office_email=f"office.{run_id}@mybroker.example",
            gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
            s3_bucket=f"system-{run_id}", export_bucket=f"system-exports-{run_id}",
            eid_trust_bundle_path=eid.trust_bundle_path, trusted_proxy_secret=eid.proxy_secret,
            demo_signing=demo_signing,
            extra_environment={**TEST_ENVIRONMENT, OFFICE_ADDRESSES: json.dumps(
                {"claim": f"claims.{run_id}@mybroker.example"})},
        )
        applications = ApplicationStack(config, group)
        applications.start_all()
    except BaseException:
        group.stop_all()
        raise
    return SystemStack(config=config, applications=applications, group=group, eid=eid)


@pytest.fixture(scope="session")
def system_stack(
    mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SystemStack]:
    """Every service and the gateway, started once for the session and stopped at its end."""
    global _shared, _users, _failure  # one stack per test process, shared by two conftests
    if _failure is not None:
        raise _failure
    if _shared is None:
        run_dir = os.environ.get("MYBROKER_TEST_RUN_DIR")
        base = Path(run_dir) / "system" if run_dir else tmp_path_factory.mktemp("system")
        try:
            _shared = _start(mongo_url, amqp_url, base)
        except Exception as error:
            _failure = error
            raise
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0:
            _shared.group.stop_all()
            _shared = None


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_dossier(name: str) -> dict[str, Any]:
    """A dossier export from tests/fixtures (e.g. "dupont" -> dossier_dupont.json)."""
    dossier: dict[str, Any] = json.loads(
        (FIXTURES / f"dossier_{name}.json").read_text(encoding="utf-8"))
    return dossier


@dataclass(frozen=True)
class ClientLogin:
    """A client who activated their invitation: what they log in with and may see."""

    email: str
    password: str
    dossier_ids: tuple[str, ...]

    def log_in(self, gateway: httpx.Client) -> str:
        """A fresh access token (they live at most five minutes)."""
        access_token: str = log_in(gateway, self.email, self.password)["access_token"]
        return access_token


def staff_log_in(stack: SystemStack, gateway: httpx.Client) -> str:
    """An access token of the office admin."""
    access_token: str = log_in(gateway, stack.config.admin_email,
                               stack.config.admin_password)["access_token"]
    return access_token


def import_dossiers(stack: SystemStack, gateway: httpx.Client, *names: str) -> None:
    """The office imports fixture dossiers (creates or replaces them)."""
    token = staff_log_in(stack, gateway)
    for name in names:
        import_dossier(gateway, token, fixture_dossier(name))


def new_client(
    stack: SystemStack, gateway: httpx.Client, display_name: str, dossier_ids: list[str]
) -> ClientLogin:
    """Invite a client with a unique address to `dossier_ids` and activate the account."""
    email = f"{display_name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@example.com"
    password = new_password()
    invite_and_activate(gateway, staff_log_in(stack, gateway), stack.maildir, email=email,
                        display_name=display_name, dossier_ids=dossier_ids, password=password)
    return ClientLogin(email=email, password=password, dossier_ids=tuple(dossier_ids))


def metric(url: str, name: str, **labels: str) -> float:
    """A sample of a process's Prometheus metrics at `url` (0 when absent)."""
    for family in text_string_to_metric_families(httpx.get(url, timeout=5.0).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def service_metric(stack: SystemStack, service: str, name: str, **labels: str) -> float:
    """A sample of one service's metrics (on its health port)."""
    return metric(f"http://127.0.0.1:{stack.config.health_ports[service]}/metrics", name,
                  **labels)
