"""The time budget (plan, refit, stop) and the schedule it reshapes, driven by a fake clock."""

import pytest

from trainer.budget import Schedule, TimeBudget
from trainer.config import TrainConfig, apply_overrides


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def simulate(max_time, step_time, schedule="wsd", batch_size=128, min_steps=0, val_tokens=0, cap=100000):
    """Drive a Schedule and a TimeBudget as train() does; step_time(step, elapsed, batch) is the
    fake seconds one step takes. Returns (steps, elapsed, LR multipliers used, final multiplier, batch)."""
    cfg = apply_overrides(TrainConfig(), ["lr=1.0", "min_lr=0", "warmup_steps=30", f"schedule={schedule}",
                                          "decay_frac=0.4", f"max_steps={cap}"])
    clock, sched = FakeClock(), Schedule(cfg)
    budget = TimeBudget(max_time, cap, batch_size, 128, val_tokens, min_steps, max(1, batch_size // 16), clock=clock)
    budget.start(0)
    step, max_steps, lrs = 0, cap, []
    while step < max_steps:
        lrs.append(sched(step))
        clock.t += step_time(step, clock.t, batch_size)
        step += 1
        plan = budget.stepped(step)
        batch_size = plan.batch_size
        if plan.max_steps != max_steps:
            sched.set_length(plan.max_steps, step)
            max_steps = plan.max_steps
    return step, clock.t, lrs, sched(step), batch_size


def assert_warms_holds_decays(lrs, final, decay_frac=0.4):
    peak = lrs.index(max(lrs))
    assert max(lrs) == 1.0 and peak <= 0.2 * len(lrs) + 1  # warmed up to the full LR within a fifth of the run
    assert all(b <= a + 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1:]))  # never rises again
    decaying = sum(1 for x in lrs[peak:] if x < 1.0)
    assert decaying >= 0.8 * decay_frac * len(lrs)  # a real decay phase, not a drop at the last step
    assert final == 0.0 and lrs[-1] < 0.1  # decayed to min_lr at the very end


@pytest.mark.parametrize("max_time", [3.0, 6.0, 25.0, 600.0])  # 30 steps and more: the plan comes at step 5
@pytest.mark.parametrize("schedule", ["wsd", "cosine"])
def test_any_budget_warms_up_holds_and_decays_within_time(max_time, schedule):
    steps, elapsed, lrs, final, _ = simulate(max_time, lambda step, t, b: 0.1, schedule)
    assert elapsed <= max_time
    assert steps >= 0.9 * max_time / 0.1 - 1  # and uses the budget
    assert_warms_holds_decays(lrs, final)


def test_a_slow_start_is_not_frozen_into_the_plan():
    # the first 10 steps take 1 s (a busy start), then 0.1 s: the run grows to fill the budget
    steps, elapsed, lrs, final, _ = simulate(30.0, lambda step, t, b: 1.0 if step < 10 else 0.1)
    assert 28.5 <= elapsed <= 30.0 and steps > 180
    assert_warms_holds_decays(lrs, final)


@pytest.mark.parametrize("slow_from", [0.3, 0.7, 0.9])
def test_a_machine_that_slows_down_4x_still_ends_on_time_and_decays(slow_from):
    budget = 60.0
    steps, elapsed, lrs, final, _ = simulate(budget, lambda step, t, b: 0.4 if t >= slow_from * budget else 0.1)
    assert elapsed <= budget
    assert final == 0.0 and lrs[-1] < 0.1
    assert all(b <= a + 1e-12 for a, b in zip(lrs[30:], lrs[31:]))  # no jump up when the plan shrinks


def test_validation_time_is_kept_free():
    # 10 tokens a step per sequence x 128 sequences; validating 128,000 tokens costs 0.35 x 100 steps' time
    steps, elapsed, *_ = simulate(20.0, lambda step, t, b: 0.01, val_tokens=128 * 128 * 100)
    assert elapsed + 0.35 * 100 * 0.01 <= 20.0 and elapsed >= 20.0 - 0.35 - 0.1


def test_too_few_steps_halve_the_batch_by_measurement():
    # a step costs 1 ms a sequence: at batch 128, 10 s hold 78 steps, fewer than 100; at 64, ~155
    steps, elapsed, lrs, final, batch = simulate(10.0, lambda step, t, b: 0.001 * b, min_steps=100)
    assert batch == 64 and 100 <= steps <= 160 and elapsed <= 10.0
    assert_warms_holds_decays(lrs, final)
    # a step that costs the same whatever the batch (not compute bound): halving stops at the floor
    steps, elapsed, _, final, batch = simulate(10.0, lambda step, t, b: 0.2, min_steps=100)
    assert batch == 8 and elapsed <= 10.0 and final == 0.0
    # enough steps: the batch stays
    assert simulate(10.0, lambda step, t, b: 0.0005 * b, min_steps=100)[4] == 128


def recording(per_sequence: float):
    """A step time of `per_sequence` seconds a sequence, and the list of the batch sizes it was asked for."""
    seen = []

    def step_time(step, t, b):
        seen.append(b)
        return per_sequence * b

    return seen, step_time


def test_a_batch_far_too_large_is_halved_in_one_retiming():
    # 1 ms a sequence, 10 s: 78 steps of 128, 400 wanted: three halvings at once, to 16, not one per retiming
    seen, step_time = recording(0.001)
    steps, elapsed, lrs, final, batch = simulate(10.0, step_time, min_steps=400)
    assert sorted(set(seen), reverse=True) == [128, 16] and batch == 16
    assert 400 <= steps and elapsed <= 10.0
    assert_warms_holds_decays(lrs, final)


def test_a_slow_machine_halves_after_its_untimed_steps_not_after_the_timed_ones():
    # 60 ms a sequence (7.7 s a step of 128, as beside four busy loops), 225 s, 100 steps wanted: the
    # second untimed step shows 128 far too large, so the batch is halved there (steps 1-2 at 128),
    # not after three more timed steps of it (5 at 128: 23 s more of the budget)
    seen, step_time = recording(0.06)
    steps, elapsed, lrs, final, batch = simulate(225.0, step_time, min_steps=100)
    assert seen.count(128) == TimeBudget.SKIP and batch == 32 and 100 <= steps and elapsed <= 225.0
    assert_warms_holds_decays(lrs, final)
    # a shortfall under GLANCE waits for the timed plan (one step may still hold warm-up): 1.5 ms a
    # sequence, 25 s: 130 steps of 128 fit where 200 are wanted, so 128 is timed, then halved to 64
    seen.clear()
    steps, elapsed, lrs, final, batch = simulate(25.0, lambda step, t, b: seen.append(b) or 0.0015 * b, min_steps=200)
    assert seen.count(128) == TimeBudget.SKIP + TimeBudget.TIMED and batch == 64 and elapsed <= 25.0


def test_resize_keeps_the_sequential_cursor(shards):
    from trainer.data import Batches, Shards

    stream = Shards(shards).tokens("train")
    whole = Batches(stream, 4, 16, 0, "sequential")
    halved = Batches(stream, 8, 16, 0, "sequential")
    seen = [whole.next()[0] for _ in range(4)]
    first = halved.next()[0]
    halved.resize(4)
    assert [row.tolist() for row in first] == [row.tolist() for b in seen[:2] for row in b]
    assert [halved.next()[0].tolist() for _ in range(2)] == [b.tolist() for b in seen[2:]]


def test_set_length_bends_the_decay_without_a_jump():
    cfg = apply_overrides(TrainConfig(), ["lr=1.0", "min_lr=0", "warmup_steps=10", "schedule=wsd",
                                          "decay_frac=0.5", "max_steps=100"])
    s = Schedule(cfg)
    assert s(50) == 1.0 and s(75) == pytest.approx(0.5)
    s.set_length(90, 75)  # shorter, in the decay: from 0.5 at step 75 to 0 at step 90
    assert s(75) == pytest.approx(0.5) and s(82.5) == pytest.approx(0.25) and s(90) == 0.0
    s2 = Schedule(cfg)
    s2.set_length(60, 40)  # shorter, still stable: the decay starts at once from 1.0
    assert s2(40) == 1.0 and s2(50) == pytest.approx(0.5) and s2(60) == 0.0
    short = Schedule(apply_overrides(cfg, ["max_steps=10"]))  # warmup_steps=10 capped at a fifth: 2
    assert [short(i) for i in range(3)] == [0.5, 1.0, 1.0] and short(10) == 0.0


@pytest.mark.parametrize("seconds", [7.0, 20.0, 45.0])
def test_a_machine_where_one_step_is_a_large_share_of_the_budget_stops_in_time(seconds):
    # before the plan (step 5) too: a step that would end past the budget is not begun
    steps, elapsed, *_ = simulate(60.0, lambda step, t, b: seconds, min_steps=100)
    assert elapsed <= 60.0 and steps == int(60.0 // seconds)


def test_one_stalled_step_does_not_end_the_run_before_its_decay():
    # 0.2 s steps, one of 17 s at 40% of the budget (another process held the cores): the run must
    # still use its budget and decay, not stop at once as if every step would now take seconds
    steps, elapsed, lrs, final, _ = simulate(225.0, lambda step, t, b: 17.0 if step == 400 else 0.2,
                                             val_tokens=128 * 128 * 76)
    assert elapsed <= 225.0 and steps > 800
    assert_warms_holds_decays(lrs, final)
