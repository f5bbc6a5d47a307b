// The download menu of a library card: the mix in each format, each stem, the MIDI file and
// an Ardour session (POST /exports/ardour answers with a zip of the session folder).

import { API, download } from "./api.js";
import { el, showError, showInfo } from "./dom.js";

const MIX_FORMATS = [
  ["wav", "WAV"],
  ["flac", "FLAC"],
  ["mp3", "MP3"],
  ["ogg", "Ogg Vorbis"],
  ["opus", "Opus"],
];

/** A <details> menu of download buttons for `track`; `label` names it for screen readers. */
export function downloadMenu(track, label) {
  const base = track.file_name.replace(/\.[^.]+$/, "");
  const button = (text, path, name, what, options = {}) =>
    el("button", {
      type: "button",
      class: "small",
      text,
      aria: { label: `Download ${what} of “${label}”` },
      on: {
        click: async (event) => {
          const target = event.currentTarget;
          target.disabled = true;
          try {
            const saved = await download(path, name, options);
            showInfo(`Downloading ${saved}`);
          } catch (error) {
            showError(error, `Could not download ${what}`);
          } finally {
            target.disabled = false;
          }
        },
      },
    });
  return el(
    "details",
    { class: "downloads" },
    el("summary", { text: "Download" }),
    el(
      "div",
      { class: "download-list" },
      el("p", { class: "group" }, "Mix: "),
      MIX_FORMATS.map(([format, text]) =>
        button(
          text,
          `${track.links.audio}?format=${format}`,
          `${base}.${format}`,
          `the mix as ${text}`,
        ),
      ),
      track.stems.length ? el("p", { class: "group" }, "Stems: ") : null,
      track.stems.map((name) =>
        button(
          name,
          track.links.stems[name],
          `${base}-${name}.${track.format}`,
          `the ${name} stem`,
        ),
      ),
      track.links.midi ? el("p", { class: "group" }, "MIDI: ") : null,
      track.links.midi ? button("MIDI", track.links.midi, `${base}.mid`, "the MIDI file") : null,
      el("p", { class: "group" }, "DAW: "),
      button(
        "Ardour session",
        `${API}/exports/ardour`,
        `${base}.zip`,
        "an Ardour session",
        { method: "POST", body: { track_ids: [track.id] } },
      ),
    ),
  );
}
