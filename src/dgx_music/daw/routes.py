"""The ``<Route>`` elements of an Ardour 7 session: the master bus, audio tracks, MIDI tracks.

Written the way Ardour 7.3 itself saves a freshly created track (controls, IO ports and their
connections, panner, the disk reader/writer, trim, fader, meter and main outs), because a
route that leaves parts out is not rejected but rebuilt with defaults, and Ardour then reports
what it had to invent. Every object carries an id from one session-wide counter
(:class:`IdCounter`); the session's ``id-counter`` is set past the last one so that objects
Ardour creates later never collide with ours.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from dgx_music.daw.naming import port_safe

ROUTE_VERSION = "7002"
"""The route state version Ardour 7.3 writes (and the session version it belongs to)."""

MASTER = "Master"
_PAN_PARAMETERS = ("azimuth", "elevation", "width", "frontback", "lfe")
_PAN_VALUES = {"azimuth": "0.5"}


@dataclass
class IdCounter:
    """Session-wide object ids, as Ardour's own counter hands them out (never reused)."""

    value: int = 100

    def next(self) -> str:
        self.value += 1
        return str(self.value)


@dataclass(frozen=True)
class RouteSpec:
    """What varies between tracks: name, kind, channel counts, playlist, order, notes."""

    name: str
    kind: str
    """``"audio"`` or ``"midi"``."""
    inputs: int
    order: int
    comment: str = ""
    outputs: int = 2
    connect_to: tuple[str, ...] = field(default=())
    """Ports each output connects to, in order (the master's inputs, or the sound card's)."""


def port_name(route: str, kind: str, direction: str, number: int) -> str:
    """``"Bass/audio_out 1"``: the port names Ardour derives from a route's name (a colon
    separates a port's owner from its name, so Ardour writes colons in route names as "-")."""
    return f"{port_safe(route)}/{kind}_{direction} {number}"


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items()})


def _automation(parent: ET.Element, ids: IdCounter, names: tuple[str, ...], domain: str) -> None:
    automation = _sub(parent, "Automation")
    for name in names:
        style = "Linear" if name.startswith("pan-") else "Discrete"
        _sub(
            automation,
            "AutomationList",
            automation_id=name,
            id=ids.next(),
            interpolation_style=style,
            time_domain=domain,
            state="Off",
        )


def _controllable(parent: ET.Element, ids: IdCounter, name: str, flags: str, **extra: str) -> None:
    ET.SubElement(
        parent,
        "Controllable",
        {"name": name, "id": ids.next(), "flags": flags, "value": "0", **extra},
    )


def _io(
    parent: ET.Element,
    ids: IdCounter,
    route: str,
    direction: str,
    kind: str,
    count: int,
    connections: tuple[str, ...] = (),
) -> None:
    io = _sub(parent, "IO", name=route, id=ids.next(), direction=direction, default_type=kind)
    suffix = "in" if direction == "Input" else "out"
    for number in range(1, count + 1):
        port = _sub(io, "Port", type=kind, name=port_name(route, kind, suffix, number))
        if number <= len(connections):
            _sub(port, "Connection", other=connections[number - 1])


def _gain_stage(parent: ET.Element, ids: IdCounter, kind: str) -> None:
    name, automation_id, control = {
        "trim": ("Amp", "trim", "trimcontrol"),
        "amp": ("Amp", "gain", "gaincontrol"),
    }[kind]
    processor = _processor(parent, ids, name, kind)
    style = "Logarithmic" if kind == "trim" else "Exponential"
    lists = _sub(processor, "Automation")
    _sub(
        lists,
        "AutomationList",
        automation_id=automation_id,
        id=ids.next(),
        interpolation_style=style,
        time_domain="AudioTime",
        state="Off",
    )
    _sub(processor, "Controllable", name=control, id=ids.next(), flags="GainLike", value="1")


def _processor(
    parent: ET.Element, ids: IdCounter, name: str, kind: str, **extra: str
) -> ET.Element:
    attributes = {
        "id": ids.next(),
        "name": name,
        "active": "1",
        "user-latency": "0",
        "use-user-latency": "0",
        **{k.replace("_", "-"): v for k, v in extra.items()},
        "type": kind,
    }
    return ET.SubElement(parent, "Processor", attributes)


def _pannable(parent: ET.Element, ids: IdCounter) -> None:
    pannable = _sub(parent, "Pannable")
    for parameter in _PAN_PARAMETERS:
        _sub(
            pannable,
            "Controllable",
            name=f"pan-{parameter}",
            id=ids.next(),
            flags="",
            value=_PAN_VALUES.get(parameter, "0"),
        )
    _automation(pannable, ids, tuple(f"pan-{p}" for p in _PAN_PARAMETERS), "BeatTime")


def _solo_controls(route: ET.Element, ids: IdCounter) -> None:
    _controllable(
        route,
        ids,
        "solo",
        "Toggle,RealTime",
        **{"self-solo": "0", "soloed-by-upstream": "0", "soloed-by-downstream": "0"},
    )
    _controllable(route, ids, "solo-iso", "Toggle,RealTime", **{"solo-isolated": "0"})
    _controllable(route, ids, "solo-safe", "Toggle", **{"solo-safe": "0"})


def master_route(ids: IdCounter, inputs_from: list[str]) -> ET.Element:
    """The stereo master bus playing to the sound card's first two outputs, fed by
    ``inputs_from``: each track's ``audio_out 1`` and ``audio_out 2`` in turn (left, right)."""
    route = ET.Element(
        "Route",
        {
            "version": ROUTE_VERSION,
            "id": ids.next(),
            "name": MASTER,
            "default-type": "audio",
            "strict-io": "1",
            "volume-applies-to-output": "1",
            "active": "1",
            "denormal-protection": "0",
            "meter-point": "MeterOutput",
            "disk-io-point": "DiskIOPreFader",
            "meter-type": "MeterK14",
        },
    )
    _sub(route, "PresentationInfo", order="0", flags="MasterOut,OrderSet", color="0")
    _solo_controls(route, ids)
    io = _sub(route, "IO", name=MASTER, id=ids.next(), direction="Input", default_type="audio")
    for number in (1, 2):
        port = _sub(io, "Port", type="audio", name=port_name(MASTER, "audio", "in", number))
        for other in inputs_from[number - 1 :: 2]:
            _sub(port, "Connection", other=other)
    _io(route, ids, MASTER, "Output", "audio", 2, ("system:playback_1", "system:playback_2"))
    _sub(route, "MuteMaster", mute_point="PostFader,Listen,Main", muted="0")
    _controllable(route, ids, "mute", "Toggle,RealTime")
    _controllable(route, ids, "phase", "Toggle", **{"phase-invert": "00"})
    volume = {"name": "mastervolume", "id": ids.next(), "flags": "GainLike,NotAutomatable"}
    ET.SubElement(route, "Controllable", {**volume, "value": "1"})
    _automation(route, ids, ("solo", "solo-iso", "solo-safe", "mute", "phase"), "AudioTime")
    _pannable(route, ids)
    _processor(route, ids, "Polarity", "polarity")
    _gain_stage(route, ids, "trim")
    _gain_stage(route, ids, "amp")
    outs = _processor(
        route, ids, MASTER, "main-outs", own_input="1", own_output="0", output=MASTER, role="Main"
    )
    _sub(outs, "PannerShell", bypassed="0", user_panner="", linked_to_route="1")
    _processor(route, ids, f"meter-{MASTER}", "meter")
    _sub(route, "Slavable")
    return route


def track_route(ids: IdCounter, spec: RouteSpec, playlist_id: str) -> ET.Element:
    """An audio or MIDI track playing the playlist ``playlist_id``.

    Audio tracks have one input per channel of their clip and stereo outputs into the master;
    MIDI tracks have a MIDI input and output and no instrument: the rendered stems carry the
    sound, the MIDI track carries the notes to re-voice.
    """
    audio = spec.kind == "audio"
    attributes = {
        "version": ROUTE_VERSION,
        "id": ids.next(),
        "name": spec.name,
        "default-type": spec.kind,
        "strict-io": "1",
        "active": "1",
        "denormal-protection": "0",
        "meter-point": "MeterPostFader",
        "disk-io-point": "DiskIOPreFader",
        "meter-type": "MeterPeak",
        f"{spec.kind}-playlist": playlist_id,
        "saved-meter-point": "MeterPostFader",
        "alignment-choice": "Automatic",
    }
    if audio:
        attributes["mode"] = "Normal"
    else:
        attributes.update(
            {
                "playback-channel-mode": "AllChannels",
                "capture-channel-mode": "AllChannels",
                "playback-channel-mask": "0xffff",
                "capture-channel-mask": "0xffff",
                "note-mode": "Sustained",
                "step-editing": "0",
                "input-active": "1",
                "restore-pgm": "1",
            }
        )
    route = ET.Element("Route", attributes)
    flags = "AudioTrack,OrderSet" if audio else "MidiTrack,OrderSet"
    _sub(route, "PresentationInfo", order=str(spec.order), flags=flags, color="0")
    _solo_controls(route, ids)
    _io(route, ids, spec.name, "Input", spec.kind, spec.inputs)
    _io(route, ids, spec.name, "Output", spec.kind, spec.outputs, spec.connect_to)
    _sub(route, "MuteMaster", mute_point="PostFader,Listen,Main", muted="0")
    _controllable(route, ids, "mute", "Toggle,RealTime")
    _controllable(route, ids, "phase", "Toggle", **{"phase-invert": "0" * spec.inputs})
    domain = "AudioTime" if audio else "BeatTime"
    names = ("solo", "solo-iso", "solo-safe", "mute", "rec-enable", "rec-safe", "phase", "monitor")
    _automation(route, ids, names, domain)
    _pannable(route, ids)
    _processor(route, ids, f"recorder:{spec.name}", "diskwriter", record_safe="0")
    _processor(route, ids, f"player:{spec.name}", "diskreader")
    _processor(route, ids, "Polarity", "polarity")
    if audio:
        _gain_stage(route, ids, "trim")
    _gain_stage(route, ids, "amp")
    _processor(route, ids, f"meter-{spec.name}", "meter")
    outs = _processor(
        route, ids, spec.name, "main-outs", own_input="1", own_output="0", output=spec.name
    )
    outs.set("role", "Main")
    _sub(outs, "PannerShell", bypassed="0", user_panner="", linked_to_route="1")
    _sub(route, "Slavable")
    ET.SubElement(
        route,
        "Controllable",
        {"name": "monitor", "id": ids.next(), "flags": "RealTime", "value": "0", "monitoring": ""},
    )
    _controllable(route, ids, "rec-safe", "Toggle,RealTime")
    _controllable(route, ids, "rec-enable", "Toggle,RealTime")
    if spec.comment:
        comment = ET.SubElement(route, "Comment")
        comment.text = spec.comment
    return route
