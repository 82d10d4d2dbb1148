// The alerts page: create with a backtest preview, edit, pause/resume, delete.
import { api } from "./api.js";
import { el, fill, formatDate, formatNumber } from "./dom.js";

const MODES = { every: "كل مقال مطابق", cluster: "مرة لكل قصة" };

function listField(value) {
  return value.split(/[,،]/).map((s) => s.trim()).filter(Boolean);
}

export function renderAlerts(root, { showError }) {
  const f = {
    name: el("input", { name: "name", required: true, placeholder: "اسم التنبيه" }),
    query: el("input", { name: "query", required: true, placeholder: "الاستعلام، مثل: عقوبات AND إيران" }),
    topics: el("input", { name: "topics", placeholder: "مواضيع (مفصولة بفواصل)" }),
    entities: el("input", { name: "entities", placeholder: "كيانات" }),
    sources: el("input", { name: "sources", placeholder: "مصادر" }),
    mode: el("select", { name: "mode" }, Object.entries(MODES).map(([v, t]) => el("option", { value: v }, t))),
    webhook: el("input", { name: "webhook_url", type: "url", dir: "ltr", placeholder: "https://… (اختياري)" }),
    since: el("select", { name: "since" },
      [["7d", "٧ أيام"], ["30d", "٣٠ يومًا"], ["365d", "سنة"], ["3650d", "كل الأرشيف"]]
        .map(([v, t]) => el("option", { value: v }, t))),
  };
  let editing = null;
  const heading = el("h2", {}, "تنبيه جديد");
  const preview = el("div", { class: "preview", id: "backtest" });
  const save = el("button", { type: "submit" }, "حفظ");
  const cancel = el("button", { type: "button", class: "ghost", hidden: true }, "إلغاء التعديل");
  const testButton = el("button", { type: "button", class: "ghost", id: "backtest-button" }, "معاينة (اختبار على الأرشيف)");
  const form = el("form", { class: "card alert-form" }, heading,
    el("label", {}, "الاسم", f.name), el("label", {}, "الاستعلام", f.query),
    el("label", {}, "المواضيع", f.topics), el("label", {}, "الكيانات", f.entities),
    el("label", {}, "المصادر", f.sources), el("label", {}, "الإرسال", f.mode),
    el("label", {}, "رابط webhook", f.webhook), el("label", {}, "فترة المعاينة", f.since),
    el("div", { class: "actions" }, save, testButton, cancel), preview);
  const list = el("tbody", { id: "alert-list" });
  fill(root, el("div", { class: "grid two" }, form, el("section", { class: "card" }, el("h2", {}, "التنبيهات"),
    el("table", {}, el("thead", {}, el("tr", {}, ["الاسم", "الاستعلام", "الحالة", "إشعارات", ""].map((h) => el("th", {}, h)))), list))));

  function draft() {
    const body = {
      name: f.name.value.trim(),
      query: f.query.value.trim(),
      topics: listField(f.topics.value),
      entities: listField(f.entities.value),
      sources: listField(f.sources.value),
      mode: f.mode.value,
    };
    if (f.webhook.value.trim()) body.webhook_url = f.webhook.value.trim();
    return body;
  }

  function reset() {
    editing = null;
    form.reset();
    heading.textContent = "تنبيه جديد";
    cancel.hidden = true;
    preview.replaceChildren();
  }

  async function backtest() {
    try {
      const result = await api(`/api/alerts/test?since=${encodeURIComponent(f.since.value)}`, { method: "POST", body: draft() });
      fill(preview, el("p", { id: "backtest-total" }, `كان سيطابق ${formatNumber(result.total)} مقالًا`),
        el("ul", {}, result.hits.map((h) => el("li", {}, h.title,
          el("span", { class: "muted" }, ` — ${h.source?.name || ""} · ${formatDate(h.published_at)}`)))));
    } catch (error) {
      fill(preview, el("p", { class: "error" }, error.message));
    }
  }

  async function load() {
    try {
      const data = await api("/api/alerts");
      fill(list, data.alerts.map((a) => el("tr", { dataset: { id: a.id } },
        el("td", {}, a.name), el("td", { class: "query" }, a.query),
        el("td", {}, a.enabled ? "فعّال" : "متوقف مؤقتًا"),
        el("td", { class: "hits", dataset: { hits: a.hit_count } }, formatNumber(a.hit_count)),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "ghost", onclick: () => edit(a) }, "تعديل"),
          el("button", { type: "button", class: "ghost", onclick: () => act(a, a.enabled ? "pause" : "resume") },
            a.enabled ? "إيقاف مؤقت" : "استئناف"),
          el("button", { type: "button", class: "danger", onclick: () => remove(a) }, "حذف")))));
    } catch (error) {
      showError(error);
    }
  }

  function edit(alert) {
    editing = alert.id;
    heading.textContent = `تعديل: ${alert.name}`;
    f.name.value = alert.name;
    f.query.value = alert.query;
    f.topics.value = (alert.topics || []).join(", ");
    f.entities.value = (alert.entities || []).join(", ");
    f.sources.value = (alert.sources || []).join(", ");
    f.mode.value = alert.mode || "every";
    f.webhook.value = alert.webhook_url || "";
    cancel.hidden = false;
  }

  async function act(alert, action) {
    await api(`/api/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: "POST" }).catch(showError);
    load();
  }

  async function remove(alert) {
    if (!confirm(`حذف التنبيه «${alert.name}»؟`)) return;
    await api(`/api/alerts/${encodeURIComponent(alert.id)}`, { method: "DELETE" }).catch(showError);
    load();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const path = editing ? `/api/alerts/${encodeURIComponent(editing)}` : "/api/alerts";
      await api(path, { method: editing ? "PUT" : "POST", body: draft() });
      reset();
      load();
    } catch (error) {
      fill(preview, el("p", { class: "error", id: "alert-error" }, error.message));
    }
  });
  testButton.addEventListener("click", backtest);
  cancel.addEventListener("click", reset);
  load();
  return () => {};
}
