"""The lock files are the only source of installed packages: they must hold exactly what
pyproject.toml pins, every package with its hashes; the images start from exact releases; and the
audit tells a clean audit from a vulnerability service that never answered."""

import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from audit_lock import AUDITED, NOT_AUDITED, VULNERABLE, verdict  # noqa: E402

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^\s;]+)", requirement.strip())
        assert match, f"pyproject.toml must pin {requirement!r} to one exact version"
        found[normalise(match.group(1))] = match.group(3)
    return found


def locked(lock_file: str) -> dict[str, str]:
    """name -> version of a lock file, checking that every entry carries at least one hash."""
    text = (ROOT / "requirements" / lock_file).read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    names = re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)
    assert len(entries) == len(names), f"{lock_file}: an entry without a hash"
    return {normalise(name): version for name, version, _ in entries}


RUNTIME = pins(PROJECT["dependencies"])
DEV = pins(PROJECT["optional-dependencies"]["dev"])


@pytest.mark.parametrize(("lock_file", "wanted"), [("production.txt", RUNTIME), ("dev.txt", {**RUNTIME, **DEV})])
def test_the_lock_files_hold_every_pin_of_pyproject_at_its_version(lock_file, wanted):
    lock = locked(lock_file)
    assert {name: lock.get(name) for name in wanted} == wanted, "run scripts/lock after changing pyproject.toml"


def test_the_production_lock_holds_no_tool_of_the_tests():
    tools = {"pytest", "playwright", "schemathesis", "locust", "ruff", "uv", "pip-audit", "factory-boy"}
    assert tools & set(locked("production.txt")) == set()


def test_the_build_lock_satisfies_the_build_system():
    build = locked("build.txt")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert {normalise(re.split(r"[<>=]", r)[0]) for r in requires} <= set(build)
    assert tuple(int(p) for p in build["setuptools"].split(".")[:2]) >= (69, 0)


def test_images_start_from_exact_releases():
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    images = re.findall(r"^FROM (\S+)", dockerfile, re.M) + re.findall(r"^\s+image: (\S+)", compose, re.M)
    external = [image for image in images if not image.startswith("orderflow:")]
    assert external, "no base image found"
    for image in external:
        name, _, tag = image.partition(":")
        # PostgreSQL numbers its releases major.minor; the others major.minor.patch.
        release = r"\d+\.\d+" if name == "postgres" else r"\d+\.\d+\.\d+"
        assert re.fullmatch(release + r"(-[a-z0-9]+)*", tag) or re.search(r"@sha256:[0-9a-f]{64}$", image), image
    assert "--require-hashes" in dockerfile


def test_an_audit_where_the_service_answered_for_no_package_is_not_a_pass():
    report = {
        "dependencies": [
            {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2)"},
            {"name": "celery", "skip_reason": "Dependency not found on PyPI and could not be audited: celery (5.7)"},
        ],
        "fixes": [],
    }
    status, lines = verdict(report)
    assert status == NOT_AUDITED
    assert lines[0].startswith("not audited: vulnerability service unreachable")
    assert verdict(None)[0] == NOT_AUDITED


def test_an_audit_reports_vulnerabilities_and_a_clean_result_apart():
    clean = {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}]}
    assert verdict(clean) == (AUDITED, ["audited 1 packages", "no known vulnerabilities"])
    vulnerable = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
            {"name": "celery", "skip_reason": "could not be audited"},
        ]
    }
    status, lines = verdict(vulnerable)
    assert status == VULNERABLE
    assert "  django 5.2.0: PYSEC-1 (fixed in: 5.2.1)" in lines
    assert "  not audited: celery: could not be audited" in lines
