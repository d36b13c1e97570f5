"""`corpuskit ablate`: train the same small model on each data variant and compare (run.py)."""
