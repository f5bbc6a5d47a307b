"""Ardour session export: library tracks → a session folder that opens with everything in place.

``export_ardour_session`` (CLI: ``dgx-music export ardour``) and ``ardour_session_zip`` (REST:
``POST /api/v1/exports/ardour``) are the entry points; the modules below them plan the timeline
(``timeline``), write the audio and MIDI (``build``, ``midi``) and the session XML
(``ardour_xml``, ``routes``).
"""

from __future__ import annotations

from dgx_music.daw.export import (
    ArdourExportError,
    ExportedSession,
    MissingTrackFile,
    ZippedSession,
    ardour_session_zip,
    export_ardour_session,
)

__all__ = [
    "ArdourExportError",
    "ExportedSession",
    "MissingTrackFile",
    "ZippedSession",
    "ardour_session_zip",
    "export_ardour_session",
]
