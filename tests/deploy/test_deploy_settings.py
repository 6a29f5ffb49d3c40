"""No forgotten variable: every setting each process reads (its pydantic settings class) has a
value in docker-compose.yml and in the Kubernetes ConfigMaps / Secret references, and every
MYBROKER_* variable given there is one a process reads (no typo, no leftover)."""

import importlib
from collections.abc import Iterable

import pytest
from pydantic_settings import BaseSettings

from deploy.local.applications import SERVICES
from gateway.config import GatewaySettings
from tests.deploy.manifests import KUSTOMIZATIONS, Manifest, compose, of_kind, render

PROCESSES = (*SERVICES, "gateway")
# Read outside the settings classes: the image's health check (libs/servicekit/probe.py).
READ_ELSEWHERE = {"MYBROKER_PROBE_URL"}
# Set for a setting another issue's branch adds, before it is merged: variable -> why.
COMING: dict[str, str] = {}
# Settings a process inherits (libs/servicekit/settings.py) but never reads: it is given none
# (the gateway has no database: no MongoDB credentials, no network path to it).
NOT_READ = {"gateway": {"mongo_url", "mongo_db", "mongo_db_prefix", "retention_days",
                        "retention_check_seconds"}}


def settings_class(process: str) -> type[BaseSettings]:
    """The settings class `process` reads its environment through."""
    if process == "gateway":
        return GatewaySettings
    module = importlib.import_module(f"services.{process}.config")
    prefix = f"MYBROKER_{process.upper()}_"
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, BaseSettings)
             and value.model_config.get("env_prefix") == prefix]
    assert len(found) == 1, f"services/{process}/config.py: one settings class with {prefix}"
    return found[0]


def names_of(process: str) -> dict[str, set[str]]:
    """For each field: the variables that set it (own prefix first, then the shared one)."""
    cls = settings_class(process)
    prefix = str(cls.model_config.get("env_prefix"))
    return {field: {f"{prefix}{field}".upper(), f"MYBROKER_{field}".upper()}
            for field in cls.model_fields if field not in NOT_READ.get(process, set())}


def unset_fields(process: str, variables: Iterable[str]) -> list[str]:
    """The fields of `process` no variable of `variables` sets."""
    given = {name.upper() for name in variables}
    return sorted(f"{field} ({' or '.join(sorted(names))})"
                  for field, names in names_of(process).items() if not names & given)


def unknown_variables(process: str, variables: Iterable[str]) -> list[str]:
    """MYBROKER_* variables of `variables` that no field of `process` reads."""
    read = set().union(*names_of(process).values()) | READ_ELSEWHERE | set(COMING)
    return sorted(name for name in variables
                  if name.upper().startswith("MYBROKER_") and name.upper() not in read)


@pytest.mark.parametrize("process", PROCESSES)
def test_compose_gives_every_setting_of_each_process_a_value(process: str) -> None:
    environment = compose()["services"][process]["environment"]
    assert unset_fields(process, environment) == []
    assert unknown_variables(process, environment) == []


def _kubernetes_variables(manifests: tuple[Manifest, ...], process: str) -> set[str]:
    config_maps = of_kind(manifests, "ConfigMap")
    container = of_kind(manifests, "Deployment")[process]["spec"]["template"]["spec"][
        "containers"][0]
    variables = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        assert name in config_maps, f"{process} reads ConfigMap {name}, which is not rendered"
        variables |= set(config_maps[name]["data"])
    return variables


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
@pytest.mark.parametrize("process", PROCESSES)
def test_kubernetes_gives_every_setting_of_each_process_a_value(
    kustomization: str, process: str
) -> None:
    variables = _kubernetes_variables(render(kustomization), process)
    assert unset_fields(process, variables) == []
    assert unknown_variables(process, variables) == []


def test_secrets_are_references_to_secrets_never_values_in_a_configmap() -> None:
    for kustomization in KUSTOMIZATIONS:
        for config_map in of_kind(render(kustomization), "ConfigMap").values():
            for key in config_map.get("data", {}):
                assert not key.endswith(("PASSWORD", "SECRET", "SECRET_KEY", "ACCESS_KEY")), key
                assert key not in {"MYBROKER_AMQP_URL", "MYBROKER_MONGO_URL"}, key


def test_a_forgotten_setting_is_named() -> None:
    assert unset_fields("notifier", {"MYBROKER_AMQP_URL"}) != []
    assert "smtp_host (MYBROKER_NOTIFIER_SMTP_HOST or MYBROKER_SMTP_HOST)" in unset_fields(
        "notifier", {"MYBROKER_AMQP_URL"})
    assert unknown_variables("auth", {"MYBROKER_AUTH_JWT_PRIVATE_KEY"}) == [
        "MYBROKER_AUTH_JWT_PRIVATE_KEY"]


def test_the_gateway_is_given_no_database_setting_and_would_be_told_off_for_one() -> None:
    gateway_variables = [set(compose()["services"]["gateway"]["environment"]),
                         *(_kubernetes_variables(render(k), "gateway") for k in KUSTOMIZATIONS)]
    for variables in gateway_variables:
        assert not {name for name in variables if name.startswith("MYBROKER_MONGO")}
    assert unknown_variables("gateway", {"MYBROKER_MONGO_URL"}) == ["MYBROKER_MONGO_URL"]
