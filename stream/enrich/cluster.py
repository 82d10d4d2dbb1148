"""Same-story clustering: MinHash LSH over the content words of title + body, in a sliding window.

Every article gets a :class:`~rasad.core.article.Cluster`. An article joins the cluster of the most
similar article seen within the window (single link, so a story that drifts over a day stays one
cluster) when their estimated Jaccard similarity reaches the threshold; otherwise it founds a new
cluster whose id is its own id. An article whose body is byte-for-byte (modulo whitespace) the
body of an earlier one is flagged ``exact_duplicate`` and joins that article's cluster.

Shingles are single content words (normalized, article-stripped stems of three letters or more).
Measured on same-day pairs of the ANT corpus from different outlets: two reports of one story
share 0.3-0.9 of their content words while unrelated pairs share 0.03 (median) to 0.12 (p99);
word pairs separate as well but put rewritten reports of one story at 0.1-0.2, a range plain LSH
cannot reach without tens of thousands of candidate checks per article.

State: the shared store (a ``MutableMapping[bytes, bytes]``: a Faust GlobalTable replicated to
every worker through its changelog, or a dict) holds ONE record per article, ``a:<article id>``
-> its assignment, time, body hash and MinHash signature, written once. Each process keeps a
local index (LSH buckets, body hashes, signatures) of every record it has seen, so a lookup
reads no store and an article costs one store write (one changelog message), not one per band.
A replay of an article returns its recorded assignment: at-least-once delivery stays idempotent.
Records older than the window are ignored, and dropped by :meth:`StoryClusters.expire`, which
also bounds the window by count: beyond ``max_articles`` the oldest records are dropped too.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import orjson
from datasketch import MinHash, MinHashLSH

from rasad.core.article import Cluster
from stream.enrich.normalize import has_presentation_forms, normalize

__all__ = ["ClusterConfig", "StoryClusters", "body_hash", "shingle_hashes"]

# Proclitic chains that carry the article (وال، بال، فبال، لل …) and leave three letters: the same
# conservative stem as normalize.tokenize, applied to the whole text at once because building
# Token objects with offsets would cost more than the rest of clustering together.
_ARTICLE = re.compile(r"(?<!\w)[وف]?(?:[بك]?ال|لل)(?=\w{3})")
# Content words: three letters or more (shorter ones are mostly function words: في، من، عن، قد).
_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
_CONTENT_WORD_OR_NEWLINE = re.compile(r"[^\W\d_]{3,}|\n")
# A bucket keeps its most recent members only: a bucket hit by hundreds of articles is
# boilerplate, and a story's newest articles are enough for single-link joining.
_BUCKET_CAP = 32
# Fixed seed: every worker must draw the same permutations or signatures are incomparable.
_SEED = 1
# 32-bit values (half the memory of 64-bit), unbiased; the sets are far below the ~10^8 elements
# where 32-bit hashes saturate.
_SCHEME = "affine32"
# datasketch's affine32 scheme pre-mixes each input hash with the MurmurHash3 32-bit finalizer
# (shift, multiply, shift, multiply, shift); signatures are computed here with the same steps.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
# Distinct whitespace-separated chunks of text remembered with their shingles' hashes: about a
# day of news (like normalize's per-word caches); dropped and rebuilt when full.
_CHUNKS_MAX = 200_000

ClusterStore = MutableMapping[bytes, bytes]
Signature = np.ndarray[Any, np.dtype[np.uint32]]


@dataclass(frozen=True)
class ClusterConfig:
    window: timedelta = timedelta(hours=72)
    threshold: float = 0.3
    num_perm: int = 128
    # Articles kept at most (the newest): ~10 KB each in memory, so 200,000 is ~2 GB; at 20
    # articles/s a 72-hour window would otherwise hold 5.2 million.
    max_articles: int = 200_000


def body_hash(text: str) -> str:
    """Hash of a body with runs of whitespace collapsed (feeds re-wrap lines freely)."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:32]


def shingle_hashes(title: str, body: str) -> set[int]:
    """CRC-32 of each shingle of an article: the content words of ``normalize(title + body)``
    with the article stripped. (CRC-32 is stable across processes, unlike hash(), and several
    times faster than datasketch's SHA-1.)

    Normalization maps character by character and words never span whitespace, so the
    shingles of a text are those of its whitespace-separated chunks, each computed once and
    remembered: a news day repeats most of its words. Text with presentation forms is
    normalized whole (NFKC may change characters beyond them).
    """
    text = f"{title}\n{body}"
    if has_presentation_forms(text):
        words = _CONTENT_WORD.findall(_ARTICLE.sub("", normalize(text)))
        return set(map(zlib.crc32, map(str.encode, words)))
    known = _CHUNK_HASHES
    if len(known) >= _CHUNKS_MAX:
        known.clear()
    chunks = list(set(text.split()))
    found = list(map(known.get, chunks))
    if None in found:
        new = [chunk for chunk, f in zip(chunks, found, strict=True) if f is None]
        # One normalize, one article strip and one word search for all new chunks: "\n"
        # separates them (no chunk holds whitespace), no step adds, removes or crosses a
        # newline, and the search returns each "\n" between the chunks' words.
        words = _CONTENT_WORD_OR_NEWLINE.findall(_ARTICLE.sub("", normalize("\n".join(new))))
        owners = iter(new)
        group: list[int] = []
        for word, crc in zip(words, map(zlib.crc32, map(str.encode, words)), strict=True):
            if word == "\n":
                known[next(owners)] = tuple(set(group))
                group = []
            else:
                group.append(crc)
        known[next(owners)] = tuple(set(group))
        found = list(map(known.get, chunks))
    return set().union(*cast(list[tuple[int, ...]], found))


# whitespace-separated chunk of original text -> CRC-32 of its shingles (see shingle_hashes)
_CHUNK_HASHES: dict[str, tuple[int, ...]] = {}


class StoryClusters:
    """Assigns articles to same-story clusters.

    ``store`` is the shared, replicated state: one record per article (``a:<id>``), written once
    when the article is first assigned. Matching uses a local index (LSH buckets, body hashes and
    signatures) built from every record this process sees: its own writes via :meth:`assign`,
    other workers' writes via :meth:`observe` (the Faust table calls it for each changelog event,
    during recovery and afterwards), and whatever ``store`` already holds at construction.
    One write per article keeps the changelog traffic at one message per article.
    """

    def __init__(self, store: ClusterStore, config: ClusterConfig | None = None) -> None:
        self.store = store
        self.config = config or ClusterConfig()
        lsh = MinHashLSH(threshold=self.config.threshold, num_perm=self.config.num_perm)
        # A band is `r` consecutive signature values; its bytes are the band's bucket key.
        self._band_rows = lsh.b * lsh.r
        self._band_dtype = np.dtype((np.void, 4 * lsh.r))
        a, b = MinHash(num_perm=self.config.num_perm, seed=_SEED, scheme=_SCHEME).permutations
        self._a: Signature = np.asarray(a, dtype=np.uint32)
        self._b: Signature = np.asarray(b, dtype=np.uint32)
        self._records: dict[str, _Record] = {}
        # Per band: a bucket's one article, or its list once a second one joins (most buckets
        # never get a second, and a list of one would cost 72 bytes more per band and article).
        self._buckets: list[dict[bytes, str | list[str]]] = [{} for _ in range(lsh.b)]
        self._bodies: dict[str, str] = {}
        for key, value in list(store.items()):
            self.observe(key, value)

    def assign(self, article_id: str, title: str, body: str, now: datetime) -> Cluster:
        """The cluster of an article seen at ``now`` (an aware datetime), recording it."""
        horizon = (now - self.config.window).timestamp()
        known = self._live(article_id, horizon)
        if known is not None:
            return known.cluster
        seen = now.timestamp()
        digest = body_hash(body) if body.strip() else None
        original = self._live(self._bodies.get(digest, ""), horizon) if digest else None
        signature = None if original is not None else self._signature(title, body)
        nearest = original or (self._nearest(signature, horizon) if signature is not None else None)
        if nearest is not None:
            c = nearest.cluster
            cluster = Cluster(
                id=c.id,
                first_id=c.first_id,
                first_seen=c.first_seen,
                exact_duplicate=original is not None,
            )
        else:
            cluster = Cluster(
                id=article_id, first_id=article_id, first_seen=now, exact_duplicate=False
            )
        record = _Record(article_id, cluster, seen, digest, signature)
        self.store[b"a:" + article_id.encode()] = record.to_bytes()
        self._index(record)
        return cluster

    def observe(self, key: bytes, value: bytes | None) -> None:
        """Index a record written by any worker (``value`` None: a deletion, handled by expiry)."""
        if value is None or not key.startswith(b"a:") or key[2:].decode() in self._records:
            return
        self._index(_Record.from_bytes(value))

    def expire(self, now: datetime, *, delete_from_store: bool) -> int:
        """Forget the articles that left the window: older than its span, or older than its
        newest ``max_articles``. Oldest means earlier seen, then smaller id, so every worker
        forgets the same records. With ``delete_from_store`` (one worker only) also delete the
        forgotten records from the shared store. Returns how many were forgotten.

        A cluster outlives its founding article: each record carries its cluster's id, first id
        and first time, so an article joining a story's newest member gets the founder's id."""
        # Records ranked below ``cutoff`` (seen, article id) leave: the window's start, or the
        # oldest of the newest max_articles when the window holds more.
        cutoff = ((now - self.config.window).timestamp(), "")
        if len(self._records) > self.config.max_articles:
            ranks = sorted((r.seen, a) for a, r in self._records.items())
            cutoff = max(cutoff, ranks[-self.config.max_articles])
        stale = {a for a, r in self._records.items() if (r.seen, a) < cutoff}
        for article_id in stale:
            del self._records[article_id]
        self._bodies = {h: a for h, a in self._bodies.items() if a not in stale}
        for band in self._buckets:
            for key, members in list(band.items()):
                kept = [a for a in _members(members) if a not in stale]
                if not kept:
                    del band[key]
                else:
                    band[key] = kept[0] if len(kept) == 1 else kept
        if delete_from_store:
            for key, value in list(self.store.items()):
                record = _Record.from_bytes(value)
                if (record.seen, record.article_id) < cutoff:
                    del self.store[key]
        return len(stale)

    def _live(self, article_id: str, horizon: float) -> _Record | None:
        record = self._records.get(article_id)
        return record if record is not None and record.seen >= horizon else None

    def _index(self, record: _Record) -> None:
        self._records[record.article_id] = record
        if record.body_hash is not None:
            self._bodies.setdefault(record.body_hash, record.article_id)
        if record.signature is None:
            return
        article_id = record.article_id
        for band, key in zip(self._buckets, self._bucket_keys(record.signature), strict=True):
            members = band.get(key)
            if members is None:
                band[key] = article_id
            elif isinstance(members, str):
                band[key] = [members, article_id]
            else:
                members.append(article_id)
                if len(members) > _BUCKET_CAP:
                    del members[0]

    def _signature(self, title: str, body: str) -> Signature | None:
        """datasketch's ``MinHash(hashfunc=zlib.crc32, scheme="affine32")`` of the shingles,
        computed in one vectorised step (no MinHash object, no per-permutation loop)."""
        hashes = shingle_hashes(title, body)
        if not hashes:
            return None
        hv = np.fromiter(hashes, dtype=np.uint32, count=len(hashes))
        s1, m1, s2, m2, s3 = _FMIX32
        hv ^= hv >> s1
        hv *= np.uint32(m1)
        hv ^= hv >> s2
        hv *= np.uint32(m2)
        hv ^= hv >> s3
        # uint32 arithmetic wraps: a * h + b mod 2^32, the scheme's permutations (in place:
        # one shingles x permutations array, not three).
        permuted = np.multiply.outer(hv, self._a)
        permuted += self._b
        signature: Signature = permuted.min(axis=0)
        return signature

    def _bucket_keys(self, signature: Signature) -> list[bytes]:
        keys: list[bytes] = signature[: self._band_rows].view(self._band_dtype).tolist()
        return keys

    def _nearest(self, signature: Signature, horizon: float) -> _Record | None:
        candidates: set[str] = set()
        for band, key in zip(self._buckets, self._bucket_keys(signature), strict=True):
            members = band.get(key)
            if members is not None:
                candidates.update(_members(members))
        best: _Record | None = None
        # Most similar first; a tie goes to the earliest-seen article, then the smaller id, so
        # every worker and every replay picks the same cluster (a set's order varies by process).
        best_rank: tuple[float, float, str] | None = None
        for candidate in candidates:
            record = self._live(candidate, horizon)
            if record is None or record.signature is None:
                continue
            similarity = np.count_nonzero(record.signature == signature) / signature.size
            if similarity < self.config.threshold:
                continue
            rank = (-similarity, record.seen, record.article_id)
            if best_rank is None or rank < best_rank:
                best, best_rank = record, rank
        return best


def _members(bucket: str | list[str]) -> list[str]:
    return [bucket] if isinstance(bucket, str) else bucket


@dataclass(frozen=True, slots=True)
class _Record:
    """One article's assignment as stored (compact JSON) and indexed."""

    article_id: str
    cluster: Cluster
    seen: float
    body_hash: str | None
    signature: Signature | None

    def to_bytes(self) -> bytes:
        """An exact-size copy of orjson's output: orjson's bytes keep its whole write buffer
        (measured: 8 KB for a 0.8 KB record), and the store keeps a record for the window."""
        c = self.cluster
        record = orjson.dumps(
            {
                "a": self.article_id,
                "c": c.id,
                "f": c.first_id,
                "t": c.first_seen.timestamp(),
                "d": c.exact_duplicate,
                "s": self.seen,
                "h": self.body_hash,
                "g": _encode(self.signature) if self.signature is not None else None,
            }
        )
        return bytes(memoryview(record))

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Record:
        v = orjson.loads(raw)
        cluster = Cluster(
            id=v["c"],
            first_id=v["f"],
            first_seen=datetime.fromtimestamp(v["t"], UTC),
            exact_duplicate=v["d"],
        )
        signature = _decode(v["g"]) if v["g"] is not None else None
        return cls(v["a"], cluster, float(v["s"]), v["h"], signature)


def _encode(signature: Signature) -> str:
    return base64.b64encode(signature.tobytes()).decode()


def _decode(text: str) -> Signature:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint32)
