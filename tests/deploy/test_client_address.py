"""Behind the reverse proxy every client keeps its own address (per-IP login back-off, audit
log): the gateway, started by `python -m gateway`'s own main() with the environment of
docker-compose.yml or of the rendered Kubernetes ConfigMaps, hands uvicorn the proxy networks,
and a login through the proxy reaches auth with the client's address, never the proxy's."""

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import uvicorn

import gateway.main
from gateway.config import GatewaySettings
from libs.contracts import auth
from libs.servicekit.errors import Unauthenticated
from tests.deploy.manifests import Manifest, compose, of_kind, render
from tests.service.gateway_support import FakeRpc

CLIENT = "203.0.113.7"  # a browser on the internet
# An ingress-nginx pod in the pod network of kind/minikube (10.244.0.0/16), the dev overlay's
# clusters and the base's documented default.
INGRESS_POD = "10.244.1.23"


def compose_environment() -> dict[str, str]:
    """The gateway's environment in docker-compose.yml: `${VAR:-default}` gives its default,
    other references (secrets from .env) a placeholder."""
    def interpolate(match: re.Match[str]) -> str:
        default = re.fullmatch(r"[A-Z_]+:-(.*)", match.group(1))
        return default.group(1) if default else "from-dot-env"
    environment = compose()["services"]["gateway"]["environment"]
    return {name: re.sub(r"\$\{([^}]*)\}", interpolate, str(value))
            for name, value in environment.items()}


def kubernetes_environment(kustomization: str) -> dict[str, str]:
    """The gateway container's environment in the rendered overlay (Secrets: placeholders)."""
    manifests: tuple[Manifest, ...] = render(kustomization)
    container = of_kind(manifests, "Deployment")["gateway"]["spec"]["template"]["spec"][
        "containers"][0]
    config_maps = of_kind(manifests, "ConfigMap")
    environment: dict[str, str] = {}
    for source in container["envFrom"]:
        environment |= config_maps[source["configMapRef"]["name"]]["data"]
    for entry in container["env"]:
        environment[entry["name"]] = entry.get("value", "from-a-secret")
    environment["MYBROKER_AMQP_URL"] = "amqp://user:password@rabbitmq:5672/mybroker"
    return environment


def served_gateway(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], rpc: FakeRpc
) -> Callable[[str], httpx.Client]:
    """The ASGI app exactly as uvicorn serves it from gateway.main.main() in `environment`;
    returns a client factory for a connection from a given address."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    served: dict[str, Any] = {}
    real_create_app = gateway.main.create_app
    monkeypatch.setattr(gateway.main, "create_app",
                        lambda settings: real_create_app(settings, rpc))
    # main() builds uvicorn's config and serves it: the config is kept here instead.
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda server, *_args, **_kwargs: served.update(config=server.config))
    monkeypatch.setattr(gateway.main, "configure_logging", lambda *_: None)
    gateway.main.main()
    config: uvicorn.Config = served["config"]
    config.load()  # wraps the app in uvicorn's ProxyHeadersMiddleware, as serving does
    app = config.loaded_app

    def connection_from(address: str) -> httpx.Client:
        # httpx's ASGI transport is async; run each request through a fresh event loop.
        return httpx.Client(transport=_SyncAsgi(app, (address, 40000)),
                            base_url="http://gateway:8000")
    return connection_from


class _SyncAsgi(httpx.BaseTransport):
    """httpx.ASGITransport driven synchronously, with the connection's peer address."""

    def __init__(self, app: Any, client: tuple[str, int]) -> None:
        self._transport = httpx.ASGITransport(app=app, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` to the app and read the whole answer."""
        async def send() -> httpx.Response:
            response = await self._transport.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        return asyncio.run(send())


def login_address(client: httpx.Client, rpc: FakeRpc, forwarded_for: str) -> str | None:
    """The client address auth is told of for one login carrying this X-Forwarded-For."""
    rpc.calls.clear()
    response = client.post("/api/v1/auth/login", headers={"X-Forwarded-For": forwarded_for},
                           json={"email": "an.peeters@example.be", "password": "wrong"})
    assert response.status_code == 401, response.text
    [request] = rpc.called(auth.LOG_IN)
    assert isinstance(request, auth.LoginRequest)
    return request.client_ip


@pytest.fixture
def rpc() -> FakeRpc:
    fake = FakeRpc()
    fake.answer(auth.LOG_IN, Unauthenticated("Wrong e-mail address or password."))
    return fake


def test_through_the_compose_proxy_auth_sees_the_client_s_address(
    monkeypatch: pytest.MonkeyPatch, rpc: FakeRpc
) -> None:
    proxy_address = compose()["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    connect = served_gateway(monkeypatch, compose_environment(), rpc)
    through_proxy = connect(proxy_address)
    # nginx appends the peer to what the client sent ($proxy_add_x_forwarded_for).
    assert login_address(through_proxy, rpc, CLIENT) == CLIENT
    assert login_address(through_proxy, rpc, f"198.51.100.1, {CLIENT}") == CLIENT
    # Another container of the compose network cannot choose an address.
    assert login_address(connect("172.30.80.20"), rpc, CLIENT) == "172.30.80.20"


@pytest.mark.parametrize("kustomization", ["overlays/dev", "overlays/prod"])
def test_through_the_ingress_auth_sees_the_client_s_address(
    monkeypatch: pytest.MonkeyPatch, rpc: FakeRpc, kustomization: str
) -> None:
    connect = served_gateway(monkeypatch, kubernetes_environment(kustomization), rpc)
    assert login_address(connect(INGRESS_POD), rpc, CLIENT) == CLIENT
    assert login_address(connect("192.0.2.50"), rpc, CLIENT) == "192.0.2.50"


def test_uvicorn_s_own_variable_is_set_nowhere() -> None:
    """FORWARDED_ALLOW_IPS is never read (the gateway passes its setting): setting it misleads."""
    environments = [compose_environment(), kubernetes_environment("overlays/prod")]
    assert all("FORWARDED_ALLOW_IPS" not in environment for environment in environments)


def test_production_refuses_to_start_without_the_proxy_networks() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXY_NETWORKS"):
        GatewaySettings(environment="prod", cookie_secure=True, jwt_public_key_path="k.pem",
                        trusted_proxy_networks="")
