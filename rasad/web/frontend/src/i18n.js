// Arabic first, English as a toggle: topic names, entity types, dates and numbers. The choice
// lives in localStorage; Arabic digits are asked for explicitly (plain "ar" gives Latin digits
// in some browsers).

const LANG_STORAGE = "rasad.lang";

export function lang() {
  return localStorage.getItem(LANG_STORAGE) === "en" ? "en" : "ar";
}

export function setLang(value) {
  localStorage.setItem(LANG_STORAGE, value);
}

// The taxonomy's tags (stream/data/taxonomy.yaml): [Arabic, English].
const TOPICS = {
  iran: ["إيران", "Iran"],
  sanctions: ["العقوبات", "Sanctions"],
  opposition: ["المعارضة", "Opposition"],
  nuclear: ["النووي", "Nuclear"],
  terrorism: ["الإرهاب", "Terrorism"],
  protests: ["الاحتجاجات", "Protests"],
  military: ["الشؤون العسكرية", "Military"],
  diplomacy: ["الدبلوماسية", "Diplomacy"],
  elections: ["الانتخابات", "Elections"],
  energy: ["الطاقة", "Energy"],
  "human-rights": ["حقوق الإنسان", "Human rights"],
  health: ["الصحة", "Health"],
  migration: ["الهجرة واللجوء", "Migration"],
  sport: ["الرياضة", "Sport"],
  economy: ["الاقتصاد", "Economy"],
  technology: ["التكنولوجيا", "Technology"],
  culture: ["الثقافة", "Culture"],
  politics: ["السياسة", "Politics"],
};

const ENTITY_TYPES = {
  PER: ["شخص", "Person"],
  ORG: ["منظمة", "Organisation"],
  LOC: ["مكان", "Place"],
};

const ENTITY_TYPES_PLURAL = {
  PER: ["أشخاص", "People"],
  ORG: ["منظمات", "Organisations"],
  LOC: ["أماكن", "Places"],
};

function pick(table, key) {
  const names = table[key];
  return names ? names[lang() === "en" ? 1 : 0] : key;
}

export const topicName = (tag) => pick(TOPICS, tag);
export const entityType = (type) => pick(ENTITY_TYPES, type);
export const entityTypePlural = (type) => pick(ENTITY_TYPES_PLURAL, type);

/** A rising row's key in words: topics by name, entities as they are written. */
export const risingName = (row) => (row.kind === "topic" ? topicName(row.key) : row.key);

const locale = () => (lang() === "en" ? "en-GB" : "ar-u-nu-arab");

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? "");
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** A chart axis date: the day (and the hour when the bars are hours). */
export function formatAxisDate(value, withHour) {
  const options = withHour ? { day: "numeric", month: "short", hour: "2-digit" } : { day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(locale(), options).format(new Date(value));
}

export function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}
