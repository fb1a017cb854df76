"""The look shared by refsim's figures: palette, fonts, the scoped matplotlib settings, a
figure on the Agg canvas (never pyplot), and deterministic saving."""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "matplotlib_available",
    "new_figure",
    "save_figure",
    "style",
    "text_width",
]

FORMATS = (".png", ".svg", ".pdf")
"""The figure formats, chosen by the output file's suffix."""

INSTALL_HINT = "pip install 'refsim[plot]'"


def matplotlib_available() -> bool:
    """True when matplotlib (the ``plot`` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# Okabe & Ito's palette, safe for the common colour-vision deficiencies.
SKY, ORANGE, GREEN, YELLOW = "#56B4E9", "#E69F00", "#009E73", "#F0E442"
BLUE, VERMILLION, PURPLE, GREY = "#0072B2", "#D55E00", "#CC79A7", "#BBBBBB"
# Race windows: pale blue when alone, pale vermillion when another thread's overlaps.
# Blue, not grey, so that a window never looks like the grey ADD / SUB boxes on it.
WINDOW, RACE = (BLUE, 0.16), (VERMILLION, 0.28)
# Paul Tol's "light" scheme for who holds the GIL or a lock: distinct from the kinds.
HOLDERS = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33")

CATEGORIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("LOAD", "LOAD_GLOBAL"), SKY),
    (("ADD", "SUB", "BINARY_OP"), "#DDDDDD"),
    (("STORE", "STORE_GLOBAL", "RMW"), ORANGE),
    (("DEALLOC",), PURPLE),
    (("READ",), GREEN),
    (("ACQUIRE", "RELEASE"), YELLOW),
    (("COMPUTE",), "#EEEEEE"),
    (("IO",), GREY),
)
COLOUR = {kind: colour for kinds, colour in CATEGORIES for kind in kinds}

FONT = 13.0
"""Base font size: large enough to read on a projector when the figure fills the screen."""
BOX_FONT = 11.5
CHAR = 0.63
"""Width of an average DejaVu Sans character, in ems: for deciding whether a label fits."""


@contextmanager
def style() -> Iterator[None]:
    """matplotlib settings for refsim's figures, scoped (never changed globally)."""
    import matplotlib

    with matplotlib.rc_context(
        {
            "font.size": FONT,
            "axes.titlesize": FONT + 1,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": FONT,
            "xtick.labelsize": FONT - 1,
            "ytick.labelsize": FONT - 0.5,
            "legend.fontsize": FONT - 1,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "refsim",
            "svg.fonttype": "path",
            "pdf.fonttype": 42,
            "path.simplify": True,
            # Scenario text is untrusted and prints as written: a name like "a$x^2$b"
            # must not turn into mathematics.
            "text.parse_math": False,
        }
    ):
        yield


@functools.cache  # a figure asks again and again for the few labels it has
def text_width(text: str, size: float, *, bold: bool = False, italic: bool = False) -> float:
    """How wide ``text`` is in points at ``size``, in the figures' font (one line)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(
        size=size, weight="bold" if bold else "normal", style="italic" if italic else "normal"
    )
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def new_figure(width: float, height: float, dpi: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _shown_figure()(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


@functools.cache
def _shown_figure() -> type[Figure]:
    """matplotlib's Figure, able to show itself in Jupyter: refsim's figures are drawn
    without pyplot (no global state), so a notebook would print ``<Figure size ...>``
    instead of the picture; as this class they show as a PNG, saved as by
    :func:`save_figure`."""
    from matplotlib.figure import Figure

    class ShownFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            save_figure(self, buffer, ".png")
            return buffer.getvalue()

    return ShownFigure


_METADATA: dict[str, dict[str, Any]] = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}
"""Per format, the metadata left out: dates and versions would make the bytes vary."""


def save_figure(fig: Figure, path: str | Path | BinaryIO, suffix: str | None = None) -> None:
    """Write ``fig`` to ``path`` (PNG, SVG or PDF by suffix) without dates or versions,
    so the same figure gives the same bytes. ``path`` may be a binary file, with the
    format's ``suffix`` (``.svg``)."""
    if suffix is None:
        assert isinstance(path, str | Path), "a file object needs its format's suffix"
        suffix = Path(path).suffix.lower()
    metadata = _METADATA.get(suffix)
    if metadata is None:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    with style():
        fig.savefig(path, format=suffix[1:], metadata=metadata)
