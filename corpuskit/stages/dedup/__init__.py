"""De-duplication stages: exact (normalized-text hash) and near-duplicate (MinHash LSH)."""

STAGES = {
    "exact_dedup": "corpuskit.stages.dedup.exact:ExactDedup",
    "minhash_dedup": "corpuskit.stages.dedup.minhash:MinhashDedup",
}
