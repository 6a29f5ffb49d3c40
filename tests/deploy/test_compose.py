"""docker-compose.yml, the Dockerfile and the reverse proxy, checked without a Docker engine:
the compose schema (vendored in `check-jsonschema`), yamllint, and what a person running
`docker compose up` relies on."""

import importlib.resources
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from deploy.local.applications import SERVICES
from libs.servicekit.probe import probe
from tests.deploy.manifests import COMPOSE_FILE, REPOSITORY, compose

PROCESSES = (*SERVICES, "gateway")
NGINX_TEMPLATE = REPOSITORY / "deploy" / "nginx" / "templates" / "default.conf.template"


def _compose_schema_errors(document: Any) -> list[str]:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert _compose_schema_errors(compose()) == []


def test_the_compose_schema_check_refuses_a_wrong_condition() -> None:
    broken = json.loads(json.dumps(compose()))
    broken["services"]["gateway"]["depends_on"]["auth"]["condition"] = "service_ready"
    assert _compose_schema_errors(broken) != []


def test_every_yaml_file_of_the_deployment_passes_yamllint() -> None:
    files = [COMPOSE_FILE, *sorted((REPOSITORY / "deploy").rglob("*.yaml"))]
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-f", "parsable", "-c",
         str(REPOSITORY / "deploy" / "yamllint.yaml"), *map(str, files)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_whole_product_starts_in_order_on_healthy_dependencies() -> None:
    services = compose()["services"]
    assert services["mongo"]["image"] == "mongo:7.0"
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    for name in PROCESSES:
        service = services[name]
        assert service["depends_on"]["mongo"] == {"condition": "service_healthy"}
        assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
        assert service["read_only"] is True
        module = "gateway" if name == "gateway" else f"services.{name}"
        assert service["command"] == ["python", "-m", module]
    assert services["documents"]["depends_on"]["minio-setup"] == {
        "condition": "service_completed_successfully"}
    assert services["documents"]["build"]["target"] == "documents"
    assert set(services["gateway"]["depends_on"]) >= set(SERVICES)
    assert services["proxy"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}
    assert set(compose()["volumes"]) == {"mongo-data", "mongo-config", "rabbitmq-data",
                                         "minio-data"}


def test_no_secret_value_is_written_in_the_compose_file() -> None:
    for name in PROCESSES:
        for key, value in compose()["services"][name]["environment"].items():
            if re.search(r"(PASSWORD|SECRET|_KEY|AMQP_URL)$", key) and value:
                assert "${" in str(value), key
    ignored = (REPOSITORY / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert (REPOSITORY / "deploy/compose/.gitignore").read_text().split() == ["secrets/"]


def test_the_test_fixtures_container_mode_uses_the_compose_images() -> None:
    fixtures = (REPOSITORY / "tests" / "conftest.py").read_text()
    services = compose()["services"]
    for name in ("mongo", "rabbitmq"):
        assert f'"{services[name]["image"]}"' in fixtures


def test_the_image_runs_as_an_unprivileged_user_with_a_health_check() -> None:
    dockerfile = (REPOSITORY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    names = [stage.split("\n", 1)[0].split(" AS ")[-1] for stage in stages]
    assert names == ["build", "runtime-base", "documents", "app"]
    runtime = [stage for stage in stages if not stage.startswith("${PYTHON_IMAGE} AS build")]
    for stage in runtime:
        users = re.findall(r"^USER (\S+)", stage, flags=re.MULTILINE)
        assert not users or users[-1] == "10001:10001"
    assert "HEALTHCHECK" in stages[1] and "python:3.11-slim" in dockerfile
    assert "libreoffice-writer-nogui" in stages[2] and "fonts-" in stages[2]
    assert "build-essential" not in dockerfile and "gcc" not in dockerfile
    ignored = [line for line in (REPOSITORY / ".dockerignore").read_text().splitlines()
               if line and not line.startswith("#")]
    assert ignored[0] == "*"  # an allow-list: .env, .run, .venv never reach the build context


def test_the_proxy_forwards_the_eid_certificate_only_on_the_eid_server() -> None:
    template = NGINX_TEMPLATE.read_text()
    servers = template.split("server {")[1:]
    portal = next(s for s in servers if "listen 443 ssl" in s)
    eid = next(s for s in servers if "listen 8444 ssl" in s)
    assert "ssl_verify_client" not in portal
    assert 'proxy_set_header X-SSL-Client-Cert "";' in portal
    assert "ssl_verify_client optional_no_ca;" in eid
    assert "proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;" in eid
    for server in (portal, eid):
        assert 'proxy_set_header X-MyBroker-Proxy-Auth "${MYBROKER_PROXY_SECRET}";' in server
    proxy = compose()["services"]["proxy"]
    assert proxy["environment"]["MYBROKER_PROXY_SECRET"].startswith("${MYBROKER_PROXY_SECRET")
    gateway_env = compose()["services"]["gateway"]["environment"]
    assert gateway_env["MYBROKER_GATEWAY_TRUSTED_PROXY_SECRET"].startswith(
        "${MYBROKER_PROXY_SECRET")


def test_the_dev_secrets_script_writes_every_secret_and_keeps_them(tmp_path: Path) -> None:
    for name in ("Dockerfile", ".env.example"):
        (tmp_path / name).write_text((REPOSITORY / name).read_text())
    script = tmp_path / "deploy" / "compose" / "dev-secrets.sh"
    script.parent.mkdir(parents=True)
    script.write_text((REPOSITORY / "deploy/compose/dev-secrets.sh").read_text())
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=60)
    env = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines()
               if line and not line.startswith("#"))
    for key in ("RABBITMQ_PASSWORD", "MINIO_ROOT_PASSWORD", "MYBROKER_S3_SECRET_KEY",
                "MYBROKER_ADMIN_PASSWORD", "MYBROKER_PROXY_SECRET"):
        assert len(env[key]) >= 20, key
    secrets = tmp_path / "deploy" / "compose" / "secrets"
    assert "PRIVATE KEY" in (secrets / "jwt-private.pem").read_text()
    assert "BEGIN CERTIFICATE" in (secrets / "tls" / "tls.crt").read_text()
    first = (tmp_path / ".env").read_text()
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=60)
    assert (tmp_path / ".env").read_text() == first


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/health/live"])
def test_the_container_probe_fails_on_what_is_not_a_healthy_http_answer(url: str) -> None:
    assert probe(url, timeout=0.5) is False
