"""The job queue: enqueue, registry, claiming, retries and leases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plugin import jobs
from plugin.extensions import db
from plugin.jobs import RetryLater, enqueue, get_handler, run_pending
from plugin.jobs.worker import Worker, backoff_seconds, describe_error
from plugin.models import AuditEvent, Job
from plugin.models.base import utcnow


def reload(job_id):
    """The job row as stored now."""
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_enqueue_does_not_commit(app, calls):
    """A job joins its cause's transaction: rolled back together."""
    enqueue("record", {"n": 1})
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Job.id))) == 0


def test_enqueue_unknown_kind_fails_loudly(app):
    """Enqueueing a kind with no handler raises instead of queueing dead work."""
    with pytest.raises(LookupError, match="no_such_kind"):
        enqueue("no_such_kind", {})


def test_get_handler_unknown_kind_fails_loudly(app):
    """get_handler names the missing kind."""
    with pytest.raises(LookupError, match="nope"):
        get_handler("nope")


def test_builtin_kinds_are_registered(app):
    """process_webhook and refresh_shop_token are registered at start-up."""
    assert {"process_webhook", "refresh_shop_token"} <= set(jobs.HANDLERS)


def test_register_refuses_a_second_handler_for_a_kind(app, kinds):
    """Two different functions cannot claim one kind."""
    kinds("dup", lambda job: None)

    def other(job):
        return None

    with pytest.raises(ValueError, match="dup"):
        jobs.register("dup")(other)


def test_dedupe_key_returns_the_existing_job(app, calls):
    """A second enqueue with the same dedupe key returns the first job."""
    first = enqueue("record", {"n": 1}, dedupe_key="k1")
    db.session.commit()
    second = enqueue("record", {"n": 2}, dedupe_key="k1")
    assert second.id == first.id
    assert db.session.scalar(db.select(db.func.count(Job.id))) == 1


def test_run_pending_runs_due_jobs_and_marks_them_done(app, calls):
    """Due jobs run once each, in order, and end `done`."""
    created = [enqueue("record", {"n": n}) for n in range(3)]
    db.session.commit()
    ids = [job.id for job in created]
    assert run_pending() == 3
    assert [c["n"] for c in calls] == [0, 1, 2]
    for job_id in ids:
        job = reload(job_id)
        assert (job.status, job.attempts, job.locked_until) == ("done", 1, None)
        assert job.finished_at is not None
    assert run_pending() == 0


def test_future_jobs_wait_for_their_time(app, calls):
    """A job with run_at in the future is not run yet."""
    enqueue("record", {}, run_at=utcnow() + timedelta(minutes=5))
    db.session.commit()
    assert run_pending() == 0
    assert calls == []


def test_run_pending_respects_limit(app, calls):
    """limit caps how many jobs one call runs."""
    for n in range(3):
        enqueue("record", {"n": n})
    db.session.commit()
    assert run_pending(limit=2) == 2
    assert run_pending() == 1


def test_claim_is_exclusive(app, calls):
    """Two workers claiming one job: exactly one wins."""
    job = enqueue("record", {})
    db.session.commit()
    first, second = Worker("a"), Worker("b")
    assert first.claim(job.id) is True
    assert second.claim(job.id) is False
    stored = reload(job.id)
    assert (stored.status, stored.locked_by, stored.attempts) == ("running", first.name, 1)


def test_a_running_job_with_a_live_lease_is_not_claimed(app, calls):
    """A job another worker holds is left alone until its lease expires."""
    job = Job(kind="record", payload={}, status="running", attempts=1, locked_by="other",
              locked_until=utcnow() + timedelta(minutes=5))
    db.session.add(job)
    db.session.commit()
    assert run_pending() == 0


def test_expired_lease_is_reclaimed(app, calls):
    """A crashed worker's job (lease expired) is claimed and run by another worker."""
    job = Job(kind="record", payload={"n": 7}, status="running", attempts=1,
              locked_by="dead-worker", locked_until=utcnow() - timedelta(seconds=1))
    db.session.add(job)
    db.session.commit()
    assert run_pending() == 1
    stored = reload(job.id)
    assert (stored.status, stored.attempts) == ("done", 2)
    assert calls == [{"n": 7}]


def test_handler_failure_is_retried_with_backoff(app, kinds):
    """A failing handler's job is queued again after the first backoff step, not failed."""

    def boom(job):
        raise RuntimeError("Shopify said no")

    kinds("boom", boom)
    job = enqueue("boom", {})
    db.session.commit()
    before = utcnow()
    assert run_pending() == 1
    stored = reload(job.id)
    assert (stored.status, stored.attempts, stored.locked_by) == ("queued", 1, None)
    # First step: base 10 s, half fixed and half jitter.
    assert before + timedelta(seconds=5) <= stored.run_at <= utcnow() + timedelta(seconds=10)
    assert stored.last_error == "RuntimeError: Shopify said no"


def test_backoff_grows_exponentially_and_is_capped():
    """Each attempt doubles the delay (with jitter) up to the cap."""
    for attempts, low, high in [(1, 5, 10), (2, 10, 20), (3, 20, 40), (30, 1800, 3600)]:
        delays = [backoff_seconds(attempts, base=10, cap=3600) for _ in range(50)]
        assert all(low <= d <= high for d in delays)
    assert len({backoff_seconds(4) for _ in range(20)}) > 1  # jittered


def test_handler_writes_roll_back_on_failure(app, kinds):
    """What a failing handler wrote is not committed."""

    def half_done(job):
        db.session.add(AuditEvent(shop_id=0, event="test.partial"))
        raise RuntimeError("midway")

    kinds("half", half_done)
    enqueue("half", {})
    db.session.commit()
    run_pending()
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_retry_later_is_honoured(app, kinds):
    """RetryLater(delay) schedules the next attempt exactly that far ahead."""

    def throttled(job):
        raise RetryLater(120)

    kinds("throttled", throttled)
    job = enqueue("throttled", {})
    db.session.commit()
    before = utcnow()
    run_pending()
    stored = reload(job.id)
    assert stored.status == "queued"
    assert before + timedelta(seconds=120) <= stored.run_at <= utcnow() + timedelta(seconds=120)
    assert RetryLater(3).delay == 3


def test_exhausted_attempts_fail_the_job(app, kinds):
    """After max_attempts failures the job is `failed` with its last error."""

    def boom(job):
        raise ValueError("bad payload")

    kinds("boom", boom, max_attempts=2)
    job = enqueue("boom", {})
    db.session.commit()
    run_pending()
    db.session.execute(db.update(Job).values(run_at=utcnow()))
    db.session.commit()
    run_pending()
    stored = reload(job.id)
    assert (stored.status, stored.attempts) == ("failed", 2)
    assert stored.last_error == "ValueError: bad payload"
    assert run_pending() == 0


def test_max_attempts_none_retries_forever(app, kinds):
    """A kind registered with max_attempts=None is never failed (conversation notes)."""

    def boom(job):
        raise RuntimeError("helpdesk down")

    kinds("forever", boom, max_attempts=None)
    job = enqueue("forever", {})
    db.session.commit()
    for _ in range(15):
        db.session.execute(db.update(Job).values(run_at=utcnow()))
        db.session.commit()
        run_pending()
    stored = reload(job.id)
    assert (stored.status, stored.attempts, stored.max_attempts) == ("queued", 15, None)


def test_a_job_whose_workers_keep_dying_is_failed(app, calls):
    """A job re-claimed past max_attempts (lease expired each time) is failed, not run."""
    job = Job(kind="record", payload={}, status="running", attempts=3, max_attempts=3,
              locked_by="dead", locked_until=utcnow() - timedelta(seconds=1))
    db.session.add(job)
    db.session.commit()
    run_pending()
    assert reload(job.id).status == "failed"
    assert calls == []


def test_a_worker_that_lost_its_lease_does_not_mark_done(app, calls):
    """If another worker re-claimed the job meanwhile, the slow worker's result is dropped."""
    job = enqueue("record", {})
    db.session.commit()
    slow, fast = Worker("slow", lease_seconds=1), Worker("fast")
    assert slow.claim(job.id)
    later = utcnow() + timedelta(seconds=5)
    assert fast.claim(job.id, now=later)
    assert slow.run_job(job.id) == "lost"
    stored = reload(job.id)
    assert (stored.status, stored.locked_by) == ("running", fast.name)
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize("message", [
    "token shpat_0123456789abcdef rejected",
    "mail jane.doe@example.com bounced",
    "secret c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA== leaked",
])
def test_last_error_keeps_no_secrets(message):
    """Tokens, long opaque strings and e-mail addresses never reach last_error."""
    text = describe_error(RuntimeError(message))
    assert "[redacted]" in text
    assert "shpat_0" not in text and "jane.doe" not in text and "c2VjcmV0" not in text


def test_cancel_shop_jobs_spares_kinds_that_survive_uninstall(app, kinds, calls):
    """Queued jobs of the shop are cancelled except survivors; other shops are untouched."""
    kinds("survivor", lambda job: None, survives_uninstall=True)
    mine = enqueue("record", {}, shop_domain="a.myshopify.com")
    kept = enqueue("survivor", {}, shop_domain="a.myshopify.com")
    other = enqueue("record", {}, shop_domain="b.myshopify.com")
    db.session.commit()
    assert jobs.cancel_shop_jobs("a.myshopify.com") == 1
    db.session.commit()
    assert [reload(j.id).status for j in (mine, kept, other)] == ["cancelled", "queued",
                                                                 "queued"]
