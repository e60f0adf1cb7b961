"""ingestion.scheduler.wheel: unit tests and hypothesis state machines against a dict model."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ingestion.scheduler.wheel import TimingWheel

HOUR, DAY, WEEK = 3600.0, 86400.0, 7 * 86400.0
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, a Thursday: epoch weeks start then


class CountingWheel(TimingWheel):
    """Counts entries placed, i.e. scheduled or cascaded (the work advance does besides handing out)."""

    placed = 0

    def _place(self, key, due):
        self.placed += 1
        super()._place(key, due)


def test_schedule_cancel_len_contains():
    wheel = TimingWheel(now=T0)
    assert len(wheel) == 0 and wheel.next_due() is None
    wheel.schedule("a", T0 + 10)
    wheel.schedule("b", T0 + 5)
    assert len(wheel) == 2 and "a" in wheel and "c" not in wheel
    assert wheel.next_due() == T0 + 5
    assert wheel.cancel("b") is True
    assert wheel.cancel("b") is False
    assert wheel.cancel("never") is False
    assert "b" not in wheel and wheel.next_due() == T0 + 10


def test_reschedule_replaces_the_previous_entry():
    wheel = TimingWheel(now=T0)
    wheel.schedule(7, T0 + 5)
    wheel.schedule(7, T0 + 2 * DAY)
    assert len(wheel) == 1 and wheel.next_due() == T0 + 2 * DAY
    assert wheel.advance(T0 + DAY) == []
    assert wheel.advance(T0 + 2 * DAY) == [(7, T0 + 2 * DAY)]
    wheel.schedule(7, T0 + 3 * DAY)
    wheel.schedule(7, T0 + 3 * DAY - 1)  # earlier than the cached minimum
    assert wheel.next_due() == T0 + 3 * DAY - 1
    assert wheel.advance(T0 + 4 * DAY) == [(7, T0 + 3 * DAY - 1)]


def test_nothing_early_inside_a_tick():
    wheel = TimingWheel(now=T0 + 100.2)
    wheel.schedule("x", T0 + 100.7)
    assert wheel.advance(T0 + 100.5) == []
    assert wheel.advance(T0 + 100.69) == []
    assert wheel.advance(T0 + 100.7) == [("x", T0 + 100.7)]
    assert wheel.advance(T0 + 100.8) == []


def test_past_entries_are_due_at_the_next_advance():
    wheel = TimingWheel(now=T0 + 50)
    wheel.schedule("late", T0 - WEEK)
    wheel.schedule("just", T0 + 49.5)
    assert wheel.next_due() == T0 - WEEK
    assert wheel.advance(T0 + 50) == [("late", T0 - WEEK), ("just", T0 + 49.5)]
    assert len(wheel) == 0 and wheel.next_due() is None


def test_a_clock_that_steps_back_hands_out_nothing_early():
    wheel = TimingWheel(now=T0 + 10)
    wheel.schedule("a", T0 + 10.5)
    wheel.schedule("b", T0 + 8)
    assert wheel.advance(T0 + 7) == []
    assert wheel.advance(T0 + 9) == [("b", T0 + 8)]
    assert wheel.advance(T0 + 10.5) == [("a", T0 + 10.5)]


def test_entries_cascade_through_hour_week_and_overflow_in_due_order():
    wheel = TimingWheel(now=T0)
    dues = {
        "sec": T0 + 30,
        "hour": T0 + 5 * HOUR + 1,
        "day": T0 + 3 * DAY + 17.25,
        "weeks": T0 + 3 * WEEK + 2,
        "year": T0 + 366 * DAY,
        "century": T0 + 100 * 365 * DAY,
    }
    for key, due in dues.items():
        wheel.schedule(key, due)
    handed = []
    for checkpoint in sorted(dues.values()):
        assert wheel.advance(checkpoint - 0.001) == []
        assert wheel.next_due() == checkpoint
        handed += wheel.advance(checkpoint)
    assert handed == sorted(dues.items(), key=lambda kv: kv[1])
    assert len(wheel) == 0


def test_one_jump_over_everything_returns_all_in_order():
    wheel = TimingWheel(now=T0)
    dues = [T0 + i * 7919.3 % (40 * DAY) for i in range(2000)]
    for i, due in enumerate(dues):
        wheel.schedule(i, due)
    out = wheel.advance(T0 + 41 * DAY)
    assert [d for _, d in out] == sorted(dues)
    assert sorted(k for k, _ in out) == list(range(2000))


def test_a_tick_touches_only_what_is_due():
    wheel = CountingWheel(now=T0)
    for i in range(20_000):  # spread over the week after the current hour
        wheel.schedule(i, T0 + HOUR + i * 30.0)
    wheel.schedule("soon", T0 + 3)
    wheel.placed = 0
    out = []
    for step in range(1, 600):
        out += wheel.advance(T0 + step)
    assert out == [("soon", T0 + 3)]
    assert wheel.placed == 0  # no entry was moved, let alone the 20,000
    # Entering the next hour cascades that hour's 120 entries, and only those.
    out = wheel.advance(T0 + HOUR)
    assert out == [(0, T0 + HOUR)]
    assert wheel.placed == 119


def test_rejects_a_wheel_without_slots():
    with pytest.raises(ValueError, match="tick must be > 0"):
        TimingWheel(now=T0, tick=0)
    with pytest.raises(ValueError, match="needs >= 1 slot"):
        TimingWheel(now=T0, slots=())


# --- properties ----------------------------------------------------------------------

# Offsets from the clock at which entries are scheduled: the past, within the tick, the
# current hour, the week, beyond the week (overflow), far future.
offsets = st.one_of(
    st.floats(-2 * DAY, 0, allow_nan=False),
    st.floats(0, 3, allow_nan=False),
    st.floats(0, 2 * HOUR, allow_nan=False),
    st.floats(0, 2 * WEEK, allow_nan=False),
    st.floats(0, 400 * DAY, allow_nan=False),
    st.integers(0, 20 * WEEK).map(float),  # exact slot boundaries
    st.sampled_from([0.0, 1.0, HOUR, DAY, WEEK, 2 * WEEK - 1]),
)
# Clock moves: none, sub-tick, ticks, hours, days, weeks, years; and small steps back.
jumps = st.one_of(
    st.just(0.0),
    st.floats(0, 1, allow_nan=False),
    st.integers(1, 5).map(float),
    st.floats(0, 3 * HOUR, allow_nan=False),
    st.floats(0, 10 * DAY, allow_nan=False),
    st.floats(0, 3 * WEEK, allow_nan=False),
    st.floats(0, 500 * DAY, allow_nan=False),
    st.floats(-2, 0, allow_nan=False),
)
keys = st.integers(0, 30)


class WheelMachine(RuleBasedStateMachine):
    """Any sequence of schedule/cancel/advance matches a dict of key -> due."""

    slots = None  # default wheel sizes
    tick = 1.0

    @initialize(start=st.floats(T0 - WEEK, T0 + WEEK, allow_nan=False))
    def start(self, start):
        self.now = start
        kwargs = {"slots": self.slots} if self.slots else {}
        self.wheel = TimingWheel(now=start, tick=self.tick, **kwargs)
        self.model: dict[int, float] = {}

    @rule(key=keys, offset=offsets)
    def schedule(self, key, offset):
        self.wheel.schedule(key, self.now + offset)
        self.model[key] = self.now + offset

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def reschedule_existing(self, data):
        key = data.draw(st.sampled_from(sorted(self.model)))
        self.schedule(key, data.draw(offsets))

    @rule(key=keys)
    def cancel(self, key):
        assert self.wheel.cancel(key) == (key in self.model)
        self.model.pop(key, None)

    @rule(jump=jumps)
    def advance(self, jump):
        self.now += jump
        got = self.wheel.advance(self.now)
        expected = sorted(((k, d) for k, d in self.model.items() if d <= self.now), key=lambda kd: (kd[1], kd[0]))
        assert [d for _, d in got] == sorted(d for _, d in got), "not in due order"
        assert sorted(got, key=lambda kd: (kd[1], kd[0])) == expected
        for key, _ in got:
            del self.model[key]

    @invariant()
    def same_contents(self):
        if not hasattr(self, "wheel"):
            return
        assert len(self.wheel) == len(self.model)
        assert all(k in self.wheel for k in self.model)
        assert self.wheel.next_due() == (min(self.model.values()) if self.model else None)


class TinyWheelMachine(WheelMachine):
    """4 x 3 slots of 0.5 s: cascades and the overflow on nearly every step."""

    slots = (4, 3)
    tick = 0.5


class CoarseTickMachine(WheelMachine):
    """A 10-second tick: several fractional due times share a slot."""

    tick = 10.0


TestWheelMachine = WheelMachine.TestCase
TestTinyWheelMachine = TinyWheelMachine.TestCase
TestCoarseTickMachine = CoarseTickMachine.TestCase
for _case in (TestWheelMachine, TestTinyWheelMachine, TestCoarseTickMachine):
    _case.settings = settings(max_examples=80, stateful_step_count=50, deadline=None)
del _case
