"""Analyst query language -> engine query DSL. Pure functions, no I/O.

The same builder serves search (CLI, HTTP API), alert backtests and percolator queries, so an
alert matches exactly what the same search would find.

Syntax: words (all must match, in any field), ``"quoted phrases"`` (exact words in order, on the
unstemmed ``exact`` sub-fields), ``AND`` / ``OR`` / ``NOT`` and parentheses. Arabic operators:
``و`` (AND), ``أو`` / ``او`` (OR), ``بدون`` (NOT); ``-word`` is NOT word. Arabic quotation marks
(«», “”) work as quotes. Arabic normalisation (hamza, alef, ة/ه, ى/ي, tatweel, diacritics,
clitics such as وال/بال) happens in the engine's analyzers, identically for articles and queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Union

from rasad.core.engine.client import QueryError

# Analyst queries are a line or two; a cap bounds parser and engine work on hostile input.
MAX_QUERY_CHARS = 1000
# Each clause expands (synonyms, fields x3); the engines refuse more than 1,024 boolean clauses.
MAX_CLAUSES = 64
# Nesting (parentheses and NOT) deeper than this is never a real query; it bounds the recursion.
MAX_DEPTH = 16
# Field boosts: a word in the title says more about the article than one deep in the body.
TEXT_FIELDS = ["title^3", "summary^2", "body"]
EXACT_FIELDS = ["title.exact^3", "summary.exact^2", "body.exact"]

_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "″": '"'})
_OPERATORS = {
    "AND": "AND", "&&": "AND", "و": "AND",
    "OR": "OR", "||": "OR", "أو": "OR", "او": "OR",
    "NOT": "NOT", "!": "NOT", "بدون": "NOT",
}  # fmt: skip
_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*")|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"]+))')
_SINCE = re.compile(r"^\s*(\d{1,9})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# The longest period a search, statistic or backtest looks back: a century covers every news
# archive, and keeps "now minus the period" far from datetime's year 1 (OverflowError).
MAX_PERIOD = timedelta(days=36_525)
# Values of one filter (entity=, topic=, source=…): the engines refuse a query of more than
# 1,024 boolean clauses, and each entity costs two; nobody filters on more than a few dozen.
MAX_FILTER_VALUES = 100


@dataclass(frozen=True)
class Term:
    text: str


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Term, Phrase, And, Or, Not]  # noqa: UP007 (a forward-referenced alias)


def _tokens(query: str) -> list[tuple[str, str]]:
    text = query.translate(_QUOTES)
    if text.count('"') % 2:
        raise QueryError('a quotation mark is not closed: add the missing "')
    out: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        if match["phrase"] is not None:
            out.append(("phrase", match["phrase"][1:-1].strip()))
        elif match["open"]:
            out.append(("(", "("))
        elif match["close"]:
            out.append((")", ")"))
        elif match["word"]:
            word = match["word"]
            if word in _OPERATORS:
                out.append((_OPERATORS[word], word))
            elif word.startswith("-") and len(word) > 1:
                out.extend([("NOT", "-"), ("word", word[1:])])
            else:
                out.append(("word", word))
    return out


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary (AND? unary)*;
    unary := NOT unary | atom; atom := word | phrase | ( or )."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            _, text = self.take()
            raise QueryError(f"unexpected {text!r}: is a parenthesis not opened?")
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        while self.peek() == "OR":
            self.take()
            children.append(self.and_())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        children = [self.unary()]
        while self.peek() not in (None, "OR", ")"):
            if self.peek() == "AND":
                self.take()
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def nested(self, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"the query nests more than {MAX_DEPTH} levels: simplify it")
        try:
            return parse()
        finally:
            self.depth -= 1

    def unary(self) -> Node:
        if self.peek() == "NOT":
            self.take()
            return Not(self.nested(self.unary))
        return self.atom()

    def atom(self) -> Node:
        kind = self.peek()
        if kind is None:
            last = self.tokens[-1][1] if self.tokens else ""
            raise QueryError(f"the query ends after {last!r}: a word or phrase must follow it")
        token, text = self.take()
        if token == "word":
            return Term(text)
        if token == "phrase":
            if not text:
                raise QueryError('an empty phrase ("") matches nothing: put words inside it')
            return Phrase(text)
        if token == "(":
            if self.peek() == ")":
                raise QueryError("empty parentheses: put a word or phrase inside them")
            node = self.nested(self.or_)
            if self.peek() != ")":
                raise QueryError("a parenthesis is not closed: add the missing )")
            self.take()
            return node
        raise QueryError(f"{text!r} needs a word or phrase before and after it")


def parse_query(query: str) -> Node | None:
    """The query's syntax tree, or None for an empty query (match everything)."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    tokens = _tokens(query)
    if not tokens:
        return None
    node = _Parser(tokens).parse()
    if _count(node) > MAX_CLAUSES:
        raise QueryError(f"the query has more than {MAX_CLAUSES} words, phrases and operators")
    return node


def _count(node: Node) -> int:
    if isinstance(node, And | Or):
        return 1 + sum(_count(c) for c in node.children)
    if isinstance(node, Not):
        return 1 + _count(node.child)
    return 1


def node_kinds(node: Node | None) -> set[type[Term] | type[Phrase]]:
    """Which leaves a query has (bare words, quoted phrases), outside NOT: what can be
    highlighted in a hit."""
    if isinstance(node, Term | Phrase):
        return {type(node)}
    if isinstance(node, And | Or):
        return set().union(*(node_kinds(c) for c in node.children))
    return set()


def _words(text: str) -> dict[str, Any]:
    # cross_fields + AND: every word must appear, each in any field; the words go to the
    # engine together so multi-word synonyms (الولايات المتحدة = أمريكا) can match.
    return {
        "multi_match": {
            "query": text,
            "fields": TEXT_FIELDS,
            "type": "cross_fields",
            "operator": "and",
        }
    }


def compile_node(node: Node) -> dict[str, Any]:
    if isinstance(node, Term):
        return _words(node.text)
    if isinstance(node, Phrase):
        return {"multi_match": {"query": node.text, "fields": EXACT_FIELDS, "type": "phrase"}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_node(node.child)]}}
    if isinstance(node, Or):
        return {
            "bool": {"should": [compile_node(c) for c in node.children], "minimum_should_match": 1}
        }
    must: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    words: list[str] = []
    for child in node.children:
        if isinstance(child, Term):
            words.append(child.text)
        elif isinstance(child, Not):
            must_not.append(compile_node(child.child))
        else:
            must.append(compile_node(child))
    if words:
        must.insert(0, _words(" ".join(words)))
    clause: dict[str, Any] = {"must": must}
    if must_not:
        clause["must_not"] = must_not
    return {"bool": clause}


@dataclass(frozen=True)
class Filters:
    """Structured filters; list fields match any of their values, entities must all match."""

    topics: tuple[str, ...] = ()
    min_topic_score: float | None = None
    entities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    cluster_id: str | None = None


def parse_period(value: str) -> timedelta:
    """``"24h"``, ``"7d"``, ``"90m"``, ``"2w"`` -> that period; QueryError if it is not one.

    The one reading of a period for search, statistics and backtests, in the CLI and the API.
    """
    match = _SINCE.match(value)
    if not match or int(match[1]) == 0:
        raise QueryError(
            f"since {_excerpt(value)}: use a number and a unit m, h, d or w, e.g. 24h or 7d"
        )
    period = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if period > MAX_PERIOD:
        raise QueryError(f"since {_excerpt(value)}: at most {MAX_PERIOD.days // 365} years back")
    return period


def parse_since(value: str, now: datetime) -> datetime:
    """``"24h"``, ``"7d"``, ``"30m"``, ``"2w"`` -> the moment that long before ``now``."""
    return now - parse_period(value)


def _excerpt(value: str, limit: int = 40) -> str:
    """A short, quoted excerpt of hostile input for an error message (never all of it)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def check_filters(filters: Filters) -> None:
    """Refuse filters the engine could not run (too many values) with a clear QueryError."""
    for name in ("topics", "entities", "sources", "countries", "languages"):
        values: tuple[str, ...] = getattr(filters, name)
        if len(values) > MAX_FILTER_VALUES:
            raise QueryError(
                f"{len(values)} {name} filters: at most {MAX_FILTER_VALUES} values per filter"
            )


def filter_clauses(filters: Filters, now: datetime) -> list[dict[str, Any]]:
    check_filters(filters)
    clauses: list[dict[str, Any]] = []
    if filters.topics or filters.min_topic_score is not None:
        inner: list[dict[str, Any]] = []
        if filters.topics:
            inner.append({"terms": {"topics.tag": list(filters.topics)}})
        if filters.min_topic_score is not None:
            inner.append({"range": {"topics.score": {"gte": filters.min_topic_score}}})
        # nested: the tag and its score must belong to the same (tag, score) pair.
        clauses.append({"nested": {"path": "topics", "query": {"bool": {"filter": inner}}}})
    for entity in filters.entities:
        clauses.append(
            {
                "bool": {
                    "should": [
                        {"term": {"entity_ids": entity}},
                        {"term": {"entity_names.norm": entity}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    for name, values in (
        ("source.id", filters.sources),
        ("source.country", filters.countries),
        ("language", filters.languages),
    ):
        if values:
            clauses.append({"terms": {name: list(values)}})
    if filters.cluster_id:
        clauses.append({"term": {"cluster_id": filters.cluster_id}})
    start = parse_since(filters.since, now) if filters.since else filters.date_from
    if start or filters.date_to:
        for moment in (start, filters.date_to):
            if moment is not None and moment.tzinfo is None:
                raise QueryError("dates need a time zone, e.g. 2018-03-01T00:00:00+00:00")
        bounds = {"gte": start.isoformat() if start else None}
        bounds["lte"] = filters.date_to.isoformat() if filters.date_to else None
        clauses.append({"range": {"published_at": {k: v for k, v in bounds.items() if v}}})
    return clauses


def build_query(query: str, filters: Filters, now: datetime) -> dict[str, Any]:
    """The ``query`` clause for an analyst query plus filters (search, backtest, percolator)."""
    node = parse_query(query)
    clauses = filter_clauses(filters, now)
    if node is None and not clauses:
        return {"match_all": {}}
    body: dict[str, Any] = {"filter": clauses}
    if node is not None:
        body["must"] = [compile_node(node)]
    return {"bool": body}
