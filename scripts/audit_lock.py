"""Run pip-audit over the lock files and tell an audit from a vulnerability service that did not answer.

pip-audit exits 0 when every package was skipped because the service could not be reached
("could not be audited"), which would read as a clean audit; this reads its JSON report instead.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

LOCK_FILES = ("requirements/production.txt", "requirements/dev.txt", "requirements/build.txt")
AUDITED, VULNERABLE, NOT_AUDITED = 0, 1, 3


def verdict(report: dict | None) -> tuple[int, list[str]]:
    """The exit status and the lines to print for one pip-audit JSON report (None: no report)."""
    if report is None:
        return NOT_AUDITED, ["not audited: vulnerability service unreachable"]
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        return NOT_AUDITED, [
            f"not audited: vulnerability service unreachable (none of {len(dependencies)} packages could be checked)"
        ]
    lines = [f"audited {len(audited)} packages"]
    lines += [f"  not audited: {d['name']}: {d['skip_reason']}" for d in skipped]
    found = [(d, v) for d in audited for v in d.get("vulns", [])]
    for dependency, vulnerability in found:
        fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed release"
        lines.append(f"  {dependency['name']} {dependency['version']}: {vulnerability['id']} (fixed in: {fixes})")
    if found:
        lines.append(f"{len(found)} known vulnerabilities")
        return VULNERABLE, lines
    lines.append("no known vulnerabilities")
    return AUDITED, lines


def run_pip_audit(lock_file: str) -> dict | None:
    service = os.environ.get("ORDERFLOW_AUDIT_SERVICE", "pypi")
    command = [sys.executable, "-m", "pip_audit", "-r", lock_file, "--require-hashes", "--disable-pip"]
    command += ["--vulnerability-service", service, "--format", "json", "--progress-spinner", "off"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(finished.stdout)
    except json.JSONDecodeError:
        # pip-audit raised before writing a report: the service's address did not resolve or answer.
        return None


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    os.chdir(root)
    statuses = set()
    for lock_file in LOCK_FILES:
        status, lines = verdict(run_pip_audit(lock_file))
        print(f"{lock_file}: " + "\n".join(lines))
        statuses.add(status)
    # A vulnerability found anywhere outweighs a file that could not be audited.
    for status in (VULNERABLE, NOT_AUDITED):
        if status in statuses:
            return status
    return AUDITED


if __name__ == "__main__":
    sys.exit(main())
