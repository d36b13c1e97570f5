"""Command groups beyond the core ones in `corpuskit.cli`.

Each module here defines a click command or group named `command`; `corpuskit.cli`
adds every module it finds, so a new command family is one new file. To keep
`corpuskit --help` fast, modules import at top level only click, the standard library
and corpuskit's stdlib-only modules (errors, schema, the config dataclasses whose fields
are the options' defaults); library imports go inside the functions.
"""
