"""Benchmark the order card over real HTTP against the sandbox with injected Shopify latency.

    python -m benchmarks.card [--latency-ms 150] [--customers 40] [--warm-rounds 3]
                              [--clients 8] [--requests-per-client 25] [--actions 10]
                              [--database-url URL] [--json]

A child process builds the app in demo mode with its own seeded sandbox store (plus
`--customers` new customers, each with three orders, one shipped with tracking), installs the
demo shop through token exchange, creates a Zendesk connection and serves the app with
werkzeug's threaded WSGI server on a free loopback port. Every Shopify GraphQL request of the
card then waits `--latency-ms` (the sandbox's `latency` fault, on every call). This process
is the client (httpx): it mints a fresh launch token per card view and measures

- card views `GET /cards/zendesk?launch_token=…`: cold (each customer's first view, nothing
  cached) and warm (the same customers again, fresh launch tokens);
- `GET /api/v1/orders/{id}` cold (an older order, not prefetched) and warm;
- Shopify calls and query cost per view (the sandbox's counters);
- requests per second of warm card views with `--clients` concurrent clients (threads);
- the action API's overhead over Shopify (`edit_tags` with an Idempotency-Key): total time
  minus the injected latency × the Shopify calls it made.

The database is an SQLite file in a temporary directory, or `--database-url` /
`DATABASE_URL` (use a throwaway PostgreSQL database: tables are created, nothing dropped;
the demo shop's cached card answers are deleted at the start so that cold means cold).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

SHOP = "sidecard-demo.myshopify.com"
API_KEY = "bench-key"
API_SECRET = "shpss_" + "b3nchb3nchb3nch0" * 2
AGENT = {"agent_id": "bench-agent", "email": "bench.agent@sidecard-bench.example",
         "name": "Bench Agent"}
FIRST_NAMES = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
LAST_NAMES = ("Ito", "Kerr", "Lund", "Moss", "Nair", "Ortiz", "Park", "Quinn", "Roth", "Sato")


# --- the server (child process) ------------------------------------------------------------

def _seed_customers(store: Any, count: int) -> list[dict[str, Any]]:
    """New customers in the demo shop, each with three orders (the oldest one shipped)."""
    people = []
    for index in range(count):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        email = f"bench{index:04d}@sidecard-bench.example"
        customer = store.add_customer(SHOP, first_name=first, last_name=f"{last}{index}",
                                      email=email, phone=f"+1415555{index:04d}")
        oldest = store.add_order(SHOP, customer=customer, days_ago=30 + index % 7,
                                 lines=[{"title": "Mug", "price": "12.50", "quantity": 2,
                                         "sku": "MUG-1"},
                                        {"title": "Tee", "price": "20.00", "sku": "TEE-M"}])
        middle = store.add_order(SHOP, customer=customer, days_ago=10,
                                 lines=[{"title": "Scarf", "price": "30.00", "sku": "SCF-1"}])
        newest = store.add_order(SHOP, customer=customer, days_ago=1,
                                 lines=[{"title": "Poster", "price": "8.00", "sku": "PST-1"}])
        store.fulfill(oldest, company="UPS", number=f"1Z999AA1{index:010d}")
        people.append({"email": email, "older_orders": [str(oldest.id), str(middle.id)],
                       "newest_order": str(newest.id)})
    return people


def _refill(store: Any) -> None:
    """Fill the shop's cost bucket (and the app's estimate of it) between phases.

    One agent does not open 40 new customers in a few seconds: without this, the cold
    phases' burst drains Shopify's bucket and later phases would time the client's pacing
    waits (reported as `throttled` when Shopify itself refuses) instead of the app.
    """
    from plugin.sandbox.store import BUCKET_SIZE
    from plugin.shopify.client import reset_rate_state

    with store.lock:
        bucket = store.bucket(SHOP)
        bucket.available, bucket.updated = BUCKET_SIZE, store.time()
    reset_rate_state()


class _LateApp:
    """A WSGI callable whose target is set once the port (and so APP_URL) is known."""

    target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


def serve(pipe: Any, options: dict[str, Any]) -> None:
    """Child process: build, install and serve the app; answer `stats`, stop on `stop`."""
    from cryptography.fernet import Fernet
    from sqlalchemy import delete

    from plugin import create_app
    from plugin.card_data import reset_stats, stats_snapshot
    from plugin.extensions import db
    from plugin.models.cache import CustomerCache
    from plugin.models.helpdesk import HelpdeskConnection, new_signing_secret
    from plugin.sandbox import SandboxStore, serve_sandbox
    from plugin.sandbox.demo import install_demo_shop

    store = SandboxStore.seeded()
    people = _seed_customers(store, options["customers"])
    late = _LateApp()
    base, stop = serve_sandbox(late)
    app = create_app({
        "DOTENV_PATH": None, "DEMO_MODE": True, "DATABASE_URL": options["database_url"],
        "APP_URL": base, "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET,
        "SECRET_KEY": secrets.token_urlsafe(48), "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SANDBOX_STORE": store})
    # Per-request logs would be measured too (and drown the table): errors only.
    for name in ("werkzeug", "sidecard", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with app.app_context():
        db.create_all()
        shop = install_demo_shop(app)
        connection = HelpdeskConnection(shop_id=shop.id, kind="zendesk", account="bench",
                                        frame_origins=["https://bench.zendesk.com"])
        secret = new_signing_secret()
        connection.signing_secret = secret
        db.session.add(connection)
        # A reused database still holds the last run's answers for the same sandbox ids:
        # "cold" must mean nothing cached.
        db.session.execute(delete(CustomerCache).where(CustomerCache.shop_id == shop.id))
        db.session.commit()
        info = {"base": base, "connection_id": connection.public_id, "secret": secret,
                "people": people}
        db.session.remove()
    store.reset()
    reset_stats()
    if options["latency_ms"] > 0:
        store.inject(SHOP, kind="latency", times=None, seconds=options["latency_ms"] / 1000)
    late.target = app
    pipe.send(info)
    try:
        while True:
            command = pipe.recv()
            if command == "stats":
                pipe.send({"shop": store.stats(SHOP), "card": stats_snapshot(),
                           "cpu": time.process_time()})
            elif command == "refill":
                _refill(store)
                pipe.send(True)
            elif command == "stop":
                break
    finally:
        stop()


# --- the client (this process) -------------------------------------------------------------

def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of samples (seconds), in milliseconds."""
    if not samples:
        return {"n": 0}
    ms = sorted(s * 1000 for s in samples)
    if len(ms) == 1:
        cuts = [ms[0]] * 99
    else:
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50": round(cuts[49], 1), "p95": round(cuts[94], 1),
            "p99": round(cuts[98], 1), "mean": round(statistics.fmean(ms), 1)}


class Bench:
    """Talks to the served app: mints launch tokens, times requests, reads sandbox stats."""

    def __init__(self, info: dict[str, Any], pipe: Any, latency_ms: float) -> None:
        self.base = info["base"]
        self.connection = SimpleNamespace(public_id=info["connection_id"],
                                          signing_secret=info["secret"])
        self.people = info["people"]
        self.pipe = pipe
        self.latency = latency_ms / 1000
        self.client = httpx.Client(base_url=self.base, timeout=60)

    def stats(self) -> dict[str, Any]:
        self.pipe.send("stats")
        return self.pipe.recv()

    def token(self, email: str, conversation: str = "1") -> str:
        from plugin.launch import mint_launch_token

        return mint_launch_token(self.connection, conversation=conversation,  # type: ignore[arg-type]
                                 customer={"email": email}, **AGENT)

    def timed(self, call: Callable[[], httpx.Response], expect: int = 200) -> float:
        started = time.perf_counter()
        response = call()
        elapsed = time.perf_counter() - started
        if response.status_code != expect:
            raise RuntimeError(f"{response.request.method} {response.request.url.path} "
                               f"answered {response.status_code}: {response.text[:300]}")
        return elapsed

    def card_view(self, email: str, client: httpx.Client | None = None,
                  token: str | None = None) -> float:
        client = client or self.client
        token = token or self.token(email)
        return self.timed(lambda: client.get("/cards/zendesk", params={"launch_token": token}))

    def phase(self, run: Callable[[], list[float]]) -> dict[str, Any]:
        """Run one measured phase; its latencies plus Shopify calls and cost per request."""
        self.pipe.send("refill")
        self.pipe.recv()
        first = self.stats()
        samples = run()
        last = self.stats()
        before, after = first["shop"], last["shop"]
        n = max(1, len(samples))
        calls = after["graphql_calls"] - before["graphql_calls"]
        return {**percentiles(samples),
                # Server CPU (app and in-process sandbox): far less sensitive to a busy
                # machine than wall-clock latency.
                "server_cpu_ms_per_request": round((last["cpu"] - first["cpu"]) * 1000 / n, 1),
                "shopify_calls_per_request": round(calls / n, 2),
                "query_cost_per_request": round(
                    (after["actual_cost"] - before["actual_cost"]) / n, 1),
                "requested_cost_per_request": round(
                    (after["requested_cost"] - before["requested_cost"]) / n, 1),
                "throttled": after["throttled"] - before["throttled"]}

    def session(self) -> str:
        response = self.client.post("/api/v1/sessions", json={
            "launch_token": self.token(self.people[0]["email"])})
        response.raise_for_status()
        return response.json()["token"]

    def throughput(self, clients: int, per_client: int) -> dict[str, Any]:
        """Warm card views from `clients` threads at once: requests per second."""
        emails = [p["email"] for p in self.people]
        tokens = [[self.token(emails[(c * per_client + i) % len(emails)])
                   for i in range(per_client)] for c in range(clients)]
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(clients + 1)

        def worker(mine: list[str]) -> None:
            with httpx.Client(base_url=self.base, timeout=60) as client:
                client.get("/demo")  # open the connection before the clock starts
                start.wait()
                for token in mine:
                    try:
                        elapsed = self.card_view("", client=client, token=token)
                    except Exception as exc:  # counted and reported, the run goes on
                        with lock:
                            errors.append(str(exc)[:200])
                        continue
                    with lock:
                        latencies.append(elapsed)

        threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        first = self.stats()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        last = self.stats()
        before, after = first["shop"], last["shop"]
        return {**percentiles(latencies), "clients": clients, "errors": len(errors),
                "first_error": errors[0] if errors else None,
                "seconds": round(wall, 2), "rps": round(len(latencies) / wall, 1),
                "shopify_calls": after["graphql_calls"] - before["graphql_calls"],
                "server_cpu_ms_per_request": round(
                    (last["cpu"] - first["cpu"]) * 1000 / max(1, len(latencies)), 1)}

    def actions(self, count: int, session: str) -> dict[str, Any] | None:
        """`edit_tags` through the action API: latency and overhead over Shopify's share."""
        headers = {"Authorization": f"Bearer {session}", "Accept": "application/json"}
        probe = self.client.post(f"/api/v1/orders/{self.people[0]['newest_order']}/actions/"
                                 "edit_tags/preview", json={"add": ["bench-probe"]},
                                 headers=headers)
        if probe.status_code in (404, 405):
            return None
        totals, overheads, calls_made = [], [], []
        for index in range(count):
            person = self.people[index % len(self.people)]
            before = self.stats()["shop"]["graphql_calls"]
            elapsed = self.timed(lambda p=person, i=index: self.client.post(
                f"/api/v1/orders/{p['newest_order']}/actions/edit_tags",
                json={"add": [f"bench-{i}"]},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())}), expect=200)
            calls = self.stats()["shop"]["graphql_calls"] - before
            totals.append(elapsed)
            calls_made.append(calls)
            overheads.append(max(0.0, elapsed - calls * self.latency))
        return {"total": percentiles(totals), "overhead": percentiles(overheads),
                "shopify_calls_per_action": round(statistics.fmean(calls_made), 2)}


def run(options: argparse.Namespace) -> dict[str, Any]:
    """Start the server process, run every phase, stop it; the results as a dict."""
    with tempfile.TemporaryDirectory(prefix="sidecard-bench-") as tmp:
        database_url = options.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, {
            "database_url": database_url, "customers": options.customers,
            "latency_ms": options.latency_ms}), daemon=True)
        process.start()
        try:
            if not parent.poll(120):
                raise RuntimeError("the benchmark server did not start within 120 s")
            bench = Bench(parent.recv(), parent, options.latency_ms)
            try:
                return measure(bench, options, database_url)
            finally:
                bench.client.close()
        finally:
            if process.is_alive():
                parent.send("stop")
                process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            parent.close()
            child.close()


def measure(bench: Bench, options: argparse.Namespace, database_url: str) -> dict[str, Any]:
    """Every phase in order: warm-up, cold and warm views, orders, throughput, actions."""
    people = bench.people
    # Warm-up (not measured): templates, imports and the shop-country cache.
    bench.card_view("bo.wang@example.com")
    results: dict[str, Any] = {
        "latency_ms": options.latency_ms, "customers": len(people),
        "server": "werkzeug threaded WSGI server (one process), client: httpx",
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite file",
        "cpus": os.cpu_count(),
    }
    results["card_cold"] = bench.phase(lambda: [bench.card_view(p["email"]) for p in people])
    results["card_warm"] = bench.phase(lambda: [
        bench.card_view(p["email"]) for _ in range(options.warm_rounds) for p in people])
    session = bench.session()
    headers = {"Authorization": f"Bearer {session}", "Accept": "application/json"}
    order_ids = [p["older_orders"][1] for p in people]

    def orders() -> list[float]:
        return [bench.timed(lambda o=o: bench.client.get(f"/api/v1/orders/{o}",
                                                         headers=headers))
                for o in order_ids]

    results["order_cold"] = bench.phase(orders)
    results["order_warm"] = bench.phase(orders)
    results["throughput"] = bench.throughput(options.clients, options.requests_per_client)
    try:
        results["actions"] = (bench.actions(options.actions, session) if options.actions
                              else None)
    except (RuntimeError, httpx.HTTPError) as exc:  # optional phase: report, don't fail
        results["actions"] = {"error": str(exc)[:300]}
    results["card_counters"] = bench.stats()["card"]
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    return results


def table(results: dict[str, Any]) -> str:
    """The results as a compact text table."""
    lines = [f"Sidecard card benchmark: Shopify latency {results['latency_ms']:g} ms per call, "
             f"{results['customers']} customers, {results['database']}, {results['cpus']} CPUs",
             f"server: {results['server']}; 1-minute load average at the end: "
             f"{results['load_average_1m']}", "",
             f"{'phase':<26}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'cpu ms/req':>11}{'calls/req':>11}{'cost/req':>10}{'requested':>11}"
             f"{'throttled':>11}"]
    for key, label in (("card_cold", "card view, cold"), ("card_warm", "card view, warm"),
                       ("order_cold", "GET order, cold"), ("order_warm", "GET order, warm")):
        r = results[key]
        lines.append(f"{label:<26}{r['n']:>5}{r['p50']:>9}{r['p95']:>9}{r['p99']:>9}"
                     f"{r['server_cpu_ms_per_request']:>11}{r['shopify_calls_per_request']:>11}{r['query_cost_per_request']:>10}"
                     f"{r['requested_cost_per_request']:>11}{r['throttled']:>11}")
    t = results["throughput"]
    lines += ["", f"warm card views, {t['clients']} concurrent clients: {t['rps']} req/s "
                  f"({t['n']} in {t['seconds']} s, p50 {t['p50']} ms, p95 {t['p95']} ms, "
                  f"server CPU {t['server_cpu_ms_per_request']} ms/req, errors {t['errors']}, "
                  f"Shopify calls {t['shopify_calls']})"]
    a = results.get("actions")
    if a and a.get("error"):
        lines.append(f"edit_tags action: failed ({a['error']})")
    elif a:
        lines.append(f"edit_tags action: total p50 {a['total']['p50']} ms, p95 "
                     f"{a['total']['p95']} ms; {a['shopify_calls_per_action']} Shopify calls; "
                     f"overhead over Shopify p50 {a['overhead']['p50']} ms, "
                     f"p95 {a['overhead']['p95']} ms")
    else:
        lines.append("edit_tags action: not measured (action API not available)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.card", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=150.0,
                        help="injected Shopify latency per GraphQL call (default 150)")
    parser.add_argument("--customers", type=int, default=40,
                        help="new customers: one cold view each (default 40)")
    parser.add_argument("--warm-rounds", type=int, default=3,
                        help="warm views per customer (default 3)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients for the throughput phase (default 8)")
    parser.add_argument("--requests-per-client", type=int, default=25,
                        help="warm views per concurrent client (default 25)")
    parser.add_argument("--actions", type=int, default=10,
                        help="edit_tags actions to time (0: skip; default 10)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="database (default: DATABASE_URL, else an SQLite temp file)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args(argv)
    if options.customers < 1:
        parser.error("--customers must be at least 1")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table (or JSON)."""
    options = parse_args(argv)
    results = run(options)
    print(json.dumps(results, indent=2) if options.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
