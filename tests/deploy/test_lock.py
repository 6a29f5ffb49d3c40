"""The lock files (requirements/*.txt, written by `make lock`) match pyproject.toml, pin every
package with its hashes, and are what the virtualenv, bootstrap.sh and the image install.
Offline: nothing here resolves or downloads."""

import copy
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from deploy import lock as lock_module
from deploy.lock import (
    DEV,
    LOCKS,
    PYTHON_VERSION,
    RUNTIME,
    Lock,
    compile_lock,
    digest,
    disagreements,
    drift,
    installed,
    pins,
    problems,
    recorded_digest,
)
from tests.deploy.manifests import REPOSITORY

Pyproject = dict[str, Any]


def _pyproject() -> Pyproject:
    return tomllib.loads((REPOSITORY / "pyproject.toml").read_text())


def _edited(pyproject: Pyproject, old: str, new: str) -> Pyproject:
    """A copy of pyproject with the requirement `old` replaced by `new` wherever it is listed."""
    edited = copy.deepcopy(pyproject)
    project = edited["project"]
    lists = [project["dependencies"], *project["optional-dependencies"].values()]
    assert any(old in requirements for requirements in lists), old
    for requirements in lists:
        requirements[:] = [new if line == old else line for line in requirements]
    return edited


def _pinned(pyproject: Pyproject, name: str) -> str:
    """The `name==version` line pyproject.toml lists for name (runtime or dev)."""
    project = pyproject["project"]
    listed: list[str] = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return next(line for line in listed if line.split("==")[0].split("[")[0] == name)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_each_lock_was_made_from_the_current_pyproject(lock: Lock) -> None:
    assert problems(_pyproject(), lock.path.read_text(), lock) == []


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_a_changed_pin_in_pyproject_is_reported_until_make_lock(lock: Lock) -> None:
    pyproject = _pyproject()
    old = _pinned(pyproject, "fastapi")
    changed = _edited(pyproject, old, old + ".1")
    found = problems(changed, lock.path.read_text(), lock)
    where = f"requirements/{lock.name}.txt"
    assert f"{where} was not made from this pyproject.toml: run `make lock`" in found
    assert any(line.startswith(f"{where} has fastapi==") and old + ".1" in line
               for line in found), found


def test_a_dev_pin_stales_only_the_dev_lock() -> None:
    pyproject = _pyproject()
    old = _pinned(pyproject, "pytest")
    changed = _edited(pyproject, old, old + ".1")
    assert problems(changed, DEV.path.read_text(), DEV) != []
    assert problems(changed, RUNTIME.path.read_text(), RUNTIME) == []


def test_a_new_dependency_is_missing_from_the_lock() -> None:
    pyproject = _pyproject()
    added = copy.deepcopy(pyproject)
    added["project"]["dependencies"].append("a-package-nobody-locked==1.0")
    found = problems(added, RUNTIME.path.read_text(), RUNTIME)
    assert any("lacks a-package-nobody-locked" in line for line in found), found


def test_reordering_pyproject_does_not_stale_the_lock() -> None:
    reordered = copy.deepcopy(_pyproject())
    reordered["project"]["dependencies"].reverse()
    assert problems(reordered, RUNTIME.path.read_text(), RUNTIME) == []


def test_every_locked_package_is_pinned_with_sha256_hashes() -> None:
    for lock in LOCKS:
        text = lock.path.read_text()
        entries = [entry for entry in re.sub(r"\\\n", " ", text).splitlines()
                   if entry.strip() and not entry.lstrip().startswith("#")]
        assert len(entries) == len(pins(text)) > 10, lock.name
        for entry in entries:
            assert "==" in entry and "--hash=sha256:" in entry, entry


def test_the_image_gets_the_versions_ci_tests() -> None:
    runtime, dev = RUNTIME.path.read_text(), DEV.path.read_text()
    assert set(pins(runtime)) < set(pins(dev))
    assert disagreements(runtime, dev) == []
    version = pins(runtime)["fastapi"]
    other = runtime.replace(f"fastapi=={version}", f"fastapi=={version}.1")
    assert disagreements(other, dev) == [f"runtime.txt has fastapi=={version}.1, dev.txt {version}"]


def test_the_virtualenv_holds_exactly_the_dev_lock() -> None:
    dev = DEV.path.read_text()
    present = installed()
    assert drift(dev, present) == []
    locked = pins(dev)
    tampered = {name: version for name, version in present.items() if name != "fastapi"}
    tampered["left-over"] = "1.0"
    assert drift(dev, tampered) == [f"fastapi: not installed, the lock has {locked['fastapi']}",
                                    "left-over: 1.0 installed, not in the lock"]


def test_bootstrap_make_and_the_image_install_from_the_locks_with_hashes() -> None:
    bootstrap = (REPOSITORY / "deploy/local/bootstrap.sh").read_text()
    assert "lock=requirements/dev.txt" in bootstrap
    assert re.search(r"pip install [^\n]*--require-hashes \\\n\s+-r \"\$lock\"", bootstrap)
    assert "--no-deps -e ." in bootstrap
    dockerfile = (REPOSITORY / "Dockerfile").read_text()
    assert re.search(r"pip install --require-hashes [^\n]*-r requirements/runtime.txt", dockerfile)
    assert re.search(r"pip install --no-deps [^\n]* \.", dockerfile)
    # the image's Python is the one the locks are resolved for
    image = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)-", dockerfile, re.MULTILINE)
    assert image and image[1] == PYTHON_VERSION
    makefile = (REPOSITORY / "Makefile").read_text()
    assert ".venv/.installed: pyproject.toml requirements/dev.txt" in makefile
    assert "\t$(PY) -m deploy.lock $(LOCK_ARGS)\n" in makefile


def test_make_lock_heads_each_lock_with_its_digest_and_reads_past_merge_conflicts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make lock` with uv replaced by a recorder: no network, the same commands."""
    monkeypatch.setattr(lock_module, "REPOSITORY", tmp_path)
    (tmp_path / "requirements").mkdir()
    DEV.path.write_text("<<<<<<< HEAD\nfastapi==1.0 \\\n=======\nfastapi==2.0 \\\n>>>>>>> other\n")
    seen: list[tuple[list[str], bool]] = []

    def uv(command: list[str], cwd: Path, check: bool) -> None:
        output = cwd / command[command.index("--output-file") + 1]
        seen.append((command, output.exists()))
        output.write_text("fastapi==0.1 \\\n    --hash=sha256:00\n")

    monkeypatch.setattr(subprocess, "run", uv)
    pyproject = _pyproject()
    for lock in LOCKS:
        compile_lock(pyproject, lock, ["--upgrade"])
    (dev_command, dev_existed), (runtime_command, _) = seen
    assert not dev_existed  # the conflicted lock was dropped, not handed to uv
    assert dev_command[dev_command.index("--python-version") + 1] == PYTHON_VERSION
    assert "--generate-hashes" in dev_command and "--upgrade" in dev_command
    assert dev_command[dev_command.index("--extra") + 1] == "dev"
    assert runtime_command[runtime_command.index("--constraint") + 1] == "requirements/dev.txt"
    assert "--extra" not in runtime_command
    for lock in LOCKS:
        text = lock.path.read_text()
        assert text.endswith("fastapi==0.1 \\\n    --hash=sha256:00\n")
        assert recorded_digest(text) == digest(pyproject, lock.extras)
