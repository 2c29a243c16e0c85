"""The orchestrator: state DB, discovery, runners, failure classification, the run itself.

scripts/orchestrator.py (and `vv orchestrate`) is the thin CLI over :mod:`orchestrator.cli`; the
stages, their names, files and states are one table in :mod:`orchestrator.stages`.
"""
