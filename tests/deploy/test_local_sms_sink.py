"""`make dev` and the system tests: the notifier writes SMS beside the Maildir, where the banner
says, and never to a provider."""

import json
from pathlib import Path

import pytest

from deploy.local.applications import ApplicationConfig, application_environment
from deploy.local.infra import MailSink, ObjectStorage
from libs.contracts.sms import SmsStatus
from services.notifier.config import NotifierSettings
from services.notifier.sms_providers import OutgoingSms, provider_from_settings


def local_config(run_dir: Path) -> ApplicationConfig:
    return ApplicationConfig(
        environment="dev", amqp_url="amqp://guest:guest@127.0.0.1:5672/dev",
        mongo_url="mongodb://127.0.0.1:27017", mongo_db_prefix="mybroker",
        storage=ObjectStorage("http://127.0.0.1:8333", "key", "secret"),
        mail=MailSink("127.0.0.1", 1025, run_dir / "maildir"),
        private_key_path=run_dir / "jwt.pem", public_key_path=run_dir / "jwt.pub",
        admin_email="admin@mybroker.example", admin_password="pw",
        office_email="kantoor@mybroker.example", gateway_port=8000, health_ports={})


async def test_the_local_stack_sends_sms_to_json_files_in_its_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = local_config(tmp_path / "dev")
    for name, value in application_environment(config).items():
        if name.startswith("MYBROKER_"):
            monkeypatch.setenv(name, value)
    settings = NotifierSettings()
    assert (settings.sms_provider, Path(settings.sms_sink_dir)) == ("sink", tmp_path / "dev/sms")
    assert config.sms_dir == tmp_path / "dev/sms"

    provider = provider_from_settings(settings)
    result = await provider.send(OutgoingSms("enrol-1:code-1", "+32470123456", "Uw code: 1234"))
    [stored] = config.sms_dir.glob("*.json")
    assert result.status is SmsStatus.SENT
    assert json.loads(stored.read_text())["text"] == "Uw code: 1234"
