"""Quality filters: stages that keep or drop whole documents (length, Gopher, C4, FineWeb, language)."""

STAGES: dict[str, str] = {
    "length_filter": "corpuskit.stages.filters.length:LengthFilter",
    "gopher_quality": "corpuskit.stages.filters.gopher:GopherQuality",
    "gopher_repetition": "corpuskit.stages.filters.gopher:GopherRepetition",
    "c4_quality": "corpuskit.stages.filters.c4:C4Quality",
    "fineweb_quality": "corpuskit.stages.filters.fineweb:FineWebQuality",
    "language_filter": "corpuskit.stages.filters.language:LanguageFilter",
}
