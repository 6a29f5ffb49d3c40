"""docker compose gives each process its own MongoDB and RabbitMQ user, as the prod overlay
does: MongoDB runs with authentication (users made by deploy/compose/mongo-users.js on the
first start), RabbitMQ loads the users and permissions dev-secrets.sh writes, with the same
rights as the overlay's Permissions; the administrators are used by no process."""

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploy.local.applications import SERVICES
from tests.deploy.manifests import REPOSITORY, compose, of_kind, render

PROCESSES = (*SERVICES, "gateway")


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_logs_in_with_its_own_users(process: str) -> None:
    environment = compose()["services"][process]["environment"]
    assert environment["MYBROKER_AMQP_URL"] == (
        f"amqp://mybroker-{process}:${{RABBITMQ_PASSWORD_{process.upper()}:?}}"
        "@rabbitmq:5672/mybroker")
    if process == "gateway":
        assert "MYBROKER_MONGO_URL" not in environment
    else:
        assert environment["MYBROKER_MONGO_URL"] == (
            f"mongodb://mybroker-{process}:${{MONGO_PASSWORD_{process.upper()}:?}}"
            "@mongo:27017/?replicaSet=rs0&authSource=admin")


def test_mongodb_requires_authentication_and_creates_a_user_per_service() -> None:
    mongo = compose()["services"]["mongo"]
    assert mongo["command"][:1] == ["mongod"] and "--keyFile" in mongo["command"]
    assert {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"} <= set(
        mongo["environment"])
    assert "-u \"$$MONGO_INITDB_ROOT_USERNAME\"" in mongo["healthcheck"]["test"][1]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in mongo["volumes"]}
    script = (REPOSITORY / mounted["/docker-entrypoint-initdb.d/mybroker-users.js"]).read_text()
    [listed] = re.findall(r"for \(const service of \[([^\]]*)\]\)", script)
    assert [name.strip().strip('"') for name in listed.split(",")] == list(SERVICES)
    assert 'roles: [{ role: "readWrite", db: `mybroker_${service}` }]' in script
    for service in SERVICES:
        assert f"MONGO_PASSWORD_{service.upper()}" in mongo["environment"]


def _run_dev_secrets(directory: Path) -> dict[str, str]:
    """Run deploy/compose/dev-secrets.sh in a copy of the repository's files; the .env."""
    for name in ("Dockerfile", ".env.example"):
        (directory / name).write_text((REPOSITORY / name).read_text())
    script = directory / "deploy" / "compose" / "dev-secrets.sh"
    script.parent.mkdir(parents=True)
    script.write_text((REPOSITORY / "deploy/compose/dev-secrets.sh").read_text())
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=60)
    return dict(line.split("=", 1) for line in (directory / ".env").read_text().splitlines()
                if line and not line.startswith("#"))


def _verifies(password: str, stored: str) -> bool:
    """RabbitMQ's check of a rabbit_password_hashing_sha256 hash."""
    raw = base64.b64decode(stored)
    return hashlib.sha256(raw[:4] + password.encode()).digest() == raw[4:]


def test_rabbitmq_loads_a_user_per_process_with_the_rights_of_the_prod_overlay(
    tmp_path: Path,
) -> None:
    env = _run_dev_secrets(tmp_path)
    definitions: dict[str, Any] = json.loads(
        (tmp_path / "deploy/compose/secrets/rabbitmq-definitions.json").read_text())
    users = {user["name"]: user for user in definitions["users"]}
    assert set(users) == {env["RABBITMQ_USER"], *(f"mybroker-{p}" for p in PROCESSES)}
    assert users[env["RABBITMQ_USER"]]["tags"] == ["administrator"]
    assert _verifies(env["RABBITMQ_PASSWORD"], users[env["RABBITMQ_USER"]]["password_hash"])
    permissions = {p["user"]: p for p in definitions["permissions"]}
    prod = of_kind(render("overlays/prod"), "Permission")
    for process in PROCESSES:
        user = users[f"mybroker-{process}"]
        assert user["tags"] == []
        assert len(env[f"RABBITMQ_PASSWORD_{process.upper()}"]) >= 20
        assert _verifies(env[f"RABBITMQ_PASSWORD_{process.upper()}"], user["password_hash"])
        assert not _verifies(env["RABBITMQ_PASSWORD"], user["password_hash"])
        rights = {kind: permissions[f"mybroker-{process}"][kind]
                  for kind in ("configure", "write", "read")}
        assert rights == prod[f"mybroker-{process}"]["spec"]["permissions"]
    for key in ("MONGO_ROOT_PASSWORD", "MONGO_REPLICA_KEY",
                *(f"MONGO_PASSWORD_{s.upper()}" for s in SERVICES)):
        assert len(env[key]) >= 20, key


def test_rabbitmq_reads_those_definitions() -> None:
    rabbit = compose()["services"]["rabbitmq"]
    assert "environment" not in rabbit  # no default user: the definitions hold the users
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in rabbit["volumes"]}
    config = (REPOSITORY / mounted["/etc/rabbitmq/conf.d/20-mybroker.conf"]).read_text()
    assert "load_definitions = /etc/rabbitmq/definitions.json" in config
    assert mounted["/etc/rabbitmq/definitions.json"] == (
        "./deploy/compose/secrets/rabbitmq-definitions.json")
