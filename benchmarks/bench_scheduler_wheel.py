"""The timing wheel alone: `python -m benchmarks scheduler_wheel [--entries=100000] [--quick]`.

100,000 keys with due times spread at random over a week, held three ways in one run:
  wheel   ingestion.scheduler.wheel.TimingWheel
  heapq   a heap with lazy deletion (what a careful hand-written scheduler uses)
  scan    a dict scanned whole every tick (the naive scheduler: cost grows with the entries)
A tick is what the scheduler loop does each second: advance(now), re-schedule what fired
one week later, and (wheel and heap) ask next_due() for how long to sleep. Measured:
  steady   consecutive 1-second ticks (about 0.17 keys due per tick; hour boundaries,
           where the wheel cascades an hour's keys, included)
  burst    a tick at which 1% of the keys are due at once
Each structure must hand out exactly the same keys as the others; the run stops if not.
Times are CPU time of this process (time.process_time), so other work on a busy machine
does not count against whichever structure happened to run beside it.
"""

from __future__ import annotations

import gc
import heapq
import random
import statistics
import time
import tracemalloc

WEEK = 7 * 86400.0
T0 = 1_767_225_600.0 + 1234.5  # mid-hour, so the first ticks are ordinary ones


class HeapScheduler:
    def __init__(self, *, now: float, tick: float = 1.0):
        self._heap: list[tuple[float, int, object]] = []
        self._due: dict[object, float] = {}
        self._n = 0

    def schedule(self, key, due: float) -> None:
        self._due[key] = due
        self._n += 1
        heapq.heappush(self._heap, (due, self._n, key))

    def cancel(self, key) -> bool:
        return self._due.pop(key, None) is not None

    def advance(self, now: float):
        out = []
        heap, due_of = self._heap, self._due
        while heap and heap[0][0] <= now:
            due, _, key = heapq.heappop(heap)
            if due_of.get(key) == due:
                del due_of[key]
                out.append((key, due))
        return out

    def next_due(self):
        heap = self._heap
        while heap and self._due.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None


class ScanScheduler:
    def __init__(self, *, now: float, tick: float = 1.0):
        self._due: dict[object, float] = {}

    def schedule(self, key, due: float) -> None:
        self._due[key] = due

    def cancel(self, key) -> bool:
        return self._due.pop(key, None) is not None

    def advance(self, now: float):
        out = [(key, due) for key, due in self._due.items() if due <= now]
        for key, _ in out:
            del self._due[key]
        out.sort(key=lambda kd: kd[1])
        return out

    def next_due(self):
        return None  # a scanning scheduler wakes every tick; it never asks


def _wheel(now: float):
    from ingestion.scheduler.wheel import TimingWheel

    return TimingWheel(now=now)


KINDS = {"wheel": _wheel, "heapq": lambda now: HeapScheduler(now=now), "scan": lambda now: ScanScheduler(now=now)}


def _build(kind: str, dues: list[float]):
    structure = KINDS[kind](T0)
    for key, due in enumerate(dues):
        structure.schedule(key, due)
    return structure


def _tick(structure, now: float) -> list:
    fired = structure.advance(now)
    for key, due in fired:
        structure.schedule(key, due + WEEK)
    structure.next_due()
    return fired


def _steady(structure, ticks: int) -> tuple[list[float], list]:
    times, fired = [], []
    for i in range(1, ticks + 1):
        started = time.process_time()
        out = _tick(structure, T0 + i)
        times.append(time.process_time() - started)
        fired.extend(out)
    return times, fired


def _burst(kind: str, dues: list[float], rounds: int) -> tuple[list[float], list]:
    """1% of the keys moved to one instant; the tick at that instant is timed."""
    structure = _build(kind, dues)
    burst = max(1, len(dues) // 100)
    times, fired = [], []
    for r in range(rounds):
        at = T0 + 60 * (r + 1)
        for key in range(r * burst, (r + 1) * burst):
            structure.schedule(key, at)
        _tick(structure, at - 0.5)  # untimed: whatever else was due before the burst
        started = time.process_time()
        out = _tick(structure, at)
        times.append(time.process_time() - started)
        fired.append(sorted(k for k, _ in out))
    return times, fired


def _memory(kind: str, dues: list[float]) -> int:
    gc.collect()
    tracemalloc.start()
    structure = _build(kind, dues)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del structure
    return size


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us"


def main(argv: list[str]) -> None:
    options = {"entries": 100_000, "ticks": 7200, "scan_ticks": 300, "rounds": 5}
    for arg in argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key in options:
            options[key] = int(value)
    if "--quick" in argv:
        options.update(ticks=3700, scan_ticks=60, rounds=3)
    n = options["entries"]
    rng = random.Random(5)
    dues = [T0 + rng.random() * WEEK for _ in range(n)]
    print(
        f"{n:,} keys due at random over one week; a tick = advance + re-schedule what fired (+1 week) + next_due",
        flush=True,
    )

    results = {}
    for kind in KINDS:
        started = time.process_time()
        structure = _build(kind, dues)
        built = time.process_time() - started
        ticks = options["scan_ticks"] if kind == "scan" else options["ticks"]
        steady, fired = _steady(structure, ticks)
        burst, burst_fired = _burst(kind, dues, options["rounds"])
        results[kind] = dict(
            built=built, steady=steady, fired=fired, burst=burst, burst_fired=burst_fired, memory=_memory(kind, dues)
        )

    # Same answers: over the ticks all three ran, and at every burst.
    common = options["scan_ticks"]
    window = {kind: [kd for kd in r["fired"] if kd[1] <= T0 + common] for kind, r in results.items()}
    assert window["wheel"] == window["heapq"] == window["scan"], "the structures disagree on what is due"
    assert results["wheel"]["fired"] == results["heapq"]["fired"], "wheel and heap disagree on what is due"
    assert results["wheel"]["burst_fired"] == results["heapq"]["burst_fired"] == results["scan"]["burst_fired"]
    print(
        f"same keys handed out by all three ({len(window['wheel'])} in the first {common} ticks, "
        f"{len(results['wheel']['fired'])} in {options['ticks']} wheel/heap ticks, "
        f"{options['rounds']} bursts of {max(1, n // 100):,})"
    )

    print(
        f"{'':7} {'build':>9} {'steady tick mean':>18} {'p99':>12} {'max':>12} {'ticks/s':>10} "
        f"{'burst tick (1%)':>16} {'memory':>9}"
    )
    for kind, r in results.items():
        steady = r["steady"]
        mean = statistics.fmean(steady)
        p99 = sorted(steady)[int(0.99 * (len(steady) - 1))]
        print(
            f"{kind:7} {r['built']:8.2f}s {_us(mean):>18} {_us(p99):>12} {_us(max(steady)):>12} "
            f"{1 / mean:10,.0f} {_us(statistics.median(r['burst'])):>16} {r['memory'] / 2**20:7.1f}MB"
        )
    wheel_mean = statistics.fmean(results["wheel"]["steady"])
    wheel_burst = statistics.median(results["wheel"]["burst"])
    for kind in ("scan", "heapq"):
        print(
            f"{kind} / wheel: steady tick {statistics.fmean(results[kind]['steady']) / wheel_mean:7.1f}x, "
            f"burst tick {statistics.median(results[kind]['burst']) / wheel_burst:5.1f}x"
        )
