"""The Chrome trace export (refsim.chrome_trace, ``run --trace-out``, ``plot -o x.json``):
the Trace Event Format's rules, the content of a hand-checked run, determinism, and the
command line's refusal to overwrite a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import refsim
from hypothesis import given
from hypothesis import strategies as st
from strategies import scenarios

from refsim.bundled import bundled_scenarios
from refsim.chrome_trace import TIME_SCALE, chrome_trace, dumps
from refsim.engine import run
from refsim.loader import load_file
from refsim.machine import Machine
from refsim.model import Runtime, Scenario, Schedule

ROOT = Path(__file__).parent.parent
LEAK = load_file(ROOT / "scenarios" / "leak.yaml")
PHASES = {"X", "M", "C", "i"}


def check_format(document: dict[str, Any]) -> None:
    """The Trace Event Format's rules, as Perfetto and chrome://tracing read them."""
    assert {"traceEvents", "displayTimeUnit", "otherData"} == set(document)
    assert document["displayTimeUnit"] in ("ms", "ns")
    events = document["traceEvents"]
    names: dict[tuple[int, int], str] = {}
    last: dict[tuple[Any, ...], float] = {}
    for ev in events:
        for field in ("name", "ph", "ts", "pid", "tid"):
            assert field in ev, (field, ev)
        assert ev["ph"] in PHASES, ev
        assert isinstance(ev["ts"], int | float) and ev["ts"] >= 0, ev
        if ev["ph"] == "M":
            if ev["name"] == "thread_name":
                key = (ev["pid"], ev["tid"])
                assert key not in names, f"two names for {key}"
                names[key] = ev["args"]["name"]
            continue
        if ev["ph"] == "X":
            assert isinstance(ev["dur"], int | float) and ev["dur"] >= 0, ev
        if ev["ph"] == "i":
            assert ev["s"] in ("g", "p", "t"), ev
        if ev["ph"] == "C":
            assert all(isinstance(v, int | float) for v in ev["args"].values()), ev
            track: tuple[Any, ...] = ("counter", ev["pid"], ev["name"])
        else:
            # Every thread-scoped event is on a named track.
            assert (ev["pid"], ev["tid"]) in names, f"no thread_name for {ev}"
            track = ("thread", ev["pid"], ev["tid"])
        assert last.get(track, 0) <= ev["ts"], f"ts goes back on {track}: {ev}"
        last[track] = ev["ts"]
    assert len(set(names.values())) == len(names), "track names are unique"


def leak_trace() -> dict[str, Any]:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    return chrome_trace(result, threads=LEAK.thread_names)


def of(document: dict[str, Any], ph: str, cat: str | None = None) -> list[dict[str, Any]]:
    return [
        ev
        for ev in document["traceEvents"]
        if ev["ph"] == ph and (cat is None or ev.get("cat") == cat)
    ]


def test_the_leak_follows_the_format() -> None:
    check_format(leak_trace())


def test_one_named_track_per_thread() -> None:
    document = leak_trace()
    threads = {
        ev["tid"]: ev["args"]["name"] for ev in of(document, "M") if ev["name"] == "thread_name"
    }
    assert {1: "T1", 2: "T2"} == threads
    process = [ev["args"]["name"] for ev in of(document, "M") if ev["name"] == "process_name"]
    assert ["refsim leak (unsafe)"] == process


def test_micro_steps_are_complete_events_one_microsecond_each() -> None:
    steps = of(leak_trace(), "X", "micro-step")
    expected = [
        (0, 1, 1, "LOAD 2"),
        (1, 1, 2, "LOAD 2"),
        (2, 1, 2, "SUB → 1"),
        (3, 1, 2, "STORE 1"),
        (4, 1, 1, "SUB → 1"),
        (5, 1, 1, "STORE 1"),
    ]
    assert expected == [(ev["ts"], ev["dur"], ev["tid"], ev["name"]) for ev in steps]
    first = steps[0]["args"]
    assert {"step": 1, "op": "decref obj", "micro": "LOAD", "subject": "obj", "register": 2,
            "value": 2, "true_refs": 2, "bytecode_start": True} == first  # fmt: skip


def test_ops_span_their_micro_steps_so_racing_ops_overlap() -> None:
    ops = of(leak_trace(), "X", "op")
    # T1's decref runs from step 1 to step 6, T2's from 2 to 4: inside it.
    assert [(0, 6, 1, "decref obj"), (1, 3, 2, "decref obj")] == [
        (ev["ts"], ev["dur"], ev["tid"], ev["name"]) for ev in ops
    ]


def test_refcount_and_true_refs_are_separate_counters() -> None:
    counters = of(leak_trace(), "C")
    series = [(ev["name"], ev["ts"], ev["args"]["value"]) for ev in counters]
    expected = [
        ("obj refcount", 0, 2),
        ("obj true refs", 0, 2),
        ("obj refcount", 4, 1),
        ("obj true refs", 4, 1),
        ("obj true refs", 6, 0),
    ]
    assert expected == series


def test_anomalies_and_preemptions_are_instant_events() -> None:
    instants = of(leak_trace(), "i")
    summary = [(ev["name"], ev["ts"], ev["s"], ev["tid"]) for ev in instants]
    # At the end of their step (step n ends at n µs); in time order, then by name.
    assert [("preemption", 1, "t", 1), ("leak", 6, "g", 1), ("lost-update", 6, "t", 1)] == summary
    leak = next(ev for ev in instants if ev["name"] == "leak")
    assert leak["args"]["message"].startswith("obj is never freed")


def test_other_data_says_what_ran_and_the_time_scale() -> None:
    other = leak_trace()["otherData"]
    assert ("leak", "unsafe", "T1 T2*3 T1*2", 6, 1, TIME_SCALE) == (
        other["scenario"],
        other["runtime"],
        other["schedule"],
        other["steps"],
        other["preemptions"],
        other["time_scale"],
    )
    assert {"obj": 1} == other["final"]


def test_gil_and_lock_tracks_show_who_holds_them() -> None:
    scenario = load_file(ROOT / "scenarios" / "counter_locked.yaml")
    result = run(scenario, schedule=Schedule.parse("T1*5 T2*5"))
    document = chrome_trace(result, threads=scenario.thread_names)
    check_format(document)
    names = {
        ev["tid"]: ev["args"]["name"] for ev in of(document, "M") if ev["name"] == "thread_name"
    }
    assert {1: "T1", 2: "T2", 3: "GIL", 4: "lock L"} == names
    holders = [(ev["tid"], ev["name"], ev["ts"], ev["dur"]) for ev in of(document, "X", "holder")]
    assert [(3, "T1", 0, 5), (4, "T1", 0, 5), (3, "T2", 5, 5), (4, "T2", 5, 5)] == holders


def test_dumps_is_valid_deterministic_json() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    text = dumps(result, threads=LEAK.thread_names)
    assert text == dumps(run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2")), threads=("T1", "T2"))
    assert json.loads(text) == chrome_trace(result, threads=LEAK.thread_names)
    assert text.endswith("]}\n")


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_bundled_scenario_exports_a_valid_trace(path: Path) -> None:
    scenario = load_file(path)
    result = run(scenario, seed=1, max_steps=300)
    check_format(json.loads(dumps(result, threads=scenario.thread_names)))


@given(scenarios(), st.integers(0, 2**16))
def test_any_run_exports_a_valid_trace(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    document = chrome_trace(result, threads=scenario.thread_names)
    check_format(document)
    assert result.steps == len(of(document, "X", "micro-step"))


@given(scenarios(), st.integers(0, 2**16))
def test_the_engine_records_where_each_preemption_happened(scenario: Scenario, seed: int) -> None:
    """``RunResult.preempted`` against the definition, recomputed with the machine: a
    step preempts when the thread that ran the step before was still enabled."""
    result = run(scenario, seed=seed)
    machine = Machine(scenario)
    state = machine.initial()
    names = scenario.thread_names
    expected = []
    last = -1
    for step, name in enumerate(result.schedule, start=1):
        t = names.index(name)
        if last >= 0 and t != last and last in machine.enabled(state):
            expected.append(step)
        state, _, _ = machine.step(state, t)
        last = t
    assert (tuple(expected), len(expected)) == (result.preempted, result.preemptions)


def test_a_run_without_its_trace_cannot_be_exported() -> None:
    result = run(LEAK, keep_trace=False)
    with pytest.raises(ValueError, match="kept no trace"):
        chrome_trace(result)


# -- the command line ---------------------------------------------------------------------------


def test_run_trace_out_writes_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    status, stdout, err = refsim(
        capsys, "run", str(ROOT / "scenarios/leak.yaml"), "--schedule", "T1 T2*3 T1*2",
        "--trace-out", str(out), "--json",
    )  # fmt: skip
    assert 0 == status
    json.loads(stdout)  # stdout is still one JSON document
    assert f"wrote {out}: open it in ui.perfetto.dev or chrome://tracing\n" == err
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert dumps(result, threads=LEAK.thread_names) == out.read_text(encoding="utf-8")


def test_run_trace_out_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    out.write_text("my notes", encoding="utf-8")
    argv = ("run", str(ROOT / "scenarios/leak.yaml"), "--trace-out", str(out))
    status, stdout, err = refsim(capsys, *argv)
    assert (2, "") == (status, stdout)
    assert f"error: --trace-out {out}: the file exists; pass --force to overwrite it\n" == err
    assert "my notes" == out.read_text(encoding="utf-8")
    status, _, _ = refsim(capsys, *argv, "--force")
    assert 0 == status
    check_format(json.loads(out.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--no-trace"], "--trace-out exports the trace of a controlled run: drop --no-trace"),
        (["--timed"], "--trace-out exports the trace of a controlled run: drop --timed"),
    ],
)
def test_run_trace_out_needs_a_controlled_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "run.json"
    status, _, err = refsim(capsys, "run", str(ROOT / "scenarios/leak.yaml"), "--trace-out",
                            str(out), *extra)  # fmt: skip
    assert (2, f"error: {message}\n") == (status, err)
    assert not out.exists()


def test_run_trace_out_into_a_missing_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nowhere" / "run.json"
    status, _, err = refsim(capsys, "run", "leak", "--trace-out", str(out))
    assert 2 == status
    assert f"the folder '{out.parent}' does not exist" in err


def test_plot_to_json_writes_the_chrome_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.json"
    status, stdout, err = refsim(
        capsys, "plot", "leak", "--schedule", "T1 T2*3 T1*2", "-o", str(out)
    )
    assert (0, "") == (status, err)
    assert stdout == (
        f"wrote {out}: the Chrome trace of leak under unsafe, schedule T1 T2*3 T1*2 (6 steps, "
        "1 preemption; anomalies: leak, lost-update); open it in ui.perfetto.dev or "
        "chrome://tracing\n"
    )
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert dumps(result, threads=LEAK.thread_names) == out.read_text(encoding="utf-8")


def test_the_gil_runtime_changes_the_tracks() -> None:
    result = run(LEAK, runtime=Runtime.GIL, schedule=Schedule.parse("T1*3 T2*4"))
    document = chrome_trace(result, threads=LEAK.thread_names)
    check_format(document)
    assert [] == of(document, "i")  # no anomaly, no preemption
    assert 2 == len(of(document, "X", "holder"))
