"""Command line: `python -m trainer {train,eval,sample,export-hf,sweep}`. Each command parses its
options, calls one library function and prints the result. A user's mistake (a TrainerError)
is printed as one line, `Error: ...`, with exit status 1; only a bug shows a traceback."""

import contextlib
import importlib
import json
import typing

import click

from .config import ModelConfig, TrainConfig, load_config
from .errors import TrainerError

TRAIN_EXTRA = ("torch", "safetensors")  # what `pip install .` (the data side) lacks and corpuskit[train] adds


def _overrides(pairs, **named):
    return [f"{k}={v}" for k, v in named.items() if v is not None] + _key_values(pairs)


def _switches():
    """The settings `--no-KEY` can turn off: booleans, and `compile` (auto, true or false)."""
    def off(hint):
        return hint is bool or (typing.get_origin(hint) is typing.Literal and False in typing.get_args(hint))

    return ({k for k, t in typing.get_type_hints(TrainConfig).items() if off(t)}
            | {f"model.{k}" for k, t in typing.get_type_hints(ModelConfig).items() if off(t)})


def _key_values(args):
    """`key=value`, `--key=value` and `--key value` (nanoGPT's habit) as `key=value`; `-` in a key is `_`;
    `--no-KEY` is `KEY=false` for a switch (`--no-progress`, `--no-plot`)."""
    out, args = [], list(args)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            out.append(arg)
            continue
        key, eq, value = arg[2:].partition("=")
        if not eq and key.startswith("no-") and key[3:].replace("-", "_") in _switches():
            out.append(f"{key[3:].replace('-', '_')}=false")
            continue
        if not eq:
            if not args or args[0].startswith("--"):
                raise click.UsageError(f"{arg} needs a value: {arg}=VALUE or {arg} VALUE")
            value = args.pop(0)
        out.append(f"{key.replace('-', '_')}={value}")
    return out


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("corpuskit")  # the trainer ships in corpuskit's distribution
    except PackageNotFoundError:
        return "unknown (not installed)"


def _library(module):
    """`trainer.<module>`, which needs torch: without it (the data-side install) a one-line error, not a traceback."""
    try:
        return importlib.import_module(f"trainer.{module}")
    except ModuleNotFoundError as e:
        missing = (e.name or "").partition(".")[0]
        if missing in TRAIN_EXTRA:
            raise click.ClickException(f"the trainer needs {missing}: pip install 'corpuskit[train]'") from None
        raise


@contextlib.contextmanager
def _user_errors(*also):
    """A TrainerError (or one of `also`) as a one-line `Error: MESSAGE`, exit 1, no traceback."""
    try:
        yield
    except (TrainerError, *also) as e:
        raise click.ClickException(" ".join(str(e).split())) from e


OVERWRITE = click.option("--overwrite", is_flag=True,
                         help="Replace a run already in the output folder (its checkpoints, metrics.jsonl, loss.png; "
                              "other files stay). Without it such a folder is refused.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", "-V", prog_name="python -m trainer")
def cli():
    """Pretrain, evaluate, sample and export small language models on a corpuskit shard set."""


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), help="YAML config file.")
@click.option("--data", help="Shard directory (overrides the config's data).")
@click.option("--out", help="Run directory for checkpoints and logs (overrides the config's out).")
@click.option("--resume", type=click.Path(exists=True), help="Continue from a checkpoint (or the newest in a run directory).")
@click.option("--init-from", type=click.Path(exists=True), help="Start from a checkpoint's weights (fine-tune / continue pretraining).")
@OVERWRITE
@click.option("--print-config", is_flag=True, help="Print the resolved config (file, then overrides) as YAML and exit.")
@click.argument("overrides", nargs=-1)
def train(config_path, data, out, resume, init_from, overwrite, print_config, overrides):
    """Train a model; prints the checkpoint path, validation bits per byte and a sample.

    OVERRIDES are key=value, --key=value or --key value, dotted for model settings
    (model.n_layer=2, --lr=1e-3, --max-steps 200); --no-KEY turns a switch off
    (--no-progress: one plain line per log interval instead of a bar, as in a log file).

    Example:

        python -m trainer train --config trainer/configs/default.yaml --data data/shards --out runs/default max_steps=200 --model.n_layer=2
    """
    if not config_path and not resume:
        raise click.UsageError("give --config FILE (or --resume CHECKPOINT)")
    extra = _overrides(overrides, data=data, out=out, init_from=init_from)
    if print_config:
        import yaml

        from .config import to_dict

        if not config_path:
            raise click.UsageError("--print-config needs --config FILE")
        with _user_errors(ValueError):
            click.echo(yaml.safe_dump(to_dict(load_config(config_path, extra)), sort_keys=False), nl=False)
        return
    run_train = _library("train").train
    with _user_errors(ValueError, ImportError):
        cfg = load_config(config_path, extra) if config_path else None
        run_train(cfg, resume=resume, overrides=() if config_path else extra, overwrite=overwrite,
                  started=_library("budget").process_started())  # max_time counts start-up too


@cli.command("eval")
@click.option("--checkpoint", required=True, type=click.Path(exists=True), help="Checkpoint directory.")
@click.option("--text", type=click.Path(exists=True, dir_okay=False), help="Evaluate on this UTF-8 text file instead.")
@click.option("--split", default="validation", show_default=True, help="Shard split to evaluate.")
@click.option("--data", help="Shard directory (default: the one the checkpoint was trained on).")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--tasks", help="Score downstream tasks instead: core, quick or NAME[,NAME] (trainer/tasks/tasks.yaml).")
@click.option("--shots", type=int, help="--tasks: few-shot examples per item (default: each task's own).")
@click.option("--limit", default=0, show_default=True, help="--tasks: score only each task's first N items (0: all).")
@click.option("--json", "as_json", is_flag=True, help="--tasks: print one JSON line instead of a table.")
def eval_cmd(checkpoint, text, split, data, batch_size, device, tasks, shots, limit, as_json):
    """Print {"loss", "perplexity", "bits_per_byte", ...} as one JSON object; with --tasks, the
    accuracy on each task (chance, centered accuracy, items) and their mean centered accuracy.

    Example:

        python -m trainer eval --checkpoint runs/default/ckpt-000600 --text book.txt
        python -m trainer eval --checkpoint runs/default/ckpt-000600 --tasks copa,winograd_wsc --json
    """
    if tasks:
        downstream = _library("downstream")
        with _user_errors():
            result = downstream.eval_tasks_checkpoint(checkpoint, tasks, shots, limit, batch_size, device)
        click.echo(json.dumps(result) if as_json else downstream.format_table(result))
        return
    from .progress import batch_reporter

    eval_checkpoint = _library("evaluate").eval_checkpoint
    # a long evaluation is not silent: a line on stderr every 10 s (stdout keeps the JSON alone)
    report = batch_reporter(lambda line: click.echo(line, err=True), "eval", start=False)
    with _user_errors():
        metrics = eval_checkpoint(checkpoint, text, split, data, batch_size, device, report)
    click.echo(json.dumps(metrics))


@cli.command()
@click.option("--checkpoint", required=True, type=click.Path(exists=True), help="Checkpoint directory.")
@click.option("--prompt", default="", help="Text to continue (empty: start a new document).")
@click.option("--max-new-tokens", default=200, show_default=True)
@click.option("--temperature", default=0.8, show_default=True, help="0 for greedy decoding.")
@click.option("--top-k", default=50, show_default=True, help="0 disables.")
@click.option("--top-p", default=0.95, show_default=True, help="1 disables.")
@click.option("--num-samples", default=1, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
def sample(checkpoint, prompt, max_new_tokens, temperature, top_k, top_p, num_samples, seed, device):
    """Generate text from a prompt, decoded with the checkpoint's tokenizer.

    Example:

        python -m trainer sample --checkpoint runs/default/ckpt-000600 --prompt "It was" --top-p 0.9
    """
    sample_checkpoint = _library("sample").sample_checkpoint
    with _user_errors():
        texts = sample_checkpoint(checkpoint, prompt, device, max_new_tokens=max_new_tokens, temperature=temperature,
                                  top_k=top_k, top_p=top_p, num_samples=num_samples, seed=seed)
    for i, text in enumerate(texts):
        if i:
            click.echo("-" * 40)
        click.echo(text)


@cli.command("export-hf")
@click.option("--checkpoint", required=True, type=click.Path(exists=True), help="Checkpoint directory.")
@click.option("--force", is_flag=True, help="Replace an earlier export in OUT (only the files export-hf writes).")
@click.argument("out", type=click.Path())
def export_hf(checkpoint, out, force):
    """Write a Hugging Face model directory to OUT: LlamaForCausalLM, Qwen3ForCausalLM or GPT2LMHeadModel.

    The architecture follows the checkpoint's model settings: pos=rope norm=rmsnorm mlp=swiglu is
    LlamaForCausalLM, the same with qk_norm Qwen3ForCausalLM (the default recipe), pos=learned
    norm=layernorm mlp=gelu GPT2LMHeadModel; any other is refused. OUT must be a new or empty
    folder, or an earlier export (with --force).

    Example:

        python -m trainer export-hf --checkpoint runs/default/ckpt-000600 hf/default
    """
    export = _library("export_hf").export
    with _user_errors():
        arch = export(checkpoint, out, force)
    click.echo(f"wrote {arch} to {out}")


def _floats(text):
    return [float(v) for v in text.split(",")]


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--data", help="Shard directory.")
@click.option("--out", default="runs/sweep", show_default=True, help="Parent directory of the runs.")
@click.option("--lr", default=None, help="Comma-separated learning rates.")
@click.option("--batch-size", default=None, help="Comma-separated batch sizes.")
@click.option("--dropout", default=None, help="Comma-separated dropout rates.")
@OVERWRITE
@click.argument("overrides", nargs=-1)
def sweep(config_path, data, out, lr, batch_size, dropout, overwrite, overrides):
    """Train every combination of the given values; print a table, best validation loss first.

    Example:

        python -m trainer sweep --config trainer/configs/default.yaml --data data/shards --lr 1e-3,3e-3 --batch-size 16,32 --dropout 0,0.1 max_steps=100
    """
    _library("train")  # every run of the sweep trains: without torch, say so before the first
    from .sweep import format_table, run_sweep

    with _user_errors(ValueError):
        cfg = load_config(config_path, _overrides(overrides, data=data))
        grid = {k: v for k, v in {"lr": lr and _floats(lr), "batch_size": batch_size and [int(b) for b in batch_size.split(",")],
                                  "model.dropout": dropout and _floats(dropout)}.items() if v}
        rows = run_sweep(cfg, grid, out, overwrite)
    click.echo(format_table(rows))


if __name__ == "__main__":
    cli(prog_name="python -m trainer")
