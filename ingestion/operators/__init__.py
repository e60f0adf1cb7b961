"""Operators: what a task runs. `registry` maps names to classes; `base` defines the context."""
