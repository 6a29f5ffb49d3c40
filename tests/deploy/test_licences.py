"""MyBroker is Apache-2.0, and every package its images ship has a licence that allows that."""

import hashlib
from importlib import metadata

import pytest
from packaging.utils import canonicalize_name

from tests.deploy.licences import (
    PROJECT,
    REVIEWED,
    Verdict,
    installed_licences,
    offences,
    runtime_closure,
    stale_reviews,
    verdict,
)
from tests.deploy.manifests import REPOSITORY

# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the unmodified licence text
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_the_project_is_declared_apache_2_with_the_unmodified_licence_text() -> None:
    licence = (REPOSITORY / "LICENSE").read_bytes()
    assert hashlib.sha256(licence).hexdigest() == APACHE_2_SHA256
    assert metadata.metadata(PROJECT)["License-Expression"] == "Apache-2.0"


def test_every_runtime_dependency_has_a_licence_compatible_with_apache_2() -> None:
    packages = runtime_closure()
    names = {canonicalize_name(package) for package in packages}
    assert "pi-heif" in names and "pytest" not in names  # runtime only, not the dev tools
    licences = installed_licences(packages)
    assert len(licences) == len(packages), "pip-licenses did not list every dependency"
    problems = offences(licences, REVIEWED)
    assert not problems, "\n".join(problems)
    assert not stale_reviews(licences, REVIEWED), "no longer needed in REVIEWED"


@pytest.mark.parametrize(("licence", "expected"), [
    ("GNU General Public License v3 (GPLv3)", Verdict.INCOMPATIBLE),
    ("GPL-2.0-or-later", Verdict.INCOMPATIBLE),
    ("GNU Affero General Public License v3 or later (AGPLv3+)", Verdict.INCOMPATIBLE),
    ("AGPL-3.0-only", Verdict.INCOMPATIBLE),
    ("MIT AND GPL-3.0-only", Verdict.INCOMPATIBLE),  # all of them: the GPL part counts
    ("MIT License; GNU General Public License v2 (GPLv2)", Verdict.INCOMPATIBLE),
    ("SSPL-1.0", Verdict.INCOMPATIBLE),
    ("GNU Lesser General Public License v3 (LGPLv3)", Verdict.COMPATIBLE),  # pi-heif
    ("LGPL-2.1-or-later", Verdict.COMPATIBLE),
    ("GPL-3.0-or-later OR MIT", Verdict.COMPATIBLE),  # either: we take MIT
    ("Apache Software License; BSD License", Verdict.COMPATIBLE),
    ("Apache-2.0 AND BSD-2-Clause", Verdict.COMPATIBLE),
    ("MIT-CMU", Verdict.COMPATIBLE),
    ("Mozilla Public License 2.0 (MPL 2.0)", Verdict.COMPATIBLE),
    ("PSF-2.0", Verdict.COMPATIBLE),
    ("The Unlicense (Unlicense)", Verdict.COMPATIBLE),
    ("GPL-2.0-only WITH Classpath-exception-2.0", Verdict.UNKNOWN),  # read it first
    ("UNKNOWN", Verdict.UNKNOWN),
    ("", Verdict.UNKNOWN),
    ("Copyright the authors, all rights reserved", Verdict.UNKNOWN),
])
def test_the_rules_refuse_gpl_and_agpl_and_accept_lgpl_and_permissive_licences(
    licence: str, expected: Verdict,
) -> None:
    assert verdict(licence) is expected


def test_a_gpl_dependency_fails_the_check_naming_the_package_and_its_licence() -> None:
    licences = {"fastapi": ("0.163.2", "MIT"),
                "readline-gpl": ("8.2", "GNU General Public License v3 (GPLv3)")}
    assert offences(licences, REVIEWED) == [
        "readline-gpl 8.2: 'GNU General Public License v3 (GPLv3)' is not compatible with "
        "Apache-2.0"]
    # A review can vouch for an unknown licence, never for a GPL one.
    assert offences(licences, {"readline-gpl": "we like it"}) == offences(licences, REVIEWED)


def test_an_unknown_licence_fails_until_a_review_names_its_reason() -> None:
    licences = {"odd-package": ("1.0", "UNKNOWN")}
    assert offences(licences, {}) == [
        "odd-package 1.0: 'UNKNOWN' is not a licence these rules know; read it and add the "
        "package to REVIEWED with the reason"]
    reviewed = {"odd-package": "MIT: the LICENSE file in its wheel, read on 2026-12-05"}
    assert offences(licences, reviewed) == []
    assert stale_reviews(licences, reviewed) == []
    assert stale_reviews({"odd-package": ("1.1", "MIT")}, reviewed) == ["odd-package"]
