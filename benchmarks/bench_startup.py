"""Benchmark: start-up, the time a command spends before it does its work (issue 16).

Each command line runs as a whole process, as a user runs it, and is timed in CPU
seconds (user + system, from ``wait4``: another program on the machine does not count),
the best of ``--repeat`` runs, beside the floor: ``python -c pass`` in the same run.

* ``refsim --version`` and ``refsim --help`` (target: under 0.1 s);
* ``refsim explore counter_3x4.yaml --json`` up to the moment the explorer starts
  (target: under 0.12 s), and whole;
* the import time ``python -X importtime`` reports for that command (the sum of its
  top-level imports), and the refsim modules and heavy libraries it imported.

Two ways Python may find refsim's code: compiled already (``cached``: what an installed
wheel has, and a checkout once Python could write ``__pycache__``), and compiled on every
start (``source``: ``PYTHONDONTWRITEBYTECODE=1`` with an editable install and no
``__pycache__``, as on the development machine, where every run compiles refsim anew).

    python benchmarks/bench_startup.py [--repeat 5] [--tree PATH]

``--tree PATH`` measures the refsim package in PATH instead (e.g. an older commit
extracted with ``git archive``), for a before-and-after in one run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
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


def best(argv: list[str], env: dict[str, str], repeat: int) -> float:
    return min(cpu_seconds(argv, env) for _ in range(repeat))


def until_exploring(file: Path, env: dict[str, str], repeat: int) -> float:
    """CPU seconds of ``refsim explore FILE --json`` when the explorer starts, the best."""
    argv = [sys.executable, "-c", _UNTIL_EXPLORING, "explore", str(file), "--json"]
    seconds = []
    for _ in range(repeat):
        found = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        seconds.append(float(found.stderr.split()[-1]))
    return min(seconds)


def import_total(argv: list[str], env: dict[str, str], repeat: int) -> float:
    """The least, over ``repeat`` runs, of the sum of ``-X importtime``'s top-level imports
    (their cumulative microseconds), in seconds."""
    totals = []
    for _ in range(repeat):
        found = subprocess.run(
            [sys.executable, "-X", "importtime", *argv], env=env, capture_output=True, text=True
        )
        top = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| (\S)", found.stderr, re.MULTILINE)
        totals.append(sum(int(cumulative) for cumulative, _ in top) / 1e6)
    return min(totals)


def imported(argv: list[str], env: dict[str, str]) -> str:
    """Which heavy libraries, and how many refsim modules, ``refsim ARGV...`` imports."""
    code = f"HEAVY = {HEAVY!r}\n{_IMPORTED}"
    found = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True
    )
    return found.stderr.split("IMPORTED ")[-1].strip()


def environment(tree: Path | None, cache: Path | None) -> dict[str, str]:
    """The environment of a measured process: refsim from ``tree`` (when given), and its
    code compiled once into ``cache`` (or compiled on every start without one)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def report(label: str, env: dict[str, str], file: Path, repeat: int) -> None:
    python = [sys.executable]
    refsim = [sys.executable, "-m", "refsim"]
    explore = ["explore", str(file), "--json"]
    subprocess.run([*refsim, *explore], env=env, capture_output=True)  # compiles, if cached
    floor = best([*python, "-c", "pass"], env, repeat)
    rows = [
        ("python -c pass (the floor)", floor),
        ("refsim --version", best([*refsim, "--version"], env, repeat)),
        ("refsim --help", best([*refsim, "--help"], env, repeat)),
        (
            "refsim explore 3x4 --json, until the explorer starts",
            until_exploring(file, env, repeat),
        ),
        ("refsim explore 3x4 --json, whole", best([*refsim, *explore], env, repeat)),
    ]
    print(f"\n{label}")
    for what, seconds in rows:
        print(f"  {what:<55} {seconds * 1000:7.1f} ms CPU  {seconds / floor:5.1f}x the floor")
    total = import_total(["-m", "refsim", *explore], env, repeat)
    print(f"  {'importtime total, refsim explore 3x4 --json':<55} {total * 1000:7.1f} ms")
    print(f"  imports (explore --json): {imported(explore, env)}")
    print(f"  imports (--version):      {imported(['--version'], env)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (the best counts)")
    parser.add_argument("--tree", type=Path, help="measure the refsim package in this folder")
    args = parser.parse_args()
    tree = None if args.tree is None else args.tree.resolve()
    if any((tree or Path(__file__).parent.parent).glob("refsim/**/__pycache__")):
        print("note: refsim has __pycache__ folders: 'no bytecode cache' below reads them")
    print(f"Python {sys.version.split()[0]}; refsim from {tree or 'the installed package'};")
    print(f"CPU time, best of {args.repeat}")
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # `python -c` and `-m` put the working folder first on sys.path
        file = counter_file(3, 4, Path(folder))
        cache = Path(folder) / "pycache"
        report("compiled already (an installed wheel)", environment(tree, cache), file, args.repeat)
        report(
            "compiled on every start (no bytecode cache)",
            environment(tree, None),
            file,
            args.repeat,
        )


if __name__ == "__main__":
    main()
