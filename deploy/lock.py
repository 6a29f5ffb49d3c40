"""The lock files: every package MyBroker installs, at one version, with the sha256 of each of its
files on PyPI, so CI, `make dev` and the images install the same bytes.

- requirements/dev.txt: the project's dependencies and its [dev] extras; deploy/local/bootstrap.sh
  installs it (pip --require-hashes).
- requirements/runtime.txt: the project's dependencies only, at the versions of dev.txt; the
  Dockerfile installs it (pip --require-hashes).

`make lock` (python -m deploy.lock) writes both with uv from pyproject.toml, for CPython 3.11 on
Linux x86_64 (Debian 12 and the python:3.11-slim-bookworm image), and heads each with the sha256
of the pyproject lists it was made from: tests/deploy/test_lock.py recomputes it offline.
"""

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPOSITORY = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.11"
# manylinux_2_28 (glibc 2.28) fits Debian 12 and bookworm images (glibc 2.36)
PLATFORM = "x86_64-manylinux_2_28"
DIGEST_LINE = "# pyproject-sha256: "
# a virtualenv's own installers and the project itself: installed, never locked
UNLOCKED = frozenset({"pip", "setuptools", "wheel", "mybroker"})
CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass(frozen=True)
class Lock:
    """One lock file and the pyproject extras it covers besides [project].dependencies."""

    name: str
    extras: tuple[str, ...]

    @property
    def path(self) -> Path:
        """Where the lock file lives in the repository."""
        return REPOSITORY / "requirements" / f"{self.name}.txt"


DEV = Lock("dev", ("dev",))
RUNTIME = Lock("runtime", ())
# dev first: runtime is then resolved within dev's versions (the image gets CI's bytes)
LOCKS = (DEV, RUNTIME)


def declared(pyproject: Mapping[str, Any], extras: Sequence[str]) -> list[str]:
    """The requirement strings pyproject.toml lists for the project and the given extras."""
    project = pyproject["project"]
    found = list(project.get("dependencies", []))
    for extra in extras:
        found.extend(project.get("optional-dependencies", {}).get(extra, []))
    return found


def digest(pyproject: Mapping[str, Any], extras: Sequence[str]) -> str:
    """sha256 of what a lock is made from: requires-python and the declared requirements
    (sorted, so moving a line or editing a comment in pyproject.toml does not stale the lock)."""
    made_from = {
        "requires-python": pyproject["project"].get("requires-python", ""),
        "target": [PYTHON_VERSION, PLATFORM],
        "requirements": sorted(declared(pyproject, extras)),
    }
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()


def pins(lock_text: str) -> dict[str, str]:
    """The lock's `name==version` lines, by canonical name."""
    return {canonicalize_name(match[1]): match[2]
            for match in map(PIN.match, lock_text.splitlines()) if match}


def recorded_digest(lock_text: str) -> str | None:
    """The pyproject digest written in the lock's header, if any."""
    for line in lock_text.splitlines():
        if line.startswith(DIGEST_LINE):
            return line.removeprefix(DIGEST_LINE).split()[0]
    return None


def problems(pyproject: Mapping[str, Any], lock_text: str, lock: Lock) -> list[str]:
    """Why the lock does not match pyproject.toml (empty when it does)."""
    found: list[str] = []
    where = f"requirements/{lock.name}.txt"
    if recorded_digest(lock_text) != digest(pyproject, lock.extras):
        found.append(f"{where} was not made from this pyproject.toml: run `make lock`")
    locked = pins(lock_text)
    for line in declared(pyproject, lock.extras):
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            found.append(f"pyproject.toml: {line!r}: {error}")
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            found.append(f"{where} lacks {requirement.name} ({line!r} in pyproject.toml)")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{where} has {requirement.name}=={version}, pyproject.toml {line!r}")
    return found


def disagreements(runtime_text: str, dev_text: str) -> list[str]:
    """Runtime packages the dev lock lacks or pins at another version (the image would then
    run bytes CI never tested)."""
    dev = pins(dev_text)
    return [f"runtime.txt has {name}=={version}, dev.txt {dev.get(name, 'nothing')}"
            for name, version in pins(runtime_text).items() if dev.get(name) != version]


def installed() -> dict[str, str]:
    """The distributions of the running Python's environment: canonical name -> version."""
    return {canonicalize_name(dist.metadata["Name"]): dist.version
            for dist in metadata.distributions()}


def drift(lock_text: str, present: Mapping[str, str]) -> list[str]:
    """How an environment differs from the lock: missing or other versions, and extra packages."""
    locked = pins(lock_text)
    found = [f"{name}: {present.get(name, 'not installed')}, the lock has {version}"
             for name, version in locked.items() if present.get(name) != version]
    found.extend(f"{name}: {present[name]} installed, not in the lock"
                 for name in extraneous(lock_text, present))
    return found


def extraneous(lock_text: str, present: Mapping[str, str]) -> list[str]:
    """Installed packages the lock no longer has (a dependency removed from pyproject.toml)."""
    locked = pins(lock_text)
    return sorted(name for name in present if name not in locked and name not in UNLOCKED)


def compile_lock(pyproject: Mapping[str, Any], lock: Lock, uv_options: Sequence[str]) -> None:
    """Rewrite the lock with uv from PyPI (needs the network). uv keeps the versions the lock
    already has where pyproject.toml allows them; `--upgrade` in uv_options takes the newest."""
    if lock.path.exists() and CONFLICT.search(lock.path.read_text()):
        # both sides of a merge changed it: uv cannot read it, so it resolves from pyproject alone
        lock.path.unlink()
    command = [sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml",
               "--generate-hashes", "--python-version", PYTHON_VERSION,
               "--python-platform", PLATFORM, "--custom-compile-command", "make lock",
               "--quiet", "--output-file", str(lock.path.relative_to(REPOSITORY)), *uv_options]
    for extra in lock.extras:
        command += ["--extra", extra]
    if lock is not DEV:
        command += ["--constraint", str(DEV.path.relative_to(REPOSITORY))]
    subprocess.run(command, cwd=REPOSITORY, check=True)  # noqa: S603 (our own argv)
    extras = "".join(f" + [{extra}]" for extra in lock.extras)
    lock.path.write_text(f"{DIGEST_LINE}{digest(pyproject, lock.extras)}"
                         f"  (project dependencies{extras}; tests/deploy/test_lock.py checks it)\n"
                         + lock.path.read_text())


def ensure_uv(pyproject: Mapping[str, Any]) -> None:
    """Install uv at pyproject's pin when this environment lacks it (a virtualenv made before uv
    was a dev dependency, or from a lock that a merge left unreadable)."""
    if importlib.util.find_spec("uv") is None:
        [pin] = [line for line in declared(pyproject, DEV.extras)
                 if canonicalize_name(Requirement(line).name) == "uv"]
        subprocess.run([sys.executable, "-m", "pip", "install", pin], check=True)  # noqa: S603


def main() -> None:
    """Rewrite every lock file from pyproject.toml; arguments go to `uv pip compile`.
    `--extraneous LOCK` only prints the installed packages LOCK lacks (for bootstrap.sh)."""
    if sys.argv[1:2] == ["--extraneous"]:
        for name in extraneous(Path(sys.argv[2]).read_text(), installed()):
            print(name)
        return
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    ensure_uv(pyproject)
    for lock in LOCKS:
        lock.path.parent.mkdir(exist_ok=True)
        compile_lock(pyproject, lock, sys.argv[1:])
        print(f"{lock.path.relative_to(REPOSITORY)}: {len(pins(lock.path.read_text()))} packages")


if __name__ == "__main__":
    main()
