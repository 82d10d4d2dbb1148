// The HTTP API client. The API key (when the server asks for one) lives in localStorage and
// travels in the X-API-Key header, never in a URL, so it does not end up in logs or history.

const KEY_STORAGE = "rasad.apiKey";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { "X-API-Key": key, ...extra } : extra;
}

/** Query string from an object, skipping empty values; arrays repeat the parameter. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== "" && item !== null && item !== undefined) search.append(name, item);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function api(path, { method = "GET", body } = {}) {
  // A change always carries a custom header: the server refuses changes without one (or a JSON
  // body), which a cross-site page cannot send without the CORS preflight the server denies.
  const init = { method, headers: headers(method === "GET" ? {} : { "X-Requested-With": "rasad" }) };
  if (body !== undefined) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new ApiError(response.status, detail || response.statusText);
  }
  return data;
}

/**
 * Follow the live Server-Sent Events stream with fetch (EventSource cannot send headers).
 * Calls onEvent(type, data) per event; reconnects after a pause until stop() is called.
 */
export function followLive(onEvent, onState = () => {}) {
  const controller = new AbortController();
  let stopped = false;
  // Reconnect pause: quick enough to feel live, slow enough not to hammer a restarting server.
  const RETRY_MS = 3000;

  async function once() {
    const response = await fetch("/api/live", { headers: headers(), signal: controller.signal });
    if (!response.ok || !response.body) throw new ApiError(response.status, "live stream refused");
    onState("open");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  function dispatch(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length) onEvent(type, JSON.parse(data.join("\n")));
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (stopped) return;
        onState("error", error);
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();

  return () => {
    stopped = true;
    controller.abort();
  };
}
