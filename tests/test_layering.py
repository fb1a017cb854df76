"""The layering of ARCHITECTURE.md, enforced: every module in refsim/ is parsed with ``ast``
and its imports are checked against its layer.

Modules are classified by name. A module this file does not know is an *adapter* until
someone says otherwise here, so a new module is covered the day it appears (and a core
module cannot start importing it without a decision).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "refsim"

# Layer ranks: imports point down (to a lower or equal rank) only.
VALUES, CORE, DRIVER, ADAPTER, ENTRY = 0, 1, 2, 3, 4
LAYER_NAMES = {VALUES: "values", CORE: "core", DRIVER: "driver", ADAPTER: "adapter", ENTRY: "entry"}

LAYERS = {
    "model": VALUES,
    "trace": VALUES,
    "errors": VALUES,
    "perthread": VALUES,  # immutable per-thread sequences a machine state is made of
    "runtimes": CORE,
    "lowering": CORE,
    "machine": CORE,
    "scheduling": CORE,
    "engine": DRIVER,
    "timed": DRIVER,
    "costs": DRIVER,
    "explore": DRIVER,
    "statespace": DRIVER,  # the explorer's compact states, stepped through the machine
    "search": DRIVER,
    "sweep": DRIVER,  # the quantum sweep: one engine run per time slice
    "play": DRIVER,
    "graph": DRIVER,  # the state graph a page walks: the machine, stepped everywhere
    "budget": DRIVER,
    "claims": ADAPTER,
    "compare": ADAPTER,
    "story": ADAPTER,
    "page": ADAPTER,
    "render": ADAPTER,
    "loader": ADAPTER,
    "schema": ADAPTER,
    "report": ADAPTER,
    "plot": ADAPTER,
    "bundled": ADAPTER,
    "real": ADAPTER,  # the real-machine experiments: drive the explorer and the timed model
    "cli": ENTRY,
    "__main__": ENTRY,
    "__init__": ENTRY,  # the package: re-exports from every layer
}
"""Modules by name (a subpackage's modules go by their first component)."""

CORE_MODULES = {name for name, rank in LAYERS.items() if rank <= CORE}

HEAVY = {
    "simpy",
    "yaml",
    "_yaml",
    "argparse",
    "rich",
    "matplotlib",
    "hypothesis",
    "pydantic",
    "pydantic_core",
}
"""Libraries the core (values included) never imports."""

ONLY_IMPORTER = {
    "simpy": ("engine", "timed"),
    "hypothesis": ("search",),
    "cffi": ("real.shim",),
}
"""Libraries that only the named modules of refsim/ may import (the two SimPy drivers; the
C shim's builder)."""


FIGURES = "plot"
"""The figures draw values and run nothing (refsim/plot/__init__.py): a run a figure
shows is made below them, by a driver or by the module whose concept it is
(:func:`refsim.compare.timed_rows` for ``refsim compare --plot``)."""

RENDERERS = ("render", "plot", "report")
"""The modules that print or draw values."""

SHOWN = ("claims", "compare")
"""Adapters whose values a renderer shows: a renderer imports them, never the reverse, so
that what they return is a plain value (a verdict, a comparison's rows and runs), not a
figure's or a table's part."""


def layer(module: str) -> int:
    return LAYERS.get(module.split(".")[0], ADAPTER)


def figure_values_built(module: str, source: str) -> list[str]:
    """Where an entry module imports a class from the figures (``from refsim.plot import
    Variant``): the command line draws values made below it, and never builds a figure's
    input itself (``compare --plot``'s runs once were, in refsim/cli/plot.py). Functions
    (``draw_run``) and constants (``FORMATS``) are what it may take."""
    if layer(module) != ENTRY:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("refsim.plot"):
            for alias in node.names:
                name = alias.name
                if name[:1].isupper() and not name.isupper():
                    where = f"refsim/{module.replace('.', '/')}.py:{node.lineno}"
                    found.append(
                        f"{where}: {module} (entry) imports {name} from {node.module}: the "
                        f"figures draw values made below the command line; make them there"
                    )
    return found


def _roles(module: str, other: str) -> str | None:
    """Why ``module`` may not import ``other`` though the layers allow it, if it may not."""
    mine, theirs = module.split(".")[0], other.split(".")[0]
    if mine == FIGURES and layer(other) == DRIVER:
        return (
            f"{module} (a figure) imports {other} (driver): figures draw values and run "
            f"nothing; make the run below them and pass it in"
        )
    if mine in SHOWN and theirs in RENDERERS:
        return (
            f"{module} imports {other} (a renderer): renderers import {mine}, not the reverse; "
            f"return a plain value and let the renderer turn it into a table or a figure"
        )
    return None


def module_name(path: Path, root: Path) -> str:
    """``refsim/machine.py`` -> ``machine``; ``refsim/sub/x.py`` -> ``sub.x``;
    ``refsim/sub/__init__.py`` -> ``sub.__init__``."""
    return ".".join(path.relative_to(root).with_suffix("").parts)


DISPLAY_HOOK = ("_repr_html_", "refsim.render.notebook")
"""The one upward import allowed: a value's ``_repr_html_`` (Jupyter's display hook)
hands itself to the notebook renderer, so that the value's module holds no HTML. Only
that method may, and only that module."""


def _display_hooks(tree: ast.AST) -> set[int]:
    """The ids of the import nodes that are a value's display hook (DISPLAY_HOOK)."""
    name, target = DISPLAY_HOOK
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module == target:
                    found.add(id(inner))
    return found


def imports(module: str, source: str, siblings: set[str]) -> list[tuple[int, str]]:
    """Every import in ``source`` as (line, target). A target is ``"refsim:NAME"`` for a
    module of the package (``NAME`` as :func:`module_name` gives it) and the top-level name
    otherwise (``"simpy"``). Imports inside functions and ``if TYPE_CHECKING:`` count too,
    except a display hook (DISPLAY_HOOK).
    """
    package = module.split(".")[:-1]

    def resolve(parts: list[str]) -> str:
        if parts[0] != "refsim":
            return parts[0]
        name = ".".join(parts[1:])
        if not name or f"{name}.__init__" in siblings:
            name = f"{name}.__init__".lstrip(".")
        return f"refsim:{name}"

    found: list[tuple[int, str]] = []
    tree = ast.parse(source)
    hooks = _display_hooks(tree)
    for node in ast.walk(tree):
        if id(node) in hooks:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, resolve(alias.name.split("."))) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["refsim", *package[: len(package) - (node.level - 1)]]
                base += node.module.split(".") if node.module else []
            else:
                base = (node.module or "").split(".")
            for alias in node.names:
                # `from refsim import machine` imports a module; `from refsim import run`
                # a name re-exported by the package.
                sub = [*base, alias.name]
                is_module = base[0] == "refsim" and (
                    ".".join(sub[1:]) in siblings or ".".join([*sub[1:], "__init__"]) in siblings
                )
                found.append((node.lineno, resolve(sub if is_module else base)))
    return found


def violations(sources: dict[str, str]) -> list[str]:
    """The layering rules, broken: one line per offending import. ``sources`` maps module
    names (as :func:`module_name` gives them) to their text."""
    siblings = set(sources)
    problems: list[str] = []
    for module, source in sorted(sources.items()):
        problems += figure_values_built(module, source)
        rank = layer(module)
        for line, target in imports(module, source, siblings):
            where = f"refsim/{module.replace('.', '/')}.py:{line}"
            if target.startswith("refsim:"):
                other = target.removeprefix("refsim:")
                if other == module:
                    continue
                if layer(other) > rank:
                    problems.append(
                        f"{where}: {module} ({LAYER_NAMES[rank]}) imports {other} "
                        f"({LAYER_NAMES[layer(other)]}): imports must point down; if {other} "
                        f"belongs lower, classify it in tests/test_layering.py LAYERS"
                    )
                elif (why := _roles(module, other)) is not None:
                    problems.append(f"{where}: {why}")
                continue
            if rank <= CORE and target in HEAVY:
                problems.append(f"{where}: core module {module} imports {target}")
            owners = ONLY_IMPORTER.get(target)
            if owners is not None and module not in owners:
                allowed = " and ".join(f"refsim/{owner.replace('.', '/')}.py" for owner in owners)
                problems.append(f"{where}: only {allowed} may import {target}, not {module}")
    return problems


def package_sources(root: Path = PACKAGE) -> dict[str, str]:
    return {
        module_name(path, root): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.py"))
    }


# -- the package itself -----------------------------------------------------------------------


def test_refsim_keeps_its_layers() -> None:
    sources = package_sources()
    assert CORE_MODULES <= set(sources), "core modules missing: wrong PACKAGE?"
    assert [] == violations(sources)


def test_the_core_is_what_the_brief_says() -> None:
    expected = {"model", "trace", "errors", "runtimes", "lowering", "machine", "scheduling"}
    expected |= {"perthread"}  # the machine state's chunked per-thread parts (issue 16)
    assert expected == CORE_MODULES


# -- the checker, on made-up packages (so the test above can fail) ------------------------------


@pytest.mark.parametrize(
    "lib", ["simpy", "yaml", "argparse", "rich", "matplotlib", "hypothesis", "pydantic"]
)
@pytest.mark.parametrize("core", sorted(CORE_MODULES))
def test_core_may_not_import_heavy_libraries(core: str, lib: str) -> None:
    for source in [f"import {lib}\n", f"from {lib} import x\n", f"import {lib}.sub as s\n"]:
        found = violations({core: source})
        assert any(f"core module {core} imports {lib}" in p for p in found), (source, found)


def test_imports_inside_functions_and_type_checking_blocks_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import rich\n"
        "def f():\n"
        "    from matplotlib import pyplot\n"
    )
    expected = [
        "refsim/machine.py:3: core module machine imports rich",
        "refsim/machine.py:5: core module machine imports matplotlib",
    ]
    assert expected == violations({"machine": source})


def test_only_the_engine_imports_simpy_and_only_search_imports_hypothesis() -> None:
    sources = {
        "engine": "import simpy\n",
        "search": "from hypothesis import given\n",
        "report": "import simpy\nimport hypothesis.strategies\n",
        "timed": "import simpy\n",  # the timed driver: allowed explicitly
        "brand_new": "import simpy\n",  # a new module: must be allowed explicitly
    }
    expected = [
        "refsim/brand_new.py:1: only refsim/engine.py and refsim/timed.py may import simpy, "
        "not brand_new",
        "refsim/report.py:1: only refsim/engine.py and refsim/timed.py may import simpy, "
        "not report",
        "refsim/report.py:2: only refsim/search.py may import hypothesis, not report",
    ]
    assert expected == violations(sources)


@pytest.mark.parametrize(
    "upper",
    [
        "engine",
        "explore",
        "search",
        "loader",
        "schema",
        "report",
        "plot",
        "cli",
        "__main__",
        "bundled",
        "brand_new",
    ],
)
@pytest.mark.parametrize("core", sorted(CORE_MODULES))
def test_core_may_not_import_drivers_adapters_or_entry_modules(core: str, upper: str) -> None:
    sources = {core: f"from refsim.{upper} import thing\n", upper: ""}
    [problem] = violations(sources)
    assert problem.startswith(f"refsim/{core}.py:1: {core} ")
    assert f"imports {upper} (" in problem


def test_relative_and_package_imports_are_resolved() -> None:
    sources = {
        "machine": (
            "from . import engine\n"
            "from .report import x\n"
            "from refsim import run\n"
            "import refsim.cli\n"
        ),
        "engine": "",
        "report": "",
        "cli": "",
        "__init__": "from refsim.engine import run\n",
    }
    found = violations(sources)
    expected = [
        "refsim/machine.py:1: machine (core) imports engine (driver)",
        "refsim/machine.py:2: machine (core) imports report (adapter)",
        "refsim/machine.py:3: machine (core) imports __init__ (entry)",
        "refsim/machine.py:4: machine (core) imports cli (entry)",
    ]
    assert expected == [p.split(": imports must")[0] for p in found]


def test_downward_imports_are_fine() -> None:
    sources = {
        "model": "import re\n",
        "trace": "from refsim.model import Schedule\n",
        "machine": "from refsim.lowering import lower\nfrom .trace import Anomaly\n",
        "engine": "import simpy\nfrom refsim.machine import Machine\n",
        "report": "import rich\nfrom refsim.engine import run\n",
        "cli": "import argparse\nfrom refsim import report\n",
        "__init__": "from refsim.engine import run\nfrom refsim.loader import load_file\n",
    }
    assert [] == violations(sources)


def test_values_may_not_import_the_rest_of_the_core() -> None:
    assert ["refsim/trace.py:1: trace (values) imports machine (core)"] == [
        p.split(": imports must")[0] for p in violations({"trace": "import refsim.machine\n"})
    ]


def test_unknown_modules_are_adapters() -> None:
    assert ADAPTER == layer("brand_new")
    assert ADAPTER == layer("sub.pkg")
    assert CORE == layer("machine")


def test_module_names(tmp_path: Path) -> None:
    root = tmp_path / "refsim"
    (root / "sub").mkdir(parents=True)
    for rel in ["__init__.py", "machine.py", "sub/__init__.py", "sub/x.py"]:
        (root / rel).write_text("")
    assert {"__init__", "machine", "sub.__init__", "sub.x"} == set(package_sources(root))


def test_subpackage_imports_are_resolved() -> None:
    sources = {
        "sub.__init__": "from . import x\nfrom .. import cli\n",
        "sub.x": "from ..machine import Machine\nfrom . import y\n",
        "sub.y": "",
        "machine": "from refsim.sub import x\nimport refsim.sub\n",
        "cli": "",
    }
    expected = [
        "refsim/machine.py:1: machine (core) imports sub.x (adapter)",
        "refsim/machine.py:2: machine (core) imports sub.__init__ (adapter)",
        "refsim/sub/__init__.py:2: sub.__init__ (adapter) imports cli (entry)",
    ]
    assert expected == [p.split(": imports must")[0] for p in violations(sources)]


# -- figures and the values they show ------------------------------------------------------------


def test_figures_draw_values_and_run_nothing() -> None:
    sources = {
        "plot.timed_figure": "from refsim.timed import run_timed\nimport refsim.trace\n",
        "plot.outcomes": "from refsim.explore import explore\nfrom refsim.model import Outcome\n",
        "plot.picture": "from refsim.machine import Machine\nfrom refsim.replay import replay\n",
        "timed": "",
        "trace": "",
        "explore": "",
        "model": "",
        "machine": "",
        "replay": "",
    }
    expected = [
        "refsim/plot/outcomes.py:1: plot.outcomes (a figure) imports explore (driver)",
        "refsim/plot/timed_figure.py:1: plot.timed_figure (a figure) imports timed (driver)",
    ]
    assert expected == [p.split(": figures draw")[0] for p in violations(sources)]


def test_a_comparison_and_a_verdict_are_values_their_renderers_import() -> None:
    sources = {
        "compare": "from refsim.plot import Variant\nfrom refsim.timed import run_timed\n",
        "claims": "from refsim.render.verdict import verdict_text\nimport refsim.report\n",
        "render.compare": "from refsim.compare import Row\n",
        "plot.timed_figure": "from refsim.trace import RunResult\n",
        "plot.__init__": "",
        "render.verdict": "",
        "report": "",
        "timed": "",
        "trace": "",
    }
    expected = [
        "refsim/claims.py:1: claims imports render.verdict (a renderer)",
        "refsim/claims.py:2: claims imports report (a renderer)",
        "refsim/compare.py:1: compare imports plot.__init__ (a renderer)",
    ]
    assert expected == [p.split(": renderers import")[0] for p in violations(sources)]


def test_the_command_line_builds_no_figure_values() -> None:
    sources = {
        "cli.plot": (
            "from typing import TYPE_CHECKING\n"
            "from refsim.plot import FORMATS, draw_comparison, save_figure\n"
            "if TYPE_CHECKING:\n"
            "    from refsim.plot import Variant\n"
            "def f():\n"
            "    from refsim.plot.timed_figure import Panel, draw_timed\n"
        ),
        "compare": "from refsim.trace import RunResult\n",
        "plot.__init__": "",
        "plot.timed_figure": "",
        "trace": "",
    }
    expected = [
        "refsim/cli/plot.py:4: cli.plot (entry) imports Variant from refsim.plot",
        "refsim/cli/plot.py:6: cli.plot (entry) imports Panel from refsim.plot.timed_figure",
    ]
    assert expected == [p.split(": the figures draw")[0] for p in violations(sources)]


# -- the real-machine experiments (refsim/real/) ------------------------------------------------


def test_the_experiments_are_adapters() -> None:
    assert ADAPTER == layer("real.counter")
    assert ADAPTER == layer("real.__init__")


def test_the_experiments_may_drive_the_explorer_and_the_timed_model() -> None:
    sources = {
        "real.gil": "from refsim.timed import run_timed\nfrom refsim.costs import BYTECODE\n",
        "real.prediction": "from refsim.explore import explore\nfrom refsim.model import Op\n",
        "real.shim": "import cffi\nfrom refsim.errors import RefsimError\n",
        "timed": "",
        "costs": "",
        "explore": "",
        "model": "",
        "errors": "",
    }
    assert [] == violations(sources)


def test_nothing_below_the_experiments_imports_them() -> None:
    sources = {
        "timed": "from refsim.real import counter\n",
        "explore": "import refsim.real.gil\n",
        "real.__init__": "",
        "real.counter": "",
        "real.gil": "",
    }
    expected = [
        "refsim/explore.py:1: explore (driver) imports real.gil (adapter)",
        "refsim/timed.py:1: timed (driver) imports real.counter (adapter)",
    ]
    assert expected == [p.split(": imports must")[0] for p in violations(sources)]


def test_only_the_shim_imports_cffi() -> None:
    sources = {"real.shim": "import cffi\n", "real.hardware": "from cffi import FFI\n"}
    expected = [
        "refsim/real/hardware.py:1: only refsim/real/shim.py may import cffi, not real.hardware"
    ]
    assert expected == violations(sources)


# -- the display hook -------------------------------------------------------------------------


def test_a_value_may_hand_its_display_to_the_notebook_renderer_and_nothing_more() -> None:
    hook = (
        "class RunResult:\n"
        "    def _repr_html_(self):\n"
        "        from refsim.render.notebook import run_html\n"
        "        return run_html(self)\n"
    )
    elsewhere = (
        "def show(result):\n"
        "    from refsim.render.notebook import run_html\n"
        "def _repr_html_(self):\n"
        "    from refsim.render.html import page_html\n"
    )
    sources = {"trace": hook, "model": elsewhere, "render.notebook": "", "render.html": ""}
    expected = [
        "refsim/model.py:2: model (values) imports render.notebook (adapter)",
        "refsim/model.py:4: model (values) imports render.html (adapter)",
    ]
    assert expected == [p.split(": imports must")[0] for p in violations(sources)]
