// The page's one door to the server: every request goes through here, to the public API
// under /api/v1 and nowhere else.
//
// API keys. When the server answers 401, `request` asks the reader for a key (through the
// handler the page registers with `onKeyNeeded`), keeps it in sessionStorage and sends it as
// `Authorization: Bearer …` from then on. sessionStorage rather than localStorage: the key
// lasts as long as the tab and is gone when it closes, so it is not left on disk for the next
// person at a shared studio machine, and no other tab or later visit can read it. Keys never
// go into URLs (they would land in server logs, history and Referer headers): event streams are
// read with fetch() and a ReadableStream, which can send the header, instead of EventSource,
// which cannot; audio is played and downloaded from blobs fetched with the header.

export const API = "/api/v1";
const KEY_STORAGE = "dgx-music.api-key";

/** An answer other than 2xx, in words: the problem document's title and detail. */
export class ApiError extends Error {
  constructor(status, title, detail, { retryAfter = null, errors = [] } = {}) {
    super(describe(status, title, detail, retryAfter, errors));
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.retryAfter = retryAfter; // seconds, for 429 and 503
  }
}

function describe(status, title, detail, retryAfter, errors) {
  let text = detail && detail !== title ? `${title}: ${detail}` : title || `HTTP ${status}`;
  if (errors.length) {
    text += ` (${errors.map((e) => `${e.field.replace(/^body\./, "")}: ${e.message}`).join("; ")})`;
  }
  if (retryAfter !== null) {
    const at = new Date(Date.now() + retryAfter * 1000).toLocaleTimeString();
    // The server's detail may say it already ("try again in 42 s"): then only add the time.
    text += /try again/i.test(text)
      ? ` (at ${at}).`
      : `. Try again in ${Math.ceil(retryAfter)} s (at ${at}).`;
  }
  return text;
}

/** Retry-After as seconds: either a number of seconds or an HTTP date. */
function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

/** The ApiError for a failed response, from its RFC 9457 problem document when it has one. */
export async function problemOf(response) {
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  const title = body?.title || response.statusText || `HTTP ${response.status}`;
  const detail = typeof body?.detail === "string" ? body.detail : "";
  return new ApiError(response.status, title, detail, {
    retryAfter: [429, 503].includes(response.status) ? retryAfterSeconds(response) : null,
    errors: Array.isArray(body?.errors) ? body.errors : [],
  });
}

// --- API keys ---------------------------------------------------------------------------------

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

let askForKey = null;
let pendingAsk = null;

/** `ask(reason)` resolves to a key, or null when the reader declines. */
export function onKeyNeeded(ask) {
  askForKey = ask;
}

/** Ask once even when several requests meet a 401 at the same moment. */
async function keyAfter401(problem) {
  if (!askForKey) return null;
  if (!pendingAsk) {
    const said = problem.detail ? ` (the server says: ${problem.detail})` : "";
    const reason = storedKey()
      ? "The server did not accept that key. Enter another one."
      : `This server needs an API key${said}.`;
    pendingAsk = askForKey(reason).finally(() => {
      pendingAsk = null;
    });
  }
  const key = await pendingAsk;
  if (key) storeKey(key);
  return key;
}

function headers(extra = {}) {
  const result = new Headers(extra);
  const key = storedKey();
  if (key) result.set("Authorization", `Bearer ${key}`);
  return result;
}

/**
 * fetch() with the key, problem documents turned into ApiErrors and a 401 turned into a
 * question for a key (then the request is sent again). Resolves to the parsed JSON, null for
 * 204, or the Response itself with `raw: true`.
 */
export async function request(path, { method = "GET", body, signal, raw = false, accept } = {}) {
  for (;;) {
    const extra = {};
    if (body !== undefined) extra["Content-Type"] = "application/json";
    if (accept) extra.Accept = accept;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: headers(extra),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "The server cannot be reached", "check that dgx-music serve runs");
    }
    if (response.status === 401) {
      const problem = await problemOf(response);
      if (await keyAfter401(problem)) continue;
      throw problem;
    }
    if (!response.ok) throw await problemOf(response);
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }
}

// --- Files: playing and downloading -----------------------------------------------------------

/**
 * A URL an <audio> element can play. Without a key, the API path itself: the browser streams
 * it with Range requests. With a key, a blob: URL of the file fetched with the header (an
 * <audio> element cannot send one); the caller revokes it with URL.revokeObjectURL.
 */
export async function playableUrl(path) {
  if (!storedKey()) return path;
  const response = await request(path, { raw: true });
  return URL.createObjectURL(await response.blob());
}

/** The file name in a Content-Disposition header, if any. */
function fileName(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(header);
  return match ? match[1] : fallback;
}

/**
 * Save a file of the API to the reader's downloads. It is fetched first (with the key when
 * there is one), so a failure — a missing file, a conversion the server cannot make, a rate
 * limit — is shown as a message instead of becoming a broken download. `method` and `body` serve
 * files the API makes on request (an Ardour session zip is a POST).
 */
export async function download(path, fallbackName, { method = "GET", body } = {}) {
  const response = await request(path, { raw: true, method, body });
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), {
    href: url,
    download: fileName(response, fallbackName),
    hidden: true,
  });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started; give it a moment before letting go.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return link.download;
}

// --- Server-Sent Events over fetch ------------------------------------------------------------

/**
 * Follow an event stream of the API: `onEvent(name, data)` for each event (data parsed as
 * JSON), `onState("live" | "reconnecting" | "stopped", detail)` as the connection changes.
 * Reconnects after a drop, waiting the server's `retry:` hint and then longer (up to 30 s)
 * while it stays down. Returns a function that closes the stream.
 */
export function streamEvents(path, { onEvent, onState }) {
  const controller = new AbortController();
  let retryMs = 2000;

  async function connectOnce() {
    const response = await request(path, {
      raw: true,
      signal: controller.signal,
      accept: "text/event-stream",
    });
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = eventParser((name, data, retry) => {
      if (retry !== null) retryMs = retry;
      if (name !== null) onEvent(name, data);
    });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser(value);
    }
  }

  (async () => {
    let failures = 0;
    while (!controller.signal.aborted) {
      let problem = null;
      try {
        await connectOnce();
        failures = 0; // it ended normally: the server closed it (restart, shutdown)
      } catch (error) {
        if (controller.signal.aborted) break;
        failures += 1;
        if (error instanceof ApiError && error.status === 401) {
          onState("stopped", error); // the reader declined to give a key
          return;
        }
        problem = error;
      }
      if (controller.signal.aborted) break;
      onState("reconnecting", problem);
      const wait = Math.min(30_000, retryMs * 2 ** Math.min(failures, 4));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    onState("stopped", null);
  })();

  return () => controller.abort();
}

/**
 * A parser for the text/event-stream format (WHATWG HTML, "server-sent events"): feed it
 * chunks of text as they arrive; it calls `emit(event, data, retry)` for each complete event
 * (event null for a bare `retry:` line). Lines may end in CR, LF or CRLF, and a chunk may end
 * anywhere, even between the CR and LF of one line ending.
 */
export function eventParser(emit) {
  let buffer = "";
  let name = "";
  let data = [];

  function line(text) {
    if (text === "") {
      if (data.length) {
        let parsed = data.join("\n");
        try {
          parsed = JSON.parse(parsed);
        } catch {
          // not JSON: hand over the text
        }
        emit(name || "message", parsed, null);
      }
      name = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment: keep-alive
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) emit(null, null, Number(value));
  }

  return (chunk) => {
    buffer += chunk;
    const ends = /\r\n|\r|\n/g;
    let start = 0;
    let match;
    while ((match = ends.exec(buffer)) !== null) {
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (match[0] === "\r" && match.index === buffer.length - 1) break;
      line(buffer.slice(start, match.index));
      start = ends.lastIndex;
    }
    buffer = buffer.slice(start);
  };
}
