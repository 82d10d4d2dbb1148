// Entry point: a hash router over the pages; each page returns a cleanup function.
import "./style.css";
import { api, apiKey, setApiKey } from "./api.js";
import { renderAlerts } from "./alerts.js";
import { renderDashboard } from "./dashboard.js";
import { fill } from "./dom.js";
import { renderEntity } from "./entity.js";
import { lang, setLang } from "./i18n.js";
import { renderReprocess } from "./reprocess.js";
import { renderSearch } from "./search.js";

const pages = {
  search: renderSearch, dashboard: renderDashboard, alerts: renderAlerts, entity: renderEntity,
  reprocess: renderReprocess,
};
const root = document.getElementById("page");
const notice = document.getElementById("notice");
let cleanup = () => {};

/** Show an error message to the analyst (as text). */
export function showError(error) {
  notice.textContent = error instanceof Error ? error.message : String(error);
  notice.hidden = false;
}

function route() {
  cleanup();
  notice.hidden = true;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = pages[name] ? name : "search";
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === page);
  }
  fill(root);
  root.dataset.page = page;
  cleanup = pages[page](root, { showError, params: rest }) || (() => {});
}

async function setUpKey() {
  const button = document.getElementById("key-button");
  const info = await api("/api/whoami").catch((error) => ({ auth: "apikey", error }));
  button.hidden = info.auth !== "apikey";
  button.textContent = apiKey() && info.role ? `مفتاح: ${info.role}` : "مفتاح الوصول";
  button.onclick = () => {
    const key = prompt("أدخل مفتاح الوصول (API key)", apiKey());
    if (key !== null) {
      setApiKey(key.trim());
      location.reload();
    }
  };
  if (info.auth === "apikey" && !info.role) showError("هذا الخادم يطلب مفتاح وصول.");
}

// Arabic first; the toggle switches topic names, entity types, dates and numbers to English.
const langButton = document.getElementById("lang-button");
langButton.textContent = lang() === "en" ? "العربية" : "English";
langButton.onclick = () => {
  setLang(lang() === "en" ? "ar" : "en");
  location.reload();
};
document.documentElement.dataset.lang = lang();

window.addEventListener("hashchange", route);
setUpKey().finally(route);
