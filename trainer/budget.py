"""The learning-rate schedule and the time budget that fits a run's length to `max_time`.

A run with `max_time` does not know its length in advance: it depends on the machine and on what
else runs there. TimeBudget times the steps from the start (after a couple of untimed ones), plans
the length after a few timed steps, and refits it after every step from the recent step times, so
a machine that slows down mid-run still ends on time. Schedule's warmup and decay are fractions of
whatever length is planned, and a refit during the decay bends the rest of the decay from the
current LR to the new end, so every run, short or long, warms up, holds and decays to min_lr.

Where the budget allows fewer than `min_steps` optimizer steps, a handful of huge steps learn
less than more, smaller ones (trainer/README.md: 82 steps at batch 256 lost to 164 at batch 128),
so the batch is halved (as often as the plan falls short, at once) and timed again until the plan
reaches `min_steps` (or the batch its floor).

The budget bounds the whole run, not only its training: the clock starts when the process did
(start-up counts), and the scoring after training (final validation, held-out text, tasks, the
sample) gets a reserve MEASURED at the first plan on this machine as it is then: one batch of each
kind timed, times the batches each will need, plus RESERVE_MARGIN (cut to `score_share` of the
budget by reserve.py). Later refits scale it with the seconds a training token takes, so a
machine that slows down keeps enough for the scoring too.

Both are plain objects driven by step numbers and a clock: tests drive them with a fake clock.
"""

import collections
import math
import os
import statistics
import time
from dataclasses import dataclass

from .errors import ConfigError

WARMUP_MAX_FRAC = 0.2  # warmup never takes more than this share of the run (warmup_steps is a cap)
RESERVE_MARGIN = 0.25  # on top of the measured scoring time: one timed batch of each kind is a noisy sample


def now():
    """The budget's clock (tests replace it with a fake one)."""
    return time.perf_counter()


class Schedule:
    """LR multiplier: linear warmup, then cosine to min_lr, or warmup-stable-decay (WSD).
    A plain object so that LambdaLR saves its attributes (including max_steps) in state_dict."""

    def __init__(self, cfg):
        self.kind, self.warmup, self.max_steps = cfg.schedule, cfg.warmup_steps, cfg.max_steps
        self.min_ratio, self.decay_frac = cfg.min_lr / cfg.lr if cfg.lr else 0.0, cfg.decay_frac
        self.anchor = None  # (step, multiplier) where a refit during the decay re-aimed it at the new end
        if self.kind not in ("cosine", "wsd"):
            raise ValueError(f"unknown schedule {self.kind!r}; expected 'cosine' or 'wsd'")

    def warmup_steps(self):
        """warmup_steps, but never more than WARMUP_MAX_FRAC of the run: a short run still holds and decays."""
        return min(self.warmup, int(WARMUP_MAX_FRAC * self.max_steps))

    def decay_start(self):
        """The first step of the decay: WSD's last decay_frac of the run; cosine's end of warmup."""
        if self.kind == "cosine":
            return self.warmup_steps()
        return self.max_steps - int(self.decay_frac * self.max_steps)

    def set_length(self, max_steps, step):
        """A refit at `step`: the run now ends at `max_steps`. Inside the decay, the rest of it runs
        from the current multiplier to min_lr at the new end, so the LR never jumps."""
        if max_steps == self.max_steps:
            return
        multiplier, decaying = self(step), self.anchor is not None or step > self.decay_start()
        if step >= self.warmup_steps():  # a finished warmup stays finished when the run grows
            self.warmup = self.warmup_steps()
        self.max_steps = max_steps
        if decaying or step > self.decay_start():  # a shorter run may begin its decay at once
            self.anchor = (step, multiplier)

    def __call__(self, step):
        warmup = self.warmup_steps()
        if step < warmup:
            return (step + 1) / warmup
        start, top = (self.decay_start(), 1.0) if self.anchor is None else self.anchor
        if step < start:
            return 1.0
        progress = min(1.0, (step - start) / max(1, self.max_steps - start))
        if self.kind == "cosine":
            return self.min_ratio + (top - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        return top - (top - self.min_ratio) * progress


def steps_within_time(step, max_steps, per_step, elapsed, max_time, val_tokens, tokens_per_step, at_least=1):
    """The run length, in optimizer steps, that ends training and the final validation within `max_time`.

    Measured at `step`, `elapsed` seconds into training, at `per_step` seconds a step. Validation is
    costed as a forward-only pass over `val_tokens`, ~0.35 of a training step per step's worth of
    tokens. The result is at least `at_least` more steps and at most `max_steps`, which stays a cap.
    """
    eval_time = 0.35 * per_step * val_tokens / tokens_per_step
    left = max_time - elapsed - eval_time
    return max(step + at_least, min(max_steps, step + int(left / per_step)))


def process_started(clock=None):
    """The clock's reading when this process started (Linux /proc), so a budget also covers the
    interpreter's and torch's start-up; None where that is unknown."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime, counted after the name
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (clock or now)() - max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


@dataclass
class Reserve:
    """The seconds kept for the scoring after training: `parts` ({"validation": s, ...}) as timed at
    the first plan, when a training token took `token_time` seconds."""
    parts: dict
    token_time: float

    def seconds(self, token_time):
        """The reserve now that a training token takes `token_time`: the scoring slows down (or speeds
        up) with the machine, so it is scaled by the same factor, plus the margin."""
        scale = token_time / self.token_time if self.token_time > 0 and token_time > 0 else 1.0
        return sum(self.parts.values()) * (1 + RESERVE_MARGIN) * scale

    def describe(self):
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.parts.items())
        return f"{self.seconds(self.token_time):.1f} s ({parts}, +{RESERVE_MARGIN:.0%} margin)"


@dataclass
class Plan:
    max_steps: int
    batch_size: int


class TimeBudget:
    """Plans, refits and stops a run of at most `cap_steps` steps within `max_time` seconds.

    Call start(step) when training starts, then stepped(step) after every optimizer step: it
    returns the Plan to follow from now on (the same one again when nothing changed).
    `tokens_per_row` is the tokens one sequence of the batch adds to a step (block_size x
    grad_accum x world size); `val_tokens` what the final validation reads. `measure`, if given, is
    called once at the first plan and returns {part: seconds} of the scoring after training, timed
    then (see Reserve); without it the final validation is estimated from `val_tokens`.
    """

    SKIP = 2  # untimed steps at the start: first kernels, allocator growth
    TIMED = 3  # timed steps before the first plan: the length is decided early, not at the end of warmup
    RETIME = (1, 2)  # untimed and timed steps of a halved batch: on a slow machine each one is dear
    WINDOW = 20  # steps whose mean time (less the slowest one) plans the rest
    GLANCE = 2  # a batch whose last untimed step shows it this short of min_steps is halved at once
    RECENT = 3  # ... unless the median of the last few is slower: a machine that slows down is believed
    # within two steps, while one step stalled by another process (seen: 17 s among 0.2 s steps) moves
    # neither figure, and cannot end the run before its decay

    def __init__(self, max_time, cap_steps, batch_size, tokens_per_row, val_tokens, min_steps=0, min_batch=1,
                 clock=None, measure=None):
        self.max_time, self.cap, self.clock = max_time, cap_steps, clock or now
        self.measure, self.reserve, self.kept, self.reanchor = measure, None, 0.0, False
        self.tokens_per_row, self.val_tokens = tokens_per_row, val_tokens
        self.min_steps, self.min_batch = min_steps, max(1, min_batch)
        self.plan = Plan(cap_steps, batch_size)
        self.batch_settled = min_steps == 0 or batch_size < 2 * self.min_batch
        self.glanced = False  # the batch's first untimed steps were looked at (_halve_at_a_glance)
        self.t0 = None

    def start(self, step, started=None):
        """Training starts at `step`; the budget counts from `started` (a clock reading: when the
        process started, see process_started), or from now."""
        self.prev = self.clock()
        self.t0 = self.prev if started is None else min(started, self.prev)
        self._restart(step, self.prev, self.SKIP, self.TIMED)

    def reserved(self, per_step):
        """Seconds kept free for the scoring after training (0 until measured)."""
        if self.reserve is None:
            return 0.0
        return self.reserve.seconds(per_step / (self.plan.batch_size * self.tokens_per_row))

    def _measure(self, now, step):
        """Time the scoring at the first plan; the seconds it took are shifted out of the step timing."""
        parts = self.measure()
        spent = self.clock() - now
        self.marks = collections.deque([(t + spent, s) for t, s in self.marks], maxlen=self.WINDOW + 1)
        self.prev += spent
        self.reserve = Reserve(parts, self.per_step() / (self.plan.batch_size * self.tokens_per_row))
        elapsed, reserved = self.clock() - self.t0, self.reserved(self.per_step())
        if elapsed + reserved >= self.max_time:
            raise ConfigError(
                f"max_time={self.max_time:g}s leaves no time to train: {elapsed:.1f} s spent by step {step} and "
                f"{self.reserve.describe()} reserved for the scoring after training; raise max_time, or set "
                f"eval_tasks= / heldout= empty")
        return self.clock()

    def _restart(self, step, now, skip, timed):
        self.first, self.timed = step + skip, timed  # first: the step whose end starts the timing
        self.marks = collections.deque([(now, step)], maxlen=self.WINDOW + 1)

    def per_step(self):
        marks = list(self.marks)
        times = [(t1 - t0) / (s1 - s0) for (t0, s0), (t1, s1) in zip(marks, marks[1:])]  # seconds a step
        trimmed = sorted(times)[:-1] if len(times) > 2 else times
        return max(sum(trimmed) / len(trimmed), statistics.median(times[-self.RECENT:]))

    def _halve_at_a_glance(self, step, now, last):
        """Halve the batch before its timed steps where the last untimed step alone shows it far too
        large: on a slow machine each step of a batch it will leave behind is dear (beside four busy
        loops, three steps of 128 took 24 s of a 225 s budget). Only a shortfall of at least GLANCE
        is believed from one step (its time may still hold some warm-up, which overstates it; the
        reserve for the scoring is not measured yet, which understates it); the timed plan after
        the retiming may halve again."""
        fitted = steps_within_time(step, self.cap, last, now - self.t0, self.max_time, self.val_tokens,
                                   self.plan.batch_size * self.tokens_per_row, at_least=0)
        short = (self.min_steps - step) / max(1, fitted - step)
        if short < self.GLANCE:
            return
        batch = max(self.min_batch, self.plan.batch_size >> math.ceil(math.log2(short)))
        self.plan = Plan(self.plan.max_steps, batch)
        self.batch_settled = batch < 2 * self.min_batch
        self._restart(step, now, *self.RETIME)

    def stepped(self, step):
        now = self.clock()
        last, self.prev = now - self.prev, now
        if now - self.t0 + last > self.max_time - self.kept:  # kept: the reserve as of the last fit
            # planned or not, a step that would end past the budget is not begun: on a machine so
            # slow that one step is a large share of it, the plan may come too late
            if self.measure is not None and self.reserve is None:  # ... but the scoring must fit all the same
                self.marks.append((now, step))
                self._measure(now, step)
            self.plan = Plan(step, self.plan.batch_size)
            return self.plan
        if step < self.first:
            return self.plan
        if step == self.first:
            self.marks = collections.deque([(now, step)], maxlen=self.WINDOW + 1)
            if not self.batch_settled and not self.glanced:
                self.glanced = True
                self._halve_at_a_glance(step, now, last)
            return self.plan
        self.marks.append((now, step))
        if step - self.first < self.timed:
            return self.plan
        if self.measure is not None and self.reserve is None:
            now = self._measure(now, step)
        per_step = self.per_step()
        if self.reanchor and self.reserve is not None:
            # A halved batch costs more per token (each step's fixed cost is shared by fewer rows), but
            # the scoring still reads batches of the size it was timed at (train.py): from here on the
            # machine's speed is compared at this batch, going on from the reserve kept before it.
            measured = self.reserve.seconds(self.reserve.token_time)
            factor = self.kept / measured if measured > 0 and self.kept > 0 else 1.0
            self.reserve = Reserve(self.reserve.parts, per_step / (self.plan.batch_size * self.tokens_per_row) / factor)
        self.reanchor = False
        self.kept = self.reserved(per_step)
        val_tokens = 0 if self.reserve else self.val_tokens  # measured, or estimated by steps_within_time
        fitted = steps_within_time(step, self.cap, per_step, now - self.t0, self.max_time - self.kept,
                                   val_tokens, self.plan.batch_size * self.tokens_per_row, at_least=0)  # 0: stop now
        if fitted <= step:  # out of time: stop here (a smaller batch could not be timed any more)
            self.plan = Plan(step, self.plan.batch_size)
            return self.plan
        if not self.batch_settled and fitted < self.min_steps:
            # Too few steps for this batch: halve it as often as the steps that fit fall short of
            # min_steps (one retiming, not one per halving: on a slow machine each step is dear), and
            # time it afresh before the next plan, since a token costs more at a smaller batch and it
            # may need halving again. Until then the run may not end, but it is held to its budget.
            short = (self.min_steps - step) / max(1, fitted - step)
            batch = max(self.min_batch, self.plan.batch_size >> max(1, math.ceil(math.log2(short))))
            self.plan = Plan(max(fitted, step + sum(self.RETIME) + 1), batch)
            self.batch_settled = self.plan.batch_size < 2 * self.min_batch
            self.reanchor = True
            self._restart(step, now, *self.RETIME)
            return self.plan
        self.batch_settled = True  # halving stops here: a later slowdown shortens the run, not the batch
        self.plan = Plan(fitted, self.plan.batch_size)
        return self.plan
