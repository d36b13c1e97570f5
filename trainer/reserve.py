"""What the scoring after training costs, timed on this machine as it is now (budget.py's Reserve).

TimeBudget calls scoring_parts at its first plan, after a few training steps have warmed the
kernels up, so the figures include whatever else the machine is running then.
"""

import math

from .downstream import evaluate_tasks, load_task, task_config, task_names
from .evaluate import mean_loss, read_text
from .sample import complete

TASK_PROBE = 16  # items of each task timed at the first plan; the tasks' reserve scales them to the task's count


def scoring_parts(raw_model, cfg, val, heldout, tokenizer, eot_id, device, autocast, world_size, clock):
    """{part: seconds} the scoring after training will take, timed now (budget.py's Reserve): one
    validation batch times the batches of the validation split (this rank's share) and of the
    held-out texts (tokenized now, as they will be), each task's first TASK_PROBE items scaled to
    its item count, and the sample's first tokens scaled to sample_tokens."""
    block, batch = cfg.model.block_size, cfg.batch_size

    def n_batches(tokens):  # as mean_loss reads them: a window per block of predicted tokens, in batches
        return math.ceil(math.ceil((tokens - 1) / block) / batch)

    t = clock()
    mean_loss(raw_model, val, block, batch, device, autocast, max_windows=batch)  # one full batch
    per_batch = clock() - t
    parts = {"validation": per_batch * math.ceil(n_batches(len(val)) / world_size)}
    if heldout:
        t = clock()
        tokens = [1 + len(tokenizer.encode(read_text(p).decode("utf-8")).ids) for p in heldout]
        parts["heldout"] = clock() - t + per_batch * sum(map(n_batches, tokens))
    if cfg.eval_tasks:
        config, seconds = task_config(), 0.0
        names, limit = task_names(cfg.eval_tasks, config)
        for name in names:
            n = len(load_task(name, config["tasks"][name]).items)
            n = min(n, limit) if limit else n
            probe, t = min(n, TASK_PROBE), clock()
            evaluate_tasks(raw_model, tokenizer, eot_id, name, limit=probe, device=device)
            seconds += (clock() - t) * n / max(1, probe)
        parts["tasks"] = seconds
    if cfg.sample_tokens:
        probe, t = min(cfg.sample_tokens, 8), clock()
        complete(raw_model.eval(), tokenizer, cfg.sample_prompt, eot_id, probe, seed=cfg.seed)
        raw_model.train()
        parts["sample"] = (clock() - t) * cfg.sample_tokens / probe
    return parts
