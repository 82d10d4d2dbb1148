// The entity page (#/entity/<id or name>): mentions over time, the entities mentioned with it,
// the sources and topics covering it and its newest articles (GET /api/entities/{id}).
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { api } from "./api.js";
import { el, fill, formatDate, formatNumber } from "./dom.js";
import { entityType, formatAxisDate, topicName } from "./i18n.js";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** A link to an entity's page from anything that shows its id or name. */
export function entityLink(key, text = key) {
  return el("a", { href: `#/entity/${encodeURIComponent(key)}`, class: "entity-link" }, text);
}

/**
 * Counts as bars ([[iso, count]…] per series), stacked when there are several: each bar is a
 * count, nothing is drawn between them. Axis and tooltip dates and numbers follow the language.
 */
export function drawBars(chart, series, interval) {
  const hourly = /h|hour|minute/.test(String(interval || ""));
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: (v) => formatNumber(v ?? 0) },
    legend: { type: "scroll", top: 0 },
    grid: { top: 40, left: 50, right: 20, bottom: 30 },
    xAxis: { type: "time", axisLabel: { formatter: (v) => formatAxisDate(v, hourly) } },
    yAxis: { type: "value", position: "right", minInterval: 1,
      axisLabel: { formatter: (v) => formatNumber(v) } },
    series: series.map((s) => ({
      name: s.name, type: "bar", stack: "total", barMaxWidth: 24, data: s.points,
    })),
  }, true);
}

function card(title, ...body) {
  return el("section", { class: "card" }, el("h2", {}, title), ...body);
}

function counted(rows, label) {
  return rows.length
    ? el("ul", { class: "counted" }, rows.map((r) => el("li", {}, label(r), " ",
      el("span", { class: "count" }, formatNumber(r.count)))))
    : el("p", { class: "muted" }, "لا يوجد");
}

export function renderEntity(root, { showError, params }) {
  const key = decodeURIComponent(params[0] || "");
  const header = el("header", { class: "entity-header", id: "entity-header" }, "…");
  const chartBox = el("div", { class: "chart", id: "entity-chart" });
  const companions = el("div", { id: "entity-companions" });
  const sources = el("div", { id: "entity-sources" });
  const topics = el("div", { id: "entity-topics" });
  const recent = el("ol", { class: "live", id: "entity-recent" });
  fill(root, header, el("div", { class: "grid" },
    card("الإشارات عبر الزمن", chartBox),
    card("كيانات ذُكرت معه", companions),
    card("المصادر التي تغطيه", sources),
    card("المواضيع", topics),
    card("أحدث المقالات", recent)));
  const chart = echarts.init(chartBox, null, { renderer: "canvas" });
  const resize = () => chart.resize();
  window.addEventListener("resize", resize);

  api(`/api/entities/${encodeURIComponent(key)}`).then((page) => {
    fill(header, el("h1", {}, page.name),
      el("p", { class: "meta" }, entityType(page.type), page.name_en ? ` · ${page.name_en}` : "",
        " · ", `${formatNumber(page.articles)} مقالًا`));
    chartBox.dataset.points = String(page.timeline.length);
    chartBox.dataset.kind = "bar";
    drawBars(chart, [{ name: page.name, points: page.timeline }], page.interval);
    fill(companions, counted(page.co_mentioned, (e) =>
      [entityLink(e.id, e.name || e.id), el("span", { class: "muted" }, ` (${entityType(e.type)})`)]));
    fill(sources, counted(page.sources, (s) => s.name));
    fill(topics, counted(page.topics, (t) => topicName(t.key)));
    fill(recent, page.recent.map((a) => el("li", {},
      el("a", { href: `#/search/${encodeURIComponent(a.id)}` }, a.title),
      el("span", { class: "muted" }, ` — ${a.source?.name || ""} · ${formatDate(a.published_at)}`))));
  }).catch(showError);

  return () => {
    window.removeEventListener("resize", resize);
    chart.dispose();
  };
}
