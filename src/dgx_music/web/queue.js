// The queue: every queued and running job, kept live by the all-jobs event stream
// (GET /events), with Cancel (DELETE /jobs/{id}) and Retry (POST /jobs/{id}/retry).
// A job that completes stays a few seconds as "done", then leaves; the library shows its
// track. Failed and cancelled jobs stay, with Retry and Dismiss, until dismissed.

import { API, request, streamEvents } from "./api.js";
import { el, formatEta, showError, shorten } from "./dom.js";

const FINAL = new Set(["completed", "failed", "cancelled"]);
const DONE_SHOWN_MS = 5000;
const STATUS_WORDS = {
  queued: "queued",
  running: "running",
  completed: "done",
  failed: "failed",
  cancelled: "cancelled",
};

export class Queue {
  /**
   * @param {object} parts
   * @param {(event: object) => void} parts.onEvent - every progress/end event, for other panels
   * @param {(event: object) => void} parts.onCompleted - a job finished with a track
   * @param {(state: string, error: unknown) => void} parts.onConnection
   * @param {() => void} parts.onResync - the stream came back after a drop
   */
  constructor({ list, empty, announcer, onEvent, onCompleted, onConnection, onResync }) {
    Object.assign(this, { list, empty, announcer, onEvent, onCompleted, onConnection, onResync });
    this.entries = new Map(); // job id → { job, item, parts, announced }
    this.fetching = new Set();
    this.close = null;
    this.stream = null;
    this.connectedOnce = false;
  }

  /** Load what is queued and running now, then follow the event stream. */
  async start() {
    this.close?.();
    const stream = (this.stream = Symbol("stream")); // callbacks of a closed stream are ignored
    this.connectedOnce = false;
    try {
      await this.loadActive();
    } catch (error) {
      showError(error, "Could not load the queue");
    }
    if (stream !== this.stream) return;
    this.close = streamEvents(`${API}/events`, {
      onEvent: (name, data) => {
        if (stream === this.stream) this.handle(name, data);
      },
      onState: (state, error) => {
        if (stream !== this.stream) return;
        if (state === "live") {
          if (this.connectedOnce) this.resync();
          this.connectedOnce = true;
        }
        this.onConnection(state, error);
      },
    });
  }

  async loadActive() {
    for (const status of ["running", "queued"]) {
      const page = await request(`${API}/jobs?status=${status}&limit=200`);
      for (const job of page.items) this.show(job);
    }
  }

  /** After a drop: events of jobs that ended meanwhile were missed, so ask for each. */
  async resync() {
    for (const [id, entry] of this.entries) {
      if (FINAL.has(entry.job.status)) continue;
      try {
        const job = await request(`${API}/jobs/${id}`);
        this.show(job);
        if (job.status === "completed") this.onCompleted({ id, track_id: job.track_id });
      } catch (error) {
        showError(error, "Could not refresh the queue");
      }
    }
    this.onResync();
  }

  /** A job this page just queued (or retried). */
  add(job) {
    this.show(job);
  }

  handle(name, data) {
    if (name !== "progress" && name !== "end") return;
    this.onEvent(data);
    const entry = this.entries.get(data.id);
    if (entry) {
      this.show({ ...entry.job, ...data }, data.eta_seconds);
    } else if (!FINAL.has(data.status)) {
      this.fetchAndShow(data.id); // queued elsewhere (another tab, the CLI)
    }
    if (name === "end" && data.status === "completed") this.onCompleted(data);
  }

  async fetchAndShow(id) {
    if (this.fetching.has(id)) return;
    this.fetching.add(id);
    try {
      this.show(await request(`${API}/jobs/${id}`));
    } catch (error) {
      showError(error, "Could not read a job");
    } finally {
      this.fetching.delete(id);
    }
  }

  /** Draw a job (a JobOut, or one updated with an event's fields) in its list item. */
  show(job, eta = null) {
    let entry = this.entries.get(job.id);
    if (!entry) {
      if (job.status === "completed") return; // nothing to watch: the library has it
      entry = this.create(job);
      this.entries.set(job.id, entry);
      this.list.append(entry.item);
    }
    const before = entry.job;
    entry.job = { ...before, ...job };
    const { parts } = entry;
    const current = entry.job;
    const percent = Math.round((current.progress ?? 0) * 100);
    entry.item.dataset.status = current.status;
    parts.badge.textContent = STATUS_WORDS[current.status] ?? current.status;
    parts.progress.value = current.status === "completed" ? 1 : current.progress ?? 0;
    const pieces = [];
    if (current.status === "running") {
      pieces.push(current.stage || "starting", `${percent} %`);
      if (current.cancel_requested) pieces.push("cancelling…");
      else if (eta !== null) pieces.push(formatEta(eta));
    } else if (current.status === "queued") {
      pieces.push("waiting for a worker");
    } else if (current.status === "completed") {
      pieces.push("done: it is in the library");
    }
    parts.detail.textContent = pieces.filter(Boolean).join(" · ");
    parts.error.textContent = current.error ?? "";
    parts.error.hidden = !current.error || current.status === "completed";
    const active = !FINAL.has(current.status);
    parts.cancel.hidden = !active;
    parts.cancel.disabled = Boolean(current.cancel_requested);
    parts.retry.hidden = !["failed", "cancelled"].includes(current.status);
    parts.dismiss.hidden = active;

    // Say stage changes and endings aloud (the bar itself changes too often to announce).
    const said = `${current.status} ${current.stage ?? ""}`;
    if (said !== entry.announced) {
      entry.announced = said;
      const what =
        current.status === "running" ? current.stage || "running" : STATUS_WORDS[current.status];
      const prompt = shorten(current.request?.prompt ?? current.id, 40);
      this.announcer.textContent = `“${prompt}”: ${what}`;
    }
    if (current.status === "completed" && before.status !== "completed") {
      setTimeout(() => this.remove(job.id), DONE_SHOWN_MS);
    }
    this.empty.hidden = this.entries.size > 0;
  }

  create(job) {
    const prompt = job.request?.prompt ?? job.id;
    const label = shorten(prompt);
    const asked = job.request ?? {};
    const length = asked.bars ? `${asked.bars} bars` : `${asked.duration ?? "?"} s`;
    const seed = job.seed !== null && job.seed !== undefined ? `seed ${job.seed}` : null;
    const meta = [asked.engine, length, seed, `#${job.id.slice(0, 8)}`]
      .filter(Boolean)
      .join(" · ");
    const parts = {
      badge: el("span", { class: "badge" }),
      progress: el("progress", { max: 1, value: 0, aria: { label: `Progress of “${label}”` } }),
      detail: el("p", { class: "job-detail" }),
      error: el("p", { class: "job-error", hidden: true }),
      cancel: el("button", {
        type: "button",
        class: "small",
        text: "Cancel",
        aria: { label: `Cancel “${label}”` },
        on: { click: () => this.act(job.id, "DELETE", `${API}/jobs/${job.id}`, "Not cancelled") },
      }),
      retry: el("button", {
        type: "button",
        class: "small",
        text: "Retry",
        hidden: true,
        aria: { label: `Retry “${label}”` },
        on: { click: () => this.act(job.id, "POST", `${API}/jobs/${job.id}/retry`, "Not retried") },
      }),
      dismiss: el("button", {
        type: "button",
        class: "small quiet",
        text: "Dismiss",
        hidden: true,
        aria: { label: `Dismiss “${label}”` },
        on: { click: () => this.remove(job.id) },
      }),
    };
    const item = el(
      "li",
      { class: "job", dataset: { jobId: job.id } },
      el("div", { class: "job-head" }, el("p", { class: "job-prompt", text: prompt }), parts.badge),
      el("p", { class: "job-meta", text: meta }),
      parts.progress,
      parts.detail,
      parts.error,
      el("div", { class: "buttons" }, parts.cancel, parts.retry, parts.dismiss),
    );
    return { job, item, parts, announced: null };
  }

  async act(id, method, path, failure) {
    try {
      this.show(await request(path, { method }));
    } catch (error) {
      showError(error, failure);
      this.fetchAndShow(id); // it may have ended meanwhile: show what it is now
    }
  }

  remove(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    const hadFocus = entry.item.contains(document.activeElement);
    entry.item.remove();
    this.entries.delete(id);
    this.empty.hidden = this.entries.size > 0;
    if (hadFocus) document.getElementById("queue-title").focus();
  }
}
