"""`device: auto`, `dtype: auto` and `compile: auto`, decided by measurement on the training device, not from CPU flags.

A CPU with AVX512-BF16 but no AMX was once assumed to run bf16 matmuls at half the fp32 speed; on
this project's AMD EPYC (torch 2.13, oneDNN `brg_matmul:avx512_core_bf16`) they run ~2.5-3x faster.
So the choice is timed: a matmul shaped like the model's MLP, in each candidate dtype, for about
0.1 s each. bf16 runs as autocast over fp32 master weights; fp16 would need a gradient scaler and
is not a candidate.
"""

import re
import time

import torch

from .errors import ConfigError

DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float32": torch.float32, "fp32": torch.float32}
MARGIN = 1.1  # bf16 costs precision: take it only when clearly faster, not on timing noise


def resolve_device(pref, local_rank=None):
    """The torch device for `pref` (auto, cpu, cuda, cuda:N), or ConfigError if this machine has no such
    device: a one-line error here, not a CUDA traceback at the first tensor. Under DDP (`local_rank`
    given) plain `cuda` means this process's own GPU."""
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    match = re.fullmatch(r"cpu|cuda(?::(\d+))?", pref)
    if match is None:
        raise ConfigError(f"device: must be auto, cpu, cuda or cuda:N, got {pref!r}")
    if pref == "cpu":
        return pref
    if not torch.cuda.is_available():
        raise ConfigError(f"device {pref!r}: no CUDA device is available here; use device=cpu (or auto)")
    if pref == "cuda" and local_rank is not None:
        pref = f"cuda:{local_rank}"
    index = int(pref[5:]) if ":" in pref else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device {pref!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    torch.cuda.set_device(pref)
    return pref


def matmul_rate(device, dtype, m, k, n, seconds=0.1):
    """Measured FLOP/s of an (m, k) @ (k, n) matmul in `dtype` on `device` (global RNG untouched)."""
    g = torch.Generator(device=device).manual_seed(0)  # never touch the global RNG: runs must resume bitwise
    a = torch.rand(m, k, device=device, generator=g).to(dtype)
    b = torch.rand(k, n, device=device, generator=g).to(dtype)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a @ b  # warm up kernels and caches
    sync()
    iters, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        iters += 1
        if iters % 4 == 0:
            sync()
    sync()
    return 2 * m * k * n * iters / (time.perf_counter() - t0)


def choose_dtype(pref, device, rows, width):
    """(dtype, note): `pref` itself unless "auto"; auto times a (rows, width) @ (width, 4 width) matmul
    in fp32 and bf16 and takes bf16 when it is MARGIN times faster. `note` says what was measured."""
    if pref != "auto":
        return DTYPES[pref], f"dtype {pref} (as configured)"
    if torch.device(device).type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float32, "dtype auto: float32 (this GPU has no bf16)"
    rows = min(rows, 4096)
    rates = {d: matmul_rate(device, d, rows, width, 4 * width) for d in (torch.float32, torch.bfloat16)}
    pick = torch.bfloat16 if rates[torch.bfloat16] > MARGIN * rates[torch.float32] else torch.float32
    figures = ", ".join(f"{str(d)[6:]} {r / 1e9:.1f}" for d, r in rates.items())
    return pick, f"dtype auto: {str(pick)[6:]} (matmul {rows}x{width}x{4 * width}: {figures} GFLOP/s)"


def choose_compile(pref, device):
    """(compile?, note). auto compiles on CUDA only. On this project's 2-core CPU (torch 2.13,
    `python bench/bench_train.py compile=true`), the default model's first two steps took 71.6 s
    (the compile) and the compiled step ran 1.16x the eager one (7,316 vs 6,310 tok/s, before the
    eager attention and loss got faster): in `make train`'s 225 s that is (225 - 72) * 1.16 = 177 s
    of eager-equivalent training, less than the 225 s eager gets."""
    if pref != "auto":
        return bool(pref), f"compile {str(pref).lower()} (as configured)"
    if torch.device(device).type == "cuda":
        return True, "compile auto: on (CUDA: fused kernels repay the compile within minutes)"
    return False, "compile auto: off (CPU: the compile costs more than it saves in a short run; see bench_train.py)"
