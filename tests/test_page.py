"""``refsim html``: the page as a file (its parts, its data, its policy, its bytes) and the
command that writes it. tests/test_browser.py opens the pages in Chromium."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

import pytest
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)

from refsim.bundled import bundled_scenarios
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_file, load_text
from refsim.model import Runtime, Schedule
from refsim.page import gather
from refsim.render.html import page_html
from refsim.render.page_data import FORMAT
from refsim.story import gather as tell

pytestmark = pytest.mark.usefixtures("repo_root")

HOSTILE = """\
name: "<script>alert('name')</script>"
description: "A description with <img src=x onerror=alert('description')>, a </textarea>, \
  a </script> and <!-- a comment, [bold]markup[/bold] and a bell \\a."
objects:
  obj: 2
threads:
  T1: [decref obj]
  T2: [decref obj]
"""


def page_of(text: str, name: str = "leak", runtime: Runtime | None = None, **options) -> str:  # type: ignore[no-untyped-def]
    scenario = load_text(text, filename=f"{name}.yaml")
    return page_html(gather(tell(scenario, name, runtime), **options))


def bundled_page(name: str, **options) -> str:  # type: ignore[no-untyped-def]
    return page_html(gather(tell(load_file(f"scenarios/{name}.yaml"), name), **options))


def data_of(page: str) -> dict:  # type: ignore[type-arg]
    match = re.search(r'<script type="application/json" id="refsim-data">(.*?)</script>', page)
    assert match is not None
    return json.loads(match[1])


def inline(page: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def leak_page() -> str:
    return bundled_page("leak")


def test_the_page_tells_the_story(leak_page: str) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", " ", leak_page))
    flat = " ".join(text.split())
    for said in [
        "1. The scenario: leak",
        "2. How often each outcome happens (runtime unsafe)",
        "exact: every one of 20 interleavings counted",
        "leak, lost-update · obj = 1 18 90.0%",
        "schedule T1 T2*3 T1*2, 6 steps, 1 preemption",
        "! lost-update: T1 stored 1 over T2's store of 1: T2's decref is lost",
        "step 6 T1 stores 1 into obj's refcount over T2's 1: T2's decref is lost.",
        "4. Step through a run",
        "5. Be the scheduler",
        "6. What the GIL changes",
        "7. Go further",
        'refsim run leak --schedule "T1 T2*3 T1*2"',
        "refsim html leak -o leak.html",
    ]:
        assert said in flat


def test_the_figure_is_an_svg_inside_the_page(leak_page: str) -> None:
    [source] = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', leak_page)
    svg = base64.b64decode(source).decode()
    assert svg.startswith("<?xml") and "</svg>" in svg


def test_nothing_is_loaded_from_anywhere(leak_page: str) -> None:
    # No URL at all: every src and href is a data: URL or an anchor in the page.
    refs = re.findall(r'(?:src|href)="([^"]*)"', leak_page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert "http://" not in leak_page and "https://" not in leak_page.replace("https://peps", "")


def test_the_policy_allows_only_the_pages_own_script_and_style(leak_page: str) -> None:
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', leak_page)
    [style] = inline(leak_page, "style")
    [script] = inline(leak_page, "script")
    expected = (
        f"default-src 'none'; script-src {sha256(script)}; style-src {sha256(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    assert expected == policy
    assert "unsafe-inline" not in policy


def test_the_data_is_what_the_script_reads(leak_page: str) -> None:
    data = data_of(leak_page)
    [part] = data["parts"]
    assert (FORMAT, "leak", "unsafe", True, 31) == (
        data["format"],
        data["scenario"],
        data["runtime"],
        part["complete"],
        part["states"],
    )
    strings = data["s"]
    assert ["T1", "T2"] == part["threads"]
    witnesses = [schedule for _, schedule in part["witnesses"]]
    assert ["T1 T2*3 T1*2", "T1*3 T2*4"] == witnesses
    # The root's table: 18 of 20 leak, 2 freed.
    table = part["tables"][part["nodes"][0][3]]
    rows = [(strings[part["outcomes"][o][0]], strings[c], strings[s]) for o, c, s in table[:-1]]
    assert [
        ("leak, lost-update · obj = 1", "18", "90.0%"),
        ("no anomaly · obj freed", "2", "10.0%"),
    ] == rows
    assert "20" == strings[table[-1]]
    assert ['refsim run leak --schedule "', '"'] == part["replay"]


def test_the_data_walks_as_the_engine_runs(leak_page: str) -> None:
    data = data_of(leak_page)
    [part] = data["parts"]
    strings = data["s"]
    scenario = load_file("scenarios/leak.yaml")
    schedule = Schedule.parse("T1 T2*3 T1*2")
    node = 0
    for event in run(scenario, schedule=schedule).trace or ():
        t = part["threads"].index(event.thread)
        entry = part["nodes"][node]
        nxt, _, _ = part["tstates"][entry[1][t]]
        op, micro, _ = part["nexts"][nxt]
        move = entry[0][t] + [None] * 5
        values = (move[2], move[3], move[4])
        assert (event.op, event.micro) == (strings[op], strings[micro])
        assert (event.register, event.value, event.true_refs) == values
        node = move[0]
    assert "leak, lost-update · obj = 1" == strings[part["outcomes"][part["nodes"][node][4]][0]]


def test_the_same_input_gives_the_same_bytes() -> None:
    assert bundled_page("double_free") == bundled_page("double_free")


def test_hostile_text_is_only_ever_text() -> None:
    page = page_of(HOSTILE, name="h")
    # The page's own two scripts, and no other: every < in the file's text is escaped.
    assert 2 == page.count("<script")
    assert "onerror=" not in page.replace("onerror=alert", "")  # only inside escaped text
    assert "<img src=x" not in page and "</textarea>" not in page
    assert "&lt;img src=x onerror=alert(&#x27;description&#x27;)&gt;" in page
    assert "<title>&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt; · refsim</title>" in page
    assert "[bold]markup[/bold] and a bell ␇." in page
    # In the data the name is JSON-escaped, so it cannot end the element.
    data = data_of(page)
    assert "<script>alert('name')</script>" == data["scenario"]
    [raw] = re.findall(r'id="refsim-data">(.*?)</script>', page)
    assert "<" not in raw and ">" not in raw


def test_past_the_budget_the_page_keeps_the_witnesses_only() -> None:
    page = bundled_page("double_free", max_states=100)
    [part] = data_of(page)["parts"]
    # The 8 outcomes' witnesses pass through 105 of the 1,241 states.
    assert (False, 105, 8) == (part["complete"], part["states"], len(part["witnesses"]))
    assert all(node[3] == -1 for node in part["nodes"])
    label = "the failing run: double-free, lost-update, premature-free, use-after-free · obj freed"
    assert [label, "T1 T2*3 T1*5 T2*4 T1*4 T2*3"] == part["witnesses"][0]


def test_a_scenario_with_processes_has_a_part_each() -> None:
    data = data_of(bundled_page("io_then_transform"))
    assert [("main", 2401), ("P1", 1001), ("P2", 1001)] == [
        (p["process"], p["states"]) for p in data["parts"]
    ]


def test_each_process_is_counted_once_for_the_story_and_its_page() -> None:
    # The story counts every process under its runtime; the page takes those tables
    # rather than counting again, and they are the explorer's.
    scenario = load_file("scenarios/io_then_transform.yaml")
    story = tell(scenario, "io_then_transform")
    page = gather(story, figure=False)
    processes = scenario.per_process()
    assert [True, True, True] == [
        part.table is table for part, table in zip(page.parts, story.counted, strict=True)
    ]
    expected = [explore(p, runtime=story.runtime).outcomes for p in processes]
    assert expected == [table.outcomes for table in story.counted if table is not None]


def test_without_matplotlib_the_page_says_so_and_works(monkeypatch: pytest.MonkeyPatch) -> None:
    import refsim.plot

    monkeypatch.setattr(refsim.plot, "matplotlib_available", lambda: False)
    page = bundled_page("leak")
    assert "<img" not in page
    assert (
        "needs matplotlib, which is not installed here: pip install &#x27;refsim[plot]&#x27;"
        in page
    )
    assert data_of(page)["parts"][0]["complete"]


# -- the command --------------------------------------------------------------------------


def test_refsim_html_writes_a_page_and_never_overwrites_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "leak.html"
    status, said, _ = refsim(capsys, "html", "leak", "-o", str(out))
    assert (0, True) == (status, said.startswith(f"wrote {out}: 31 states to play, 0."))
    before = out.read_bytes()
    out.write_text("the teacher's notes")
    status, _, err = refsim(capsys, "html", "leak", "-o", str(out))
    assert (2, "the teacher's notes") == (status, out.read_text())
    assert f"error: -o {out}: the file exists; pass --force to overwrite it\n" == err
    assert 0 == refsim(capsys, "html", "leak", "-o", str(out), "--force")[0]
    assert before == out.read_bytes()


def test_refsim_html_takes_the_runtime(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "gil.html"
    assert 0 == refsim(capsys, "html", "leak", "--runtime", "gil", "-o", str(out))[0]
    data = data_of(out.read_text())
    assert ("gil", 15) == (data["runtime"], data["parts"][0]["states"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("html", "-o", "x.html"), "give a scenario FILE (or a bundled scenario's name), or --all"),
        (("html", "leak", "--all", "-o", "x"),
         "--all writes every bundled scenario: give FILE or --all, not both"),
    ],
)  # fmt: skip
def test_refsim_html_wants_one_file_or_all(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    assert (2, f"error: {message}\n") == refsim(capsys, *argv)[::2]


@pytest.mark.slow
def test_refsim_html_all_writes_a_site(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    site = tmp_path / "site"
    status, out, _ = refsim(capsys, "html", "--all", "-o", str(site))
    names = sorted(p.name for p in site.iterdir())
    expected = sorted([f"{p.stem}.html" for p in bundled_scenarios()] + ["index.html"])
    assert (0, expected) == (status, names)
    assert f"wrote {site / 'index.html'}: the index of {len(expected) - 1} pages\n" in out
    sizes = {p.name: p.stat().st_size for p in site.iterdir()}
    assert {} == {name: size for name, size in sizes.items() if size > 2_000_000}
    index = (site / "index.html").read_text()
    assert all(f'href="{name}"' in index for name in expected if name != "index.html")
    # A second time: nothing is overwritten without --force, and nothing is half written.
    (site / "leak.html").write_text("mine")
    assert 2 == refsim(capsys, "html", "--all", "-o", str(site))[0]
    assert "mine" == (site / "leak.html").read_text()


def test_the_commands_the_docs_show_write_what_they_say(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README.md and the how-to show these in text blocks (they write files): run them here.
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "refsim html leak -o leak.html\n" in readme
    monkeypatch.chdir(tmp_path)
    status, out, _ = refsim(capsys, "html", "leak", "-o", "leak.html")
    # The size is the figure's, mostly, which a newer matplotlib may draw a little apart.
    said = re.fullmatch(r"wrote leak.html: 31 states to play, 0\.1\d MB\n", out)
    assert (0, True) == (status, said is not None)
