"""Liveness, readiness (the bus and the token key; not every service) and Prometheus metrics."""

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.deps import State
from gateway.problems import api_router

router = api_router(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "alive", "service": "gateway"}


@router.get("/health/ready")
async def ready(state: State, response: Response) -> dict[str, object]:
    """Ready once the bus is connected and tokens can be verified."""
    checks = {name: check() for name, check in state.checks.items()}
    if not all(checks.values()):
        response.status_code = 503
    return {"status": "ready" if all(checks.values()) else "not ready", "checks": checks}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
