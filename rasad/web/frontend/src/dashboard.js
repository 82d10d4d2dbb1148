// The dashboard: volume per topic (ECharts), top and rising entities/topics, source activity
// with feed health, recent alert hits, and a live feed that updates without reload.
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { api, followLive, query } from "./api.js";
import { el, fill, formatDate, formatNumber } from "./dom.js";
import { drawBars, entityLink } from "./entity.js";
import { entityType, risingName, topicName } from "./i18n.js";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// Items kept in the live list: enough to glance at, small enough to stay fast for hours.
const LIVE_MAX = 50;
const PERIODS = [["24h", "٢٤ ساعة"], ["7d", "٧ أيام"], ["30d", "٣٠ يومًا"], ["365d", "سنة"], ["all", "الكل"]];
const HEALTH = { ok: "سليم", failing: "يتعثر", dead: "متوقف", silent: "صامت", disabled: "معطّل", "no-source": "بلا مصدر", unknown: "غير معروف" };

function card(title, ...body) {
  return el("section", { class: "card" }, el("h2", {}, title), ...body);
}

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

export function renderDashboard(root, { showError }) {
  const period = el("select", { name: "period" }, PERIODS.map(([v, t]) => el("option", { value: v }, t)));
  // The last 7 days of the data: periods end at the newest article (anchor=latest), so a
  // replayed archive shows its last week, not an empty one.
  period.value = "7d";
  const by = el("select", { name: "by" },
    el("option", { value: "topic" }, "حسب الموضوع"),
    el("option", { value: "source" }, "حسب المصدر"),
    el("option", { value: "country" }, "حسب الدولة"));
  const chartBox = el("div", { class: "chart", id: "volume-chart" });
  const topEntities = el("div", { id: "top-entities" });
  const rising = el("div", { id: "rising" });
  const sources = el("div", { id: "sources" });
  const hits = el("ol", { class: "live", id: "alert-hits" });
  const live = el("ol", { class: "live", id: "live-feed" });
  const liveState = el("span", { class: "muted", id: "live-state" }, "…");
  fill(root,
    el("div", { class: "toolbar" }, period, by),
    el("div", { class: "grid" },
      card("حجم التغطية عبر الزمن", chartBox),
      card("مباشر", liveState, live),
      card("أبرز الكيانات", topEntities),
      card("الصاعد مقارنة بالفترة السابقة", rising),
      card("نشاط المصادر وصحة الخلاصات", sources),
      card("آخر إشعارات التنبيهات", hits)));

  const chart = echarts.init(chartBox, null, { renderer: "canvas" });
  const resize = () => chart.resize();
  window.addEventListener("resize", resize);

  async function load() {
    const since = period.value === "all" ? "" : period.value;
    try {
      const [volume, top, up, activity, health, recent] = await Promise.all([
        api(`/api/stats/volume${query({ by: by.value, since, anchor: "latest" })}`),
        api(`/api/stats/top-entities${query({ since, anchor: "latest" })}`),
        api(`/api/stats/rising${query({ since: since || "7d" })}`),
        api(`/api/stats/sources${query({ since, anchor: "latest" })}`),
        api("/api/feeds/health").catch(() => ({ feeds: [] })),
        api("/api/alerts/hits?size=20").catch(() => ({ hits: [] })),
      ]);
      drawVolume(volume);
      fill(topEntities, table(["الكيان", "النوع", "المقالات"],
        top.entities.map((e) => [entityLink(e.name), entityType(e.type), formatNumber(e.count)])));
      fill(rising, table(["", "الفترة الحالية", "السابقة", "التغير"],
        [...up.topics, ...up.entities].map((r) => [r.kind === "topic" ? risingName(r) : entityLink(r.key),
          formatNumber(r.current), formatNumber(r.previous),
          r.previous ? `×${formatNumber(Number((r.current / r.previous).toFixed(1)))}` : "جديد"])));
      const healthById = new Map(health.feeds.map((f) => [f.source_id, f]));
      fill(sources, table(["المصدر", "المقالات", "آخر مقال", "الخلاصة"],
        activity.sources.map((s) => {
          const h = healthById.get(s.key);
          return [s.name || s.key, formatNumber(s.count), formatDate(s.latest),
            el("span", { class: `health ${h?.state || "unknown"}` }, HEALTH[h?.state || "unknown"] || h?.state)];
        })));
      fill(hits, recent.hits.map(hitItem));
    } catch (error) {
      showError(error);
    }
  }

  // Counts as stacked bars, one per interval: nothing drawn between two counts that is not
  // a count (no smoothing, no interpolation).
  function drawVolume(volume) {
    chartBox.dataset.series = String(volume.series.length);
    chartBox.dataset.points = String(volume.series.reduce((n, s) => n + s.points.length, 0));
    chartBox.dataset.kind = "bar";
    const label = (key) => (by.value === "topic" ? topicName(key) : key);
    drawBars(chart, volume.series.map((s) => ({ name: label(s.key), points: s.points })), volume.interval);
  }

  // One alert hit (indexers/alerts/model.py AlertHit): live from the stream, or from the history.
  function hitItem(hit) {
    return el("li", { class: "hit", dataset: { key: hit.key } },
      el("strong", {}, hit.alert_name), " — ",
      el("a", { href: `#/search/${encodeURIComponent(hit.article_id)}` }, hit.title),
      el("span", { class: "muted" }, ` · ${hit.source_name} · ${formatDate(hit.matched_at)}`));
  }

  function articleItem(a) {
    return el("li", {},
      el("a", { href: `#/search/${encodeURIComponent(a.id)}` }, a.title),
      el("span", { class: "muted" }, ` — ${a.source?.name || ""} · ${formatDate(a.published_at)}`),
      (a.topics || []).map((t) => el("span", { class: "tag" }, topicName(t.tag ?? t))));
  }

  function prepend(list, item) {
    list.prepend(item);
    while (list.children.length > LIVE_MAX) list.lastChild.remove();
  }

  const stop = followLive((type, data) => {
    if (type === "article") prepend(live, articleItem(data));
    else if (type === "alert_hit") prepend(hits, hitItem(data));
  }, (state) => {
    liveState.textContent = state === "open" ? "متصل" : "انقطع الاتصال، إعادة المحاولة…";
    liveState.dataset.state = state;
  });

  period.addEventListener("change", load);
  by.addEventListener("change", load);
  load();
  return () => {
    stop();
    window.removeEventListener("resize", resize);
    chart.dispose();
  };
}
