// Small DOM and formatting helpers shared by the page's modules.
//
// Elements are built with `el` and text nodes, never from HTML strings: prompts and error
// messages come from users and servers, and text nodes cannot inject markup.

/**
 * Make an element. `props` keys: `class`, `text`, `dataset` (object), `on` (event → handler),
 * `aria` (name → value, without the "aria-" prefix), anything else is set as a property when
 * the element has it (value, checked, disabled, hidden, type…) and as an attribute otherwise.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === "aria") {
      for (const [key, v] of Object.entries(value)) node.setAttribute(`aria-${key}`, String(v));
    } else if (name in node) node[name] = value;
    else node.setAttribute(name, String(value));
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

/** Seconds as m:ss.s (or h:mm:ss for long ones). */
export function formatTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds >= 3600) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.floor(seconds % 60);
    return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

/** A rough "about 12 s" / "about 3 min" for ETAs. */
export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

/** A number with a fixed count of decimals, a real minus sign, or a dash when absent. */
export function formatNumber(value, decimals = 1, unit = "") {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const text = value.toFixed(decimals).replace("-", "−");
  return unit ? `${text} ${unit}` : text;
}

/** An ISO timestamp in the reader's local time, to the minute. */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** The first `length` characters of a prompt, for labels ("Cancel 'lofi hip…'"). */
export function shorten(text, length = 40) {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** The 24 keys, spelled as the API reports them (sharps). */
export const KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"].flatMap(
  (root) => [`${root} major`, `${root} minor`],
);

// Messages: one polite live region; errors carry role=alert so screen readers say them at once.
const messages = () => document.getElementById("messages");

function addMessage(text, kind, seconds) {
  const item = el(
    "div",
    { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("p", { text }),
    el("button", {
      type: "button",
      class: "quiet small",
      text: "Dismiss",
      aria: { label: `Dismiss: ${shorten(text, 60)}` },
      on: { click: () => item.remove() },
    }),
  );
  // One piece of news at a time; errors stay until dismissed, the oldest going past three.
  if (kind === "info") messages().querySelectorAll(".message.info").forEach((old) => old.remove());
  messages().append(item);
  while (messages().children.length > 3) messages().firstElementChild.remove();
  if (seconds) setTimeout(() => item.remove(), seconds * 1000);
  return item;
}

export function showInfo(text) {
  return addMessage(text, "info", 8);
}

/** An error for the reader: an ApiError's message is already in words. */
export function showError(error, what) {
  if (error?.name === "AbortError") return null;
  const text = error?.message ?? String(error);
  return addMessage(what ? `${what}: ${text}` : text, "error", 0);
}
