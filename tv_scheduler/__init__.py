"""tv_scheduler: verified LogLines in, one playlist per TV out."""
