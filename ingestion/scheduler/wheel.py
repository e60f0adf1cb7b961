"""Hierarchical timing wheel of DAG fire times (pure Python, no Django).

Levels, in ticks (default tick = 1 s): a second wheel of 3600 one-tick slots (the
current hour), an hour wheel of 168 one-hour slots (the rest of the current week) and
an overflow of one-week slots for anything later. A level only holds slots inside the
cursor's slot one level up, so slots are ordered level by level: everything in the
second wheel comes before everything in the hour wheel, which comes before the overflow.
When the cursor enters a coarser slot, that slot's entries cascade down a level.

Trade-off (as in Netty's HashedWheelTimer and Kafka's TimingWheel): a longer tick or
more slots per level make each wheel span more time, so fewer entries ever cascade,
but a slot then holds more entries to check; fewer levels mean a bigger overflow. Unlike
Netty, precision does not depend on the tick: the slot the cursor stands in is checked
entry by entry against the exact due time, so nothing fires early, and the caller can
sleep until next_due() rather than to the next tick boundary.

Cost: advance() touches the slots between the old and the new cursor that hold entries
(or, after a long jump, the occupied slots of each level) and the entries due or
cascaded, never the whole wheel. next_due() is a cached minimum, recomputed after the
minimum left by looking at the lowest non-empty level only.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from operator import itemgetter

DEFAULT_SLOTS = (3600, 168)  # one-tick slots per hour, one-hour slots per week


class TimingWheel:
    """Keys with due times (epoch seconds); advance(now) hands out those due, in order.

    `slots` sizes the wheels below the overflow (tests use tiny wheels to cascade a lot).
    Not thread-safe: one scheduler loop owns its wheel and is the only caller.
    """

    def __init__(self, *, now: float, tick: float = 1.0, slots: tuple[int, ...] = DEFAULT_SLOTS):
        if tick <= 0 or not slots or min(slots) < 1:
            raise ValueError(f"tick must be > 0 and every wheel needs >= 1 slot (tick={tick}, slots={slots})")
        self.tick = tick
        # _spans[level]: ticks per slot of that level; the last level is the overflow.
        self._spans = [1]
        for n in slots:
            self._spans.append(self._spans[-1] * n)
        self._levels: list[dict[int, dict[Hashable, float]]] = [{} for _ in self._spans]
        self._where: dict[Hashable, tuple[int, int]] = {}  # key -> (level, slot)
        self._cursor = self._tick_of(now)  # every slot before the cursor's has been handed out
        self._min: float | None = None
        self._min_stale = False

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __repr__(self) -> str:
        sizes = "/".join(str(sum(map(len, level.values()))) for level in self._levels)
        return f"<TimingWheel {len(self)} entries (per level {sizes}), tick {self.tick}s>"

    def schedule(self, key: Hashable, due: float) -> None:
        """Put `key` at `due`, replacing its previous entry. A due time in the past fires at the next advance."""
        if key in self._where:
            self._remove(key)
        self._place(key, due)
        if not self._min_stale and (self._min is None or due < self._min):
            self._min = due

    def due_of(self, key: Hashable) -> float | None:
        """The due time `key` is held at, or None when the wheel does not hold it."""
        where = self._where.get(key)
        return None if where is None else self._levels[where[0]][where[1]][key]

    def cancel(self, key: Hashable) -> bool:
        if key not in self._where:
            return False
        self._remove(key)
        return True

    def advance(self, now: float) -> list[tuple[Hashable, float]]:
        """Remove and return every (key, due) with due <= now, ordered by due."""
        old, target = self._cursor, max(self._tick_of(now), self._cursor)
        taken: list[tuple[Hashable, float]] = []
        for level, span in enumerate(self._spans):
            low, high = old // span, target // span
            if level and low == high:
                break  # no wheel above the second wheel holds the cursor's own slot; coarser ones moved even less
            slots = self._levels[level]
            # Every occupied slot of a level is >= the old cursor's slot there: walk the
            # range when it is short (the usual one-tick step), else filter what is occupied.
            if high - low < len(slots):
                passed = [s for s in range(low, high + 1) if s in slots]
            else:
                passed = [s for s in slots if s <= high]
            for slot in passed:
                taken.extend(slots.pop(slot).items())
        self._cursor = target
        due = []
        for key, at in taken:
            if at <= now:
                del self._where[key]
                due.append((key, at))
            else:
                self._place(key, at)  # cascades into a finer level (or stays in the cursor's slot)
        if due:
            self._min_stale = True
            due.sort(key=itemgetter(1))
        return due

    def next_due(self) -> float | None:
        """The earliest pending due time, or None when the wheel is empty."""
        if self._min_stale:
            # Slots are ordered level by level, so the minimum is in the first slot of
            # the lowest non-empty level: near the cursor when the wheel is busy.
            self._min = None
            for level, slots in enumerate(self._levels):
                if slots:
                    start = self._cursor // self._spans[level]
                    first = next((s for s in range(start, start + 64) if s in slots), None)
                    self._min = min(slots[min(slots) if first is None else first].values())
                    break
            self._min_stale = False
        return self._min

    # --- internals -------------------------------------------------------------------
    def _tick_of(self, t: float) -> int:
        return math.floor(t / self.tick)

    def _place(self, key: Hashable, due: float) -> None:
        # A past due time goes into the cursor's slot, which every advance checks.
        t = max(self._tick_of(due), self._cursor)
        spans, level, top = self._spans, 0, len(self._spans) - 1
        while level < top and t // spans[level + 1] != self._cursor // spans[level + 1]:
            level += 1  # not inside the cursor's slot one level up: a coarser wheel
        slot = t // spans[level]
        self._levels[level].setdefault(slot, {})[key] = due
        self._where[key] = (level, slot)

    def _remove(self, key: Hashable) -> None:
        level, slot = self._where.pop(key)
        bucket = self._levels[level][slot]
        due = bucket.pop(key)
        if not bucket:
            del self._levels[level][slot]
        if due == self._min:
            self._min_stale = True
