"""Measuring a run: JSONL metrics, optional TensorBoard, the loss-curve plot, and hardware peak
FLOP/s for model FLOPs utilisation (MFU)."""

import json
import os
import warnings

import torch

from .autotune import matmul_rate
from .files import rewrite_lines, write_atomic

# Dense bf16 peak FLOP/s of common accelerators (no sparsity), for MFU on CUDA.
GPU_PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12, "4090": 165e12}


class MetricsLog:
    """Appends one JSON object per line to OUT/metrics.jsonl; mirrors scalars to TensorBoard if asked."""

    def __init__(self, out_dir, tensorboard=False):
        os.makedirs(out_dir, exist_ok=True)
        self.path = os.path.join(out_dir, "metrics.jsonl")
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter  # lazy: optional dependency
            except ImportError as e:
                raise ImportError("tensorboard=true needs the tensorboard package (pip install tensorboard)") from e
            self._tb = SummaryWriter(os.path.join(out_dir, "tb"))

    def log(self, **fields):
        self._file.write(json.dumps(fields) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in fields.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._tb.add_scalar(k, v, fields.get("step", 0))

    def close(self):
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def keep_metrics_until(path, step):
    """Rewrite metrics file `path` (atomically) to its rows up to `step`, the step a run resumes
    from: rows a killed continuation logged after it would otherwise appear twice, and a line cut
    short by the kill would make the file unreadable."""
    def keep(lines):
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # only the last line, written when the run was killed, can be cut short
            if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
                yield line
    rewrite_lines(path, keep)


def plot_losses(metrics_path, png_path):
    """Training and validation loss against step, from metrics.jsonl, as a PNG; without matplotlib
    (an optional dependency: the `plots` extra) a warning and None, and the run goes on."""
    try:
        import matplotlib  # lazy: only runs that plot pay for the import
    except ImportError:
        warnings.warn("plot=true but matplotlib is not installed (pip install matplotlib): loss.png not written",
                      stacklevel=2)
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train", linewidth=1)
    if val:
        ax.plot(*zip(*val), "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with write_atomic(png_path, "wb") as f:  # a kill mid-write leaves the previous plot, not half a PNG
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return png_path


def matmul_flops(device, dtype, n=2048, seconds=0.5):
    """Measured FLOP/s of an n x n x n matmul in `dtype`: the practical peak of this machine."""
    return matmul_rate(device, dtype, n, n, n, seconds)


def peak_flops(device, dtype):
    """Peak FLOP/s for MFU: the datasheet figure for known GPUs, else a short matmul measurement."""
    if torch.device(device).type == "cuda" and dtype == torch.bfloat16:
        name = torch.cuda.get_device_name(device)
        for key, flops in GPU_PEAK_FLOPS.items():
            if key in name:
                return flops
    return matmul_flops(device, dtype, n=1024, seconds=0.3)
