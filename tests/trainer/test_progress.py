"""What a run prints, and writes to OUT/train.log, when nobody watches a terminal (progress.py)."""

import json
import os
import re
import subprocess
import sys

from trainer import progress as progress_module
from trainer.autotune import decide_dtype
from trainer.train import train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEP_LINE = re.compile(r"step (\d+)/(\d+) \| loss [\d.]+ \| lr [\d.e+-]+ \| [\d,]+ tok/s \| mfu [\d.]+% \| "
                       r"elapsed \S+ \| remaining (\S+)")


def test_a_run_whose_output_is_a_log_prints_one_plain_line_per_interval(shards, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text("model: {n_layer: 2, n_head: 2, n_embd: 32, block_size: 32}\n"
                      "batch_size: 8\nlr: 3.0e-3\nmin_lr: 3.0e-4\nwarmup_steps: 2\nmax_steps: 12\nlog_interval: 4\n"
                      "eval_interval: 8\neval_batches: 2\nplot: false\nsample_tokens: 0\ndtype: auto\n")
    out = tmp_path / "run"
    # progress is left at its default (true): stderr is a pipe here, so the run must not draw a bar
    result = subprocess.run([sys.executable, "-m", "trainer", "train", "--config", str(config), "--data", shards,
                             "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\r" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    steps = [STEP_LINE.fullmatch(line) for line in lines if line.startswith("step") and "| loss" in line]
    assert all(steps) and [int(m[1]) for m in steps] == [4, 8, 12] and {m[2] for m in steps} == {"12"}
    assert all(m[3] != "?" for m in steps)  # measured from step 2 on, not guessed from the first step
    assert re.search(r"^step 8/12 \| validation on \d+ batches$", result.stdout, re.M)  # said before it runs
    assert re.search(r"^step 8/12 \| val loss [\d.]+ \| perplexity [\d.]+ \| bits per byte [\d.]+ \| \d+s$",
                     result.stdout, re.M)
    assert re.search(r"^step 12/12 \| validation on \d+ batches$", result.stdout, re.M)  # the final pass too
    assert (out / "train.log").read_text(encoding="utf-8") == result.stdout  # the same lines, in the run folder

    # dtype: auto records what it measured, and the choice follows from those figures
    record = json.loads((out / "ckpt-000012" / "config.json").read_text())["autotune"]["dtype"]
    assert len(record["seconds"]["float32"]) == len(record["seconds"]["bfloat16"]) == 7
    assert decide_dtype(record["seconds"])[0] == record["dtype"] and record["margin"] == 1.3
    assert f"dtype auto: {record['dtype']} (matmul 256x32x128, median of 7:" in result.stdout


def test_on_a_terminal_a_bar_and_with_no_progress_the_lines(shards, tmp_path):
    import fcntl
    import pty
    import struct
    import termios
    import threading

    config = tmp_path / "c.yaml"
    config.write_text("lr: 3.0e-3\n")

    def run(out, *extra):
        terminal, stderr = pty.openpty()  # stderr is a terminal, as in an interactive shell
        fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns wide
        drawn = []
        reader = threading.Thread(target=lambda: _drain(terminal, drawn))
        reader.start()
        result = subprocess.run([sys.executable, "-m", "trainer", "train", "--config", str(config), "--data", shards,
                                 "--out", str(out),
                                 *TINY, *extra], stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO,
                                timeout=600)
        os.close(stderr)
        reader.join()
        assert result.returncode == 0, b"".join(drawn).decode(errors="replace")[-3000:]
        return result.stdout, b"".join(drawn).decode(errors="replace")

    stdout, terminal = run(tmp_path / "bar")
    assert "\r" in terminal and "remaining" in terminal  # the bar, with progress.py's ETA
    assert not [line for line in stdout.splitlines() if STEP_LINE.fullmatch(line)]  # the bar shows them...
    assert [int(STEP_LINE.fullmatch(line)[1]) for line in _log(tmp_path / "bar") if STEP_LINE.fullmatch(line)] == [
        4, 8]  # ...and train.log has them all the same
    stdout, terminal = run(tmp_path / "lines", "--no-progress")
    assert "\r" not in terminal + stdout
    assert [int(STEP_LINE.fullmatch(line)[1]) for line in stdout.splitlines() if STEP_LINE.fullmatch(line)] == [4, 8]


TINY = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32", "batch_size=8", "max_steps=8",
        "log_interval=4", "warmup_steps=2", "plot=false", "sample_tokens=0", "dtype=float32"]


def _drain(fd, chunks):
    """Read a pseudo-terminal until its other end is closed (so the writer never blocks on a full buffer)."""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)


def _log(run):
    return (run / "train.log").read_text(encoding="utf-8").splitlines()


def test_a_resumed_run_logs_each_step_once_and_says_where_it_resumed(tiny_config, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_config(run, "max_steps=12", "checkpoint_interval=6"))  # log_interval=1
    first = [line for line in _log(run) if STEP_LINE.fullmatch(line)]
    assert [STEP_LINE.fullmatch(line)[3] for line in first[:2]] == ["?", "?"]  # steps 1-2: warm-up, no ETA
    assert STEP_LINE.fullmatch(first[2])[3] != "?"
    # as if the run had been killed after step 12 and resumed from its checkpoint at step 6
    train(None, resume=str(run / "ckpt-000006"))
    log = _log(run)
    steps = [int(STEP_LINE.fullmatch(line)[1]) for line in log if STEP_LINE.fullmatch(line)]
    assert steps == list(range(1, 13))
    assert [line for line in log if line.startswith("resumed")] == [f"resumed at step 6 from {run / 'ckpt-000006'}"]
    assert log.index(f"resumed at step 6 from {run / 'ckpt-000006'}") == log.index(first[5]) + 1
    assert sum(line.startswith("checkpoint: ") for line in log) == 1  # the killed part's end is gone
    assert STEP_LINE.fullmatch(log[log.index(first[5]) + 4])[3] == "?"  # step 7: a new process warms up again
    assert "\r" not in capsys.readouterr().out

    train(tiny_config(run, "max_steps=3"), overwrite=True)  # train.log is the run's: --overwrite starts it anew
    assert [int(STEP_LINE.fullmatch(line)[1]) for line in _log(run) if STEP_LINE.fullmatch(line)] == [1, 2, 3]


def test_a_long_validation_reports_its_progress(tiny_config, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "EVAL_EVERY", 0.0)  # a line after every batch instead of every 10 s
    train(tiny_config(tmp_path / "run", "max_steps=4"))
    out = capsys.readouterr().out
    total = int(re.search(r"^step 4/4 \| validation on (\d+) batches$", out, re.M)[1])
    done = [int(n) for n in re.findall(r"^step 4/4 \| validation (\d+)/\d+ batches \| \d+s$", out, re.M)]
    assert total > 2 and done == list(range(1, total))
    assert out.splitlines() == _log(tmp_path / "run")
