"""Settings of the gateway (`MYBROKER_GATEWAY_*`, falling back to shared `MYBROKER_*`)."""

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field, SecretStr, model_validator

from libs.contracts import documents
from libs.servicekit.settings import ServiceSettings, env_prefix


class GatewaySettings(ServiceSettings):
    model_config = env_prefix("gateway")

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    jwt_public_key_path: str = Field(
        default="", description="PEM (SubjectPublicKeyInfo) of auth's Ed25519 signing key"
    )
    access_token_max_seconds: int = Field(
        default=300, ge=10, description="Longest access-token lifetime: how long a revoked "
        "session id stays on the deny-list"
    )
    token_leeway_seconds: int = Field(default=5, ge=0, le=60, description="Clock skew allowed")
    cookie_secure: bool = False  # True behind HTTPS; refused False in production below
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    upload_memory_bytes: int = Field(
        default=1024 * 1024, gt=0, description="An upload above this size spools to disk"
    )
    storage_timeout_seconds: float = Field(default=30.0, gt=0)
    import_timeout_seconds: float = Field(
        default=110.0, gt=0, description="How long one dossier import (record) may take in the "
        "dossier service before the gateway answers 503; below the proxies' 120 s read timeout")
    # A client's attachments (manual 4.4 and 6): per file, files at once, all files together.
    attachment_max_bytes: int = Field(default=documents.CLIENT_ATTACHMENT_MAX_BYTES, gt=0)
    attachment_max_files: int = Field(default=documents.CLIENT_ATTACHMENT_MAX_FILES, gt=0)
    attachment_max_total_bytes: int = Field(default=documents.CLIENT_ATTACHMENT_MAX_TOTAL_BYTES,
                                            gt=0)
    # Live request changes (server-sent events): a stream ends after this long at most (and
    # when its access token expires), so the client reconnects and is authorized again.
    request_stream_max_seconds: float = Field(default=600.0, ge=5)
    request_stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="A comment line in quiet times: proxies keep the "
        "connection, a vanished client is noticed")
    request_streams_per_account: int = Field(default=8, ge=1, description="Tabs and devices")
    request_streams_max: int = Field(default=5000, ge=1, description="Streams of one instance")
    request_stream_queue: int = Field(
        default=32, ge=1, description="Changes waiting for a slow stream before it resyncs")
    # A login flood: so many logins go to auth at once, so many more wait (then 503 at once).
    logins_in_flight: int = Field(default=8, ge=1, description="Logins sent to auth at once")
    logins_waiting: int = Field(default=32, ge=0, description="Logins waiting for their turn")
    # eID: the TLS proxy forwards the client certificate; only the proxy may (deploy/eid-proxy.md)
    trusted_proxy_secret: SecretStr = Field(
        default=SecretStr(""), description="Sent by the proxy in X-MyBroker-Proxy-Auth")
    # The one setting for the reverse proxy's addresses (deploy/README.md "Client addresses"):
    # uvicorn takes X-Forwarded-For/-Proto only from them (gateway/main.py).
    trusted_proxy_networks: str = Field(
        default="", description="Comma-separated addresses/networks of the reverse proxy, "
        "e.g. 10.244.0.0/16; empty: loopback only")

    def proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        """The trusted proxy networks, parsed."""
        return [ip_network(part.strip(), strict=False)
                for part in self.trusted_proxy_networks.replace(" ", ",").split(",")
                if part.strip()]

    @model_validator(mode="after")
    def _production_is_locked_down(self) -> "GatewaySettings":
        self.proxy_networks()  # a mistyped network stops the start, not the first eID login
        if self.environment == "prod":
            if not self.cookie_secure:
                raise ValueError("MYBROKER_GATEWAY_COOKIE_SECURE must be true in production")
            if not self.jwt_public_key_path:
                raise ValueError("MYBROKER_GATEWAY_JWT_PUBLIC_KEY_PATH must be set in production")
            if not self.trusted_proxy_networks.strip():
                # Behind a proxy, loopback-only would give every client the proxy's address.
                raise ValueError("MYBROKER_GATEWAY_TRUSTED_PROXY_NETWORKS must name the reverse "
                                 "proxy's addresses in production")
        return self
