"""Time from process start to the first decoding step: plain transformers against our engine.

A worker that has dropped its model after an idle timeout pays this on the next job, so it is
the latency a user sees before the first progress tick. Each side runs in a fresh subprocess
against the same musicgen-small-shaped checkpoint on disk (random weights, saved with
``save_pretrained`` together with its processor and tokenizer):

* plain: import transformers, ``from_pretrained`` the model and processor, tokenise, then
  ``model.generate(do_sample=True, guidance_scale=3, top_k=250)`` with a LogitsProcessor that
  records the first step and stops the call a few steps later;
* ours: ``load_model`` + ``generate_audio`` with a step hook that records the first step and
  returns True a few steps later (``DecodingCancelled`` is caught).

The clock starts in the parent just before the subprocess is spawned, so interpreter start-up
and imports count. Warm: the file cache is hot (each side runs ``--rounds`` times, the first
round only warms the cache; the best later round is reported). Cold: caches dropped before each
run through /proc/sys/vm/drop_caches, which needs root; skipped where that is refused. Goal:
ours within 1.2x of plain transformers. Peak RSS is each subprocess's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 3  # steps decoded before stopping, so a run also shows the decoding loop has started
PROMPT = "lofi hip hop beat with dusty piano and vinyl crackle"

PLAIN = f"""
import json, resource, sys, time
started = time.monotonic()
import torch
from transformers import (
    AutoProcessor, LogitsProcessor, LogitsProcessorList, MusicgenForConditionalGeneration,
)
imported = time.monotonic()
path, device, dtype = sys.argv[2], torch.device(sys.argv[3]), getattr(torch, sys.argv[4])
model = MusicgenForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=dtype)
model.to(device).eval()
processor = AutoProcessor.from_pretrained(path, local_files_only=True)
loaded = time.monotonic()

class Stop(Exception):
    pass

class Record(LogitsProcessor):
    times = []

    def __call__(self, input_ids, scores):
        self.times.append(time.monotonic())
        if len(self.times) >= {STEPS}:
            raise Stop
        return scores

inputs = processor(text=[{PROMPT!r}], padding=True, return_tensors="pt").to(device)
try:
    with torch.inference_mode():
        model.generate(
            **inputs, max_new_tokens={STEPS} + 10, do_sample=True, guidance_scale=3.0,
            top_k=250, logits_processor=LogitsProcessorList([Record()]),
        )
except Stop:
    pass
print("RESULT " + json.dumps(dict(
    started=started, imported=imported, loaded=loaded, first=Record.times[0],
    rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
)))
"""

OURS = f"""
import json, resource, sys, time
started = time.monotonic()
from pathlib import Path
import torch
from dgx_music.engines.musicgen.decoding import DecodingCancelled, Sampling
from dgx_music.engines.musicgen.loader import load_model
from dgx_music.engines.musicgen.synthesis import generate_audio
imported = time.monotonic()
path, device, dtype = Path(sys.argv[2]), torch.device(sys.argv[3]), getattr(torch, sys.argv[4])
model = load_model("musicgen-small", path, device, dtype)
loaded = time.monotonic()
times = []

def hook(done, total):
    times.append(time.monotonic())
    return len(times) >= {STEPS}

try:
    generate_audio(
        model, [{PROMPT!r}], seconds=10.0, sampling=Sampling(guidance_scale=3.0, top_k=250),
        seeds=[0], context_seconds=10.0, hook=hook,
    )
except DecodingCancelled:
    pass
print("RESULT " + json.dumps(dict(
    started=started, imported=imported, loaded=loaded, first=times[0],
    rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
)))
"""


def save_checkpoint(path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import transformers

    from musicgen_speed import build_model, build_processor

    transformers.logging.set_verbosity_error()
    build_model().save_pretrained(path)
    build_processor().save_pretrained(path)


def run(code: str, checkpoint: Path, device: str, dtype: str) -> dict[str, float]:
    """One fresh process; seconds from spawn to each milestone, and peak RSS in GiB."""
    spawn = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, "--", str(checkpoint), device, dtype],
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"subprocess failed ({done.returncode}):\n{done.stderr[-3000:]}")
    marks = json.loads(line.removeprefix("RESULT "))
    result = {key: marks[key] - spawn for key in ("started", "imported", "loaded", "first")}
    result["rss"] = marks["rss"] / 2**20
    return result


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3")
    except OSError:
        return False
    return True


def report(label: str, plain: dict[str, float], ours: dict[str, float]) -> None:
    print(f"\n{label}")
    print(f"{'':6} {'python':>7} {'imports':>8} {'load':>7} {'1st step':>9} {'peak RSS':>9}")
    for name, marks in (("plain", plain), ("ours", ours)):
        print(
            f"{name:6} {marks['started']:6.2f}s {marks['imported']:7.2f}s "
            f"{marks['loaded']:6.2f}s {marks['first']:8.2f}s {marks['rss']:7.2f}GiB"
        )
    ratio = ours["first"] / plain["first"]
    print(
        f"ours/plain: {ratio:.2f}x to the first step (goal <= 1.2x: "
        f"{'met' if ratio <= 1.2 else 'MISSED'}), {ours['rss'] / plain['rss']:.2f}x peak RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="checkpoint directory to reuse, or to save into (and keep) when it does not exist",
    )
    parser.add_argument("--rounds", type=int, default=2, help="warm rounds; the first only warms")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--no-cold", action="store_true", help="skip the dropped-cache runs")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="OMP_NUM_THREADS for both subprocesses (1 on a machine shared with other jobs)",
    )
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    temporary = None
    checkpoint = args.checkpoint
    if checkpoint is None:
        temporary = Path(tempfile.mkdtemp(prefix="musicgen-small-random-"))
        checkpoint = temporary
    if not (checkpoint / "config.json").exists():
        started = time.perf_counter()
        save_checkpoint(checkpoint)
        print(f"saved a musicgen-small-shaped checkpoint in {time.perf_counter() - started:.0f} s")
    size = sum(f.stat().st_size for f in checkpoint.rglob("*") if f.is_file())
    threads = os.environ.get("OMP_NUM_THREADS", "torch's default")
    print(
        f"checkpoint {checkpoint} ({size / 2**30:.2f} GiB); {os.cpu_count()} CPUs, "
        f"threads: {threads}; {STEPS} steps decoded before stopping"
    )
    print("columns: seconds from spawning the subprocess to the end of each phase")
    try:
        plains, ours = [], []
        for _ in range(max(args.rounds, 2)):
            plains.append(run(PLAIN, checkpoint, args.device, args.dtype))
            ours.append(run(OURS, checkpoint, args.device, args.dtype))
        best_plain = min(plains[1:], key=lambda marks: marks["first"])
        best_ours = min(ours[1:], key=lambda marks: marks["first"])
        report(f"warm (file cache hot), best of rounds 2-{len(plains)}", best_plain, best_ours)
        if not args.no_cold:
            if drop_caches():
                cold_plain = run(PLAIN, checkpoint, args.device, args.dtype)
                drop_caches()
                cold_ours = run(OURS, checkpoint, args.device, args.dtype)
                report("cold (page cache dropped before each run)", cold_plain, cold_ours)
            else:
                print("\ncold: skipped (cannot write /proc/sys/vm/drop_caches; needs root)")
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    main()
