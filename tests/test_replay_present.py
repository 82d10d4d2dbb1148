"""A replayed archive looks like a live week: `rasad run` moves publication times by whole weeks
into the week before the replay, keeping ids, content, weekdays and times of day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from producers.registry import load_registry
from producers.replay import replay_batches
from producers.runner import at_present
from rasad.cli.run import producer_argv
from rasad.core.article import Article
from rasad.core.settings import Settings
from tests.shared_data import CORPUS

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _batch() -> list[Article]:
    registry = {f.id: f for f in load_registry()}
    return next(islice(replay_batches(CORPUS, registry, 25), 1))


def test_a_replayed_batch_is_spread_over_the_last_week_on_its_weekdays_and_hours() -> None:
    recorded = _batch()
    present = at_present(recorded, NOW)

    assert [a.id for a in present] == [a.id for a in recorded]
    assert [a.content_hash for a in present] == [a.content_hash for a in recorded]
    assert all(NOW - timedelta(days=7) < a.published_at <= NOW for a in present)
    assert all(
        (a.published_at - r.published_at) % timedelta(days=7) == timedelta(0)
        for a, r in zip(present, recorded, strict=True)
    )
    assert all(a.published_at.year == 2018 for a in recorded)
    # Not bunched into the moment of the replay: the batch covers hours, not a second.
    times = [a.published_at for a in present]
    assert max(times) - min(times) > timedelta(hours=1)


def test_run_replays_at_present_by_default_and_on_recorded_dates_when_asked() -> None:
    assert producer_argv(Settings(run_source="replay"))[-1] == "--present"
    assert "--present" not in producer_argv(Settings(run_source="replay", run_replay_present=False))
