"""Topic tags: specifications on real articles from ../shared (ANT corpus, the seed article)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from rasad.core.article import Entity, Mention, TopicTag
from stream.enrich.entities.extract import extract_entities
from stream.enrich.entities.gazetteer import default_gazetteer
from stream.enrich.normalize import normalize
from stream.enrich.topics.combined import tag_topics
from stream.enrich.topics.tagger import Tagger
from stream.enrich.topics.taxonomy import DEFAULT_PATH, TaxonomyError, load_taxonomy, parse_taxonomy
from tests.shared_data import SHARED

CORPUS = SHARED / "data" / "corpus" / "ant-multisource.jsonl.gz"
SEED = SHARED / "seed" / "000_40caac64b2919ceb.txt"

SPORT_WITH_IRANIAN_CLUB = "AL-sport-11-20180218"  # Asian Champions League, "تراكتور سازي الإيراني"
HOUTHI_BATTLE = "SK-middleEast-284-20180314"  # "ميليشيات الحوثي الإيرانية" twice
GULF_MONEY_IN_SYRIA = "CN-middleEast-507-20180407"  # "روسيا وإيران وتركيا" in passing
FIFA_PUNISHMENT = "CN-sport-382-20180824"  # FIFA's عقوبتين against a football official
PRISON_SENTENCE = "BB-internationalNews-401-20180425"  # "العقوبات القاسية" of the US courts
CORPUS_IDS = (
    SPORT_WITH_IRANIAN_CLUB, HOUTHI_BATTLE, GULF_MONEY_IN_SYRIA, FIFA_PUNISHMENT, PRISON_SENTENCE,
)  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, str]]:
    """The fields of the articles these specs use, read from the corpus by id."""
    found: dict[str, dict[str, str]] = {}
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            art = json.loads(line)
            if art["id"] in CORPUS_IDS and art["id"] not in found:
                found[art["id"]] = {
                    "title": art["title"],
                    "summary": art["abstract"],
                    "body": art["text"],
                }
                if len(found) == len(CORPUS_IDS):
                    break
    return found


@pytest.fixture(scope="module")
def seed() -> dict[str, str]:
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    return {"title": title.strip(), "body": body.strip()}


def tags(fields: Mapping[str, str], entities: Sequence[Entity] = ()) -> dict[str, TopicTag]:
    return {t.tag: t for t in tag_topics(fields, entities)}


def test_the_seed_article_is_about_iran_sanctions_and_the_opposition(seed: dict[str, str]) -> None:
    assert {"iran", "sanctions", "opposition"} <= set(tags(seed))


def test_the_seed_keeps_its_tags_with_the_entities_the_pipeline_extracts(
    seed: dict[str, str],
) -> None:
    found = tags(seed, extract_entities(seed))
    assert {"iran", "sanctions", "opposition"} <= set(found)
    assert any(ev.kind == "entity" for ev in found["iran"].evidence)  # Iranian names count


def test_a_sport_article_is_sport_and_not_iran_even_with_an_iranian_club(
    corpus: dict[str, dict[str, str]],
) -> None:
    found = tags(corpus[SPORT_WITH_IRANIAN_CLUB])
    assert "sport" in found
    assert "iran" not in found


@pytest.mark.parametrize("article_id", [HOUTHI_BATTLE, GULF_MONEY_IN_SYRIA])
def test_a_passing_mention_of_iran_is_not_an_iran_tag(
    corpus: dict[str, dict[str, str]], article_id: str
) -> None:
    assert "إيران" in corpus[article_id]["body"] or "الإيرانية" in corpus[article_id]["body"]
    assert "iran" not in tags(corpus[article_id])


@pytest.mark.parametrize("article_id", [FIFA_PUNISHMENT, PRISON_SENTENCE])
def test_penalties_in_sport_and_sentences_in_court_are_not_sanctions(
    corpus: dict[str, dict[str, str]], article_id: str
) -> None:
    assert "sanctions" not in tags(corpus[article_id])


def test_evidence_offsets_point_at_the_original_text(seed: dict[str, str]) -> None:
    for tag in tags(seed).values():
        assert tag.evidence and 0 < tag.score <= 1
        for ev in tag.evidence:
            surface = seed[ev.field][ev.start : ev.end]
            assert surface == surface.strip() and surface
            if ev.kind == "term":
                words = ev.value.split(" ~ ")[0].split()
            elif ev.kind == "model" and not ev.value.startswith("e:"):
                words = ev.value[2:].split()  # "w:<stem>", "t:<stem>"...
            else:
                continue  # an entity id names the entity, not its spelling
            assert all(stem in normalize(surface) for stem in words)


def test_offsets_survive_diacritics_tatweel_and_bidi_marks() -> None:
    # hostile input: vowelled, stretched and RLM-laden spelling of a real headline
    title = "\u200fواشنطن تفرض عُقُوبَاتٍ جديدة على طهـــران"
    sanctions = tags({"title": title, "body": ""})["sanctions"]
    spans = {title[e.start : e.end] for e in sanctions.evidence if e.kind == "term"}
    assert spans == {"تفرض", "عُقُوبَاتٍ جديدة"}


def test_an_entity_hook_is_evidence_with_the_mention_offsets() -> None:
    taxonomy = parse_taxonomy(
        """
version: 1
scoring:
  {title_weight: 2, summary_weight: 1, repeat_decay: 0.5, reference_tokens: 250, squash_scale: 4}
tags:
  iran:
    threshold: 0.5
    terms: {طهران: 1}
    entities: {per.ali_khamenei: 3}
""",
        "inline.yaml",
    )
    title = "خامنئي يحذر من مواجهة مع واشنطن"
    khamenei = Entity(
        type="PER", id="per.ali_khamenei", name="علي خامنئي", count=1, salience=1.0, in_title=True,
        mentions=[Mention(field="title", start=0, end=6, text="خامنئي")],
    )  # fmt: skip
    [tag] = Tagger(taxonomy).tag({"title": title}, [khamenei])
    assert [(e.kind, e.value, e.start, e.end) for e in tag.evidence] == [
        ("entity", "per.ali_khamenei", 0, 6)
    ]


def test_empty_and_non_arabic_articles_get_no_tags() -> None:
    assert tag_topics({"title": "", "summary": "", "body": ""}, []) == []
    assert tag_topics({"title": "Iran sanctions", "body": "The opposition met."}, []) == []


def test_an_unknown_field_is_an_error_not_silence() -> None:
    with pytest.raises(ValueError, match="headline"):
        tag_topics({"headline": "إيران"}, [])


def test_the_shipped_taxonomy_has_every_required_tag() -> None:
    names = {tag.name for tag in load_taxonomy(DEFAULT_PATH).tags}
    assert names >= {
        "iran", "sanctions", "opposition", "nuclear", "terrorism", "protests", "military",
        "diplomacy", "elections", "economy", "energy", "human-rights", "health", "migration",
        "sport", "culture", "technology",
    }  # fmt: skip


def test_every_entity_id_the_taxonomy_names_is_in_the_gazetteer() -> None:
    # a hook naming an id the gazetteer does not have would silently never fire
    entries = default_gazetteer().entries
    named = {
        (hook.key, hook.where)
        for tag in load_taxonomy(DEFAULT_PATH).tags
        for hook in tag.entities
        if hook.kind == "id"
    }
    assert named and {(key, where) for key, where in named if key not in entries} == set()


GOOD = """version: 1
scoring:
  {title_weight: 2, summary_weight: 1, repeat_decay: 0.5, reference_tokens: 250, squash_scale: 4}
tags:
  sanctions:
    threshold: 0.5
    terms:
      عقوبات: 2
"""


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        (GOOD.replace("عقوبات: 2", "عقوبات: كثير"), 8, "must be a number"),
        (GOOD.replace("threshold: 0.5", "threshold: 5"), 6, "threshold must be in"),
        (GOOD.replace("    terms:", "    colour: red\n    terms:"), 7, "unknown key 'colour'"),
        (GOOD + "      العقوبات|حظر: 1\n", 9, "already a term"),
        (GOOD + "    required: [[حصار]]\n", 9, "not contained in any term"),
        (GOOD + "    entities: {Iran: 3}\n", 9, "entity hook 'Iran'"),
        (GOOD + "    near: [{a: [فرض], b: [عقوبات], within: 99, weight: 1}]\n", 9, "within must"),
        (GOOD.replace("عقوبات: 2", "عقوبات: [2"), 9, "not valid YAML"),
    ],
)
def test_a_broken_taxonomy_is_rejected_naming_file_and_line(
    tmp_path: Path, broken: str, line: int, message: str
) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=message) as err:
        load_taxonomy(path)
    assert str(err.value).startswith(f"taxonomy.yaml:{line}:")
