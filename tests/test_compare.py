"""``refsim compare``: safety and speed side by side (refsim/compare.py, refsim/cli/compare.py)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from claims_table import FILES, Basis, File, expected_status, write
from claims_table import run as run_refsim
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden

import refsim.compare as compare_module
from refsim.compare import TimedRun, Way, compare, timed_rows, timed_ways
from refsim.explore import reachable
from refsim.loader import load_file
from refsim.model import AnomalyKind, Runtime

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"


pytestmark = pytest.mark.usefixtures("repo_root")


def test_cpu_bound_work_scales_without_the_gil_and_in_processes() -> None:
    rows = {row.label: row for row in compare(load_file(SCENARIOS / "cpu_bound.yaml"))}
    expected = ["gil", "unsafe", "atomic", "free-threaded", "pypy", "jython"]
    assert [*expected, "gil, a process per thread"] == list(rows)
    assert 1.0 == pytest.approx(rows["gil"].speedup, abs=0.01)
    assert 2.0 == rows["unsafe"].speedup == rows["atomic"].speedup
    assert 1.9 < rows["gil, a process per thread"].speedup < 2.0
    assert 0.5 == pytest.approx(rows["gil"].utilisation, abs=0.01)
    assert all(row.exhaustive and row.anomalies == () for row in rows.values())


def test_anomalies_are_explored_per_runtime_and_processes_share_nothing() -> None:
    rows = compare(load_file(SCENARIOS / "leak.yaml"))
    expected = [
        ("gil", ()),
        ("unsafe", (AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE)),
        ("atomic", ()),
        ("free-threaded", ()),
        ("pypy", ()),
        ("jython", ()),
        ("gil, a process per thread", ()),
    ]
    assert expected == [(row.label, row.anomalies) for row in rows]
    # Seed 0's unsafe run itself leaks, so it skips the DEALLOC the sequential run does.
    leaked = (AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE)
    assert ((), leaked, (), (), (), (), ()) == tuple(row.went_wrong for row in rows)
    # Sequential under gil: two decrefs (a 1 ns LOAD each; SUB and STORE cost nothing)
    # and one 50 ns DEALLOC; under atomic the two 7 ns RMWs overlap, then the DEALLOC.
    assert (52, 57) == (rows[0].sequential_ns, rows[2].makespan_ns)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_anomalies_possible_are_what_check_finds(path: Path) -> None:
    scenario = load_file(path)
    for row in compare(scenario):
        if row.processes != "one":
            continue
        found: set[AnomalyKind] = set()
        for sub in scenario.per_process():
            found |= reachable(sub, runtime=row.runtime).kinds
        assert (row.label, sorted(found, key=str), True) == (
            row.label,
            list(row.anomalies),
            row.exhaustive,
        )


def test_past_the_state_budget_a_sample_stands_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare_module, "MAX_STATES", 5)
    rows = compare(load_file(SCENARIOS / "counter.yaml"))
    # A process per thread: each process is one thread, small enough to explore.
    expected = [(False, (AnomalyKind.LOST_UPDATE,))] * 6 + [(True, ())]
    assert expected == [(row.exhaustive, row.anomalies) for row in rows]


def test_the_files_own_processes_get_a_row() -> None:
    rows = compare(load_file(SCENARIOS / "io_then_transform.yaml"))
    labels = [row.label for row in rows]
    assert "gil, the file's processes" == labels[-1]
    by_label = {row.label: row for row in rows}
    # Transforms in their own processes run side by side; in one process they share a GIL.
    assert by_label["gil, the file's processes"].makespan_ns * 1.8 < by_label["gil"].makespan_ns


def test_the_figure_runs_each_row_as_the_table_times_it() -> None:
    """``compare --plot`` draws the timed run of each row: the same labels, the same
    makespans (the same seed), and each run's processes for its GIL lanes."""
    scenario = load_file(SCENARIOS / "io_then_transform.yaml")
    rows = compare(scenario, seed=3)
    runs = timed_rows(scenario, seed=3)
    assert [(row.label, row.makespan_ns) for row in rows] == [
        (run.label, run.makespan_ns) for run in runs
    ]
    assert all(run.result.trace for run in runs)  # a figure needs the trace
    processes = {run.label: run.processes for run in runs}
    assert ("main",) == processes["gil"]
    assert ("main", "P1", "P2") == processes["gil, the file's processes"]
    expected = tuple(f"P_{name}" for name in ("F1", "F2", "F3", "F4", "X1", "X2"))
    assert expected == processes["gil, a process per thread"]


def test_the_ways_of_plot_runtimes_are_titled_in_compares_words() -> None:
    scenario = load_file(SCENARIOS / "io_then_transform.yaml")
    chosen = (Way(Runtime.GIL, "file"), Way(Runtime.ATOMIC, "threads"),
              Way(Runtime.GIL, "processes"))  # fmt: skip
    runs = timed_ways(scenario, chosen, seed=0, cores=2)
    expected = [
        ("gil, the file's processes", ("main", "P1", "P2")),
        ("atomic, one process", ("main",)),
        ("gil, a process per thread", tuple(f"P_{t}" for t in scenario.thread_names)),
    ]
    assert expected == [(run.label, run.processes) for run in runs]
    assert [2, 2, 2] == [run.result.metrics.cores for run in runs if run.result.metrics]
    # The same way alone, in a file of one process, has no title: the figure needs none.
    leak = load_file(SCENARIOS / "leak.yaml")
    [alone] = timed_ways(leak, [Way(Runtime.GIL, "file")], seed=0)
    two = timed_ways(leak, [Way(Runtime.GIL, "file"), Way(Runtime.ATOMIC, "file")], seed=0)
    assert ("", ["gil", "atomic"]) == (alone.label, [run.label for run in two])
    assert isinstance(alone, TimedRun) and alone.result == two[0].result


@pytest.mark.parametrize("name", ["cpu_bound", "leak"])
def test_compare_golden(
    name: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    argv = ["compare", f"scenarios/{name}.yaml"]
    status, out, err = refsim(capsys, *argv)
    assert (0, "") == (status, err)
    check_golden(request, f"compare_{name}.txt", f"$ refsim {shlex.join(argv)}\n{out}")


def test_compare_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "compare", "cpu_bound", "--json")
    document = json.loads(out)
    assert 0 == status
    assert ("cpu_bound", 2) == (document["scenario"], document["cores"])
    gil = document["rows"][0]
    assert {
        "runs_as": "gil", "runtime": "gil", "processes": "one", "anomalies": [],
        "exhaustive": True, "makespan_ns": 100_095_000, "sequential_ns": 100_000_000,
        "speedup": round(100_000_000 / 100_095_000, 6), "utilisation": 0.499525,
        "agrees": True, "went_wrong": [], "stopped": None,
    } == gil  # fmt: skip


def test_a_claim_that_exploration_refutes_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SCENARIOS / "counter.yaml").read_text().replace("gil: [lost-update]", "gil: []")
    path = tmp_path / "counter.yaml"
    path.write_text(text)
    status, out, _ = refsim(capsys, "compare", str(path))
    expected = "unexpected: the scenario claims no anomaly can happen under gil, but lost-update"
    assert (1, True) == (status, expected in " ".join(out.split()))


def test_a_claimed_kind_no_interleaving_reaches_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """compare explores every interleaving, so it can show a claim wrong both ways, and
    says so in the words every command uses."""
    text = (SCENARIOS / "leak.yaml").read_text().replace("atomic: []", "atomic: [leak]")
    path = tmp_path / "leak.yaml"
    path.write_text(text)
    status, out, _ = refsim(capsys, "compare", str(path))
    expected = (
        "unexpected: the scenario claims leak can happen under atomic, but no interleaving "
        "reaches it."
    )
    assert (1, True) == (status, expected in " ".join(out.split()))


def test_without_claims_the_files_runtime_is_held_to_no_anomaly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # As check, explore and the story read it: no expect: means no anomaly, under the
    # file's own runtime.
    path = tmp_path / "racy.yaml"
    path.write_text("objects: {obj: 1}\nthreads:\n  T1: [incref obj]\n  T2: [incref obj]\n")
    status, out, _ = refsim(capsys, "compare", str(path), "--json")
    rows = {row["runs_as"]: row["agrees"] for row in json.loads(out)["rows"]}
    assert (1, False, True) == (status, rows["unsafe"], rows["gil"])
    path.write_text(path.read_text() + "runtime: gil\n")
    status, out, _ = refsim(capsys, "compare", str(path), "--json")
    assert 0 == status


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.id)
def test_compare_reads_claims_as_the_table_does(file: File, tmp_path: Path) -> None:
    status, _ = run_refsim("compare", write(tmp_path, file))
    assert expected_status(file, None, Basis.FILE) == status
