"""analyse() on music the project did not write: a small slice of the independent evaluation set
(benchmarks/evalset.py, fluidsynth + FluidR3_GM), three pieces per style.

The full set is measured by benchmarks/analysis_accuracy.py; this is the regression floor CI
keeps. The slice (seed 7, 20 s) was never used to choose any of the analysis's rules or
constants. Needs the ``fluidsynth`` CLI and FluidR3_GM.sf2, which the test command installs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf
from benchmarks.evalset import SOUNDFONT, STYLES, build_evalset

from dgx_music.agreement import key_relation
from dgx_music.audio.analysis import analyse
from dgx_music.domain import AudioClip


def test_tempo_and_key_of_fluidsynth_renders(tmp_path: Path) -> None:
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        pytest.fail("needs fluidsynth and fluid-soundfont-gm (apt-get install them)")
    pieces = build_evalset(tmp_path, count_per_style=3, duration=20.0, seed=7, workers=2)
    assert len(pieces) == 3 * len(STYLES)
    tempo_hits = octave_hits = key_hits = 0
    related = 0
    report = []
    for piece in pieces:
        samples, rate = sf.read(piece.wav, dtype="float32", always_2d=True)
        measured = analyse(AudioClip(samples, rate))
        assert measured.bpm is not None and measured.key is not None, piece.id
        ratio = measured.bpm / piece.bpm
        tempo_hits += abs(ratio - 1.0) <= 0.04
        octave_hits += any(abs(ratio / f - 1.0) <= 0.04 for f in (1 / 3, 0.5, 1.0, 2.0, 3.0))
        key_hits += measured.key == piece.key
        related += key_relation(piece.key, measured.key) != "other"
        report.append(f"{piece.id}: {piece.bpm:.1f} {piece.key} -> {measured.bpm} {measured.key}")
    detail = "\n".join(report)
    assert octave_hits == len(pieces), detail
    assert tempo_hits >= len(pieces) - 2, detail
    # Keys: most exact, and every miss a neighbour (relative, parallel or a fifth away).
    assert key_hits >= len(pieces) - 6, detail
    assert related == len(pieces), detail
