"""How long ``dgx-music --help`` takes, against the interpreter's own start-up.

Goal: under 0.3 s, which means no torch, transformers, librosa, numpy or SQLAlchemy on the path.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

RUNS = 15
HEAVY = ("torch", "transformers", "librosa", "numpy", "scipy", "sqlalchemy", "pretty_midi")


def wall_time(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    cli = shutil.which("dgx-music") or str(
        __import__("pathlib").Path(sys.executable).with_name("dgx-music")
    )
    baseline = wall_time([sys.executable, "-c", "pass"])
    help_time = wall_time([cli, "--help"])
    probe = (
        "import sys; sys.argv=['dgx-music','--help']\n"
        "from dgx_music.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = output.rpartition("HEAVY:")[2].strip()
    print(f"python -c pass       {baseline * 1000:7.1f} ms (baseline)")
    print(
        f"dgx-music --help     {help_time * 1000:7.1f} ms  = {help_time / baseline:5.1f}x baseline"
        f"  (goal < 300 ms: {'met' if help_time < 0.3 else 'MISSED'})"
    )
    print(f"heavy modules loaded by --help: {loaded or 'none'}")


if __name__ == "__main__":
    main()
