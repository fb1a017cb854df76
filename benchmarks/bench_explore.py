"""Benchmark: exact exploration (``refsim explore``) on programs with astronomically many
interleavings but few states.

(a) two threads x five ``counter += 1`` (155,117,520 interleavings): target well under
    a second;
(b) three threads x four ``counter += 1`` (about 3.4e15 interleavings), and three threads
    each ``incref obj, use obj, decref obj, incref obj, decref obj`` (obj starts at
    refcount 1): time, peak memory (tracemalloc) and distinct states per second; target
    seconds and low hundreds of MB;
(c) a producer/consumer: two producers and two consumers passing three items each
    through a queue of 2 (the waiting primitives in the state).

As a floor, each case also times the bare machine: as many ``Machine.step`` calls as the
exploration made, along one long run, so the ratio shows the explorer's own overhead.

(d) Beside the field's reference model checker: SPIN 6 (``spin``, with a C compiler) on
    the Promela models in ``benchmarks/spin/`` (N threads x K ``counter += 1``, each a
    load, an add and a store; partial-order reduction on, reachability only, no counts)
    and refsim on the same programs. Both are timed as whole processes, as a user runs
    them: ``./pan`` (the verifier SPIN generated and gcc compiled, compiling not
    included: it is printed apart) and ``python -m refsim explore FILE --json`` (Python's
    start and imports included), each its peak resident memory (``wait4``). Without
    ``spin`` or ``gcc`` this part says "SPIN not installed" and still times refsim.
    Under each row, the floor of any exact count in Python: every state of refsim's
    compact state space expanded once and one integer added per edge (forward, layer by
    layer: the interleavings only, no probabilities, outcomes' witnesses or tables), in
    process, and the same ``refsim explore`` stopped by ``--max-states 1`` (Python's
    start, the imports, reading the file, one state) as a whole process.

    python benchmarks/bench_explore.py [--runtime unsafe] [--repeat 3] [--spin-only]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from refsim.explore import explore
from refsim.machine import Machine
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec


def counter(threads: int, increments: int) -> Scenario:
    body = tuple(Op(OpKind.ADD, "counter", 1) for _ in range(increments))
    return Scenario(
        name=f"counter_{threads}x{increments}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        variables=(("counter", 0),),
    )


def refcounts(threads: int) -> Scenario:
    kinds = ("incref", "use", "decref", "incref", "decref")
    body = tuple(Op(OpKind(kind), "obj") for kind in kinds)
    return Scenario(
        name=f"refcounts_{threads}x5",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", 1),),
    )


def producer_consumer(items: int) -> Scenario:
    """Two producers and two consumers through a queue of 2: each producer does ``items``
    times ``compute 1, put Q``; each consumer ``items`` times ``get Q, done += 1`` (the
    consumers' count races)."""
    produce = (Op(OpKind.COMPUTE, None, 1), Op(OpKind.PUT, "Q")) * items
    consume = (Op(OpKind.GET, "Q"), Op(OpKind.ADD, "done", 1)) * items
    return Scenario(
        name=f"prodcons_2+2x{items}",
        threads=(
            ThreadSpec("P1", produce),
            ThreadSpec("P2", produce),
            ThreadSpec("C1", consume),
            ThreadSpec("C2", consume),
        ),
        variables=(("done", 0),),
        queues=(("Q", 2),),
    )


def floor(scenario: Scenario, runtime: Runtime, steps: int) -> float:
    """Seconds for ``steps`` bare machine steps (restarting the run when it ends)."""
    machine = Machine(scenario, runtime)
    state = machine.initial()
    start = time.perf_counter()
    for _ in range(steps):
        enabled = machine.enabled(state)
        if not enabled:
            state = machine.initial()
            enabled = machine.enabled(state)
        state = machine.step(state, enabled[-1])[0]
    return time.perf_counter() - start


def measure(scenario: Scenario, runtime: Runtime, repeat: int) -> None:
    best = float("inf")
    exploration = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        exploration = explore(scenario, runtime=runtime)
        best = min(best, time.perf_counter() - start)
    assert exploration is not None
    gc.collect()
    tracemalloc.start()
    explore(scenario, runtime=runtime)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Each state is expanded once, stepping about one thread per enabled group: use the
    # states times the threads as the step count of the floor.
    steps = exploration.states * len(scenario.threads)
    bare = floor(scenario, runtime, steps)
    print(
        f"{scenario.name:<16} {runtime.value:<7} {exploration.interleavings:>26,} "
        f"{exploration.states:>9,} {len(exploration.outcomes):>8} {best:>8.3f}s "
        f"{exploration.states / best:>12,.0f} {peak / 2**20:>9.1f} MiB "
        f"{best / bare:>6.1f}x"
    )


SPIN_MODELS = Path(__file__).parent / "spin"
"""The Promela models: ``counter_NxK.pml``, N threads x K ``counter += 1``."""


def whole_process(argv: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run ``argv`` to its end: wall seconds, peak resident memory (bytes), stdout."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.stderr:
        process.stderr.read()
    return seconds, usage.ru_maxrss * 1024, out.decode()


def counter_file(threads: int, increments: int, folder: Path) -> Path:
    """The scenario file of :func:`counter` (what a user would write)."""
    line = ", ".join(["counter += 1"] * increments)
    body = "\n".join(f"  T{i + 1}: [{line}]" for i in range(threads))
    path = folder / f"counter_{threads}x{increments}.yaml"
    path.write_text(
        f"name: counter_{threads}x{increments}\nruntime: unsafe\nvariables:\n  counter: 0\n"
        f"threads:\n{body}\n"
    )
    return path


def count_floor(scenario: Scenario) -> tuple[float, int]:
    """The least work an exact count does in Python: CPU seconds to expand every state of
    the compact state space once and carry one integer per edge forward, layer by layer
    (every step is one micro-step, so a layer is a depth), and the interleavings counted
    (to check against the explorer's)."""
    from refsim.statespace import Space, pack

    gc.collect()
    start = time.process_time()
    space = Space(Machine(scenario))
    lids, sid, _, _ = space.compact(space.root)
    key = pack(lids, sid)
    layer, paths = {key: (lids, sid)}, {key: 1}
    total = 0
    while layer:
        following: dict[tuple[int, ...], tuple[list[int], int]] = {}
        reached: dict[tuple[int, ...], int] = {}
        for key, (lids, sid) in layer.items():
            _, _, children = space.expand(lids, sid)
            if not children:
                total += paths[key]
            for child in children:
                if child[0] not in following:
                    following[child[0]] = (child[1], child[2])
                reached[child[0]] = reached.get(child[0], 0) + paths[key] * child[3]
        layer, paths = following, reached
    return time.process_time() - start, total


def beside_spin(repeat: int) -> None:
    """(d): SPIN's verifier and refsim on the same programs, whole processes."""
    spin, gcc = shutil.which("spin"), shutil.which("gcc") or shutil.which("cc")
    print()
    print("beside SPIN (whole processes, best of", repeat, "runs; memory: peak resident)")
    if spin is None or gcc is None:
        print("SPIN not installed (needs `spin` and a C compiler): timing refsim alone")
    print(
        f"{'model':<12} {'SPIN states':>12} {'SPIN':>8} {'SPIN mem':>9} {'refsim states':>14} "
        f"{'interleavings':>22} {'refsim':>8} {'refsim mem':>11} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for model in sorted(SPIN_MODELS.glob("counter_*x*.pml")):
            found = re.fullmatch(r"counter_(\d+)x(\d+)", model.stem)
            assert found is not None, model
            threads, increments = int(found[1]), int(found[2])
            spin_time = spin_memory = None
            spin_states = "-"
            if spin is not None and gcc is not None:
                work = folder / model.stem
                work.mkdir()
                shutil.copy(model, work)
                compile_start = time.perf_counter()
                subprocess.run([spin, "-a", model.name], cwd=work, check=True,
                               capture_output=True)  # fmt: skip
                subprocess.run([gcc, "-O2", "-DSAFETY", "-DNOCLAIM", "-o", "pan", "pan.c"],
                               cwd=work, check=True, capture_output=True)  # fmt: skip
                compiled = time.perf_counter() - compile_start
                runs = [whole_process(["./pan", "-m100000"], work) for _ in range(repeat)]
                spin_time = min(r[0] for r in runs)
                spin_memory = max(r[1] for r in runs)
                stored = re.search(r"(\d+) states, stored", runs[0][2])
                spin_states = f"{int(stored[1]):,}" if stored else "?"
            path = counter_file(threads, increments, folder)
            argv = [sys.executable, "-m", "refsim", "explore", str(path), "--json",
                    "--max-seconds", "none", "--max-memory", "none"]  # fmt: skip
            runs = [whole_process(argv, folder) for _ in range(repeat)]
            refsim_time = min(r[0] for r in runs)
            refsim_memory = max(r[1] for r in runs)
            document = json.loads(runs[0][2])
            ratio = f"{refsim_time / spin_time:.2f}" if spin_time else "-"
            print(
                f"{model.stem:<12} {spin_states:>12} "
                f"{(f'{spin_time:.2f}s' if spin_time else '-'):>8} "
                f"{(f'{spin_memory / 1e6:.0f} MB' if spin_memory else '-'):>9} "
                f"{document['states']:>14,} {document['interleavings']:>22,} "
                f"{refsim_time:>7.2f}s {refsim_memory / 1e6:>8.0f} MB {ratio:>6}"
            )
            if spin_time:
                print(f"{'':<12} (SPIN's generation and gcc: {compiled:.2f}s, not counted)")
            floor, counted = min(count_floor(counter(threads, increments)) for _ in range(repeat))
            assert counted == document["interleavings"], (counted, document["interleavings"])
            started = min(
                whole_process([*argv[:-4], "--max-states", "1"], folder)[0] for _ in range(repeat)
            )
            print(
                f"{'':<12} (floor of an exact count: expanding every state, one integer an"
                f" edge: {floor:.2f}s CPU; start, reading, one state: {started:.2f}s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spin-only", action="store_true", help="only part (d)")
    args = parser.parse_args()
    if args.spin_only:
        beside_spin(args.repeat)
        return
    runtimes = [Runtime(args.runtime)] if args.runtime else list(Runtime)
    print(
        f"{'scenario':<16} {'runtime':<7} {'interleavings':>26} {'states':>9} {'outcomes':>8} "
        f"{'time':>9} {'states/s':>12} {'peak mem':>13} {'vs bare steps':>6}"
    )
    for scenario in (counter(2, 5), counter(3, 4), refcounts(3), producer_consumer(3)):
        for runtime in runtimes:
            measure(scenario, runtime, args.repeat)
    beside_spin(args.repeat)


if __name__ == "__main__":
    main()
