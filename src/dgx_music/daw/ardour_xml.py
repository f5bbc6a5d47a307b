"""A :class:`SessionPlan` as an Ardour 7 ``.ardour`` document (ElementTree: escaping is its job).

What Ardour 7.3 needs from a session file, found by loading hand-written ones in its headless
``ardour7-lua`` and reading what it saves back:

- ``<Session version="7002">`` (what 7.3 writes; 8000 is refused, 6000 drops the tempo map)
  with the sample rate, and ``Config`` options including ``native-file-data-format``;
- ``Sources``: one per mono file, found by name under ``interchange/<folder>/audiofiles`` (or
  ``midifiles``); ``Regions``: a whole-file region per source set, which the region list shows;
- times as ``a<superclocks>`` (audio) or ``b<ticks>`` (musical), and a length as
  ``<distance>@<position>`` — Ardour 7 regions have no separate position attribute;
- ``Playlists`` holding the regions each track plays, ``Routes``, ``RouteGroups``,
  ``Locations`` (markers, the loop range, the session range), ``TempoMap``, ``Metadata``;
- ``Bundles`` and ``Click``, whose absence Ardour reports as a warning on every load.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dgx_music import __version__
from dgx_music.daw.naming import clean_text
from dgx_music.daw.plan import SessionPlan
from dgx_music.daw.regions_xml import audio_region, audio_sources, midi_region, playlist, source
from dgx_music.daw.routes import (
    MASTER,
    ROUTE_VERSION,
    IdCounter,
    RouteSpec,
    master_route,
    port_name,
    track_route,
)
from dgx_music.daw.timeline_xml import locations, tempo_map

SESSION_VERSION = ROUTE_VERSION
NATIVE_FORMAT = "FormatFloat"
"""The audio files are 32-bit float WAVs, so new recordings in the session match them."""

_CONFIG = (
    ("use-region-fades", "1"),
    ("use-transport-fades", "1"),
    ("use-monitor-fades", "1"),
    ("native-file-data-format", NATIVE_FORMAT),
    ("native-file-header-format", "WAVE"),
    ("auto-play", "0"),
    ("auto-return", "0"),
    ("auto-input", "1"),
    ("punch-in", "0"),
    ("punch-out", "0"),
    ("count-in", "0"),
    ("record-mode", "RecLayered"),
    ("timecode-format", "timecode_30"),
    ("audio-search-path", ""),
    ("midi-search-path", ""),
    ("track-name-number", "0"),
    ("track-name-take", "1"),
    ("take-name", "Take1"),
    ("insert-merge-policy", "InsertMergeRelax"),
    ("glue-new-markers-to-bars-and-beats", "0"),
    ("glue-new-regions-to-bars-and-beats", "0"),
    ("show-summary", "1"),
    ("show-group-tabs", "1"),
    ("show-region-fades", "1"),
)
"""Ardour 7.3's defaults for a new session, less those about video, sync and meterbridges."""

_GROUP_SHARES = {
    "gain": "0",
    "mute": "0",
    "solo": "0",
    "recenable": "1",
    "select": "1",
    "route-active": "1",
    "color": "1",
    "monitoring": "1",
}
"""Stems are grouped to move, select and colour together, but each keeps its own fader, mute
and solo: balancing and soloing single stems is what a producer splits them for."""


def session_document(plan: SessionPlan) -> ET.ElementTree:
    """The whole session file; object ids come from one counter, ``id-counter`` past them."""
    ids = IdCounter()
    root = ET.Element(
        "Session",
        {"version": SESSION_VERSION, "name": plan.name, "sample-rate": str(plan.sample_rate)},
    )
    program = f"dgx-music {__version__}"
    ET.SubElement(root, "ProgramVersion", {"created-with": program, "modified-with": program})
    config = ET.SubElement(root, "Config")
    for option, value in _CONFIG:
        ET.SubElement(config, "Option", {"name": option, "value": value})
    _metadata(root, plan)
    sources = ET.SubElement(root, "Sources")
    regions = ET.SubElement(root, "Regions")
    audio_ids = [audio_sources(sources, ids, lane) for lane in plan.audio]
    midi_ids = [source(sources, ids, lane.file, "midi") for lane in plan.midi]
    rate = plan.sample_rate
    for lane, source_ids in zip(plan.audio, audio_ids, strict=True):
        audio_region(regions, ids, lane, source_ids, rate, whole_file=True)
    for midi_lane, source_id in zip(plan.midi, midi_ids, strict=True):
        midi_region(regions, ids, midi_lane, source_id, rate, whole_file=True)
    locations(ET.SubElement(root, "Locations"), ids, plan)
    ET.SubElement(root, "Bundles")
    routes = ET.SubElement(root, "Routes")
    playlists = ET.SubElement(root, "Playlists")
    colours = {name: group.colour for group in plan.groups for name in group.routes}
    tracks: list[ET.Element] = []
    for lane, source_ids in zip(plan.audio, audio_ids, strict=True):
        track_playlist = playlist(playlists, ids, lane.route, "audio")
        audio_region(track_playlist, ids, lane, source_ids, rate, whole_file=False)
        spec = RouteSpec(
            lane.route,
            "audio",
            len(lane.files),
            len(tracks) + 1,
            lane.comment,
            connect_to=(f"{MASTER}/audio_in 1", f"{MASTER}/audio_in 2"),
        )
        tracks.append(_track(ids, spec, track_playlist, colours))
    for midi_lane, source_id in zip(plan.midi, midi_ids, strict=True):
        track_playlist = playlist(playlists, ids, midi_lane.route, "midi")
        midi_region(track_playlist, ids, midi_lane, source_id, rate, whole_file=False)
        spec = RouteSpec(midi_lane.route, "midi", 1, len(tracks) + 1, midi_lane.comment, outputs=1)
        tracks.append(_track(ids, spec, track_playlist, colours))
    feeds = [port_name(lane.route, "audio", "out", n) for lane in plan.audio for n in (1, 2)]
    routes.append(master_route(ids, feeds))
    routes.extend(tracks)
    ET.SubElement(root, "UnusedPlaylists")
    _route_groups(ET.SubElement(root, "RouteGroups"), ids, plan, tracks)
    _click(root, ids)
    tempo_map(root, plan)
    root.set("id-counter", str(ids.value + 1))
    ET.indent(root, space="  ")
    return ET.ElementTree(root)


def _route_groups(
    parent: ET.Element, ids: IdCounter, plan: SessionPlan, tracks: list[ET.Element]
) -> None:
    route_ids = {route.get("name"): route.get("id", "") for route in tracks}
    for group in plan.groups:
        members = " ".join(route_ids[name] for name in group.routes) + " "
        attributes = {
            "id": ids.next(),
            "rgba": str(group.colour),
            "used-to-share-gain": "0",
            "name": group.name,
            "hidden": "0",
            "active": "1",
            "relative": "1",
            **_GROUP_SHARES,
            "group-master-number": "-1",
            "routes": members,
        }
        ET.SubElement(parent, "RouteGroup", attributes)


def _metadata(root: ET.Element, plan: SessionPlan) -> None:
    """Ardour's Session > Properties > Metadata: the title, the prompts and parameters as the
    description, a one-line comment and the genre (each field is an element holding text)."""
    metadata = ET.SubElement(root, "Metadata")
    for field, value in (
        ("title", plan.title),
        ("description", plan.description),
        ("comment", plan.comment),
        ("genre", plan.genre),
    ):
        text = clean_text(value, keep_newlines=True).strip()
        if text:
            ET.SubElement(metadata, field).text = text


def _track(
    ids: IdCounter, spec: RouteSpec, track_playlist: ET.Element, colours: dict[str, int]
) -> ET.Element:
    route = track_route(ids, spec, track_playlist.get("id", ""))
    track_playlist.set("orig-track-id", route.get("id", ""))
    info = route.find("PresentationInfo")
    if info is not None and spec.name in colours:
        info.set("color", str(colours[spec.name]))
    return route


def _click(root: ET.Element, ids: IdCounter) -> None:
    """The metronome's output and level, as a new session has them."""
    click = ET.SubElement(root, "Click")
    io = ET.SubElement(
        click,
        "IO",
        {"name": "Click", "id": ids.next(), "direction": "Output", "default-type": "audio"},
    )
    for number in (1, 2):
        port = ET.SubElement(io, "Port", {"type": "audio", "name": f"Click/audio_out {number}"})
        ET.SubElement(port, "Connection", {"other": f"system:playback_{number}"})
    amp = ET.SubElement(
        click,
        "Processor",
        {
            "id": ids.next(),
            "name": "Amp",
            "active": "1",
            "user-latency": "0",
            "use-user-latency": "0",
            "type": "amp",
        },
    )
    automation = ET.SubElement(amp, "Automation")
    ET.SubElement(
        automation,
        "AutomationList",
        {
            "automation-id": "gain",
            "id": ids.next(),
            "interpolation-style": "Exponential",
            "time-domain": "AudioTime",
            "state": "Off",
        },
    )
    ET.SubElement(
        amp,
        "Controllable",
        {"name": "gaincontrol", "id": ids.next(), "flags": "GainLike", "value": "1"},
    )
