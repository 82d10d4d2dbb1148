"""Canonical URLs: one story, one id, whatever decorations the link carries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from producers.canonical import article_id, canonicalize

ARABIC_PATH = "/ar/culture-and-art/2018/02/18/هكذا-تحالفت-أحلام-وإليسا.html"


def test_feed_link_and_page_link_of_one_story_get_one_id() -> None:
    from_feed = (
        "http://www.alarabiya.net/ar/culture-and-art/2018/02/18/"
        "%D9%87%D9%83%D8%B0%D8%A7-%D8%AA%D8%AD%D8%A7%D9%84%D9%81%D8%AA-"
        "%D8%A3%D8%AD%D9%84%D8%A7%D9%85-%D9%88%D8%A5%D9%84%D9%8A%D8%B3%D8%A7.html"
        "?utm_source=rss&utm_medium=feed#comments"
    )
    from_page = f"https://m.alarabiya.net{ARABIC_PATH}?fbclid=IwAR0"
    assert canonicalize(from_feed) == canonicalize(from_page)
    assert article_id(canonicalize(from_feed)) == article_id(canonicalize(from_page))


def test_host_is_lowercased_and_www_m_amp_are_folded() -> None:
    for host in ("WWW.BBC.com", "m.bbc.com", "amp.bbc.com", "www.m.bbc.com"):
        assert canonicalize(f"https://{host}/arabic/x") == "https://bbc.com/arabic/x"


def test_amp_path_variants_fold_to_the_article() -> None:
    base = canonicalize("https://www.bbc.com/arabic/world-123")
    assert canonicalize("https://www.bbc.com/arabic/world-123.amp") == base
    assert canonicalize("https://www.bbc.com/arabic/world-123/amp/") == base
    assert canonicalize("https://www.bbc.com/amp/arabic/world-123") == base


def test_tracking_parameters_dropped_and_the_rest_sorted() -> None:
    url = "https://youm7.com/story?id=5&utm_campaign=x&gclid=1&UTM_Source=y&a=1&fbclid=2"
    assert canonicalize(url) == "https://youm7.com/story?a=1&id=5"


def test_fragment_default_port_and_trailing_slash_do_not_matter() -> None:
    assert canonicalize("http://example.com:80/a/b/#top") == canonicalize("https://example.com/a/b")


def test_a_different_article_keeps_a_different_id() -> None:
    a = canonicalize("https://aljazeera.net/news/2024/1/1/one")
    b = canonicalize("https://aljazeera.net/news/2024/1/1/two")
    assert article_id(a) != article_id(b)
    assert len(article_id(a)) == 32


_segment = st.text(
    alphabet=st.sampled_from("abcXYZ019-_.~%/هكذا تحالفت ؟&=+"), min_size=0, max_size=12
)
_param = st.tuples(
    st.sampled_from(["utm_source", "UTM_medium", "fbclid", "gclid", "id", "q", "page", "ق"]),
    st.text(alphabet="ab1 هك%&=", max_size=5),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.sampled_from(["www.", "m.", "amp.", "", "WWW.m."])) + draw(
        st.sampled_from(["alarabiya.net", "BBC.co.uk", "youm7.com", "m.com"])
    )
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    params = draw(st.lists(_param, max_size=4))
    query = "&".join(f"{k}={v}" for k, v in params)
    fragment = draw(st.sampled_from(["", "#x", "#تعليقات"]))
    return f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query else "") + fragment


@given(urls())
def test_canonicalize_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    assert canonicalize(once) == once


@given(urls())
def test_canonical_form_has_no_tracking_www_or_fragment(url: str) -> None:
    canonical = canonicalize(url)
    assert "utm_" not in canonical.lower()
    assert "fbclid" not in canonical and "gclid" not in canonical
    assert "#" not in canonical
    host = canonical.split("/")[2]
    assert not host.startswith(("www.", "m.", "amp.")) or host.count(".") == 1
    assert host == host.lower()


@given(urls(), st.sampled_from(["utm_source=rss", "fbclid=abc", "gclid=1"]))
def test_adding_a_tracking_parameter_keeps_the_id(url: str, tracker: str) -> None:
    base, _, fragment = url.partition("#")
    tracked = base + ("&" if "?" in base else "?") + tracker + (f"#{fragment}" if fragment else "")
    assert article_id(canonicalize(tracked)) == article_id(canonicalize(url))
