"""The DAG scheduler: timing wheel (wheel.py, pure), loop, executors, the runplatform component."""
