"""Real-time factor of the symbolic engine: seconds of audio made per second of wall time."""

from __future__ import annotations

import time

from dgx_music.domain import GenerationRequest
from dgx_music.engines.symbolic import SymbolicEngine

PROMPTS = ("lofi hip hop, dusty piano, 80 bpm, A minor", "techno, 130 bpm, dark")
DURATION = 30.0


def main() -> None:
    engine = SymbolicEngine()
    warm = GenerationRequest(prompt="warm up", duration=2.0, seed=0)
    engine.generate(warm, lambda _s, _f: None, lambda: False)
    for prompt in PROMPTS:
        request = GenerationRequest(prompt=prompt, duration=DURATION, seed=1)
        start = time.perf_counter()
        result = engine.generate(request, lambda _s, _f: None, lambda: False)
        elapsed = time.perf_counter() - start
        print(
            f"{prompt!r}: {result.mix.duration:.1f} s of audio in {elapsed:.2f} s "
            f"= {result.mix.duration / elapsed:.1f}x real time"
        )


if __name__ == "__main__":
    main()
