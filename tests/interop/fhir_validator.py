"""Our FHIR output checked by an independent validator that evaluates invariants: @medplum/core's
`validateResource`, run by node (`npm ci` installs it; CI fails, never skips, without node)."""

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "peers" / "validate_fhir.mjs"
VERSIONS = ("R4", "R4B", "R5")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise AssertionError(
            "node is not installed: the FHIR validator needs it (apt-get install nodejs)"
        )
    if not (ROOT / "node_modules" / "@medplum" / "core").exists():
        raise AssertionError("node_modules is missing: run `npm ci` at the repository root")
    return found


def issues(resources: list[dict], version: str) -> list[list[dict]]:
    """For each resource, the validator's issues (empty when valid)."""
    if version not in VERSIONS:
        raise ValueError(version)
    completed = subprocess.run(  # noqa: S603 - our own script, no shell
        [node(), str(SCRIPT), version],
        input=json.dumps(resources).encode("utf-8"),
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"the validator failed: {completed.stderr.decode()[-2000:]}")
    return json.loads(completed.stdout)


def errors(resources: list[dict], version: str) -> list[list[str]]:
    """Per resource, its errors as readable lines: `expression: text`."""
    return [
        [
            f"{', '.join(issue.get('expression', []))}: {issue.get('details', {}).get('text', '')}"
            for issue in found
            if issue.get("severity") in ("error", "fatal")
        ]
        for found in issues(resources, version)
    ]
