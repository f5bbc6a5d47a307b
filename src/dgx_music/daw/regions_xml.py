"""Sources, regions and playlists of an Ardour 7 session.

A source is one mono file (Ardour records one per channel and finds it by name in the session's
interchange folder); a region plays a stretch of one or more sources; a playlist is the list of
regions a track plays. Each clip gets a whole-file region in the session's region list and a
copy of it in its track's playlist, as an import in Ardour's editor makes them. Times are
``a<superclocks>`` for audio, ``b<ticks>`` for MIDI content, and a region's length carries its
position: ``<length>@<position>`` (Ardour 7 regions have no separate position attribute).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dgx_music.daw.plan import AudioLane, MidiLane
from dgx_music.daw.routes import IdCounter
from dgx_music.daw.timeline import samples_to_superclock

_REGION_FLAGS = {
    "muted": "0",
    "opaque": "1",
    "locked": "0",
    "video-locked": "0",
    "automatic": "0",
    "import": "0",
    "external": "0",
    "sync-marked": "0",
    "left-of-split": "0",
    "right-of-split": "0",
    "hidden": "0",
    "position-locked": "0",
    "valid-transients": "0",
}
_AUDIO_REGION = {
    "envelope-active": "0",
    "default-fade-in": "0",
    "default-fade-out": "0",
    "fade-in-active": "1",
    "fade-out-active": "1",
    "scale-amplitude": "1",
}


def source(parent: ET.Element, ids: IdCounter, file: str, kind: str) -> str:
    source_id = ids.next()
    attributes = {"name": file, "type": kind, "flags": "", "id": source_id, "origin": ""}
    if kind == "audio":
        attributes["channel"] = "0"
    ET.SubElement(parent, "Source", attributes)
    return source_id


def audio_sources(parent: ET.Element, ids: IdCounter, lane: AudioLane) -> list[str]:
    return [source(parent, ids, file, "audio") for file in lane.files]


def audio_region(
    parent: ET.Element,
    ids: IdCounter,
    lane: AudioLane,
    source_ids: Sequence[str],
    rate: int,
    *,
    whole_file: bool,
) -> None:
    position = 0 if whole_file else samples_to_superclock(lane.start, rate)
    length = samples_to_superclock(lane.frames, rate)
    region = ET.SubElement(
        parent,
        "Region",
        _region_attributes(
            lane.region, whole_file, "a0", f"a{length}@a{position}", ids.next(), "audio"
        ),
    )
    region.attrib.update(_AUDIO_REGION)
    for index, source_id in enumerate(source_ids):
        region.set(f"source-{index}", source_id)
        region.set(f"master-source-{index}", source_id)
    region.set("channels", str(len(source_ids)))


def midi_region(
    parent: ET.Element,
    ids: IdCounter,
    lane: MidiLane,
    source_id: str,
    rate: int,
    *,
    whole_file: bool,
) -> None:
    position = 0 if whole_file else samples_to_superclock(lane.start, rate)
    region = ET.SubElement(
        parent,
        "Region",
        _region_attributes(
            lane.region, whole_file, "b0", f"b{lane.length_ticks}@a{position}", ids.next(), "midi"
        ),
    )
    region.set("source-0", source_id)
    region.set("master-source-0", source_id)


def _region_attributes(
    name: str, whole_file: bool, start: str, length: str, region_id: str, kind: str
) -> dict[str, str]:
    zero = start
    return {
        "name": name,
        **_REGION_FLAGS,
        "whole-file": "1" if whole_file else "0",
        "start": start,
        "length": length,
        "sync-position": zero,
        "ancestral-start": zero,
        "ancestral-length": f"{zero}@a0",
        "stretch": "1",
        "shift": "1",
        "layering-index": "0",
        "tags": "",
        "contents": "0",
        "id": region_id,
        "type": kind,
        "first-edit": "nothing",
    }


def playlist(parent: ET.Element, ids: IdCounter, route: str, kind: str) -> ET.Element:
    attributes = {
        "id": ids.next(),
        "name": route,
        "type": kind,
        "orig-track-id": "",
        "shared-with-ids": "",
        "frozen": "0",
        "combine-ops": "0",
    }
    return ET.SubElement(parent, "Playlist", attributes)
