"""The anonymisation pipeline: task dispatch, the mixing pool, statistical records, withdrawal,
the reconciling sweep and retention — the worker's side of a report's life."""
