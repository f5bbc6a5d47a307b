"""Each genre's idioms as data: GM programs, kit, grooves, harmonic rhythm, feel and fills.

Kept apart from the composer so a genre reads at a glance (patterns are 16-step strings) and
adding one is a data change. Electronic genres stay on the grid because that is their idiom;
played genres (jazz, rock, lofi…) get a little timing ``feel`` and swing where they swing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
# Every progression opens on the tonic so the key is stated first; pairs become verse/chorus.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (0, 5, 1, 4), (0, 3, 4, 3)),
    "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 3, 0, 4), (0, 5, 3, 4)),
}
# ii-V turnarounds, with the tonic held long enough that the key never drifts to the dominant.
JAZZ_PROGRESSIONS = {
    "major": ((0, 5, 1, 4), (0, 0, 1, 4), (0, 3, 0, 4)),
    "minor": ((0, 3, 0, 4), (0, 5, 1, 4), (0, 0, 3, 4)),
}
KICK, SNARE, CLAP, CHH, PHH, OHH, CRASH, RIDE, LTOM, SHAKER = 36, 38, 39, 42, 44, 46, 49, 51, 45, 70
HTOM, MTOM, FTOM, RIM = 50, 47, 43, 37
TOM_FILL = (HTOM, MTOM, LTOM, FTOM)
SNARE_FILL = (SNARE, SNARE, SNARE, SNARE)
_FOUR_ON_FLOOR = ((KICK, "X...X...X...X..."), (CLAP, "....X.......X..."), (OHH, "..x...x...x...x."))
_SLOW_FLOOR = ((KICK, "X...X...X...X..."), (CLAP, "....x.......x..."), (OHH, "..o...o...o...o."))
_BACKBEAT = ((KICK, "X.......X.x....."), (SNARE, "....X.......X..."), (CHH, "x.x.x.x.x.x.x.x."))

Layer = tuple[tuple[int, str], ...]
_CYMBALS = (CHH, PHH, OHH, CRASH, RIDE, SHAKER)


@dataclass(frozen=True)
class Style:
    """How one genre plays: GM programs, kit, and per-part 16-step patterns.

    Pattern letters: ``.`` rest, ``-`` hold; drums ``o``/``x``/``X`` soft/normal/accent; bass
    ``r`` root, ``f`` fifth, ``o`` octave, ``a`` step into the next chord, ``w`` walking; chords
    and lead ``x`` onset. ``lift`` is the extra drum layer of chorus sections. ``slow``,
    ``slow_bass`` and ``fast`` are the grooves played far from the genre's usual tempo range
    (see ``at_tempo``).
    """

    programs: tuple[int, int, int]  # bass, chords, lead
    kit: int
    drums: Layer
    bass: str
    chords: str
    lead: tuple[str, ...]
    lift: Layer = ((CRASH, "x..............."),)
    sevenths: bool = False
    open_chords: bool = False  # root-octave-tenth: distortion supplies the fifth
    swing16: float = 0.0  # fraction of a step the odd 16ths are late
    swing8: float = 0.0  # fraction of a step the off-beat 8ths are late
    chord_bars: int = 1
    hat_rolls: bool = False
    fills: bool = True
    fill: tuple[int, int, int, int] = SNARE_FILL
    feel: float = 0.0  # standard deviation of human timing, seconds
    jazz_changes: bool = False
    slow: Layer = ()  # the groove well under the genre's tempo range (empty: ``drums``)
    slow_bass: str = ""
    fast: Layer = ()  # the groove over the genre's range: a hit on every beat, no half time
    eighths: bool = False  # no 16th subdivision (set by ``at_tempo`` for slow tempos)

    def at_tempo(self, bpm: float, low: float, high: float) -> Style:
        """The style as played at ``bpm`` when the genre usually lives in ``low``..``high``.

        Far from its range a groove's accents can imply another beat level (off-beat bass and
        hats at 70 BPM sound like 140, a half-time clap at 170 like 85), so the requested beat
        is made unambiguous: under the range the 16th subdivision and off-beat weight go, over
        it the genre's straight (not half-time) groove puts a hit on every beat.
        """
        if bpm < _SLOW * low:
            return replace(
                self,
                drums=tuple((n, _eighths(p)) for n, p in self.slow or self.drums),
                lift=tuple(
                    (n, _eighths(p)) for n, p in self.lift if not self.slow or n in _CYMBALS
                ),
                bass=_eighths(self.slow_bass or self.bass),
                chords=_eighths(self.chords),
                lead=tuple(_eighths(r) for r in self.lead),
                hat_rolls=False,
                eighths=True,
            )
        if bpm > high and self.fast:
            lift = tuple(layer for layer in self.lift if layer[0] in _CYMBALS)
            return replace(self, drums=self.fast, lift=lift)
        return self


_SLOW = 0.9
"""Under this fraction of a genre's lowest usual tempo its groove is simplified (``at_tempo``)."""


def _eighths(pattern: str) -> str:
    """``pattern`` without onsets on odd 16ths: a note there becomes a hold of the one before."""
    out: list[str] = []
    for step, char in enumerate(pattern):
        if step % 2 == 0 or char in ".-":
            out.append(char)
        else:
            out.append("-" if out and out[-1] != "." else ".")
    return "".join(out)


STYLES: dict[str, Style] = {
    "lofi hip hop": Style(
        (33, 4, 11), 8,
        ((KICK, "X......x..X....."), (SNARE, "....X.......X..."), (CHH, "x.o.x.o.x.o.x.oo")),
        "r-----.r--f---a.", "x---------------",
        ("x-----x-x-------", "x---x---x-x-----", "..x-x---x-----.."),
        lift=((SHAKER, "o.o.o.o.o.o.o.o."),), sevenths=True, swing16=0.3, feel=0.008,
        fast=(*_BACKBEAT[:2], (CHH, "x.o.x.o.x.o.x.oo")),
    ),
    "boom bap": Style(
        (33, 0, 73), 0,
        ((KICK, "X......X..X....."), (SNARE, "....X.......X..."), (CHH, "x.x.x.x.x.x.x.x.")),
        "r-------r---f-a-", "x-----x-..x-----",
        ("x-x-..x-x-------", "x---..x-x-x-....", "..x-x-..x---x---"),
        lift=((OHH, "..............x."),), sevenths=True, swing16=0.2, feel=0.006,
        fast=_BACKBEAT,
    ),
    "trap": Style(
        (38, 89, 10), 25,
        ((KICK, "X.........X....."), (CLAP, "........X......."), (CHH, "XoxoXoxoXoxoXoxo")),
        "r-------..r-----", "x---------------",
        ("x.x.x...x.x.x...", "x-x-x-x-x---x-..", "..x-x-x-x-x-...."),
        lift=((KICK, "......X......X.."),), hat_rolls=True,
        slow=((KICK, "X.......X......."), (CLAP, "....X.......X..."), (CHH, "X.x.X.x.X.x.X.x.")),
        slow_bass="r-------r-------",
        fast=((KICK, "X...X...X...X..."), (SNARE, "....X.......X..."), (CLAP, "....X.......X..."),
              (CHH, "XoxoXoxoXoxoXoxo")),
    ),
    "house": Style(
        (38, 0, 80), 24, (*_FOUR_ON_FLOOR, (SHAKER, "oxoooxoooxoooxoo")),
        "..r-..r-..r-..o-", "x-.x-.x-..x-.x-.",
        ("x-x-x-..x-x-....", "..x-x-..x-x-x-..", "x---x-x-x-------"),
        lift=((CHH, "x.x.x.x.x.x.x.x."),), slow=_SLOW_FLOOR, slow_bass="r-..r-..r-..o-..",
    ),
    "techno": Style(
        (39, 90, 81), 24, (*_FOUR_ON_FLOOR, (CHH, ".o.o.o.o.o.o.o.o")),
        ".rrr.rrr.rrr.rrr", "..x-......x-....",
        ("x.xx.x.xx.x.xx.x", "x..x..x..x..x.x.", "x.x.x.x.xx.x.x.."),
        lift=((RIDE, "x.x.x.x.x.x.x.x."),), chord_bars=2, slow=_SLOW_FLOOR,
        slow_bass="r---r---r---r---",
    ),
    "trance": Style(
        (38, 90, 81), 24, (*_FOUR_ON_FLOOR, (CHH, ".o.o.o.o.o.o.o.o")),
        "..rr..rr..rr..rr", "..x-..x-..x-..x-",
        ("x-x-x-x-x-x.x-x-", "x-x-x---x-x-x---", "x---x-x-x---x-x-"),
        lift=((RIDE, "x.x.x.x.x.x.x.x."),), chord_bars=2, slow=_SLOW_FLOOR,
        slow_bass="r---r---r---r---",
    ),
    "drum and bass": Style(
        (38, 89, 81), 24,
        ((KICK, "X.........X....."), (SNARE, "....x..o....x..."), (CHH, "X.x.X.x.X.x.X.x.")),
        "r-----------f---", "x---------------",
        ("x---x---x-x-----", "x-----x-x---x---", "x-x-x---x-------"),
        lift=((RIDE, "x.x.x.x.x.x.x.x."),), chord_bars=2,
    ),
    "synthwave": Style(
        (38, 90, 81), 24, ((KICK, "X.......X......."), *_BACKBEAT[1:]),
        "r-o-r-o-r-o-r-o-", "x---------------",
        ("x-----x-x---x---", "x---x---x-x-x---", "x-x-x---x-------"),
        lift=((OHH, "..x...x...x...x."),), fill=TOM_FILL,
    ),
    "pop": Style(
        (33, 0, 80), 0, _BACKBEAT,
        "r---r-r-r---r-a-", "x---x---x---x---",
        ("x-x-x---x-x-x---", "x---x-x-x-------", "..x-x-x-x---x---"),
        lift=((CLAP, "....x.......x..."),), fill=TOM_FILL, feel=0.003,
    ),
    "rock": Style(
        (34, 29, 30), 16, _BACKBEAT,
        "r-r-r-r-r-r-r-r-", "x-x-x-x-x-x-x-x-",
        ("x---x-x-x---x---", "x-x-x-x-x-------", "x---x---x-x-x---"),
        lift=((RIDE, "x.x.x.x.x.x.x.x."),), open_chords=True, fill=TOM_FILL, feel=0.004,
    ),
    "jazz": Style(
        (32, 0, 65), 32,
        ((RIDE, "X...X.x.X...X.x."), (PHH, "....X.......X..."), (KICK, "o...o...o...o...")),
        "w---w---w---w---", "x--...x-....x-..",
        ("x-x-..x-x-x-....", "..x-x-x-x---x-..", "x-----x-x-x-x---"),
        lift=((RIM, "......o.......o."),), sevenths=True, swing8=0.66, fills=False, feel=0.008,
        jazz_changes=True,
    ),
    "ambient": Style(
        (89, 88, 11), 0, ((KICK, "x...x...x...x..."), (SHAKER, "x...x...x...x...")),
        "r-------r-------", "x---------------",
        ("x-------x-------", "x-----------x---", "x-------x---x---"),
        lift=((SHAKER, "..o...o...o...o."),), chord_bars=2, fills=False, feel=0.01,
    ),
    "cinematic": Style(
        (43, 48, 60), 48, ((KICK, "X.....x.x.....x."), (LTOM, "....x.......x.xx")),
        "r-------r-------", "x---------------",
        ("x-------x---x---", "x-----x-x-------", "x---x---x-------"),
        lift=((SNARE, "o.o.o.o.o.o.o.o."),), chord_bars=2, fill=TOM_FILL, feel=0.006,
    ),
}  # fmt: skip
