"""The card benchmark runs end to end (tiny sizes): one Shopify call per cold view, none warm."""

from __future__ import annotations

import json

from benchmarks.card import main, percentiles, table


def test_percentiles_are_in_milliseconds():
    """p50/p95/p99 of seconds come back in milliseconds."""
    result = percentiles([0.1] * 99 + [1.0])
    assert result["n"] == 100 and result["p50"] == 100.0 and result["p99"] > 100.0


def test_benchmark_measures_cold_and_warm_views_over_http(tmp_path, capsys):
    """A tiny run serves the card over HTTP and reports calls per view and throughput."""
    assert main(["--customers", "2", "--warm-rounds", "1", "--clients", "2",
                 "--requests-per-client", "2", "--actions", "1", "--latency-ms", "0",
                 "--database-url", f"sqlite:///{tmp_path / 'bench.sqlite'}", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["card_cold"]["n"] == 2
    assert results["card_cold"]["shopify_calls_per_request"] == 1.0
    assert results["card_warm"]["shopify_calls_per_request"] == 0.0
    assert results["order_warm"]["shopify_calls_per_request"] == 0.0
    assert results["throughput"]["errors"] == 0 and results["throughput"]["n"] == 4
    assert "card view, cold" in table(results)
