"""The READMEs keep up with the tree: the layout names every test suite, the benchmark list
every benchmark, and no text or comment points at a tracker's issue number (that history is
in git, and the numbers mean nothing to an operator)."""

import re
from pathlib import Path

from tests.deploy.manifests import REPOSITORY

README = REPOSITORY / "README.md"
CHECKED = ("README.md", "Dockerfile", "Makefile", "docker-compose.yml", "deploy", "libs",
           "services", "gateway", "tests")
SUFFIXES = {".md", ".py", ".html", ".js", ".css", ".po", ".pot", ".yml", ".yaml", ".toml",
            ".sh", ".template", ".conf"}
ISSUE_NUMBER = re.compile(r"\bissues?\s*#?\d+|\(#\d+\)", re.IGNORECASE)


def _text_files() -> list[Path]:
    found: list[Path] = []
    for name in CHECKED:
        path = REPOSITORY / name
        if path.is_file():
            found.append(path)
            continue
        found.extend(candidate for candidate in sorted(path.rglob("*"))
                     if candidate.is_file() and candidate.suffix in SUFFIXES
                     and "__pycache__" not in candidate.parts)
    return found


def test_no_doc_or_comment_names_an_issue_number() -> None:
    found = [f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
             for path in _text_files()
             for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
             if ISSUE_NUMBER.search(line)]
    assert not found, "\n".join(found)


def test_the_readme_layout_names_every_test_suite() -> None:
    [layout] = [line for line in README.read_text().splitlines() if line.startswith("tests/ ")]
    suites = sorted(path.name for path in (REPOSITORY / "tests").iterdir()
                    if (path / "__init__.py").exists())
    assert suites, "no test suite found"
    assert [suite for suite in suites if f"{suite}/" not in layout] == []


def test_the_readme_names_every_benchmark() -> None:
    readme = README.read_text()
    benchmarks = sorted(path.name for path in (REPOSITORY / "tests" / "load").glob("bench_*.py"))
    assert benchmarks, "no benchmark found"
    assert [name for name in benchmarks if name not in readme] == []
