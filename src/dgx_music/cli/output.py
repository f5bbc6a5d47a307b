"""How jobs, tracks and analyses look on a terminal and as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from dgx_music.serialization import to_jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from dgx_music.audio.analysis import Analysis
    from dgx_music.domain import Job, Track


def job_dict(job: Job) -> dict[str, Any]:
    data = asdict(job)
    data["request"] = job.request.model_dump(mode="json")
    data["status"] = job.status.value
    return {k: to_jsonable(v) for k, v in data.items()}


def track_dict(track: Track, library_root: str | None = None) -> dict[str, Any]:
    from dgx_music.agreement import disagreements

    data = {k: to_jsonable(v) for k, v in asdict(track).items()}
    data["disagreements"] = disagreements(track)
    if library_root is not None:
        data["absolute_path"] = f"{library_root}/{track.path}"
    return data


def print_json(data: Any) -> None:
    typer.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False))


def fmt_db(value: float | None, unit: str) -> str:
    if value is None or value == float("-inf"):
        return "–"
    return f"{value:.1f} {unit}"


def _with_confidence(value: str, confidence: float | None) -> str:
    return value if confidence is None else f"{value} (confidence {confidence:.2f})"


def measurements(
    duration: float,
    bpm: float | None,
    key: str | None,
    lufs: float,
    true_peak: float,
    confidences: tuple[float | None, float | None] = (None, None),
) -> list[tuple[str, str]]:
    return [
        ("duration", f"{duration:.2f} s"),
        ("bpm", "–" if bpm is None else _with_confidence(f"{bpm:.1f}", confidences[0])),
        ("key", "–" if key is None else _with_confidence(key, confidences[1])),
        ("loudness", fmt_db(lufs, "LUFS")),
        ("true peak", fmt_db(true_peak, "dBTP")),
    ]


def print_track(
    console: Console,
    track: Track,
    absolute_path: str,
    interpretation: object = None,
    notes: dict[str, Any] | None = None,
) -> None:
    from dgx_music.agreement import disagreements

    rows = [("file", absolute_path), ("track", track.id), ("job", track.job_id)]
    confidences = (track.bpm_confidence, track.key_confidence)
    rows += measurements(
        track.duration, track.bpm, track.key, track.lufs, track.true_peak, confidences
    )
    rows += [("disagrees", note) for note in disagreements(track)]
    rows += [
        ("normalised by", track.loudness_method),
        ("format", f"{track.format}, {track.sample_rate} Hz, {track.channels} ch"),
        ("engine", f"{track.engine} (seed {track.seed})"),
    ]
    rows += engine_rows(track, notes or {})
    rows.append(("prompt", track.prompt))
    if track.stems:
        folder = next(iter(track.stems.values())).rpartition("/")[0]
        rows.append(("stems", f"{', '.join(sorted(track.stems))} in {folder}/"))
    if track.midi_path:
        rows.append(("midi", track.midi_path))
    rows += interpretation_rows(interpretation)
    _print_rows(console, rows)


def engine_rows(track: Track, notes: dict[str, Any]) -> list[tuple[str, str]]:
    """Why ``auto`` picked the engine, and which model on which device made the clip."""
    rows = []
    choice = notes.get("engine_choice")
    if isinstance(choice, dict):
        rows.append(("chosen by auto", str(choice.get("reason", ""))))
    if track.model:
        where = ", ".join(
            str(notes[key]) for key in ("device", "dtype") if notes.get(key) is not None
        )
        rows.append(("model", f"{track.model} ({where})" if where else track.model))
    if notes.get("steps_per_second"):
        rows.append(("decoding", f"{notes['decoding_steps']} steps, {notes['steps_per_second']}/s"))
    return rows


def print_analysis(console: Console, path: str, analysis: Analysis) -> None:
    rows = [
        ("file", path),
        ("sample rate", f"{analysis.sample_rate} Hz"),
        ("channels", str(analysis.channels)),
    ]
    rows += measurements(
        analysis.duration,
        analysis.bpm,
        analysis.key,
        analysis.lufs,
        analysis.true_peak,
        (analysis.bpm_confidence, analysis.key_confidence),
    )
    _print_rows(console, rows)


def print_job(console: Console, job: Job) -> None:
    rows = [
        ("job", job.id),
        ("status", job.status.value),
        ("progress", f"{job.progress:.0%}" + (f" ({job.stage})" if job.stage else "")),
        ("prompt", job.request.prompt),
        ("engine", job.request.engine + (f" → ran {job.engine_used}" if job.engine_used else "")),
        ("duration", f"{job.request.duration:g} s"),
        ("seed", str(job.seed)),
        ("attempts", f"{job.attempts}/{job.max_attempts}"),
        ("created", job.created_at.isoformat(timespec="seconds")),
    ]
    if job.batch_id:
        rows.append(("batch", job.batch_id))
    if job.error:
        rows.append(("error", job.error))
    rows += interpretation_rows(job.notes.get("interpretation"))
    _print_rows(console, rows)


def interpretation_rows(interpretation: object) -> list[tuple[str, str]]:
    """What the engine read in the prompt, in words: each decision and the words behind it."""
    if not isinstance(interpretation, dict):
        return []
    understood = []
    for name, decision in interpretation.items():
        if not isinstance(decision, dict) or decision.get("value") in (None, [], ""):
            continue
        value = decision["value"]
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float):
            value = f"{value:g}"
        matched = decision.get("matched")
        if isinstance(matched, list):
            matched = ", ".join(str(m) for m in matched)
        source = decision.get("source", "")
        origin = f"from '{matched}'" if matched else str(source or "default")
        understood.append(f"{name} {value} ({origin})")
    rows = [("understood", "; ".join(understood))] if understood else []
    if interpretation.get("understood_nothing"):
        rows.append(("note", "nothing musical recognised in the prompt: defaults used"))
    for label in ("defaulted", "ignored"):
        items = interpretation.get(label)
        if items:
            rows.append((label, ", ".join(str(item) for item in items)))
    return rows


def _print_rows(console: Console, rows: list[tuple[str, str]]) -> None:
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
