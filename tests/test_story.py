"""``refsim FILE`` (``refsim story FILE``): golden output for every bundled scenario, the
JSON document, --brief, --plot and the exit statuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from claims_table import FILES, Basis, File, expected_status, write
from claims_table import run as run_refsim
from cli_runner import flat, refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden

from refsim.model import Runtime

ROOT = Path(__file__).parent.parent
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
TIMED = {"convoy", "cpu_bound", "io_then_transform", "io_bound"}
"""Bundled scenarios with ``timing:``: their story tells where the time goes."""

pytestmark = pytest.mark.usefixtures("repo_root")


@pytest.mark.parametrize("name", BUNDLED)
def test_story_golden(
    name: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, err = refsim(capsys, f"scenarios/{name}.yaml")
    assert (0, "") == (status, err)
    check_golden(request, f"story_{name}.txt", f"$ refsim scenarios/{name}.yaml\n{out}")


def test_story_command_is_the_bare_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, explicit, _ = refsim(capsys, "story", "scenarios/leak.yaml")
    _, bare, _ = refsim(capsys, "scenarios/leak.yaml")
    assert explicit == bare


def test_story_sections_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "scenarios/leak.yaml")
    titles = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    expected = [
        "1. The scenario: leak",
        "2. How often each outcome happens (runtime unsafe)",
        "3. The shortest way it goes wrong",
        "4. What the GIL changes",
        "5. Go further",
    ]
    assert expected == titles


def test_story_brief_has_outcomes_and_gil_only(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "scenarios/leak.yaml", "--brief")
    titles = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.")]
    expected = ["1. How often each outcome happens (runtime unsafe)", "2. What the GIL changes"]
    assert (0, expected) == (status, titles)
    assert "Step by step" not in out


def test_story_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "scenarios/leak.yaml", "--json")
    document = json.loads(out)
    runtimes = {r["runtime"]: r["anomalies"] for r in document["gil"]["runtimes"]}
    expected = (
        0,
        "leak",
        "exact",
        "T1 T2*3 T1*2",
        {
            "unsafe": ["leak", "lost-update"],
            "gil": [],
            "atomic": [],
            "free-threaded": [],
            "pypy": [],
            "jython": [],
        },
    )
    actual = (
        status,
        document["scenario"]["name"],
        document["outcomes"]["table"],
        document["failing"]["run"]["schedule"],
        runtimes,
    )
    assert expected == actual
    assert document["failing"]["story"][-1]["step"] is None


def test_story_json_brief(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "scenarios/leak.yaml", "--json", "--brief")
    document = json.loads(out)
    expected = (["gil", "outcomes", "scenario", "time", "timed"], None)
    assert expected == (sorted(document), document["timed"])


def test_story_runtime_override(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "scenarios/leak.yaml", "--runtime", "gil")
    assert 0 == status
    assert "No interleaving goes wrong under gil." in out
    assert "runtime  gil (--runtime)" not in out
    assert "gil (--runtime): one global interpreter lock" in out


def test_story_timed_scenario_tells_where_the_time_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = refsim(capsys, "scenarios/cpu_bound.yaml")
    titles = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    expected = [
        "1. The scenario: cpu_bound",
        "2. Where the time goes (runtime gil, simulated time)",
        "3. The runtimes side by side",
        "4. Go further",
    ]
    assert (0, expected) == (status, titles)
    text = flat(out)
    assert "One run in simulated time (seed 0, 2 cores) takes 100ms" in text
    assert (
        "The lesson: Under one GIL the two CPU-bound threads, T1 and T2, take turns: 100ms "
        "against 50ms without a GIL" in text
    )
    # A story about time counts no interleavings in its prose.
    assert [] == re.findall(r"\d[\d,]* interleavings?", out)
    assert "refsim compare scenarios/cpu_bound.yaml" in out
    assert "refsim run scenarios/cpu_bound.yaml --timed" in out


def test_story_timed_json_has_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "scenarios/cpu_bound.yaml", "--json")
    document = json.loads(out)
    makespans = {row["runs_as"]: row["makespan_ns"] for row in document["timed"]["rows"]}
    runtimes = {r["runtime"]: r["anomalies"] for r in document["gil"]["runtimes"]}
    none: list[str] = []
    expected = (0, None, {r.value: none for r in Runtime})
    assert expected == (status, document["outcomes"]["exploration"], runtimes)
    # Under gil the two 50 ms threads run one after the other, plus the GIL hand-offs.
    assert (50_000_000, 100_095_000) == (makespans["atomic"], makespans["gil"])


def test_story_convoy_names_the_convoy(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "scenarios/convoy.yaml")
    assert "S finishes at 1.03s under gil against 30.2ms without a GIL" in flat(out)
    assert "the convoy effect" in out


def test_story_plot_of_a_timed_scenario_draws_its_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "cpu.png"
    status, _, err = refsim(capsys, "scenarios/cpu_bound.yaml", "--plot", str(target))
    expected = (0, f"wrote {target}: cpu_bound under gil in simulated time, seed 0\n")
    assert expected == (status, err)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_story_unexpected_anomaly_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "scenarios/leak.yaml").read_text(encoding="utf-8")
    path = tmp_path / "leak.yaml"
    path.write_text(text.replace("  unsafe: [leak, lost-update]\n", ""), encoding="utf-8")
    status, _, _ = refsim(capsys, str(path))
    assert 1 == status


def test_story_bad_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = refsim(capsys, "story", "no/such/file.yaml")
    assert (2, "") == (status, out)
    assert "Traceback" not in err


def test_story_plot_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "leak.png"
    target.write_bytes(b"keep")
    status, out, err = refsim(capsys, "scenarios/leak.yaml", "--plot", str(target))
    assert (2, "", b"keep") == (status, out, target.read_bytes())
    assert "--force" in err


def test_story_plot_writes_the_failing_interleaving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "leak.png"
    status, _, err = refsim(capsys, "scenarios/leak.yaml", "--plot", str(target))
    assert (0, f"wrote {target}: the failing interleaving T1 T2*3 T1*2\n") == (status, err)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_the_figure_draws_the_failing_run_else_the_timed_run_else_nothing() -> None:
    """refsim.story.figure_run: what ``story --plot`` and the page's figure draw."""
    from refsim.loader import load_file
    from refsim.story import figure_run, gather

    leak, cpu, locked = (
        gather(load_file(f"scenarios/{name}.yaml"), name)
        for name in ("leak", "cpu_bound", "counter_locked")
    )
    assert leak.failing is not None
    assert (leak.failing.run, leak.failing.part) == figure_run(leak)
    found = figure_run(cpu)
    assert found is not None
    timed, scenario = found
    # The time story's run under gil, again, with its trace: 100 ms of work, and switches.
    assert cpu.time is not None
    kept = cpu.time.run(Runtime.GIL)
    assert kept is not None and kept.metrics is not None and timed.metrics is not None
    assert (cpu.scenario, Runtime.GIL, 100_095_000) == (
        scenario,
        timed.runtime,
        timed.metrics.makespan_ns,
    )
    assert kept.metrics.makespan_ns == timed.metrics.makespan_ns
    assert timed.trace  # the time story's runs keep none: a figure needs it
    assert None is figure_run(locked)


def test_story_plot_without_failure_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "locked.png"
    status, _, err = refsim(capsys, "scenarios/counter_locked.yaml", "--plot", str(target))
    assert (2, False) == (status, target.exists())
    assert "nothing to plot" in err


def test_python_dash_m_file_tells_the_story() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COLUMNS", None)
    done = subprocess.run(
        [sys.executable, "-m", "refsim", "scenarios/leak.yaml"],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    golden = (Path(__file__).parent / "golden" / "story_leak.txt").read_text(encoding="utf-8")
    assert (0, golden.split("\n", 1)[1]) == (done.returncode, done.stdout)


def test_story_json_has_a_verdict_per_claim(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "scenarios/borrowed.yaml", "--json")
    document = json.loads(out)
    verdicts = [
        (c["runtime"], c["basis"], c["holds"], c["found"] == c["claimed"])
        for c in document["claims"]
    ]
    expected = [
        (runtime, "explored", True, True)
        for runtime in ("unsafe", "gil", "atomic", "free-threaded", "pypy", "jython")
    ]
    assert ("race", expected, True) == (document["shape"], verdicts, document["agrees"])


def test_a_timed_storys_json_has_where_the_time_goes(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "scenarios/io_then_transform.yaml", "--json")
    document = json.loads(out)
    time = document["time"]
    makespans = {run["runtime"]: run["makespan_ns"] for run in time["runs"]}
    everyone = ["unsafe", "gil", "atomic", "free-threaded", "pypy", "jython"]
    assert ("time", everyone) == (document["shape"], list(makespans))
    # The transforms take turns under one GIL: twice the time they take without one.
    assert time["lesson"].startswith(
        "Under one GIL the two CPU-bound threads, X1 and X2, take turns: 201ms against 100ms"
    )


@pytest.mark.parametrize("name", ["leak", "deadlock", "cpu_bound", "convoy"])
def test_the_terminal_and_json_tell_the_same_story(name: str) -> None:
    """Both renderers read one Story value: everything it says shows on both."""
    from refsim.loader import load_file
    from refsim.render.json import story_json
    from refsim.story import gather

    story = gather(load_file(ROOT / "scenarios" / f"{name}.yaml"), name)
    document = json.dumps(story_json(story), ensure_ascii=False)
    _, text, _ = refsim_text(name)
    said = [story.lesson, *(text for _, text in story.facts), *(c for _, c in story.next)]
    if story.failing is not None:
        said += [s.text for s in story.failing.sentences] + list(story.failing.meanings)
    if story.time is not None:
        said.append(story.time.lesson)
    assert ([], []) == (
        [s for s in said if flat(s) not in flat(text)],
        [s for s in said if json.dumps(s, ensure_ascii=False)[1:-1] not in document],
    )


def refsim_text(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from refsim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.id)
def test_the_story_reads_claims_as_the_table_does(file: File, tmp_path: Path) -> None:
    status, _ = run_refsim(write(tmp_path, file), "--brief")
    assert expected_status(file, None, Basis.FILE) == status
