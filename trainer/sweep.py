"""A small grid search: one training run per combination, then a table sorted by validation loss."""

import itertools
import os

from .config import apply_overrides


def run_sweep(cfg, grid, out_dir, overwrite=False):
    """Train `cfg` once per point of `grid` ({"lr": [...], "batch_size": [...], "model.dropout": [...]});
    each run lives in its own directory under `out_dir` (an earlier sweep's runs are replaced only
    with `overwrite`). Returns result rows, best first."""
    from .train import train

    keys = list(grid)
    rows = []
    for values in itertools.product(*(grid[k] for k in keys)):
        name = "_".join(f"{k.split('.')[-1]}={v:g}" for k, v in zip(keys, values)) or "base"
        overrides = [f"{k}={v!r}" for k, v in zip(keys, values)] + [f"out={os.path.join(out_dir, name)}"]
        run_cfg = apply_overrides(cfg, overrides)
        print(f"== sweep run {name}", flush=True)
        result = train(run_cfg, overwrite=overwrite)
        rows.append({"run": name, **{k.split(".")[-1]: v for k, v in zip(keys, values)}, "val_loss": result["val_loss"],
                     "val_bits_per_byte": result["val_bits_per_byte"], "checkpoint": result["checkpoint"]})
    return sorted(rows, key=lambda r: r["val_loss"])


def format_table(rows):
    """Rows as an aligned plain-text table."""
    if not rows:
        return "(no runs)"
    cols = [c for c in rows[0] if c != "run"] + ["run"]
    cells = [[f"{r[c]:.4f}" if isinstance(r[c], float) and c.startswith("val") else f"{r[c]:g}"
              if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
