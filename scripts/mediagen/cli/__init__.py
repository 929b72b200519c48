"""Argument parsing and handlers of the entry scripts (the only layer that knows about argv)."""
