"""What a training run says while it runs, for a person at a terminal or reading a log.

On a terminal (stderr is a TTY and `progress=true`) a tqdm bar shows the steps. Anywhere else (a
log file, a pipe, a CI job) and with `progress=false`, the run prints one line per log interval,
as nanoGPT does, with no carriage returns:

    step 40/200 | loss 3.4521 | lr 1.00e-03 | 12,345 tok/s | mfu 3.1% | elapsed 1m05s | remaining 4m12s

A validation pass says when it starts, every EVAL_EVERY seconds while it runs, and its result,
so a long evaluation is never silent. Every line, bar or not, is appended to OUT/train.log (the
run folder's own log, like datatrove's `logs/`). A resumed run first cuts the lines a killed
continuation wrote past the checkpoint's step, then notes "resumed at step N", so no step is
logged twice.
"""

import os
import re
import time

from .files import rewrite_lines

LOG = "train.log"
EVAL_EVERY = 10.0  # seconds between progress lines during a validation pass
SKIP = 2  # first steps of a run (warm-up, compile) left out of the time per step behind `remaining`


def duration(seconds):
    """12s, 4m05s, 2h07m."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def batch_reporter(say, head, start=True):
    """`report(done, n_batches)` for evaluate.mean_loss: `say`s "HEAD on N batches" when the pass
    starts (if `start`) and "HEAD K/N batches | 12s" every EVAL_EVERY seconds until it ends."""
    t0 = last = time.perf_counter()

    def report(done, n_batches):
        nonlocal last
        now = time.perf_counter()
        if done == 0 and start:
            say(f"{head} on {n_batches} batches")
        elif 0 < done < n_batches and now - last >= EVAL_EVERY:
            last = now
            say(f"{head} {done}/{n_batches} batches | {duration(now - t0)}")

    return report


def keep_log_until(path, step):
    """Rewrite `path` (atomically) without the lines from the first `step K/...` line with K > `step`
    on: a killed continuation wrote them after the checkpoint a run now resumes from."""
    def keep(lines):
        for line in lines:
            m = re.match(r"step (\d+)/", line)
            if m and int(m[1]) > step:
                return
            yield line
    rewrite_lines(path, keep)


class Progress:
    """The run's lines: printed (unless a bar shows them) and appended to OUT/train.log.

    `bar` is a tqdm bar or None; `resumed_from`, the checkpoint a resumed run starts from."""

    def __init__(self, out_dir, step, bar=None, resumed_from=None):
        self.path = os.path.join(out_dir, LOG)
        if resumed_from:
            keep_log_until(self.path, step)
        self._file = open(self.path, "a", encoding="utf-8")
        self.bar = bar
        self.t_start, self.first_step = time.perf_counter(), step
        self.t_ref = self.step_ref = None  # where the time per step is measured from
        if resumed_from:
            self.say(f"resumed at step {step} from {resumed_from}")

    def say(self, text, show=True):
        """Append `text` to train.log; print it too if `show` (above the bar, if there is one)."""
        self._file.write(text + "\n")
        self._file.flush()
        if show:
            if self.bar is not None:
                self.bar.write(text)
            else:
                print(text, flush=True)

    def stepped(self, step):
        """Called after every step: starts the clock behind `remaining` once the first SKIP steps are done."""
        if self.t_ref is None and step - self.first_step >= SKIP:
            self.t_ref, self.step_ref = time.perf_counter(), step

    def remaining(self, step, total):
        """Seconds left, from the steps since the first SKIP; None until at least one is measured."""
        if self.t_ref is None or step <= self.step_ref:
            return None
        return (time.perf_counter() - self.t_ref) / (step - self.step_ref) * max(0, total - step)

    def interval(self, step, total, loss, lr, tok_s, mfu):
        """The line of a log interval; on a terminal the bar's postfix shows it instead."""
        left = self.remaining(step, total)
        left = "?" if left is None else duration(left)
        self.say(f"step {step}/{total} | loss {loss:.4f} | lr {lr:.2e} | {tok_s:,.0f} tok/s | mfu {100 * mfu:.1f}% | "
                 f"elapsed {duration(time.perf_counter() - self.t_start)} | remaining {left}", show=self.bar is None)
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.3f} | {tok_s:,.0f} tok/s | MFU {100 * mfu:.0f}% | remaining {left}",
                                     refresh=False)

    def validation(self, step, total):
        """A callback for evaluate.mean_loss, `report(done, n_batches)`: a line when the pass starts
        and every EVAL_EVERY seconds until it ends."""
        self._eval_start = time.perf_counter()
        return batch_reporter(self.say, f"step {step}/{total} | validation")

    def validated(self, step, total, metrics):
        """The result line of the validation pass that `validation` started."""
        self.say(f"step {step}/{total} | val loss {metrics['loss']:.4f} | perplexity {metrics['perplexity']:.2f} | "
                 f"bits per byte {metrics['bits_per_byte']:.4f} | {duration(time.perf_counter() - self._eval_start)}")

    def scores(self, step, train_time, scores, tasks_spec, task_limit=0):
        """The lines a person reads when the run ends: validation, held-out text, tasks (and
        how many items of each, where the budget cut them)."""
        metrics = scores["validation"]
        self.say(f"validation: loss {metrics['loss']:.4f} | perplexity {metrics['perplexity']:.2f} | "
                 f"bits per byte {metrics['bits_per_byte']:.4f}  ({step} steps, {train_time:.0f} s training)")
        if "heldout" in scores:
            self.say("held-out bits per byte: " + " | ".join(f"{k} {v:.4f}" for k, v in scores["heldout"].items()))
        if "tasks" in scores:
            cut = f", first {task_limit} items of each" if task_limit else ""
            self.say(f"tasks ({tasks_spec}{cut}): " + " | ".join(f"{name} {r['accuracy']:.3f}" for name, r in
                                                                  scores["tasks"].items())
                     + f" | mean centered {scores['core']:.4f}")

    def close(self):
        self._file.close()
