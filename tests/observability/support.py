"""What the monitoring tests share: where the files are, the Debian tools they run, and the
expressions of every rule and dashboard panel."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "observability/prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))
DASHBOARD_FILES = sorted((ROOT / "grafana/dashboards").glob("*.json"))
# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
TOOL_DIRS = ("/usr/bin", "/usr/sbin")


def tool(name: str) -> str:
    """The path of a Debian tool the tests need; missing is a failure, not a skip (`make test`
    and .ci/run install the `prometheus` and `nginx` packages)."""
    found = shutil.which(name) or shutil.which(name, path=":".join(TOOL_DIRS))
    if found is None:
        raise AssertionError(f"{name} is missing: install Debian's packages (make install-tools)")
    return found


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(command[0]), *command[1:]], capture_output=True, text=True, timeout=120, check=False
    )


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARD_FILES}


def panel_expressions() -> list[tuple[str, str]]:
    """(where, expr) for every target of every panel of every dashboard."""
    return [
        (f"{name} / {panel['title']} / {target['refId']}", target["expr"])
        for name, board in dashboards().items()
        for panel in board["panels"]
        for target in panel["targets"]
    ]


COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")


def comparisons_as_bool(expr: str) -> str:
    """``expr`` with every comparison made a ``bool`` one, so a threshold alert's expression
    answers 0 or 1 for every series its inputs have instead of nothing when it does not fire.
    Label matchers (inside braces) and strings are left alone."""
    out, i, depth, quote = [], 0, 0, ""
    while i < len(expr):
        char = expr[i]
        if quote:
            step = 2 if char == "\\" else 1
            out.append(expr[i : i + step])
            quote = "" if char == quote else quote
            i += step
            continue
        if char in "\"'`":
            quote = char
        depth += {"{": 1, "}": -1}.get(char, 0)
        operator = next((op for op in COMPARISONS if expr.startswith(op, i)), "")
        if depth == 0 and operator and not expr[i + len(operator) :].lstrip().startswith("bool"):
            out.append(f"{operator} bool")
            i += len(operator)
            continue
        out.append(char)
        i += 1
    return "".join(out)
