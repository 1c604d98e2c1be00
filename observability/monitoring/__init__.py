"""The monitoring configuration as code: Prometheus recording and alert rules and the Grafana
dashboards, generated from one description of the SLOs and metric names
(``python -m observability.monitoring`` rewrites the committed files)."""
