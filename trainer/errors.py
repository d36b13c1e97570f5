"""The trainer's error types.

A `TrainerError` is a user's mistake or a condition of their files (a config value out of range,
a shard that fails its checksum, a damaged checkpoint, a run folder that holds another run): the
command line prints its message, one line naming the key or the file, and exits 1. Anything else
is a bug and keeps its traceback. Each also derives from ValueError, as a caller would expect.
"""


class TrainerError(Exception):
    """An error the command line reports as a message, without a traceback."""


class ConfigError(TrainerError, ValueError):
    """A configuration value is wrong; the message names the key."""


class ShardsError(TrainerError, ValueError):
    """A shard directory is missing, of another format, names paths outside itself, or fails its checks."""


class CheckpointError(TrainerError, ValueError):
    """A checkpoint directory is missing or damaged; the message names the file."""


class RunDirError(TrainerError, ValueError):
    """The run directory holds another run that this one would overwrite."""


class InputError(TrainerError, ValueError):
    """An input given on the command line (a text file, a sampling option) cannot be used."""


class DivergedError(TrainerError, ValueError):
    """The training loss or the weights became NaN or infinite; training stops without saving them."""
