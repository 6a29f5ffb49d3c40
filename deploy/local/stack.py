"""The local stack without a container engine: `make dev`, `make infra` and `make test` run this.

    python -m deploy.local.stack dev            # infra + services + gateway + demo office
    python -m deploy.local.stack infra          # infra only; prints the MYBROKER_TEST_* exports
    python -m deploy.local.stack test -- CMD    # infra on free ports, CMD with MYBROKER_TEST_*

Each part is reused instead of started when its variables are set (prefix MYBROKER_LOCAL_ for
dev, MYBROKER_TEST_ for test and infra): MONGO_URL; AMQP_URL; S3_ENDPOINT + S3_ACCESS_KEY +
S3_SECRET_KEY; SMTP_HOST + SMTP_PORT + MAILDIR. Dev ports: MYBROKER_LOCAL_GATEWAY_PORT (8000),
MYBROKER_LOCAL_HEALTH_PORT_BASE (8100: auth 8101 ... notifier 8106), MYBROKER_LOCAL_MONGO_PORT
(27017), MYBROKER_LOCAL_S3_PORT (8333, weed's other servers on the next four ports and +10000),
MYBROKER_LOCAL_SMTP_PORT (1025), MYBROKER_LOCAL_AMQP_VHOST (mybroker-dev).
Ctrl-C (or SIGTERM) stops exactly what the command started, nothing else.
"""

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from deploy.local import infra
from deploy.local.applications import (
    SERVICES,
    ApplicationConfig,
    ApplicationStack,
    application_environment,
    replica_ports,
)
from deploy.local.demo_eid import DemoEid, write_demo_eid
from deploy.local.demo_seal import start_demo_signing
from deploy.local.demo_secrets import new_password, new_s3_keys, write_signing_keys
from deploy.local.processes import ProcessGroup, StartupError, free_port, log_tail
from deploy.local.seed_demo import DemoOffice, SeedError, seed_demo_office

REPOSITORY = Path(__file__).resolve().parents[2]
RUN_ROOT = REPOSITORY / ".run"
ADMIN_EMAIL = "admin@mybroker.example"
OFFICE_EMAIL = "kantoor@mybroker.example"
CLAIMS_EMAIL = "schade@mybroker.example"  # the claims desk: the office's mails about claims


@dataclass(frozen=True)
class Ports:
    """The ports of the parts this command starts itself."""

    mongo: int
    s3: int
    smtp: int


@dataclass
class Infrastructure:
    """Where the infrastructure answers, and what of it this command created."""

    mongo_url: str
    amqp_url: str
    storage: infra.ObjectStorage
    mail: infra.MailSink
    created_vhost: str | None = None
    started_rabbitmq: bool = False
    started_mongo: bool = False

    def test_environment(self, run_dir: Path) -> dict[str, str]:
        """The MYBROKER_TEST_* variables the test fixtures read."""
        return {
            "MYBROKER_TEST_MONGO_URL": self.mongo_url,
            "MYBROKER_TEST_AMQP_URL": self.amqp_url,
            "MYBROKER_TEST_S3_ENDPOINT": self.storage.endpoint,
            "MYBROKER_TEST_S3_ACCESS_KEY": self.storage.access_key,
            "MYBROKER_TEST_S3_SECRET_KEY": self.storage.secret_key,
            "MYBROKER_TEST_SMTP_HOST": self.mail.host,
            "MYBROKER_TEST_SMTP_PORT": str(self.mail.port),
            "MYBROKER_TEST_MAILDIR": str(self.mail.maildir),
            "MYBROKER_TEST_RUN_DIR": str(run_dir),
        }


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _log(text: str) -> None:
    print(f"[stack] {text}", flush=True)


def start_infrastructure(
    group: ProcessGroup, run_dir: Path, ports: Ports, vhost: str, reuse: Mapping[str, str]
) -> Infrastructure:
    """Reuse the parts `reuse` names (variables minus their prefix), start the others."""
    created_vhost = None
    started_rabbitmq = False
    amqp_url = reuse.get("AMQP_URL", "")
    if not amqp_url:
        started_rabbitmq = infra.ensure_rabbitmq()
        if vhost != "/" and infra.create_vhost(vhost):
            created_vhost = vhost
        elif vhost != "/":
            _log(f"cannot create RabbitMQ vhost {vhost} (rabbitmqctl needs root); using '/'")
            vhost = "/"
        amqp_url = infra.amqp_url(vhost)
    mongo_url = reuse.get("MONGO_URL") or infra.start_mongo(group, ports.mongo)
    started_mongo = "MONGO_URL" not in reuse
    if reuse.get("S3_ENDPOINT"):
        storage = infra.ObjectStorage(reuse["S3_ENDPOINT"], reuse.get("S3_ACCESS_KEY", ""),
                                      reuse.get("S3_SECRET_KEY", ""))
    else:
        storage = infra.start_object_storage(group, run_dir / "s3", ports.s3, *new_s3_keys())
    if reuse.get("MAILDIR"):
        mail = infra.MailSink(reuse.get("SMTP_HOST", infra.LOOPBACK),
                              int(reuse.get("SMTP_PORT", "1025")), Path(reuse["MAILDIR"]))
    else:
        mail = infra.start_mail_sink(group, ports.smtp, run_dir / "maildir")
    return Infrastructure(mongo_url, amqp_url, storage, mail, created_vhost, started_rabbitmq,
                          started_mongo)


def stop_infrastructure(group: ProcessGroup, infrastructure: Infrastructure | None) -> None:
    """Stop the processes of `group`, delete the run's vhost, stop RabbitMQ if started here."""
    # A second Ctrl-C (or make passing on SIGTERM) must not cut the cleanup short.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    group.stop_all()
    if infrastructure is None:
        return
    if infrastructure.created_vhost:
        infra.delete_vhost(infrastructure.created_vhost)
    if infrastructure.started_rabbitmq:
        infra.stop_rabbitmq()


def _reuse(prefix: str) -> dict[str, str]:
    return {key.removeprefix(prefix): value for key, value in os.environ.items()
            if key.startswith(prefix) and value}


@contextmanager
def _owned_run_dir(run_dir: Path) -> Iterator[None]:
    """A fresh run dir held by this process (refused while another command holds it)."""
    pid_file = run_dir / "stack.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ValueError, ProcessLookupError):
            pass
        else:
            raise StartupError(f"another stack runs in {run_dir} (pid {pid_file.read_text()})")
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    pid_file.write_text(str(os.getpid()))
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def run_dev() -> int:
    """Infra, secrets, every service and the gateway, the demo office; until Ctrl-C."""
    run_dir = Path(os.environ.get("MYBROKER_LOCAL_RUN_DIR", RUN_ROOT / "dev")).resolve()
    gateway_port = _int_env("MYBROKER_LOCAL_GATEWAY_PORT", 8000)
    health_base = _int_env("MYBROKER_LOCAL_HEALTH_PORT_BASE", 8100)
    ports = Ports(mongo=_int_env("MYBROKER_LOCAL_MONGO_PORT", 27017),
                  s3=_int_env("MYBROKER_LOCAL_S3_PORT", 8333),
                  smtp=_int_env("MYBROKER_LOCAL_SMTP_PORT", 1025))
    vhost = os.environ.get("MYBROKER_LOCAL_AMQP_VHOST", "mybroker-dev")
    replicas = max(1, _int_env("MYBROKER_LOCAL_REPLICAS", 1))
    extra_ports = itertools.count(health_base + 20)
    prefix = "mybroker"
    reused_databases: list[str] = []
    with _owned_run_dir(run_dir):
        group = ProcessGroup(run_dir / "logs")
        infrastructure = None
        try:
            _log(f"starting the infrastructure in {run_dir}")
            infrastructure = start_infrastructure(group, run_dir, ports, vhost,
                                                  _reuse("MYBROKER_LOCAL_"))
            keys = write_signing_keys(run_dir / "secrets")
            eid = write_demo_eid(run_dir / "eid")
            demo_signing = start_demo_signing(group, run_dir / "signing",
                                              _int_env("MYBROKER_LOCAL_TSA_PORT", 8318))
            # A reused MongoDB keeps data: this run gets databases of its own, dropped at the end.
            if not infrastructure.started_mongo:
                prefix = f"mybroker_dev_{uuid.uuid4().hex[:8]}"
                reused_databases = [f"{prefix}_{name}" for name in SERVICES]
            config = ApplicationConfig(
                environment="dev", amqp_url=infrastructure.amqp_url,
                mongo_url=infrastructure.mongo_url, mongo_db_prefix=prefix,
                storage=infrastructure.storage, mail=infrastructure.mail,
                private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
                admin_email=ADMIN_EMAIL, admin_password=new_password(), office_email=OFFICE_EMAIL,
                gateway_port=gateway_port,
                health_ports={name: health_base + index
                              for index, name in enumerate(SERVICES, start=1)},
                # MYBROKER_LOCAL_REPLICAS=2: two processes of every service, as in production.
                replicas=replicas,
                replica_health_ports=replica_ports(replicas, lambda: next(extra_ports)),
                eid_trust_bundle_path=eid.trust_bundle_path,
                trusted_proxy_secret=eid.proxy_secret,
                demo_signing=demo_signing,
                extra_environment={"MYBROKER_NOTIFIER_OFFICE_ADDRESSES": json.dumps(
                    {"claim": CLAIMS_EMAIL})},
            )
            _write_env_file(run_dir / "mybroker.env", config)
            _log("starting the services and the gateway")
            applications = ApplicationStack(config, group)
            applications.start_all()
            _log("seeding the demo office through the gateway")
            office = seed_demo_office(config.gateway_url, config.admin_email,
                                      config.admin_password, infrastructure.mail.maildir)
            _write_demo_file(run_dir / "demo.json", config, office)
            _print_welcome(config, office, run_dir, eid)
            _watch(group)
        except KeyboardInterrupt:
            _log("stopping")
        finally:
            stop_infrastructure(group, infrastructure)
            if infrastructure is not None and reused_databases:
                infra.drop_databases(infrastructure.mongo_url, reused_databases)
    return 0


def _write_env_file(path: Path, config: ApplicationConfig) -> None:
    lines = [f"{key}={value}" for key, value in application_environment(config).items()
             if key.startswith("MYBROKER_")]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def _write_demo_file(path: Path, config: ApplicationConfig, office: DemoOffice) -> None:
    """The logins of the demo office, for scripts such as tests/load/bench_contracts.py."""
    demo = {"gateway_url": config.gateway_url,
            "admin": {"email": config.admin_email, "password": config.admin_password},
            "clients": {email: {"password": client.password, "dossiers": client.dossier_ids}
                        for email, client in office.clients.items()}}
    path.write_text(json.dumps(demo, indent=2) + "\n")
    path.chmod(0o600)


def _print_welcome(
    config: ApplicationConfig, office: DemoOffice, run_dir: Path, eid: DemoEid
) -> None:
    base = config.gateway_url
    logins = "\n".join(
        f"    {email:<28} {client.password}   dossiers {', '.join(client.dossier_ids)}"
        for email, client in office.clients.items())
    print(f"""
MyBroker runs. Ctrl-C stops everything this command started.

  Client portal     {base}/            (log in at {base}/login)
  Office admin API  {base}/admin/api/v1   (OpenAPI docs, staff: {base}/admin/api-docs)
  Office admin      {config.admin_email:<28} {config.admin_password}
  Demo clients (they share DOS-2023-00951, where the office published a PDF):
{logins}
  Sent mails        {config.mail.maildir}/new   (one file per mail; office mails go to {
        config.office_email}, claims to {CLAIMS_EMAIL})
  Sent SMS          {config.sms_dir}   (one JSON file per SMS: to, text, sent_at)
  Logs              {run_dir / 'logs'}/<process>.log
  Environment       {run_dir / 'mybroker.env'}   (demo logins: {run_dir / 'demo.json'})
  Signed PDFs       sealed by the demo seal, timestamped by the local TSA ({
        config.demo_signing.tsa_url if config.demo_signing else "none"}); verify one with
    pyhanko sign validate --trust {run_dir / 'signing' / 'sealing-ca.pem'} <signed.pdf>
  eID login         the demo card in {eid.trust_bundle_path.parent}, as the proxy sends it:
    curl -X POST {base}/api/v1/auth/eid/login -H 'X-MyBroker-Proxy-Auth: {eid.proxy_secret}' \\
      -H "X-SSL-Client-Cert: $(cat {eid.card_header_path})"
    (unknown card: POST its link_token and a client's e-mail to /api/v1/auth/eid/link, accept
    it at {base}/admin, then the same curl logs in)
""", flush=True)


def _watch(group: ProcessGroup) -> None:
    """Until Ctrl-C: say once when a process ends on its own, with the end of its log."""
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for name, process in group.processes.items():
            if process.poll() is not None and name not in reported:
                reported.add(name)
                _log(f"{name} exited with {process.returncode}:\n"
                     f"{log_tail(group.log_path(name), 15)}")


def run_infra() -> int:
    """Only the infrastructure (test ports), until Ctrl-C; prints the exports for pytest."""
    run_dir = RUN_ROOT / "infra"
    with _owned_run_dir(run_dir):
        group = ProcessGroup(run_dir / "logs")
        infrastructure = None
        try:
            infrastructure = start_infrastructure(
                group, run_dir, Ports(free_port(), infra.free_s3_port(), free_port()),
                "mybroker-test-" + uuid.uuid4().hex[:8], _reuse("MYBROKER_TEST_"))
            for key, value in infrastructure.test_environment(run_dir).items():
                print(f"export {key}='{value}'", flush=True)
            _log("infrastructure runs; Ctrl-C stops it")
            _watch(group)
        except KeyboardInterrupt:
            _log("stopping")
        finally:
            stop_infrastructure(group, infrastructure)
    return 0


def run_test(command: list[str]) -> int:
    """Infra on free ports in a run dir of its own, then `command` with MYBROKER_TEST_*."""
    run_id = uuid.uuid4().hex[:8]
    run_dir = RUN_ROOT / f"test-{run_id}"
    status = 1
    with _owned_run_dir(run_dir):
        group = ProcessGroup(run_dir / "logs")
        infrastructure = None
        try:
            infrastructure = start_infrastructure(
                group, run_dir, Ports(free_port(), infra.free_s3_port(), free_port()),
                f"mybroker-test-{run_id}", _reuse("MYBROKER_TEST_"))
            environment = os.environ | infrastructure.test_environment(run_dir)
            _log(f"infrastructure ready in {run_dir}; running {' '.join(command)}")
            status = _run_command(command, environment)
        except KeyboardInterrupt:
            _log("interrupted")
            status = 130
        finally:
            stop_infrastructure(group, infrastructure)
    if status == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        _log(f"logs kept in {run_dir}")
    return status


def _run_command(command: list[str], environment: Mapping[str, str]) -> int:
    """Run the command in the foreground; on Ctrl-C let it finish its own teardown first."""
    child = subprocess.Popen(command, env=dict(environment))  # noqa: S603 - the caller's command
    try:
        return child.wait()
    except KeyboardInterrupt:
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        raise


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="MyBroker local stack (no container engine)")
    parser.add_argument("mode", choices=["dev", "infra", "test"])
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="test mode: the command to run (after --)")
    arguments = parser.parse_args()
    # Explicit: a shell that starts us in the background would have SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)
    try:
        if arguments.mode == "dev":
            status = run_dev()
        elif arguments.mode == "infra":
            status = run_infra()
        else:
            command = arguments.command
            command = command[1:] if command[:1] == ["--"] else command
            if not command:
                parser.error("test mode needs a command: stack.py test -- pytest tests")
            status = run_test(command)
    except (StartupError, SeedError, TimeoutError) as error:
        _log(f"could not start: {error}")
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
