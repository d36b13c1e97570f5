"""corpuskit's own error types.

A `CorpuskitError` is a user's mistake or a condition of their data (a bad pipeline key, a
run folder that holds another run, a shard directory that fails its checksum): the CLI
prints its message, one line, no traceback. Anything else is a bug and keeps its traceback.
The concrete errors also derive from the built-in type a caller would expect (`ValueError`).
"""

from __future__ import annotations


class CorpuskitError(Exception):
    """An error the CLI reports as a message, without a traceback."""


class ConfigError(CorpuskitError, ValueError):
    """A configuration value is wrong; the message names the section and the key."""
