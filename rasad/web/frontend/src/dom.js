// DOM helpers. Everything that comes from a feed is set as text (textContent, text nodes),
// never parsed as HTML: a title carrying <script> or onerror= shows as those characters.

/** Make an element; string/number children become text nodes, null/false are skipped. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's content with the given children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/**
 * A highlighted fragment as DOM: the API sends segments [{text, hit}], so matched words become
 * <mark> elements holding text nodes. No markup from the engine or the feed is ever parsed.
 */
export function highlighted(segments) {
  const span = el("span", { class: "fragment" });
  for (const segment of segments) {
    span.append(segment.hit ? el("mark", {}, segment.text) : document.createTextNode(segment.text));
  }
  return span;
}

/** A link only for http(s) URLs, so a feed cannot smuggle a javascript: URL into an href. */
export function safeLink(url, text) {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    ok = false;
  }
  return ok
    ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text)
    : el("span", {}, text);
}

// Dates and numbers follow the language toggle (i18n.js).
export { formatDate, formatNumber } from "./i18n.js";
