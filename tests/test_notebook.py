"""refsim in Jupyter: the values' HTML (render/notebook.py), bundled names in
``refsim.load_file``, figures that show themselves, and the example notebook, run."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

import refsim
from refsim.model import Schedule
from refsim.story import gather

ROOT = Path(__file__).parent.parent
NOTEBOOK = ROOT / "docs" / "notebooks" / "first-race.ipynb"


def words(markup: str) -> str:
    """What a reader sees: the text of ``markup``, its spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", markup)).split())


def test_load_file_takes_a_bundled_name_a_course_file_or_a_path() -> None:
    assert "leak" == refsim.load_file("leak").name
    assert "uncounted_global" == refsim.load_file("exercises/03-lost-updates").name
    assert "leak" == refsim.load_file(ROOT / "scenarios" / "leak.yaml").name
    with pytest.raises(refsim.ScenarioError, match="did you mean the bundled scenario 'leak'"):
        refsim.load_file("lek")


def test_a_run_shows_its_trace_and_anomalies() -> None:
    scenario = refsim.load_file("leak")
    result = refsim.run(scenario, schedule=Schedule.parse("T1 T2*3 T1*2"))
    shown = words(result._repr_html_())
    expected = (
        "leak · runtime unsafe · 6 steps, 1 preemption · schedule T1 T2*3 T1*2 "
        "step thread op micro-step register refcount true refs "
        "1 T1 decref obj LOAD 2 2 2 2 T2 decref obj LOAD 2 2 2 3 T2 decref obj SUB 1 2 2 "
        "4 T2 decref obj STORE 1 1 1 5 T1 decref obj SUB 1 1 1 6 T1 decref obj STORE 1 1 0 "
        "! lost-update: T1 stored 1 over T2's store of 1: T2's decref is lost "
        "(register: the thread's private copy of the value it is updating; refcount: the "
        "word in memory; true refs: the references that really exist) "
        "! leak: obj is never freed: its refcount is 1 but no reference to it remains "
        "(true refs 0): a leak final state: obj = 1; leak, lost-update"
    )
    assert expected == shown


def test_an_exploration_shows_its_outcomes_and_witnesses() -> None:
    table = refsim.explore(refsim.load_file("leak"))
    expected = (
        "leak · runtime unsafe · exact: every one of 20 interleavings "
        "outcome interleavings share share, drawn witness preemptions "
        "leak, lost-update · obj = 1 18 90.0% 90.0% T1 T2*3 T1*2 1 "
        "no anomaly · obj freed 2 10.0% 10.0% T1*3 T2*4 0"
    )
    assert expected == words(table._repr_html_())


def test_a_story_shows_its_sections_without_the_pages_script() -> None:
    story = gather(refsim.load_file("leak"), "leak")
    shown = story._repr_html_()
    titles = re.findall(r"<h3>(\d\. [^<]*)</h3>", shown)
    expected = [
        "1. The scenario: leak",
        "2. How often each outcome happens (runtime unsafe)",
        "3. The shortest way it goes wrong",
        "4. What the GIL changes",
        "5. Go further",
    ]
    assert expected == titles
    assert ("<script" not in shown, "<button" not in shown) == (True, True)


def test_scenario_text_is_escaped_in_a_notebook_too() -> None:
    text = (
        'name: "<b>bold</b>"\ndescription: "<script>alert(1)</script>"\n'
        "objects: {obj: 2}\nthreads: {T1: [decref obj], T2: [decref obj]}\n"
    )
    scenario = refsim.load_text(text)
    shown = gather(scenario, "x")._repr_html_() + refsim.explore(scenario)._repr_html_()
    assert ("<script>" in shown, "<b>bold" in shown) == (False, False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_a_figure_shows_itself_as_a_png_and_can_be_written(tmp_path: Path) -> None:
    from refsim.plot import draw_run, save_figure

    scenario = refsim.load_file("leak")
    result = refsim.run(scenario, schedule=Schedule.parse("T1 T2*3 T1*2"))
    figure = draw_run(result, scenario=scenario)
    png = figure._repr_png_()
    save_figure(figure, tmp_path / "leak.png")
    assert png.startswith(b"\x89PNG") and png == (tmp_path / "leak.png").read_bytes()


@pytest.mark.slow
def test_the_example_notebook_runs_and_shows_each_value(tmp_path: Path) -> None:
    import nbclient
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Kernel "python3" is ipykernel's own: this interpreter, with the refsim under test.
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    shown = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kinds = sorted({k for out in cell.outputs for k in out.get("data", {})})
        assert all(out.output_type != "error" for out in cell.outputs), cell.source
        shown.append((cell.source.splitlines()[-1], kinds))
    expected = [
        ("scenario.description", ["text/plain"]),
        ("result", ["text/html", "text/plain"]),
        ("[anomaly.kind.value for anomaly in result.anomalies]", ["text/plain"]),
        ("table", ["text/html", "text/plain"]),
        ("refsim.explore(scenario, runtime=refsim.Runtime.GIL)", ["text/html", "text/plain"]),
        ("figure", ["image/png", "text/plain"]),
        ('save_figure(figure, "leak.png")', []),
        ('gather(scenario, "leak")', ["text/html", "text/plain"]),
    ]
    assert expected == shown
    assert (tmp_path / "leak.png").read_bytes().startswith(b"\x89PNG")
    outputs = {
        cell.source.splitlines()[-1]: cell.outputs
        for cell in notebook.cells
        if cell.cell_type == "code"
    }
    said = words(outputs["table"][0]["data"]["text/html"])
    assert "leak, lost-update · obj = 1 18 90.0%" in said
