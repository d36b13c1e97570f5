"""Cleaning stages: text repair and normalization, boilerplate removal, quality rules, PII."""

STAGES: dict[str, str] = {
    "repair": "corpuskit.stages.clean.repair:Repair",
    "emoji": "corpuskit.stages.clean.emoji:EmojiPolicy",
    "boilerplate": "corpuskit.stages.clean.boilerplate:Boilerplate",
    "pii": "corpuskit.stages.clean.pii:PII",
    "gopher_quality": "corpuskit.stages.clean.gopher:GopherQuality",
    "gopher_repetition": "corpuskit.stages.clean.gopher:GopherRepetition",
    "c4_quality": "corpuskit.stages.clean.c4:C4Quality",
    "fineweb_quality": "corpuskit.stages.clean.fineweb:FineWebQuality",
    "language_filter": "corpuskit.stages.clean.language:LanguageFilter",
}
