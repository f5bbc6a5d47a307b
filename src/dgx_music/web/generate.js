// The Generate form (POST /generate) and the "Your last job" panel, which shows what the
// engine understood from the prompt (the job's `notes`) as soon as the job record carries it.

import { API, request } from "./api.js";
import { el, KEYS, showError, shorten } from "./dom.js";

const NUMBERS = {
  duration: Number.parseFloat,
  bars: Number.parseInt,
  bpm: Number.parseFloat,
  seed: Number.parseInt,
  temperature: Number.parseFloat,
  top_k: Number.parseInt,
  top_p: Number.parseFloat,
  guidance_scale: Number.parseFloat,
  loudness_lufs: Number.parseFloat,
};
const CHOICES = ["engine", "model", "key", "output_format", "bit_depth"];
/** Musical controls an engine must list in its `controls` to accept (see GET /engines). */
const CONTROLS = ["bpm", "key", "bars", "loop", "instruments"];
/** The request fields POST /generate takes, so that a job's request can be sent again. */
const BODY_FIELDS = [
  "prompt", "engine", "model", "duration", "seed", "temperature", "top_k", "top_p",
  "guidance_scale", "bpm", "key", "bars", "loop", "instruments", "continue_from", "melody",
  "output_format", "bit_depth", "loudness_lufs", "true_peak_dbtp",
];

/** The body that asks again for what `jobRequest` asked, with `seed` (null: a new one). */
export function bodyFromRequest(jobRequest, seed) {
  const body = {};
  for (const field of BODY_FIELDS) {
    const value = jobRequest[field];
    if (value !== null && value !== undefined && value !== false) body[field] = value;
  }
  if (seed === null) delete body.seed;
  else body.seed = seed;
  return body;
}

export class GenerateForm {
  constructor({ form, hint, button, onSubmitted }) {
    Object.assign(this, { form, hint, button, onSubmitted });
    this.inventory = null;
    this.heldUntil = 0;
    for (const key of KEYS) form.elements.key.append(el("option", { value: key, text: key }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(this.body());
    });
    form.addEventListener("reset", () => setTimeout(() => this.applyEngine()));
    form.elements.engine.addEventListener("change", () => this.applyEngine());
  }

  /** Fill the engine and model choices from GET /engines. */
  setEngines(inventory) {
    this.inventory = inventory;
    const select = this.form.elements.engine;
    const chosen = select.value;
    const fallback = this.engineInfo(inventory.default);
    const defaultText = fallback?.chooses
      ? `Server default (${inventory.default} → ${fallback.chooses})`
      : `Server default (${inventory.default})`;
    select.replaceChildren(el("option", { value: "", text: defaultText }));
    for (const engine of inventory.engines) {
      select.append(
        el("option", {
          value: engine.name,
          text: engine.available ? engine.name : `${engine.name} (unavailable)`,
          disabled: !engine.available,
          title: engine.error ?? undefined,
        }),
      );
    }
    select.value = chosen;
    this.applyEngine();
  }

  engineInfo(name) {
    return this.inventory?.engines.find((engine) => engine.name === name) ?? null;
  }

  /** Show the models of the chosen engine, and disable the controls it does not take. */
  applyEngine() {
    if (!this.inventory) return;
    const { elements } = this.form;
    const name = elements.engine.value || this.inventory.default;
    const info = this.engineInfo(name);
    const models = info?.models ?? [];
    const modelField = document.getElementById("model-field");
    const previous = elements.model.value;
    elements.model.replaceChildren(el("option", { value: "", text: "Engine default" }));
    for (const model of models) {
      const size = model.parameters ? ` ${model.parameters}` : "";
      const state = model.on_disk ? (model.loaded ? "loaded" : "on disk") : "not downloaded";
      elements.model.append(
        el("option", {
          value: model.name,
          text: `${model.name}${size} (${state})`,
          disabled: !model.on_disk,
        }),
      );
    }
    elements.model.value = models.some((m) => m.name === previous) ? previous : "";
    modelField.hidden = models.length === 0;
    elements.model.disabled = models.length === 0;

    const controls = new Set(info?.controls ?? CONTROLS);
    const refused = CONTROLS.filter((control) => !controls.has(control));
    for (const control of CONTROLS) elements[control].disabled = refused.includes(control);
    if (info?.min_duration) elements.duration.min = String(info.min_duration);
    if (info?.max_duration) elements.duration.max = String(info.max_duration);
    const limits = info?.min_duration
      ? `Length ${info.min_duration}–${info.max_duration} s. `
      : "";
    this.hint.textContent = refused.length
      ? `${limits}The ${info?.name ?? name} engine does not take ${refused.join(", ")}: ` +
        "describe them in the prompt instead."
      : limits;
  }

  /** The form as a POST /generate body: empty fields are left to the server's settings. */
  body() {
    const { elements } = this.form;
    const body = { prompt: elements.prompt.value.trim() };
    for (const [name, parse] of Object.entries(NUMBERS)) {
      const input = elements[name];
      if (!input.disabled && input.value !== "") body[name] = parse(input.value);
    }
    for (const name of CHOICES) {
      const input = elements[name];
      if (!input.disabled && input.value) body[name] = input.value;
    }
    if (!elements.loop.disabled && elements.loop.checked) body.loop = true;
    if (!elements.instruments.disabled) {
      const instruments = elements.instruments.value
        .split(",")
        .map((word) => word.trim())
        .filter(Boolean);
      if (instruments.length) body.instruments = instruments;
    }
    return body;
  }

  /** Put a request's settings into the form, so that the next change starts from them. */
  fill(body) {
    const { elements } = this.form;
    this.form.reset();
    elements.prompt.value = body.prompt ?? "";
    elements.engine.value = body.engine ?? "";
    if (elements.engine.value !== (body.engine ?? "")) elements.engine.value = "";
    this.applyEngine();
    for (const name of [...Object.keys(NUMBERS), ...CHOICES]) {
      if (name !== "engine" && body[name] !== undefined) elements[name].value = String(body[name]);
    }
    elements.loop.checked = Boolean(body.loop);
    elements.instruments.value = (body.instruments ?? []).join(", ");
  }

  /** Hold the Generate button while the server's rate limit says to wait. */
  hold(seconds) {
    this.heldUntil = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.ceil((this.heldUntil - Date.now()) / 1000);
      if (left > 0) {
        this.button.disabled = true;
        this.button.textContent = `Generate (wait ${left} s)`;
        setTimeout(tick, 1000);
      } else {
        this.button.disabled = false;
        this.button.textContent = "Generate";
      }
    };
    tick();
  }

  async submit(body) {
    if (!body.prompt) {
      showError(new Error("Write a prompt first."));
      this.form.elements.prompt.focus();
      return null;
    }
    this.button.disabled = true;
    try {
      const job = await request(`${API}/generate`, { method: "POST", body });
      this.onSubmitted(job);
      return job;
    } catch (error) {
      showError(error, "Not queued");
      if (error.retryAfter) this.hold(error.retryAfter);
      return null;
    } finally {
      if (Date.now() >= this.heldUntil) this.button.disabled = false;
    }
  }
}

/** The panel under the form: the newest job sent from this page and what the engine made of it. */
export class LastJob {
  constructor({ panel, status, details }) {
    Object.assign(this, { panel, status, details });
    this.jobId = null;
    this.prompt = "";
    this.haveNotes = false;
    this.lastStage = null;
    this.fetching = false;
  }

  watch(job) {
    this.jobId = job.id;
    this.prompt = job.request.prompt;
    this.haveNotes = false;
    this.lastStage = null;
    this.panel.hidden = false;
    this.details.replaceChildren();
    this.show(job.status, job.stage, job.progress);
  }

  /** A progress/end event of any job; only the watched one matters here. */
  update(event) {
    if (event.id !== this.jobId) return;
    this.show(event.status, event.stage, event.progress, event.error);
    // The engine's reading of the prompt lands on the job record as it starts, its full notes
    // (parts, sections…) when it ends: look when the stage moves on until there are notes,
    // and once more at the end.
    const finished = ["completed", "failed", "cancelled"].includes(event.status);
    if ((!this.haveNotes && event.stage !== this.lastStage) || finished) this.refresh();
    this.lastStage = event.stage;
  }

  show(status, stage, progress, error) {
    const percent = Math.round((progress ?? 0) * 100);
    const where = status === "running" && stage ? ` (${stage}, ${percent} %)` : "";
    const why = error ? `: ${error}` : "";
    this.status.textContent = `“${shorten(this.prompt, 60)}” is ${status}${where}${why}.`;
    this.panel.dataset.status = status;
  }

  async refresh() {
    if (this.fetching || !this.jobId) return;
    this.fetching = true;
    const id = this.jobId;
    try {
      const job = await request(`${API}/jobs/${id}`);
      if (id !== this.jobId) return;
      if (Object.keys(job.notes ?? {}).length || job.engine_used) {
        renderNotes(this.details, job);
        this.haveNotes = Object.keys(job.notes ?? {}).length > 0;
      }
    } catch (error) {
      showError(error, "Could not read the job");
    } finally {
      this.fetching = false;
    }
  }
}

function text(value) {
  if (Array.isArray(value)) return value.map(text).join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return String(Math.round(value * 100) / 100);
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The engine's interpretation in words, as `dgx-music jobs show` prints it. */
export function renderNotes(list, job) {
  const rows = [];
  const notes = job.notes ?? {};
  if (job.engine_used) rows.push(["Engine", job.engine_used]);
  if (notes.engine_choice?.reason) rows.push(["Why this engine", notes.engine_choice.reason]);
  const interpretation = notes.interpretation;
  if (interpretation && typeof interpretation === "object") {
    for (const [name, decision] of Object.entries(interpretation)) {
      if (!decision || typeof decision !== "object" || Array.isArray(decision)) continue;
      const value = decision.value;
      if (value === null || value === undefined || value === "" ||
          (Array.isArray(value) && !value.length)) continue;
      const matched = Array.isArray(decision.matched)
        ? decision.matched.join(", ")
        : decision.matched;
      const origin = matched ? `from “${matched}”` : decision.source || "default";
      rows.push([name[0].toUpperCase() + name.slice(1), `${text(value)} (${origin})`]);
    }
    if (interpretation.understood_nothing) {
      rows.push(["Note", "nothing musical recognised in the prompt: defaults used"]);
    }
    for (const [label, key] of [["Left to defaults", "defaulted"], ["Ignored", "ignored"],
      ["Words not used", "unused_words"]]) {
      if (interpretation[key]?.length) rows.push([label, text(interpretation[key])]);
    }
  }
  for (const [label, key] of [["Model", "model"], ["Device", "device"], ["Precision", "dtype"],
    ["Parts", "parts"]]) {
    if (notes[key] !== undefined && notes[key] !== null) rows.push([label, text(notes[key])]);
  }
  list.replaceChildren(
    ...rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]),
  );
}
