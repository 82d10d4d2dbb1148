"""Named entities: gazetteer + CRF on real Arabic news, and the gazetteer loader's validation."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import pytest

from rasad.core.article import Entity
from stream.enrich.entities.extract import EntityInputError, extract_entities
from stream.enrich.entities.gazetteer import GazetteerError, default_gazetteer, load_gazetteer
from stream.enrich.normalize import normalize
from tests.shared_data import SHARED

SEED = SHARED / "seed" / "000_40caac64b2919ceb.txt"


@lru_cache(maxsize=1)
def seed_entities() -> list[Entity]:
    title, body = SEED.read_text(encoding="utf-8").split("\n", 1)
    return extract_entities({"title": title.strip(), "body": body.strip()})


@lru_cache(maxsize=1)
def corpus(*ids: str) -> dict[str, str]:
    wanted, found = set(ids), {}
    with gzip.open(SHARED / "data" / "corpus" / "ant-multisource.jsonl.gz", "rt") as f:
        for line in f:
            doc = json.loads(line)
            if doc["id"] in wanted:
                found[doc["id"]] = doc["text"]
                if len(found) == len(wanted):
                    break
    return found


def names(entities: list[Entity], etype: str) -> set[str]:
    """Every normalized surface an entity of this type was found under, plus its name."""
    out = set()
    for e in entities:
        if e.type == etype:
            out.add(normalize(e.name))
            out.update(normalize(m.text) for m in e.mentions)
    return out


@pytest.mark.parametrize(
    ("etype", "expected"),
    [
        (
            "PER",
            [
                "دونالد ترمب",
                "رودي غولياني",
                "جو ليبرمان",
                "مايكل موكازي",
                "روبرت جوزيف",
                "قاسم سليماني",
                "علي صفوي",
            ],
        ),
        ("ORG", ["المجلس الوطني للمقاومة الإيرانية", "الأمم المتحدة"]),
        ("LOC", ["إيران", "طهران", "الولايات المتحدة", "أوروبا", "باريس", "واشنطن"]),
    ],
)
def test_seed_article_people_organisations_places(etype: str, expected: list[str]) -> None:
    found = names(seed_entities(), etype)
    assert {normalize(n) for n in expected} <= found


def test_seed_mentions_point_into_the_original_text() -> None:
    title, body = SEED.read_text(encoding="utf-8").split("\n", 1)
    fields = {"title": title.strip(), "body": body.strip()}
    for entity in seed_entities():
        assert entity.count == len(entity.mentions)
        for m in entity.mentions:
            assert fields[m.field][m.start : m.end] == m.text


def test_seed_trump_is_one_entity_with_both_spellings_of_his_mentions() -> None:
    trump = [e for e in seed_entities() if e.name_en == "Donald Trump"]
    assert len(trump) == 1
    assert trump[0].id.startswith("per.") and trump[0].origin == "gazetteer"
    assert {m.text for m in trump[0].mentions} == {"دونالد ترمب", "ترمب"}


@pytest.mark.parametrize(
    ("text", "etype", "mention"),
    [
        ("تصاعد التوتر بين واشنطن وبطهران خلال الأسبوع", "LOC", "طهران"),
        ("حرب تجارية بين #الصين والولايات المتحدة لم يسلم منها أحد", "LOC", "الولايات المتحدة"),
        ("وقال في مقابلة مع تلفزيون المنار التابع لحزب الله", "ORG", "حزب الله"),
        ("جائزة مونلوك للمقاومة والحرية في فرنسا", "LOC", "فرنسا"),
    ],
)
def test_names_are_found_behind_proclitics(text: str, etype: str, mention: str) -> None:
    found = [(e.type, m.text) for e in extract_entities({"body": text}) for m in e.mentions]
    assert (etype, mention) in found


def test_corpus_sentences_countries_behind_waw() -> None:
    text = corpus("AL-culture-46-20180204")["AL-culture-46-20180204"]
    places = names(extract_entities({"body": text}), "LOC")
    assert {"مصر", "العراق", "اليمن", "المغرب", "السعوديه", "لبنان"} <= places


def test_title_mentions_are_more_salient() -> None:
    entities = extract_entities(
        {"title": "ترمب يهاجم طهران", "body": "قال الرئيس ترمب إن العقوبات على إيران باقية."}
    )
    by_name = {e.name_en: e for e in entities}
    trump, iran = by_name["Donald Trump"], by_name["Iran"]
    assert trump.in_title and not iran.in_title
    assert trump.salience > iran.salience
    assert entities[0].in_title


def test_names_missing_from_the_gazetteer_come_from_the_model_with_stable_ids() -> None:
    """Egypt's coach in 2018 is in no gazetteer; the model finds him, and his id depends only
    on his name."""
    text = corpus("AL-sport-2164-20180627")["AL-sport-2164-20180627"]
    cooper = [e for e in extract_entities({"body": text}) if e.name == "هيكتور كوبر"]
    assert cooper and cooper[0].origin == "model" and cooper[0].id.startswith("per.x")
    again = extract_entities({"body": "الأرجنتيني هيكتور كوبر مع نهاية عقده"})
    assert cooper[0].id in {e.id for e in again}


def test_empty_and_bad_input() -> None:
    assert extract_entities({}) == []
    assert extract_entities({"title": "", "body": "\u200f ،"}) == []
    with pytest.raises(EntityInputError, match="unknown field"):
        extract_entities({"text": "طهران"})
    with pytest.raises(EntityInputError, match="must be a string"):
        extract_entities({"body": None})  # type: ignore[dict-item]


def test_shipped_gazetteer_is_large_and_valid() -> None:
    gaz = default_gazetteer()
    assert len(gaz.entries) >= 3000
    assert {e.type for e in gaz.entries.values()} == {"PER", "ORG", "LOC"}


GOOD = "- id: loc.tehran\n  type: LOC\n  name: طهران\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD + "- id: loc.tehran\n  type: LOC\n  name: طهران\n", "b.yaml:4: duplicate id"),
        (GOOD + "- id: per.x\n  type: ORG\n  name: س\n", "b.yaml:4: id 'per.x' does not agree"),
        (GOOD + "- id: loc.y\n  type: LOC\n  name: Paris\n", "b.yaml:4: .*not written in Arabic"),
        (GOOD + "- id: loc.z\n  type: LOC\n  name: ر\n  alias: [x]\n", "b.yaml:4: unknown field"),
        (GOOD + "- id: loc.q\n  type: LOC\n  name: قم\n  country: Iran\n", "b.yaml:4: country"),
        (GOOD + "- [oops\n", "b.yaml:5: not valid YAML"),
    ],
)
def test_gazetteer_errors_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "a.yaml").write_text("", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError, match=message):
        load_gazetteer(tmp_path)


def test_gazetteer_alias_shared_by_two_entries_matches_neither(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "- id: per.michel_aoun\n  type: PER\n  name: ميشال عون\n  aliases: [عون]\n"
        "- id: per.joseph_aoun\n  type: PER\n  name: جوزيف عون\n  aliases: [عون]\n",
        encoding="utf-8",
    )
    gaz = load_gazetteer(tmp_path)
    assert [m.entry.id for m in gaz.match(["ميشال", "عون", "عون"], [False] * 3)] == [
        "per.michel_aoun"
    ]


def test_tagging_from_cached_scores_matches_crfsuite_on_anercorp_dev() -> None:
    """The fast tagger sums each word's feature weights once; its labels are CRFsuite's own."""
    import pycrfsuite

    from stream.enrich.entities.crf import MODEL_PATH
    from stream.enrich.entities.crf_features import sequence_features
    from stream.enrich.entities.resources import resources
    from stream.enrich.normalize import token_breaks, tokenize
    from stream.training.train_ner import ANERCORP, read_conll

    gaz, tagger = resources()
    reference = pycrfsuite.Tagger()
    reference.open(str(MODEL_PATH))
    for sent in read_conll(ANERCORP / "dev_data.txt")[:150]:
        tokens = tokenize(sent.text)
        norms = [t.norm for t in tokens]
        breaks = token_breaks(sent.text, tokens)
        matches = gaz.match(norms, breaks)
        expected = reference.tag(sequence_features(norms, breaks, matches, tagger.cache))
        assert tagger.tag(norms, breaks, matches) == expected


def test_precomputed_word_scores_are_those_of_first_sight() -> None:
    """Scores precomputed in a batch (the worker's warm-up) are bit for bit a word's scores."""
    from stream.enrich.entities.crf import MODEL_PATH, CrfTagger, default_clusters
    from stream.enrich.entities.resources import resources
    from stream.enrich.normalize import tokenize
    from stream.training.train_ner import ANERCORP, read_conll

    gaz, _tagger = resources()
    words = list(default_clusters())[:2000]
    words += [t.norm for s in read_conll(ANERCORP / "dev_data.txt")[:150] for t in tokenize(s.text)]
    batch, lazy = (CrfTagger(MODEL_PATH, gaz, default_clusters()) for _ in range(2))
    batch.precompute(words)
    for w in words:
        (first_sight,) = lazy.rows([w])  # before reading the table: it may grow
        (row,) = batch.rows([w])
        assert batch._table[row].tobytes() == lazy._table[first_sight].tobytes()


def test_a_words_rows_are_its_spelled_out_features_weights_added_one_by_one() -> None:
    """New words are scored by the compiled scorer (native/src/words.rs): each of its rows (own,
    then as neighbour at -1, +1, -2, +2) is the weights of the training code's feature strings
    for that role, added from zero in feature order as CRFsuite adds them: bit for bit."""
    import numpy as np

    from stream.enrich.entities.crf import MODEL_PATH, CrfTagger, default_clusters
    from stream.enrich.entities.resources import resources
    from stream.enrich.normalize import scan, tokenize
    from stream.training.train_ner import ANERCORP, read_conll
    from tests.shared_data import corpus_texts

    gaz, _tagger = resources()
    tagger = CrfTagger(MODEL_PATH, gaz, default_clusters())  # its own table: every word new
    index, weights = tagger._weights.attribute_ids, tagger._weights.matrix
    words = [*list(default_clusters())[:3000], "١٢٣", "2018", "abc1", "ول", "للامم", "وبالعقوبات"]
    words += [t.norm for s in read_conll(ANERCORP / "dev_data.txt")[:150] for t in tokenize(s.text)]
    words += [w for _, text in corpus_texts(100) for w in scan(text)[1]]
    words = list(dict.fromkeys(words))
    for w, row in zip(words, tagger.rows(words), strict=True):
        spelled = (tagger.cache.own(w), *tagger.cache.ctx(w))
        for role, feats in enumerate(spelled):
            expected = np.zeros(weights.shape[1])
            for f in feats:
                if f in index:
                    expected = expected + weights[index[f]]
            assert tagger._table[row, role].tobytes() == expected.tobytes(), (w, role)


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("2018", "num"),
        ("²", "num"),  # Python's str.isdigit: a superscript two is a digit
        ("abc", "latin"),
        ("abc1", "mixed"),
        ("a-b", "mixed"),
        ("عام2018", "armix"),
        ("½", "ar"),  # numeric, but no digit
        ("طهران", "ar"),
    ],
)
def test_a_words_shape(word: str, kind: str) -> None:
    from stream.enrich.entities.crf_features import shape

    assert shape(word) == kind


@pytest.mark.parametrize(
    ("word", "classes"),
    [
        ("والرئيس", ("ptitle",)),  # through its proclitics
        ("شقيقه", ("ptitle",)),  # a title with a possessive pronoun
        ("قائدهم", ("ptitle",)),
        ("وقالت", ("say",)),
        ("ولوزارة", ("orghead",)),
        ("مدينه", ("lochead",)),
        ("طهران", ()),
    ],
)
def test_a_words_trigger_classes(word: str, classes: tuple[str, ...]) -> None:
    from stream.enrich.entities.triggers import trigger_classes

    assert trigger_classes(normalize(word)) == classes


def test_word_cluster_errors_name_file_and_line(tmp_path: Path) -> None:
    from stream.enrich.entities.crf import ClusterDataError, load_clusters

    path = tmp_path / "clusters.tsv"
    path.write_text("# header\nطهران\t1\t2\t3\nباريس\t1\tx\n", encoding="utf-8")
    with pytest.raises(ClusterDataError, match=r"clusters\.tsv:3"):
        load_clusters(path)


@pytest.mark.parametrize(
    ("text", "wrong_id"),
    [
        # تركية (Turkish, adjective) folds to تركيه: it is not the country
        ("وقالت وزارة الخارجية التركية في بيان إن أنقرة", "loc.turkey"),
        # Mesut Özil, not the CHP leader Özgür Özel
        ("وسجل مسعود أوزيل هدف الفوز لأرسنال", "per.ozgur_ozel"),
        # ترأس (presided) folds to تراس (Truss); بنوك (banks) reads ب + نوك (Nuuk)
        ("كما تولى رئاسة جهاز الرقابة، وترأس الهيئة العامة لقصور الثقافة", "per.liz_truss"),
        ("وأضافت المصادر أن بعض تلك البنوك دولية والباقي بنوك محلية", "loc.nuuk"),
        # مسقط رأس = birthplace: "مسقط" is in the tagger's training text, its reading decides
        ("استمدت القرية شهرة كبيرة لكونها مسقط رأس كوكب الشرق", "loc.muscat"),
    ],
)
def test_colliding_aliases_are_not_matched(text: str, wrong_id: str) -> None:
    assert wrong_id not in {e.id for e in extract_entities({"body": text})}


def test_model_names_stop_at_particles() -> None:
    entities = extract_entities({"body": "قالت منظمة الصحة العالمية إن متحور أوميكرون ينتشر"})
    assert all("إن" not in m.text.split() for e in entities for m in e.mentions)


def test_model_names_do_not_span_punctuation() -> None:
    """ANERcorp dev: two names on either side of a parenthesis are two names."""
    entities = extract_entities({"body": "وكان من بينهم أسلاف دينغ ( دين ) من الجيل"})
    mentions = {m.text for e in entities for m in e.mentions}
    assert not any("(" in text for text in mentions)


def test_a_model_without_its_known_names_file_is_refused(tmp_path: Path) -> None:
    from stream.enrich.entities.crf import (
        MODEL_PATH,
        CrfTagger,
        ModelMissingError,
        default_clusters,
    )

    model = tmp_path / "ner-crf.crfsuite"
    model.write_bytes(MODEL_PATH.read_bytes())
    with pytest.raises(ModelMissingError, match="known-names"):
        CrfTagger(model, default_gazetteer(), default_clusters())


def test_names_beyond_the_taggers_training_text_are_found_by_the_gazetteer() -> None:
    """2018 news (ANT corpus): the tagger, trained on 2002 newswire, never saw these names."""
    text = "بدأت بنشر الفيديوهات بإمكانيات متواضعة عبر صفحتي في الفيسبوك واليوتيوب بهدف توسيع فرصي"
    assert {"org.facebook", "org.youtube"} <= {e.id for e in extract_entities({"body": text})}


def test_a_titled_known_person_keeps_the_taggers_longer_bounds() -> None:
    """ANERcorp dev: the gazetteer knows "الشيخ حمد بن خليفة"; the text says more."""
    text = "عقد حضرة صاحب السمو الشيخ حمد بن خليفة آل ثاني أمير البلاد المفدي"
    hamad = [e for e in extract_entities({"body": text}) if e.id == "per.hamad_bin_khalifa"]
    assert [m.text for m in hamad[0].mentions] == ["حمد بن خليفة آل ثاني"]


def test_a_place_inside_a_longer_known_name_is_still_named() -> None:
    """ANERcorp dev: "فلسطين" ends the name of an organisation the tagger reads as shorter."""
    text = "أعلنت سرايا القدس ، الجناح العسكري لحركة الجهاد الإسلامي في فلسطين ، مسؤوليتها"
    assert "loc.palestine" in {e.id for e in extract_entities({"body": text})}


@pytest.mark.parametrize(
    ("words", "entity_id"),
    [("صندوق النقد الدولي", "org.imf"), ("البيت الأبيض", "org.white_house")],
)
def test_known_names_of_several_words_are_found_wherever_the_news_writes_them(
    words: str, entity_id: str
) -> None:
    """2018 news (ANT corpus): ANERcorp's annotators left these untagged, so the tagger often
    reads them as ordinary words; analysts look for them, so the gazetteer's match stands."""
    found, tried = 0, 0
    with gzip.open(SHARED / "data" / "corpus" / "ant-multisource.jsonl.gz", "rt") as f:
        for line in f:
            text = json.loads(line)["text"]
            if words not in text:
                continue
            tried += 1
            found += entity_id in {e.id for e in extract_entities({"body": text})}
            if tried == 40:
                break
    assert tried == 40
    # The tagger retrained on the news labels (issue 17) misses one of the 40: it runs a name
    # over "بيفرلي وكيسي نيكولسون البيت الأبيض" (a film's characters entering the White House),
    # and a longer model span wins over the gazetteer's. Known, kept visible here.
    assert found >= tried - 1
