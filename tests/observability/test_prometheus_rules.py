"""The Prometheus config, the rules and their promtool unit tests, checked by Debian's promtool."""

from __future__ import annotations

import yaml

from tests.observability.support import (
    PROMETHEUS_CONFIG,
    ROOT,
    RULE_FILES,
    RULE_TESTS,
    alerts,
    run_tool,
)

SEVERITIES = {"page", "ticket"}


def test_promtool_accepts_the_config_and_the_rule_files_it_loads() -> None:
    result = run_tool("promtool", "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    for rule_file in RULE_FILES:
        assert f"Checking {rule_file}" in result.stdout  # rule_files resolve beside the config


def test_promtool_accepts_the_rules() -> None:
    result = run_tool("promtool", "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_promtool_unit_tests_pass() -> None:
    result = run_tool("promtool", "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_every_alert_has_a_severity_a_summary_a_description_and_its_runbook_anchor() -> None:
    for rule in alerts():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        assert annotations["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_every_alert_has_its_runbook_entry_in_the_operations_guide() -> None:
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in (ROOT / "docs/operations.md").read_text().splitlines()
        if line.startswith("### ")
    }
    anchors = {rule["annotations"]["runbook_url"].split("#", 1)[1] for rule in alerts()}
    assert anchors - headings == set(), "alerts without a runbook entry"
