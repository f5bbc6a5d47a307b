"""``dgx-music``: generate clips, manage the queue and the library, run workers.

Exit codes: 0 success, 1 a job failed or was cancelled, 2 bad input.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dgx_music.cli import daw, keys, library_check, models, records, serve
from dgx_music.cli.context import EXIT_JOB_FAILED, fail, open_service, user_errors

if TYPE_CHECKING:
    from dgx_music.domain import Job
    from dgx_music.service import GenerationService

app = typer.Typer(
    name="dgx-music",
    help="Self-hosted AI music generation: prompt in, normalised, analysed clip out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(records.jobs_app, name="jobs")
app.add_typer(records.tracks_app, name="tracks")
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
models.register(app)
library_check.register(app)
serve.register(app)
keys.register(app)
daw.register(app)


class AudioFormat(enum.StrEnum):
    wav = "wav"
    flac = "flac"


class BitDepth(enum.StrEnum):
    pcm16 = "16"
    pcm24 = "24"
    float32 = "32f"


EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", "-e", help="auto (default), musicgen, symbolic, or a plugin"),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="MusicGen model: facebook/musicgen-small, …, or a dir"),
]
DurationOpt = Annotated[float | None, typer.Option("--duration", "-d", help="seconds")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="fix for a repeatable clip")]
FormatOpt = Annotated[AudioFormat | None, typer.Option("--format", "-f")]
BitDepthOpt = Annotated[BitDepth | None, typer.Option("--bit-depth")]
LoudnessOpt = Annotated[float | None, typer.Option("--loudness", help="target LUFS")]
PeakOpt = Annotated[float | None, typer.Option("--true-peak", help="ceiling in dBTP")]
PriorityOpt = Annotated[int, typer.Option("--priority", help="higher runs first")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="queue and return at once")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help='e.g. "lofi hip hop, dusty piano, 80 bpm"')],
    engine: EngineOpt = None,
    duration: DurationOpt = None,
    seed: SeedOpt = None,
    format: FormatOpt = None,
    bit_depth: BitDepthOpt = None,
    loudness: LoudnessOpt = None,
    true_peak: PeakOpt = None,
    bpm: Annotated[float | None, typer.Option("--bpm", help="tempo; beats the prompt")] = None,
    key: Annotated[str | None, typer.Option("--key", help="e.g. 'A minor', 'Bbm'")] = None,
    bars: Annotated[int | None, typer.Option("--bars", help="length in 4/4 bars")] = None,
    loop: Annotated[bool, typer.Option("--loop", help="seamless loop of whole bars")] = False,
    instrument: Annotated[
        list[str] | None, typer.Option("--instrument", "-i", help="repeat: -i rhodes -i 808")
    ] = None,
    model: ModelOpt = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="sampling temperature")
    ] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="sample among the k likeliest")
    ] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="nucleus sampling, 0–1")] = None,
    guidance: Annotated[
        float | None, typer.Option("--guidance", help="classifier-free guidance scale")
    ] = None,
    continue_from: Annotated[
        str | None, typer.Option("--continue", help="audio file or track id to continue")
    ] = None,
    melody: Annotated[
        str | None, typer.Option("--melody", help="audio file or track id (melody models)")
    ] = None,
    priority: PriorityOpt = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="also copy the clip here")] = None,
    no_wait: NoWaitOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Generate one clip from a prompt and file it in the library."""
    if out is not None and no_wait:
        fail("--out needs the clip, so it cannot be combined with --no-wait")
    with open_service() as service:
        request = service.build_request(
            prompt,
            engine=engine,
            duration=duration,
            seed=seed,
            output_format=format.value if format else None,
            bit_depth=bit_depth.value if bit_depth else None,
            loudness_lufs=loudness,
            true_peak_dbtp=true_peak,
            bpm=bpm,
            key=key,
            bars=bars,
            loop=loop or None,
            instruments=tuple(instrument) if instrument else None,
            model=model,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            guidance_scale=guidance,
            continue_from=continue_from,
            melody=melody,
        )
        jobs = service.submit([request], priority=priority).jobs
        _finish(service, jobs, no_wait, json_output, out)


@app.command()
def batch(
    file: Annotated[Path, typer.Argument(help="one prompt a line, or JSON lines with parameters")],
    engine: EngineOpt = None,
    model: ModelOpt = None,
    duration: DurationOpt = None,
    format: FormatOpt = None,
    bit_depth: BitDepthOpt = None,
    priority: PriorityOpt = 0,
    no_wait: NoWaitOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Queue many prompts as one batch (and run them here unless --no-wait)."""
    from dgx_music.cli.batchfile import read_batch_file

    with open_service() as service:
        defaults = {
            "engine": engine,
            "model": model,
            "duration": duration,
            "output_format": format.value if format else None,
            "bit_depth": bit_depth.value if bit_depth else None,
        }
        requests = read_batch_file(service, file, defaults)
        submission = service.submit(requests, priority=priority, as_batch=True)
        if not json_output:
            typer.echo(f"batch {submission.batch_id}: {len(submission.jobs)} jobs queued")
        _finish(service, submission.jobs, no_wait, json_output, None)


def _finish(
    service: GenerationService, jobs: list[Job], no_wait: bool, json_output: bool, out: Path | None
) -> None:
    from rich.console import Console

    from dgx_music.cli.output import job_dict, print_job, print_json, print_track, track_dict
    from dgx_music.cli.watch import run_and_watch
    from dgx_music.domain import JobStatus
    from dgx_music.library import copy_atomic

    console = Console()
    if no_wait:
        if json_output:
            print_json([job_dict(job) for job in jobs])
        else:
            for job in jobs:
                typer.echo(f"queued job {job.id}")
        return
    finals = run_and_watch(service, jobs, show_progress=not json_output)
    results = []
    failed = False
    root = str(service.library.root)
    for job in finals:
        entry = job_dict(job)
        if job.status is JobStatus.COMPLETED:
            track = service.track_for_job(job.id)
            absolute = service.library.absolute(track.path)
            entry["track"] = track_dict(track, root)
            if out is not None:
                entry["copied_to"] = str(copy_atomic(absolute, out))
            if not json_output:
                print_track(
                    console, track, str(absolute), job.notes.get("interpretation"), job.notes
                )
                if out is not None:
                    console.print(f"copied to {entry['copied_to']}")
        else:
            failed = True
            if not json_output:
                print_job(console, job)
        results.append(entry)
    if json_output:
        print_json(results[0] if len(results) == 1 else results)
    if failed:
        raise typer.Exit(EXIT_JOB_FAILED)


@app.command()
def analyze(
    files: Annotated[list[Path], typer.Argument(help="audio files (WAV, FLAC, OGG…)")],
    json_output: JsonOpt = False,
) -> None:
    """Measure duration, BPM, key, integrated loudness and true peak of audio files."""
    from dataclasses import asdict

    from rich.console import Console

    from dgx_music.audio import analyse, read_audio
    from dgx_music.cli.output import print_analysis, print_json
    from dgx_music.serialization import to_jsonable

    with user_errors():
        clips = [(path, read_audio(path)) for path in files]  # all readable before any output
        results = [(path, analyse(clip)) for path, clip in clips]
    if json_output:
        print_json([to_jsonable({"path": p, **asdict(a)}) for p, a in results])
        return
    console = Console()
    for path, analysis in results:
        print_analysis(console, str(path), analysis)


@app.command()
def worker(
    max_jobs: Annotated[int | None, typer.Option(help="exit after this many jobs")] = None,
    until_idle: Annotated[bool, typer.Option(help="exit when the queue is empty")] = False,
    preload: Annotated[
        bool, typer.Option(help="load the configured MusicGen model before the first job")
    ] = False,
) -> None:
    """Claim and run queued jobs until stopped (SIGTERM: finish the job; twice: release it)."""
    import logging
    import signal
    import time

    from dgx_music.cli.supervise import SIGNAL_ECHO_SECONDS, stop_with_supervisor
    from dgx_music.worker import Worker, lower_cpu_priority

    stop_with_supervisor()
    with open_service() as service:
        logging.basicConfig(
            level=service.settings.log_level, format="%(asctime)s %(levelname)s %(message)s"
        )
        lower_cpu_priority(service.settings.worker_priority, whole_process=True)
        runner = Worker(service)
        if preload:
            engine = service.engines.get("musicgen")
            loaded = engine.preload()  # type: ignore[attr-defined]
            logging.info("preloaded %s on %s", loaded.name, loaded.device)
        first_signal_at: list[float] = []

        def on_signal(signum: int, _frame: object) -> None:
            # One stop request often arrives twice at once: a terminal's Ctrl-C reaches the
            # whole process group and `serve --processes` (or systemd) passes a SIGTERM on.
            # Only a signal well after the first means "stop now".
            now = time.monotonic()
            if not first_signal_at:
                first_signal_at.append(now)
                logging.info("signal %d: finishing the current job, then exiting", signum)
                runner.stop()
            elif now - first_signal_at[0] < SIGNAL_ECHO_SECONDS:
                logging.info("signal %d: already stopping", signum)
            else:
                logging.info("signal %d again: releasing the current job", signum)
                runner.abort()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        logging.info("worker %s started", runner.name)
        ran = runner.run_forever(max_jobs=max_jobs, until_idle=until_idle)
        logging.info("worker %s stopped after %d jobs", runner.name, ran)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    from dgx_music.config import load_settings
    from dgx_music.storage.database import SCHEMA_REVISION, Database

    with user_errors():
        settings = load_settings()
        database = Database(settings.effective_database_url, settings.sqlite_busy_timeout)
        before = database.upgrade()
        database.dispose()
    typer.echo(f"database at revision {SCHEMA_REVISION} (was {before or 'empty'})")


@app.command()
def config(json_output: JsonOpt = False) -> None:
    """Print the effective settings and where each one came from."""
    from rich.console import Console
    from rich.table import Table

    from dgx_music.cli.output import print_json
    from dgx_music.config import default_config_file, load_settings, setting_sources
    from dgx_music.serialization import to_jsonable

    with user_errors():
        settings = load_settings()
    sources = setting_sources(settings)
    values = {name: to_jsonable(getattr(settings, name)) for name in sources}
    if json_output:
        print_json({name: {"value": values[name], "source": sources[name]} for name in sources})
        return
    table = Table(title=f"config file: {default_config_file()}")
    for column in ("setting", "value", "source"):
        table.add_column(column)
    for name in sources:
        table.add_row(name, str(values[name]), sources[name])
    Console().print(table)


def run() -> None:
    app()
