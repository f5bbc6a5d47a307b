"""Offline text-to-music: a rule-based composer rendered through a General MIDI SoundFont."""

from __future__ import annotations

import contextlib
import io

# pyfluidsynth prints where it found libfluidsynth to stdout whenever $CI is set, and pretty_midi
# imports it: that line would corrupt `--json` output, so the first import happens muted here.
# A missing library is left for renderer.load_fluidsynth to report as an actionable EngineError.
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError, OSError):
    import fluidsynth  # noqa: F401

from dgx_music.engines.symbolic.engine import SymbolicEngine

__all__ = ["SymbolicEngine"]
