"""The committed rule files and dashboards are the generator's output, and the dashboards read
the datasource Grafana is provisioned with."""

from __future__ import annotations

from pathlib import Path

import yaml

from observability.monitoring import rules
from observability.monitoring.files import generated_files
from tests.observability.support import ROOT, dashboards


def test_the_committed_files_are_what_the_generator_writes() -> None:
    for path, text in generated_files().items():
        relative = path.relative_to(ROOT)
        assert path.read_text() == text, (
            f"{relative} is stale: run python -m observability.monitoring"
        )


def test_the_written_yaml_reads_back_as_the_generated_rules() -> None:
    rule_files = {path.name: path for path in generated_files() if path.suffix == ".yml"}
    recording = yaml.safe_load(Path(rule_files["praxis-recording.yml"]).read_text())
    alerting = yaml.safe_load(Path(rule_files["praxis-alerts.yml"]).read_text())
    assert recording == {"groups": rules.recording_groups()}
    assert alerting == {"groups": rules.alert_groups()}


def test_every_panel_queries_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = provisioned["datasources"][0]["uid"]
    for name, board in dashboards().items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == uid, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            assert all(target["expr"].strip() for target in panel["targets"])


def test_the_dashboards_have_stable_distinct_uids() -> None:
    uids = [board["uid"] for board in dashboards().values()]
    assert sorted(uids) == ["praxis-dependencies", "praxis-overview", "praxis-slo"]
