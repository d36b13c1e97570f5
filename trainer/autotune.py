"""`device: auto`, `dtype: auto` and `compile: auto`, decided by measurement on the training device, not from CPU flags.

A CPU with AVX512-BF16 but no AMX was once assumed to run bf16 matmuls at half the fp32 speed; on
this project's AMD EPYC (torch 2.13, oneDNN `brg_matmul:avx512_core_bf16`) they run ~2.5-3x faster.
So the choice is timed: a matmul shaped like the model's MLP, in each candidate dtype. One timing
of each once decided it, and two runs on the same machine chose differently under the noise of
other processes. Now each dtype is warmed up, then timed REPEATS times, interleaved (fp32, bf16,
fp32, ...) so that a burst of load slows a pair alike; the speed-up is the median of the pairs'
ratios, and bf16 must be MARGIN times faster. Not the best time of each: on this project's shared
2-core machine single bf16 timings of the default model's matmul ranged 4.5-20 ms (fp32 21-54 ms),
and eight measurements gave best-time ratios of 2.0-6.7 against paired medians of 1.9-2.5. The
figures and the choice go into every checkpoint's config.json (`autotune`). bf16 runs as autocast
over fp32 master weights; fp16 would need a gradient scaler and is not a candidate.
"""

import re
import statistics
import time

import torch

from .errors import ConfigError

DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float32": torch.float32, "fp32": torch.float32}
MARGIN = 1.3  # bf16 costs precision: take it only when clearly faster, well beyond timing noise
REPEATS = 7  # interleaved timings of each dtype; the median ratio of the pairs counts


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


def time_matmuls(device, m, k, n, repeats=REPEATS, seconds=0.04):
    """{"float32": [...], "bfloat16": [...]}: seconds per (m, k) @ (k, n) matmul, `repeats` timings of
    each dtype, interleaved, each of as many matmuls as filled `seconds` in its warm-up (global RNG untouched)."""
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.rand(m, k, device=device, generator=g)
    b = torch.rand(k, n, device=device, generator=g)
    pairs = {"float32": (a, b), "bfloat16": (a.bfloat16(), b.bfloat16())}
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    count = {}
    for name, (x, y) in pairs.items():  # warm up kernels and caches, counting the matmuls that fill `seconds`
        count[name], t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            x @ y
            sync()
            count[name] += 1
    times = {name: [] for name in pairs}
    for _ in range(repeats):
        for name, (x, y) in pairs.items():
            sync()
            t0 = time.perf_counter()
            for _ in range(count[name]):
                x @ y
            sync()
            times[name].append((time.perf_counter() - t0) / count[name])
    return times


def decide_dtype(times, margin=MARGIN):
    """("bfloat16" or "float32", speed-up) from time_matmuls' figures: the speed-up is the median of
    the ratios fp32 / bf16 of the timings taken side by side; bf16 when it is at least `margin`.
    A function of the numbers alone."""
    speedup = statistics.median(f / b for f, b in zip(times["float32"], times["bfloat16"]))
    return ("bfloat16" if speedup >= margin else "float32"), speedup


def choose_dtype(pref, device, rows, width):
    """(dtype, note, record): `pref` itself unless "auto"; auto times a (rows, width) @ (width, 4 width)
    matmul in fp32 and bf16 (time_matmuls) and decides (decide_dtype). `note` says what was measured,
    `record` (None unless measured) holds the figures for the checkpoints' config.json."""
    if pref != "auto":
        return DTYPES[pref], f"dtype {pref} (as configured)", None
    if torch.device(device).type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float32, "dtype auto: float32 (this GPU has no bf16)", None
    rows = min(rows, 4096)
    times = time_matmuls(device, rows, width, 4 * width)
    pick, speedup = decide_dtype(times)
    record = {"dtype": pick, "matmul": [rows, width, 4 * width], "speedup": round(speedup, 3), "margin": MARGIN,
              "seconds": {name: [float(f"{t:.4g}") for t in ts] for name, ts in times.items()}}
    figures = ", ".join(f"{name} {statistics.median(ts) * 1e3:.3f} ms" for name, ts in times.items())
    note = (f"dtype auto: {pick} (matmul {rows}x{width}x{4 * width}, median of {REPEATS}: {figures}; "
            f"bf16 {speedup:.2f}x {'>=' if pick == 'bfloat16' else '<'} {MARGIN}x)")
    return DTYPES[pick], note, record


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
