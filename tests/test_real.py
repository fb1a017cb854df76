"""``refsim real``: the real-machine experiments (refsim/real/, refsim/cli/real.py).

Every experiment runs here with tiny sizes: the tests hold its JSON shape, refsim's side
of each row (exact: it comes from the explorer and the timed model) and the logic of its
sentences (on made-up rows), never a measured figure, except what physics guarantees:
atomic increments lose nothing.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden
from hypothesis import given
from hypothesis import strategies as st

from refsim.model import Runtime
from refsim.real import counter, gil, hardware, shim
from refsim.real.prediction import lost_share, lost_text, refcount_lost_share
from refsim.real.values import Interpreter, Report, Row, Spread, percent

ROOT = Path(__file__).parent.parent

ROW_KEYS = {
    "name", "label", "measured", "low", "high", "runs", "unit", "of", "model", "model_unit",
    "model_text", "note",
}  # fmt: skip
INTERPRETER_KEYS = {
    "implementation", "version", "free_threaded", "gil_enabled", "switch_interval",
    "platform", "machine", "cores", "load",
}  # fmt: skip


def interpreter(*, gil: bool = True) -> Interpreter:
    return Interpreter(
        implementation="CPython", version="3.14.0", free_threaded=not gil, gil_enabled=gil,
        switch_interval=0.005, platform="linux", machine="x86_64", cores=2, load=0.5,
    )  # fmt: skip


def lost_row(name: str, runs: tuple[float, ...], share: Fraction, of: int = 1000) -> Row:
    return Row(name, name, Spread(runs), "lost", float(share), lost_text(share), of=of)


def check_shape(document: dict[str, object], experiment: str) -> None:
    assert {"experiment", "interpreter", "settings", "rows", "findings", "contradictions"} == set(
        document
    )
    assert experiment == document["experiment"]
    assert isinstance(document["interpreter"], dict)
    assert INTERPRETER_KEYS == set(document["interpreter"])
    rows = document["rows"]
    assert isinstance(rows, list) and rows
    for row in rows:
        assert ROW_KEYS == set(row)
    assert isinstance(document["findings"], list) and document["findings"]


# -- values -------------------------------------------------------------------------------------


def test_percent_keeps_what_is_not_exactly_zero_or_all_off_the_ends() -> None:
    assert "0%" == percent(0)
    assert "100%" == percent(1)
    assert "90%" == percent(Fraction(9, 10))
    assert "99.99%" == percent(Fraction(369576, 369600))
    assert "0.3%" == percent(Fraction(3, 1000))


@given(st.fractions(min_value=0, max_value=1, max_denominator=10**9))
def test_percent_says_zero_or_a_hundred_only_when_it_is(share: Fraction) -> None:
    text = percent(share)
    assert (text == "0%") == (share == 0)
    assert (text == "100%") == (share == 1)


@given(st.lists(st.floats(0, 1e9), min_size=1, max_size=9))
def test_a_spread_has_its_median_inside_its_range(runs: list[float]) -> None:
    spread = Spread(tuple(runs))
    assert spread.low <= spread.median <= spread.high
    assert (min(runs), max(runs)) == (spread.low, spread.high)


def test_a_row_in_json() -> None:
    row = lost_row("plain lost", (0.0, 3.0, 1.5), Fraction(9, 10), of=40)
    assert {
        "name": "plain lost", "label": "plain lost", "measured": 1.5, "low": 0, "high": 3,
        "runs": [0, 3, 1.5], "unit": "lost", "of": 40, "model": 0.9,
        "model_unit": "share of interleavings",
        "model_text": "lost updates possible: yes, in 90% of interleavings", "note": "",
    } == row.json()  # fmt: skip


# -- refsim's side: exact ---------------------------------------------------------------------


def test_the_model_counts_the_counter_race_exactly() -> None:
    assert Fraction(18, 20) == lost_share(2, Runtime.GIL)
    assert Fraction(369576, 369600) == lost_share(4, Runtime.GIL)
    assert 0 == lost_share(1, Runtime.GIL)
    assert 0 == lost_share(4, Runtime.GIL, locked=True)
    assert "lost updates possible: no" == lost_text(Fraction(0))


def test_the_model_counts_the_refcount_race_exactly() -> None:
    assert Fraction(18, 20) == refcount_lost_share(Runtime.UNSAFE)
    assert 0 == refcount_lost_share(Runtime.ATOMIC)


# -- counter ----------------------------------------------------------------------------------

TINY_COUNTER = counter.CounterSettings(threads=2, increments=2_000, repeat=2)


def test_counter_runs_and_reports_each_form() -> None:
    ticks: list[str] = []
    report = counter.run(TINY_COUNTER, progress=ticks.append)
    assert counter.steps(TINY_COUNTER) == len(ticks)
    document = report.json()
    check_shape(document, "counter")
    assert ["plain lost", "call lost", "locked lost"] == [r["name"] for r in document["rows"]]
    assert [0.9, 0.9, 0] == [r["model"] for r in document["rows"]]
    assert all(r["of"] == 4_000 and len(r["runs"]) == 2 for r in document["rows"])
    assert {"threads": 2, "increments": 2_000, "repeat": 2} == {
        k: document["settings"][k] for k in ("threads", "increments", "repeat")
    }
    assert 0 == report.row("locked lost").measured.high  # type: ignore[union-attr]
    assert () == report.contradictions


def test_counter_restores_the_switch_interval() -> None:
    before = sys.getswitchinterval()
    settings = counter.CounterSettings(threads=2, increments=100, repeat=1, switch_interval=1e-4)
    report = counter.run(settings)
    assert 1e-4 == report.interpreter.switch_interval
    assert before == sys.getswitchinterval()


def counter_rows(plain: float, call: float, locked: float) -> tuple[Row, ...]:
    share = Fraction(18, 20)
    return (
        lost_row("plain lost", (plain,), share),
        lost_row("call lost", (call,), share),
        lost_row("locked lost", (locked,), Fraction(0)),
    )


def findings(gil: bool, plain: float, call: float, locked: float = 0) -> tuple[str, str]:
    found, against = counter._findings(
        interpreter(gil=gil), TINY_COUNTER, counter_rows(plain, call, locked), "gil"
    )
    return " ".join(found), " ".join(against)


def test_with_the_gil_a_bare_increment_that_loses_nothing_is_explained() -> None:
    found, against = findings(True, 0, 300)
    assert "since 3.10 CPython switches threads only at calls" in found
    assert "counts the race in 90% of the interleavings of 2 threads" in found
    assert "`counter += f()` lost 300 of 1,000: the call sits between" in found
    assert "`with lock: counter += 1` lost nothing, as refsim says" in found
    assert "" == against


def test_with_the_gil_a_bare_increment_that_loses_is_said_to() -> None:
    found, _ = findings(True, 5, 0)
    assert "`counter += 1` lost 5 of 1,000 even with the GIL" in found
    assert "try more --increments or a shorter --switch-interval" in found


def test_without_the_gil_every_unlocked_form_races() -> None:
    found, _ = findings(False, 600, 700)
    assert "No GIL" in found and "`counter += 1` lost 600 of 1,000" in found
    assert "since 3.10" not in found
    found, _ = findings(False, 0, 0)
    assert "it is still a race" in found


def test_a_locked_increment_that_loses_contradicts_the_model() -> None:
    _, against = findings(True, 0, 0, locked=2)
    assert "`with lock: counter += 1` lost 2 of 1,000, which refsim says cannot happen" in against


# -- hardware ---------------------------------------------------------------------------------

TINY_HARDWARE = hardware.HardwareSettings(increments=200_000, repeat=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory with the shim built in it (once for this module)."""
    cache = tmp_path_factory.mktemp("cache")
    shim.load(cache)
    return cache


def test_the_shim_is_built_once_into_the_cache_and_never_into_the_package(built: Path) -> None:
    [directory] = [p for p in built.iterdir()]
    assert directory.name.startswith("shim-")
    assert [] == list(Path(shim.__file__).parent.glob("_refsim_shim_*"))
    assert shim.load(built) is shim.load(built)


def test_hardware_runs_and_atomic_increments_lose_nothing(built: Path) -> None:
    ticks: list[str] = []
    report = hardware.run(TINY_HARDWARE, progress=ticks.append, cache=built)
    assert hardware.steps(TINY_HARDWARE) == len(ticks)
    document = report.json()
    check_shape(document, "hardware")
    names = [r["name"] for r in document["rows"]]
    assert ["plain lost", "add lost", "atomic lost"] == names[:3]
    assert {"plain alone", "plain contended", "atomic alone", "atomic contended"} <= set(names)
    rows = {r["name"]: r for r in document["rows"]}
    assert [0, 0] == rows["atomic lost"]["runs"]  # physics: a lock add is never lost
    assert (0.9, 0.9, 0) == (
        rows["plain lost"]["model"], rows["add lost"]["model"], rows["atomic lost"]["model"]
    )  # fmt: skip
    assert (1, 7) == (rows["plain alone"]["model"], rows["atomic alone"]["model"])
    assert () == report.contradictions


def test_a_race_in_one_thread_loses_nothing(built: Path) -> None:
    loaded = shim.load(built)
    for kind in (shim.PLAIN, shim.ATOMIC):
        one = hardware.race(loaded, kind, 1, 10_000)
        assert (0, 1.0) == (one.lost, one.overlap)


def hardware_rows(plain: float, atomic: float, *, add: bool = True) -> tuple[Row, ...]:
    def ns(name: str, value: float) -> Row:
        return Row(name, name, Spread((value,)), "ns", 3.0, "3 ns")

    rows = [
        lost_row("plain lost", (plain,), Fraction(9, 10)),
        Row("add lost", "add", Spread((plain,)) if add else None, "lost", 0.9, "", of=1000),
        lost_row("atomic lost", (atomic,), Fraction(0)),
    ]
    return (*rows, ns("plain alone", 0.25), ns("atomic alone", 5.0), ns("atomic contended", 9.0))


def test_hardware_sentences() -> None:
    found, against = hardware.findings_of(hardware_rows(400, 0), True, "x86_64")
    text = " ".join(found)
    assert "lost 400 of 1,000 increments (40%, median)" in text
    assert "One `add` instruction on memory lost 400 of 1,000 increments (40%, median) too" in text
    assert "costs 5.0 ns per increment alone against 0.25 ns for the plain one (20×)" in text
    assert () == against
    found, _ = hardware.findings_of(hardware_rows(0, 0, add=False), False, "arm64")
    text = " ".join(found)
    assert "lost nothing this time" in text
    assert "This CPU (arm64) has no add-to-memory instruction" in text
    rows = hardware_rows(0, 0)
    rows = (lost_row("plain lost", (0, 0, 7), Fraction(9, 10)), *rows[1:])
    found, _ = hardware.findings_of(rows, True, "x86_64")
    assert "on one word lost increments in 1 of 3 runs only (up to 7 of 1,000)" in found[0]
    _, against = hardware.findings_of(hardware_rows(400, 3), True, "x86_64")
    assert ("`lock add` lost 3 increments, which no atomic instruction can: the shim or the "
            "machine is broken.",) == against  # fmt: skip


# -- the shim where it cannot be built ----------------------------------------------------------


@pytest.mark.usefixtures("repo_root")
def test_no_compiler_on_path_is_a_clear_message_and_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    status, out, err = refsim(capsys, "real", "hardware", "--quick")
    assert 2 == status
    assert "" == out
    assert err.startswith("error: refsim real hardware compiles a small C shim at first use")
    assert "is not on PATH" in err and "apt install gcc" in err
    assert "Traceback" not in err
    assert [] == list((tmp_path / "cache").glob("refsim/shim-*"))


def test_a_compiler_that_fails_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CC", "false")  # on PATH, and fails whatever it is asked
    with pytest.raises(shim.ShimUnavailable, match="could not compile its C shim"):
        shim.load(tmp_path)
    assert [] == list(tmp_path.glob("shim-*")), "a failed build leaves nothing to load"
    assert [] == list(tmp_path.glob("build-*"))


def test_without_cffi_the_message_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "cffi", None)  # `import cffi` raises ImportError
    with pytest.raises(shim.ShimUnavailable, match=r"install the `real` extra"):
        shim.load(tmp_path)


def test_without_setuptools_the_message_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "setuptools", None)  # find_spec then finds nothing
    with pytest.raises(shim.ShimUnavailable, match=r"pip install setuptools"):
        shim.load(tmp_path)


def test_the_cache_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG_CACHE_HOME is where Linux and the BSDs keep caches")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tmp_path / "refsim" == shim.cache_root()


# -- gil --------------------------------------------------------------------------------------

TINY_GIL = gil.GilSettings(work=0.002, repeat=1, requests=3)
IDLE = gil.Machine(cores=2, free=2.0, load=0.1)
BUSY = gil.Machine(cores=2, free=0.7, load=3.5)


def test_busy_means_too_few_idle_cores_for_the_processes() -> None:
    assert not gil.busy(IDLE, 2) and not gil.busy(IDLE, 4)
    assert gil.busy(BUSY, 2) and gil.busy(BUSY, 4)
    assert not gil.busy(gil.Machine(cores=2, free=1.6, load=None), 4)
    assert gil.busy(gil.Machine(cores=8, free=2.0, load=6.0), 4)
    assert not gil.busy(gil.Machine(cores=8, free=2.0, load=6.0), 2)


def test_gil_on_an_idle_machine_measures_every_row() -> None:
    ticks: list[str] = []
    report = gil.run(TINY_GIL, progress=ticks.append, machine=lambda: IDLE)
    assert gil.steps(TINY_GIL) == len(ticks)
    document = report.json()
    check_shape(document, "gil")
    assert [
        "bytecode ns", "process start ms", "2 threads", "2 processes", "4 threads",
        "4 processes", "4 sleeping threads", "convoy 5 ms", "convoy 1 ms",
    ] == [r["name"] for r in document["rows"]]  # fmt: skip
    assert all(r["measured"] is not None for r in document["rows"])
    assert "Processes have a GIL each" in " ".join(report.findings)


def test_gil_on_a_busy_machine_does_not_measure_processes() -> None:
    report = gil.run(TINY_GIL, machine=lambda: BUSY)
    for name in ("2 processes", "4 processes"):
        row = report.row(name)
        assert row.measured is None and row.model is not None
        assert "the machine was busy: 0.7 cores of 2 idle, load average 3.50" == row.note
    text = " ".join(report.findings)
    assert "The process rows were not measured because the machine was busy" in text
    assert "Processes have a GIL each" not in text


def test_the_timed_model_predicts_the_shapes() -> None:
    model = gil.predicted(
        cores=2, runtime=Runtime.GIL, iteration_ns=20, start_ns=3_000_000,
        iterations=10_000_000, requests=50,
    )  # fmt: skip
    assert 1.0 == pytest.approx(model["2 threads"], abs=0.01)
    assert 1.0 == pytest.approx(model["4 threads"], abs=0.01)
    # 2 processes: 200 ms of work each, started 3 and 6 ms in, on 2 cores.
    assert 2 * 200 / 206 == pytest.approx(model["2 processes"], rel=1e-3)
    assert 3.9 < model["4 sleeping threads"] <= 4.0
    assert 90 < model["convoy 5 ms"] < 110
    assert model["convoy 1 ms"] > 4 * model["convoy 5 ms"]


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.usefixtures("repo_root")
def test_counter_json_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["real", "counter", "--json", "--threads", "2", "--increments", "500", "--repeat", "1"]
    status, out, err = refsim(capsys, *argv)
    assert 0 == status and "" == err
    check_shape(json.loads(out), "counter")


@pytest.mark.usefixtures("repo_root")
def test_counter_prints_a_table_and_its_findings(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["real", "counter", "--threads", "2", "--increments", "500", "--repeat", "1"]
    status, out, _ = refsim(capsys, *argv)
    assert 0 == status
    head, table = out.split("\n\n")[:2]
    assert head.startswith("refsim real counter  ·  CPython ")
    assert "2 threads × 500 increments each (1,000 in all), 1 run of each" in " ".join(head.split())
    rows = [line for line in table.splitlines() if not line.startswith(" ")]
    # One run of each: no range to show, so no range column.
    assert re.match(r"what +measured \(median\) +refsim says$", rows[0])
    assert re.match(r"with lock: counter \+= 1 +0 \(0%\) +no$", rows[3])
    assert "lost nothing, as refsim says" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["real", "countr"], "unknown experiment 'countr' (did you mean counter?)"),
        (["real", "counter", "--work", "1"], "--work goes with `refsim real gil`"),
        (["real", "gil", "--threads", "2"], "--threads goes with `refsim real counter`"),
        (["real", "counter", "--threads", "9"], "must be at most 8, not 9"),
        (["real", "counter", "--switch-interval", "0"], "must be from 1us to 10s"),
        (["real", "gil", "--work", "fast"], "expected seconds, like 0.2, not 'fast'"),
    ],
)
def test_bad_usage_is_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        status, _, err = refsim(capsys, *argv)
    except SystemExit as exit:  # argparse's own errors
        status, err = int(exit.code or 0), capsys.readouterr().err
    assert 2 == status
    assert message in err
    assert "Traceback" not in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_that_goes_away() -> None:
    import refsim.cli.real as cli

    err = Terminal()
    with cli._progress(err, 3, "counter") as tick:
        assert tick is not None
        for what in ("a", "b", "c"):
            tick(what)
    assert "refsim real counter" in err.getvalue()
    with cli._progress(io.StringIO(), 3, "counter") as none:
        assert none is None


def rendered(report: Report, width: int) -> str:
    """The report as ``refsim real`` prints it for people, ``width`` columns wide (80 is
    what a pipe gets)."""
    from refsim.cli.console import console
    from refsim.render.real import print_report

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(width))
        print_report(console(out), report)
    return out.getvalue()


def test_render_shows_what_was_not_measured_and_why() -> None:
    rows = (Row("2 processes", "2 processes, speedup", None, "×", 1.9, "1.90×", note="busy"),)
    report = Report("gil", interpreter(), (("work", 0.2), ("repeat", 1)), rows, ("a finding",))
    text = rendered(report, 80)
    assert "not measured" in text and "2 processes, speedup: busy." in text
    assert "a finding" in text


def ns_row(name: str, label: str, runs: tuple[float, ...], model: str) -> Row:
    return Row(name, label, Spread(runs), "ns", 1.0, model)


PAGE_MACHINE = Interpreter(
    implementation="CPython", version="3.11.7", free_threaded=False, gil_enabled=True,
    switch_interval=0.005, platform="linux", machine="x86_64", cores=2, load=1.81,
)  # fmt: skip
"""The machine of docs/real.md's hardware run, whose rows HARDWARE repeats."""
HARDWARE = Report(
    "hardware", PAGE_MACHINE, (("threads", 2), ("increments", 50_000_000), ("repeat", 5)),
    (
        Row("plain lost", "load, add, store: lost", Spread((24_957_884, 31_783_233, 41_131_332)),
            "lost", 0.9, lost_text(Fraction(9, 10)), of=100_000_000),
        Row("add lost", "one add instruction: lost", Spread((0, 10_642_827, 20_259_188)), "lost",
            0.9, lost_text(Fraction(9, 10)), of=100_000_000),
        Row("atomic lost", "lock add (atomic): lost", Spread((0, 0, 0)), "lost", 0.0,
            lost_text(Fraction(0)), of=100_000_000),
        ns_row("plain alone", "load, add, store: one thread", (0.29, 0.46, 0.51),
               "1 ns (LOAD, ADD, STORE)"),
        ns_row("plain contended", "load, add, store: two threads", (0.36, 0.71, 0.75),
               "1 ns (no contention cost)"),
        ns_row("add alone", "one add instruction: one thread", (0.26, 0.53, 0.65),
               "1 ns (LOAD, ADD, STORE)"),
        ns_row("add contended", "one add instruction: two threads", (0.47, 0.75, 0.87),
               "1 ns (no contention cost)"),
        ns_row("atomic alone", "lock add (atomic): one thread", (4.67, 7.33, 9.89),
               "7 ns (one RMW)"),
        ns_row("atomic contended", "lock add (atomic): two threads", (9.61, 18.3, 20.5),
               "7 ns (no contention cost)"),
    ),
    ("`lock add` lost nothing, as it must.",),
)  # fmt: skip
COUNTER = Report(
    "counter", interpreter(),
    (("threads", 4), ("increments", 500_000), ("repeat", 5), ("switch_interval", 0.005)),
    (
        lost_row("counter += 1", (0, 0, 0), Fraction(9999, 10000), of=2_000_000),
        lost_row("counter += f()", (699_950, 1_111_279, 1_500_000), Fraction(9999, 10000),
                 of=2_000_000),
        lost_row("with lock: counter += 1", (0, 0, 0), Fraction(0), of=2_000_000),
    ),
    ("`with lock: counter += 1` lost nothing, as refsim says.",),
)  # fmt: skip
GIL = Report(
    "gil", interpreter(), (("work", 0.2), ("repeat", 3)),
    (
        ns_row("bytecode ns", "one loop iteration (a compute bytecode)", (22.3,),
               "20 ns (default)"),
        Row("process start ms", "starting and joining one process", Spread((2.26,)), "ms", 2.0,
            "2 ms (default)"),
        Row("2 threads", "2 CPU-bound threads, speedup", Spread((0.96, 0.98, 1.02)), "×", 1.0,
            "1.00×"),
        Row("2 processes", "2 processes, speedup", None, "×", 1.96, "1.96×", note="busy"),
        Row("convoy 5 ms", "convoy at a 5 ms switch interval", Spread((89, 92, 92)), "req/s",
            99.0, "99 req/s"),
    ),
    ("Sleeping threads release the GIL.",),
)  # fmt: skip
REPORTS = {"hardware": HARDWARE, "counter": COUNTER, "gil": GIL}


@pytest.mark.parametrize("experiment", sorted(REPORTS))
def test_the_report_at_60_80_and_120_columns(
    experiment: str, request: pytest.FixtureRequest
) -> None:
    """A pipe gets 80 columns: the table keeps its columns there (its labels whole, the
    other cells wrapping beside them), and at 120; at 60 the hardware table is a block
    of lines per row, the counter's breaks its labels after their colon."""
    text = "".join(
        f"$ COLUMNS={width} refsim real {experiment}\n{rendered(REPORTS[experiment], width)}\n"
        for width in (60, 80, 120)
    )
    check_golden(request, f"real_{experiment}.txt", text)


MEASURED = {
    "hardware": ["31,783,233 (32%)", "10,642,827 (11%)", "0 (0%)", "0.46 ns", "0.71 ns",
                 "0.53 ns", "0.75 ns", "7.33 ns", "18.3 ns"],
    "counter": ["0 (0%)", "1,111,279 (56%)", "0 (0%)"],
    "gil": ["22.3 ns", "2.26 ms", "0.98×", "not measured", "92 req/s"],
}  # fmt: skip


@pytest.mark.parametrize("experiment", sorted(REPORTS))
@pytest.mark.parametrize("width", [80, 120])
def test_each_row_starts_a_line_of_the_table_with_its_figure(experiment: str, width: int) -> None:
    """At 80 columns (a pipe) and more, the table keeps its columns: each row starts a
    line with its label (or the label's part before its colon), its measured figure on
    the same line; a row's other lines start with spaces."""
    report = REPORTS[experiment]
    text = rendered(report, width)
    table = text.split("\n\n")[1].splitlines()
    assert all(len(line) <= width for line in text.splitlines())
    header = [line for line in table if line.startswith("what  ")]
    assert 1 == len(header) and header[0].endswith("refsim says")
    starts = [line for line in table[table.index(header[0]) + 1 :] if not line.startswith(" ")]
    starts = starts[: len(report.rows)]  # then the note under the table
    found = [re.split(r"\s{2,}", line)[:2] for line in starts]
    assert MEASURED[experiment] == [figure for _, figure in found]
    for row, (label, _) in zip(report.rows, found, strict=True):
        assert row.label == label if width > 80 else row.label.startswith(label), (row, label)


def test_the_pages_80_column_table_is_what_refsim_prints() -> None:
    """docs/real.md shows its hardware run as a pipe gets it: the same rows at 80 columns."""
    page = PAGE.read_text(encoding="utf-8")
    [shown] = re.findall(r"```text\n(\$ COLUMNS=80 refsim real hardware\n.*?)```", page, re.DOTALL)
    assert ("$ COLUMNS=80 refsim real hardware\n" + rendered(HARDWARE, 80)).startswith(shown)
    assert shown.count("\n") > 20


def test_a_range_names_its_unit_once() -> None:
    from refsim.render.real import report_table

    rows = [
        ns_row("a", "a", (0.29, 0.46, 0.51), ""),
        ns_row("b", "b", (9.61, 18.3, 20.5), ""),
        Row("c", "c", Spread((0.96, 0.98, 1.02)), "×", 1.0, ""),
        Row("d", "d", Spread((89, 92, 92)), "req/s", 1.0, ""),
        lost_row("e", (0, 1_111_279, 1_500_000), Fraction(1, 2), of=2_000_000),
        lost_row("f", (0, 0, 0), Fraction(1, 2)),
        Row("g", "g", Spread((2.26, 2.26)), "ms", 1.0, ""),
    ]
    table = report_table(Report("gil", interpreter(), (), tuple(rows), ()), 120).table
    expected = [
        "0.29 to 0.51 ns", "9.61 to 20.5 ns", "0.96 to 1.02×", "89 to 92 req/s",
        "0% to 75%", "0%", "2.26 ms",
    ]  # fmt: skip
    assert expected == [str(cell) for cell in table.columns[2].cells]


# -- the docs page --------------------------------------------------------------------------

PAGE = ROOT / "docs" / "real.md"
SHOWN = re.compile(r"```text\n\$ (refsim real [^\n]*)\n(.*?)```", re.DOTALL)
TINY_ARGS = {
    "counter": ["--threads", "2", "--increments", "500", "--repeat", "1"],
    "hardware": ["--increments", "20000", "--repeat", "1"],
    "gil": ["--work", "0.002", "--repeat", "1", "--requests", "3"],
}


def shown() -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in SHOWN.finditer(PAGE.read_text(encoding="utf-8"))]


def test_the_page_shows_a_run_of_every_experiment() -> None:
    assert {"counter", "hardware", "gil"} <= {shlex.split(c)[2] for c, _ in shown()}


@pytest.mark.usefixtures("repo_root")
@pytest.mark.parametrize(("command", "output"), shown(), ids=[c for c, _ in shown()])
def test_each_run_on_the_page_still_has_its_rows(
    command: str, output: str, capsys: pytest.CaptureFixture[str], built: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A measured run cannot be compared figure for figure; its command still runs (with
    tiny sizes), and prints the same rows, in the same order, as the page shows."""
    monkeypatch.setattr(shim, "cache_root", lambda: built)
    words = shlex.split(command)[1:]
    if "--json" in words:
        pytest.skip("the page's JSON is checked by its shape above")
    monkeypatch.setenv("COLUMNS", "200")  # the page shows a wide terminal's table
    status, out, _ = refsim(capsys, *words, *TINY_ARGS[words[1]])
    assert 0 == status

    def labels(text: str) -> list[str]:
        table = text.split("\n\n")[1].splitlines()[1:]
        # A row's first cell starts the line; a wrapped cell's lines start with spaces.
        return [
            re.split(r"\s{2,}", line.strip())[0]
            for line in table
            if "  " in line and not line.startswith(" ")
        ]

    assert labels(output) == labels(out)


@pytest.mark.parametrize(
    ("overlap", "note"),
    [
        (0.0, "the two loops never ran at the same time (median run)"),
        (0.25, "the two loops overlapped for only 25% of their time (median)"),
        (0.5, ""),
        (1.0, ""),
    ],
)
def test_a_lost_row_says_when_its_loops_barely_overlapped(overlap: float, note: str) -> None:
    assert note == hardware.overlap_note(overlap)
