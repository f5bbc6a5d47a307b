// DGX Music's web page: wires the Generate form, the queue and the library to the API, and
// owns the two dialogs (API key, delete confirmation). No framework, no build step: the
// browser loads these ES modules as they are.

import { API, onKeyNeeded, request, storedKey, storeKey } from "./api.js";
import { showError, showInfo, shorten } from "./dom.js";
import { bodyFromRequest, GenerateForm, LastJob } from "./generate.js";
import { Library } from "./library.js";
import { Queue } from "./queue.js";

const $ = (id) => document.getElementById(id);

// --- Dialogs ----------------------------------------------------------------------------------

/** Ask for an API key; resolves to the key, or null when the reader cancels. */
function askForKey(reason) {
  const dialog = $("key-dialog");
  const form = $("key-form");
  return new Promise((resolve) => {
    $("key-reason").textContent = reason;
    form.elements.key.value = "";
    $("key-forget").hidden = !storedKey();
    dialog.addEventListener(
      "close",
      () => {
        const key = form.elements.key.value.trim();
        if (dialog.returnValue === "forget") storeKey(null);
        resolve(dialog.returnValue === "use" && key ? key : null);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

$("key-cancel").addEventListener("click", () => $("key-dialog").close("cancel"));
$("key-forget").addEventListener("click", () => $("key-dialog").close("forget"));

/** A yes/no question in a modal dialog; resolves true for yes. */
function confirmAction(title, text) {
  const dialog = $("confirm-dialog");
  return new Promise((resolve) => {
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// --- Panels -----------------------------------------------------------------------------------

const lastJob = new LastJob({
  panel: $("last-job"),
  status: $("last-job-status"),
  details: $("interpretation"),
});

const generate = new GenerateForm({
  form: $("generate-form"),
  hint: $("engine-hint"),
  button: $("generate-button"),
  onSubmitted: (job) => {
    queue.add(job);
    lastJob.watch(job);
    const seed = job.seed !== null ? ` (seed ${job.seed})` : "";
    showInfo(`Queued “${shorten(job.request.prompt)}”${seed}.`);
  },
});

const connection = $("connection");
const CONNECTION_WORDS = {
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Not following progress",
};

const queue = new Queue({
  list: $("queue-list"),
  empty: $("queue-empty"),
  announcer: $("progress-announcer"),
  onEvent: (event) => lastJob.update(event),
  onCompleted: (event) => library.load({ highlight: event.track_id }),
  onConnection: (state, error) => {
    connection.dataset.state = state;
    connection.textContent = CONNECTION_WORDS[state] ?? state;
    if (state === "stopped" && error) showError(error, "Live progress stopped");
  },
  onResync: () => library.load(),
});

/** Queue a job like the track's: the same settings, with its seed or a new one. */
async function again(track, keepSeed) {
  try {
    const job = await request(`${API}/jobs/${track.job_id}`);
    const body = bodyFromRequest(job.request, keepSeed ? track.seed : null);
    generate.fill(body); // the settings stay in the form for the next change
    await generate.submit(body);
  } catch (error) {
    showError(error, "Could not read the track's settings");
  }
}

const library = new Library({
  form: $("filters"),
  list: $("tracks"),
  summary: $("library-summary"),
  previous: $("page-previous"),
  next: $("page-next"),
  pageNumber: $("page-number"),
  actions: {
    again: (track) => again(track, true),
    vary: (track) => again(track, false),
    confirm: confirmAction,
  },
});

// Only one clip plays at a time.
document.addEventListener(
  "play",
  (event) => {
    for (const audio of document.querySelectorAll("audio")) {
      if (audio !== event.target) audio.pause();
    }
  },
  true,
);

// --- Start ------------------------------------------------------------------------------------

async function loadEngines() {
  try {
    const inventory = await request(`${API}/engines`);
    generate.setEngines(inventory);
    library.setEngines(inventory.engines.map((e) => e.name).filter((name) => name !== "auto"));
  } catch (error) {
    showError(error, "Could not list the engines");
  }
}

function start() {
  loadEngines();
  library.load();
  queue.start();
}

onKeyNeeded(askForKey);
$("key-button").addEventListener("click", async () => {
  const had = storedKey();
  const key = await askForKey(
    had
      ? "This page sends a key. Enter another one, or forget it."
      : "Enter the API key this page should send.",
  );
  if (key) storeKey(key);
  // A new key (or none) may open or close doors: load everything again with it.
  if (storedKey() !== had) start();
});

start();
