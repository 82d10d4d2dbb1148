"""Article index templates, time-based indices and their aliases: versioned and idempotent.

Layout (``P`` = ``settings.index_prefix``, ``N`` = the mapping generation)::

    P-articles-vN-2017, P-articles-vN-2018, …   one index per UTC publication year (v1: month)
    P-articles         read alias over every index of the live generation
    P-articles-write   write alias over the same indices: it names the generation writers use

Writers route each article to the year of its ``published_at`` (see ``documents.article_index``)
so a replay or a newer version always lands on the index holding the older one: external
versioning only protects within one index. The write alias spans many indices with no write
index, so nothing can write "through" it by mistake; the sink reads the generation from it.

A new mapping is a new generation: bump ``TEMPLATE_VERSION``, run ``rasad index-migrate``,
which builds vN+1 indices beside the old ones, reindexes behind the aliases, swaps both aliases
in one atomic step and reindexes whatever arrived meanwhile (external versions make the overlap
harmless). The old generation stays until an operator deletes it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from indexers.index.analysis import SYNONYM_FILTER, analysis_settings
from indexers.index.documents import article_index
from rasad.core.engine.client import Engine
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

# 2: one index per publication year instead of per month (see documents.article_index).
TEMPLATE_VERSION = 2
# Above the engines' built-in templates (priority 0-100) so ours wins on our own patterns.
TEMPLATE_PRIORITY = 200
# Lucene refuses terms over 32,766 bytes; Arabic takes 2 bytes a character in UTF-8, so 8,191
# characters is the longest value that can never trip it. Longer values are kept, unindexed.
URL_IGNORE_ABOVE = 8191
# Names and tags longer than this are extraction noise, not something anyone filters on.
NAME_IGNORE_ABOVE = 256


class TemplateVersionError(RuntimeError):
    """The cluster holds a newer mapping generation than this code knows: refuse to downgrade."""


def text_field(offsets: bool = False) -> dict[str, Any]:
    """Analysed Arabic text with an unstemmed ``exact`` sub-field for quoted phrases.

    Shared with the alert percolator index so alerts analyse text exactly like articles.
    ``offsets`` stores term offsets so highlighting a long field reads them instead of
    re-analysing the text of every hit (about 10% more index for a much cheaper highlight).
    """
    exact: dict[str, Any] = {
        "type": "text",
        "analyzer": "rasad_exact",
        "search_analyzer": "rasad_exact_search",
    }
    field: dict[str, Any] = {
        "type": "text",
        "analyzer": "rasad_arabic",
        "search_analyzer": "rasad_arabic_search",
        "fields": {"exact": exact},
    }
    if offsets:
        field["index_options"] = exact["index_options"] = "offsets"
    return field


def _keyword(ignore_above: int = NAME_IGNORE_ABOVE, normalized: bool = False) -> dict[str, Any]:
    """A keyword; ``normalized`` adds a ``norm`` sub-field folded like Arabic text (hamza, ة/ه,
    diacritics) for filters, while the field itself keeps the name as written for facets."""
    field: dict[str, Any] = {"type": "keyword", "ignore_above": ignore_above}
    if normalized:
        field["fields"] = {
            "norm": {"type": "keyword", "normalizer": "rasad_keyword", "ignore_above": ignore_above}
        }
    return field


def article_mappings() -> dict[str, Any]:
    """The article mapping (``dynamic: strict``: an unknown field is an error, never a guess)."""
    name = _keyword(normalized=True)
    date = {"type": "date"}
    return {
        "dynamic": "strict",
        "properties": {
            "id": _keyword(),
            "url": _keyword(URL_IGNORE_ABOVE),
            "canonical_url": _keyword(URL_IGNORE_ABOVE),
            "title": text_field(),
            "summary": text_field(),
            "body": text_field(offsets=True),
            "body_kind": _keyword(),
            "source": {
                "properties": {
                    "id": _keyword(),
                    "name": _keyword(),
                    "country": _keyword(),
                    "kind": _keyword(),
                }
            },
            "feed_url": _keyword(URL_IGNORE_ABOVE),
            "language": _keyword(),
            "script": _keyword(),
            "feed_language": _keyword(),
            "authors": name,
            "categories": name,
            "image_url": {"type": "keyword", "index": False, "doc_values": False},
            "content_hash": {"type": "keyword", "index": False},
            # integer, not long: versions count content changes; 2^31 of them is corrupt data.
            "version": {"type": "integer"},
            "published_at": date,
            "date_flag": _keyword(),
            "fetched_at": date,
            "enriched_at": date,
            "indexed_at": date,
            "entity_per": name,
            "entity_org": name,
            "entity_loc": name,
            "entity_ids": _keyword(),
            "entity_names": name,
            # Display copy for the API; the indexed forms are the entity_* fields above.
            "entities": {"type": "object", "enabled": False},
            # Display copy of the tags with their evidence: what a reprocess diff shows as "old".
            "topic_evidence": {"type": "object", "enabled": False},
            "enrichment": {
                "properties": {
                    "id": _keyword(),
                    "code": _keyword(),
                    "run": _keyword(),
                    "files": {"type": "object", "enabled": False},
                }
            },
            "cluster_first_seen": date,
            "topics": {
                "type": "nested",
                "properties": {"tag": _keyword(), "score": {"type": "float"}},
            },
            "cluster_id": _keyword(),
            "exact_duplicate": {"type": "boolean"},
        },
    }


def generation(settings: Settings, version: int = TEMPLATE_VERSION) -> str:
    """Name stem of one mapping generation's indices, e.g. ``rasad-articles-v2``."""
    return f"{settings.index_prefix}-articles-v{version}"


def generation_version(index: str) -> int:
    """The generation number in an index name like ``rasad-articles-v2-2018``."""
    return int(index.rsplit("-", 1)[0].rsplit("-v", 1)[1])


def template_name(settings: Settings, version: int = TEMPLATE_VERSION) -> str:
    return generation(settings, version)


def template_body(
    settings: Settings,
    version: int = TEMPLATE_VERSION,
    synonyms: list[str] | None = None,
    with_aliases: bool = True,
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "settings": {
            "index": {
                "number_of_shards": settings.index_shards,
                "number_of_replicas": settings.index_replicas,
                "refresh_interval": settings.index_refresh_interval,
            },
            "analysis": analysis_settings(synonyms),
        },
        "mappings": article_mappings(),
    }
    if with_aliases:
        template["aliases"] = {settings.articles_read_alias: {}, settings.articles_write_alias: {}}
    digest = hashlib.sha256(orjson.dumps(template, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return {
        "index_patterns": [f"{generation(settings, version)}-*"],
        "priority": TEMPLATE_PRIORITY,
        "version": version,
        "template": template,
        # The hash lets setup tell "already up to date" from "changed" without diffing the
        # engine's normalised copy of the settings.
        "_meta": {"rasad": "articles", "hash": digest[:16]},
    }


async def _put_template_if_changed(engine: Engine, name: str, body: dict[str, Any]) -> bool:
    existing = await engine.get_index_template(name)
    if existing and existing.get("_meta", {}).get("hash") == body["_meta"]["hash"]:
        return False
    await engine.put_index_template(name, body)
    return True


async def write_generation(engine: Engine, settings: Settings) -> str | None:
    """The generation the write alias names, or None before the first setup."""
    indices = await engine.get_alias(settings.articles_write_alias)
    if not indices:
        return None
    newest = max(indices, key=generation_version)
    return newest.rsplit("-", 1)[0]


async def ensure_index_setup(engine: Engine, settings: Settings) -> list[str]:
    """Create or update the template and the first index; returns what was done.

    Safe on every start: an unchanged template is left alone, an existing index is kept.
    """
    done: list[str] = []
    name = template_name(settings)
    existing = await engine.get_index_template(name)
    newer = [
        t
        for t in await engine.get_alias(settings.articles_write_alias)
        if generation_version(t) > TEMPLATE_VERSION
    ]
    if newer:
        raise TemplateVersionError(
            f"{settings.articles_write_alias} points at {newer[0]}, newer than this code's "
            f"mapping v{TEMPLATE_VERSION}; upgrade Rasad instead of running an older setup"
        )
    body = template_body(settings)
    if await _put_template_if_changed(engine, name, body):
        done.append(f"{'updated' if existing else 'created'} index template {name}")
        gen_pattern = f"{generation(settings)}-*"
        if existing and await engine.cat_indices(gen_pattern):
            # Dynamic settings follow the template onto the existing indices.
            await engine.put_settings(
                gen_pattern,
                {
                    "index": {
                        "number_of_replicas": settings.index_replicas,
                        "refresh_interval": settings.index_refresh_interval,
                    }
                },
            )
    if await engine.cat_indices(f"{generation(settings)}-*"):
        # Fields added to this generation's mapping reach its existing indices (additive only).
        await engine.put_mapping(f"{generation(settings)}-*", article_mappings())
    current = await write_generation(engine, settings)
    if current is None:
        first = article_index(generation(settings), datetime.now(UTC))
        if await engine.create_index(first):
            done.append(f"created index {first} behind {settings.articles_read_alias}")
    elif current != generation(settings):
        done.append(
            f"{settings.articles_write_alias} is on {current}; run `rasad index-migrate` to "
            f"move to {generation(settings)}"
        )
    await engine.health(wait_for_status="yellow")
    return done


def _route_script(gen: str) -> dict[str, Any]:
    # Reindex writes one destination index per request; the script sends each document to the
    # index of its published_at instead, exactly as documents.article_index does (the stored
    # published_at is UTC ISO 8601, so its first 4 or 7 characters are the year or month).
    monthly = generation_version(f"{gen}-x") == 1
    return {
        "lang": "painless",
        "source": "ctx._index = params.gen + '-' + "
        "ctx._source.published_at.substring(0, params.chars).replace('-', '.')",
        "params": {"gen": gen, "chars": 7 if monthly else 4},
    }


async def migrate(
    engine: Engine, settings: Settings, to_version: int = TEMPLATE_VERSION
) -> list[str]:
    """Move the aliases to generation ``to_version`` by reindexing behind them."""
    source = await write_generation(engine, settings)
    target = generation(settings, to_version)
    if source is None:
        return await ensure_index_setup(engine, settings)
    if source == target:
        return []
    started = datetime.now(UTC)
    name = template_name(settings, to_version)
    # Until the swap, new indices of the target must stay out of the aliases (no duplicates).
    await engine.put_index_template(name, template_body(settings, to_version, with_aliases=False))
    copy_body: dict[str, Any] = {
        "source": {"index": f"{source}-*"},
        "dest": {"index": target, "version_type": "external"},
        "script": _route_script(target),
        "conflicts": "proceed",
    }
    copied = await engine.reindex(copy_body)
    await engine.refresh(f"{target}-*")
    actions: list[dict[str, Any]] = []
    for alias in (settings.articles_read_alias, settings.articles_write_alias):
        actions.append({"remove": {"index": f"{source}-*", "alias": alias}})
        actions.append({"add": {"index": f"{target}-*", "alias": alias}})
    await engine.update_aliases(actions)
    await engine.put_index_template(name, template_body(settings, to_version))
    # Writers that had not yet seen the alias move wrote to the source: copy those across.
    catch_up = dict(copy_body)
    catch_up["source"] = {
        "index": f"{source}-*",
        "query": {"range": {"indexed_at": {"gte": started.isoformat()}}},
    }
    late = await engine.reindex(catch_up)
    log.info("articles migrated", source=source, target=target, copied=copied.get("total"))
    return [
        f"reindexed {copied.get('total', 0)} articles from {source} to {target}",
        f"moved {settings.articles_read_alias} and {settings.articles_write_alias} to {target}",
        f"caught up {late.get('total', 0)} articles written during the move",
    ]


async def reload_synonyms(
    engine: Engine, settings: Settings, synonyms: list[str] | None = None
) -> list[str]:
    """Apply a new synonym set to the template and to every live index.

    Analysis settings can only change on a closed index, so each index is closed, updated and
    reopened in turn: it is unsearchable for about a second, and the sink treats writes to a
    closed index as retryable. The alternative, ``updateable`` synonyms, needs the rules as a
    file on every engine node (and a plugin on OpenSearch), which a remote client cannot do.
    """
    gen = await write_generation(engine, settings)
    if gen is None:
        return await ensure_index_setup(engine, settings)
    version = generation_version(f"{gen}-x")
    body = template_body(settings, version, synonyms)
    await engine.put_index_template(template_name(settings, version), body)
    synonym_filter = body["template"]["settings"]["analysis"]["filter"][SYNONYM_FILTER]
    reloaded: list[str] = []
    for index in await engine.get_alias(settings.articles_read_alias):
        await engine.close_index(index)
        try:
            await engine.put_settings(
                index, {"index": {"analysis": {"filter": {SYNONYM_FILTER: synonym_filter}}}}
            )
        finally:
            await engine.open_index(index)
        reloaded.append(index)
    await engine.health(wait_for_status="yellow")
    return reloaded
