"""The client certificate forwarded by the TLS proxy, trusted only from that proxy.

The proxy proves itself with a shared secret (X-MyBroker-Proxy-Auth) or, only when no secret
is configured, by its address in the proxy networks (which also decide whose X-Forwarded-For
counts, so they may be wider than the proxy, e.g. a pod network). A request that carries
X-SSL-Client-Cert without that proof is refused: anyone can write the header, only the proxy
can have checked the TLS client certificate.
"""

import hmac
from ipaddress import ip_address

from fastapi import Request

from gateway.config import GatewaySettings
from libs.servicekit.errors import Forbidden
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
CERTIFICATE_HEADER = "X-SSL-Client-Cert"
PROXY_PROOF_HEADER = "X-MyBroker-Proxy-Auth"
UNTRUSTED = "A client certificate is only accepted from the trusted proxy."


def from_trusted_proxy(request: Request, settings: GatewaySettings) -> bool:
    """True when the request comes through the configured proxy (secret or network)."""
    secret = settings.trusted_proxy_secret.get_secret_value()
    if secret:
        proof = request.headers.get(PROXY_PROOF_HEADER, "")
        return bool(proof) and hmac.compare_digest(proof.encode(), secret.encode())
    networks = settings.proxy_networks()
    if networks and request.client is not None:
        try:
            address = ip_address(request.client.host)
        except ValueError:
            return False
        return any(address in network for network in networks)
    return False


def forwarded_certificate(request: Request, settings: GatewaySettings) -> str | None:
    """The forwarded certificate (URL-encoded PEM), None without one; refused if not trusted."""
    value = request.headers.get(CERTIFICATE_HEADER, "")
    if not value.strip():
        return None
    if not from_trusted_proxy(request, settings):
        log.warning("client certificate header from an untrusted sender",
                    client=request.client.host if request.client else None)
        raise Forbidden(UNTRUSTED)
    return value
