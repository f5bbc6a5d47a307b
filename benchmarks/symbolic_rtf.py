"""Real-time factor of the symbolic engine: seconds of audio made per second of wall time.

Each prompt renders a 30 s clip with stems several times and reports the median, because one
run on a shared two-core machine is at the mercy of whatever else is running. The ratio is the
output (not the seconds) so it can be compared across clip lengths; the issue's target is 50x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from dgx_music.domain import GenerationRequest
from dgx_music.engines.symbolic import SymbolicEngine

PROMPTS = (
    "lofi hip hop, dusty piano, 80 bpm, A minor",
    "techno, 130 bpm, dark",
    "epic cinematic strings",
    "jazz trio",
)
DURATION = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per prompt (median reported)")
    args = parser.parse_args()
    engine = SymbolicEngine()
    warm = GenerationRequest(prompt="warm up", duration=2.0, seed=0)
    engine.generate(warm, lambda _s, _f: None, lambda: False)
    medians = []
    for prompt in PROMPTS:
        request = GenerationRequest(prompt=prompt, duration=DURATION, seed=1)
        ratios, cpu_ratios = [], []
        for _ in range(args.runs):
            start, cpu = time.perf_counter(), time.process_time()
            result = engine.generate(request, lambda _s, _f: None, lambda: False)
            ratios.append(result.mix.duration / (time.perf_counter() - start))
            cpu_ratios.append(result.mix.duration / (time.process_time() - cpu))
        medians.append(statistics.median(ratios))
        # Audio seconds per CPU second of this process (all threads): unlike the wall-clock
        # ratio it does not depend on what else the machine is running.
        print(
            f"{prompt!r}: {DURATION:.0f} s with {len(result.stems)} stems, median of "
            f"{args.runs} = {medians[-1]:.1f}x real time (min {min(ratios):.1f}x; "
            f"{statistics.median(cpu_ratios):.1f}x per CPU-second)"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"overall median {statistics.median(medians):.1f}x real time "
        f"({os.cpu_count()} CPUs, 1-min load {load:.2f})"
    )


if __name__ == "__main__":
    main()
