"""Is this machine able to run MusicGen, and if not, why: the logic behind ``dgx-music doctor``.

Every check returns a result instead of raising, so one broken part (a driver too old for the
torch build, a GPU whose architecture the wheel was not compiled for) still lets the report show
all the others. torch is imported inside the functions: this module is imported by the CLI,
whose ``--help`` must not pay for torch, and by machines where torch is not installed at all.
"""

from __future__ import annotations

import enum
import os
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgx_music.config import Settings

INSTALL_HINT = "pip install 'dgx-music[musicgen]'"
MIN_PYTHON = (3, 11)
GB = 1_000_000_000
DISK_FAIL_BELOW = 2 * GB
"""Less than this and even musicgen-small (2.4 GB) cannot be pulled."""
DISK_WARN_BELOW = 15 * GB
"""The larger checkpoints take 6-14 GB, and the library grows with every clip."""
MATMUL_SIZE = 256
MATMUL_TOLERANCE = {"float32": 1e-3, "float16": 1e-2, "bfloat16": 3e-2}
"""Relative Frobenius error allowed; float32 is loose enough for TF32 tensor cores."""


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        """A warning is not a failure: it tells about slowness, not about something broken."""
        return self.status is not Status.FAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "ok": self.ok,
            "detail": self.detail,
        }


def human_size(size: float) -> str:
    """Decimal units, as disk vendors and the Hugging Face Hub show sizes."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order someone fixing the machine would want to read them."""
    checks = [check_python()]
    torch_, torch_check = check_torch()
    checks += [torch_check, check_transformers()]
    if torch_ is not None:
        checks += check_accelerator(torch_, settings.musicgen_device, settings.musicgen_dtype)
    checks.append(check_disk("disk: data dir", settings.data_dir))
    if settings.library_dir is not None:
        checks.append(check_disk("disk: library", settings.library_root))
    checks.append(check_disk("disk: models dir", models_cache_dir(settings.models_dir)))
    checks.append(check_models(settings.musicgen_model, settings.models_dir))
    return checks


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info < MIN_PYTHON:
        return Check("python", Status.FAIL, f"{version}; dgx-music needs 3.11 or newer")
    return Check("python", Status.OK, f"{version} ({sys.executable})")


def check_torch(
    importer: Callable[[], ModuleType] | None = None,
) -> tuple[ModuleType | None, Check]:
    """The module too, so the checks after this one need not import it again (or fail to)."""
    try:
        module = importer() if importer is not None else _import_torch()
    except ImportError as exc:
        return None, Check("torch", Status.FAIL, f"not importable ({exc}): {INSTALL_HINT}")
    build = f"CUDA {module.version.cuda}" if module.version.cuda else "CPU-only build"
    return module, Check("torch", Status.OK, f"{module.__version__} ({build})")


def _import_torch() -> ModuleType:
    import torch

    return torch


def check_transformers() -> Check:
    try:
        import transformers
    except ImportError as exc:
        return Check("transformers", Status.FAIL, f"not importable ({exc}): {INSTALL_HINT}")
    return Check("transformers", Status.OK, str(transformers.__version__))


def check_accelerator(torch_: Any, device_setting: str, dtype_setting: str) -> list[Check]:
    """CUDA, compute capability, memory, bf16 and a matmul on the device generation will use."""
    available, why_not = _cuda_available(torch_)
    wants_cuda = device_setting.startswith("cuda")
    if not available:
        reason = why_not or (
            "this torch is a CPU-only build" if torch_.version.cuda is None else "no CUDA device"
        )
        if wants_cuda:
            cuda = Check(
                "cuda",
                Status.FAIL,
                f"DGX_MUSIC_MUSICGEN_DEVICE={device_setting} but CUDA is not available: {reason}",
            )
            return [cuda]
        status = Status.OK if device_setting == "cpu" else Status.WARN
        cuda = Check("cuda", status, f"no CUDA GPU: generation runs on the CPU ({reason})")
        return [cuda, *_cpu_checks(torch_, dtype_setting)]
    index = int(device_setting.partition(":")[2] or 0) if wants_cuda else 0
    try:
        count = int(torch_.cuda.device_count())
        name = str(torch_.cuda.get_device_name(index)) if index < count else ""
    except Exception as exc:  # a broken driver shows here first
        return [Check("cuda", Status.FAIL, f"CUDA is available but unusable: {_one_line(exc)}")]
    if index >= count:
        detail = f"DGX_MUSIC_MUSICGEN_DEVICE={device_setting} but only {count} CUDA device(s) exist"
        return [Check("cuda", Status.FAIL, detail)]
    if device_setting == "cpu":
        detail = f"{name} present, but DGX_MUSIC_MUSICGEN_DEVICE=cpu keeps generation on the CPU"
        return [Check("cuda", Status.WARN, detail), *_cpu_checks(torch_, dtype_setting)]
    device = f"cuda:{index}"
    detail = f"CUDA {torch_.version.cuda}, {device}: {name} (devices: {count})"
    return [
        Check("cuda", Status.OK, detail),
        _guarded(
            "compute capability",
            lambda: check_compute_capability(
                tuple(torch_.cuda.get_device_capability(index)), list(torch_.cuda.get_arch_list())
            ),
        ),
        _guarded("gpu memory", lambda: _gpu_memory(torch_, index)),
        _guarded("bfloat16", lambda: _gpu_bf16(torch_, dtype_setting)),
        check_matmul(torch_, device, dtype_setting),
    ]


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """One query that raises (a driver fault, a missing API) fails its own row, not the report."""
    try:
        return check()
    except Exception as exc:
        return Check(name, Status.FAIL, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: " + " ".join(str(exc).split())[:300]


def _cpu_checks(torch_: Any, dtype_setting: str) -> list[Check]:
    return [
        _cpu_memory(),
        _cpu_bf16(torch_, dtype_setting),
        check_matmul(torch_, "cpu", dtype_setting),
    ]


def _cuda_available(torch_: Any) -> tuple[bool, str | None]:
    """torch reports a driver too old for its CUDA only as a warning; keep it as the reason."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            available = bool(torch_.cuda.is_available())
        except RuntimeError as exc:
            return False, str(exc)
    reason = " ".join(str(caught[0].message).split()) if caught else None
    return available, reason


def check_compute_capability(capability: tuple[int, int], arch_list: list[str]) -> Check:
    """Whether the torch wheel has kernels for this GPU, rather than finding out mid-generation.

    A cubin built for sm_XY runs on every sm_XZ with Z >= Y; PTX for compute_XY can be compiled
    at load for any newer GPU, which works but makes the first run slow.
    """
    major, minor = capability
    here = f"sm_{major}{minor} ({major}.{minor})"
    built = ", ".join(arch_list) or "none listed"
    cubins = [_arch_number(a, "sm_") for a in arch_list]
    if any(c is not None and c // 10 == major and c % 10 <= minor for c in cubins):
        return Check("compute capability", Status.OK, f"{here}; torch built for {built}")
    ptx = [_arch_number(a, "compute_") for a in arch_list]
    if any(p is not None and p <= major * 10 + minor for p in ptx):
        detail = f"{here}: no native kernels in this torch ({built}); PTX is JIT-compiled (slow)"
        return Check("compute capability", Status.WARN, detail)
    detail = f"{here} is not supported by this torch (built for {built}); install a build for it"
    return Check("compute capability", Status.FAIL, detail)


def _arch_number(arch: str, prefix: str) -> int | None:
    """``sm_90`` → 90; arch-specific targets (``sm_90a``) run on that exact GPU only: skipped."""
    digits = arch.removeprefix(prefix)
    return int(digits) if arch.startswith(prefix) and digits.isdigit() else None


def _gpu_memory(torch_: Any, index: int) -> Check:
    free, total = torch_.cuda.mem_get_info(index)
    detail = f"{human_size(free)} free of {human_size(total)}"
    if free < 2 * GB:
        return Check("gpu memory", Status.WARN, f"{detail}; musicgen-small alone needs ~2 GB")
    return Check("gpu memory", Status.OK, detail)


def _cpu_memory() -> Check:
    total, available = _meminfo()
    if total is None:
        return Check("memory", Status.WARN, "cannot read /proc/meminfo")
    detail = f"{human_size(available or 0)} available of {human_size(total)} RAM"
    if available is not None and available < 2 * GB:
        return Check("memory", Status.WARN, f"{detail}; musicgen-small alone needs ~2 GB")
    return Check("memory", Status.OK, detail)


def _meminfo() -> tuple[int | None, int | None]:
    values: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None, None
    return values.get("MemTotal"), values.get("MemAvailable")


def _gpu_bf16(torch_: Any, dtype_setting: str) -> Check:
    if _gpu_bf16_native(torch_):
        return Check("bfloat16", Status.OK, "native on this GPU")
    status = Status.WARN if dtype_setting == "bfloat16" else Status.OK
    return Check("bfloat16", status, "not native on this GPU; float16 is used instead")


def _gpu_bf16_native(torch_: Any) -> bool:
    """Emulated bfloat16 (pre-Ampere) would count as supported by default, and is slow."""
    try:
        return bool(torch_.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch older than the argument
        return bool(torch_.cuda.is_bf16_supported())


def _cpu_bf16(torch_: Any, dtype_setting: str) -> Check:
    """Without AMX, AVX512-BF16 or Arm's BF16 bfloat16 is emulated and slower than float32."""
    capability = str(torch_.backends.cpu.get_cpu_capability())
    flags = cpu_flags()
    native = "AMX" in capability.upper() or bool({"avx512_bf16", "amx_bf16", "bf16"} & flags)
    if native:
        return Check("bfloat16", Status.OK, f"native on this CPU ({capability})")
    if dtype_setting == "bfloat16":
        detail = f"DGX_MUSIC_MUSICGEN_DTYPE=bfloat16, but emulated on this CPU ({capability}): slow"
        return Check("bfloat16", Status.WARN, detail)
    return Check("bfloat16", Status.OK, f"emulated on this CPU ({capability}); auto picks float32")


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def resolve_dtype(torch_: Any, device: str, dtype_setting: str) -> str:
    """``auto`` as the engine takes it: half precision on a GPU, float32 on the CPU."""
    if dtype_setting != "auto":
        return dtype_setting
    if not device.startswith("cuda"):
        return "float32"
    return "bfloat16" if _gpu_bf16_native(torch_) else "float16"


def check_matmul(torch_: Any, device: str, dtype_setting: str) -> Check:
    """A wrong answer here (a bad driver, a kernel for the wrong arch) would be noise, not music."""
    dtype_name = dtype_setting
    try:
        dtype_name = resolve_dtype(torch_, device, dtype_setting)
        generator = torch_.Generator().manual_seed(0)
        a = torch_.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=torch_.float64, generator=generator)
        b = torch_.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=torch_.float64, generator=generator)
        reference = a @ b
        dtype = getattr(torch_, dtype_name)
        x, y = a.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)
        result = (x @ y).to(device="cpu", dtype=torch_.float64)  # the first pays for start-up
        error = float(torch_.linalg.norm(result - reference) / torch_.linalg.norm(reference))
        start = time.perf_counter()
        x @ y
        if device.startswith("cuda"):
            torch_.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
    except Exception as exc:  # whatever breaks, the report must still be printed
        return Check("matmul", Status.FAIL, f"{dtype_name} on {device} failed: {_one_line(exc)}")
    tolerance = MATMUL_TOLERANCE[dtype_name]
    shape = f"{MATMUL_SIZE}x{MATMUL_SIZE} {dtype_name} on {device}"
    detail = f"{shape}: relative error {error:.1e} (limit {tolerance:.0e}), {elapsed * 1000:.1f} ms"
    ok = error <= tolerance  # NaN compares false, so a NaN result fails too
    return Check("matmul", Status.OK if ok else Status.FAIL, detail)


def check_disk(
    name: str,
    path: Path,
    fail_below: int = DISK_FAIL_BELOW,
    warn_below: int = DISK_WARN_BELOW,
    free_bytes: Callable[[Path], int] | None = None,
) -> Check:
    """Measured on the nearest existing parent: the directory may not have been created yet."""
    existing = nearest_existing(path)
    try:
        free = free_bytes(existing) if free_bytes is not None else shutil.disk_usage(existing).free
    except OSError as exc:
        return Check(name, Status.FAIL, f"{path}: cannot measure free space ({exc})")
    writable = os.access(existing, os.W_OK)
    detail = f"{human_size(free)} free at {path}"
    if not writable:
        return Check(name, Status.FAIL, f"{detail}, but {existing} is not writable")
    if free < fail_below:
        return Check(name, Status.FAIL, f"{detail}; needs at least {human_size(fail_below)}")
    if free < warn_below:
        return Check(name, Status.WARN, f"{detail}; low (under {human_size(warn_below)})")
    return Check(name, Status.OK, detail)


def nearest_existing(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def models_cache_dir(models_dir: Path | None) -> Path:
    """Where weights go when DGX_MUSIC_MODELS_DIR is unset: huggingface_hub's own default."""
    if models_dir is not None:
        return models_dir
    try:
        from huggingface_hub import constants
    except ImportError:
        base = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
        return Path(os.environ.get("HF_HUB_CACHE") or Path(base) / "hub")
    return Path(constants.HF_HUB_CACHE)


def check_models(configured: str, models_dir: Path | None) -> Check:
    """A configured model that is missing is a warning: the symbolic engine needs no weights."""
    from dgx_music.engines.musicgen import catalog

    configured = catalog.canonical_name(configured)
    try:
        found = catalog.statuses(extra=(configured,), cache_dir=models_dir)
    except ImportError as exc:
        return Check("models", Status.FAIL, f"cannot look for weights ({exc}): {INSTALL_HINT}")
    on_disk = [f"{s.name} ({human_size(s.size_bytes or 0)})" for s in found if s.path is not None]
    listed = ", ".join(on_disk) if on_disk else "none on disk"
    if any(s.name == configured and s.path is not None for s in found):
        return Check("models", Status.OK, listed)
    if catalog.is_local_path(configured):
        detail = f"DGX_MUSIC_MUSICGEN_MODEL={configured} is not a MusicGen checkpoint directory"
        return Check("models", Status.FAIL, detail)
    detail = f"{listed}; configured {configured} is not: `dgx-music models pull {configured}`"
    return Check("models", Status.WARN, detail)
