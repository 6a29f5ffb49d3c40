"""The Kubernetes manifests: every overlay renders, every resource is valid against the
Kubernetes 1.37 schemas (shipped in `kubernetes-validate`, no network) or its operator's CRD
(vendored in tests/deploy/crds), and the deployments keep the operational promises of
deploy/README.md."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import crossplane
import kubernetes_validate
import pytest

from deploy.local.applications import SERVICES
from tests.deploy.manifests import KUSTOMIZATIONS, Manifest, of_kind, render
from tests.deploy.operator_schemas import custom_resource_problems, validators

KUBERNETES_VERSION = "1.37.0"
# Operator resources of the prod overlay: not in the Kubernetes schemas; checked against the
# operators' own CRDs (tests/deploy/crds), except MinIO's Tenant, whose CRD is not vendored
# (AGPL-3.0, see tests/deploy/crds/README.md) and which the targeted tests below check.
OPERATOR_KINDS = {
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"),
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("rabbitmq.com/v1beta1", "Vhost"),
    ("rabbitmq.com/v1beta1", "User"),
    ("rabbitmq.com/v1beta1", "Permission"),
    ("rabbitmq.com/v1beta1", "Policy"),
    ("minio.min.io/v2", "Tenant"),
}
NO_VENDORED_CRD = {("minio.min.io/v2", "Tenant")}
PROCESSES = (*SERVICES, "gateway")


def _schema_problems(manifests: tuple[Manifest, ...]) -> list[str]:
    problems = []
    for manifest in manifests:
        kind = (manifest["apiVersion"], manifest["kind"])
        if kind in NO_VENDORED_CRD:
            continue
        if kind in OPERATOR_KINDS:
            problems += custom_resource_problems(manifest)
            continue
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in error.path)
            problems.append(f"{manifest['kind']}/{manifest['metadata']['name']} {where}: "
                            f"{error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{manifest['apiVersion']} {manifest['kind']}: no schema")
    return problems


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_rendered_resource_is_valid_kubernetes(kustomization: str) -> None:
    manifests = render(kustomization)
    assert len(manifests) > 30
    assert _schema_problems(manifests) == []


def test_the_schema_check_refuses_an_unknown_field() -> None:
    deployment = copy.deepcopy(of_kind(render("base"), "Deployment")["auth"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    assert len(_schema_problems((deployment,))) == 1


def test_every_operator_kind_but_the_tenant_has_its_crd_vendored() -> None:
    assert set(validators()) == OPERATOR_KINDS - NO_VENDORED_CRD


@pytest.mark.parametrize(("kind", "name", "path", "value"), [
    # A typo the API server would prune: one RabbitMQ node instead of three.
    ("RabbitmqCluster", "mybroker-rabbitmq", ("spec", "replica"), 3),
    ("RabbitmqCluster", "mybroker-rabbitmq", ("spec", "replicas"), "three"),
    ("RabbitmqCluster", "mybroker-rabbitmq", ("spec", "rabbitmq", "additionalConfigs"), "x"),
    # A role's database under a wrong key: pruned, the role would name no database.
    ("MongoDBCommunity", "mybroker-mongodb", ("spec", "users", 0, "roles", 0, "database"), "x"),
    ("Permission", "mybroker-auth", ("spec", "permissions", "configur"), ".*"),
    ("User", "mybroker-gateway", ("spec", "importCredentialsSecret", "nam"), "x"),
])
def test_the_crd_check_refuses_what_the_operator_would_not_get(
    kind: str, name: str, path: tuple[str | int, ...], value: object
) -> None:
    resource = copy.deepcopy(of_kind(render("overlays/prod"), kind)[name])
    assert _schema_problems((resource,)) == []
    parent: Any = resource
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    assert len(_schema_problems((resource,))) == 1


def test_prod_uses_only_known_operator_resources() -> None:
    kinds = {(m["apiVersion"], m["kind"]) for m in render("overlays/prod")}
    assert kinds >= OPERATOR_KINDS
    assert of_kind(render("overlays/prod"), "RabbitmqCluster")["mybroker-rabbitmq"]["spec"][
        "replicas"] == 3
    assert of_kind(render("overlays/prod"), "MongoDBCommunity")["mybroker-mongodb"]["spec"][
        "members"] == 3


def _container(deployment: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_each_process_runs_locked_down_with_probes_and_a_writable_tmp(kustomization: str) -> None:
    deployments = of_kind(render(kustomization), "Deployment")
    for name in PROCESSES:
        pod = deployments[name]["spec"]["template"]["spec"]
        container = _container(deployments[name])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert pod["terminationGracePeriodSeconds"] >= 30
        module = "gateway" if name == "gateway" else f"services.{name}"
        assert container["command"] == ["python", "-m", module]


def test_documents_runs_the_image_with_libreoffice_and_the_others_the_app_image() -> None:
    deployments = of_kind(render("overlays/prod"), "Deployment")
    images = {name: _container(deployments[name])["image"] for name in PROCESSES}
    assert images.pop("documents") == "registry.mybroker.example/mybroker/documents:0.1.0"
    assert set(images.values()) == {"registry.mybroker.example/mybroker/app:0.1.0"}


def test_autoscalers_and_disruption_budgets_cover_every_process() -> None:
    manifests = render("overlays/prod")
    autoscalers = of_kind(manifests, "HorizontalPodAutoscaler")
    budgets = of_kind(manifests, "PodDisruptionBudget")
    for name in PROCESSES:
        assert autoscalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert autoscalers[name]["spec"]["minReplicas"] >= 2
        assert budgets[name]["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": name}


def test_only_the_gateway_admits_traffic_and_only_from_the_ingress_controller() -> None:
    policies = of_kind(render("base"), "NetworkPolicy")
    deny = policies["mybroker-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    admitting = {name: p["spec"] for name, p in policies.items() if p["spec"].get("ingress")}
    assert set(admitting) == {"mybroker-gateway-from-ingress", "mybroker-metrics-from-monitoring"}
    gateway = admitting["mybroker-gateway-from-ingress"]
    assert gateway["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    assert gateway["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"}
    egress = {name: ({port["port"] for rule in p["spec"]["egress"] for port in rule["ports"]},
                     p["spec"]["podSelector"])
              for name, p in policies.items() if name.startswith("mybroker-egress-")}
    everyone = {"matchLabels": {"app.kubernetes.io/part-of": "mybroker"}}
    assert egress["mybroker-egress-dns"] == ({53}, everyone)
    assert egress["mybroker-egress-rabbitmq"] == ({5672}, everyone)
    assert egress["mybroker-egress-mongodb"] == ({27017}, {"matchExpressions": [{
        "key": "app.kubernetes.io/name", "operator": "In", "values": list(SERVICES)}]})
    assert egress["mybroker-egress-minio"] == ({9000}, {"matchExpressions": [{
        "key": "app.kubernetes.io/name", "operator": "In", "values": [*SERVICES, "gateway"]}]})


def test_dns_is_allowed_to_the_cluster_dns_and_to_nodelocal_dnscache() -> None:
    [rule] = of_kind(render("base"), "NetworkPolicy")["mybroker-egress-dns"]["spec"]["egress"]
    assert {"ipBlock": {"cidr": "169.254.20.10/32"}} in rule["to"]
    selectors = [peer["podSelector"]["matchLabels"] for peer in rule["to"] if "podSelector" in peer]
    assert selectors == [{"k8s-app": "kube-dns"}, {"k8s-app": "node-local-dns"}]


def test_the_eid_host_asks_for_a_client_certificate_and_forwards_it() -> None:
    ingresses = of_kind(render("overlays/prod"), "Ingress")
    eid = ingresses["mybroker-eid"]["metadata"]["annotations"]
    assert eid["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "optional"
    assert eid["nginx.ingress.kubernetes.io/auth-tls-secret"] == "mybroker/mybroker-eid-ca"
    assert "proxy_set_header X-SSL-Client-Cert $mybroker_client_cert;" in eid[
        "nginx.ingress.kubernetes.io/configuration-snippet"]
    portal = ingresses["mybroker"]["metadata"]["annotations"]
    assert "auth-tls-verify-client" not in " ".join(portal)
    assert 'X-SSL-Client-Cert ""' in portal["nginx.ingress.kubernetes.io/configuration-snippet"]
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"][0]["secretName"] == "mybroker-tls"


def test_no_secret_is_committed_in_any_overlay() -> None:
    for kustomization in KUSTOMIZATIONS:
        assert of_kind(render(kustomization), "Secret") == {}


def test_the_dev_mongodb_name_resolves_before_the_pod_is_ready() -> None:
    """The readiness probe initiates the replica set with the member's DNS name."""
    manifests = render("overlays/dev")
    probe = " ".join(of_kind(manifests, "StatefulSet")["mongo"]["spec"]["template"]["spec"][
        "containers"][0]["readinessProbe"]["exec"]["command"])
    assert "mongo-0.mongo:27017" in probe
    assert of_kind(manifests, "Service")["mongo"]["spec"]["publishNotReadyAddresses"] is True


def _bucket_policy(script: str) -> dict[str, Any]:
    """The IAM policy minio-setup.sh gives the documents key (its here-document)."""
    policy: dict[str, Any] = json.loads(script.split("<<'POLICY'\n")[1].split("\nPOLICY")[0])
    return policy


@pytest.mark.parametrize("kustomization", ["overlays/dev", "overlays/prod"])
def test_the_documents_key_gets_a_policy_limited_to_its_bucket(kustomization: str) -> None:
    manifests = render(kustomization)
    job = of_kind(manifests, "Job")["minio-setup"]["spec"]["template"]["spec"]
    [container] = job["containers"]
    assert container["command"] == ["/bin/sh", "/setup/minio-setup.sh"]
    keys = {entry["name"]: entry["valueFrom"]["secretKeyRef"] for entry in container["env"]
            if "valueFrom" in entry}
    documents = of_kind(manifests, "Deployment")["documents"]["spec"]["template"]["spec"][
        "containers"][0]["env"]
    used = {entry["name"]: entry["valueFrom"]["secretKeyRef"] for entry in documents
            if "valueFrom" in entry}
    assert keys["S3_ACCESS_KEY"] == used["MYBROKER_DOCUMENTS_S3_ACCESS_KEY"]
    [volume] = [v for v in job["volumes"] if v["name"] == "setup"]
    script = of_kind(manifests, "ConfigMap")[volume["configMap"]["name"]]["data"][
        "minio-setup.sh"]
    [statement] = _bucket_policy(script)["Statement"]
    assert set(statement["Resource"]) == {"arn:aws:s3:::mybroker-documents",
                                          "arn:aws:s3:::mybroker-documents/*"}
    assert all(action.startswith("s3:") and "*" not in action
               for action in statement["Action"])
    assert "mc admin policy attach local mybroker-documents --user" in script


def test_the_tenant_makes_no_user_the_operator_would_make_an_admin() -> None:
    """minio/operator attaches consoleAdmin to every spec.users entry."""
    tenant = of_kind(render("overlays/prod"), "Tenant")["mybroker-minio"]["spec"]
    assert "users" not in tenant
    assert tenant["image"].endswith(":RELEASE.2025-10-15T17-29-55Z")  # CVE-2025-62506 fixed


def _eid_certificate_paths(snippet: str) -> re.Pattern[str]:
    """The paths the eID host's snippet forwards the card's certificate on (its `if`)."""
    [pattern] = re.findall(r"if \(\$uri ~ (\S+)\) \{\s*set \$mybroker_client_cert "
                           r"\$ssl_client_escaped_cert;", snippet)
    return re.compile(pattern)


def test_the_eid_host_serves_the_portal_and_forwards_the_card_on_the_login_only(
    tmp_path: Path,
) -> None:
    """After the eID login the browser is sent to / on the eID host, with a host-only session
    cookie; the page loads /static/*: all of it must be routed there (as compose's nginx)."""
    eid = of_kind(render("overlays/prod"), "Ingress")["mybroker-eid"]
    [rule] = eid["spec"]["rules"]
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/", "Prefix")]
    snippet = eid["metadata"]["annotations"]["nginx.ingress.kubernetes.io/configuration-snippet"]
    login = _eid_certificate_paths(snippet)
    for path in ("/eid", "/eid/link", "/api/v1/auth/eid/login", "/api/v1/auth/eid"):
        assert login.match(path), path
    for path in ("/", "/static/app.css", "/eidx", "/login", "/api/v1/auth/login"):
        assert not login.match(path), path
    # The snippet is valid nginx inside a location (nginx's own parser, strict).
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp { server { location / {\n" + snippet + "\n} } }\n")
    parsed = crossplane.parse(str(tmp_path / "nginx.conf"), strict=True)
    assert parsed["errors"] == []


def test_auth_reads_the_eid_bundle_from_the_optional_secret_mount() -> None:
    """The Secret may be absent (no eID): auth then finds no file at the configured path and
    starts with eID login off (tests/service/test_auth_eid.py checks that start)."""
    manifests = render("overlays/prod")
    pod = of_kind(manifests, "Deployment")["auth"]["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName")
                == "mybroker-eid-ca"]
    assert volume["secret"]["optional"] is True
    [mount] = [m for m in _container({"spec": {"template": {"spec": pod}}})["volumeMounts"]
               if m["name"] == volume["name"]]
    path = of_kind(manifests, "ConfigMap")["mybroker-auth"]["data"][
        "MYBROKER_AUTH_EID_TRUST_BUNDLE_PATH"]
    assert path == f"{mount['mountPath']}/ca.crt"
