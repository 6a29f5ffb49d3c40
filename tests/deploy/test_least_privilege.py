"""Each process of the prod overlay has its own MongoDB and RabbitMQ user, limited to what it
owns, and the infrastructure pods admit only the processes that use them."""

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from deploy.local.applications import SERVICES
from libs.contracts.rpc import RpcMethod
from tests.deploy.manifests import Manifest, of_kind, render

PROCESSES = (*SERVICES, "gateway")


def _secret_of(manifests: tuple[Manifest, ...], process: str, variable: str) -> str | None:
    container = of_kind(manifests, "Deployment")[process]["spec"]["template"]["spec"][
        "containers"][0]
    for entry in container["env"]:
        if entry["name"] == variable:
            reference = entry["valueFrom"]["secretKeyRef"]
            return f"{reference['name']}/{reference['key']}"
    return None


def test_each_service_has_a_mongodb_user_for_its_own_database_only() -> None:
    manifests = render("overlays/prod")
    users = {user["name"]: user for user in
             of_kind(manifests, "MongoDBCommunity")["mybroker-mongodb"]["spec"]["users"]}
    assert set(users) == {f"mybroker-{service}" for service in SERVICES}
    for service in SERVICES:
        user = users[f"mybroker-{service}"]
        assert user["roles"] == [{"name": "readWrite", "db": f"mybroker_{service}"}]
        assert _secret_of(manifests, service, "MYBROKER_MONGO_URL") == (
            f"{user['connectionStringSecretName']}/connectionString.standard")
    assert _secret_of(manifests, "gateway", "MYBROKER_MONGO_URL") is None


def all_rpc_queues() -> set[str]:
    """Every RPC queue of the contracts (libs/contracts/*.py RpcMethods)."""
    package = Path(importlib.import_module("libs.contracts").__file__ or "").parent
    queues = set()
    for path in package.glob("*.py"):
        module = importlib.import_module(f"libs.contracts.{path.stem}")
        queues |= {value.queue for value in vars(module).values()
                   if isinstance(value, RpcMethod)}
    return queues


def rpc_queues(service: str) -> set[str]:
    """The RPC queues `service` serves (named `<service>.rpc.<method>`)."""
    return {queue for queue in all_rpc_queues() if queue.startswith(f"{service}.rpc.")}


def test_every_rpc_queue_is_named_after_the_service_serving_it() -> None:
    assert all_rpc_queues() and all(queue.split(".")[0] in SERVICES
                                    for queue in all_rpc_queues())


def _permissions(process: str) -> dict[str, re.Pattern[str]]:
    manifests = render("overlays/prod")
    permission = of_kind(manifests, "Permission")[f"mybroker-{process}"]["spec"]
    assert permission["userReference"] == {"name": f"mybroker-{process}"}
    user = of_kind(manifests, "User")[f"mybroker-{process}"]["spec"]
    assert user["importCredentialsSecret"] == {"name": f"mybroker-rabbitmq-{process}"}
    assert _secret_of(manifests, process, "MYBROKER_AMQP_URL") == f"mybroker-amqp-{process}/url"
    return {kind: re.compile(pattern) for kind, pattern in permission["permissions"].items()}


def permission_problems(process: str, permissions: dict[str, re.Pattern[str]]) -> list[str]:
    """Where `permissions` of `process` miss a name it owns or reach one of another's."""
    own = {f"{process}.anything", "rpc.reply.0123abcd", "mybroker.events", "mybroker.dead",
           *rpc_queues(process)}
    problems = [f"{kind} lacks {name}" for name in own for kind in ("configure", "write", "read")
                if not permissions[kind].fullmatch(name)]
    if not permissions["write"].fullmatch("amq.default"):  # RPC requests and replies
        problems.append("write lacks amq.default")
    others = {queue for service in SERVICES if service != process
              for queue in rpc_queues(service)} | {"notifier-x.y", "mybroker.eventsx", ""}
    problems += [f"{kind} reaches {name}" for name in others - own
                 for kind in ("configure", "read") if permissions[kind].fullmatch(name)]
    return problems


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_has_a_rabbitmq_user_limited_to_its_own_queues(process: str) -> None:
    assert permission_problems(process, _permissions(process)) == []


def test_the_permission_check_refuses_the_former_user_with_every_right() -> None:
    everything = {kind: re.compile(".*") for kind in ("configure", "write", "read")}
    assert "read reaches auth.rpc.log_in" in permission_problems("dossier", everything)


def _admitted(policy: Manifest) -> list[tuple[dict[str, Any], set[int]]]:
    return [(peer, {port["port"] for port in rule.get("ports", [])})
            for rule in policy["spec"]["ingress"] for peer in rule["from"]]


def test_the_infrastructure_pods_admit_only_the_processes_that_use_them() -> None:
    policies = of_kind(render("overlays/prod"), "NetworkPolicy")
    services_only = {"podSelector": {"matchExpressions": [{
        "key": "app.kubernetes.io/name", "operator": "In", "values": list(SERVICES)}]}}
    mongo = _admitted(policies["mybroker-mongodb-ingress"])
    assert mongo == [({"podSelector": {"matchLabels": {"mybroker.io/infra": "mongodb"}}}, set()),
                     (services_only, {27017})]
    rabbit = _admitted(policies["mybroker-rabbitmq-ingress"])
    assert ({"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "mybroker"}}},
            {5672}) in rabbit
    minio = _admitted(policies["mybroker-minio-ingress"])
    assert ({"podSelector": {"matchExpressions": [{
        "key": "app.kubernetes.io/name", "operator": "In",
        "values": [*SERVICES, "gateway", "minio-setup"]}]}}, {9000}) in minio
    for policy in ("mybroker-mongodb-ingress", "mybroker-rabbitmq-ingress",
                   "mybroker-minio-ingress"):
        assert policies[policy]["spec"]["policyTypes"] == ["Ingress"]
        for peer, ports in _admitted(policies[policy]):
            assert ports or ("podSelector" in peer and "namespaceSelector" not in peer), policy
