"""The operators' own CRD schemas (vendored in tests/deploy/crds, see the README there), as
strict JSON Schema validators: a field the CRD does not define is an error, as a typo would be
silently pruned by the API server and then missing in the cluster."""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.deploy.manifests import Manifest

CRDS = Path(__file__).parent / "crds"


def _strict(schema: Any) -> Any:
    """`schema` where every object with declared properties refuses undeclared ones (the API
    server would prune them), except where the CRD keeps unknown fields on purpose."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a validator of that custom resource."""
    found: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
    for path in sorted(CRDS.glob("*.json")):
        crd = json.loads(path.read_text())
        schema = _strict(copy.deepcopy(crd["openAPIV3Schema"]))
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        found[(f"{crd['group']}/{crd['version']}", crd["kind"])] = cls(schema)
    return found


def custom_resource_problems(manifest: Manifest) -> list[str]:
    """What the operator's CRD refuses in `manifest` (its kind must have a vendored CRD)."""
    validator = validators()[(manifest["apiVersion"], manifest["kind"])]
    name = f"{manifest['kind']}/{manifest['metadata']['name']}"
    return [f"{name} {error.json_path}: {error.message}"
            for error in validator.iter_errors(manifest)]
