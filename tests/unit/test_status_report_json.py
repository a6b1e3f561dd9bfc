"""``opsconsole status``'s document and table with values JSON has no number for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from opsconsole.core.sources import CHART_ERROR_PREFIX, MetricReading, MetricsSnapshot, SourceStatus
from opsconsole.status_report import build_document, render_table

AT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _metrics(*readings: MetricReading) -> dict[str, SourceStatus]:
    status = SourceStatus("metrics", timedelta(seconds=15)).succeeded(MetricsSnapshot(readings), AT)
    return {"metrics": status}


def test_infinite_and_nan_values_are_valid_json() -> None:
    """``histogram_quantile`` is +Inf when every sample is in the top bucket; json.dumps
    wrote ``Infinity``, which JSON parsers (jq, JSON.parse) refuse."""
    document = build_document(
        [],
        _metrics(
            MetricReading("p95 latency", "ms", float("inf"), "crit", series=((1.0, float("inf")),)),
            MetricReading("ratio", "%", float("nan"), "unknown"),
            MetricReading("floor", "", float("-inf"), "ok"),
        ),
    )
    text = json.dumps(document)
    parsed = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    values = [r["value"] for r in parsed["metrics"]["readings"]]
    assert values == ["+Inf", "NaN", "-Inf"]
    assert parsed["metrics"]["readings"][0]["series"] == [[1.0, "+Inf"]]
    table = render_table(document)
    assert "p95 latency: +Inf ms" in table


def test_a_chart_only_failure_keeps_the_value_in_the_table() -> None:
    reason = f"{CHART_ERROR_PREFIX}exceeded maximum resolution of 11,000 points"
    document = build_document(
        [],
        _metrics(
            MetricReading("5xx error rate", "%", 0.42, "ok", error=reason),
            MetricReading("429 rate", "%", None, "unknown", error="bad_data: parse error"),
        ),
    )
    table = render_table(document)
    assert f"5xx error rate: 0.42 % ({reason})" in table
    assert "429 rate: bad_data: parse error" in table
