"""``refsim html``'s pages in a real browser: Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work offline, so the tests launch
``/usr/bin/chromium`` (``apt-get install -y chromium``; ``.ci/run`` installs it). Without
it, or without playwright, these tests are skipped on a developer's machine and fail in
CI (``CI`` set), so CI never passes by skipping them.

One browser serves the whole session; each test opens its page in a fresh context that
routes every request: the page's own file is served, anything else is counted and
refused, and so is every console error, uncaught exception and dialog. A page that asks
the network for anything, or logs an error, fails the test that opened it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_runner import repo_root  # noqa: F401 (a fixture)

from refsim.bundled import bundled_scenarios
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_file, load_text
from refsim.model import Runtime, Scenario, Schedule
from refsim.page import gather
from refsim.play import Session
from refsim.render.html import index_page, page_html
from refsim.render.text import count_cell, percent
from refsim.story import gather as tell

pytestmark = pytest.mark.usefixtures("repo_root")

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
NAMES = [path.stem for path in bundled_scenarios()]


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("site")


def write_page(folder: Path, scenario: Scenario, file: str, **options: Any) -> Path:
    path = folder / f"{file}.html"
    if not path.exists():
        runtime = options.pop("runtime", None)
        path.write_text(page_html(gather(tell(scenario, file, runtime), **options)), "utf-8")
    return path


def bundled(site: Path, name: str) -> Path:
    return write_page(site, load_file(f"scenarios/{name}.yaml"), name)


@dataclass
class Opened:
    """A page in its own browser context, and what it did besides showing itself."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def text(self, selector: str) -> str:
        return " ".join(self.page.inner_text(selector).split())

    def rows(self, selector: str) -> list[list[str]]:
        found: list[list[str]] = self.page.eval_on_selector_all(
            f"{selector} tbody tr",
            "rows => rows.map(r => Array.from(r.cells, c => c.textContent))",
        )
        return found

    def click(self, thread: str) -> None:
        self.page.click(f'#play-board button[data-thread="{thread}"]')

    def play(self, schedule: Schedule) -> None:
        """Click each thread's button in turn: the first 3 as a person would (Playwright
        waits for the button to be there and enabled), the rest from inside the page, so
        that a 1,000-step run takes a second (a disabled button ignores the click)."""
        threads = list(schedule)
        for thread in threads[:3]:
            self.click(thread)
        self.page.evaluate(
            """names => { for (const name of names) document.querySelector(
                   `#play-board button[data-thread="${name}"]`).click(); }""",
            threads[3:],
        )


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    contexts = []
    opened: list[Opened] = []

    def open_(path: Path, *, width: int = 1280, height: int = 720) -> Opened:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        seen = Opened(page, path.as_uri())

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url == seen.url:
                request_route.continue_()
            else:
                seen.requests.append(url)
                request_route.abort()

        context.route("**/*", route)
        page.on(
            "console", lambda m: m.type in ("error", "warning") and seen.problems.append(m.text)
        )
        page.on("pageerror", lambda e: seen.problems.append(str(e)))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        page.goto(seen.url)
        opened.append(seen)
        return seen

    yield open_
    for seen in opened:
        assert ([], [], []) == (seen.requests, seen.problems, seen.dialogs), seen.url
    for context in contexts:
        context.close()


def data_of(opened: Opened) -> dict[str, Any]:
    found: dict[str, Any] = opened.page.evaluate(
        "JSON.parse(document.getElementById('refsim-data').textContent)"
    )
    return found


def each_part(opened: Opened, name: str) -> Iterator[tuple[Scenario, dict[str, Any]]]:
    """Each process of bundled scenario ``name`` and its part of the page's data, the page
    showing that process (picked in its list when there are several)."""
    data = data_of(opened)
    scenarios = load_file(f"scenarios/{name}.yaml").per_process()
    for index, (scenario, part) in enumerate(zip(scenarios, data["parts"], strict=True)):
        if len(data["parts"]) > 1:
            opened.page.select_option("#part", str(index))
        yield scenario, part


# -- be the scheduler -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_playing_each_witness_by_clicking_reaches_its_outcome(
    site: Path, open_page: Any, name: str
) -> None:
    opened = open_page(bundled(site, name))
    runtime = Runtime(data_of(opened)["runtime"])
    for scenario, part in each_part(opened, name):
        if not part["complete"]:
            assert "too many to put in a page" in opened.text("#play-message")
            assert opened.page.is_hidden("#play-controls")
            continue
        table = {str(s.outcome): s for s in explore(scenario, runtime=runtime).outcomes}
        for _, witness in part["witnesses"]:
            opened.page.click("#play-restart") if opened.page.is_enabled("#play-restart") else None
            schedule = Schedule.parse(witness)
            opened.play(schedule)
            result = run(scenario, runtime=runtime, schedule=schedule)
            end = opened.text("#play-end")
            assert end.startswith(f"The end: {result.outcome}.")
            assert f"You played: {schedule}" in end
            assert f'--schedule "{schedule}"' in end
            stats = table[str(result.outcome)]
            interleavings = sum(s.count for s in table.values())
            said = (
                f"{count_cell(stats.count)} of the {count_cell(interleavings)} "
                f"interleavings ({percent(stats.share)}) end this way. You used "
                f"{result.preemptions} preemption"
            )
            assert said in end


def test_undo_takes_back_one_step(site: Path, open_page: Any) -> None:
    opened = open_page(bundled(site, "leak"))
    opened.click("T1")
    opened.click("T2")
    assert "step 2: T2 ran decref obj · LOAD (a preemption)" == opened.text("#play-message")
    opened.page.click("#play-undo")
    assert "undo: step 2 (T2's LOAD) is undone." == opened.text("#play-message")
    assert [["1", "T1", "decref obj", "LOAD", "2", "2", "2"]] == opened.rows("#play-trace")
    assert [
        ["T1", "2", "decref obj · SUB"],
        ["T2", "", "decref obj · LOAD"],
    ] == opened.rows("#play-board table.threads")
    opened.page.click("#play-undo")
    assert opened.page.is_disabled("#play-undo")
    assert [["No step has run yet."]] == opened.rows("#play-trace")


def test_a_thread_that_cannot_run_says_why(site: Path, open_page: Any) -> None:
    scenario = load_file("scenarios/leak.yaml")
    opened = open_page(write_page(site, scenario, "leak-gil", runtime=Runtime.GIL))
    opened.click("T1")
    board = opened.rows("#play-board table.threads")
    why = "cannot run: T1 is inside a bytecode (decref obj) and holds the GIL until it ends"
    assert ["T2", "", f"decref obj · LOAD{why}"] == board[1]
    assert opened.page.is_disabled('#play-board button[data-thread="T2"]')


@pytest.mark.parametrize(
    ("name", "picks"), [("leak", ""), ("leak", "T1"), ("double_free", "T1 T2")]
)
def test_the_hints_shares_are_the_explorers(
    site: Path, open_page: Any, name: str, picks: str
) -> None:
    opened = open_page(bundled(site, name))
    session = Session.start(load_file(f"scenarios/{name}.yaml"))
    for thread in picks.split():
        opened.click(thread)
        session = session.step(thread)
    opened.page.click("#play-hint")
    expected = []
    for odds in session.odds(max_states=100_000):
        assert odds.table is not None
        for i, s in enumerate(odds.table.outcomes):
            first = i == 0
            expected.append(
                [
                    odds.thread if first else "",
                    count_cell(odds.table.interleavings) if first else "",
                    str(s.outcome),
                    percent(s.share),
                ]
            )
    assert sorted(expected) == sorted(opened.rows("#play-hints"))
    assert expected[0][0] == opened.rows("#play-hints")[0][0]


# -- step through a run ---------------------------------------------------------------------


SHOWN = 200
"""The steps a page's trace table shows at most (the last ones)."""


def expected_rows(
    scenario: Scenario, columns: list[str], schedule: Schedule, runtime: Runtime
) -> list[list[str]]:
    """``refsim run``'s trace of ``schedule``: a row per step in the page's columns, and
    ``! kind: message`` under the step of each anomaly; the last SHOWN steps only."""
    result = run(scenario, runtime=runtime, schedule=schedule)
    assert result.trace is not None
    rows = []
    hidden = max(0, len(result.trace) - SHOWN)
    if hidden:
        rows.append([f"(steps 1 to {hidden:,} are not shown: the table keeps the last {SHOWN})"])
    for event in result.trace[hidden:]:
        cells = {
            "step": str(event.step),
            "thread": event.thread,
            "op": event.op,
            "micro-step": event.micro,
            "register": "" if event.register is None else str(event.register),
            "true refs": "" if event.true_refs is None else str(event.true_refs),
        }
        value = "" if event.value is None else str(event.value)
        rows.append([cells.get(c, value) for c in columns])
        rows += [
            [f"! {a.kind.value}: {a.message}"] for a in result.anomalies if a.step == event.step
        ]
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_stepping_forward_and_back_matches_refsim_runs_trace(
    site: Path, open_page: Any, name: str
) -> None:
    opened = open_page(bundled(site, name))
    runtime = Runtime(data_of(opened)["runtime"])
    for scenario, part in each_part(opened, name):
        if not part["witnesses"]:
            assert "There is none to show." in opened.text("#step-message")
            continue
        _, witness = part["witnesses"][0]
        schedule = Schedule.parse(witness)
        expected = expected_rows(scenario, part["columns"], schedule, runtime)
        steps = schedule.steps
        assert f"step 0 of {steps}" == opened.text("#step-where")
        # The keys step one at a time; a long run's rest is one click on the last step.
        for at in range(1, min(steps, 12) + 1):
            opened.page.keyboard.press("ArrowRight")
            assert f"step {at} of {steps}" == opened.text("#step-where")
        if steps > 12:
            opened.page.click("#step-last")
        assert expected == opened.rows("#step-trace")
        for at in reversed(range(max(0, steps - 12), steps)):
            opened.page.keyboard.press("ArrowLeft")
            shown = [r for r in opened.rows("#step-trace") if r[0].isdigit()]
            wanted = (f"step {at} of {steps}", min(at, SHOWN), str(at) if at else "")
            last = shown[-1][0] if shown else ""
            assert wanted == (opened.text("#step-where"), len(shown), last)
        if steps > 12:
            opened.page.click("#step-first")
        assert f"step 0 of {steps}" == opened.text("#step-where")


def test_each_step_lights_up_the_thread_and_the_count(site: Path, open_page: Any) -> None:
    opened = open_page(bundled(site, "leak"))
    for _ in range(6):
        opened.page.click("#step-next")
    lit = opened.page.eval_on_selector_all(
        "#step-board .ran td:first-child, #step-board td.touched",
        "cells => cells.map(c => c.textContent)",
    )
    assert ["T1", "1", "0"] == lit  # T1 ran; obj's refcount 1 beside true refs 0
    message = opened.text("#step-message")
    assert "! lost-update: T1 stored 1 over T2's store of 1: T2's decref is lost" in message
    assert "The end: leak, lost-update · obj = 1. ! leak: obj is never freed" in message


def test_the_schedule_box_takes_a_schedule_and_says_what_is_wrong(
    site: Path, open_page: Any
) -> None:
    scenario = load_file("scenarios/leak.yaml")
    opened = open_page(write_page(site, scenario, "leak-gil", runtime=Runtime.GIL))
    box = "#step-schedule"
    opened.page.fill(box, "T3")
    opened.page.press(box, "Enter")
    said = "T3 is not a thread of this scenario; its threads are T1, T2"
    assert said == opened.text("#step-message")
    opened.page.fill(box, "t1 T2*3")
    opened.page.press(box, "Enter")
    said = (
        "step 2: T2 cannot run: T1 is inside a bytecode (decref obj) and holds the GIL until "
        "it ends (the run stops before it)"
    )
    assert (said, "step 0 of 1") == (opened.text("#step-message"), opened.text("#step-where"))
    opened.page.fill(box, "T1*3")
    opened.page.press(box, "Enter")
    opened.page.click("#step-last")
    assert opened.text("#step-message").endswith(
        "The schedule ends here, before the run does: add to it, or play on in the game below."
    )


def test_what_you_played_can_be_stepped_through_and_played_on(site: Path, open_page: Any) -> None:
    opened = open_page(bundled(site, "leak"))
    for thread in ["T2", "T1", "T1"]:
        opened.click(thread)
    opened.page.click("#play-review")
    assert ("T2 T1*2", "step 3 of 3") == (
        opened.page.input_value("#step-schedule"),
        opened.text("#step-where"),
    )
    opened.page.click("#step-back")
    opened.page.click("#step-play")
    assert "Your move: the run so far is the first 2 steps of the one above." == opened.text(
        "#play-message"
    )
    assert ["1", "2"] == [row[0] for row in opened.rows("#play-trace")]


def test_a_page_past_the_budget_steps_through_its_witnesses(site: Path, open_page: Any) -> None:
    scenario = load_file("scenarios/double_free.yaml")
    opened = open_page(write_page(site, scenario, "double_free-small", max_states=100))
    assert "too many for a page, which holds only the runs listed" in opened.text("#step-message")
    options = opened.page.eval_on_selector_all("#step-pick option", "o => o.map(x => x.value)")
    assert 9 == len(options)  # "pick a run" and the 8 outcomes' witnesses
    opened.page.fill("#step-schedule", "T2 T1 T2 T1 T2 T1 T2 T1")  # no witness switches so
    opened.page.press("#step-schedule", "Enter")
    assert "is not on any of the runs this page holds" in opened.text("#step-message")


# -- safety, size and shape -----------------------------------------------------------------

HOSTILE = """\
name: "<script>alert('name')</script>"
description: "<img src=x onerror=alert('description')> </textarea> </script> [bold]b[/bold]"
objects:
  obj: 2
threads:
  T1: [decref obj]
  T2: [decref obj]
"""


def test_hostile_text_shows_as_text_and_never_runs(site: Path, open_page: Any) -> None:
    scenario = load_text(HOSTILE, filename="h.yaml")
    opened = open_page(write_page(site, scenario, "hostile"))
    name = "<script>alert('name')</script>"
    assert f"{name} · refsim" == opened.page.title()
    assert name == opened.text("h1")
    description = "<img src=x onerror=alert('description')> </textarea> </script> [bold]b[/bold]"
    assert description == opened.text("#scenario p")
    assert 0 == opened.page.locator("img:not(figure img)").count()
    opened.click("T1")  # the game works, and no dialog ever opened (the fixture checks)
    assert opened.page.evaluate("document.scripts.length") == 2


@pytest.mark.slow
def test_every_bundled_page_and_the_index_load_nothing_and_log_no_error(
    site: Path, open_page: Any
) -> None:
    pages = [bundled(site, name) for name in NAMES]
    entries = [(p.name, p.stem, "") for p in pages]
    index = site / "index.html"
    index.write_text(index_page(entries), encoding="utf-8")
    for page in pages:
        opened = open_page(page)
        assert opened.page.title().endswith(" · refsim")
    opened = open_page(index)
    links = opened.page.eval_on_selector_all("a", "a => a.map(x => x.getAttribute('href'))")
    assert sorted(p.name for p in pages) == sorted(links)


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_the_page_fits_a_projector_and_a_phone(
    site: Path, open_page: Any, width: int, height: int
) -> None:
    opened = open_page(bundled(site, "double_free"), width=width, height=height)
    for thread in ["T1", "T2", "T1"]:
        opened.click(thread)
    opened.page.click("#play-hint")
    wide = opened.page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width
    # The game's buttons are big enough to hit on a touch screen.
    box = opened.page.locator('#play-board button[data-thread="T1"]').bounding_box()
    assert box["height"] >= 36 and box["width"] >= 44


def test_a_scenario_with_processes_plays_each(site: Path, open_page: Any) -> None:
    opened = open_page(bundled(site, "io_then_transform"))
    assert opened.page.is_visible("#parts")
    opened.page.select_option("#part", "1")
    buttons = opened.page.eval_on_selector_all(
        "#play-board button", "b => b.map(x => x.dataset.thread)"
    )
    assert ["X1"] == buttons
    assert re.match(r"step 0 of \d+", opened.text("#step-where"))
