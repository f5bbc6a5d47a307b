// The library: GET /tracks with the filters of `dgx-music tracks list`, a page at a time, and
// a card per track — facts, player with waveform, stems, downloads, "again with this seed",
// "vary" and delete.

import { API, playableUrl, request } from "./api.js";
import { downloadMenu } from "./downloads.js";
import {
  el, formatDate, formatNumber, formatTime, KEYS, shorten, showError, showInfo,
} from "./dom.js";
import { WaveformPlayer } from "./player.js";

const WAVEFORM_POINTS = 600;
const SEARCH_DELAY_MS = 300;
const FILTERS = ["search", "bpm_min", "bpm_max", "key", "engine", "since", "until"];

export class Library {
  /**
   * @param {object} parts
   * @param {object} parts.actions - again(track), vary(track): queue a job like the track's;
   *   confirm(title, text): resolve true when the reader confirms
   */
  constructor({ form, list, summary, previous, next, pageNumber, actions }) {
    Object.assign(this, { form, list, summary, previous, next, pageNumber, actions });
    this.offset = 0;
    this.nextOffset = null;
    this.sequence = 0;
    this.cards = new Map(); // track id → { item, dispose }
    this.searchTimer = 0;

    for (const key of KEYS) form.elements.key.append(el("option", { value: key, text: key }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.reload();
    });
    form.addEventListener("reset", () => setTimeout(() => this.reload()));
    form.addEventListener("change", (event) => {
      if (event.target.name !== "search") this.reload();
    });
    form.elements.search.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.reload(), SEARCH_DELAY_MS);
    });
    previous.addEventListener("click", () => this.turn(-1));
    next.addEventListener("click", () => this.turn(1));
  }

  setEngines(names) {
    const select = this.form.elements.engine;
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: "Any engine" }));
    for (const name of names) select.append(el("option", { value: name, text: name }));
    select.value = chosen;
  }

  /** Back to the first page with the filters as they are now. */
  reload() {
    this.offset = 0;
    return this.load();
  }

  turn(direction) {
    const limit = Number(this.form.elements.limit.value);
    if (direction > 0 && this.nextOffset === null) return;
    this.offset = direction > 0 ? this.nextOffset : Math.max(0, this.offset - limit);
    this.load().then(() => document.getElementById("library-title").focus());
  }

  /** The query string of GET /tracks for the filters and page. */
  query() {
    const { elements } = this.form;
    const params = new URLSearchParams();
    for (const name of [...FILTERS, "order"]) {
      const value = elements[name].value.trim();
      if (value) params.set(name, value);
    }
    if (elements.key.value && elements.compatible.checked) params.set("compatible", "true");
    params.set("sort", elements.sort.value);
    params.set("limit", elements.limit.value);
    params.set("offset", String(this.offset));
    return params;
  }

  filtered() {
    const params = this.query();
    return FILTERS.some((name) => params.has(name));
  }

  /** Fetch the current page; `highlight` marks a new track's card for a moment. */
  async load({ highlight = null } = {}) {
    const sequence = ++this.sequence;
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await request(`${API}/tracks?${this.query()}`);
      if (sequence !== this.sequence) return; // a newer query has been sent meanwhile
      if (!page.items.length && this.offset > 0) {
        this.offset = Math.max(0, this.offset - Number(this.form.elements.limit.value));
        await this.load({ highlight });
        return;
      }
      this.render(page, highlight);
    } catch (error) {
      if (sequence === this.sequence) {
        showError(error, "Could not load the library");
        this.summary.textContent = "The library could not be loaded.";
      }
    } finally {
      if (sequence === this.sequence) this.list.removeAttribute("aria-busy");
    }
  }

  render(page, highlight) {
    const wanted = new Set(page.items.map((track) => track.id));
    for (const [id, card] of this.cards) {
      if (!wanted.has(id)) {
        card.dispose();
        this.cards.delete(id);
      }
    }
    const items = page.items.map((track) => {
      if (!this.cards.has(track.id)) this.cards.set(track.id, this.card(track));
      return this.cards.get(track.id).item;
    });
    // Cards that stay are moved, not rebuilt, so a clip playing on one keeps playing.
    const unchanged = items.length === this.list.children.length &&
      items.every((item, index) => this.list.children[index] === item);
    if (!unchanged) {
      const focused = document.activeElement;
      this.list.replaceChildren(...items);
      if (focused && this.list.contains(focused)) focused.focus({ preventScroll: true });
    }
    if (highlight && this.cards.has(highlight)) {
      const { item } = this.cards.get(highlight);
      item.classList.add("new");
      setTimeout(() => item.classList.remove("new"), 4000);
    }

    this.nextOffset = page.next_offset;
    const first = this.offset + 1;
    const last = this.offset + page.items.length;
    if (!page.items.length) {
      this.summary.textContent = this.filtered()
        ? "No track matches these filters."
        : "The library is empty: generate something.";
    } else {
      const more = page.next_offset !== null ? ", more on the next page" : "";
      this.summary.textContent = `Tracks ${first}–${last}${more}.`;
    }
    const limit = Number(this.form.elements.limit.value);
    this.pageNumber.textContent = `Page ${Math.floor(this.offset / limit) + 1}`;
    this.previous.disabled = this.offset === 0;
    this.next.disabled = page.next_offset === null;
  }

  /** One track's card, and how to let go of it (stop its audio, free its blobs). */
  card(track) {
    const label = shorten(track.prompt);
    const blobs = [];
    let path = track.links.audio;

    const audio = el("audio", { preload: "none" });
    const canvas = el("canvas", {
      class: "waveform",
      tabindex: "0",
      role: "slider",
      aria: { label: `Position in “${label}”`, valuemin: 0 },
    });
    const time = el("span", { class: "time" });
    const player = new WaveformPlayer({
      canvas,
      audio,
      time,
      duration: track.duration,
      source: async () => {
        const url = await playableUrl(path);
        if (url.startsWith("blob:")) blobs.push(url);
        return url;
      },
      onError: (error) => showError(error, `Cannot play “${label}”`),
    });
    const play = el("button", {
      type: "button",
      class: "play",
      text: "Play",
      aria: { label: `Play “${label}”` },
      on: { click: () => player.toggle() },
    });
    audio.addEventListener("play", () => {
      play.textContent = "Pause";
      play.setAttribute("aria-label", `Pause “${label}”`);
    });
    audio.addEventListener("pause", () => {
      play.textContent = "Play";
      play.setAttribute("aria-label", `Play “${label}”`);
    });
    audio.addEventListener("error", () => this.explainAudioError(path, label, player));

    const listen = el(
      "select",
      {
        on: {
          change: async (event) => {
            path = event.target.value;
            if (!audio.getAttribute("src")) return;
            try {
              const url = await playableUrl(path);
              if (url.startsWith("blob:")) blobs.push(url);
              await player.use(url);
            } catch (error) {
              showError(error, `Cannot play “${label}”`);
            }
          },
        },
      },
      el("option", { value: track.links.audio, text: "Mix" }),
      ...track.stems.map((name) =>
        el("option", { value: track.links.stems[name], text: `Stem: ${name}` }),
      ),
    );

    request(`${track.links.waveform}?points=${WAVEFORM_POINTS}`)
      .then((waveform) => player.setPeaks(waveform))
      .catch((error) => showError(error, `No waveform for “${label}”`));

    const facts = [
      ["BPM", formatNumber(track.bpm, 1)],
      ["Key", track.key ?? "–"],
      ["Loudness", formatNumber(track.lufs, 1, "LUFS")],
      ["Length", formatTime(track.duration)],
      ["Engine", track.engine],
      ["Model", track.model ?? "–"],
      ["Seed", String(track.seed)],
      ["Made", formatDate(track.created_at)],
    ];
    const item = el(
      "li",
      { class: "track", dataset: { trackId: track.id } },
      el(
        "article",
        { aria: { label: label } },
        el("h3", { class: "track-title", text: track.prompt }),
        el(
          "dl",
          { class: "facts" },
          facts.map(([term, value]) =>
            el(
              "div",
              { dataset: { fact: term.toLowerCase() } },
              el("dt", { text: term }),
              el("dd", { text: value }),
            ),
          ),
        ),
        track.disagreements.length
          ? el("p", {
              class: "hint",
              text: `Measured differently from asked: ${track.disagreements.join("; ")}`,
            })
          : null,
        el(
          "div",
          { class: "player" },
          play,
          canvas,
          time,
          track.stems.length ? el("label", { class: "listen" }, "Listen to ", listen) : null,
          audio,
        ),
        el(
          "div",
          { class: "track-actions" },
          el("button", {
            type: "button",
            text: "Again with this seed",
            aria: { label: `Generate “${label}” again with seed ${track.seed}` },
            on: { click: () => this.actions.again(track) },
          }),
          el("button", {
            type: "button",
            text: "Vary",
            aria: { label: `Generate a variation of “${label}” (new seed)` },
            on: { click: () => this.actions.vary(track) },
          }),
          el("button", {
            type: "button",
            class: "danger",
            text: "Delete",
            aria: { label: `Delete “${label}”` },
            on: { click: () => this.remove(track, label) },
          }),
          downloadMenu(track, label),
        ),
      ),
    );
    const dispose = () => {
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
      blobs.forEach((url) => URL.revokeObjectURL(url));
    };
    return { item, dispose };
  }

  async remove(track, label) {
    const sure = await this.actions.confirm(
      `Delete “${label}”?`,
      `“${track.prompt}” — its audio, stems and MIDI file are removed from the library. ` +
        "This cannot be undone.",
    );
    if (!sure) return;
    try {
      await request(`${API}/tracks/${track.id}`, { method: "DELETE" });
      showInfo(`Deleted “${label}”.`);
      await this.load();
      document.getElementById("library-title").focus();
    } catch (error) {
      showError(error, `Could not delete “${label}”`);
    }
  }

  /** An <audio> element says only "error": ask the API itself what the matter is. */
  async explainAudioError(path, label, player) {
    if (!player.audio.getAttribute("src")) return; // emptied on purpose
    try {
      const response = await request(path, { raw: true }); // may ask for a key (401)
      await response.body?.cancel();
      if (player.retried) {
        showError(new Error("this browser cannot play the file; download it instead"),
          `Cannot play “${label}”`);
        return;
      }
      // The file is there: a key was missing at first. Start again, from a blob if need be.
      player.retried = true;
      player.audio.removeAttribute("src");
      await player.toggle();
    } catch (error) {
      showError(error, `Cannot play “${label}”`);
    }
  }
}
