"""docker-compose.yml, the Dockerfile and the reverse proxy, checked without a Docker engine:
the compose schema (vendored in `check-jsonschema`), yamllint, and what a person running
`docker compose up` relies on."""

import importlib.resources
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import crossplane
import dockerfile
import jsonschema
import pytest

from deploy.local.applications import SERVICES
from libs.servicekit.probe import probe
from tests.deploy.manifests import COMPOSE_FILE, REPOSITORY, compose, of_kind, render

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
    assert services["rabbitmq"]["image"] == "rabbitmq:4.2.6-management"
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
            if re.search(r"(PASSWORD|SECRET|_KEY|AMQP_URL|MONGO_URL)$", key) and value:
                assert "${" in str(value), key
    ignored = (REPOSITORY / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert (REPOSITORY / "deploy/compose/.gitignore").read_text().split() == ["secrets/"]


def test_the_test_fixtures_container_mode_uses_the_compose_images() -> None:
    fixtures = (REPOSITORY / "tests" / "conftest.py").read_text()
    services = compose()["services"]
    for name in ("mongo", "rabbitmq"):
        assert f'"{services[name]["image"]}"' in fixtures


def _stages() -> dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """The Dockerfile's stages by name, each a list of (instruction, arguments, flags), as
    BuildKit's own parser reads them."""
    stages: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {}
    current: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for command in dockerfile.parse_file(str(REPOSITORY / "Dockerfile")):
        if command.cmd == "FROM":
            current = stages.setdefault(command.value[-1], [])
        current.append((command.cmd, command.value, command.flags))
    return stages


def test_the_image_runs_as_an_unprivileged_user_with_a_health_check() -> None:
    stages = _stages()
    assert list(stages) == ["pdfjs", "build", "runtime-base", "documents", "app"]
    assert stages["build"][0][1][0] == "${PYTHON_IMAGE}"
    # pdf.js for the viewer comes from the npm registry through the pinned, hashed script, into
    # the gateway's static files before the project is installed
    assert any(cmd == "RUN" and "deploy/vendor-pdfjs.sh" in args[0]
               for cmd, args, _ in stages["pdfjs"])
    assert [args for cmd, args, flags in stages["build"] if flags == ("--from=pdfjs",)] == [
        ("/pdfjs", "./gateway/web/static/vendor/pdfjs")]
    assert "python:3.11-slim" in (REPOSITORY / "Dockerfile").read_text()
    for name in ("runtime-base", "documents"):
        users = [args[0] for cmd, args, _ in stages[name] if cmd == "USER"]
        assert users[-1] == "10001:10001", name
    assert stages["app"][0][1][0] == "runtime-base"  # inherits the user and the health check
    healthcheck = [args for cmd, args, _ in stages["runtime-base"] if cmd == "HEALTHCHECK"]
    assert healthcheck == [("CMD", "python", "-m", "libs.servicekit.probe")]
    copies = [(args, flags) for cmd, args, flags in stages["runtime-base"] if cmd == "COPY"]
    assert copies == [(("/opt/venv", "/opt/venv"), ("--from=build",))]
    installs = " ".join(args[0] for cmd, args, _ in stages["documents"] if cmd == "RUN")
    assert "libreoffice-writer-nogui" in installs and "fonts-" in installs
    runs = " ".join(args[0] for stage in stages.values() for cmd, args, _ in stage if cmd == "RUN")
    assert "build-essential" not in runs and "gcc" not in runs


def test_every_file_the_image_copies_is_in_the_build_context() -> None:
    ignore = [line for line in (REPOSITORY / ".dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    assert ignore[0] == "*"  # an allow-list: .env, .run, .venv never reach the build context
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = [args[:-1] for stage in ("pdfjs", "build") for cmd, args, flags in _stages()[stage]
               if cmd == "COPY" and not flags]
    for source in (path for group in sources for path in group):
        assert source in allowed, source
        assert (REPOSITORY / source).exists(), source


def test_the_image_build_gets_the_licence_files_pyproject_names() -> None:
    """pip builds the project from the files copied with pyproject.toml: the licence too."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    project_copy = next(args[:-1] for cmd, args, flags in _stages()["build"]
                        if cmd == "COPY" and not flags and "pyproject.toml" in args)
    assert project["license-files"] and set(project["license-files"]) <= set(project_copy)


def _nginx_errors(template: str, tmp_path: Path) -> list[str]:
    """Problems nginx's parser finds in `template` rendered into an http block like the image's."""
    (tmp_path / "conf.d").mkdir(exist_ok=True)
    (tmp_path / "conf.d" / "default.conf").write_text(
        template.replace("${MYBROKER_PROXY_SECRET}", "proxy-secret"))
    main = tmp_path / "nginx.conf"
    main.write_text("events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    # `http2 on;` is nginx >= 1.25.1 (the image has 1.27); the parser's directive table predates it.
    parsed = crossplane.parse(str(main), strict=True, ignore=["http2"])
    return [error["error"] for error in parsed["errors"]]


def test_the_proxy_configuration_parses_as_nginx(tmp_path: Path) -> None:
    template = NGINX_TEMPLATE.read_text()
    assert _nginx_errors(template, tmp_path) == []
    broken = template.replace("ssl_verify_client optional_no_ca;", "ssl_verify_clent optional;")
    assert _nginx_errors(broken, tmp_path) != []


def test_the_proxy_forwards_the_eid_certificate_only_on_the_eid_server() -> None:
    template = NGINX_TEMPLATE.read_text()
    servers = template.split("server {")[1:]
    portal = next(s for s in servers if "listen 443 ssl" in s)
    eid = next(s for s in servers if "listen 8444 ssl" in s)
    assert "ssl_verify_client" not in portal
    assert 'proxy_set_header X-SSL-Client-Cert "";' in portal
    assert "ssl_verify_client optional_no_ca;" in eid
    eid_login, eid_rest = eid.split("location / {")
    assert "location ~ ^/(eid|api/v1/auth/eid)(/|$)" in eid_login
    assert "proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;" in eid_login
    assert 'proxy_set_header X-SSL-Client-Cert "";' in eid_rest
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
    # Private keys: readable by their owner only; the JWT key's owner is auth's uid (as root).
    for private in (secrets / "jwt-private.pem", secrets / "tls" / "tls.key", tmp_path / ".env"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    if os.geteuid() == 0:
        assert (secrets / "jwt-private.pem").stat().st_uid == 10001
    assert "BEGIN CERTIFICATE" in (secrets / "tls" / "tls.crt").read_text()
    first = (tmp_path / ".env").read_text()
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=60)
    assert (tmp_path / ".env").read_text() == first


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/health/live"])
def test_the_container_probe_fails_on_what_is_not_a_healthy_http_answer(url: str) -> None:
    assert probe(url, timeout=0.5) is False


def test_minio_is_a_release_with_the_2025_security_fixes_everywhere() -> None:
    """CVE-2025-31489 and CVE-2025-62506: fixed in RELEASE.2025-10-15T17-29-55Z, which exists
    only as source (no published image): compose builds it, the overlays use that build."""
    release = "RELEASE.2025-10-15T17-29-55Z"
    minio = compose()["services"]["minio"]
    assert minio["image"].endswith(f":{release}")
    assert minio["build"]["context"].endswith(f"#{release}")
    dev = of_kind(render("overlays/dev"), "StatefulSet")["minio"]["spec"]["template"]["spec"]
    assert dev["containers"][0]["image"] == minio["image"]


def _refused_at_the_edge(config: str) -> re.Pattern[str] | None:
    """The path pattern an nginx configuration answers 404 on (location or if), if any."""
    found = re.search(r"(?:location ~|if \(\$uri ~) (\S+?)\)? \{\s*return 404;", config)
    return re.compile(found.group(1)) if found else None


def test_metrics_and_the_api_description_are_not_served_through_any_proxy() -> None:
    """Prometheus and integrators reach the gateway's own port; the internet gets 404."""
    servers = [s for s in NGINX_TEMPLATE.read_text().split("server {")[1:] if "ssl" in s]
    ingresses = of_kind(render("overlays/prod"), "Ingress")
    snippets = [i["metadata"]["annotations"]["nginx.ingress.kubernetes.io/configuration-snippet"]
                for i in ingresses.values()]
    assert len(servers) == 2 and len(snippets) == 2
    for config in (*servers, *snippets):
        refused = _refused_at_the_edge(config)
        assert refused is not None, config
        for path in ("/metrics", "/api/docs", "/api/openapi.json"):
            assert refused.match(path), path
        for path in ("/", "/api/v1/me", "/metricsx", "/api/docs/x", "/api/openapi_json"):
            assert not refused.match(path), path
