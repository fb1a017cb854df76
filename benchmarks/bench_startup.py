"""Benchmark: start-up, the time a command spends before it does its work (issue 16).

Each command line runs as a whole process, as a user runs it, and is timed in CPU
seconds (user + system, from ``wait4``: another program on the machine does not count),
the best of ``--repeat`` runs, beside the floor: ``python -c pass`` in the same run.

* ``refsim --version`` and ``refsim --help`` (target: under 0.1 s);
* ``refsim explore counter_3x4.yaml --json`` up to the moment the explorer starts
  (target: under 0.12 s), and whole;
* the import time ``python -X importtime`` reports for that command (the sum of its
  top-level imports), and the refsim modules and heavy libraries it imported;
* the other commands that write JSON, whole, on ``scenarios/counter.yaml``: ``run
  --json``, ``story --json``, ``list --json``, ``validate --json`` and ``schema`` (none
  imports rich; tests/test_startup.py holds them to it).

Two ways Python may find refsim's code: compiled already (``cached``: what an installed
wheel has, and a checkout once Python could write ``__pycache__``), and compiled on every
start (``source``: ``PYTHONDONTWRITEBYTECODE=1`` with an editable install and no
``__pycache__``, as on the development machine, where every run compiles refsim anew).

    python benchmarks/bench_startup.py [--repeat 5] [--before PATH]

``--before PATH`` also measures the refsim package in PATH (e.g. an older commit,
``git archive COMMIT refsim scenarios | tar -x -C PATH``: with its bundled scenarios, or
``list`` lists none), each measurement taken in turn with the current one, so that a busy
machine slows both alike.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_explore import counter_file

HEAVY = ("pydantic", "yaml", "rich", "simpy", "hypothesis", "matplotlib", "cffi")

_UNTIL_EXPLORING = """
import os, resource, sys
from importlib import import_module
explorer = import_module("refsim.explore")
def started(*args, **kwargs):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write(f"{usage.ru_utime + usage.ru_stime}\\n")
    os._exit(0)
explorer.explore = started  # the command looks it up when its module is imported, later
from refsim.cli import main
main(sys.argv[1:])
"""
"""``refsim ARGV...`` until the explorer is called: it prints its CPU seconds so far and
ends there."""

_IMPORTED = """
import sys
from refsim.cli import main
try:
    main(sys.argv[1:])
finally:
    names = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
    refsim = sorted(m for m in sys.modules if m.startswith("refsim"))
    sys.stderr.write(f"IMPORTED {' '.join(names)} | {len(refsim)} refsim modules\\n")
"""


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """The CPU seconds (user + system) the process ``argv`` takes to its end."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.stderr:
        process.stderr.read()
    return usage.ru_utime + usage.ru_stime


def until_exploring(file: Path, env: dict[str, str]) -> float:
    """CPU seconds of ``refsim explore FILE --json`` when the explorer starts."""
    argv = [sys.executable, "-c", _UNTIL_EXPLORING, "explore", str(file), "--json"]
    found = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return float(found.stderr.split()[-1])


def import_total(argv: list[str], env: dict[str, str]) -> float:
    """The sum of ``-X importtime``'s top-level imports (their cumulative time), seconds."""
    found = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], env=env, capture_output=True, text=True
    )
    top = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| (\S)", found.stderr, re.MULTILINE)
    return sum(int(cumulative) for cumulative, _ in top) / 1e6


def imported(argv: list[str], env: dict[str, str]) -> str:
    """Which heavy libraries, and how many refsim modules, ``refsim ARGV...`` imports."""
    code = f"HEAVY = {HEAVY!r}\n{_IMPORTED}"
    found = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True
    )
    return found.stderr.split("IMPORTED ")[-1].strip()


def environment(tree: Path | None, cache: Path | None) -> dict[str, str]:
    """The environment of a measured process: refsim from ``tree`` (else the installed
    one), its code compiled once into ``cache`` (or compiled on every start without one)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


COUNTER = str(Path(__file__).resolve().parent.parent / "scenarios" / "counter.yaml")
JSON_COMMANDS = (
    ("run", COUNTER, "--json"),
    ("story", COUNTER, "--json"),
    ("list", "--json"),
    ("validate", COUNTER, "--json"),
    ("schema",),
)
"""The other command lines that write JSON, measured whole."""


def _whole(argv: list[str]) -> Callable[[dict[str, str]], float]:
    return lambda env: cpu_seconds(argv, env)


def report(label: str, envs: dict[str, dict[str, str]], file: Path, repeat: int) -> None:
    """One table: each measurement, for each refsim in ``envs`` (measured in turn, so that
    a busy machine slows each alike), the best of ``repeat``."""
    refsim = [sys.executable, "-m", "refsim"]
    explore = ["explore", str(file), "--json"]
    measures: list[tuple[str, Callable[[dict[str, str]], float]]] = [
        (
            "python -c pass (the floor)",
            lambda env: cpu_seconds([sys.executable, "-c", "pass"], env),
        ),
        ("refsim --version", lambda env: cpu_seconds([*refsim, "--version"], env)),
        ("refsim --help", lambda env: cpu_seconds([*refsim, "--help"], env)),
        ("explore 3x4 --json, until the explorer starts", lambda env: until_exploring(file, env)),
        ("explore 3x4 --json, whole", lambda env: cpu_seconds([*refsim, *explore], env)),
        (
            "explore 3x4 --json, importtime total",
            lambda env: import_total(["-m", "refsim", *explore], env),
        ),
        *(
            (f"{' '.join(words).replace(COUNTER, 'counter')}, whole", _whole([*refsim, *words]))
            for words in JSON_COMMANDS
        ),
    ]
    for env in envs.values():
        subprocess.run([*refsim, *explore], env=env, capture_output=True)  # compiles, if cached
    print(f"\n{label} (ms; CPU but the last, importtime's own sum)")
    print(f"  {'':<47}" + "".join(f"{name:>10}" for name in envs))
    for what, measure in measures:
        samples: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(repeat):
            for name, env in envs.items():
                samples[name].append(measure(env))
        least = {name: min(found) for name, found in samples.items()}
        cells = "".join(f"{seconds * 1000:10.1f}" for seconds in least.values())
        ratio = ""
        if len(least) == 2:
            before, after = least.values()
            ratio = f"  {after / before:5.2f}x"
        print(f"  {what:<47}{cells}{ratio}")
    for name, env in envs.items():
        print(f"  {name}: explore --json imports {imported(explore, env)}")
        print(f"  {name}: --version imports {imported(['--version'], env)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (the best counts)")
    parser.add_argument(
        "--before", type=Path, help="also measure the refsim package in this folder, in turn"
    )
    args = parser.parse_args()
    trees = {"now": None} if args.before is None else {"before": args.before.resolve(), "now": None}
    print(f"Python {sys.version.split()[0]}; CPU time, best of {args.repeat}")
    if args.before is not None and not (args.before / "scenarios").is_dir():
        print(f"note: {args.before} has no scenarios folder: its `list --json` lists nothing")
    for tree in (args.before, Path(__file__).parent.parent):
        if tree is not None and any(tree.glob("refsim/**/__pycache__")):
            print(f"note: {tree}/refsim has __pycache__ folders, which the last table reads")
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # `python -c` and `-m` put the working folder first on sys.path
        file = counter_file(3, 4, Path(folder))
        cached = {
            name: environment(tree, Path(folder) / f"pycache-{name}")
            for name, tree in trees.items()
        }
        source = {name: environment(tree, None) for name, tree in trees.items()}
        report("compiled already (as an installed wheel is)", cached, file, args.repeat)
        report("compiled on every start (no bytecode cache)", source, file, args.repeat)


if __name__ == "__main__":
    main()
