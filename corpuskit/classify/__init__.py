"""The classifier toolkit every model-based stage shares (toxicity, quality).

- `hashed`: hashed character + word n-gram features, TF-IDF, batched logistic scoring;
- `train`: those features as a sparse matrix, a deterministic logistic fit, `.npz` writing;
- `embedding`: the all-MiniLM-L6-v2 encoder for logistic heads (the `embed` extra);
- `metrics`: ROC-AUC, precision and recall.
"""
