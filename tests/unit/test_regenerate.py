"""The sidecar's ``regenerate`` line must parse back into the same request."""

from __future__ import annotations

import shlex

import typer.main

from dgx_music.cli.main import app
from dgx_music.domain import GenerationRequest
from dgx_music.regenerate import regenerate_command


def test_regenerate_command_round_trips_through_the_cli_parser() -> None:
    request = GenerationRequest(
        prompt='it\'s a "lofi" beat', engine="symbolic", duration=12, bpm=84, key="Bbm",
        bars=8, loop=True, instruments=("rhodes", "acoustic guitar"), output_format="flac",
        bit_depth="16", loudness_lufs=-14,
    )  # fmt: skip
    words = shlex.split(regenerate_command(request, seed=99))
    assert words[:3] == ["dgx-music", "generate", request.prompt]
    group = typer.main.get_command(app)
    generate = group.commands["generate"]  # type: ignore[attr-defined]
    params = generate.make_context("generate", words[2:]).params
    assert params["prompt"] == request.prompt and params["seed"] == 99
    assert params["bpm"] == 84 and params["key"] == "A# minor" and params["bars"] == 8
    assert params["loop"] is True and params["instrument"] == ["rhodes", "acoustic guitar"]
    assert params["format"].value == "flac" and params["bit_depth"].value == "16"
    assert params["loudness"] == -14 and params["duration"] == 12
