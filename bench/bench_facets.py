"""What a search's engine requests cost, variant against variant, on an existing index.

    RASAD_ENGINE_URL=http://127.0.0.1:29200 .venv/bin/python bench/bench_facets.py \
        --prefix bench_year --searches 40 --after-refresh 6

For each search of the analyst mix (search_mix.py) every variant of the summary request (total,
facets, histogram) and of the page request (hits, highlights) is sent back to back, in an order
that rotates from one search to the next, with the engine's request cache off; the figure is the
engine's own ``took``. On a shared, loaded machine absolute times move with the load, so the
figure to read is each variant's time over the shipped request's for the same search (median of
the per-search ratios). ``--after-refresh`` also times the first summary after a refresh that
made new documents visible (the facet fields' global ordinals are then rebuilt by the first
request that needs them), alternating the shipped sampler and the value-keyed one. Prints
figures, asserts nothing; the index is only read (and refreshed).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from measure import loadavg
from search_mix import query_mix, search_request

from indexers.search.searcher import hits_body, search_now, summary_body
from rasad.core.engine.client import Engine, EngineUnavailable
from rasad.core.settings import Settings

Body = dict[str, Any]
# A refresh writing a bulk load's buffer can outlast the client's 30 s timeout on a busy box.
REFRESH_ATTEMPTS = 10


def _sampled(body: Body) -> dict[str, Any]:
    sample: dict[str, Any] = body.get("aggs", {}).get("sample", {})
    return sample


def shard_size(size: int) -> Callable[[Body], Body]:
    def variant(body: Body) -> Body:
        if _sampled(body):
            _sampled(body)["sampler"]["shard_size"] = size
        return body

    return variant


def by_value(body: Body) -> Body:
    """The sampled terms facets counted by value (no global ordinals): the sample is small."""
    for agg in _sampled(body).get("aggs", {}).values():
        terms = agg["aggs"]["tags"]["terms"] if "nested" in agg else agg["terms"]
        terms["execution_hint"] = "map"
    return body


def unscored(body: Body) -> Body:
    """The query in filter context: the sampler keeps the first matches, none is scored."""
    body["query"] = {"constant_score": {"filter": body["query"]}}
    return body


def no_facets(body: Body) -> Body:
    body.get("aggs", {}).pop("sample", None)
    return body


def no_highlight(body: Body) -> Body:
    body.pop("highlight", None)
    return body


SUMMARY: dict[str, Callable[[Body], Body]] = {
    "shipped": lambda body: body,
    "sample 500": shard_size(500),
    "sample 200": shard_size(200),
    "by value": by_value,
    "unscored": unscored,
    "no facets": no_facets,
}
PAGE: dict[str, Callable[[Body], Body]] = {
    "shipped": lambda body: body,
    "no highlight": no_highlight,
}


async def took(engine: Engine, index: str, body: Body) -> float:
    answer = await engine.request(
        "POST", f"/{index}/_search", body=body, params={"request_cache": "false"}
    )
    return float(answer["took"])


async def compare(
    engine: Engine,
    index: str,
    bodies: list[Body],
    variants: dict[str, Callable[[Body], Body]],
) -> dict[str, list[float]]:
    """Each body sent as every variant, the order rotating per body; took per variant."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for turn, body in enumerate(bodies):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        for name in order:
            times[name].append(await took(engine, index, variants[name](copy.deepcopy(body))))
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    base = times["shipped"]
    print(f"{title} (engine took, ms; ratio = median over searches of variant / shipped):")
    for name, values in times.items():
        ratios = [v / max(b, 1.0) for v, b in zip(values, base, strict=True)]
        cuts = statistics.quantiles(values, n=20)
        print(
            f"  {name:<13} p50 {statistics.median(values):7.0f}  p95 {cuts[18]:7.0f}  "
            f"ratio {statistics.median(ratios):5.2f}"
        )


async def refreshed(engine: Engine, index: str) -> None:
    """A refresh, asked again while a loaded engine outlasts the client's timeout."""
    for attempt in range(REFRESH_ATTEMPTS):
        try:
            await engine.refresh(index)
            return
        except EngineUnavailable:
            if attempt == REFRESH_ATTEMPTS - 1:
                raise


async def after_refresh(engine: Engine, index: str, bodies: list[Body], rounds: int) -> None:
    """The first summary after each refresh, alternating shipped and by-value facets."""
    firsts: dict[str, list[float]] = {"shipped": [], "by value": []}
    for turn in range(rounds):
        name = list(firsts)[turn % 2]
        await refreshed(engine, index)
        variant = SUMMARY[name]
        firsts[name].append(await took(engine, index, variant(copy.deepcopy(bodies[turn]))))
    for name, values in firsts.items():
        print(f"  first summary after a refresh, {name:<9}: {sorted(values)} ms")


async def run(settings: Settings, searches: int, rounds: int) -> None:
    async with await Engine.connect(settings) as engine:
        index = settings.articles_read_alias
        print(f"{await engine.count(index):,} articles in {index}; load average {loadavg()}")
        now = search_now(datetime.now(UTC))
        mix = await query_mix(engine, settings, 4 * searches, seed=searches)
        requests = [search_request(p) for p in mix if "page" not in p][:searches]
        summaries = [summary_body(r, now) for r in requests]
        pages = [hits_body(r, now) for r in requests]
        report(
            "summary (total, facets, histogram)", await compare(engine, index, summaries, SUMMARY)
        )
        report("page of hits", await compare(engine, index, pages, PAGE))
        if rounds:
            await after_refresh(engine, index, summaries, rounds)
        print(f"load average at end: {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="rasad", help="index prefix of the measured index")
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--after-refresh", type=int, default=0, help="refresh rounds to time")
    args = parser.parse_args()
    asyncio.run(run(Settings(index_prefix=args.prefix), args.searches, args.after_refresh))


if __name__ == "__main__":
    main()
