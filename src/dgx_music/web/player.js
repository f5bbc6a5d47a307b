// A track's player: an <audio> element, a waveform drawn on a <canvas> from the API's peaks
// (GET /tracks/{id}/waveform) and a playhead. The canvas is also the seek bar: a click seeks
// to that point, and as an ARIA slider it takes the keyboard (arrows ±1 s, with Shift ±5 s,
// Page Up/Down ±10 s, Home, End; Space or Enter plays and pauses).

import { formatTime } from "./dom.js";

const STEP = 1;
const BIG_STEP = 5;
const PAGE_STEP = 10;

export class WaveformPlayer {
  /**
   * @param {object} parts
   * @param {HTMLCanvasElement} parts.canvas
   * @param {HTMLAudioElement} parts.audio
   * @param {HTMLElement} parts.time - shows "position / length"
   * @param {number} parts.duration - the track's length (s), until the audio says otherwise
   * @param {() => Promise<string>} parts.source - the URL to play, asked for on first play
   * @param {(error: unknown) => void} parts.onError
   */
  constructor({ canvas, audio, time, duration, source, onError }) {
    Object.assign(this, { canvas, audio, time, source, onError });
    this.knownDuration = duration;
    this.peaks = null;
    this.pendingSeek = null; // a position asked for before the audio could take it
    this.loading = null;
    this.frame = 0;

    canvas.addEventListener("pointerdown", (event) => {
      const box = canvas.getBoundingClientRect();
      this.seek(((event.clientX - box.left) / box.width) * this.duration);
      canvas.focus();
    });
    canvas.addEventListener("keydown", (event) => this.key(event));
    for (const name of ["timeupdate", "loadedmetadata", "durationchange", "seeked", "ended"]) {
      audio.addEventListener(name, () => this.update());
    }
    audio.addEventListener("loadedmetadata", () => {
      if (this.pendingSeek !== null) {
        audio.currentTime = this.pendingSeek;
        this.pendingSeek = null;
      }
    });
    audio.addEventListener("play", () => this.animate());
    // Redraw at the new size when the layout changes (a narrow window, a rotated phone).
    new ResizeObserver(() => this.draw()).observe(canvas);
    this.update();
  }

  get duration() {
    return Number.isFinite(this.audio.duration) ? this.audio.duration : this.knownDuration;
  }

  get position() {
    if (this.pendingSeek !== null) return this.pendingSeek;
    return this.audio.currentTime || 0;
  }

  get playing() {
    return !this.audio.paused && !this.audio.ended;
  }

  setPeaks(waveform) {
    this.peaks = waveform;
    this.draw();
  }

  /** Load `url` in place of what plays now, keeping the position (stems are as long as the mix). */
  async use(url) {
    const wasPlaying = this.playing;
    const at = this.position;
    this.audio.src = url;
    this.pendingSeek = at > 0 ? at : null;
    if (wasPlaying) await this.audio.play();
  }

  async ensureLoaded() {
    if (this.audio.getAttribute("src")) return;
    this.loading ??= this.source().then((url) => {
      const at = this.pendingSeek;
      this.audio.src = url;
      this.pendingSeek = at;
    });
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
  }

  async toggle() {
    try {
      if (this.playing) {
        this.audio.pause();
        return;
      }
      await this.ensureLoaded();
      await this.audio.play();
    } catch (error) {
      if (error?.name !== "AbortError") this.onError(error);
    }
  }

  seek(seconds) {
    const target = Math.min(Math.max(seconds, 0), this.duration || 0);
    if (this.audio.readyState >= HTMLMediaElement.HAVE_METADATA) this.audio.currentTime = target;
    else this.pendingSeek = target;
    this.update();
  }

  key(event) {
    const step = event.shiftKey ? BIG_STEP : STEP;
    const moves = {
      ArrowLeft: -step,
      ArrowDown: -step,
      ArrowRight: step,
      ArrowUp: step,
      PageDown: -PAGE_STEP,
      PageUp: PAGE_STEP,
    };
    if (event.key in moves) this.seek(this.position + moves[event.key]);
    else if (event.key === "Home") this.seek(0);
    else if (event.key === "End") this.seek(this.duration);
    else if (event.key === " " || event.key === "Enter") this.toggle();
    else return;
    event.preventDefault();
  }

  /** Move the playhead every frame while playing; timeupdate alone comes ~4 times a second. */
  animate() {
    cancelAnimationFrame(this.frame);
    const tick = () => {
      this.update();
      if (this.playing) this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  update() {
    const position = this.position;
    const duration = this.duration;
    const text = `${formatTime(position)} / ${formatTime(duration)}`;
    if (this.time.textContent !== text) this.time.textContent = text;
    this.canvas.setAttribute("aria-valuemax", duration.toFixed(1));
    this.canvas.setAttribute("aria-valuenow", position.toFixed(1));
    this.canvas.setAttribute(
      "aria-valuetext",
      `${formatTime(position)} of ${formatTime(duration)}`,
    );
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    const style = getComputedStyle(canvas);
    const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    context.clearRect(0, 0, width, height);
    const played = this.duration > 0 ? this.position / this.duration : 0;
    const playhead = Math.round(played * width);
    const middle = height / 2;
    const playedColour = colour("--wave-played", "#1d3557");
    const waveColour = colour("--wave", "#8aa");

    if (this.peaks && this.peaks.max.length) {
      const { min, max } = this.peaks;
      // One vertical line per canvas pixel column, from the bucket under it.
      for (let x = 0; x < width; x += 1) {
        const i = Math.min(max.length - 1, Math.floor((x / width) * max.length));
        const top = middle - Math.max(max[i], 0) * middle;
        const bottom = middle - Math.min(min[i], 0) * middle;
        context.fillStyle = x < playhead ? playedColour : waveColour;
        context.fillRect(x, top, 1, Math.max(1, bottom - top));
      }
    } else {
      context.fillStyle = waveColour;
      context.fillRect(0, middle, width, Math.max(1, ratio));
    }
    context.fillStyle = colour("--playhead", "#e63946");
    context.fillRect(Math.min(playhead, width - 2 * ratio), 0, 2 * ratio, height);
  }
}
