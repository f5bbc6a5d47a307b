"""``models list|pull`` and ``doctor`` through the real command line, with no network at all."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from dgx_music.engines.musicgen.catalog import KNOWN_MODELS
from tests.support.cli import run_cli
from tests.support.tiny_musicgen import build_tiny_musicgen

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: it takes seconds, and every test only reads it."""
    return build_tiny_musicgen(tmp_path_factory.mktemp("tiny") / "checkpoint")


def _cache_with(checkpoint: Path, repo: str) -> Path:
    """A Hugging Face cache laid out as ``snapshot_download`` leaves it, holding ``repo``."""
    cache = Path(os.environ["DGX_MUSIC_MODELS_DIR"])
    entry = cache / ("models--" + repo.replace("/", "--"))
    shutil.copytree(checkpoint, entry / "snapshots" / SNAPSHOT)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(SNAPSHOT)
    return entry / "snapshots" / SNAPSHOT


def test_list_shows_every_known_model_absent_from_an_empty_cache() -> None:
    result = run_cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(KNOWN_MODELS)
    assert not any(row["on_disk"] for row in rows)
    assert [row["name"] for row in rows if row["default"]] == ["facebook/musicgen-small"]
    table = run_cli("models", "list", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    for name in KNOWN_MODELS:
        assert name in table.stdout


def test_list_shows_a_local_checkpoint_configured_as_the_model(tiny_checkpoint: Path) -> None:
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_checkpoint), "COLUMNS": "250"}
    result = run_cli("models", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    mine = rows[str(tiny_checkpoint)]
    assert mine["on_disk"] and mine["default"]
    assert mine["size_bytes"] > 0 and mine["size"].endswith("MB")
    assert mine["path"] == str(tiny_checkpoint.resolve())
    assert not rows["facebook/musicgen-small"]["default"]
    table = run_cli("models", "list", env=env)
    assert str(tiny_checkpoint) in table.stdout and "MB" in table.stdout


def test_list_and_pull_find_weights_already_in_the_cache(
    tiny_checkpoint: Path,
) -> None:
    snapshot = _cache_with(tiny_checkpoint, "facebook/musicgen-stereo-small")
    rows = {row["name"]: row for row in json.loads(run_cli("models", "list", "--json").stdout)}
    assert rows["facebook/musicgen-stereo-small"]["path"] == str(snapshot)
    assert rows["facebook/musicgen-stereo-small"]["on_disk"]
    assert not rows["facebook/musicgen-small"]["on_disk"]
    result = run_cli("models", "pull", "stereo-small", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "already on disk" in result.stdout and str(snapshot) in result.stdout


@pytest.mark.parametrize("name", ["bogus", "musicgen-tiny", "./not-a-checkpoint"])
def test_pull_of_an_unknown_name_is_bad_input(name: str) -> None:
    result = run_cli("models", "pull", name)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    if "/" not in name:
        assert "facebook/musicgen-small" in result.stderr  # the known names are listed


def test_pull_while_offline_fails_quickly_with_one_clear_line() -> None:
    start = time.monotonic()
    result = run_cli("models", "pull", "facebook/musicgen-small", env={"HF_HUB_OFFLINE": "1"})
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "offline" in result.stderr and "facebook/musicgen-small" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert elapsed < 20


def test_pull_with_the_hub_unreachable_fails_quickly_with_one_clear_line() -> None:
    # Port 9 (discard) on loopback: refused at once, no packet leaves the machine.
    env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}
    start = time.monotonic()
    result = run_cli("models", "pull", "small", env=env, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unreachable" in result.stderr and "127.0.0.1:9" in result.stderr
    assert elapsed < 30


def test_doctor_on_this_cpu_machine_passes_with_a_matmul_check() -> None:
    result = run_cli("doctor", "--json", env={"DGX_MUSIC_MUSICGEN_DEVICE": "cpu"})
    assert result.returncode == 0, result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["matmul"]["ok"] and checks["matmul"]["status"] == "ok"
    assert "cpu" in checks["matmul"]["detail"]
    import torch

    assert checks["torch"]["ok"] and torch.__version__ in checks["torch"]["detail"]
    assert {"python", "transformers", "cuda", "bfloat16", "disk: data dir", "models"} <= set(checks)
    assert all(check["status"] in {"ok", "warn", "fail"} for check in checks.values())
    assert not any(check["status"] == "fail" for check in checks.values())
    # The empty test cache: the configured model is missing, which is a warning, not a failure.
    assert checks["models"]["status"] == "warn"


def test_doctor_with_the_default_device_and_no_gpu_warns_but_passes() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = run_cli("doctor", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "no CUDA GPU: generation runs on the CPU" in result.stdout
    assert "matmul" in result.stdout


def test_doctor_fails_naming_cuda_when_asked_for_cuda_without_it() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = run_cli("doctor", env={"DGX_MUSIC_MUSICGEN_DEVICE": "cuda", "COLUMNS": "200"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: cuda:" in result.stderr and "CUDA is not available" in result.stderr


def test_doctor_fails_on_a_configured_directory_that_is_no_checkpoint(tmp_path: Path) -> None:
    empty = tmp_path / "empty-checkpoint"
    empty.mkdir()
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(empty), "DGX_MUSIC_MUSICGEN_DEVICE": "cpu"}
    result = run_cli("doctor", "--json", env=env)
    assert result.returncode == 1
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["models"]["status"] == "fail" and str(empty) in checks["models"]["detail"]
    assert "error: models:" in result.stderr
