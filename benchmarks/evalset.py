"""A labelled evaluation set for the analysis that this project did not compose itself.

Writes MIDI pieces with a known tempo and key (pretty_midi; the music itself is written by
``benchmarks/evalset_compose.py``) in five styles and renders each with
the ``fluidsynth`` CLI and the General MIDI SoundFont FluidR3_GM.sf2 (Debian
``fluid-soundfont-gm``). Everything is deterministic from ``--seed``; the audio is generated,
never committed.

Styles (24 pieces each by default, one per key, tempos stratified over the style's range):

* ``four_on_floor`` 90-150 BPM: kick on every beat, off-beat open hats, clap/snare on 2 and 4.
* ``backbeat`` 60-180 BPM: kick around 1 and 3 with variations, snare on 2 and 4, 8th/16th hats.
* ``half_time`` 120-180 BPM (notated at the fast tempo): snare/clap on beat 3 only, 16th hats
  with triplet rolls, programmed near-even as trap hats are. The audible 16th hats are what
  makes producers notate a trap or half-time beat at 140 rather than 70; with 8th hats (or
  16ths so soft that only the 8ths are heard) the same groove is a backbeat at half the tempo
  with 16th hats, and its label would be a convention no listener could recover.
* ``swung`` 60-180 BPM: jazz ride with swung 8ths, hi-hat foot on 2 and 4, walking bass; or a
  shuffle.
* ``drumless`` 60-160 BPM: keys only (piano, e-piano, organ, strings), chords with a melody or
  an arpeggio, bass optional.

The label is exact: ``bpm`` is the tempo read back from the written MIDI file, ``key`` the key
the piece was written in ("A minor", "F# major", sharps only). The wav is cut at ``duration``
seconds (20 ms fade-out) and peak-scaled to -1..-6 dBFS, 24-bit PCM, 44.1 kHz stereo.

Each piece gets ``<id>.mid``, ``<id>-<hash>.wav`` (hash of the MIDI bytes and render settings,
so a re-run renders only what changed) and ``<id>.json`` (the manifest).

Usage: ``python benchmarks/evalset.py --out DIR [--count-per-style N] [--duration S]
[--seed N] [--styles a,b] [--workers W]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

if __package__:  # imported as benchmarks.evalset
    from .evalset_compose import NOTE_NAMES, Spec, compose
else:  # run as a script, or imported as the sibling module ``evalset`` (benchmarks/ on sys.path)
    from evalset_compose import NOTE_NAMES, Spec, compose

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 44100
GAIN = 0.5
RENDER_VERSION = "1"  # bump when the rendering/trim code changes

KEYS = tuple(f"{n} {m}" for m in ("major", "minor") for n in NOTE_NAMES)

STYLE_TEMPO: dict[str, tuple[float, float]] = {
    "four_on_floor": (90.0, 150.0),
    "backbeat": (60.0, 180.0),
    "half_time": (120.0, 180.0),
    "swung": (60.0, 180.0),
    "drumless": (60.0, 160.0),
}
STYLES = tuple(STYLE_TEMPO)


@dataclass(frozen=True)
class Piece:
    id: str
    style: str
    bpm: float  # exact MIDI tempo
    key: str  # "A minor", "F# major"
    wav: Path
    midi: Path


def _specs(count_per_style: int, duration: float, seed: int, styles: Sequence[str]) -> list[Spec]:
    specs = []
    for s_index, style in enumerate(STYLES):
        if style not in styles:
            continue
        rng = np.random.default_rng([seed, s_index])
        low, high = STYLE_TEMPO[style]
        strata = rng.permutation(count_per_style)
        key_order = rng.permutation(len(KEYS))
        for i in range(count_per_style):
            # stratified: piece i gets its own slice of the tempo range, jittered inside it
            u = (strata[i] + rng.uniform(0.05, 0.95)) / count_per_style
            bpm = round(low + u * (high - low), 2)
            key = KEYS[int(key_order[i % len(KEYS)])]
            piece_seed = int(rng.integers(2**31))
            specs.append(Spec(f"{style}-{i:02d}", style, bpm, key, piece_seed, duration))
    return specs


def _read_tempo(data: bytes) -> float:
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    _, tempi = midi.get_tempo_changes()
    return float(tempi[0])


def _render(midi_path: Path, wav_path: Path, duration: float, peak_db: float) -> None:
    """fluidsynth fast render (float, 44.1 kHz stereo), cut at ``duration``, peak-scaled, 24-bit.
    One synthesis thread and a fixed period size keep the render byte-identical between runs."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "render.wav"
        cmd = [
            "fluidsynth", "-ni", "-q", "-g", str(GAIN), "-r", str(SAMPLE_RATE),
            "-T", "wav", "-O", "float", "-o", "synth.cpu-cores=1",
            "-F", str(raw), str(SOUNDFONT), str(midi_path),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not raw.exists():
            raise RuntimeError(f"fluidsynth failed ({done.returncode}): {done.stderr[-2000:]}")
        audio, rate = sf.read(raw, dtype="float32", always_2d=True)
    frames = round(duration * rate)
    audio = audio[:frames]
    if audio.shape[0] < frames:
        audio = np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
    fade = int(0.02 * rate)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio *= np.float32(10 ** (peak_db / 20) / peak)
    tmp_wav = wav_path.with_suffix(".tmp.wav")
    sf.write(tmp_wav, audio, rate, subtype="PCM_24")
    tmp_wav.replace(wav_path)


def check_tools() -> None:
    """Raise RuntimeError naming what is missing (fluidsynth CLI, FluidR3_GM.sf2)."""
    missing = []
    if shutil.which("fluidsynth") is None:
        missing.append("the fluidsynth CLI (apt-get install fluidsynth)")
    if not SOUNDFONT.exists():
        missing.append(f"{SOUNDFONT} (apt-get install fluid-soundfont-gm)")
    if missing:
        raise RuntimeError("cannot build the evaluation set, missing: " + "; ".join(missing))


_SUMMARY_I = re.compile(r"^\s*I:\s+(-?inf|-?[\d.]+) LUFS", re.MULTILINE)
_SUMMARY_PEAK = re.compile(r"^\s*Peak:\s+(-?inf|-?[\d.]+) dBFS", re.MULTILINE)


def ffmpeg_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of an audio file by ffmpeg's ebur128 filter.

    Parses the filter's end-of-stream summary (``I: -21.1 LUFS``, ``Peak: -18.1 dBFS``; one
    decimal). Raises RuntimeError when ffmpeg is missing or its output has no summary."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    cmd = [
        "ffmpeg", "-nostats", "-hide_banner", "-nostdin", "-i", str(path),
        "-filter_complex", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    summary = done.stderr.rpartition("Summary:")[2]
    lufs, peak = _SUMMARY_I.search(summary), _SUMMARY_PEAK.search(summary)
    if done.returncode != 0 or lufs is None or peak is None:
        raise RuntimeError(f"ffmpeg ebur128 failed on {path}: {done.stderr[-1500:]}")
    return float(lufs.group(1)), float(peak.group(1))


def _build_one(spec: Spec, directory: Path) -> Piece:
    data = compose(spec)
    bpm = _read_tempo(data)
    peak_db = -1.0 - 5.0 * (spec.seed % 1000) / 1000.0
    digest = hashlib.sha256(
        data + f"|{spec.duration}|{peak_db}|{GAIN}|{RENDER_VERSION}".encode()
    ).hexdigest()[:12]
    midi_path = directory / f"{spec.id}.mid"
    wav_path = directory / f"{spec.id}-{digest}.wav"
    if not midi_path.exists() or midi_path.read_bytes() != data:
        midi_path.write_bytes(data)
    if not wav_path.exists():
        for stale in directory.glob(f"{spec.id}-*.wav"):
            stale.unlink()
        _render(midi_path, wav_path, spec.duration, peak_db)
    manifest = {
        "id": spec.id, "style": spec.style, "bpm": bpm, "key": spec.key,
        "programs": spec.programs, "seed": spec.seed, "duration": spec.duration,
        "wav": wav_path.name, "mid": midi_path.name,
    }  # fmt: skip
    (directory / f"{spec.id}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return Piece(spec.id, spec.style, bpm, spec.key, wav_path, midi_path)


def build_evalset(
    directory: Path,
    *,
    count_per_style: int = 24,
    duration: float = 30.0,
    seed: int = 0,
    styles: Sequence[str] | None = None,
    workers: int = 2,
) -> list[Piece]:
    """Write (or reuse) the labelled pieces under ``directory`` and return them in order.

    Only pieces whose MIDI or render settings changed are re-rendered. Raises RuntimeError when
    fluidsynth or the SoundFont is missing, ValueError for an unknown style."""
    chosen = tuple(STYLES if styles is None else styles)
    unknown = set(chosen) - set(STYLES)
    if unknown:
        raise ValueError(f"unknown styles {sorted(unknown)}; known: {', '.join(STYLES)}")
    check_tools()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs = _specs(count_per_style, duration, seed, chosen)
    # The work is in the fluidsynth subprocesses, so threads are enough to run `workers` renders.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pieces = list(pool.map(lambda spec: _build_one(spec, directory), specs))
    index = [
        {"id": p.id, "style": p.style, "bpm": p.bpm, "key": p.key, "wav": p.wav.name}
        for p in pieces
    ]
    (directory / "manifest.json").write_text(json.dumps(index, indent=1) + "\n")
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the set into")
    parser.add_argument("--count-per-style", type=int, default=24)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per piece")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--styles", default=None, help="comma-separated subset of " + ",".join(STYLES)
    )
    parser.add_argument("--workers", type=int, default=2, help="concurrent fluidsynth renders")
    args = parser.parse_args()
    styles = None if args.styles is None else [s.strip() for s in args.styles.split(",")]
    pieces = build_evalset(
        args.out, count_per_style=args.count_per_style, duration=args.duration, seed=args.seed,
        styles=styles, workers=args.workers,
    )  # fmt: skip
    for p in pieces:
        print(f"{p.id:18s} {p.bpm:7.2f} BPM  {p.key:9s}  {p.wav}")
    print(f"{len(pieces)} pieces in {args.out}")


if __name__ == "__main__":
    main()
