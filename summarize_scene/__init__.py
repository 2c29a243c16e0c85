"""summarize_scene: analytic JSON in, a human summary (and a TV routing status) out."""
