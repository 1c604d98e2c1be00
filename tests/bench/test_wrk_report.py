"""Reading the report the scenario scripts' done() prints among wrk's own output."""

from __future__ import annotations

import json

import pytest

from bench.wrk_report import REPORT_MARKER, WrkError, parse_wrk_report

WRK_TEXT = """Running 8s test @ http://127.0.0.1:8000/health
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.85ms    2.94ms  27.90ms   71.70%
  6966 requests in 3.02s, 3.85MB read
Requests/sec:   2307.71
Transfer/sec:      1.28MB
"""


def done_line(**changes: object) -> str:
    report = {
        "requests": 8000,
        "duration_us": 4_000_000,
        "bytes": 1_000_000,
        "errors": {"connect": 0, "read": 1, "write": 0, "status": 7, "timeout": 2},
        "latency_us": {
            "min": 250,
            "max": 90_000,
            "mean": 4_000.5,
            "stdev": 3_000,
            "percentiles": {"50": 2_500, "75": 4_000, "90": 8_000, "95": 10_000, "99": 14_250},
        },
        "statuses": {"200": 7_000, "201": 993, "404": 5, "500": 2},
        "counters": {"flows_completed": 12},
    } | changes
    return REPORT_MARKER + json.dumps(report)


def test_the_report_line_is_found_among_wrk_output_and_read_in_milliseconds() -> None:
    report = parse_wrk_report(WRK_TEXT + done_line() + "\n")

    assert report.requests == 8000
    assert report.rate == pytest.approx(2000.0)
    assert report.percentile_ms("50") == pytest.approx(2.5)
    assert report.percentile_ms("99") == pytest.approx(14.25)
    assert report.latency_ms["max"] == pytest.approx(90.0)
    assert report.counters == {"flows_completed": 12}


def test_non_2xx_counts_every_answer_outside_200_to_299() -> None:
    report = parse_wrk_report(done_line(statuses={"200": 10, "204": 1, "304": 2, "404": 3}))

    assert report.statuses == {200: 10, 204: 1, 304: 2, 404: 3}
    assert report.non_2xx == 5


def test_transport_errors_are_the_socket_failures_not_wrk_s_status_count() -> None:
    report = parse_wrk_report(done_line())

    assert report.transport_errors == {"connect": 0, "read": 1, "write": 0, "timeout": 2}
    assert report.transport_error_count == 3


def test_output_without_a_report_line_is_an_error_that_shows_the_output() -> None:
    with pytest.raises(WrkError, match="Requests/sec"):
        parse_wrk_report(WRK_TEXT)


def test_output_with_two_report_lines_is_an_error() -> None:
    with pytest.raises(WrkError):
        parse_wrk_report(done_line() + "\n" + done_line())
