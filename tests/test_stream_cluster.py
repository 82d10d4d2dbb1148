"""Same-story clustering on real reports of one story by different outlets (ANT corpus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stream.enrich.cluster import ClusterConfig, StoryClusters
from tests.stream_fixtures import REWRITTEN_PAIR, UNRELATED, WIRE_PAIR, corpus_row

NOW = datetime(2018, 6, 18, 9, 0, tzinfo=UTC)


def assign(clusters: StoryClusters, corpus_id: str, now: datetime = NOW, as_id: str = "") -> str:
    row = corpus_row(corpus_id)
    return clusters.assign(as_id or corpus_id, row["title"], row["text"], now).id


def test_two_outlets_same_wire_copy_share_a_cluster() -> None:
    clusters = StoryClusters({})
    first, second = WIRE_PAIR
    assert assign(clusters, first) == first
    assert assign(clusters, second) == first


def test_two_outlets_rewriting_one_story_share_a_cluster() -> None:
    clusters = StoryClusters({})
    first, second = REWRITTEN_PAIR
    assign(clusters, first)
    assert assign(clusters, second) == first


def test_an_unrelated_article_founds_its_own_cluster() -> None:
    clusters = StoryClusters({})
    assign(clusters, WIRE_PAIR[0])
    assign(clusters, REWRITTEN_PAIR[0])
    assert assign(clusters, UNRELATED) == UNRELATED


def test_the_cluster_remembers_its_first_article_and_time() -> None:
    clusters = StoryClusters({})
    first, second = WIRE_PAIR
    assign(clusters, first, NOW)
    row = corpus_row(second)
    cluster = clusters.assign(second, row["title"], row["text"], NOW + timedelta(hours=5))
    assert (cluster.first_id, cluster.first_seen) == (first, NOW)
    assert not cluster.exact_duplicate


def test_the_same_body_under_another_id_is_an_exact_duplicate() -> None:
    clusters = StoryClusters({})
    first = WIRE_PAIR[0]
    assign(clusters, first)
    row = corpus_row(first)
    copy = clusters.assign("copy", "عنوان آخر", "  " + row["text"].replace("\n", "\n\n"), NOW)
    assert copy.exact_duplicate
    assert copy.id == first


def test_a_replayed_article_gets_its_recorded_cluster_again() -> None:
    clusters = StoryClusters({})
    first, second = WIRE_PAIR
    assign(clusters, first)
    before = clusters.assign(second, corpus_row(second)["title"], corpus_row(second)["text"], NOW)
    later = NOW + timedelta(minutes=3)
    again = clusters.assign(second, corpus_row(second)["title"], corpus_row(second)["text"], later)
    assert again == before
    assert not again.exact_duplicate


def test_articles_older_than_the_window_are_not_joined() -> None:
    clusters = StoryClusters({}, ClusterConfig(window=timedelta(hours=72)))
    first, second = WIRE_PAIR
    assign(clusters, first, NOW)
    assert assign(clusters, second, NOW + timedelta(hours=73)) == second


def test_expiry_forgets_old_articles_and_deletes_their_records() -> None:
    store: dict[bytes, bytes] = {}
    clusters = StoryClusters(store)
    assign(clusters, WIRE_PAIR[0], NOW)
    assign(clusters, UNRELATED, NOW + timedelta(hours=48))
    assert clusters.expire(NOW + timedelta(hours=73), delete_from_store=True) == 1
    assert list(store) == [b"a:" + UNRELATED.encode()]


def test_a_second_worker_sees_the_first_workers_articles_through_the_shared_store() -> None:
    # Worker B learns A's records the way a Faust GlobalTable delivers them: one observe() per
    # changelog record.
    shared: dict[bytes, bytes] = {}
    worker_a = StoryClusters(shared)
    worker_b = StoryClusters({})
    first, second = WIRE_PAIR
    assign(worker_a, first)
    for key, value in shared.items():
        worker_b.observe(key, value)
    assert assign(worker_b, second) == first


def test_a_restarted_worker_rebuilds_its_index_from_the_store() -> None:
    store: dict[bytes, bytes] = {}
    first, second = REWRITTEN_PAIR
    assign(StoryClusters(store), first)
    assert assign(StoryClusters(store), second) == first


def test_an_article_without_words_still_gets_a_cluster() -> None:
    cluster = StoryClusters({}).assign("numbers", "2018", "12 - 30", NOW)
    assert cluster.id == "numbers"


def test_a_tie_between_equally_similar_stories_goes_to_the_earliest_seen() -> None:
    # Eight workers each found a cluster for the same headline (no body, so no exact-duplicate
    # shortcut); a worker that sees all eight records must pick the same one every time, in
    # every process: the earliest seen, whatever the ids or the order the store holds them in.
    title = corpus_row(WIRE_PAIR[0])["title"]
    store: dict[bytes, bytes] = {}
    for i in range(8):
        founder = StoryClusters({})
        founder.assign(f"story-{i}", title, "", NOW - timedelta(minutes=i))
        store.update(founder.store)
    cluster = StoryClusters(store).assign("later", title, "", NOW + timedelta(minutes=1))
    assert cluster.id == "story-7"


def test_beyond_its_article_bound_the_window_forgets_the_oldest_first() -> None:
    store: dict[bytes, bytes] = {}
    clusters = StoryClusters(store, ClusterConfig(max_articles=2))
    for minutes, corpus_id in enumerate([WIRE_PAIR[0], UNRELATED, REWRITTEN_PAIR[0]]):
        assign(clusters, corpus_id, NOW + timedelta(minutes=minutes))
    assert clusters.expire(NOW + timedelta(minutes=3), delete_from_store=True) == 1
    assert sorted(store) == sorted(f"a:{i}".encode() for i in (UNRELATED, REWRITTEN_PAIR[0]))
    # Gone from the index as well: the forgotten article's story partner founds its own cluster.
    assert assign(clusters, WIRE_PAIR[1], NOW + timedelta(minutes=4)) == WIRE_PAIR[1]


def test_articles_seen_at_the_same_time_leave_the_bound_in_id_order() -> None:
    # Every worker must forget the same records, whatever order it learned them in.
    store: dict[bytes, bytes] = {}
    clusters = StoryClusters(store, ClusterConfig(max_articles=1))
    for corpus_id in (UNRELATED, WIRE_PAIR[0]):
        assign(clusters, corpus_id, NOW)
    assert clusters.expire(NOW, delete_from_store=True) == 1
    assert list(store) == [f"a:{max(UNRELATED, WIRE_PAIR[0])}".encode()]


def test_a_story_whose_founder_left_the_bound_keeps_its_id_while_its_newer_articles_stay() -> None:
    clusters = StoryClusters({}, ClusterConfig(max_articles=1))
    first, second = WIRE_PAIR
    assign(clusters, first, NOW)
    assert assign(clusters, second, NOW + timedelta(minutes=5)) == first
    assert clusters.expire(NOW + timedelta(minutes=6), delete_from_store=True) == 1
    # The founder's own text, re-published under another id, joins through the newer member.
    assert assign(clusters, first, NOW + timedelta(minutes=7), as_id="republished") == first


def test_the_article_bound_applies_at_every_worker_without_deleting_from_the_store() -> None:
    store: dict[bytes, bytes] = {}
    worker = StoryClusters(store, ClusterConfig(max_articles=1))
    assign(worker, WIRE_PAIR[0], NOW)
    assign(worker, UNRELATED, NOW + timedelta(minutes=1))
    assert worker.expire(NOW + timedelta(minutes=2), delete_from_store=False) == 1
    assert len(store) == 2
    assert assign(worker, WIRE_PAIR[1], NOW + timedelta(minutes=3)) == WIRE_PAIR[1]
