"""Query cost, the leaky bucket, THROTTLED, injected HTTP faults, schema validation, stats."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_kit import GRAPHQL, SHOP

from plugin.sandbox.schema import SchemaMissingError, load_schema

SHOP_QUERY = "query ShopInfo { shop { name currencyCode } }"
ORDERS_QUERY = """query Orders { orders(first: 50) { nodes { id name
  lineItems(first: 10) { nodes { id title } } } } }"""


def test_every_answer_carries_cost_and_a_request_id(sandbox):
    """extensions.cost has Shopify's shape; X-Request-Id is set."""
    response = sandbox.post(SHOP_QUERY)
    assert response.headers["X-Request-Id"]
    assert response.json()["extensions"]["cost"] == {
        "requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1999,
                           "restoreRate": 100.0}}


def test_connections_cost_first_times_their_nodes(sandbox, store):
    """2 + 50 × (1 + 2 + 10 × 1) requested; the actual cost counts what came back."""
    store.add_order(lines=[{"title": "A", "price": "1.00"}, {"title": "B", "price": "1.00"}])
    cost = sandbox.post(ORDERS_QUERY).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 50 * (1 + 2 + 10)
    assert cost["actualQueryCost"] == 2 + 1 + 2 + 2


def test_a_query_above_the_single_query_limit_is_refused(sandbox):
    """Requested cost above 1000: MAX_COST_EXCEEDED, nothing runs."""
    query = "query { orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
    errors = sandbox.errors(query)
    assert errors[0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_empty_bucket_answers_throttled_and_runs_nothing(sandbox, store):
    """When the bucket lacks the requested cost: Shopify's THROTTLED body, actual cost null."""
    store.buckets[SHOP].available = 100.0
    body = sandbox.post(ORDERS_QUERY).json()
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    # The bucket restores in real time too, so a slow machine may add a point or two.
    assert 100 <= body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 120
    assert "data" not in body
    assert store.stats(SHOP)["throttled"] == 1


def test_bucket_restores_at_the_restore_rate(sandbox, store):
    """100 points a second: after advancing the clock the same query runs."""
    store.buckets[SHOP].available = 100.0
    assert sandbox.post(ORDERS_QUERY).json()["errors"][0]["message"] == "Throttled"
    store.advance(5.6)  # 100 + 560 ≥ 652 requested
    body = sandbox.post(ORDERS_QUERY).json()
    assert "errors" not in body
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= 600


def test_injected_throttle_uses_the_real_shape(sandbox, store):
    """store.inject(kind="throttle") answers THROTTLED for exactly `times` calls."""
    store.inject(SHOP, "throttle", times=2)
    for _ in range(2):
        assert sandbox.post(SHOP_QUERY).json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "errors" not in sandbox.post(SHOP_QUERY).json()


@pytest.mark.parametrize(("kind", "status", "retry_after"), [
    ("http_429", 429, "1.0"), ("http_500", 500, None), ("http_503", 503, "1.0")])
def test_injected_http_faults(sandbox, store, kind, status, retry_after):
    """429 and 503 carry Retry-After; the call after the fault succeeds."""
    store.inject(kind=kind)
    response = sandbox.post(SHOP_QUERY)
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after
    assert response.headers["X-Request-Id"]
    assert sandbox.post(SHOP_QUERY).status_code == 200
    assert store.stats(SHOP)["faults"] == {kind: 1}


def test_faults_for_another_shop_do_not_apply(sandbox, store):
    """A fault injected for one shop leaves the others alone."""
    store.inject("someone-else.myshopify.com", "http_500")
    assert sandbox.post(SHOP_QUERY).status_code == 200


def test_faults_over_http_control_and_reset(sandbox, store):
    """POST /_control/faults injects, /_control/reset clears faults and counters."""
    assert sandbox.http.post("/_control/faults", json={"kind": "http_503", "times": 5,
                                                       "seconds": 0}).status_code == 201
    assert sandbox.post(SHOP_QUERY).status_code == 503
    assert sandbox.http.post("/_control/faults", json={"kind": "bogus"}).status_code == 400
    sandbox.http.post("/_control/reset", json={})
    assert store.faults == []
    assert sandbox.post(SHOP_QUERY).status_code == 200


def test_latency_fault_slows_calls_down(sandbox, store, monkeypatch):
    """latency sleeps `seconds` per call while it lasts."""
    slept = []
    monkeypatch.setattr("plugin.sandbox.app.time.sleep", slept.append)
    store.inject(kind="latency", seconds=0.25, times=None)
    sandbox.post(SHOP_QUERY)
    sandbox.post(SHOP_QUERY)
    assert slept == [0.25, 0.25]


def test_stats_count_calls_and_cost(sandbox, store):
    """Calls and cost per shop, over HTTP too."""
    sandbox.post(SHOP_QUERY)
    sandbox.post(SHOP_QUERY)
    stats = sandbox.http.get("/_control/stats").json()["stats"][SHOP]
    assert stats["graphql_calls"] == 2
    assert stats["requested_cost"] == stats["actual_cost"] == 2
    assert stats["operations"] == {"ShopInfo": 2}


@pytest.mark.parametrize(("query", "code"), [
    ("query { shop { nmae } }", "undefinedField"),
    ("query { customers(first: 1) { nodes { email } } }", "deprecated"),
    ("query { order(id: 1, foo: 2) { id } }", "argumentNotAccepted"),
    ("query { order { id } }", "missingRequiredArguments"),
    ("query { shop }", "selectionMismatch"),
    ("query { shop { name }", "parseError"),
])
def test_documents_are_validated_against_the_2026_10_schema(sandbox, query, code):
    """What Shopify would reject (and deprecated fields) fails with a located, coded error."""
    errors = sandbox.errors(query)
    assert errors[0]["extensions"]["code"] == code
    assert errors[0]["locations"]


def test_missing_pagination_size_is_an_error(sandbox):
    """Connections need first or last, as on Shopify."""
    errors = sandbox.errors("query { customers { nodes { id } } }")
    assert errors[0]["message"] == "you must provide one of first or last"


def test_unknown_ids_are_null(sandbox):
    """order(id), customer(id) and node(id) of unknown ids answer null."""
    data = sandbox.gql("""query { order(id: "gid://shopify/Order/1") { id }
      customer(id: "gid://shopify/Customer/1") { id } node(id: "gid://shopify/Order/1") { id }
      nodes(ids: ["bogus"]) { id } }""")
    assert data == {"order": None, "customer": None, "node": None, "nodes": [None]}


def test_a_body_without_query_is_a_400(sandbox):
    """Shopify's answer to a request with no document."""
    response = sandbox.http.post(GRAPHQL, json={"variables": {}},
                                 headers={"X-Shopify-Access-Token": sandbox.token})
    assert response.status_code == 400


def test_a_missing_schema_file_is_a_clear_error(tmp_path: Path):
    """The sandbox never runs without Shopify's schema: it says where it looked."""
    with pytest.raises(SchemaMissingError, match="admin_2026-10.json.gz"):
        load_schema(tmp_path / "admin_2026-10.json.gz")
