"""Post-processing + analysis cost per second of audio, first call in a fresh process included.

Each measurement runs in a new interpreter (as a new worker or CLI run would), against the
baseline of that interpreter merely importing the audio package.
"""

from __future__ import annotations

import json
import subprocess
import sys

DURATION = 30.0
CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np
from dgx_music.audio import analyse, apply_fades, normalise_loudness
from dgx_music.domain import AudioClip
t_import = time.perf_counter() - t0
rate, seconds = 44100, {duration}
rng = np.random.default_rng(0)
t = np.arange(int(rate * seconds)) / rate
beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float32)
tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * rng.standard_normal(len(t))
mono = (tone * 0.5 + beat * 0.5).astype(np.float32)
clip = AudioClip(np.stack([mono, mono], axis=1), rate)
t1 = time.perf_counter()
faded = apply_fades(clip, 0.01, 0.5)
loud = normalise_loudness(faded, -16.0, -1.0)
t2 = time.perf_counter()
analysis = analyse(loud.clip)
t3 = time.perf_counter()
print(json.dumps({{"import": t_import, "post": t2 - t1, "analysis": t3 - t2}}))
"""


def main() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(duration=DURATION)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    total = figures["post"] + figures["analysis"]
    print(f"clip: {DURATION:.0f} s, 44.1 kHz stereo, fresh process, first call")
    print(f"import of the audio package     {figures['import'] * 1000:7.1f} ms (not counted)")
    print(f"fades + loudness normalisation  {figures['post'] * 1000:7.1f} ms")
    print(f"analysis (LUFS, TP, BPM, key)   {figures['analysis'] * 1000:7.1f} ms")
    print(
        f"per second of audio             {total / DURATION * 1000:7.1f} ms "
        f"= {DURATION / total:.0f}x real time"
    )


if __name__ == "__main__":
    main()
