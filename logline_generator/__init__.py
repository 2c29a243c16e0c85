"""logline_generator: summaries in, signed and hash-chained LogLines out."""
