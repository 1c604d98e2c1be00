"""Schemathesis against the live service, over every operation of /docs/openapi.json with every
check (including the stateful phase, which follows the document's links), once as a member and
once as an admin: the document and the service must agree, with no failure of any kind."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs.live import run_while_serving
from tests.support.factories import Factories
from tests.support.servers import ServeVariant

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Its own venv: Schemathesis's dependencies stay out of the project's environment.
VENV = ROOT / ".praxis" / "schemathesis"
REQUIREMENTS = HERE / "schemathesis.txt"
BINARY = VENV / "bin" / "schemathesis"
# Bounded so the two runs add about a minute and a half to the suite.
MAX_EXAMPLES = 12
MAX_SECONDS = 40
SEED = 20261125


def schemathesis_binary() -> Path:
    """The pinned Schemathesis, installed from the hash-locked requirements on first use."""
    stamp = VENV / "requirements.txt"
    if BINARY.exists() and stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return BINARY
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".praxis/tools/bin/uv")
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", str(VENV)], check=True)
    install = [uv, "pip", "install", "--quiet", "--require-hashes", "-r", str(REQUIREMENTS)]
    subprocess.run([*install, "--python", str(VENV / "bin" / "python")], check=True)
    shutil.copyfile(REQUIREMENTS, stamp)
    return BINARY


@pytest.fixture
def catalog(make: Factories) -> None:
    """Published and draft content to practise on, so operations reach their logic."""
    for n, kind in enumerate(("lesson", "exercise", "drill")):
        make.content(slug=f"python-list-basics-{n}", kind=kind, tags=["python", "lists"])
    make.content(slug="sql-joins-warm-up", category="databases", tags=["sql"])
    make.content(slug="draft-item", published=False)


@pytest.mark.parametrize("role", ["member", "admin"])
def test_schemathesis_finds_no_failure(
    role: str, other_app: ServeVariant, make: Factories, catalog: None, tmp_path: Path
) -> None:
    binary = schemathesis_binary()
    served = other_app().srv
    caller = make.admin() if role == "admin" else make.user()
    result = run_while_serving(
        served,
        [
            str(binary),
            "run",
            f"{served.base_url}/docs/openapi.json",
            "--url",
            served.base_url,
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_SECONDS),
            "--seed",
            str(SEED),
            "--header",
            f"Authorization: Bearer {caller.token}",
            "--generation-database",
            "none",
            "--no-color",
            "--output-truncate",
            "true",
            "--report",
            "ndjson",
            "--report-dir",
            str(tmp_path),
        ],
        timeout=MAX_SECONDS * 4 + 60,
        env={"SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)},
        cwd=tmp_path,  # it keeps a cache in its working directory
    )
    summary = result.stdout[result.stdout.find("SUMMARY") :]
    print(summary)  # noqa: T201 - the summary is the test's evidence; pytest shows it with -s
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "Failures:" not in summary, summary
    assert "generated" in summary, summary
