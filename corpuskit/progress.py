"""Whether to draw progress bars: on a terminal, or when asked; never in a log file or a pipe.

The bars go to standard error. `--progress` / `--no-progress` (CORPUSKIT_PROGRESS=1 / 0)
decide; without either, a bar is drawn only when standard error is a terminal, so
`corpuskit clean raw/ out/ 2> log.txt` and CI logs get the summary lines without the
carriage-return noise. Stdlib only.
"""

from __future__ import annotations

import os
import sys

ENV = "CORPUSKIT_PROGRESS"


def show_progress(quiet: bool = False) -> bool:
    """Draw progress bars? Never when `quiet`; else as asked, else when stderr is a terminal."""
    if quiet:
        return False
    asked = os.environ.get(ENV, "").strip().lower()
    if asked in ("1", "true", "yes", "on"):
        return True
    if asked in ("0", "false", "no", "off"):
        return False
    return sys.stderr.isatty()
