"""The compiled core of the CRF tagger (stream/enrich/entities/native) against CRFsuite itself:
the same labels on real news, and clear errors for input it cannot score."""

from __future__ import annotations

import numpy as np
import pycrfsuite
import pytest

from stream.enrich.entities.crf import MODEL_PATH
from stream.enrich.entities.crf_features import sequence_features
from stream.enrich.entities.resources import resources
from stream.enrich.normalize import scan, scan_breaks
from tests.shared_data import corpus_texts

# Every 60th corpus article (~525 of 31,525, every outlet and category), title and body.
_EVERY = 60


def test_corpus_articles_get_crfsuites_own_labels() -> None:
    """The labels of the entities Rasad reports: the compiled core's, on every text of the
    sampled articles, are those CRFsuite gives the spelled-out features of the training code."""
    gaz, tagger = resources()
    reference = pycrfsuite.Tagger()
    reference.open(str(MODEL_PATH))
    texts = named = 0
    for article_id, text in corpus_texts(_EVERY):
        _, norms, _, _ = scan(text)
        breaks = scan_breaks(text)
        matches = gaz.match(norms, breaks)
        labels = tagger.tag(norms, breaks, matches)
        features = sequence_features(norms, breaks, matches, tagger.cache)
        assert labels == (reference.tag(features) if norms else []), article_id
        # the scan and the decoding in one call: the same matches and labels
        assert tagger.find(norms, breaks) == ((matches, labels) if norms else ([], [])), article_id
        texts += 1
        named += sum(label != "O" for label in labels)
    assert texts > 1000
    assert named > 5000  # names were decoded, not only O


def test_a_table_of_the_wrong_shape_is_refused() -> None:
    _gaz, tagger = resources()
    with pytest.raises(ValueError, match=r"expected \(words, 5, 7\)"):
        tagger._chain.tag(np.zeros((4, 5, 6)), [0, 1], [False, False], [])


def test_a_sentence_with_rows_or_breaks_of_another_length_is_refused() -> None:
    gaz, tagger = resources()
    norms = ["الولايات", "المتحده"]
    rows = tagger.rows(norms)
    with pytest.raises(ValueError, match="1 rows for 2 tokens"):
        tagger._chain.scan_tag(gaz.names, tagger._table, norms, rows[:1], [False, False])
    with pytest.raises(ValueError, match="1 breaks for 2 tokens"):
        tagger._chain.scan_tag(gaz.names, tagger._table, norms, rows, [False])


def test_rows_breaks_and_matches_outside_the_sentence_are_refused() -> None:
    _gaz, tagger = resources()
    table = np.zeros((4, 5, 7))
    with pytest.raises(ValueError, match="row 4 of a 4-row table"):
        tagger._chain.tag(table, [0, 4], [False, False], [])
    with pytest.raises(ValueError, match="1 breaks for 2 tokens"):
        tagger._chain.tag(table, [0, 1], [False], [])
    with pytest.raises(ValueError, match=r"match \(0, 1, 3\) in a 2-token sentence"):
        tagger._chain.tag(table, [0, 1], [False, False], [(0, 1, 3)])
