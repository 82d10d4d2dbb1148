// The last reprocess (`rasad reprocess`, GET /api/reprocess/last): what it selected, how its
// articles came out, and its diff: per tag and per entity type the articles gained and lost,
// and examples with their title, old -> new tags and the evidence.
import { api } from "./api.js";
import { el, fill, formatDate, formatNumber } from "./dom.js";
import { entityTypePlural, topicName } from "./i18n.js";

const OUTCOMES = { changed: "تغيّر", unchanged: "لم يتغيّر", stale: "نسخة أحدث مفهرسة", failed: "فشل" };
const DIRECTIONS = { gained: "اكتسب", lost: "فقد" };

function card(title, id, ...body) {
  return el("section", { class: "card", id }, el("h2", {}, title), ...body);
}

function selection(params) {
  const parts = [
    params.query && `الاستعلام: ${params.query}`,
    params.source && `المصدر: ${params.source}`,
    params.since && `منذ: ${params.since}`,
    params.sample && `عينة: ${formatNumber(params.sample)}`,
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : "كل المقالات المخزنة";
}

/** Gained and lost per key (a tag or an entity type), named by ``name``. */
function counts(rows, name, id) {
  const entries = Object.entries(rows);
  if (!entries.length) return el("p", { class: "muted", id }, "لا تغيير");
  return el("table", { id }, el("thead", {}, el("tr", {},
    ["", "اكتسب", "فقد"].map((h) => el("th", {}, h)))),
  el("tbody", {}, entries.map(([key, c]) => el("tr", { dataset: { key } },
    el("td", {}, name(key)),
    el("td", { class: "gained" }, `+${formatNumber(c.gained)}`),
    el("td", { class: "lost" }, `−${formatNumber(c.lost)}`)))));
}

const tagList = (tags) => (tags.length ? tags.map(topicName).join("، ") : "—");

function example(ex) {
  return el("li", { dataset: { tag: ex.tag, direction: ex.direction } },
    el("a", { href: `#/search/${encodeURIComponent(ex.article_id)}` }, ex.title),
    el("p", { class: "meta" }, `${DIRECTIONS[ex.direction]} «${topicName(ex.tag)}»: `,
      tagList(ex.old), " ← ", tagList(ex.new)),
    ex.evidence.length ? el("p", { class: "meta" }, "الدليل: ", ex.evidence.join("، ")) : null);
}

function show(root, run) {
  const report = run.report;
  const outcomes = Object.entries(report.outcomes)
    .map(([k, n]) => `${OUTCOMES[k] || k}: ${formatNumber(n)}`).join(" · ");
  fill(root,
    el("header", { class: "entity-header", id: "reprocess-header" },
      el("h1", {}, "آخر إعادة معالجة"),
      el("p", { class: "meta" }, run.id, " · ", formatDate(run.started_at), " ← ",
        formatDate(run.finished_at)),
      el("p", { class: "meta" }, selection(run.params), " · ",
        `${formatNumber(report.articles)} مقالًا`),
      el("p", { class: "meta", id: "reprocess-outcomes" }, outcomes)),
    el("div", { class: "grid" },
      card("المواضيع: مقالات اكتسبتها أو فقدتها", "reprocess-tags-card",
        counts(report.tags, topicName, "reprocess-tags")),
      card("الكيانات: مقالات اكتسبت أو فقدت كيانًا", "reprocess-entities-card",
        counts(report.entity_types, entityTypePlural, "reprocess-entities")),
      card("أمثلة", "reprocess-examples-card", report.examples.length
        ? el("ol", { class: "live", id: "reprocess-examples" }, report.examples.map(example))
        : el("p", { class: "muted" }, "لا أمثلة"))));
}

export function renderReprocess(root, { showError }) {
  fill(root, el("p", { class: "muted" }, "…"));
  api("/api/reprocess/last").then(({ run }) => {
    if (run) show(root, run);
    else fill(root, el("p", { class: "muted", id: "reprocess-none" }, "لم تكتمل أي إعادة معالجة بعد."));
  }).catch(showError);
}
