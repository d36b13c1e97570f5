"""Command groups beyond the core ones in `corpuskit.cli`.

Each module here defines a click command or group named `command`; `corpuskit.cli`
adds every module it finds, so a new command family is one new file. Modules must
import only click at top level (library imports go inside the functions) to keep
`corpuskit --help` fast.
"""
