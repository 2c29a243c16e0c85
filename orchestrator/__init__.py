"""The orchestrator's parts: state DB, discovery, runners, failure classification, the run itself.

scripts/orchestrator.py is the thin CLI over :func:`orchestrator.engine.run_once`.
"""

# The pipeline's stages in order, and the state a video reaches when each one succeeds.
STAGES = ("scan", "summarize", "logline")
STATE_AFTER = {"scan": "scanned", "summarize": "summarized", "logline": "logged"}
NEXT_STAGE = {"discovered": "scan", "scanned": "summarize", "summarized": "logline"}
TERMINAL_STATES = ("done", "failed")
