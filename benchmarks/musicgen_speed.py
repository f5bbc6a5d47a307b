"""MusicGen decoding speed: our step loop against plain ``model.generate``, in one process.

The model is built with facebook/musicgen-small's shapes (T5-base text encoder, 24-layer
1024-wide decoder over 4 codebooks of 2048, EnCodec 32 kHz) and random weights: timing does not
depend on weight values, and no checkpoint or network is needed. For each batch size the
baseline (``model.generate(do_sample=True, guidance_scale=3, top_k=250)``, transformers'
defaults otherwise) and ours (``generate_audio``, the engine's full path) run interleaved,
``--repeats`` times each, and the best run is reported. Per run we record:

* decoding ms/step: the steady-state time of one step of the decoding loop, from timestamps
  taken at every step (a LogitsProcessor for the baseline, the step hook for ours), first
  step (the prompt pass) excluded;
* real-time factor: seconds of audio per wall second of the whole call (text encoding,
  decoding, EnCodec), 50 steps = 1 s of audio;
* peak RSS during the call (VmHWM, reset before each call; on CUDA max_memory_allocated).

Why: decoding one token is a matrix-vector product per weight, so the loop is bound by memory
bandwidth; the bandwidth floor printed next to it (decoder weights read per step / measured
read bandwidth) is how fast any implementation could go on this machine. Goals (CPU, fp32):
ours >= 1.2x the baseline's steps/s at batch 1, batch-4 throughput >= 3x batch 1, and the
opt-in int8 decoder (lossy, experimental) >= 2.5x the baseline. On CUDA: 16 s of audio at
batch 1 in under 8 s on an H100.

On a CPU shared with other jobs use ``--threads 1``: when another process holds a core, every
OpenMP region waits for the descheduled second thread, so each op costs a scheduler slice (seen
here: plain generate at ~4.7 s/step with 2 threads against ~0.25 s/step with 1, while a test
suite ran on the other core). The load average is printed at the end for that reason.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dgx_music.engines.musicgen.decoding import (
    PACKED_ATTRIBUTE,
    Conditioning,
    Sampling,
    decode_window,
)
from dgx_music.engines.musicgen.loader import (
    LoadedModel,
    prepare_for_decoding,
    resolve_device,
    resolve_dtype,
)
from dgx_music.engines.musicgen.synthesis import generate_audio

FRAME_RATE = 50
PROMPTS = (
    "lofi hip hop beat with dusty piano and vinyl crackle",
    "dark techno with a driving bass",
    "epic cinematic strings and brass",
    "chill ambient pads with warm synth",
)
WORDS = sorted({word for prompt in PROMPTS for word in prompt.split()})
TOP_K = 250
GUIDANCE = 3.0
DELAY = 3  # 4 mono codebooks: the last one runs 3 steps behind the first


def build_model() -> Any:
    """MusicgenForConditionalGeneration with facebook/musicgen-small's configuration."""
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
    audio = EncodecConfig(
        sampling_rate=32000,
        audio_channels=1,
        codebook_size=2048,
        num_filters=64,
        hidden_size=128,
        codebook_dim=128,
        upsampling_ratios=[8, 5, 4, 4],
        target_bandwidths=[2.2],
        num_lstm_layers=2,
        chunk_length_s=None,
        overlap=None,
        norm_type="weight_norm",
        use_causal_conv=False,
        pad_mode="reflect",
        compress=2,
        kernel_size=7,
        last_kernel_size=7,
        residual_kernel_size=3,
        num_residual_layers=1,
        dilation_growth_rate=2,
        trim_right_ratio=1.0,
        use_conv_shortcut=False,
        normalize=False,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=2048,
        max_position_embeddings=2048,
        num_hidden_layers=24,
        ffn_dim=4096,
        num_attention_heads=16,
        hidden_size=1024,
        num_codebooks=4,
        audio_channels=1,
        pad_token_id=2048,
        bos_token_id=2048,
        decoder_start_token_id=2048,
    )
    config = MusicgenConfig(
        text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict()
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    generation = model.generation_config  # as in the Hub checkpoint's generation_config.json
    generation.do_sample = True
    generation.guidance_scale = GUIDANCE
    generation.max_length = 1500
    generation.pad_token_id = 2048
    generation.decoder_start_token_id = 2048
    generation.bos_token_id = 2048
    return model


def build_processor() -> Any:
    """A MusicgenProcessor with a whole-word T5 tokenizer built offline from the prompts."""
    from transformers import EncodecFeatureExtractor, MusicgenProcessor, T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"▁{word}", -float(rank + 1)) for rank, word in enumerate(WORDS)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=32000)
    return MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer)


class PeakMemory:
    """Peak memory of one call: VmHWM (reset through clear_refs) on the CPU, or CUDA's peak."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        # Without a reset, the peak below is the process-wide one.
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    def peak_gib(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**30
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


@dataclass
class Run:
    wall: float
    step_ms: float
    audio_seconds: float
    peak_gib: float
    batch: int

    @property
    def rtf(self) -> float:
        return self.audio_seconds / self.wall

    @property
    def throughput(self) -> float:
        return self.batch * self.rtf


class Stamps:
    """Timestamps of every decoding step; the steady-state step time excludes the first."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.times: list[float] = []

    def mark(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter())

    def step_ms(self) -> float:
        if len(self.times) < 2:
            return float("nan")
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1) * 1000

    # As a LogitsProcessor (baseline) ...
    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.mark()
        return scores

    # ... and as our step hook.
    def hook(self, _done: int, _total: int) -> bool:
        self.mark()
        return False


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Bench:
    def __init__(self, loaded: LoadedModel, memory: PeakMemory) -> None:
        self.loaded = loaded
        self.memory = memory
        self.device = loaded.device

    def texts(self, batch: int) -> list[str]:
        return [PROMPTS[i % len(PROMPTS)] for i in range(batch)]

    def baseline(self, batch: int, steps: int) -> Run:
        from transformers import LogitsProcessorList

        loaded = self.loaded
        inputs = loaded.processor(text=self.texts(batch), padding=True, return_tensors="pt")
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        stamps = Stamps(self.device)
        self.memory.reset()
        sync(self.device)
        start = time.perf_counter()
        with torch.inference_mode():
            audio = loaded.model.generate(
                **inputs,
                max_new_tokens=steps,
                do_sample=True,
                guidance_scale=GUIDANCE,
                top_k=TOP_K,
                logits_processor=LogitsProcessorList([stamps]),
            )
        sync(self.device)
        wall = time.perf_counter() - start
        seconds = audio.shape[-1] / loaded.sample_rate
        return Run(wall, stamps.step_ms(), seconds, self.memory.peak_gib(), batch)

    def ours(self, batch: int, steps: int) -> Run:
        seconds = (steps - DELAY) / FRAME_RATE  # same number of decoder steps as the baseline
        stamps = Stamps(self.device)
        self.memory.reset()
        sync(self.device)
        start = time.perf_counter()
        audio = generate_audio(
            self.loaded,
            self.texts(batch),
            seconds=seconds,
            sampling=Sampling(top_k=TOP_K, guidance_scale=GUIDANCE),
            seeds=list(range(batch)),
            context_seconds=10.0,
            hook=stamps.hook,
        )
        sync(self.device)
        wall = time.perf_counter() - start
        seconds = audio.shape[1] / self.loaded.sample_rate
        return Run(wall, stamps.step_ms(), seconds, self.memory.peak_gib(), batch)

    def decode_only(self, model: Any, batch: int, steps: int) -> float:
        """ms/step of decode_window alone on ``model`` (used for the int8 copy)."""
        tokens = self.loaded.processor.tokenizer(
            self.texts(batch), padding=True, return_tensors="pt"
        )
        stamps = Stamps(self.device)
        with torch.inference_mode():
            conditioning = Conditioning(
                model,
                tokens["input_ids"].to(self.device),
                tokens["attention_mask"].to(self.device),
                guided=True,
            )
            decode_window(
                model,
                conditioning,
                frames=steps - DELAY,
                prompt=None,
                sampling=Sampling(top_k=TOP_K, guidance_scale=GUIDANCE),
                generators=[
                    torch.Generator(device=self.device).manual_seed(i) for i in range(batch)
                ],
                hook=stamps.hook,
            )
        return stamps.step_ms()


def read_bandwidth(device: torch.device) -> float:
    """Bytes per second that ``x.sum()`` reads from a 1 GiB float32 tensor, best of 5."""
    x = torch.ones(2**28, dtype=torch.float32, device=device)
    best = float("inf")
    for _ in range(6):  # the first is a warm-up
        sync(device)
        start = time.perf_counter()
        x.sum()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return x.numel() * x.element_size() / best


def weight_bytes_per_step(model: Any) -> int:
    """Decoder Linear weights read by one step: all but the cross-attention keys/values (those
    are projected once from the text), plus the 4 lm heads."""
    total = 0
    for name, module in model.decoder.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if "encoder_attn.k_proj" in name or "encoder_attn.v_proj" in name:
            continue
        total += module.weight.numel() * module.weight.element_size()
    return total


def kernel_rates(device: torch.device) -> list[str]:
    """GB/s of weight streamed by one decoder-sized product (fc1, 4096x1024) per layout/dtype:
    nn.Linear's ``x @ Wᵀ`` against the engine's ``W @ xᵀ``, and bf16 against fp32."""
    lines = []
    for dtype in (torch.float32, torch.bfloat16):
        weight = torch.randn(4096, 1024, device=device).to(dtype)
        for rows in (2, 8):
            x = torch.randn(rows, 1024, device=device).to(dtype)
            rates = {}
            for label, product in (
                ("x @ Wᵀ", lambda w=weight, v=x: torch.nn.functional.linear(v, w)),
                ("W @ xᵀ", lambda w=weight, v=x: (w @ v.T).T),
            ):
                product()
                sync(device)
                start = time.perf_counter()
                for _ in range(20):
                    product()
                sync(device)
                seconds = (time.perf_counter() - start) / 20
                rates[label] = weight.numel() * weight.element_size() / seconds / 1e9
            lines.append(
                f"  {str(dtype).removeprefix('torch.'):8} {rows} rows: "
                + ", ".join(f"{label} {rate:5.1f} GB/s" for label, rate in rates.items())
            )
    return lines


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="decoder steps per run (50 = 1 s)")
    parser.add_argument("--batches", default="1,2,4", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs of each; best")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--dtype", default="auto", help="float32, float16, bfloat16 or auto")
    parser.add_argument(
        "--int8", action="store_true", help="also time an int8 dynamic-quantised decoder (CPU)"
    )
    parser.add_argument(
        "--clip",
        type=float,
        default=None,
        help="also time one batch-1 clip of this many seconds (default: 16 on CUDA, off on CPU)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (default: torch's own); 1 on a machine shared with other jobs",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    batches = [int(b) for b in args.batches.split(",")]
    clip = args.clip if args.clip is not None else (16.0 if device.type == "cuda" else 0.0)

    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=UserWarning)
    started = time.perf_counter()
    model = build_model().to(device, dtype)
    prepare_for_decoding(model, device, dtype)  # what load_model does after loading
    processor = build_processor()
    loaded = LoadedModel("musicgen-small (random)", Path("."), model, processor, device, dtype,
                         False, 0.0)  # fmt: skip
    print(
        f"built musicgen-small-shaped model in {time.perf_counter() - started:.1f} s; "
        f"{device} {str(dtype).removeprefix('torch.')}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, transformers "
        f"{transformers.__version__}"
    )
    bench = Bench(loaded, PeakMemory(device))
    # Warm-up: first calls allocate, load kernels and fill caches.
    for batch in sorted({1, max(batches)}):
        bench.baseline(batch, 8)
        bench.ours(batch, 8)

    results: dict[int, tuple[Run, Run]] = {}
    header = (
        f"{'batch':>5} {'':9} {'ms/step':>8} {'steps/s':>8} {'RTF':>6} {'audio s/s':>9} "
        f"{'peak GiB':>8}"
    )
    print(f"\n{args.steps} decoder steps per run ({(args.steps - DELAY) / FRAME_RATE:.2f} s of "
          f"audio), best of {args.repeats}, guidance {GUIDANCE}, top_k {TOP_K}")  # fmt: skip
    print(header)
    for batch in batches:
        base_runs, our_runs = [], []
        for _ in range(args.repeats):
            base_runs.append(bench.baseline(batch, args.steps))
            our_runs.append(bench.ours(batch, args.steps))
        base, ours = best(base_runs), best(our_runs)
        base.step_ms = min(run.step_ms for run in base_runs)
        ours.step_ms = min(run.step_ms for run in our_runs)
        results[batch] = (base, ours)
        for label, run in (("baseline", base), ("ours", ours)):
            print(
                f"{batch:>5} {label:9} {run.step_ms:8.1f} {1000 / run.step_ms:8.2f} "
                f"{run.rtf:6.3f} {run.throughput:9.3f} {run.peak_gib:8.2f}"
            )
        print(
            f"{batch:>5} {'ours/base':9} {base.step_ms / ours.step_ms:7.2f}x (steps/s)  "
            f"{ours.rtf / base.rtf:.2f}x (RTF)  {ours.peak_gib / base.peak_gib:.2f}x (peak)"
        )
        sys.stdout.flush()

    bandwidth = read_bandwidth(device)
    per_step = weight_bytes_per_step(model)
    floor_ms = per_step / bandwidth * 1000
    print(
        f"\nbandwidth floor: {per_step / 2**20:.0f} MiB of decoder weights per step / "
        f"{bandwidth / 1e9:.1f} GB/s read (x.sum() over 1 GiB, best of 5) = {floor_ms:.1f} ms/step"
    )
    print("weight read rate of one 4096x1024 product (higher is better):")
    print("\n".join(kernel_rates(device)))
    for batch, (base, ours) in results.items():
        print(
            f"  batch {batch}: ours {ours.step_ms:.1f} ms/step = {ours.step_ms / floor_ms:.2f}x "
            f"floor; baseline {base.step_ms:.1f} = {base.step_ms / floor_ms:.2f}x floor"
        )

    goals = []
    if 1 in results:
        base, ours = results[1]
        speedup = base.step_ms / ours.step_ms
        goals.append(("ours/baseline steps/s at batch 1", speedup, 1.2))
    if 1 in results and 4 in results:
        for index, label in ((1, "ours"), (0, "baseline")):
            scale = results[4][index].throughput / results[1][index].throughput
            print(f"batch-4 / batch-1 throughput (audio s per wall s), {label}: {scale:.2f}x")
            if label == "ours":
                goals.append(("batch-4 / batch-1 throughput, ours", scale, 3.0))

    if args.int8:
        if device.type != "cpu":
            print("\nint8: skipped (dynamic int8 quantisation is CPU-only)")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from torch.ao.quantization import quantize_dynamic

                packed = model.__dict__.pop(PACKED_ATTRIBUTE, None)  # oneDNN copies: not copied
                quantized = copy.deepcopy(model)
                if packed is not None:
                    setattr(model, PACKED_ATTRIBUTE, packed)
                quantized.decoder = quantize_dynamic(
                    quantized.decoder, {torch.nn.Linear}, dtype=torch.qint8
                )
            bench.decode_only(quantized, 1, 8)  # warm-up
            base_ms, int8_ms, fp32_ms = [], [], []
            for _ in range(args.repeats):
                base_ms.append(bench.baseline(1, args.steps).step_ms)
                int8_ms.append(bench.decode_only(quantized, 1, args.steps))
                fp32_ms.append(bench.decode_only(model, 1, args.steps))
            base_step, int8_step, fp32_step = min(base_ms), min(int8_ms), min(fp32_ms)
            print(
                f"\nint8 decoder (LOSSY, EXPERIMENTAL), batch 1, decode_window only, best of "
                f"{args.repeats}:\n  baseline {base_step:.1f} ms/step, ours fp32 "
                f"{fp32_step:.1f}, ours int8 {int8_step:.1f} ms/step = "
                f"{base_step / int8_step:.2f}x baseline steps/s "
                f"(int8 floor ~{floor_ms / 4:.1f} ms/step)"
            )
            goals.append(("int8 / baseline steps/s at batch 1", base_step / int8_step, 2.5))
            del quantized

    if clip > 0:
        steps = round(clip * FRAME_RATE) + DELAY
        base = bench.baseline(1, steps)
        ours = bench.ours(1, steps)
        print(
            f"\n{clip:.0f} s of audio at batch 1: baseline {base.wall:.2f} s, ours "
            f"{ours.wall:.2f} s ({base.wall / ours.wall:.2f}x)"
        )
        if device.type == "cuda":
            goals.append((f"{clip:.0f} s of audio in under 8 s (H100), ours", 8.0 / ours.wall, 1.0))
    elif 1 in results:
        estimate = results[1][1].step_ms * (16 * FRAME_RATE + DELAY) / 1000
        print(f"\n16 s of audio at batch 1 (estimated from ours' ms/step): ~{estimate:.0f} s")

    print("\ngoals:")
    for label, value, goal in goals:
        verdict = "met" if value >= goal else "MISSED"
        print(f"  {label}: {value:.2f}x (goal >= {goal:.1f}x) {verdict}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"1-min load {load:.2f}")


if __name__ == "__main__":
    main()
