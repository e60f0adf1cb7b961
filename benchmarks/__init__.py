"""Benchmarks: `python -m benchmarks [name ...]` (or `make bench`).

Each module `benchmarks/bench_<name>.py` defines `main(argv: list[str]) -> None` that
prints its figures next to a baseline measured in the same run. Benchmarks are not
tests: they never decide pass or fail of the suite.
"""
