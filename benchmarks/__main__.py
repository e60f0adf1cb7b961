"""Run benchmarks: `python -m benchmarks` runs all, `python -m benchmarks scheduler` one."""

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

import django


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name[len("bench_") :] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main() -> None:
    argv = sys.argv[1:]
    names = [a for a in argv if not a.startswith("-")] or available()
    options = [a for a in argv if a.startswith("-")]
    unknown = set(names) - set(available())
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; available: {', '.join(available())}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    for name in names:
        print(f"\n=== benchmark: {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main(options)
        print(f"=== {name}: {time.perf_counter() - started:.1f} s ===", flush=True)


if __name__ == "__main__":
    main()
