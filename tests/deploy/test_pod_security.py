"""Pod Security "restricted" (the prod namespace enforces it): every pod the prod overlay makes
run, its own and those the MinIO operator builds from the Tenant, passes the level's rules; a
pod that does not would be refused by the API server, and nothing would start."""

import copy
from typing import Any

import pytest

from tests.deploy.manifests import Manifest, of_kind, render

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# The volume types "restricted" allows.
VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The rules of Pod Security "restricted" (Kubernetes 1.37) that the pod spec breaks."""
    problems = []
    pod_context = pod.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(flag)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= VOLUME_TYPES:
            problems.append(f"volume {volume['name']}: {sorted(kinds - VOLUME_TYPES)}")
    if pod_context.get("runAsUser") == 0:
        problems.append("pod runAsUser 0")
    containers = [*pod.get("initContainers", []), *pod.get("containers", [])]
    for container in containers:
        context = container.get("securityContext") or {}
        name = container["name"]
        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{name}: capabilities.drop lacks ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if context.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {})
        if seccomp.get("type") not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        if any("hostPort" in port for port in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


def tenant_pool_pods(tenant: Manifest) -> dict[str, dict[str, Any]]:
    """The pod of each pool as minio/operator v7.1 builds it (pkg/resources/statefulsets/
    minio-statefulset.go): the pod gets `pool.securityContext` (default runAsNonRoot, uid/gid/
    fsGroup 1000); its containers minio, sidecar and the init container validate-arguments
    get `pool.containerSecurityContext`, else only runAsNonRoot/runAsUser/runAsGroup."""
    pods = {}
    for pool in tenant["spec"]["pools"]:
        pod_context = pool.get("securityContext") or {
            "runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
        container_context = pool.get("containerSecurityContext") or {
            key: pod_context.get(key, default) for key, default in
            (("runAsNonRoot", True), ("runAsUser", 1000), ("runAsGroup", 1000))}
        pods[pool["name"]] = {
            "securityContext": pod_context,
            "initContainers": [{"name": "validate-arguments",
                                "securityContext": container_context}],
            "containers": [{"name": name, "securityContext": container_context}
                           for name in ("minio", "sidecar")],
            "volumes": [{"name": "data", "persistentVolumeClaim": {}},
                        {"name": "cfg-vol", "emptyDir": {}}],
        }
    return pods


def prod_pods() -> dict[str, dict[str, Any]]:
    """Every pod template of the prod overlay, and the Tenant's pool pods."""
    manifests = render("overlays/prod")
    pods = {f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
            for m in manifests if m["kind"] in WORKLOADS}
    for name, tenant in of_kind(manifests, "Tenant").items():
        for pool, pod in tenant_pool_pods(tenant).items():
            pods[f"Tenant/{name}/{pool}"] = pod
    return pods


def test_every_prod_pod_passes_pod_security_restricted() -> None:
    pods = prod_pods()
    assert {"Deployment/gateway", "Job/minio-setup", "Tenant/mybroker-minio/pool-0"} <= set(pods)
    assert {name: restricted_violations(pod) for name, pod in pods.items()
            if restricted_violations(pod)} == {}


def test_the_prod_namespace_enforces_restricted() -> None:
    namespace = of_kind(render("overlays/prod"), "Namespace")["mybroker"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("breach", ["drop", "escalation", "seccomp", "root"])
def test_the_restricted_check_refuses_a_weaker_pool(breach: str) -> None:
    tenant = copy.deepcopy(of_kind(render("overlays/prod"), "Tenant")["mybroker-minio"])
    pool = tenant["spec"]["pools"][0]
    if breach == "drop":
        del pool["containerSecurityContext"]["capabilities"]
    elif breach == "escalation":
        del pool["containerSecurityContext"]["allowPrivilegeEscalation"]
    elif breach == "seccomp":
        del pool["containerSecurityContext"]["seccompProfile"]
        del pool["securityContext"]["seccompProfile"]
    else:
        pool["containerSecurityContext"]["runAsNonRoot"] = False
    [pod] = tenant_pool_pods(tenant).values()
    assert restricted_violations(pod) != []


def test_the_operator_s_default_pool_context_is_not_enough() -> None:
    """What the issue found: without containerSecurityContext the pods would be refused."""
    tenant = copy.deepcopy(of_kind(render("overlays/prod"), "Tenant")["mybroker-minio"])
    del tenant["spec"]["pools"][0]["containerSecurityContext"]
    [pod] = tenant_pool_pods(tenant).values()
    assert "minio: allowPrivilegeEscalation is not false" in restricted_violations(pod)


def test_the_operators_keep_their_restricted_defaults() -> None:
    """The MongoDB and RabbitMQ operators give their pods restricted security contexts
    (mongodb-kubernetes 1.10 DefaultPodSecurityContext/DefaultSecurityContext, cluster-operator
    v2.22 statefulset builder); the overlay's overrides must not set weaker ones."""
    manifests = render("overlays/prod")
    mongo = of_kind(manifests, "MongoDBCommunity")["mybroker-mongodb"]["spec"]["statefulSet"]
    rabbit = of_kind(manifests, "RabbitmqCluster")["mybroker-rabbitmq"]["spec"]["override"]
    for override in (mongo["spec"]["template"], rabbit["statefulSet"]["spec"]["template"]):
        assert "securityContext" not in str(override)
