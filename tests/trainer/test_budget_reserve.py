"""The time budget bounds the whole run: start-up before it, and a reserve for the scoring after
training measured at the first plan. Driven by a fake clock: no assertion depends on the machine."""

import gzip
import json
import math
import os
import re

import pytest

from trainer.budget import RESERVE_MARGIN, Schedule, TimeBudget, process_started
from trainer.config import TrainConfig, apply_overrides
from trainer.data import Shards
from trainer.errors import ConfigError
from trainer.train import train


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run(max_time, step_time, parts, started=0.0, measure_takes=0.0, schedule="wsd"):
    """Drive a Schedule and a TimeBudget as train() does, with a measurement that reports `parts`
    and takes `measure_takes` fake seconds. Returns (budget, steps, clock, LR multipliers, final one)."""
    cfg = apply_overrides(TrainConfig(), ["lr=1.0", "min_lr=0", "warmup_steps=30", f"schedule={schedule}",
                                          "decay_frac=0.4", "max_steps=100000"])
    clock, sched = FakeClock(), Schedule(cfg)

    def measure():
        clock.t += measure_takes
        return dict(parts)

    budget = TimeBudget(max_time, 100000, 128, 128, 0, clock=clock, measure=measure)
    budget.start(0, started)
    step, max_steps, lrs = 0, 100000, []
    while step < max_steps:
        lrs.append(sched(step))
        clock.t += step_time(step, clock.t)
        step += 1
        plan = budget.stepped(step)
        if plan.max_steps != max_steps:
            sched.set_length(plan.max_steps, step)
            max_steps = plan.max_steps
    return budget, step, clock.t, lrs, sched(step)


def test_the_plan_reserves_time_in_proportion_to_the_measured_scoring():
    ends = {}
    for scoring in (0.0, 4.0, 8.0):  # seconds the scoring after training measured at the first plan
        budget, steps, t, _, final = run(20.0, lambda step, t: 0.1, {"validation": scoring / 2, "tasks": scoring / 2})
        assert budget.kept == pytest.approx(scoring * (1 + RESERVE_MARGIN))
        assert t <= 20.0 - budget.kept + 1e-9 and final == 0.0  # training ends, decayed, where the reserve begins...
        ends[scoring] = steps
    # ... and not much earlier: each measured second (x the margin) costs 10 steps of 0.1 s
    assert ends[0.0] >= 195
    for scoring in (4.0, 8.0):
        assert ends[0.0] - ends[scoring] == pytest.approx(scoring * (1 + RESERVE_MARGIN) / 0.1, abs=2)


def test_the_reserve_follows_a_slowdown_and_a_stall_does_not_move_it():
    # the measurement at 0.1 s a step; the machine is 3x slower from 8 s on: the scoring will be too
    budget, _, t, _, final = run(30.0, lambda step, t: 0.1 if t < 8 else 0.3, {"validation": 2.0})
    assert budget.kept == pytest.approx(2.0 * (1 + RESERVE_MARGIN) * 3, rel=0.05)
    assert t <= 30.0 - budget.kept + 1e-9 and final == 0.0
    # one step stalled for 3 s among 0.1 s ones leaves the reserve as measured
    budget, _, t, _, _ = run(30.0, lambda step, t: 3.0 if step == 60 else 0.1, {"validation": 2.0})
    assert budget.kept == pytest.approx(2.5) and t <= 30.0 - 2.5 + 1e-9


def test_time_before_training_and_the_measurement_itself_count():
    # 6 s of start-up before training (started=-6) and 1 s spent timing the scoring: both come off
    budget, steps, t, _, _ = run(20.0, lambda step, t: 0.1, {"validation": 1.0}, started=-6.0, measure_takes=1.0)
    assert t + 6.0 <= 20.0 - budget.kept + 1e-9 and steps >= (20.0 - 6.0 - 1.0 - 1.25) / 0.1 - 3
    # the measurement's second is not taken for a slow step: the reserve is the measured one, unscaled
    assert budget.kept == pytest.approx(1.25)


def test_a_reserve_larger_than_the_budget_is_a_clear_error():
    with pytest.raises(ConfigError) as e:
        run(20.0, lambda step, t: 0.1, {"validation": 6.0, "tasks": 12.0})
    msg = str(e.value)
    assert msg.startswith("max_time=20s leaves no time to train:")
    assert "validation 6.0 s, tasks 12.0 s, +25% margin" in msg and "eval_tasks=" in msg


@pytest.mark.parametrize("max_time", [4.0, 10.0, 60.0, 600.0])
@pytest.mark.parametrize("share", [0.0, 0.3, 0.6])  # the measured scoring as a share of the budget
@pytest.mark.parametrize("schedule", ["wsd", "cosine"])
def test_any_budget_with_a_reserve_warms_up_holds_and_decays(max_time, share, schedule):
    budget, steps, t, lrs, final = run(max_time, lambda step, t: 0.01, {"validation": share * max_time / 1.25},
                                       schedule=schedule)
    assert t <= max_time - budget.kept + 1e-9
    assert max(lrs) == 1.0 and final == 0.0 and lrs[-1] < 0.1  # warmed up, then decayed to min_lr at the end
    peak = lrs.index(1.0)
    assert all(b <= a + 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1:]))


def test_process_started_is_before_now():
    started = process_started()
    if started is None:  # not Linux: the budget counts from train() instead
        pytest.skip("no /proc")
    import trainer.budget as budget_module
    assert 0.0 <= budget_module.now() - started < 3600


@pytest.fixture
def fake_clock(monkeypatch):
    """The budget's clock, advanced by the batches training draws (0.05 s) and by each
    validation-sized batch the scoring reads (0.1 s): the reserve is then this arithmetic."""
    import trainer.budget as budget_module
    import trainer.evaluate as evaluate_module
    import trainer.reserve as reserve_module
    import trainer.train as train_module

    clock = {"t": 0.0}
    real_next, real_mean_loss = train_module.Batches.next, evaluate_module.mean_loss

    def next_batch(self):
        clock["t"] += 0.05
        return real_next(self)

    def mean_loss(model, stream, block_size, batch_size, *args, max_windows=0, **kwargs):
        n = len(evaluate_module.eval_windows(stream, block_size, max_windows))
        clock["t"] += 0.1 * math.ceil(n / batch_size)
        return real_mean_loss(model, stream, block_size, batch_size, *args, max_windows=max_windows, **kwargs)

    monkeypatch.setattr(train_module.Batches, "next", next_batch)
    monkeypatch.setattr(reserve_module, "mean_loss", mean_loss)
    monkeypatch.setattr(budget_module, "now", lambda: clock["t"])
    return clock


def test_train_records_the_measured_reserve_and_ends_within_max_time(tiny_config, shards, tmp_path, fake_clock,
                                                                     capsys):
    book = tmp_path / "book.txt.gz"
    book.write_bytes(gzip.compress(b"Call me Ishmael. Some years ago, never mind how long precisely. " * 40))
    result = train(tiny_config(tmp_path / "run", "max_steps=100000", "max_time=5", "schedule=wsd", "min_lr=0",
                               f"heldout={book}", "eval_tasks=copa", "sample_tokens=4"))
    scores = json.load(open(os.path.join(result["checkpoint"], "scores.json")))
    parts, block, batch = scores["budget"]["parts"], 32, 8
    val_batches = math.ceil(math.ceil((len(Shards(str(shards)).tokens("validation")) - 1) / block) / batch)
    assert parts["validation"] == pytest.approx(0.1 * val_batches)  # one timed batch x the batches it will read
    assert set(parts) == {"validation", "heldout", "tasks", "sample"} and parts["heldout"] >= 0.1
    assert scores["budget"]["reserved"] == pytest.approx(sum(parts.values()) * (1 + RESERVE_MARGIN), rel=0.05)
    # training stopped where the reserve began: the final validation's fake seconds fit in what was left
    assert scores["budget"]["before_scoring"] <= 5 - scores["budget"]["reserved"] + 1e-6
    assert scores["budget"]["before_scoring"] + scores["budget"]["scoring"] <= 5
    rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert [r["reserve"]["validation"] for r in rows if "reserve" in r] == [parts["validation"]]
    out = capsys.readouterr().out
    assert "margin) of max_time=5s reserved for the scoring after training (the budget counts start-up too)" in out
    assert "time: " in out and f"s of the {scores['budget']['reserved']:.0f} s reserved" in out


def test_a_batch_halved_at_a_glance_is_not_the_batch_the_scoring_is_timed_at(tiny_config, shards, tmp_path,
                                                                            fake_clock, capsys):
    # 0.05 fake s a step whatever its batch, 5 s, 1,000 steps wanted: the second untimed step shows
    # batch 8 ten times short and halves it there, before the scoring is timed (at the first plan).
    # The scoring still reads batches of 8, so it must be timed at 8: timed at the halved batch it
    # was reserved a fraction of what it then took (seen beside busy loops: 12 s kept, 23 s taken)
    result = train(tiny_config(tmp_path / "run", "max_steps=100000", "max_time=5", "schedule=wsd", "min_lr=0",
                               "min_steps=1000", "sample_tokens=0"))
    out = capsys.readouterr().out
    assert "step 2: fewer than min_steps=1000 steps of batch 8 fit in max_time=5s: batch 1 from here" in out
    scores = json.load(open(os.path.join(result["checkpoint"], "scores.json")))
    val_batches = math.ceil(math.ceil((len(Shards(str(shards)).tokens("validation")) - 1) / 32) / 8)
    assert scores["budget"]["parts"]["validation"] == pytest.approx(0.1 * val_batches)
    assert scores["budget"]["scoring"] <= scores["budget"]["reserved"]
    assert scores["budget"]["before_scoring"] + scores["budget"]["scoring"] <= 5


def test_a_run_stopped_before_its_first_plan_still_measures_the_scoring():
    # 8 s steps in a 20 s budget: the budget stops at step 2, before any plan; the scoring is timed
    # there and, at 16 s already spent, cannot fit: an error, not a run that overshoots its budget
    with pytest.raises(ConfigError, match=r"max_time=20s leaves no time to train: 16.0 s spent by step 2"):
        run(20.0, lambda step, t: 8.0, {"validation": 4.0})
    budget, steps, t, _, _ = run(20.0, lambda step, t: 8.0, {"validation": 0.5})  # it fits: it is reserved
    assert steps == 2 and budget.reserve.parts == {"validation": 0.5}


def test_a_halved_batch_does_not_inflate_the_reserve():
    # A step costs 0.2 s plus 1 ms a row: halving the batch from 128 makes a token 2.8x dearer at 32,
    # on a machine no slower than at the measurement. The scoring reads batches of 128 still, so the
    # reserve stays as measured (before: it grew with the dearer tokens and ended the run at once).
    clock, batch = FakeClock(), 128

    def measure():
        return {"validation": 4.0, "tasks": 6.0}

    budget = TimeBudget(60.0, 100000, 128, 128, 0, min_steps=200, min_batch=8, clock=clock, measure=measure)
    budget.start(0, 0.0)
    step, max_steps, batches = 0, 100000, set()
    while step < max_steps:
        clock.t += 0.2 + 0.001 * batch
        step += 1
        plan = budget.stepped(step)
        max_steps, batch = plan.max_steps, plan.batch_size
        batches.add(batch)
    assert 32 in batches  # the budget did halve the batch
    assert budget.kept == pytest.approx(10.0 * (1 + RESERVE_MARGIN))
    assert clock.t <= 60.0 - budget.kept + 1e-9
    assert step >= (60.0 - 12.5 - 3.0) / (0.2 + 0.001 * batch) - 10  # the rest of the budget is trained


def test_the_scoring_is_cut_to_its_share_by_one_factor():
    from trainer.reserve import MIN_TASK_ITEMS, MIN_VAL_BATCHES, Scoring

    def scoring():  # validation 40 x 0.5 s, two tasks of 200 items at 0.1 s, held-out text 5 s
        return Scoring(0.5, 40, {"a": (0.1, 200), "b": (0.1, 200)}, {"heldout": 5.0, "sample": 1.0})

    whole = scoring().fit(1000.0)
    assert (whole.val_batches, whole.task_limit, whole.describe()) == (0, 0, "")  # it fits: nothing is cut
    assert whole.parts() == {"validation": 20.0, "heldout": 5.0, "tasks": 40.0, "sample": 1.0}
    cut = scoring().fit(6.0 + 30.0)  # the fixed 6 s, and half of the 60 s the rest takes
    assert (cut.val_batches, cut.task_limit) == (20, 100)
    assert cut.parts() == {"validation": 10.0, "heldout": 5.0, "tasks": 20.0, "sample": 1.0}  # held-out text whole
    assert cut.describe() == "validation 20 of 40 batches, tasks their first 100 items"
    floor = scoring().fit(1.0)  # less than the fixed parts: cut to the floors, the budget then refuses or trains
    assert (floor.val_batches, floor.task_limit) == (MIN_VAL_BATCHES, MIN_TASK_ITEMS)
    assert Scoring(0.5, 40, {"a": (0.1, 30)}).fit(1.0).task_limit == 0  # a task under the floor stays whole


def test_a_scoring_share_cuts_validation_and_tasks_in_the_run(tiny_config, tmp_path, fake_clock, capsys):
    # The fixture's validation split is 7 fake batches of 0.1 s (the tasks take no fake time): a share
    # of 0.05 x 8 s, less the margin, holds 0.32 s, so validation and tasks are cut by 0.32 / 0.7
    result = train(tiny_config(tmp_path / "run", "max_steps=100000", "max_time=8", "schedule=wsd", "min_lr=0",
                               "eval_tasks=copa", "sample_tokens=0", "score_share=0.05"))
    scores = json.load(open(os.path.join(result["checkpoint"], "scores.json")))
    cut = scores["budget"]["cut"]
    assert cut == {"score_share": 0.05, "validation_windows": 3 * 8, "task_items": 50}  # copa's 100 x 0.46, floored at 50
    assert scores["tasks"]["copa"]["n"] == 50
    assert scores["budget"]["parts"]["validation"] == pytest.approx(0.3)
    out = capsys.readouterr().out
    assert "the scoring is cut to score_share=0.05 of max_time: validation 3 of 7 batches, tasks their first 50 " in out
    assert "tasks (copa, first 50 items of each): copa " in out
    # the final validation read the windows kept (24 spread over the split, the short last one alone)
    assert re.search(r"validation on 4 batches", out)
