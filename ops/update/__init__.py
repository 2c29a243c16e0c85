"""`vv update`: rebuild only the images whose inputs changed, with automatic rollback (ops/update/update.py)."""
