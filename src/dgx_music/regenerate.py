"""The command line that makes a clip again, written into its sidecar, its job's notes and
Ardour sessions: a producer who finds a clip months later can rerun exactly it.

Its own module because three places need it (the runner, the DAW export, the tests that parse
it back with the CLI) and none of them should import the others for it.
"""

from __future__ import annotations

import shlex

from dgx_music.domain import GenerationRequest


def regenerate_command(
    request: GenerationRequest, seed: int, engine: str | None = None, model: str | None = None
) -> str:
    """The CLI line that makes this clip again: the engine and model that ran, the parameters
    and the seed (so a later change of defaults does not change the clip)."""
    words = ["dgx-music", "generate", shlex.quote(request.prompt)]
    words += ["--engine", engine or request.engine]
    if (model or request.model) is not None:
        words += ["--model", shlex.quote(str(model or request.model))]
    words += ["--duration", f"{request.duration:g}", "--seed", str(seed)]
    words += ["--format", request.output_format, "--bit-depth", request.bit_depth]
    words += [
        "--loudness",
        f"{request.loudness_lufs:g}",
        "--true-peak",
        f"{request.true_peak_dbtp:g}",
    ]
    if request.bpm is not None:
        words += ["--bpm", f"{request.bpm:g}"]
    if request.key is not None:
        words += ["--key", shlex.quote(request.key)]
    if request.bars is not None:
        words += ["--bars", str(request.bars)]
    if request.loop:
        words.append("--loop")
    for instrument in request.instruments or ():
        words += ["--instrument", shlex.quote(instrument)]
    for option, value in (
        ("--temperature", request.temperature),
        ("--top-k", request.top_k),
        ("--top-p", request.top_p),
        ("--guidance", request.guidance_scale),
    ):
        if value is not None:
            words += [option, f"{value:g}"]
    if request.continue_from is not None:
        words += ["--continue", shlex.quote(request.continue_from)]
    if request.melody is not None:
        words += ["--melody", shlex.quote(request.melody)]
    return " ".join(words)
