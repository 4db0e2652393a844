"""Small inline-SVG charts for the HTML report (pure functions: data in, SVG text out).

Why our own SVG and not a charting library: the report must open offline and travel by mail as
one file, so nothing may come from a CDN, and the five chart kinds it needs (heat map, step
curves, bars, columns with a line, funnel) are a few dozen lines each.  Every shape carries a
``<title>`` so hovering shows the exact number in any browser, without JavaScript.  All text is
escaped; sizes are in SVG user units (the SVG scales to its container through ``viewBox``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

#: Colour-blind-safe categorical palette (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
KIND_COLOURS = {"closure": "#D55E00", "silent_attrition": "#0072B2", "other": "#999999"}
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{int(width * 1.3)}px" role="img" '
        f'aria-label="{escape(label)}" {FONT}>' + "".join(body) + "</svg>"
    )


def _empty(label: str) -> str:
    return _svg(400, 60, [f'<text x="10" y="35" fill="#666">No data for {escape(label)}</text>'],
                label)  # fmt: skip


def heat_colour(share: float) -> str:
    """White (0) to deep blue (1), linear in each channel; clamps outside [0, 1]."""
    s = min(max(share, 0.0), 1.0)
    r, g, b = (int(255 + (t - 255) * s) for t in (8, 69, 148))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: Mapping[tuple[str, str], float],
    *,
    label: str,
    counts: Mapping[tuple[str, str], int] | None = None,
) -> str:
    """A row x column grid of shares (0..1) coloured by value, the share written in each cell.

    Cells without a value (a period the cohort has not reached) stay blank, not zero.
    """
    if not rows or not cols:
        return _empty(label)
    cell_w, cell_h, left, top = 46, 22, 90, 28
    width, height = left + cell_w * len(cols) + 10, top + cell_h * len(rows) + 10
    body = []
    for j, col in enumerate(cols):
        x = left + j * cell_w + cell_w / 2
        body.append(f'<text x="{x}" y="{top - 8}" text-anchor="middle">{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(row)}</text>')
        for j, col in enumerate(cols):
            v = values.get((row, col))
            if v is None:
                continue
            x = left + j * cell_w
            n = f" ({counts[(row, col)]} customers)" if counts and (row, col) in counts else ""
            ink = "#fff" if v > 0.55 else "#111"
            body.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{heat_colour(v)}"><title>{escape(row)}, {escape(col)}: '
                f"{v:.1%}{escape(n)}</title></rect>"
                f'<text x="{x + cell_w / 2 - 1}" y="{y + 15}" text-anchor="middle" '
                f'fill="{ink}">{v * 100:.0f}</text>'
            )
    return _svg(width, height, body, label)


def _axes(left: int, top: int, w: int, h: int, xmax: float, ymax: float, *, xlabel: str,
          ylabel: str, yfmt: str = "{:.0%}") -> list[str]:  # fmt: skip
    out = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>']  # fmt: skip
    for k in range(5):
        yv = ymax * k / 4
        y = top + h - h * k / 4
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" stroke="#eee"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4}" text-anchor="end">{yfmt.format(yv)}</text>')
    for k in range(6):
        xv = xmax * k / 5
        x = left + w * k / 5
        out.append(f'<text x="{x}" y="{top + h + 14}" text-anchor="middle">{xv:.0f}</text>')
    out.append(f'<text x="{left + w / 2}" y="{top + h + 30}" text-anchor="middle">'
               f"{escape(xlabel)}</text>")  # fmt: skip
    out.append(f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" '
               f'text-anchor="middle">{escape(ylabel)}</text>')  # fmt: skip
    return out


def step_curves(series: Mapping[str, Sequence[tuple[float, float]]], *, label: str,
                xlabel: str, ylabel: str, xmax: float | None = None) -> str:  # fmt: skip
    """Step functions starting at (0, 1): survival curves, one per series, with a legend."""
    points = [p for s in series.values() for p in s]
    if not points:
        return _empty(label)
    left, top, w, h = 50, 15, 520, 220
    xm = xmax or max(x for x, _ in points) or 1.0
    body = _axes(left, top, w, h, xm, 1.0, xlabel=xlabel, ylabel=ylabel)
    for k, (name, pts) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        path, y_prev = [f"M{left},{top}"], 1.0
        for x, y in sorted(pts):
            px = left + w * x / xm
            path.append(f"H{px:.1f}V{top + h * (1 - y):.1f}")
            y_prev = y
        last_x = max((x for x, _ in pts), default=0.0)
        path.append(f"H{left + w * max(last_x, 0) / xm:.1f}")
        body.append(f'<path class="curve" d="{"".join(path)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"><title>{escape(name)}: {y_prev:.1%} at day {last_x:.0f}'
                    "</title></path>")  # fmt: skip
        ly = top + 12 + 14 * k
        body.append(
            f'<rect x="{left + w + 10}" y="{ly - 8}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + w + 24}" y="{ly + 1}">{escape(name)}</text>'
        )
    return _svg(left + w + 120, top + h + 40, body, label)


def stacked_bars(categories: Sequence[str], stacks: Mapping[str, Sequence[float]], *,
                 label: str, unit: str = "defections") -> str:  # fmt: skip
    """Horizontal bars, one per category, stacked by series (e.g. kinds of defection)."""
    if not categories:
        return _empty(label)
    totals = [sum(s[i] for s in stacks.values()) for i in range(len(categories))]
    top_value = max(totals) or 1.0
    left, bar_h, w = 230, 20, 380
    body = []
    for i, cat in enumerate(categories):
        y = 10 + i * (bar_h + 6)
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(cat)}</text>')
        x = float(left)
        for k, (name, values) in enumerate(stacks.items()):
            v = values[i]
            if v <= 0:
                continue
            bw = w * v / top_value
            colour = KIND_COLOURS.get(name, PALETTE[k % len(PALETTE)])
            body.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{bw:.1f}" '
                        f'height="{bar_h}" fill="{colour}"><title>{escape(cat)}, '
                        f"{escape(name)}: {v:g} {escape(unit)}</title></rect>")  # fmt: skip
            x += bw
        body.append(f'<text x="{x + 4:.1f}" y="{y + 14}">{totals[i]:g}</text>')
    ly = 10 + len(categories) * (bar_h + 6) + 8
    for k, name in enumerate(stacks):
        colour = KIND_COLOURS.get(name, PALETTE[k % len(PALETTE)])
        body.append(
            f'<rect x="{left + 130 * k}" y="{ly}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 130 * k + 14}" y="{ly + 9}">{escape(name)}</text>'
        )
    return _svg(left + w + 60, ly + 20, body, label)


def columns_with_line(xs: Sequence[int], bars: Sequence[float], line: Sequence[float | None], *,
                      label: str, xlabel: str, bar_label: str, line_label: str) -> str:  # fmt: skip
    """Columns (counts, left axis) with a line (a rate, right axis) over the same x values."""
    if not xs:
        return _empty(label)
    left, top, w, h = 50, 15, 520, 200
    bmax = max(bars) or 1.0
    lvals = [v for v in line if v is not None]
    lmax = max(lvals) if lvals and max(lvals) > 0 else 1.0
    body = _axes(left, top, w, h, float(max(xs)), bmax, xlabel=xlabel, ylabel=bar_label,
                 yfmt="{:.0f}")  # fmt: skip
    step = w / max(len(xs), 1)
    pts = []
    for i, (x, b, r) in enumerate(zip(xs, bars, line, strict=True)):
        bh = h * b / bmax
        px = left + i * step
        if b > 0:
            body.append(
                f'<rect class="bar" x="{px:.1f}" y="{top + h - bh:.1f}" '
                f'width="{max(step - 1, 1):.1f}" height="{bh:.1f}" fill="#0072B2">'
                f"<title>{escape(xlabel)} {x}: {b:g} {escape(bar_label)}</title></rect>"
            )
        if r is not None:
            pts.append(f"{px + step / 2:.1f},{top + h - h * r / lmax:.1f}")
    if pts:
        body.append(f'<polyline class="line" points="{" ".join(pts)}" fill="none" '
                    f'stroke="#D55E00" stroke-width="2"><title>{escape(line_label)} '
                    f"(right axis, max {lmax:.1%})</title></polyline>")  # fmt: skip
    body.append(f'<text x="{left + w + 4}" y="{top + 10}" fill="#D55E00">{escape(line_label)}'
                f" max {lmax:.1%}</text>")  # fmt: skip
    return _svg(left + w + 150, top + h + 40, body, label)


def funnel(steps: Sequence[tuple[str, int, int]], *, label: str) -> str:
    """One bar per step: (name, customers in the funnel at this step, population)."""
    if not steps:
        return _empty(label)
    left, bar_h, w = 110, 26, 420
    body = []
    for i, (name, n, population) in enumerate(steps):
        share = n / population if population else 0.0
        bw = max(w * share, 1.0)
        y = 10 + i * (bar_h + 8)
        x = left + (w - bw) / 2
        body.append(
            f'<text x="{left - 6}" y="{y + 17}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="bar" x="{x:.1f}" y="{y}" width="{bw:.1f}" height="{bar_h}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(name)}: {n} of '
            f"{population} ({share:.1%})</title></rect>"
            f'<text x="{left + w + 8}" y="{y + 17}">{share:.1%} ({n})</text>'
        )
    return _svg(left + w + 150, 10 + len(steps) * (bar_h + 8) + 6, body, label)
