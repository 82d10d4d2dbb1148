"""Learn word clusters from unlabeled news: ``python -m stream.training.train_clusters``.

Writes ``stream/data/word-clusters.tsv``, the CRF tagger's word-representation features. Words
that occur in the same contexts land in the same cluster: given names with given names,
surnames with surnames, cities with cities, organisation heads with organisation heads. The
tagger then learns "a word of cluster 317 after a title is a person" from ANERcorp's 2002
names and applies it to the names of current news that no labelled data holds; this is the
classic semi-supervised gain for NER (Turian et al. 2010; Lin & Wu 2009).

Method (cheap, deterministic, no extra dependency): every normalized word seen at least
``--min-count`` times in the ANT corpus (``../shared/data/corpus``) gets a vector of its left
and right neighbours among the most frequent words, weighted by positive PMI, reduced by a
randomized SVD, L2-normalized and clustered by spherical k-means into ``--fine`` clusters;
the fine centroids are clustered again into ``--mid`` and ``--coarse`` clusters, so the three
levels nest like the prefixes of a Brown-cluster bit string. The file holds derived counts
only (word, cluster ids), never text.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse

from stream.enrich.entities.crf import CLUSTERS_PATH
from stream.enrich.normalize import scan

CORPUS = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "corpus" / "ant-multisource.jsonl.gz"
)
_SEED = 20180204  # any fixed seed: the same corpus and parameters give the same file


def read_corpus(path: Path) -> list[list[str]]:
    """Normalized tokens of every title, abstract and body of the corpus."""
    texts: list[list[str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            for key in ("title", "abstract", "text"):
                value = doc.get(key)
                if isinstance(value, str) and value:
                    texts.append(scan(value)[1])
    return texts


def context_matrix(
    texts: list[list[str]], words: list[str], contexts: list[str]
) -> sparse.csr_matrix:
    """Counts of each word's left (first half of columns) and right neighbours."""
    wid = {w: i for i, w in enumerate(words)}
    cid = {w: i for i, w in enumerate(contexts)}
    rows: list[int] = []
    cols: list[int] = []
    n_ctx = len(contexts)
    for toks in texts:
        ids = [wid.get(t, -1) for t in toks]
        cids = [cid.get(t, -1) for t in toks]
        for i, w in enumerate(ids):
            if w < 0:
                continue
            if i and cids[i - 1] >= 0:
                rows.append(w)
                cols.append(cids[i - 1])
            if i + 1 < len(ids) and cids[i + 1] >= 0:
                rows.append(w)
                cols.append(n_ctx + cids[i + 1])
    data = np.ones(len(rows), dtype=np.float32)
    shape = (len(words), 2 * n_ctx)
    return sparse.csr_matrix((data, (rows, cols)), shape=shape, dtype=np.float32)


def ppmi(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    total = counts.sum()
    row = np.asarray(counts.sum(axis=1)).ravel()
    # Context distribution smoothed by ^0.75 (Levy et al. 2015): rare contexts stop dominating.
    col = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    col = col / col.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data * 1.0 / total) - np.log(row[coo.row] / total) - np.log(col[coo.col])
    keep = pmi > 0
    return sparse.csr_matrix(
        (pmi[keep].astype(np.float32), (coo.row[keep], coo.col[keep])), shape=counts.shape
    )


def randomized_svd(m: sparse.csr_matrix, dims: int, rng: np.random.Generator) -> np.ndarray:
    """Left singular vectors scaled by sqrt(singular values) (Halko et al., 2 power steps)."""
    omega = rng.standard_normal((m.shape[1], dims + 10)).astype(np.float32)
    q, _ = np.linalg.qr(m @ omega)
    for _ in range(2):
        q, _ = np.linalg.qr(m @ (m.T @ q))
    b = (m.T @ q).T
    u_b, s, _ = np.linalg.svd(b, full_matrices=False)
    u = q @ u_b
    return np.asarray(u[:, :dims] * np.sqrt(s[:dims]))


def spherical_kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, iterations: int, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster unit vectors by cosine; returns (assignment, unit centroids)."""
    centroids = x[rng.choice(len(x), size=k, replace=False)].copy()
    assign = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        assign = np.asarray((x @ centroids.T).argmax(axis=1))
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, x * weights[:, None])
        empty = ~sums.any(axis=1)
        sums[empty] = x[rng.choice(len(x), size=int(empty.sum()), replace=False)]
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return assign, centroids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # ~50k words: every word of a few dozen occurrences gets a reliable context vector, and the
    # file stays ~1 MB.
    parser.add_argument("--min-count", type=int, default=8)
    # The most frequent words are the contexts: function words and titles carry the signal.
    parser.add_argument("--contexts", type=int, default=3000)
    parser.add_argument("--dims", type=int, default=100)
    # Three nested granularities, as with Brown-cluster prefixes of 4/8/12 bits.
    parser.add_argument("--fine", type=int, default=1024)
    parser.add_argument("--mid", type=int, default=256)
    parser.add_argument("--coarse", type=int, default=48)
    parser.add_argument("--iterations", type=int, default=25)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=CLUSTERS_PATH)
    args = parser.parse_args()

    rng = np.random.default_rng(_SEED)
    t0 = time.perf_counter()
    texts = read_corpus(args.corpus)
    freq = Counter(t for toks in texts for t in toks)
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    words = [w for w, c in ranked if c >= args.min_count and not w.isdigit()]
    contexts = [w for w, _ in ranked[: args.contexts]]
    print(f"{sum(freq.values())} tokens, {len(words)} words to cluster")
    vectors = randomized_svd(ppmi(context_matrix(texts, words, contexts)), args.dims, rng)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    # Frequent words have reliable vectors: let them weigh more on the centroids.
    weights = np.log1p(np.array([freq[w] for w in words], dtype=np.float32))
    fine, fine_c = spherical_kmeans(vectors, args.fine, rng, args.iterations, weights)
    ones = np.ones(args.fine, dtype=np.float32)
    mid_of_fine, mid_c = spherical_kmeans(fine_c, args.mid, rng, args.iterations, ones)
    coarse_of_mid, _ = spherical_kmeans(mid_c, args.coarse, rng, args.iterations, ones[: args.mid])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        out.write(
            "# word\tcoarse\tmid\tfine"
            "  (python -m stream.training.train_clusters; derived counts)\n"
        )
        for w, f in sorted(zip(words, fine.tolist(), strict=True)):
            m = int(mid_of_fine[f])
            out.write(f"{w}\t{int(coarse_of_mid[m])}\t{m}\t{f}\n")
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB) in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
