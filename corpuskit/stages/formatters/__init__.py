"""Formatters: stages that rewrite text (repair and normalization, emoji policy, boilerplate lines, PII)."""

STAGES: dict[str, str] = {
    "repair": "corpuskit.stages.formatters.repair:Repair",
    "normalize": "corpuskit.stages.formatters.repair:Normalize",
    "emoji": "corpuskit.stages.formatters.emoji:EmojiPolicy",
    "boilerplate": "corpuskit.stages.formatters.boilerplate:Boilerplate",
    "pii": "corpuskit.stages.formatters.pii:PII",
}
