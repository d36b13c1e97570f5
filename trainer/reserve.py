"""What the scoring after training costs, timed on this machine as it is now (budget.py's Reserve),
and how much of it fits the share of max_time it may take.

TimeBudget calls the measurement at its first plan, after a few training steps have warmed the
kernels up, so the figures include whatever else the machine is running then. On a slow or busy
machine the whole validation split and every quick-task item could take half the budget (measured:
132 s of 225 beside four busy loops), time the model would rather train: Scoring.fit cuts the final
validation to windows spread evenly over the split and each task to its first items, so that the
scoring fits `score_share` of max_time. The held-out texts and the sample are never cut: they are
what runs are compared by.
"""

import math
from dataclasses import dataclass, field

from .downstream import evaluate_tasks, load_task, task_config, task_names
from .evaluate import mean_loss, read_text
from .sample import complete

TASK_PROBE = 16  # items of each task timed at the first plan; the tasks' reserve scales them to the task's count
MIN_TASK_ITEMS = 50  # a cut keeps at least this many items of each task: fewer, and its accuracy says nothing
MIN_VAL_BATCHES = 2  # ... and at least this many validation batches


@dataclass
class Scoring:
    """The scoring after training: the seconds each part takes on this machine now, and what a cut
    keeps of it (`val_batches` of the validation split, the first `task_limit` items of each task;
    0: all of them)."""
    val_batch: float  # seconds one validation batch takes
    val_total: int  # validation batches this rank reads when nothing is cut
    tasks: dict = field(default_factory=dict)  # {task: (seconds an item, items)}
    fixed: dict = field(default_factory=dict)  # {part: seconds} never cut: held-out text, the sample
    val_batches: int = 0
    task_limit: int = 0

    def parts(self):
        """{part: seconds} of the scoring as cut (budget.py's Reserve)."""
        parts = {"validation": self.val_batch * (self.val_batches or self.val_total)}
        if "heldout" in self.fixed:
            parts["heldout"] = self.fixed["heldout"]
        if self.tasks:
            parts["tasks"] = sum(per_item * self.items(n) for per_item, n in self.tasks.values())
        if "sample" in self.fixed:
            parts["sample"] = self.fixed["sample"]
        return parts

    def items(self, n):
        """Items of a task of `n` that the cut keeps."""
        return min(n, self.task_limit) if self.task_limit else n

    def fit(self, seconds):
        """Cut the validation and the tasks by one factor so that the parts take at most `seconds`
        (never below MIN_VAL_BATCHES and MIN_TASK_ITEMS); nothing is cut when they fit already."""
        self.val_batches = self.task_limit = 0
        flexible = sum(self.parts().values()) - sum(self.fixed.values())
        if sum(self.parts().values()) <= seconds or flexible <= 0:
            return self
        factor = max(0.0, seconds - sum(self.fixed.values())) / flexible
        if self.val_total > MIN_VAL_BATCHES:
            self.val_batches = min(self.val_total, max(MIN_VAL_BATCHES, math.floor(self.val_total * factor)))
        most = max((n for _, n in self.tasks.values()), default=0)
        if most > MIN_TASK_ITEMS:
            self.task_limit = min(most, max(MIN_TASK_ITEMS, math.floor(most * factor)))
        return self

    def describe(self):
        """What the cut keeps, in words ('' when nothing is cut)."""
        cut = []
        if self.val_batches:
            cut.append(f"validation {self.val_batches} of {self.val_total} batches")
        if self.task_limit:
            cut.append(f"tasks their first {self.task_limit} items")
        return ", ".join(cut)


def time_scoring(raw_model, cfg, val, heldout, tokenizer, eot_id, device, autocast, world_size, clock, batch=None):
    """The Scoring of this run, timed now: one validation batch (times the batches of the
    validation split, this rank's share, and of the held-out texts, tokenized now as they will be),
    each task's first TASK_PROBE items (scaled to its item count), the sample's first tokens
    (scaled to sample_tokens). `batch`: the rows of a batch the scoring reads (default: the
    config's batch_size; train() passes the size the run started with, which the budget may
    have halved for training by the time this is timed)."""
    block, batch = cfg.model.block_size, batch or cfg.batch_size

    def n_batches(tokens):  # as mean_loss reads them: a window per block of predicted tokens, in batches
        return math.ceil(math.ceil((tokens - 1) / block) / batch)

    t = clock()
    mean_loss(raw_model, val, block, batch, device, autocast, max_windows=batch)  # one full batch
    per_batch = clock() - t
    scoring = Scoring(per_batch, math.ceil(n_batches(len(val)) / world_size))
    if heldout:
        t = clock()
        tokens = [1 + len(tokenizer.encode(read_text(p).decode("utf-8")).ids) for p in heldout]
        scoring.fixed["heldout"] = clock() - t + per_batch * sum(map(n_batches, tokens))
    if cfg.eval_tasks:
        config = task_config()
        names, limit = task_names(cfg.eval_tasks, config)
        for name in names:
            n = len(load_task(name, config["tasks"][name]).items)
            n = min(n, limit) if limit else n
            probe, t = min(n, TASK_PROBE), clock()
            evaluate_tasks(raw_model, tokenizer, eot_id, name, limit=probe, device=device)
            scoring.tasks[name] = ((clock() - t) / max(1, probe), n)
    if cfg.sample_tokens:
        probe, t = min(cfg.sample_tokens, 8), clock()
        complete(raw_model.eval(), tokenizer, cfg.sample_prompt, eot_id, probe, seed=cfg.seed)
        raw_model.train()
        scoring.fixed["sample"] = (clock() - t) * cfg.sample_tokens / probe
    return scoring
