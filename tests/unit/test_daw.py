"""The Ardour exporter's pure parts: timeline arithmetic, names, MIDI retiming, the XML."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from fractions import Fraction

import mido
import pretty_midi
import pytest

from dgx_music.daw.ardour_xml import session_document
from dgx_music.daw.midi import split_parts
from dgx_music.daw.naming import UniqueNames, clean_text, display_name, file_safe
from dgx_music.daw.plan import AudioLane, Group, Marker, SessionPlan
from dgx_music.daw.timeline import (
    SUPERCLOCK_RATE,
    ClipTiming,
    Meter,
    TempoSection,
    bars_filled,
    first_sample_at,
    lay_out,
    superclocks_per_quarter,
)

RATE = 48_000


def test_clips_follow_each_other_on_bar_lines_under_their_own_tempo() -> None:
    # 2 bars at 120 BPM (4 s), then 1.5 bars at 90 (4 s), then 3/4 at 100.
    clips = [
        ClipTiming(4 * RATE, 120.0),
        ClipTiming(4 * RATE, 90.0),
        ClipTiming(RATE, 100.0, Meter(3, 4)),
    ]
    layout = lay_out(clips, RATE, stack=False)
    assert [t.bar for t in layout.tempos] == [1, 3, 5]
    assert [t.ticks for t in layout.tempos] == [0, 8 * 1920, 16 * 1920]
    assert layout.starts[:2] == [0, 4 * RATE]
    # Two bars of 90 BPM after the 4 s mark: 4 + 16/1.5 s.
    assert layout.starts[2] == first_sample_at(layout.tempos[2].superclock, RATE)
    assert layout.starts[2] / RATE == pytest.approx(4 + 8 * 60 / 90, abs=1 / RATE)
    assert layout.tempos[2].meter == Meter(3, 4) and layout.tempos[2].quarters == "16:0"


def test_a_tempo_point_is_where_ardour_computes_it() -> None:
    section = TempoSection(97.5, Meter(), bar=1, ticks=0, superclock=0)
    # Ardour rounds the superclocks per quarter once, then multiplies (checked in Ardour 7.3:
    # the 80 BPM point after 8 beats at 97.5 sat at 1389489232).
    assert superclocks_per_quarter(97.5) == 173_686_154
    assert section.superclock_at(8 * 1920) == 1_389_489_232
    assert first_sample_at(1_389_489_232, 44_100) == 217_108  # the first sample after it


def test_equal_tempos_share_one_section_and_stacking_starts_all_at_zero() -> None:
    clips = [ClipTiming(2 * RATE, 120.0), ClipTiming(2 * RATE, 120.0), ClipTiming(RATE, 60.0)]
    assert len(lay_out(clips, RATE, stack=False).tempos) == 2
    stacked = lay_out(clips, RATE, stack=True)
    assert stacked.starts == [0, 0, 0] and [t.bpm for t in stacked.tempos] == [120.0]


@pytest.mark.parametrize(
    ("seconds", "bars"),
    [(2.0, 1), (2.01, 1), (2.2, 2), (4.0, 2), (0.1, 1), (4.0 + 2.0 / 16 - 0.001, 2)],
)
def test_a_clip_fills_whole_bars_forgiving_a_sliver_of_overshoot(seconds: float, bars: int) -> None:
    assert bars_filled(round(seconds * RATE), RATE, 120.0, Meter()) == bars


def test_meters_are_checked_and_measured_in_quarters() -> None:
    assert Meter(6, 8).quarters_per_bar == Fraction(3) and Meter(6, 8).ticks_per_bar == 5760
    with pytest.raises(ValueError, match="not a meter"):
        Meter(4, 3)


def test_names_keep_what_a_producer_typed_and_files_lose_what_file_systems_refuse() -> None:
    typed = 'Café "Late" & <Night>: 夜/1'
    assert display_name(typed) == typed
    assert file_safe(typed) == "Café _Late_ & _Night__ 夜_1"
    assert file_safe("..") == "session" and file_safe(" .x. ") == "x"
    assert file_safe("con") == "con_"  # a device name on Windows
    assert len(file_safe("😀" * 100).encode()) <= 200  # bytes, not characters, fill a file name
    assert clean_text("a\x00b\ud800c\x7fd\ne", keep_newlines=True) == "abcd\ne"
    assert display_name("word " * 30).endswith("…") and len(display_name("word " * 30)) <= 48
    names = UniqueNames()
    assert [names.claim(n) for n in ("drums", "Drums", "Master", "drums")] == [
        "drums",
        "Drums 2",
        "Master track",
        "drums 3",
    ]


def _midi(bpm: float) -> bytes:
    score = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    piano = pretty_midi.Instrument(0, name="keys")
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")
    beat = 60.0 / bpm
    for n in range(4):
        piano.notes.append(pretty_midi.Note(90, 60 + n, n * beat, (n + 0.5) * beat))
        drums.notes.append(pretty_midi.Note(100, 36, n * beat, n * beat + 0.05))
    score.instruments += [piano, pretty_midi.Instrument(1, name="empty"), drums]
    buffer = io.BytesIO()
    score.write(buffer)
    return buffer.getvalue()


def test_midi_parts_are_retimed_to_the_session_tempo_by_their_seconds() -> None:
    parts = split_parts(_midi(100.0), seconds=4 * 0.6, bpm=50.0)
    assert [p.name for p in parts] == ["keys", "drums"]  # the empty part is left out
    keys = mido.MidiFile(file=io.BytesIO(parts[0].smf))
    assert keys.type == 0 and keys.ticks_per_beat == 1920
    onsets, now = [], 0
    for message in keys.tracks[0]:
        now += message.time
        if message.type == "note_on":
            onsets.append(now)
    # One beat at 100 BPM is 0.6 s, which is half a beat at 50 BPM: 960 ticks apart.
    assert onsets == [0, 960, 1920, 2880]
    assert parts[0].length_ticks == 3840 and parts[0].notes == 4
    drum_channels = {
        m.channel
        for m in mido.MidiFile(file=io.BytesIO(parts[1].smf)).tracks[0]
        if m.type == "note_on"
    }
    assert drum_channels == {9}


def test_the_document_escapes_names_and_links_groups_playlists_and_ports() -> None:
    name = 'A "B" & <C>: d'
    lane = AudioLane(name, name, ("a-L.wav", "a-R.wav"), RATE, 0, 0, "grp", "made & said")
    plan = SessionPlan(
        name="s",
        title="S & T",
        sample_rate=RATE,
        audio=(lane,),
        midi=(),
        tempos=(TempoSection(120.0, Meter(), 1, 0, 0),),
        end=RATE,
        groups=(Group("grp", (name,), 0x112233FF),),
        markers=(Marker("intro", 0),),
        loop=Marker("loop", 0, RATE),
        description="line one\nline two \x00",
    )
    text = io.BytesIO()
    session_document(plan).write(text, encoding="UTF-8", xml_declaration=True)
    root = ET.fromstring(text.getvalue())
    assert root.get("version") == "7002" and root.get("sample-rate") == str(RATE)
    route = next(r for r in root.iter("Route") if r.get("name") == name)
    playlist = root.find("Playlists/Playlist")
    assert playlist is not None and route.get("audio-playlist") == playlist.get("id")
    assert playlist.get("orig-track-id") == route.get("id")
    region = playlist.find("Region")
    assert region is not None and region.get("length") == f"a{SUPERCLOCK_RATE}@a0"
    ports = [p.get("name") for p in route.iter("Port")]
    assert 'A "B" & <C>- d/audio_out 1' in ports  # a colon would split a port name
    group = root.find("RouteGroups/RouteGroup")
    assert group is not None and group.get("routes") == f"{route.get('id')} "
    assert root.findtext("Metadata/description") == "line one\nline two"
    assert route.findtext("Comment") == "made & said"
    ids = [int(e.get("id", "0")) for e in root.iter() if e.get("id", "").isdigit()]
    assert len(ids) == len(set(ids)) and int(root.get("id-counter", "0")) > max(ids)


def test_the_symbolic_engine_records_where_its_sections_start() -> None:
    from dgx_music.engines.symbolic.engine import Length, sections

    bar = 4 * 60.0 / 120.0
    song = sections(Length(16 * bar, 0, 16, False), 120.0)
    assert [(s["name"], s["bar"]) for s in song] == [
        ("intro", 0),
        ("verse", 2),
        ("chorus", 6),
        ("verse", 10),
        ("outro", 14),
    ]
    assert song[1]["seconds"] == pytest.approx(2 * bar)
    loop = sections(Length(8 * bar, 0, 8, True), 120.0)
    assert [(s["name"], s["bar"]) for s in loop] == [("verse", 0), ("chorus", 4)]
