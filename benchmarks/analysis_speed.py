"""What measuring a 30 s clip costs: in a fresh process (a CLI run, a worker's first job) and
next to the generation it follows.

Fresh process: a new interpreter imports the analysis, reads a 30 s 44.1 kHz stereo WAV and runs
``analyse()`` (loudness, true peak, tempo, key), against a bare interpreter started the same
way (goal: under 2 s in all). Warm: ``analyse()`` on the same clip inside this process, next to
the symbolic engine generating that 30 s clip (goal: analysis under 5 % of generation). For
MusicGen, whose weights are not on this machine, the comparison uses the step time that
benchmarks/musicgen_speed.py measured (pass it with ``--musicgen-ms-per-step``; 50 steps per
second of audio).

Usage: ``python benchmarks/analysis_speed.py [--runs 5] [--musicgen-ms-per-step 100.7]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from dgx_music.audio.analysis import analyse
from dgx_music.audio.dynamics import apply_fades
from dgx_music.audio.loudness import normalise_loudness
from dgx_music.domain import GenerationRequest
from dgx_music.engines.symbolic import SymbolicEngine

DURATION = 30.0
PROMPT = "lofi hip hop, dusty piano, 80 bpm, A minor"
FRESH = """
import soundfile as sf
from dgx_music.audio.analysis import analyse
from dgx_music.domain import AudioClip
samples, rate = sf.read({path!r}, dtype="float32", always_2d=True)
analyse(AudioClip(samples, rate))
"""


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--musicgen-ms-per-step", type=float, default=None)
    args = parser.parse_args()

    engine = SymbolicEngine()
    request = GenerationRequest(prompt=PROMPT, duration=DURATION, seed=1)
    generation_s: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = engine.generate(request, lambda *_: None, lambda: False)
        generation_s.append(time.perf_counter() - start)
    clip = normalise_loudness(apply_fades(result.mix, 0.01, 0.5), -14.0, -1.0).clip
    warm_s: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        analyse(clip)
        warm_s.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        sf.write(path, clip.samples, clip.sample_rate, subtype="PCM_24")
        bare = [_wall([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
        fresh = [
            _wall([sys.executable, "-c", FRESH.format(path=str(path))]) for _ in range(args.runs)
        ]

    bare_s, fresh_s = statistics.median(bare), statistics.median(fresh)
    warm, generation = statistics.median(warm_s), statistics.median(generation_s)
    print(f"clip: {DURATION:.0f} s, {clip.sample_rate} Hz stereo; medians of {args.runs} runs")
    print(f"bare interpreter start                {bare_s * 1000:8.0f} ms")
    print(
        f"fresh process: import + read + analyse {fresh_s * 1000:7.0f} ms "
        f"({fresh_s / bare_s:.1f}x bare; goal < 2000 ms: {'met' if fresh_s < 2 else 'MISSED'})"
    )
    print(f"warm analyse()                        {warm * 1000:8.0f} ms")
    share = warm / generation
    print(
        f"symbolic generation of the clip       {generation * 1000:8.0f} ms "
        f"-> analysis is {share:.0%} of it (goal < 5%: {'met' if share < 0.05 else 'MISSED'})"
    )
    if args.musicgen_ms_per_step is not None:
        musicgen = args.musicgen_ms_per_step / 1000.0 * 50.0 * DURATION
        share = warm / musicgen
        print(
            f"MusicGen at {args.musicgen_ms_per_step:g} ms/step (measured elsewhere) "
            f"{musicgen:8.1f} s -> analysis is {share:.2%} of it "
            f"(goal < 5%: {'met' if share < 0.05 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
