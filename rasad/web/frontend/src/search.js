// The search page: query box, filters, facets, highlighted results, article detail.
import { api, query } from "./api.js";
import { el, fill, formatDate, formatNumber, highlighted, safeLink } from "./dom.js";
import { entityLink } from "./entity.js";
import { entityType, entityTypePlural, topicName } from "./i18n.js";
const SINCE = [
  ["", "كل الأوقات"],
  ["24h", "آخر ٢٤ ساعة"],
  ["7d", "آخر ٧ أيام"],
  ["30d", "آخر ٣٠ يومًا"],
  ["365d", "آخر سنة"],
];

export function renderSearch(root, { showError, params }) {
  const state = { q: "", topic: [], entity: [], source: [], country: [], since: "", sort: "relevance" };
  const input = el("input", {
    type: "search", name: "q", placeholder: "ابحث: كلمات، \"عبارة\"، AND، OR، NOT", autofocus: true,
  });
  const since = el("select", { name: "since" }, SINCE.map(([v, t]) => el("option", { value: v }, t)));
  const sort = el(
    "select",
    { name: "sort" },
    el("option", { value: "relevance" }, "الأكثر صلة"),
    el("option", { value: "newest" }, "الأحدث"),
    el("option", { value: "oldest" }, "الأقدم"),
  );
  const form = el("form", { class: "searchbar", role: "search" }, input, since, sort,
    el("button", { type: "submit" }, "بحث"));
  const chips = el("div", { class: "chips" });
  const facets = el("aside", { class: "facets" });
  const summary = el("p", { class: "muted", id: "result-summary" });
  const results = el("ol", { class: "results", id: "results" });
  const more = el("button", { type: "button", class: "ghost", hidden: true }, "المزيد");
  const detail = el("section", { class: "detail", id: "detail", hidden: true });
  fill(root, form, chips,
    el("div", { class: "search-layout" }, facets, el("section", {}, summary, results, more), detail));

  let cursor = null;

  async function run(append = false) {
    try {
      const data = await api(`/api/search${query({
        q: state.q, topic: state.topic, entity: state.entity, source: state.source,
        country: state.country, since: state.since, sort: state.sort,
        cursor: append ? cursor : "",
      })}`);
      cursor = data.next_cursor;
      more.hidden = !cursor;
      // Totals are exact up to a bound (the API says "gte" past it): "at least" then.
      const atLeast = data.total_relation === "gte" ? "أكثر من " : "";
      fill(summary, `${atLeast}${formatNumber(data.total)} نتيجة`);
      if (!append) results.replaceChildren();
      for (const hit of data.hits) results.append(resultItem(hit));
      if (!append) renderFacets(data.facets || {});
      renderChips();
    } catch (error) {
      showError(error);
    }
  }

  function toggle(field, value) {
    const list = state[field];
    const at = list.indexOf(value);
    if (at >= 0) list.splice(at, 1);
    else list.push(value);
    run();
  }

  function renderChips() {
    fill(chips, ...["topic", "entity", "source", "country"].flatMap((field) =>
      state[field].map((value) =>
        el("button", { type: "button", class: "chip", onclick: () => toggle(field, value) },
          `${field === "topic" ? topicName(value) : value} ✕`))));
  }

  // Topics by their name in the chosen language; an entity also links to its page.
  function facetList(title, field, buckets) {
    if (!buckets || !buckets.length) return null;
    const label = (b) => (field === "topic" ? topicName(b.key) : b.key);
    return el("div", { class: "facet" }, el("h3", {}, title), el("ul", {}, buckets.map((b) =>
      el("li", {}, el("button", {
        type: "button", class: state[field].includes(b.key) ? "facet-on" : "",
        onclick: () => toggle(field, b.key),
      }, el("span", {}, label(b)), el("span", { class: "count" }, formatNumber(b.count))),
      field === "entity" ? entityLink(b.key, "↗") : null))));
  }

  function renderFacets(f) {
    fill(facets,
      facetList("المواضيع", "topic", f.topics),
      facetList("المصادر", "source", f.sources),
      facetList("الدول", "country", f.countries),
      Object.entries(f.entities || {}).map(([type, buckets]) =>
        facetList(entityTypePlural(type), "entity", buckets)));
  }

  function resultItem(hit) {
    const hl = hit.highlights || {};
    const title = hl.title?.length ? highlighted(hl.title[0]) : hit.title;
    const snippets = [...(hl.summary || []), ...(hl.body || [])].slice(0, 2);
    return el("li", { class: "result", dataset: { id: hit.id } },
      el("h2", {}, el("a", { href: `#/search/${encodeURIComponent(hit.id)}`, onclick: (e) => {
        e.preventDefault();
        openArticle(hit.id);
      } }, title)),
      el("p", { class: "meta" }, hit.source?.name || "", " · ", formatDate(hit.published_at),
        (hit.topics || []).map((t) => el("span", { class: "tag" }, topicName(t.tag)))),
      snippets.length
        ? el("p", { class: "snippet" }, snippets.map((s) => [highlighted(s), " … "]))
        : el("p", { class: "snippet" }, hit.summary || ""));
  }

  async function openArticle(id) {
    try {
      const a = await api(`/api/articles/${encodeURIComponent(id)}`);
      detail.hidden = false;
      fill(detail,
        el("button", { type: "button", class: "ghost close", onclick: () => { detail.hidden = true; } }, "إغلاق ✕"),
        el("h2", {}, a.title),
        el("p", { class: "meta" }, a.source?.name || "", " · ", formatDate(a.published_at), " · ",
          safeLink(a.url, "المصدر الأصلي")),
        el("p", {}, a.summary || ""),
        a.body && a.body !== a.summary ? el("div", { class: "body" }, a.body) : null,
        el("h3", {}, "الكيانات"),
        el("ul", { class: "entities" }, (a.entities || []).map((e) =>
          el("li", {}, entityLink(e.id, e.name), ` (${entityType(e.type)}) `,
            el("button", { type: "button", class: "chip", onclick: () => toggle("entity", e.name) }, "تصفية")))),
        el("h3", {}, "المواضيع"),
        el("ul", { class: "tags" }, (a.topics || []).map((t) =>
          el("li", { class: "tag" }, `${topicName(t.tag)} ${formatNumber(Math.round(t.score * 100))}٪`))),
        el("h3", {}, "التغطية نفسها في مصادر أخرى"),
        (a.siblings || []).length
          ? el("ul", { class: "siblings" }, a.siblings.map((s) => el("li", {},
            el("a", { href: "#", onclick: (e) => { e.preventDefault(); openArticle(s.id); } }, s.title),
            el("span", { class: "muted" }, ` — ${s.source?.name || ""} · ${formatDate(s.published_at)}`))))
          : el("p", { class: "muted" }, "لا توجد"));
    } catch (error) {
      showError(error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = input.value.trim();
    state.since = since.value;
    state.sort = sort.value;
    run();
  });
  more.addEventListener("click", () => run(true));
  if (params[0]) openArticle(decodeURIComponent(params[0]));
  run();
  return () => {};
}
