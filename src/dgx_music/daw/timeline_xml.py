"""The tempo map and the locations (markers, loop, ranges) of an Ardour 7 session.

Each tempo section is written with the superclock, quarter-note count and bar that
:mod:`dgx_music.daw.timeline` computed the way Ardour does, so Ardour keeps them as they are.
The tempo is written with ``repr`` — the exact float the timeline used — because Ardour derives
its superclocks per quarter from the text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dgx_music.daw.naming import clean_text
from dgx_music.daw.plan import Marker, SessionPlan
from dgx_music.daw.routes import IdCounter
from dgx_music.daw.timeline import SUPERCLOCK_RATE, samples_to_superclock


def locations(parent: ET.Element, ids: IdCounter, plan: SessionPlan) -> None:
    rate = plan.sample_rate

    def add(marker: Marker, flags: str) -> None:
        end = marker.start if marker.end is None else marker.end
        attributes = {
            "id": ids.next(),
            "name": clean_text(marker.name),
            "start": f"a{samples_to_superclock(marker.start, rate)}",
            "end": f"a{samples_to_superclock(end, rate)}",
            "flags": flags,
            "locked": "0",
            "timestamp": "0",
            "cue": "0",
        }
        ET.SubElement(parent, "Location", attributes)

    add(Marker("session", 0, plan.end), "IsSessionRange")
    if plan.loop is not None:
        add(plan.loop, "IsAutoLoop,IsHidden")
    for marker in plan.markers:
        add(marker, "IsMark")
    for span in plan.ranges:
        add(span, "IsRangeMarker")


def tempo_map(root: ET.Element, plan: SessionPlan) -> None:
    tempo_map = ET.SubElement(root, "TempoMap", {"superclocks-per-second": str(SUPERCLOCK_RATE)})
    tempos = ET.SubElement(tempo_map, "Tempos")
    meters = ET.SubElement(tempo_map, "Meters")
    meter = None
    for section in plan.tempos:
        where = {
            "sclock": str(section.superclock),
            "quarters": section.quarters,
            "bbt": section.bbt,
        }
        bpm = repr(section.bpm)  # the exact value the timeline computed with
        ET.SubElement(
            tempos,
            "Tempo",
            {
                "npm": bpm,
                "enpm": bpm,
                "note-type": "4",
                "type": "Tempo::Constant",
                "active": "1",
                "locked-to-meter": "0",
                "continuing": "0",
                **where,
                "omega": "0",
            },
        )
        if section.meter != meter:
            ET.SubElement(
                meters,
                "Meter",
                {
                    "note-value": str(section.meter.note_value),
                    "divisions-per-bar": str(section.meter.beats_per_bar),
                    **where,
                },
            )
            meter = section.meter
    ET.SubElement(tempo_map, "MusicTimes")
