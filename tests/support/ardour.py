"""Load a session in real Ardour (Debian's ``ardour`` 7 package, headless) and report what it saw.

``ardour7-lua`` runs a Lua script against a session with the "None (Dummy)" audio backend:
no sound card, no GUI. Each session is loaded from a copy (Ardour writes into a session folder
when it opens one), with a private HOME (Ardour writes its configuration there on first run),
under a timeout, one session per process, always naming the snapshot. Every ``[ERROR]`` line
fails the test, and so does every ``[WARNING]`` not in :data:`ALLOWED_WARNINGS`.

The package is installed by ``scripts/test.sh`` when missing; a missing binary here is a test
failure, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA_SESSION = "ardour7-lua"
INSPECT_SCRIPT = Path(__file__).with_name("ardour_inspect.lua")
TIMEOUT_SECONDS = 120

ALLOWED_WARNINGS = {
    "Falling back to Reasonable Synth for Midi Audition": (
        "Ardour auditions MIDI with the General MIDI Synth plugin (x42-plugins) when installed "
        "and says so at every start when it is not; it concerns this machine, not the session "
        "(a session Ardour creates itself gets the same line)"
    ),
}
"""Warnings a load may print, each with the reason it says nothing about the session."""


@dataclass(frozen=True)
class Region:
    route: str
    name: str
    kind: str
    position: int
    length: int
    start: int
    bpm: float
    bbt: str
    meter: str
    extra: str
    """Audio: the region's peak amplitude. MIDI: ``notes|length in beats``."""
    sources: list[tuple[str, str, int]] = field(default_factory=list)
    """(source name, file path, length in samples) per channel."""

    @property
    def peak(self) -> float:
        return float(self.extra)

    @property
    def notes(self) -> int:
        return int(self.extra.split("|")[0])


@dataclass(frozen=True)
class Route:
    name: str
    audio_inputs: int
    audio_outputs: int
    group: str
    comment: str


@dataclass(frozen=True)
class Location:
    name: str
    start: int
    end: int
    flags: str


@dataclass
class ArdourView:
    """What Ardour reported after loading a session."""

    name: str = ""
    sample_rate: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: str = ""

    def region(self, route: str) -> Region:
        found = [r for r in self.regions if r.route == route]
        assert len(found) == 1, f"{route}: {found}\n{self.output}"
        return found[0]

    def marks(self) -> dict[str, int]:
        return {loc.name: loc.start for loc in self.locations if loc.flags == "mark"}


def lua_session_binary() -> str:
    found = shutil.which(LUA_SESSION)
    assert found, (
        f"{LUA_SESSION} not found: install Debian's ardour package "
        "(scripts/test.sh does: apt-get install ardour)"
    )
    return found


def load_in_ardour(session_folder: Path, snapshot: str, scratch: Path) -> ArdourView:
    """Copy ``session_folder`` under ``scratch`` (keeping its name: Ardour finds the audio by
    it), load snapshot ``snapshot`` there and return what Ardour reported."""
    copy = scratch / "copy" / session_folder.name
    shutil.copytree(session_folder, copy)
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [lua_session_binary(), str(INSPECT_SCRIPT), str(copy), snapshot],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    output = done.stdout + done.stderr
    view = _parse(done.stdout)
    view.output = output
    errors = [line for line in output.splitlines() if "[ERROR]" in line]
    assert not errors, f"Ardour reported errors:\n{output}"
    for line in output.splitlines():
        if "[WARNING]" in line:
            message = line.split("[WARNING]:", 1)[-1].strip()
            assert message in ALLOWED_WARNINGS, f"unexpected Ardour warning {line!r}\n{output}"
            view.warnings.append(message)
    assert "\nDONE" in "\n" + done.stdout, f"Ardour did not finish the inspection:\n{output}"
    return view


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(nxt, nxt))
        else:
            out.append(char)
    return "".join(out)


def _parse(stdout: str) -> ArdourView:
    view = ArdourView()
    for line in stdout.splitlines():
        kind, *fields = [_unescape(f) for f in line.split("\t")]
        if kind == "LOAD-FAILED":
            raise AssertionError(f"Ardour could not load {fields}:\n{stdout}")
        if kind == "SESSION":
            view.name, view.sample_rate = fields[0], int(fields[1])
        elif kind == "ROUTE":
            name, inputs, outputs, group, comment = fields
            view.routes[name] = Route(name, int(inputs), int(outputs), group, comment)
        elif kind == "REGION":
            route, name, what, position, length, start, bpm, bbt, meter, extra = fields
            view.regions.append(
                Region(
                    route,
                    name,
                    what,
                    int(position),
                    int(length),
                    int(start),
                    float(bpm),
                    bbt,
                    meter,
                    extra,
                )
            )
        elif kind == "SOURCE":
            route, _index, name, path, length = fields
            region = next(r for r in reversed(view.regions) if r.route == route)
            region.sources.append((name, path, int(length)))
        elif kind == "LOCATION":
            name, start, end, flags = fields
            view.locations.append(Location(name, int(start), int(end), flags))
    return view
