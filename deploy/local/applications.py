"""MyBroker's own processes: the six services and the gateway, each `python -m <package>`.

Used by `make dev` and by the system tests: both build an `ApplicationConfig` and get the same
processes with the same environment (the MYBROKER_* variables of the common settings).
"""

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.demo_seal import DemoSigning
from deploy.local.demo_secrets import new_cursor_secret
from deploy.local.infra import LOOPBACK, MailSink, ObjectStorage
from deploy.local.processes import ProcessGroup, http_ok

SERVICES = ("auth", "dossier", "requests", "documents", "signing", "notifier")
GATEWAY = "gateway"
REPOSITORY = Path(__file__).resolve().parents[2]
READY_SECONDS = 90.0


@dataclass(frozen=True)
class ApplicationConfig:
    """Everything the services and the gateway are configured with."""

    environment: str  # dev | test
    amqp_url: str
    mongo_url: str
    mongo_db_prefix: str
    storage: ObjectStorage
    mail: MailSink
    private_key_path: Path
    public_key_path: Path
    admin_email: str
    admin_password: str
    office_email: str
    gateway_port: int
    health_ports: Mapping[str, int]
    from_email: str = "no-reply@mybroker.example"
    s3_bucket: str = "mybroker-documents"
    export_bucket: str = "mybroker-exports"  # the clients' data exports (every service writes)
    log_level: str = "INFO"
    eid_trust_bundle_path: Path | None = None  # eID login only with a bundle and a proxy secret
    trusted_proxy_secret: str = ""
    # Keys of the HMAC on page cursors, fresh for each stack (each listing service its own).
    dossier_cursor_secret: str = field(default_factory=new_cursor_secret, repr=False)
    auth_cursor_secret: str = field(default_factory=new_cursor_secret, repr=False)
    requests_cursor_secret: str = field(default_factory=new_cursor_secret, repr=False)
    documents_cursor_secret: str = field(default_factory=new_cursor_secret, repr=False)
    signing_cursor_secret: str = field(default_factory=new_cursor_secret, repr=False)
    extra_environment: Mapping[str, str] = field(default_factory=dict)
    # Processes per service (the gateway stays one): production runs two or more; `make dev`
    # one; the fault tests two, each extra replica with a health port of its own here.
    replicas: int = 1
    replica_health_ports: Mapping[str, int] = field(default_factory=dict)
    # The demo seal and local TSA of the stack (none: the signing service makes a throw-away
    # seal of its own and seals without a timestamp).
    demo_signing: DemoSigning | None = None

    @property
    def gateway_url(self) -> str:
        """Where browsers and API clients reach the stack."""
        return f"http://{LOOPBACK}:{self.gateway_port}"

    @property
    def sms_dir(self) -> Path:
        """Where the notifier's SMS sink writes (one JSON file per SMS), beside the Maildir."""
        return self.mail.maildir.parent / "sms"

    def process_names(self) -> list[str]:
        """Every process of the stack: each service's replicas (`requests`, `requests.2`, ...)
        and the gateway."""
        return [*(replica_name(name, replica) for name in SERVICES
                  for replica in range(1, self.replicas + 1)), GATEWAY]

    def health_port(self, process: str) -> int:
        """The health port of one process (a service replica or the gateway)."""
        if process == GATEWAY:
            return self.gateway_port
        return self.health_ports.get(process) or self.replica_health_ports[process]

    def ready_url(self, name: str) -> str:
        """The readiness probe of one process."""
        return f"http://{LOOPBACK}:{self.health_port(name)}/health/ready"


def replica_name(service: str, replica: int) -> str:
    """The process name of a service's replica: the first keeps the service's own name."""
    return service if replica == 1 else f"{service}.{replica}"


def replica_ports(replicas: int, port: Callable[[], int]) -> dict[str, int]:
    """Health ports of the extra replicas (`port()` gives a free one)."""
    return {replica_name(name, replica): port()
            for name in SERVICES for replica in range(2, replicas + 1)}


def application_environment(config: ApplicationConfig) -> dict[str, str]:
    """The process environment: this one without inherited MYBROKER_* plus the stack's own."""
    inherited = {key: value for key, value in os.environ.items()
                 if not key.startswith("MYBROKER_")}
    own = {
        "MYBROKER_ENVIRONMENT": config.environment,
        "MYBROKER_LOG_LEVEL": config.log_level,
        "MYBROKER_AMQP_URL": config.amqp_url,
        "MYBROKER_MONGO_URL": config.mongo_url,
        "MYBROKER_MONGO_DB_PREFIX": config.mongo_db_prefix,
        "MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH": str(config.private_key_path),
        "MYBROKER_AUTH_BOOTSTRAP_ADMIN_EMAIL": config.admin_email,
        "MYBROKER_AUTH_BOOTSTRAP_ADMIN_PASSWORD": config.admin_password,
        "MYBROKER_AUTH_CURSOR_SECRET": config.auth_cursor_secret,
        "MYBROKER_DOSSIER_CURSOR_SECRET": config.dossier_cursor_secret,
        "MYBROKER_REQUESTS_CURSOR_SECRET": config.requests_cursor_secret,
        "MYBROKER_DOCUMENTS_CURSOR_SECRET": config.documents_cursor_secret,
        "MYBROKER_SIGNING_CURSOR_SECRET": config.signing_cursor_secret,
        "MYBROKER_DOCUMENTS_S3_ENDPOINT": config.storage.endpoint,
        "MYBROKER_DOCUMENTS_S3_ACCESS_KEY": config.storage.access_key,
        "MYBROKER_DOCUMENTS_S3_SECRET_KEY": config.storage.secret_key,
        "MYBROKER_DOCUMENTS_S3_BUCKET": config.s3_bucket,
        "MYBROKER_EXPORT_S3_ENDPOINT": config.storage.endpoint,
        "MYBROKER_EXPORT_S3_ACCESS_KEY": config.storage.access_key,
        "MYBROKER_EXPORT_S3_SECRET_KEY": config.storage.secret_key,
        "MYBROKER_EXPORT_S3_BUCKET": config.export_bucket,
        "MYBROKER_NOTIFIER_SMTP_HOST": config.mail.host,
        "MYBROKER_NOTIFIER_SMTP_PORT": str(config.mail.port),
        "MYBROKER_NOTIFIER_FROM_EMAIL": config.from_email,
        "MYBROKER_NOTIFIER_OFFICE_EMAIL": config.office_email,
        "MYBROKER_NOTIFIER_PUBLIC_URL": config.gateway_url,
        "MYBROKER_NOTIFIER_SMS_PROVIDER": "sink",
        "MYBROKER_NOTIFIER_SMS_SINK_DIR": str(config.sms_dir),
        "MYBROKER_GATEWAY_HOST": LOOPBACK,
        "MYBROKER_GATEWAY_PORT": str(config.gateway_port),
        "MYBROKER_GATEWAY_PUBLIC_URL": config.gateway_url,
        "MYBROKER_GATEWAY_JWT_PUBLIC_KEY_PATH": str(config.public_key_path),
        "PYTHONUNBUFFERED": "1",
    }
    if config.eid_trust_bundle_path is not None:
        own["MYBROKER_AUTH_EID_TRUST_BUNDLE_PATH"] = str(config.eid_trust_bundle_path)
    if config.demo_signing is not None:
        own.update(config.demo_signing.environment())
    if config.trusted_proxy_secret:
        own["MYBROKER_GATEWAY_TRUSTED_PROXY_SECRET"] = config.trusted_proxy_secret
    for name, port in config.health_ports.items():
        own[f"MYBROKER_{name.upper()}_HEALTH_PORT"] = str(port)
    return inherited | own | dict(config.extra_environment)


class ApplicationStack:
    """The services and the gateway of one stack, started as separate processes."""

    def __init__(self, config: ApplicationConfig, group: ProcessGroup) -> None:
        self.config = config
        self.group = group
        self.environment = application_environment(config)

    def start(self, name: str, overrides: Mapping[str, str] | None = None) -> None:
        """Start one process (a service replica or the gateway) without waiting for it;
        `overrides` change settings of this start only (fault tests: a quicker sweep, ...)."""
        service = name.partition(".")[0]
        own_port = {} if name == GATEWAY else {
            f"MYBROKER_{service.upper()}_HEALTH_PORT": str(self.config.health_port(name))}
        self.group.start(name, [sys.executable, "-m", _module(service)],
                         env=self.environment | own_port | dict(overrides or {}),
                         cwd=REPOSITORY)

    def wait_ready(self, name: str) -> None:
        """Wait until the process answers 200 on /health/ready."""
        url = self.config.ready_url(name)
        self.group.wait_until(name, lambda: http_ok(url), timeout=READY_SECONDS, what="ready")

    def start_all(self) -> None:
        """Start every service replica and the gateway, then wait until each one is ready."""
        names = self.config.process_names()
        for name in names:
            self.start(name)
        for name in names:
            self.wait_ready(name)

    def restart(self, name: str, overrides: Mapping[str, str] | None = None) -> None:
        """Start a stopped or killed process again and wait until it is ready."""
        self.start(name, overrides)
        self.wait_ready(name)


def _module(name: str) -> str:
    return GATEWAY if name == GATEWAY else f"services.{name}"
