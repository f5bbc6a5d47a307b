"""The analysis-accuracy figures over several independent evaluation sets, one row per seed.

One set of 120 pieces says little about how a rule generalises: a change tuned while looking at
one seed's misses can gain there and lose on the next. Each seed of ``benchmarks/evalset.py``
writes different pieces (tempos, keys, progressions, programs, grooves), so a decision is
honest only when checked on a seed rendered after it was made. This runs
``analysis_accuracy.evaluate`` on each seed's set (built or reused in ``ROOT/seedN``) and prints
the headline figures per seed, pooled, and the tempo misses grouped by style and by octave
(read at double, at half, or otherwise wrong), which is what the last sessions' rules were
chosen from.

Usage::

    .venv/bin/python benchmarks/analysis_seeds.py --root DIR [--seeds 0-5] [--workers 2]

About 1.5 min a seed with the sets cached, 3 min a seed building them (2 cores).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections import Counter
from pathlib import Path

from analysis_accuracy import (
    ACC1_GOAL,
    ACC2_FACTORS,
    ACC2_GOAL,
    KEY_GOAL,
    LUFS_TOLERANCE,
    MIREX_GOAL,
    TP_TOLERANCE,
    Result,
    evaluate,
    mirex,
    tempo_ok,
)
from evalset import build_evalset


def parse_seeds(text: str) -> list[int]:
    """``"0-5"``, ``"2,5"`` or ``"1-3,7"`` -> the seeds, in order, each once."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        for seed in range(int(low), int(high or low) + 1):
            if seed not in seeds:
                seeds.append(seed)
    return seeds


def figures(results: list[Result]) -> dict[str, float]:
    n = len(results)
    return {
        "acc1": 100 * sum(tempo_ok(r.bpm, r.our_bpm) for r in results) / n,
        "acc2": 100 * sum(tempo_ok(r.bpm, r.our_bpm, ACC2_FACTORS) for r in results) / n,
        "key": 100 * sum(r.our_key == r.key for r in results) / n,
        "mirex": sum(mirex(r.key, r.our_key) for r in results) / n,
        "lufs": max(abs(r.our_lufs - r.ffmpeg_lufs) for r in results),
        "tp": max(abs(r.our_tp - r.ffmpeg_tp) for r in results),
    }


def row(name: str, values: dict[str, float]) -> str:
    met = (
        values["acc1"] >= ACC1_GOAL
        and values["acc2"] >= ACC2_GOAL
        and values["key"] >= KEY_GOAL
        and values["mirex"] >= MIREX_GOAL
        and values["lufs"] <= LUFS_TOLERANCE
        and values["tp"] <= TP_TOLERANCE
    )
    verdict = "yes" if met else "NO"
    return (
        f"{name:8s} {values['acc1']:7.1f} {values['acc2']:7.1f} {values['key']:7.1f} "
        f"{values['mirex']:7.3f} {values['lufs']:7.2f} {values['tp']:7.2f}  {verdict}"
    )


def octave(result: Result) -> str:
    """How a tempo miss is wrong: ``double``, ``half`` or ``other``."""
    if result.our_bpm is None:
        return "other"
    if tempo_ok(result.bpm, result.our_bpm, (2.0,)):
        return "double"
    if tempo_ok(result.bpm, result.our_bpm, (0.5,)):
        return "half"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="sets go in ROOT/seedN")
    parser.add_argument("--seeds", default="0-5", help="e.g. 0-5 or 2,5 (default 0-5)")
    parser.add_argument("--count-per-style", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    per_seed: dict[int, list[Result]] = {}
    for seed in parse_seeds(args.seeds):
        start = time.perf_counter()
        pieces = build_evalset(
            args.root / f"seed{seed}",
            count_per_style=args.count_per_style,
            seed=seed,
            workers=args.workers,
        )
        jobs = [(piece, False) for piece in pieces]
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            per_seed[seed] = pool.map(evaluate, jobs, chunksize=1)
        print(f"seed {seed}: {len(pieces)} pieces in {time.perf_counter() - start:.0f} s")

    print(f"\n{'seed':8s} {'Acc1 %':>7s} {'Acc2 %':>7s} {'key %':>7s} {'MIREX':>7s} "
          f"{'dLUFS':>7s} {'dTP':>7s}  all goals")  # fmt: skip
    print(
        f"{'goal':8s} {ACC1_GOAL:7.0f} {ACC2_GOAL:7.0f} {KEY_GOAL:7.0f} {MIREX_GOAL:7.3f} "
        f"{LUFS_TOLERANCE:7.2f} {TP_TOLERANCE:7.2f}"
    )
    for seed, results in per_seed.items():
        print(row(str(seed), figures(results)))
    pooled = [result for results in per_seed.values() for result in results]
    print(row("pooled", figures(pooled)))

    misses = Counter(
        (result.style, octave(result))
        for result in pooled
        if not tempo_ok(result.bpm, result.our_bpm)
    )
    print(f"\ntempo misses over {len(per_seed)} seeds, by style and how they are wrong:")
    for (style, how), count in misses.most_common():
        labels = sorted(
            r.bpm
            for r in pooled
            if r.style == style and octave(r) == how and not tempo_ok(r.bpm, r.our_bpm)
        )
        print(f"  {style:14s} {how:6s} {count:3d}  labels {labels[0]:.0f}-{labels[-1]:.0f} BPM")


if __name__ == "__main__":
    main()
