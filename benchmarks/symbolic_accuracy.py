"""How often analyse() measures the tempo and key the symbolic engine was asked to play.

The symbolic engine writes every note on a grid at exactly the requested tempo and in exactly the
requested key, so its output is a labelled test set that costs nothing to make. A grid of prompts
spans the 13 genres, 60-180 BPM and all 24 keys; each clip is generated, post-processed as the
service does (fades, then loudness normalisation) and analysed, and the measurement is compared
with what the engine says it played (``notes["bpm"]``, ``notes["key"]``).

Usage: ``python benchmarks/symbolic_accuracy.py [--count N] [--workers W] [--cache DIR]``.
``--cache`` keeps the post-processed clips as .npy files so repeated runs while working on the
analysis skip the rendering (about 1 s a clip); it is keyed by prompt, duration and seed only, so
empty it whenever the engine changes.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dgx_music.audio.analysis import analyse
from dgx_music.audio.dynamics import apply_fades
from dgx_music.audio.loudness import normalise_loudness
from dgx_music.domain import AudioClip, GenerationRequest
from dgx_music.engines.symbolic import SymbolicEngine
from dgx_music.engines.symbolic.prompt import GENRES as GENRE_PROFILES

GENRES = (
    "lofi hip hop", "boom bap", "trap", "house", "techno", "trance", "drum and bass",
    "synthwave", "pop", "rock", "jazz", "ambient", "cinematic",
)  # fmt: skip
ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
PITCH_CLASS = {name: index for index, name in enumerate(ROOTS)}
MIN_BPM, MAX_BPM = 60, 180
TEMPO_TOLERANCE = 0.02
DEFAULT_COUNT = 104  # 8 per genre


@dataclass(frozen=True)
class Case:
    prompt: str
    duration: float  # seconds
    seed: int


@dataclass(frozen=True)
class Outcome:
    case: Case
    asked_bpm: float
    asked_key: str
    bpm: float | None
    key: str | None
    analysis_s: float  # wall seconds spent in analyse()


def grid(count: int) -> list[Case]:
    """Deterministic prompts: genres in turn, each genre stepping through 60-180 BPM, keys
    stepped by fifths with the mode alternating so all 24 keys meet many genres and tempos."""
    cases = []
    for i in range(count):
        genre, rounds = GENRES[i % len(GENRES)], i // len(GENRES)
        # Each genre visits the whole tempo range (rounds 15 BPM apart), offset per genre.
        bpm = MIN_BPM + (rounds * 15 + (i % len(GENRES)) * 37) % (MAX_BPM - MIN_BPM + 1)
        root = ROOTS[(i * 7) % 12]
        mode = ("major", "minor")[(i + i // 12 + i // 26) % 2]  # every root and genre gets both
        duration = 20.0 + (i * 3) % 11
        cases.append(Case(f"{genre}, {bpm} bpm, {root} {mode}", duration, 1000 + i))
    return cases


def _render(case: Case, engine: SymbolicEngine) -> tuple[AudioClip, dict[str, object]]:
    request = GenerationRequest(prompt=case.prompt, duration=case.duration, seed=case.seed)
    result = engine.generate(request, lambda _s, _f: None, lambda: False)
    clip = normalise_loudness(apply_fades(result.mix, 0.01, 0.5), -16.0, -1.0).clip
    return clip, {"bpm": result.notes["bpm"], "key": result.notes["key"]}


def _cached(case: Case, cache: Path | None) -> tuple[AudioClip, float, str]:
    path = None
    if cache is not None:
        digest = hashlib.sha1(f"{case.prompt}|{case.duration}|{case.seed}".encode()).hexdigest()
        path = cache / f"{digest[:16]}.npz"
        if path.exists():
            data = np.load(path)
            clip = AudioClip(data["samples"], int(data["rate"]))
            return clip, float(data["bpm"]), str(data["key"])
    clip, notes = _render(case, SymbolicEngine())
    bpm, key = float(str(notes["bpm"])), str(notes["key"])
    if path is not None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, samples=clip.samples, rate=clip.sample_rate, bpm=bpm, key=key)
        tmp.replace(path)
    return clip, bpm, key


def run_case(args: tuple[Case, Path | None]) -> Outcome:
    case, cache = args
    clip, asked_bpm, asked_key = _cached(case, cache)
    start = time.perf_counter()
    measured = analyse(clip)
    elapsed = time.perf_counter() - start
    return Outcome(case, asked_bpm, asked_key, measured.bpm, measured.key, elapsed)


def _tempo_ok(asked: float, measured: float | None, factors: tuple[float, ...]) -> bool:
    if measured is None:
        return False
    return any(abs(measured - asked * f) <= TEMPO_TOLERANCE * asked * f for f in factors)


def _in_usual_range(outcome: Outcome) -> bool:
    """Whether the tempo asked for lies in the genre's usual range (its prompt defaults), where
    the genre's groove means what it usually means."""
    profile = GENRE_PROFILES.get(outcome.case.prompt.split(",")[0])
    return profile is not None and profile.bpm_low <= outcome.asked_bpm <= profile.bpm_high


def mirex_score(asked: str, measured: str | None) -> float:
    """MIREX key weighting: 1 exact, 0.5 fifth (same mode), 0.3 relative, 0.2 parallel."""
    if measured is None:
        return 0.0
    (a_root, a_mode), (m_root, m_mode) = asked.split(), measured.split()
    a_pc, m_pc = PITCH_CLASS[a_root], PITCH_CLASS[m_root]
    if (a_pc, a_mode) == (m_pc, m_mode):
        return 1.0
    if a_mode == m_mode and (m_pc - a_pc) % 12 in (5, 7):
        return 0.5
    if a_mode != m_mode:
        relative = (a_pc + (9 if a_mode == "major" else 3)) % 12
        if m_pc == relative:
            return 0.3
        if m_pc == a_pc:
            return 0.2
    return 0.0


def report(outcomes: list[Outcome], wall_s: float) -> None:
    n = len(outcomes)
    exact = [o for o in outcomes if _tempo_ok(o.asked_bpm, o.bpm, (1.0,))]
    octave = [o for o in outcomes if _tempo_ok(o.asked_bpm, o.bpm, (0.5, 1.0, 2.0))]
    keys = [o for o in outcomes if o.key == o.asked_key]
    usual = [o for o in outcomes if _in_usual_range(o)]
    mirex = sum(mirex_score(o.asked_key, o.key) for o in outcomes) / n
    per_30s = [o.analysis_s * 30.0 / o.case.duration for o in outcomes]
    print(f"clips: {n}, wall time {wall_s:.1f} s")
    print(f"BPM within 2%:                   {100 * len(exact) / n:5.1f} %  (target >= 95 %)")
    print(f"BPM within 2%, x2 / x1/2 allowed: {100 * len(octave) / n:5.1f} %")
    if usual:
        hits = sum(o in exact for o in usual)
        print(f"BPM within 2%, genre's usual tempo range ({len(usual)} clips): "
              f"{100 * hits / len(usual):5.1f} %")  # fmt: skip
    print(f"key exact:                       {100 * len(keys) / n:5.1f} %  (target >= 90 %)")
    print(f"key MIREX weighted score:        {100 * mirex:5.1f} %")
    print(
        f"analysis time per clip: mean {np.mean([o.analysis_s for o in outcomes]):.3f} s, "
        f"scaled to 30 s: median {np.median(per_30s):.3f} s, max {max(per_30s):.3f} s"
    )
    misses = [o for o in outcomes if o not in exact or o.key != o.asked_key]
    if misses:
        print("misses (prompt | asked | measured):")
    for o in misses:
        print(f"  {o.case.prompt!r} ({o.case.duration:.0f} s, seed {o.case.seed}) | "
              f"{o.asked_bpm:g} BPM {o.asked_key} | {o.bpm} BPM {o.key}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="prompts in the grid")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep rendered clips")
    args = parser.parse_args()
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    jobs = [(case, args.cache) for case in grid(args.count)]
    start = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            outcomes = pool.map(run_case, jobs, chunksize=1)
    else:
        outcomes = [run_case(job) for job in jobs]
    report(outcomes, time.perf_counter() - start)


if __name__ == "__main__":
    main()
