"""Benchmark: ``refsim html`` on every bundled scenario.

For each page: the time to tell its story (:func:`refsim.story.gather`, what ``refsim
FILE`` does: the peer), the time to add the state graphs and the figure
(:func:`refsim.page.gather`) and to write the HTML, the page's size, its states, and, in
Chromium (Debian's, as the tests drive it), the time to its first paint and until its
script has set up the step-through and the game (``domContentLoadedEventEnd``: the
script is inline at the end of the body, so it has run by then).

Target: every page written in under 1 s and under 2 MB.

    python benchmarks/bench_page.py [--repeat 3] [--no-browser] [NAME ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from refsim.bundled import bundled_scenarios
from refsim.loader import load_file
from refsim.page import gather
from refsim.render.html import page_html
from refsim.story import gather as tell

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TARGET_SECONDS = 1.0
TARGET_BYTES = 2_000_000


def write(name: str, folder: Path) -> tuple[float, float, float, int, str, Path]:
    """Story, page and HTML seconds, the size in bytes, the states, and the file."""
    scenario = load_file(f"scenarios/{name}.yaml")
    start = time.perf_counter()
    story = tell(scenario, name)
    told = time.perf_counter()
    page = gather(story)
    gathered = time.perf_counter()
    text = page_html(page)
    path = folder / f"{name}.html"
    path.write_text(text, encoding="utf-8")
    done = time.perf_counter()
    parts = page.parts
    if all(p.graph.complete for p in parts):
        states = f"{sum(len(p.graph.nodes) for p in parts):,}"
    else:
        states = "witnesses"
    size = len(text.encode("utf-8"))
    return told - start, gathered - told, done - gathered, size, states, path


def render_times(paths: list[Path], repeat: int) -> dict[Path, tuple[float, float]]:
    """Per page, the best (first paint, script done) in milliseconds."""
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for path in paths:
            best = (float("inf"), float("inf"))
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(path.as_uri())
                paint, ready = page.evaluate(
                    """() => [
                        (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime,
                        performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
                    ]"""
                )
                page.close()
                best = min(best, (paint or ready, ready), key=lambda b: b[1])
            found[path] = best
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="bundled scenarios (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page; the best counts")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = parser.parse_args()
    names = args.names or [p.stem for p in bundled_scenarios()]
    tell(load_file("scenarios/leak.yaml"), "leak")  # imports and caches, not counted
    gather(tell(load_file("scenarios/leak.yaml"), "leak"))
    folder = Path(tempfile.mkdtemp(prefix="bench_page."))
    rows = []
    for name in names:
        best = min((write(name, folder) for _ in range(args.repeat)), key=lambda r: sum(r[:3]))
        rows.append((name, *best))
    shown = {} if args.no_browser else render_times([r[-1] for r in rows], args.repeat)
    print(
        f"{'scenario':18} {'story':>7} {'page':>7} {'html':>6} {'total':>7} {'ratio':>6} "
        f"{'size':>9} {'states':>9} {'paint':>7} {'ready':>7}"
    )
    worst = 0.0
    for name, story, page, html, size, states, path in rows:
        total = story + page + html
        worst = max(worst, total)
        paint, ready = shown.get(path, (float("nan"), float("nan")))
        flag = " !" if total >= TARGET_SECONDS or size >= TARGET_BYTES else ""
        print(
            f"{name:18} {story:6.2f}s {page:6.2f}s {html:5.2f}s {total:6.2f}s "
            f"{total / story:5.1f}x {size / 1e6:7.2f}MB {states:>9} {paint:5.0f}ms "
            f"{ready:5.0f}ms{flag}"
        )
    print(
        f"\nslowest page: {worst:.2f}s (target < {TARGET_SECONDS:.0f}s); ratio: the whole page "
        f"against its story alone (refsim FILE's work); ! marks a page over a target"
    )


if __name__ == "__main__":
    main()
