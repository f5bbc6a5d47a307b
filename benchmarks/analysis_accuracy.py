"""How well analyse() measures tempo, key and loudness on music this project did not compose.

Builds (or reuses) the labelled set of ``benchmarks/evalset.py`` (fluidsynth + FluidR3_GM renders
of MIDI pieces in five styles, 60-180 BPM, all 24 keys per style), runs
``dgx_music.audio.analysis.analyse`` on every piece and prints first what the set is, then the
headline figures against the goals (tempo Acc1 >= 95 %, Acc2 100 %, key exact >= 90 %, MIREX
>= 0.93, loudness within 0.2 LU / 0.3 dB of ffmpeg) with the baselines beside them, then per
style and overall:

* tempo Acc1 (within 4 % of the label) and Acc2 (within 4 % of the label x 1/3, 1/2, 1, 2 or 3),
  ours and the baseline ``librosa.beat.beat_track`` (default settings, same audio, same process);
* key exact % and MIREX weighted score (1 exact, 0.5 fifth with the same mode, 0.3 relative,
  0.2 parallel), ours and the baseline "Krumhansl-Kessler profiles correlated with the mean
  librosa chroma_stft";
* integrated loudness and true peak, ours against ffmpeg's ebur128 filter (max |delta|, the
  worst file, and whether within 0.2 LU / 0.3 dB);
* calibration of analyse()'s ``bpm_confidence`` and ``key_confidence``: tempo Acc1 and key
  exact accuracy per confidence bin (< 0.5, 0.5-0.8, >= 0.8, none), over the whole set;
* analyse() wall time per clip (mean, max), and the list of misses.

``--own N`` also evaluates N clips of the project's own symbolic engine (the prompt grid,
rendering and post-processing of ``benchmarks/symbolic_accuracy.py``) and prints their figures
separately.

Usage::

    .venv/bin/python benchmarks/analysis_accuracy.py [--cache DIR] [--count-per-style N]
        [--workers W] [--styles a,b] [--no-baseline] [--own N] [--json FILE]

Needs the ``fluidsynth`` CLI, /usr/share/sounds/sf2/FluidR3_GM.sf2 and ``ffmpeg``; librosa for
the baselines (skip them with ``--no-baseline``). The set is cached in ``--cache`` (default
``~/.cache/dgx-music-evalset``); a re-run renders nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dgx_music.audio.analysis import analyse
from dgx_music.domain import AudioClip
from evalset import STYLE_TEMPO, STYLES, Piece, build_evalset, ffmpeg_loudness

TOLERANCE = 0.04
ACC2_FACTORS = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)
LUFS_TOLERANCE, TP_TOLERANCE = 0.2, 0.3
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
DEFAULT_CACHE = Path.home() / ".cache" / "dgx-music-evalset"
# Goals from the issue: tempo Acc1 and Acc2 %, key exact %, MIREX score (0-1).
ACC1_GOAL, ACC2_GOAL, KEY_GOAL, MIREX_GOAL = 95.0, 100.0, 90.0, 0.93
# Confidence bins for the calibration table: (label, low inclusive, high exclusive).
CONFIDENCE_BINS = (("< 0.5", 0.0, 0.5), ("0.5-0.8", 0.5, 0.8), (">= 0.8", 0.8, np.inf))


@dataclass
class Result:
    id: str
    style: str
    bpm: float  # label
    key: str  # label
    our_bpm: float | None
    our_key: str | None
    our_lufs: float
    our_tp: float
    analysis_s: float
    ffmpeg_lufs: float
    ffmpeg_tp: float
    our_bpm_confidence: float | None = None
    our_key_confidence: float | None = None
    librosa_bpm: float | None = None
    kk_key: str | None = None


def tempo_ok(label: float, estimate: float | None, factors: Sequence[float] = (1.0,)) -> bool:
    if estimate is None:
        return False
    return any(abs(estimate - label * f) <= TOLERANCE * label * f for f in factors)


def mirex(label: str, estimate: str | None) -> float:
    """MIREX key score: 1 exact, 0.5 fifth (same mode), 0.3 relative, 0.2 parallel, else 0."""
    if estimate is None:
        return 0.0
    (l_root, l_mode), (e_root, e_mode) = label.split(), estimate.split()
    lpc, epc = NOTE_NAMES.index(l_root), NOTE_NAMES.index(e_root)
    if (lpc, l_mode) == (epc, e_mode):
        return 1.0
    if l_mode == e_mode:
        return 0.5 if (epc - lpc) % 12 in (5, 7) else 0.0
    relative = (lpc + (9 if l_mode == "major" else 3)) % 12
    if epc == relative:
        return 0.3
    return 0.2 if epc == lpc else 0.0


def kk_key(chroma_mean: np.ndarray) -> str:
    """The key whose rotated Krumhansl-Kessler profile correlates best with the mean chroma."""
    best, best_r = "C major", -np.inf
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(np.roll(profile, tonic), chroma_mean)[0, 1])
            if r > best_r:
                best, best_r = f"{NOTE_NAMES[tonic]} {mode}", r
    return best


def evaluate(job: tuple[Piece, bool]) -> Result:
    piece, baseline = job
    samples, rate = sf.read(piece.wav, dtype="float32", always_2d=True)
    clip = AudioClip(samples, rate)
    start = time.perf_counter()
    ours = analyse(clip)
    elapsed = time.perf_counter() - start
    ff_lufs, ff_tp = ffmpeg_loudness(piece.wav)
    result = Result(
        piece.id, piece.style, piece.bpm, piece.key, ours.bpm, ours.key, ours.lufs,
        ours.true_peak, elapsed, ff_lufs, ff_tp, ours.bpm_confidence, ours.key_confidence,
    )  # fmt: skip
    if baseline:
        import librosa

        mono = samples.mean(axis=1)
        tempo, _beats = librosa.beat.beat_track(y=mono, sr=rate)
        result.librosa_bpm = float(np.atleast_1d(tempo)[0])
        chroma = librosa.feature.chroma_stft(y=mono, sr=rate)
        result.kk_key = kk_key(chroma.mean(axis=1))
    return result


def _pct(hits: int, n: int) -> str:
    return f"{100 * hits / n:5.1f}" if n else "  n/a"


def describe_set(pieces: Sequence[Piece], cache: Path) -> None:
    """The set in one block: size, styles with their tempo ranges and counts, keys, source."""
    styles = [s for s in STYLES if any(p.style == s for p in pieces)]
    keys = {p.key for p in pieces}
    print(
        f"evaluation set: {len(pieces)} pieces, {len(styles)} styles, {len(keys)} keys "
        f"(fluidsynth + FluidR3_GM renders of MIDI written by benchmarks/evalset.py; {cache})"
    )
    for style in styles:
        group = [p for p in pieces if p.style == style]
        low, high = STYLE_TEMPO[style]
        bpms = [p.bpm for p in group]
        print(
            f"  {style:14s} {len(group):3d} pieces, tempo range {low:.0f}-{high:.0f} BPM "
            f"(labels {min(bpms):.1f}-{max(bpms):.1f}), {len({p.key for p in group})} keys"
        )


def _fraction(hits: float, n: int) -> float:
    return 100 * hits / n if n else float("nan")


def headline(results: list[Result], baseline: bool) -> None:
    """The figures the issue asks for, each with its goal, the baseline and whether it is met."""
    n = len(results)
    ours = {
        "acc1": _fraction(sum(tempo_ok(r.bpm, r.our_bpm) for r in results), n),
        "acc2": _fraction(sum(tempo_ok(r.bpm, r.our_bpm, ACC2_FACTORS) for r in results), n),
        "key": _fraction(sum(r.our_key == r.key for r in results), n),
        "mirex": sum(mirex(r.key, r.our_key) for r in results) / n,
    }
    base: dict[str, float | None] = dict.fromkeys(ours)
    if baseline:
        base = {
            "acc1": _fraction(sum(tempo_ok(r.bpm, r.librosa_bpm) for r in results), n),
            "acc2": _fraction(
                sum(tempo_ok(r.bpm, r.librosa_bpm, ACC2_FACTORS) for r in results), n
            ),
            "key": _fraction(sum(r.kk_key == r.key for r in results), n),
            "mirex": sum(mirex(r.key, r.kk_key) for r in results) / n,
        }
    d_lufs = max(abs(r.our_lufs - r.ffmpeg_lufs) for r in results)
    d_tp = max(abs(r.our_tp - r.ffmpeg_tp) for r in results)
    none = "n/a (--no-baseline)"
    rows = [
        ("tempo Acc1", f"{ours['acc1']:.1f} %", f">= {ACC1_GOAL:.0f} %",
         ours["acc1"] >= ACC1_GOAL,
         none if base["acc1"] is None else f"{base['acc1']:.1f} % (librosa beat_track)"),
        ("tempo Acc2", f"{ours['acc2']:.1f} %", f"{ACC2_GOAL:.0f} %", ours["acc2"] >= ACC2_GOAL,
         none if base["acc2"] is None else f"{base['acc2']:.1f} % (librosa beat_track)"),
        ("key exact", f"{ours['key']:.1f} %", f">= {KEY_GOAL:.0f} %", ours["key"] >= KEY_GOAL,
         none if base["key"] is None else f"{base['key']:.1f} % (Krumhansl-Kessler)"),
        ("key MIREX", f"{ours['mirex']:.3f}", f">= {MIREX_GOAL}", ours["mirex"] >= MIREX_GOAL,
         none if base["mirex"] is None else f"{base['mirex']:.3f} (Krumhansl-Kessler)"),
        ("max |dLUFS|", f"{d_lufs:.2f} LU", f"<= {LUFS_TOLERANCE} LU", d_lufs <= LUFS_TOLERANCE,
         "reference: ffmpeg ebur128"),
        ("max |dTP|", f"{d_tp:.2f} dB", f"<= {TP_TOLERANCE} dB", d_tp <= TP_TOLERANCE,
         "reference: ffmpeg ebur128"),
    ]  # fmt: skip
    print(f"\n{'figure':12s} {'ours':>9s}  {'goal':10s} {'met':4s} baseline")
    for name, value, goal, met, base_text in rows:
        print(f"{name:12s} {value:>9s}  {goal:10s} {'yes' if met else 'NO':4s} {base_text}")
    print()


def calibration(results: list[Result]) -> None:
    """Tempo Acc1 and key exact accuracy per bin of analyse()'s own confidence, overall."""
    print("confidence calibration (overall; accuracy of the results in each confidence bin):")
    print(f"  {'confidence':10s} | {'tempo n':>7s} {'Acc1 %':>6s} | {'key n':>5s} {'exact %':>7s}")
    for label, low, high in (*CONFIDENCE_BINS, ("none", None, None)):

        def inside(value: float | None, low: float | None = low, high: float | None = high) -> bool:
            if low is None or high is None:
                return value is None
            return value is not None and low <= value < high

        tempo = [r for r in results if inside(r.our_bpm_confidence)]
        key = [r for r in results if inside(r.our_key_confidence)]
        acc1 = sum(tempo_ok(r.bpm, r.our_bpm) for r in tempo)
        exact = sum(r.our_key == r.key for r in key)
        print(
            f"  {label:10s} | {len(tempo):7d} {_pct(acc1, len(tempo)):>6s} | "
            f"{len(key):5d} {_pct(exact, len(key)):>7s}"
        )


def report(results: list[Result], baseline: bool) -> None:
    groups = [(style, [r for r in results if r.style == style]) for style in STYLES]
    groups = [(s, g) for s, g in groups if g] + [("overall", results)]
    head = f"{'style':14s} {'n':>3s} | {'ours Acc1':>9s} {'Acc2':>5s} {'key':>5s} {'MIREX':>5s}"
    if baseline:
        head += f" | {'librosa Acc1':>12s} {'Acc2':>5s} | {'KK key':>6s} {'MIREX':>5s}"
    print(head)
    print("-" * len(head))
    for style, group in groups:
        n = len(group)
        acc1 = sum(tempo_ok(r.bpm, r.our_bpm) for r in group)
        acc2 = sum(tempo_ok(r.bpm, r.our_bpm, ACC2_FACTORS) for r in group)
        key = sum(r.our_key == r.key for r in group)
        score = sum(mirex(r.key, r.our_key) for r in group) / n
        line = (
            f"{style:14s} {n:3d} | {_pct(acc1, n):>9s} {_pct(acc2, n)} {_pct(key, n)} "
            f"{100 * score:5.1f}"
        )
        if baseline:
            b1 = sum(tempo_ok(r.bpm, r.librosa_bpm) for r in group)
            b2 = sum(tempo_ok(r.bpm, r.librosa_bpm, ACC2_FACTORS) for r in group)
            bk = sum(r.kk_key == r.key for r in group)
            bs = sum(mirex(r.key, r.kk_key) for r in group) / n
            line += f" | {_pct(b1, n):>12s} {_pct(b2, n)} | {_pct(bk, n):>6s} {100 * bs:5.1f}"
        print(line)
    print("(tempo within 4 %; Acc2 also accepts x1/3, x1/2, x2, x3; key and MIREX in %)")

    calibration(results)

    times = [r.analysis_s for r in results]
    print(f"analyse() per clip: mean {np.mean(times):.3f} s, max {max(times):.3f} s")

    d_lufs = [abs(r.our_lufs - r.ffmpeg_lufs) for r in results]
    d_tp = [abs(r.our_tp - r.ffmpeg_tp) for r in results]
    worst_l, worst_t = int(np.argmax(d_lufs)), int(np.argmax(d_tp))
    ok_l, ok_t = max(d_lufs) <= LUFS_TOLERANCE, max(d_tp) <= TP_TOLERANCE
    wl, wt = results[worst_l], results[worst_t]
    print(
        f"loudness vs ffmpeg ebur128 (ffmpeg prints 0.1 resolution): max |dLUFS| "
        f"{max(d_lufs):.2f} LU ({wl.id}: ours {wl.our_lufs:.2f}, ffmpeg {wl.ffmpeg_lufs:.1f}), "
        f"mean {np.mean(d_lufs):.2f}; within {LUFS_TOLERANCE} LU: {'yes' if ok_l else 'NO'}"
    )
    print(
        f"true peak vs ffmpeg: max |dTP| {max(d_tp):.2f} dB ({wt.id}: ours {wt.our_tp:.2f}, "
        f"ffmpeg {wt.ffmpeg_tp:.1f}), mean {np.mean(d_tp):.2f}; within {TP_TOLERANCE} dB: "
        f"{'yes' if ok_t else 'NO'}"
    )

    misses = [r for r in results if not tempo_ok(r.bpm, r.our_bpm) or r.our_key != r.key]
    if misses:
        print(f"misses ({len(misses)}; id | style | label | ours | librosa / KK):")
    for r in misses:
        tempo_flag = "" if tempo_ok(r.bpm, r.our_bpm) else " T"
        key_flag = "" if r.our_key == r.key else " K"
        extra = f" | {r.librosa_bpm:.2f} BPM {r.kk_key}" if r.librosa_bpm is not None else ""
        print(
            f"  {r.id:18s} {r.style:13s} | {r.bpm:7.2f} BPM {r.key:9s} | "
            f"{r.our_bpm} BPM {r.our_key}{extra} |{tempo_flag}{key_flag}"
        )


def own(count: int, cache: Path, workers: int) -> None:
    """Figures on the project's own symbolic-engine renders (benchmarks/symbolic_accuracy.py)."""
    from symbolic_accuracy import grid, run_case

    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(case, cache) for case in grid(count)]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        outcomes = pool.map(run_case, jobs, chunksize=1)
    n = len(outcomes)
    acc1 = sum(tempo_ok(o.asked_bpm, o.bpm) for o in outcomes)
    acc2 = sum(tempo_ok(o.asked_bpm, o.bpm, ACC2_FACTORS) for o in outcomes)
    keys = sum(o.key == o.asked_key for o in outcomes)
    score = sum(mirex(o.asked_key, o.key) for o in outcomes) / n
    print(
        f"\nown symbolic-engine renders ({n} clips, {time.perf_counter() - start:.0f} s): "
        f"Acc1 {_pct(acc1, n)} %, Acc2 {_pct(acc2, n)} %, key exact {_pct(keys, n)} %, "
        f"MIREX {100 * score:.1f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="evaluation set folder")
    parser.add_argument("--count-per-style", type=int, default=24)
    parser.add_argument(
        "--seed", type=int, default=0, help="another seed is a fresh set (use another --cache)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--styles", default=None, help="comma-separated subset of the styles")
    parser.add_argument("--no-baseline", action="store_true", help="skip the librosa baselines")
    parser.add_argument("--own", type=int, default=0, metavar="N", help="also N own renders")
    parser.add_argument("--json", type=Path, default=None, help="write per-piece results here")
    args = parser.parse_args()
    styles = None if args.styles is None else [s.strip() for s in args.styles.split(",")]

    start = time.perf_counter()
    pieces = build_evalset(
        args.cache,
        count_per_style=args.count_per_style,
        seed=args.seed,
        styles=styles,
        workers=args.workers,
    )
    built = time.perf_counter()
    describe_set(pieces, args.cache)
    baseline = not args.no_baseline
    jobs = [(piece, baseline) for piece in pieces]
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            results = pool.map(evaluate, jobs, chunksize=1)
    else:
        results = [evaluate(job) for job in jobs]
    done = time.perf_counter()
    print(
        f"set ready in {built - start:.1f} s, evaluated in {done - built:.1f} s "
        f"({args.workers} worker{'s' if args.workers != 1 else ''})"
    )
    headline(results, baseline)
    report(results, baseline)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    if args.own:
        own(args.own, args.cache / "symbolic", args.workers)


if __name__ == "__main__":
    main()
