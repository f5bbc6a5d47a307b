"""Offline text-to-music: a rule-based composer rendered through a General MIDI SoundFont."""

from __future__ import annotations

from dgx_music.engines.symbolic.engine import SymbolicEngine

__all__ = ["SymbolicEngine"]
