"""The checks behind ``dgx-music doctor``, fed fake disks, fake GPUs and a missing torch."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import torch  # part of the test install: a missing torch must fail, not skip

from dgx_music.engines.musicgen import health
from dgx_music.engines.musicgen.health import GB, Check, Status


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (2_400_000_000, "2.4 GB"), (3e15, "3000.0 TB")],
)
def test_human_size_uses_decimal_units(size: float, shown: str) -> None:
    assert health.human_size(size) == shown


@pytest.mark.parametrize(
    ("free", "status"),
    [(1 * GB, Status.FAIL), (5 * GB, Status.WARN), (50 * GB, Status.OK)],
)
def test_disk_check_thresholds(tmp_path: Path, free: int, status: Status) -> None:
    check = health.check_disk(
        "disk", tmp_path, fail_below=2 * GB, warn_below=10 * GB, free_bytes=lambda _: free
    )
    assert check.status is status
    assert check.ok is (status is not Status.FAIL)
    assert str(tmp_path) in check.detail and health.human_size(free) in check.detail


def test_disk_check_measures_the_nearest_existing_parent(tmp_path: Path) -> None:
    seen: list[Path] = []

    def free_bytes(path: Path) -> int:
        seen.append(path)
        return 100 * GB

    missing = tmp_path / "not" / "yet" / "created"
    check = health.check_disk("disk", missing, free_bytes=free_bytes)
    assert check.status is Status.OK
    assert seen == [tmp_path]
    assert str(missing) in check.detail


def test_real_disk_check_of_a_temporary_directory_measures_something(tmp_path: Path) -> None:
    check = health.check_disk("disk", tmp_path, fail_below=0, warn_below=0)
    assert check.status is Status.OK and " free at " in check.detail


@pytest.mark.parametrize(
    ("capability", "arch_list", "status"),
    [
        ((9, 0), ["sm_80", "sm_90"], Status.OK),
        ((12, 1), ["sm_90", "sm_120"], Status.OK),  # sm_120 cubins run on sm_121
        ((8, 6), ["sm_80", "sm_90"], Status.OK),
        ((12, 1), ["sm_90", "compute_90"], Status.WARN),  # PTX, compiled at load
        ((12, 1), ["sm_80", "sm_90", "sm_90a"], Status.FAIL),
        ((7, 0), ["sm_80", "compute_80"], Status.FAIL),  # PTX only runs on newer GPUs
    ],
)
def test_compute_capability_against_the_archs_torch_was_built_for(
    capability: tuple[int, int], arch_list: list[str], status: Status
) -> None:
    check = health.check_compute_capability(capability, arch_list)
    assert check.status is status
    assert f"sm_{capability[0]}{capability[1]}" in check.detail


def test_missing_torch_is_a_failure_that_says_what_to_install() -> None:
    def no_torch() -> ModuleType:
        raise ImportError("No module named 'torch'")

    module, check = health.check_torch(no_torch)
    assert module is None
    assert check.status is Status.FAIL
    assert "pip install 'dgx-music[musicgen]'" in check.detail


def test_installed_torch_reports_its_version() -> None:
    module, check = health.check_torch()
    assert module is torch
    assert check.ok and torch.__version__ in check.detail


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_matmul_on_the_cpu_is_within_tolerance_for_each_dtype(dtype: str) -> None:
    check = health.check_matmul(torch, "cpu", dtype)
    assert check.status is Status.OK, check.detail
    assert f"{dtype} on cpu" in check.detail


def test_matmul_that_cannot_run_is_a_failure_not_a_crash() -> None:
    check = health.check_matmul(torch, "meta", "float32")  # meta tensors have no values
    assert check.status is Status.FAIL
    assert "float32 on meta failed" in check.detail


def test_auto_dtype_is_float32_on_the_cpu() -> None:
    assert health.resolve_dtype(torch, "cpu", "auto") == "float32"
    assert health.resolve_dtype(torch, "cpu", "bfloat16") == "bfloat16"


class FakeCuda:
    """A GPU as torch.cuda describes it, without one."""

    def __init__(self, *, available: bool, warning: str | None = None) -> None:
        self.available = available
        self.warning = warning

    def is_available(self) -> bool:
        if self.warning:
            warnings.warn(self.warning, UserWarning, stacklevel=2)
        return self.available

    def device_count(self) -> int:
        return 1 if self.available else 0

    def get_device_name(self, index: int = 0) -> str:
        return "NVIDIA GB10"

    def get_device_capability(self, index: int = 0) -> tuple[int, int]:
        return (12, 1)

    def get_arch_list(self) -> list[str]:
        return ["sm_90", "sm_100", "sm_120"]

    def mem_get_info(self, index: int = 0) -> tuple[int, int]:
        return (100 * GB, 128 * GB)

    def is_bf16_supported(self, including_emulation: bool = True) -> bool:
        return True


class FakeTorch:
    """The real torch, except that torch.cuda is ``FakeCuda``."""

    def __init__(self, cuda: FakeCuda, cuda_version: str | None = "13.0") -> None:
        self.cuda = cuda
        self.version = SimpleNamespace(cuda=cuda_version)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_no_gpu_with_device_auto_warns_and_checks_the_cpu() -> None:
    checks = _by_name(health.check_accelerator(torch, "auto", "auto"))
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert checks["cuda"].status is Status.WARN
    assert "no CUDA GPU: generation runs on the CPU" in checks["cuda"].detail
    assert checks["matmul"].status is Status.OK and "on cpu" in checks["matmul"].detail
    assert {"memory", "bfloat16"} <= set(checks)


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_asked_for_but_absent_is_a_failure(device: str) -> None:
    fake = FakeTorch(FakeCuda(available=False), cuda_version=None)
    checks = health.check_accelerator(fake, device, "auto")
    assert [check.name for check in checks] == ["cuda"]
    assert checks[0].status is Status.FAIL
    assert f"DGX_MUSIC_MUSICGEN_DEVICE={device}" in checks[0].detail
    assert "CPU-only build" in checks[0].detail


def test_a_driver_too_old_is_given_as_the_reason() -> None:
    cuda = FakeCuda(available=False, warning="The NVIDIA driver on your system is too old")
    checks = health.check_accelerator(FakeTorch(cuda), "cuda", "auto")
    assert "driver on your system is too old" in checks[0].detail


def test_a_gpu_index_that_does_not_exist_is_a_failure() -> None:
    fake = FakeTorch(FakeCuda(available=True))
    checks = health.check_accelerator(fake, "cuda:3", "auto")
    assert checks[0].status is Status.FAIL and "only 1 CUDA device" in checks[0].detail


def test_a_gpu_is_described_and_a_broken_matmul_does_not_hide_the_rest() -> None:
    fake = FakeTorch(FakeCuda(available=True))
    checks = _by_name(health.check_accelerator(fake, "auto", "auto"))
    assert checks["cuda"].ok and "NVIDIA GB10" in checks["cuda"].detail
    assert "CUDA 13.0" in checks["cuda"].detail
    assert checks["compute capability"].status is Status.OK
    assert checks["gpu memory"].ok and "100.0 GB free of 128.0 GB" in checks["gpu memory"].detail
    assert checks["bfloat16"].ok
    if not torch.cuda.is_available():  # the real torch cannot put tensors on cuda:0 here
        assert checks["matmul"].status is Status.FAIL
        assert "bfloat16 on cuda:0 failed" in checks["matmul"].detail


def test_models_check_warns_when_the_configured_model_is_not_on_disk(tmp_path: Path) -> None:
    check = health.check_models("small", tmp_path / "cache")
    assert check.status is Status.WARN
    assert "dgx-music models pull facebook/musicgen-small" in check.detail


def test_models_check_fails_on_a_directory_that_is_no_checkpoint(tmp_path: Path) -> None:
    check = health.check_models(str(tmp_path), tmp_path / "cache")
    assert check.status is Status.FAIL and str(tmp_path) in check.detail


def test_check_as_dict_is_what_doctor_json_prints() -> None:
    check = Check("disk", Status.WARN, "low")
    assert check.as_dict() == {"name": "disk", "status": "warn", "ok": True, "detail": "low"}


class BrokenCuda(FakeCuda):
    def get_device_capability(self, index: int = 0) -> tuple[int, int]:
        raise RuntimeError("CUDA error: unspecified launch failure")


def test_a_cuda_query_that_raises_fails_its_own_row_only() -> None:
    fake = FakeTorch(BrokenCuda(available=True))
    checks = _by_name(health.check_accelerator(fake, "cuda", "float16"))
    assert checks["compute capability"].status is Status.FAIL
    assert "unspecified launch failure" in checks["compute capability"].detail
    assert checks["cuda"].ok and checks["gpu memory"].ok and "matmul" in checks
