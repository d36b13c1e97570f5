"""De-duplication stages: exact (normalized-text hash), near-duplicate (MinHash LSH), and
paragraphs repeated across documents (opt-in)."""

STAGES = {
    "exact_dedup": "corpuskit.stages.dedup.exact:ExactDedup",
    "minhash_dedup": "corpuskit.stages.dedup.minhash:MinhashDedup",
    "paragraph_dedup": "corpuskit.stages.dedup.paragraphs:ParagraphDedup",
}
