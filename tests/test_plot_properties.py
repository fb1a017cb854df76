"""What the figures show, held to the run for any small program (Hypothesis): a variable's
intended value, the stretches in which a thread is blocked, and the timed figure's lanes,
each stretch in one state and none lost to a band. Pure values: no drawing."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import scenarios, seeds

from refsim.engine import run
from refsim.model import AnomalyKind, OpKind, Scenario
from refsim.plot.picture import describe_run
from refsim.plot.timeline import describe_timed
from refsim.timed import run_timed


def signed(scenario: Scenario, name: str) -> int:
    """Every update of variable ``name`` the program makes, added up."""
    return sum(
        op.amount if op.kind is OpKind.ADD else -op.amount
        for thread in scenario.threads
        for op in thread.ops
        if op.subject == name and op.kind in (OpKind.ADD, OpKind.SUB)
    )


@given(scenarios(), seeds)
def test_the_intended_value_is_every_update_applied(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    picture = describe_run(result)
    lost = {a.subject for a in result.anomalies if a.kind is AnomalyKind.LOST_UPDATE}
    for series in picture.series:
        if series.is_object:
            assert () == series.intended
            continue
        start = dict(scenario.variables)[series.name]
        assert start == series.intended[0][1] == series.values[0][1]
        if result.finished and not result.anomaly_kinds & {AnomalyKind.DEADLOCK}:
            assert start + signed(scenario, series.name) == series.intended[-1][1]
        if series.name not in lost:
            assert series.values == series.intended  # nothing lost: one line


@given(scenarios(), seeds)
def test_a_blocked_thread_runs_nothing_and_waits_for_a_lock_another_holds(
    scenario: Scenario, seed: int
) -> None:
    result = run(scenario, seed=seed)
    picture = describe_run(result)
    ran = {(b.thread, b.step) for b in picture.boxes}
    for blocked in picture.blocked:
        steps = range(blocked.start, blocked.end + 1)
        assert not any((blocked.thread, k) in ran for k in steps)
        if blocked.on is None or not blocked.on.startswith("lock "):
            # Blocked for good (the end column only), or on something without a lane.
            assert (picture.steps + 1, picture.steps + 1) == (blocked.start, blocked.end)
            continue
        for k in steps:
            holders = [
                h.holder
                for h in picture.holdings
                if h.lane == blocked.on and h.start < k and (h.to_end or k <= h.end)
            ]
            assert holders and blocked.thread not in holders, (blocked, k)


@settings(max_examples=60)
@given(scenarios(), seeds, st.integers(1, 10**6))
def test_every_timed_lane_is_in_one_state_at_a_time_and_bands_lose_nothing(
    scenario: Scenario, seed: int, pixel_ns: int
) -> None:
    result = run_timed(scenario, seed=seed)
    whole = describe_timed(result)
    for lane in whole.lanes:
        mine = sorted((i.start, i.end) for i in whole.intervals if i.lane == lane)
        assert all(e1 == s2 for (_, e1), (s2, _) in pairwise(mine)), lane
    banded = describe_timed(result, pixel_ns=pixel_ns)
    for band in banded.bands:
        assert abs(1 - sum(share for _, share in band.shares)) < 1e-9
    for i in whole.intervals:
        alone = i in banded.intervals
        inside = any(
            b.lane == i.lane and b.start <= i.start and i.end <= b.end for b in banded.bands
        )
        assert alone != inside, i
