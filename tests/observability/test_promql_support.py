"""The expression rewrite the Prometheus harness relies on."""

from tests.observability.support import comparisons_as_bool


def test_comparisons_become_bool_ones_outside_matchers_and_strings() -> None:
    expr = 'up{job="praxis", route!~"/a>b", x!="y"} == 0 and rate(m{le="<"}[5m]) > (6 * 0.001)'
    assert comparisons_as_bool(expr) == (
        'up{job="praxis", route!~"/a>b", x!="y"} == bool 0'
        ' and rate(m{le="<"}[5m]) > bool (6 * 0.001)'
    )


def test_bool_comparisons_and_escaped_quotes_stay_as_they_are() -> None:
    expr = 'a >= bool 1 or label_replace(b, "x", "\\"<\\"", "", "") <= 2'
    assert comparisons_as_bool(expr) == (
        'a >= bool 1 or label_replace(b, "x", "\\"<\\"", "", "") <= bool 2'
    )
