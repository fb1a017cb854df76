"""The command line, end to end: golden output for every bundled scenario, exit statuses,
and every kind of bad input getting a clear message and status 2."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import flat, refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden
from test_scenarios import HAND_CHECKED

from refsim.cli import main

ROOT = Path(__file__).parent.parent


pytestmark = pytest.mark.usefixtures("repo_root")


# One golden run per bundled scenario: its first hand-checked schedule.
FIRST_SCHEDULE: dict[str, tuple[str, str]] = {}
for _name, _runtime, _schedule, _kinds, _final in HAND_CHECKED:
    FIRST_SCHEDULE.setdefault(_name, (_runtime.value, _schedule))


@pytest.mark.parametrize("name", sorted(FIRST_SCHEDULE))
def test_run_golden(
    name: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    runtime, schedule = FIRST_SCHEDULE[name]
    argv = ["run", f"scenarios/{name}.yaml", "--schedule", schedule, "--runtime", runtime]
    status, out, err = refsim(capsys, *argv)
    assert (0, "") == (status, err)
    check_golden(request, f"run_{name}.txt", f"$ refsim {shlex.join(argv)}\n{out}")


def test_run_seeded_golden(
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, _ = refsim(capsys, "run", "scenarios/leak.yaml", "--seed", "7")
    assert 0 == status
    check_golden(request, "run_leak_seed7.txt", out)


def test_run_json_golden(
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, _ = refsim(
        capsys, "run", "scenarios/leak.yaml", "--schedule", "T1 T2*3 T1*2", "--json"
    )
    assert 0 == status
    document = json.loads(out)
    assert "T1 T2*3 T1*2" == document["schedule"]
    assert {"obj": 1} == document["final"]
    assert [
        {
            "kind": "lost-update",
            "subject": "obj",
            "step": 6,
            "threads": ["T1", "T2"],
            "message": "T1 stored 1 over T2's store of 1: T2's decref is lost",
        },
        {
            "kind": "leak",
            "subject": "obj",
            "step": None,
            "threads": [],
            "message": "obj is never freed: its refcount is 1 but no reference to it remains "
            "(true refs 0): a leak",
        },
    ] == document["anomalies"]
    assert {
        "step": 1,
        "time": 0,
        "thread": "T1",
        "op": "decref obj",
        "micro": "LOAD",
        "subject": "obj",
        "register": 2,
        "value": 2,
        "true_refs": 2,
    } == document["trace"][0]
    check_golden(request, "run_leak.json", json.dumps(document, indent=2) + "\n")


def test_seed_prints_the_schedule_it_took_and_it_replays(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, first, _ = refsim(capsys, "run", "leak", "--seed", "3", "--json")
    schedule = json.loads(first)["schedule"]
    _, again, _ = refsim(capsys, "run", "leak", "--seed", "3", "--json")
    _, replayed, _ = refsim(capsys, "run", "leak", "--schedule", schedule, "--json")
    assert first == again
    assert json.loads(first)["trace"] == json.loads(replayed)["trace"]


def test_default_seed_is_zero(capsys: pytest.CaptureFixture[str]) -> None:
    _, implicit, _ = refsim(capsys, "run", "scenarios/double_free.yaml", "--json")
    _, explicit, _ = refsim(capsys, "run", "scenarios/double_free.yaml", "--seed", "0", "--json")
    assert explicit == implicit
    assert 0 == json.loads(implicit)["seed"]


def test_bare_file_means_story(capsys: pytest.CaptureFixture[str]) -> None:
    _, via_story, _ = refsim(capsys, "story", "scenarios/leak.yaml")
    _, bare, _ = refsim(capsys, "scenarios/leak.yaml")
    assert via_story == bare


def test_runtime_override(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "scenarios/leak.yaml", "--runtime", "atomic", "--json")
    document = json.loads(out)
    assert (0, "atomic", []) == (status, document["runtime"], document["anomalies"])
    assert ["RMW", "DEALLOC"] == sorted({e["micro"] for e in document["trace"]}, reverse=True)


def test_replay_line_names_the_runtime_when_overridden(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(
        capsys, "run", "scenarios/counter.yaml", "--runtime", "unsafe", "--seed", "1"
    )
    assert flat(out).endswith(
        'replay: refsim run scenarios/counter.yaml --schedule "T1 T2*2 T1*2 T2" --runtime unsafe'
    )


def test_bundled_name_works_anywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = refsim(capsys, "run", "leak", "--schedule", "T1 T2*3 T1*2", "--json")
    assert (0, "leak") == (status, json.loads(out)["scenario"])


def test_messages_name_a_bundled_scenario_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = refsim(capsys, "run", "leak", "--schedule", "T1 T2*5")
    expected = (2, "", "error: leak: --schedule: step 5: T2 cannot run: it has finished\n")
    assert expected == (status, out, err)


def test_the_public_api_is_explicit() -> None:
    import refsim

    missing = [name for name in refsim.__all__ if not hasattr(refsim, name)]
    assert ([], True) == (missing, callable(refsim.explore) and callable(refsim.search))


def test_exit_1_for_an_unexpected_anomaly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "racy.yaml"
    path.write_text("objects: {obj: 2}\nthreads:\n  T1: [decref obj]\n  T2: [decref obj]\n")
    status, out, _ = refsim(capsys, "run", str(path), "--schedule", "T1 T2*3 T1*2")
    assert 1 == status
    assert (
        "unexpected: the scenario makes no claim for unsafe, its own runtime, so no anomaly is "
        "expected, but this run found leak and lost-update." in flat(out)
    )
    status, _, _ = refsim(capsys, "run", str(path), "--schedule", "T1*3 T2*4")
    assert 0 == status


def test_exit_1_when_a_claimed_clean_runtime_has_an_anomaly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "variables: {n: 0}\nthreads:\n  T1: [n += 1]\n  T2: [n += 1]\nexpect:\n  gil: []\n"
    )
    status, out, _ = refsim(
        capsys, "run", str(path), "--runtime", "gil", "--schedule", "T1 T2*3 T1*2"
    )
    assert 1 == status
    assert (
        "unexpected: the scenario claims no anomaly can happen under gil, but this run found "
        "lost-update." in flat(out)
    )


def test_exit_3_when_the_step_budget_runs_out(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "scenarios/leak.yaml", "--max-steps", "3")
    assert 3 == status
    assert "the step budget ran out after 3 steps" in out


def test_no_trace_prints_the_summary_only(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "leak", "--schedule", "T1 T2*3 T1*2", "--no-trace")
    assert 0 == status
    assert "micro-step" not in out
    assert "final state: obj refcount 1 (true refs 0)" in out
    _, out, _ = refsim(capsys, "run", "leak", "--no-trace", "--json")
    assert None is json.loads(out)["trace"]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("T1 t2", "error: scenarios/leak.yaml: --schedule: step 2: the schedule names 't2', which "
         "is not a thread of this scenario (did you mean T2?); its threads are T1, T2\n"),
        ("T1 T3", "error: scenarios/leak.yaml: --schedule: step 2: the schedule names 'T3', which "
         "is not a thread of this scenario; its threads are T1, T2\n"),
        ("T1*4 T2", "error: scenarios/leak.yaml: --schedule: step 4: T1 cannot run: it has "
         "finished\n"),
        ("T1*3 T2*4 T1", "error: scenarios/leak.yaml: --schedule: step 8: the schedule has 8 "
         "steps but the run ends after 7: every thread has finished or is blocked\n"),
        ("T1*x", "error: --schedule: expected a count after `*`, found 'x'\n    T1*x\n"
         "       ^\n    a schedule is thread names with optional counts, e.g. \"T1*3 T2 T1\"\n"),
    ],
)  # fmt: skip
def test_bad_schedule(capsys: pytest.CaptureFixture[str], schedule: str, message: str) -> None:
    status, out, err = refsim(capsys, "run", "scenarios/leak.yaml", "--schedule", schedule)
    assert (2, "", message) == (status, out, err)


def test_schedule_naming_a_thread_that_holds_no_gil(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = refsim(
        capsys, "run", "scenarios/leak.yaml", "--runtime", "gil", "--schedule", "T1 T2"
    )
    assert 2 == status
    assert (
        "step 2: T2 cannot run: T1 is inside a bytecode (decref obj) and holds the GIL until "
        "it ends" in err
    )


def test_schedule_naming_a_blocked_thread(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = refsim(capsys, "run", "counter_locked", "--schedule", "T1 T2")
    assert 2 == status
    assert "step 2: T2 cannot run: it is waiting for lock L, which T1 holds" in err


def test_bad_file_reports_every_error_with_location(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("objects: {obj: 1}\nthreads:\n  T1: [incref ob, decrf obj]\n")
    status, out, err = refsim(capsys, "run", str(path))
    assert (2, "") == (status, out)
    lines = err.splitlines()
    assert lines[0].startswith(f"{path}:3:")
    assert "did you mean" in err
    assert "2 errors" == lines[-1]
    assert "Traceback" not in err


def test_missing_file_suggests_a_bundled_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = refsim(capsys, "run", "leek")
    assert 2 == status
    assert "did you mean the bundled scenario 'leak'?" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "leak", "--runtime", "nogil"])
    assert 2 == exc.value.code
    with pytest.raises(SystemExit) as exc:
        main(["run", "leak", "--seed", "1", "--schedule", "T1"])
    assert 2 == exc.value.code


def test_no_command_is_a_usage_error_with_its_help_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 19: `refsim` alone printed its help on stdout (and exited 2)."""
    status, out, err = refsim(capsys)
    assert (2, "", True, True) == (
        status, out, err.startswith("usage: refsim"), "refsim leak" in " ".join(err.split())
    )  # fmt: skip


def test_asked_for_help_is_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    captured = capsys.readouterr()
    assert (0, True, "") == (exc.value.code, captured.out.startswith("usage: refsim"), captured.err)


@pytest.mark.parametrize(
    ("argv", "usage", "expected"),
    [
        (["run", "leak", "--bogus"], "refsim run", "unrecognized arguments: --bogus"),
        (["leak", "--brif"], "refsim story",
         "unrecognized arguments: --brif (did you mean --brief?)"),
        (["--bogus"], "refsim", "unrecognized arguments: --bogus"),
    ],
)  # fmt: skip
def test_an_unknown_option_is_reported_against_its_command(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, expected: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert (2, f"usage: {usage} ", f"{usage}: error: {expected}") == (
        exc.value.code,
        err[: len(usage) + 8],
        err.splitlines()[-1],
    )


def test_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("threads: {T1: []}\n")
    status, out, err = refsim(capsys, "validate", "scenarios/leak.yaml", str(bad))
    assert 2 == status
    assert "scenarios/leak.yaml: ok (leak: 2 threads, 2 ops, runtime unsafe)\n" == out
    assert err.startswith(f"{bad}:1:")
    status, out, _ = refsim(capsys, "validate", "--json", "scenarios/leak.yaml")
    ok = {"file": "scenarios/leak.yaml", "ok": True, "errors": [], "diagnostics": [], "more": 0}
    assert (0, [ok]) == (status, json.loads(out))
    status, out, _ = refsim(capsys, "validate", "--json", str(bad))
    [document] = json.loads(out)
    diagnostic = {
        "line": 1, "column": 15, "path": "threads.T1",
        "message": "thread 'T1' has no ops", "hint": None,
    }  # fmt: skip
    assert (2, [diagnostic]) == (status, document["diagnostics"])
    assert document["errors"][0].startswith(f"{bad}:1:15: error: threads.T1: thread 'T1' has")


def test_validate_every_bundled_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    status, out, _ = refsim(capsys, "validate", *files)
    assert (0, len(files)) == (status, out.count(": ok ("))


def test_list_golden(capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
    status, out, _ = refsim(capsys, "list")
    assert 0 == status
    # One entry per bundled scenario, its name first; a long sentence wraps under it.
    assert 20 == len([line for line in out.splitlines() if not line.startswith(" ")])
    check_golden(request, "list.txt", out)


def test_schema_is_json_naming_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "schema")
    schema = json.loads(out)
    expected = {"name", "description", "runtime", "objects", "variables", "locks", "events",
                "semaphores", "queues", "conditions", "threads", "processes", "timing",
                "expect"}  # fmt: skip
    assert 0 == status
    assert expected == set(schema["properties"])


def test_python_dash_m_is_the_same_program() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COLUMNS", None)
    done = subprocess.run(
        [sys.executable, "-m", "refsim", "run", "scenarios/leak.yaml", "--schedule",
         "T1 T2*3 T1*2"],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    golden = (Path(__file__).parent / "golden" / "run_leak.txt").read_text()
    assert 0 == done.returncode
    assert golden.split("\n", 1)[1] == done.stdout


LONG = "a" * 300
"""A file name longer than the file system allows (255 bytes)."""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plot", "leak", "-o", "d.png", "--dpi", "0"], "must be from 10 to 1,200"),
        (["plot", "leak", "-o", "d.png", "--dpi", "nan"], "must be from 10 to 1,200"),
        (["run", "leak", "--max-bytes", "-5"], "must be at least 1, not -5"),
        (["run", "leak", "--max-bytes", "9223372036854775807"], "must be at most"),
        (["run", "leak", "--max-ops", "0"], "must be at least 1, not 0"),
        (["run", "leak", "--max-steps", "0"], "must be at least 1, not 0"),
        (["plot", "leak", "--outcomes", "-o", "o.png", "--max-states", "0"], "at least 1"),
        (["run", "leak", "--cores", "2"], "--cores goes with --timed"),
        (["run", "leak", "--switch-interval", "1ms"], "--switch-interval goes with --timed"),
        (["run", "cpu_bound", "--timed", "--max-steps", "9"], "a timed run has no step budget"),
        (["leak", "--plot", "story.txt"], "a figure's name ends in .png, .svg, .pdf"),
        (["plot", "leak", "-o", f"{LONG}.png"], "cannot write it: File name too long"),
        (["run", LONG], f"{LONG}:1:1: error: cannot read the file: File name too long"),
        (["run", ""], "FILE is empty"),
        (["run", "leak", "--schedule", "T1*99999999999999999999"], "T1 cannot run"),
        (["run", "leak", "--schedule", "T1*0x3"], "expected a space between runs, found 'x'"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # any file written would land here
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = int(str(exc.code))
    err = capsys.readouterr().err
    assert (2, True, "Traceback" in err) == (status, expected in err, False)
    assert [] == [p.name for p in tmp_path.iterdir()]


def test_a_written_figure_gets_the_mode_a_new_file_would(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        out = tmp_path / "leak.png"
        assert 0 == main(["plot", "leak", "-o", str(out)])
        assert 0o644 == out.stat().st_mode & 0o777
        out.chmod(0o664)
        assert 0 == main(["plot", "leak", "-o", str(out), "--force", "--seed", "3"])
        assert 0o664 == out.stat().st_mode & 0o777
    finally:
        os.umask(mask)


def test_the_story_takes_its_options_before_file_too(capsys: pytest.CaptureFixture[str]) -> None:
    after = refsim(capsys, "leak", "--brief", "--runtime", "gil")
    before = refsim(capsys, "--brief", "--runtime", "gil", "leak")
    assert (0, after) == (after[0], before)


def test_force_writes_through_a_link_and_leaves_it_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    assert 2 == main(["plot", "leak", "-o", str(link)])  # exists: refused without --force
    assert 0 == main(["plot", "leak", "-o", str(link), "--force"])
    assert (True, b"\x89PNG") == (link.is_symlink(), target.read_bytes()[:4])


def test_an_interrupted_write_leaves_nothing_behind(tmp_path: Path) -> None:
    from refsim.cli.output import write_output

    def interrupted(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        # Nothing is at the name until the file is whole: a run killed here (SIGTERM, no
        # clean-up) leaves at most its hidden temporary, never an empty out.png.
        assert not (tmp_path / "out.png").exists()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_output(str(tmp_path / "out.png"), interrupted, force=False)
    assert [] == list(tmp_path.iterdir())
    # ...so the next run is not refused by what it left.
    write_output(str(tmp_path / "out.png"), lambda tmp: tmp.write_bytes(b"whole"), force=False)
    assert [("out.png", b"whole")] == [(p.name, p.read_bytes()) for p in tmp_path.iterdir()]


def test_a_file_with_thousands_of_mistakes_reports_a_hundred(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: a file with 300,000 mistakes printed 53 MB of errors; now the first 100
    and a line for the rest (here 5,000, the same mistake on one line)."""
    path = tmp_path / "many.yaml"
    path.write_text("threads:\n  T1: [" + ", ".join(["x"] * 5_000) + "]\n")
    status, out, err = refsim(capsys, "validate", str(path))
    lines = err.splitlines()
    assert (2, "", 100) == (status, out, sum(": error: " in line for line in lines))
    assert [
        "… and 4,900 more errors, each: unknown op 'x' (on line 2)",
        "5,000 errors",
    ] == lines[-2:]
    status, out, _ = refsim(capsys, "validate", "--json", str(path))
    [document] = json.loads(out)
    assert (2, 100, 100, 4_900) == (
        status, len(document["errors"]), len(document["diagnostics"]), document["more"]
    )  # fmt: skip
