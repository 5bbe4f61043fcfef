"""ChartSpec → PNG bytes with matplotlib's object-oriented API and the Agg canvas.

No pyplot: every call builds its own Figure and FigureCanvasAgg, so there is no global state and charts can be
rendered from several threads. Figures are laid out at 6.4×3.6 in and 100 dpi and saved at 200 dpi (1280×720
pixels: twice the pixel density, sharp on high-density screens); the bundled DejaVu Sans font keeps each chart
small (well under 200 KB; render times are measured by `chart_timings` in the benchmark).

Kinds, chosen by the assistant from the data's shape: `bars` (a value per category: owner, stage, product…;
ratios on a percent axis), `lines` (a value per month, quarter or day), `funnel` (deals entering each stage and
the share moving on), `paired` (two periods or two people side by side), and the fixed layouts
`pipeline_by_stage`, `attainment_pace`, `forecast` and `leaderboard`.

Outliers: in a bar chart, a bar more than OUTLIER_RATIO (5) times the median of the other positive bars would
flatten them; the value axis then stops just above the tallest other bar, and the outlier is drawn clipped at the
top of the frame with a break mark (two slanted white strokes) and its true value written on it.
"""

from __future__ import annotations

import io
import statistics
import time
import warnings
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from i18n import _
from render.answers import ChartSpec
from render.format import count, date_text, days, money_short, one_line, percent, truncate

CHART_KINDS = ("bars", "lines", "funnel", "paired", "pipeline_by_stage", "attainment_pace", "forecast", "leaderboard",
               "payout_curve", "scorecard", "waterfall")
SIZE_IN = (6.4, 3.6)
DPI = 100  # the layout's dots per inch: label widths and margins are worked out at this density
SAVE_DPI = 2 * DPI  # the PNG's: twice the pixel density
OUTLIER_RATIO = 5
LEADERBOARD_TOP = 10
MAX_BARS = 30

INK = "#1d1c1d"
MUTED = "#616061"
GRID = "#e8e8e8"
BLUE = "#1264a3"
GREEN = "#2bac76"
AMBER = "#e8a723"
GREY = "#9e9ea6"
RED = "#e01e5a"
FORECAST_COLORS = [GREEN, BLUE, AMBER, GREY, "#4a154b", "#36c5f0"]


def _num(value: Any) -> float:
    if value is None:
        return 0.0
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return v if v == v and abs(v) != float("inf") else 0.0


def _label(value: Any, n: int = 22) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _day_month(value)
    return truncate(one_line(value).strip(), n) or "—"


def _safe(text: str) -> str:
    """Text from data as literal matplotlib text: "$x$" in a name must not turn into mathtext (or fail to parse)."""
    return text.replace("$", r"\$")


def _money_axis(axis, currency: str = "USD") -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: money_short(float(v), currency)))
    axis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3, integer=True, steps=[1, 2, 5, 10]))


def _new_figure(title: str) -> tuple[MplFigure, Any]:
    fig = MplFigure(figsize=SIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(_safe(truncate(one_line(title), 80)), loc="left", fontsize=11, color=INK, pad=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    ax.set_axisbelow(True)
    return fig, ax


CHAR_PX = 6.6  # average width of an 8 pt DejaVu Sans character at 100 dpi


def _text_px(text: str) -> float:
    """Rough width in pixels of an 8 pt label (capitals and wide characters count more)."""
    return sum(8.2 if (c.isupper() or ord(c) > 0x2E80) else CHAR_PX for c in text)


def _margins(fig: MplFigure, ax) -> None:
    """Fixed margins sized from the tick labels' lengths: tight_layout costs a whole extra draw (~40 ms)."""
    width, height = SIZE_IN[0] * DPI, SIZE_IN[1] * DPI
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    left_px = max((_text_px(t) for t in ylabels), default=0) + 14
    rotated = any(t.get_rotation() for t in ax.get_xticklabels())
    if rotated:
        longest = max((_text_px(t.get_text()) for t in ax.get_xticklabels()), default=0)
        bottom_px = longest * 0.5 + 22
        left_px = max(left_px, longest * 0.87 - 20)
    else:
        bottom_px = 28
    fig.subplots_adjust(
        left=min(0.45, max(0.03, left_px / width)), right=0.97, bottom=min(0.4, bottom_px / height), top=1 - 38 / height
    )


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs for exotic characters in names are not worth a warning
        fig.savefig(
            buf, format="png", dpi=SAVE_DPI, facecolor="white", metadata={"Software": None},
            pil_kwargs={"compress_level": 3},
        )  # level 3: ~8 ms faster than 6, ~3% bigger
    return buf.getvalue()


def _empty(fig: MplFigure, ax, message: str | None = None) -> None:
    message = message or _("No data for this period")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=MUTED, transform=ax.transAxes)


def _bar_values(ax, bars, values: list[float], fmt, horizontal: bool = False) -> None:
    for bar, v in zip(bars, values, strict=False):
        if horizontal:
            ax.annotate(
                fmt(v),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=8,
                color=INK,
            )
        else:
            ax.annotate(
                fmt(v),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color=INK,
            )


def value_text(fmt: str, currency: str = "USD"):
    """How a value of this format is written on a chart: $1.2M, 63%, 41 days, 1,234."""
    if fmt == "ratio":
        return percent
    if fmt == "days":
        return days
    if fmt == "count":
        return count
    return lambda v: money_short(float(v), currency)


def _value_axis(axis, fmt: str, currency: str) -> None:
    if fmt == "money":
        _money_axis(axis, currency)
        return
    write = value_text(fmt, currency)
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: write(v)))
    axis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3, integer=fmt != "ratio", steps=[1, 2, 2.5, 5, 10]))


def _fold_tail(labels: list[str], values: list[float]) -> tuple[list[str], list[float]]:
    """More than MAX_BARS categories: the long tail becomes one "+N more" bar with their total."""
    if len(values) <= MAX_BARS:
        return labels, values
    rest = len(values) - (MAX_BARS - 1)
    more = _("+{count} more").format(count=rest)
    return labels[: MAX_BARS - 1] + [more], values[: MAX_BARS - 1] + [sum(values[MAX_BARS - 1 :])]


def outliers(values: list[float]) -> set[int]:
    """Indexes of bars more than OUTLIER_RATIO times the median of the other positive bars (three bars at
    least, and the rest must not be all zero): drawn at full height they would flatten every other bar."""
    positive = sorted(v for v in values if v > 0)
    if len(values) < 3 or len(positive) < 2:
        return set()
    out = set()
    for i, v in enumerate(values):
        others = [w for j, w in enumerate(values) if j != i and w > 0]
        if others and v > OUTLIER_RATIO * statistics.median(others):
            out.add(i)
    return out if len(out) < len(positive) else set()


def _spread(ax, n: int) -> float:
    """The x range and bar width that spread n bars over the whole frame: one slot per bar, and bars narrowed
    (not crowded into the left) when there are fewer than four."""
    ax.set_xlim(-0.5, n - 0.5)
    return 0.7 * min(1.0, n / 4)


def _break_mark(ax, x: float, width: float, top: float) -> None:
    """Two slanted white strokes across a clipped bar, just under the frame's top: the axis is broken there."""
    for k in (0.90, 0.94):
        y0, y1 = top * (k - 0.02), top * (k + 0.02)
        ax.plot([x - width * 0.7, x + width * 0.7], [y0, y1], color="white", linewidth=2.2, solid_capstyle="butt",
                clip_on=False)


def _bars(fig, ax, spec: ChartSpec, currency: str) -> None:
    """A value per category, in the series' order (stages in pipeline order, reps ranked), spread over the width;
    an outlier is clipped with a break mark and its true value (see the module docstring)."""
    fmt = str(spec.extra.get("fmt") or "money")
    write = value_text(fmt, currency)
    labels, values = _fold_tail([_safe(_label(s, 16)) for s, _ in spec.series], [_num(v) for _, v in spec.series])
    n = len(values)
    width = _spread(ax, n)
    clipped = outliers(values)
    kept = [v for i, v in enumerate(values) if i not in clipped]
    top = None
    if clipped:
        top = max([*kept, 0.0]) * 1.45 or 1.0
    heights = [top if i in clipped else v for i, v in enumerate(values)]
    xs = list(range(n))
    bars = ax.bar(xs, heights, color=[AMBER if i in clipped else BLUE for i in range(n)], width=width)
    rotate = n > 6
    ax.set_xticks(xs, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    _value_axis(ax.yaxis, fmt, currency)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    if top is not None:
        ax.set_ylim(min(0.0, *values), top)
        for i in sorted(clipped):
            _break_mark(ax, xs[i], width, top)
            ax.annotate(f"{write(values[i])} ↑", (xs[i], top * 0.84), ha="center", va="top", fontsize=8,
                        fontweight="bold", color=INK, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": AMBER})
    else:
        if fmt == "ratio":
            ax.set_ylim(min(0.0, *values), max(1.0, *values) * 1.12)
        ax.margins(y=0.12)
    if n <= 12:
        plain = [(b, v) for i, (b, v) in enumerate(zip(bars, values, strict=True)) if i not in clipped]
        _bar_values(ax, [b for b, _ in plain], [v for _, v in plain], write)


def _pipeline_by_stage(fig, ax, spec: ChartSpec, currency: str) -> None:
    _bars(fig, ax, ChartSpec(spec.kind, spec.title, spec.series, spec.target, {**spec.extra, "fmt": "money"}),
          currency)


def _time_label(value: Any) -> str:
    """'2026-10' → 'Oct 2026'; quarters ('FY2027 Q1') and anything else as they come."""
    text = one_line(value).strip()
    try:
        return datetime.strptime(text, "%Y-%m").strftime("%b %Y")
    except ValueError:
        return _label(value, 14)


def _lines(fig, ax, spec: ChartSpec, currency: str) -> None:
    """A value per month (quarter, day) in time order, each point marked; a missing value (a ratio with nothing
    to divide) is a gap in the line, not a zero."""
    fmt = str(spec.extra.get("fmt") or "money")
    write = value_text(fmt, currency)
    labels = [_safe(_time_label(s)) for s, _ in spec.series]
    values = [None if v is None else _num(v) for _, v in spec.series]
    xs = list(range(len(values)))
    ys = [float("nan") if v is None else v for v in values]
    ax.plot(xs, ys, color=BLUE, linewidth=2, marker="o", markersize=4)
    ax.set_xlim(-0.5, len(values) - 0.5)
    step = max(1, -(-len(xs) // 12))  # at most 12 labels
    rotate = len(xs[::step]) > 6
    ax.set_xticks(xs[::step], labels[::step], rotation=30 if rotate else 0, ha="right" if rotate else "center")
    _value_axis(ax.yaxis, fmt, currency)
    target = None if spec.target is None else _num(spec.target)
    if target is not None:  # the quota (or the actual) as a dashed line across, named at its right end
        ax.axhline(target, color=RED, linestyle="--", linewidth=1.2)
        ax.annotate(_safe(f"{spec.extra.get('target_label') or 'target'} {write(target)}"), (len(xs) - 0.5, target),
                    xytext=(0, 3), textcoords="offset points", ha="right", va="bottom", fontsize=8, color=RED)
    known = [0.0, *(v for v in values if v is not None), *([] if target is None else [target])]
    low, high = min(known), max(known)
    ax.set_ylim(low, (max(high, 1.0) if fmt == "ratio" else high or 1.0) * 1.15)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    if len(xs) <= 12:
        for x, v in zip(xs, values, strict=True):
            if v is not None:
                ax.annotate(write(v), (x, v), xytext=(0, 5), textcoords="offset points", ha="center", va="bottom",
                            fontsize=8, color=INK)


def _paired(fig, ax, spec: ChartSpec, currency: str) -> None:
    """Two values per category side by side (this period and the other, or one person and another); the legend
    names the two. series: (category, (first, second))."""
    fmt = str(spec.extra.get("fmt") or "money")
    write = value_text(fmt, currency)
    names = [str(n) for n in spec.extra.get("legend") or ("first", "second")]
    labels = [_safe(_label(s, 16)) for s, _ in spec.series[:MAX_BARS]]
    firsts = [_num(pair[0]) for _, pair in spec.series[:MAX_BARS]]
    seconds = [_num(pair[1]) for _, pair in spec.series[:MAX_BARS]]
    n = len(labels)
    width = _spread(ax, n) / 2
    xs = list(range(n))
    one = ax.bar([x - width / 2 for x in xs], firsts, width=width, color=BLUE, label=_safe(truncate(names[0], 40)))
    two = ax.bar([x + width / 2 for x in xs], seconds, width=width, color=GREY, label=_safe(truncate(names[1], 40)))
    ax.set_xticks(xs, labels, rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center")
    _value_axis(ax.yaxis, fmt, currency)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    high = max([*firsts, *seconds, 0.0]) or 1.0
    ax.set_ylim(min(0.0, *firsts, *seconds), high * 1.3)  # room for the legend
    if n <= 5:
        _bar_values(ax, list(one), firsts, write)
        _bar_values(ax, list(two), seconds, write)
    ax.legend(loc="upper right", fontsize=8, frameon=False, ncols=2)


def _funnel(fig, ax, spec: ChartSpec, currency: str) -> None:
    """Deals entering each stage, first stage on top, as bars centred on one axis (a funnel), each labelled
    with the count and the share that moved on (extra "conversion": one ratio per stage, None for none)."""
    conversion = list(spec.extra.get("conversion") or [])
    stages = spec.series[:MAX_BARS]
    labels = [_safe(_label(s, 18)) for s, _ in stages]
    values = [_num(v) for _, v in stages]
    widest = max([*values, 1.0])
    ys = list(range(len(values)))[::-1]  # the first stage at the top
    bars = ax.barh(ys, values, left=[(widest - v) / 2 for v in values], height=0.7, color=BLUE)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, widest)
    ax.set_ylim(-0.6, len(values) - 0.4)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    for i, bar in enumerate(bars):
        moved = conversion[i] if i < len(conversion) else None
        text = count(values[i]) + ("" if moved is None else " · " + _("{share} moved on").format(share=percent(moved)))
        ax.annotate(text, (widest / 2, bar.get_y() + bar.get_height() / 2), ha="center", va="center", fontsize=8,
                    color=INK, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _attainment_pace(fig, ax, spec: ChartSpec, currency: str) -> None:
    points = sorted((d, _num(v)) for d, v in ((_as_date(a), b) for a, b in spec.series) if d is not None)
    start = _as_date(spec.extra.get("start")) or (points[0][0] if points else None)
    end = _as_date(spec.extra.get("end")) or (points[-1][0] if points else None)
    quota = _num(spec.target) if spec.target is not None else None
    xs = [d for d, _ in points]
    ys = [v for _, v in points]
    if start is not None and (not xs or xs[0] > start):
        xs.insert(0, start)
        ys.insert(0, 0.0)
    ax.step(xs, ys, where="post", color=GREEN, linewidth=2, label=_("Closed won"), marker="o" if len(xs) == 1 else None)
    ax.fill_between(xs, ys, step="post", color=GREEN, alpha=0.12, linewidth=0)
    if quota and start and end and end > start:
        ax.plot([start, end], [0, quota], color=GREY, linestyle="--", linewidth=1.2, label=_("Pace to quota"))
        ax.axhline(quota, color=RED, linewidth=1, linestyle=":", label=_("Quota {amount}").format(
            amount=money_short(spec.target, currency)))
    if xs:
        last = ys[-1]
        note = money_short(float(last), currency)
        if quota:
            note += f" · {percent(last / quota)}"
        ax.annotate(note, (xs[-1], last), xytext=(4, 4), textcoords="offset points", fontsize=8, color=INK)
    if start and end and end >= start:
        span = (end - start).days + 1
        ax.set_xlim(start, end + timedelta(days=1) if end < date.max else end)
        step = max(1, -(-span // 6))  # at most ~6 ticks, on whole days
        ax.set_xticks([start + timedelta(days=k) for k in range(0, span + 1, step)])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _date_tick(v)))
    _money_axis(ax.yaxis, currency)
    ax.set_ylim(0, max([quota or 0, *ys, 1.0]) * 1.35)  # headroom for the legend above the quota line
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _date_tick(v: float) -> str:
    from matplotlib.dates import num2date

    try:
        d = num2date(v)
    except (ValueError, OverflowError):
        return ""
    return _day_month(d)


def _day_month(d: date) -> str:
    """'1 Dec', '1 Des', '1 dic': the day and the month's short name in the language being spoken."""
    return date_text(d).rsplit(" ", 1)[0]


def _forecast(fig, ax, spec: ChartSpec, currency: str) -> None:
    series = spec.series[:MAX_BARS]
    labels = [_safe(_label(s, 14)) for s, _ in series]
    values = [_num(v) for _, v in series]
    colors = [FORECAST_COLORS[i % len(FORECAST_COLORS)] for i in range(len(values))]
    xs = range(len(values))
    bars = ax.bar(xs, values, color=colors, width=0.6)
    ax.set_xlim(-0.6, max(len(values), 3) - 0.4)
    ax.set_xticks(list(xs), labels)
    _bar_values(ax, bars, values, lambda v: money_short(float(v), currency))
    if spec.target is not None:
        quota = _num(spec.target)
        ax.axhline(quota, color=RED, linewidth=1.2, linestyle="--")
        ax.annotate(
            _("Quota {amount}").format(amount=money_short(spec.target, currency)),
            (1.0, quota),
            xycoords=("axes fraction", "data"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8,
            color=RED,
        )
    _money_axis(ax.yaxis, currency)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.margins(y=0.15)


def _leaderboard(fig, ax, spec: ChartSpec, currency: str) -> None:
    top = int(spec.extra.get("top") or LEADERBOARD_TOP)
    ranked = sorted(((n, _num(v)) for n, v in spec.series), key=lambda p: p[1], reverse=True)[: max(1, top)]
    ranked.reverse()  # barh draws bottom-up: the leader goes on top
    labels = [_safe(_label(n, 22)) for n, _ in ranked]
    values = [v for _, v in ranked]
    ys = range(len(values))
    colors = [GREEN if v >= 1 else BLUE for v in values]
    bars = ax.barh(ys, values, color=colors, height=0.65)
    ax.set_yticks(list(ys), labels)
    ax.set_ylim(len(values) - 0.5 - max(len(values), 6), len(values) - 0.5)  # few reps: thin bars from the top
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v)))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    target = _num(spec.target) if spec.target is not None else 1.0
    ax.axvline(target, color=RED, linewidth=1, linestyle="--")
    _bar_values(ax, bars, values, percent, horizontal=True)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_xlim(left=0, right=max([target, *values]) * 1.15 or 1)


def _payout_curve(fig, ax, spec: ChartSpec, currency: str) -> None:
    """Estimated payout (y) against attainment (x): the plan's curve, its band edges, and the marked points
    (`extra["marks"]`: label -> (attainment, payout))."""
    xs = [_num(a) for a, _ in spec.series]
    ys = [_num(v) for _, v in spec.series]
    ax.plot(xs, ys, color=BLUE, linewidth=2, label="Payout (estimate)")
    for edge in spec.extra.get("edges") or ():
        ax.axvline(_num(edge), color=GREY, linewidth=0.8, linestyle=":")
    colors = [GREEN, AMBER, RED]
    for i, (label, (att, value)) in enumerate((spec.extra.get("marks") or {}).items()):
        if att is None or value is None:
            continue
        ax.scatter([_num(att)], [_num(value)], color=colors[i % len(colors)], zorder=3, s=36,
                   label=f"{_safe(label)}: {percent(_num(att))}, {money_short(_num(value), currency)}")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v)))
    _money_axis(ax.yaxis, currency)
    ax.set_xlim(0, max(xs) if xs else 1)
    ax.set_ylim(0, max([*ys, 1.0]) * 1.25)
    ax.grid(color=GRID, linewidth=0.8)
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _scorecard(fig, ax, spec: ChartSpec, currency: str) -> None:
    """Small multiples: one panel per figure, the rep's bar beside the team median's. `series` holds
    (figure label, (rep value, team median)); `extra["formats"]` the format of each (money, ratio, count, days)."""
    fig.delaxes(ax)
    panels = spec.series[:8]
    formats = spec.extra.get("formats") or {}
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    name = _safe(_label(spec.extra.get("rep") or _("Rep"), 14))
    for i, (label, (mine, team)) in enumerate(panels):
        panel = fig.add_subplot(rows, cols, i + 1)
        values = [_num(mine), _num(team)]
        bars = panel.bar([0, 1], values, color=[BLUE, GREY], width=0.6)
        fmt = formats.get(label, "count")
        shown = {"money": lambda v: money_short(float(v), currency), "ratio": percent}.get(
            fmt, lambda v: f"{v:,.1f}" if v % 1 else f"{v:,.0f}")
        _bar_values(panel, bars, values, shown)
        panel.set_title(_safe(_label(label, 24)), fontsize=8, color=INK)
        panel.set_xticks([0, 1], [name, "team"], fontsize=7)
        panel.set_yticks([])
        panel.set_ylim(0, max([*values, 1e-9]) * 1.3)
        for side in ("top", "right", "left"):
            panel.spines[side].set_visible(False)
    fig.subplots_adjust(hspace=0.7, wspace=0.3)


def _waterfall(fig, ax, spec: ChartSpec, currency: str) -> None:
    """A pipeline waterfall: the first and last of `series` are levels drawn from zero (start, end); those between
    are signed movements, each a floating bar from the running total (green up, red down), its amount on it."""
    labels = [_safe(_label(s, 12)) for s, _ in spec.series]
    values = [_num(v) for _, v in spec.series]
    bottoms, heights, colors, running = [], [], [], 0.0
    for i, v in enumerate(values):
        if i in (0, len(values) - 1):
            bottoms.append(0.0)
            heights.append(v)
            colors.append(BLUE)
            running = v
        else:
            bottoms.append(running if v >= 0 else running + v)
            heights.append(abs(v))
            colors.append(GREEN if v > 0 else RED if v < 0 else GREY)
            running += v
    xs = list(range(len(values)))
    bars = ax.bar(xs, heights, bottom=bottoms, color=colors, width=0.65)
    for i in range(len(xs) - 1):  # thin connectors from each bar's top to the next one's start
        level = bottoms[i] + heights[i] if i == 0 or values[i] >= 0 else bottoms[i]
        ax.plot([xs[i] + 0.33, xs[i + 1] - 0.33], [level, level], color=GREY, linewidth=0.8)
    for bar, v, i in zip(bars, values, xs, strict=True):
        signed = i not in (0, len(values) - 1)
        text = ("+" if signed and v > 0 else "") + money_short(v, currency)
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height()), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7, color=INK)
    ax.set_xticks(xs, labels, rotation=30, ha="right")
    _money_axis(ax.yaxis, currency)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.margins(y=0.15)


_DRAW = {
    "bars": _bars,
    "lines": _lines,
    "funnel": _funnel,
    "paired": _paired,
    "pipeline_by_stage": _pipeline_by_stage,
    "attainment_pace": _attainment_pace,
    "forecast": _forecast,
    "leaderboard": _leaderboard,
    "payout_curve": _payout_curve,
    "scorecard": _scorecard,
    "waterfall": _waterfall,
}


def chart_figure(spec: ChartSpec) -> MplFigure:
    """One chart as a matplotlib Figure (one Axes), what `render_chart` saves: tests read its bars and labels.
    Kinds: CHART_KINDS; an empty series draws a "no data" chart.

    `spec.extra` may carry "currency" (default USD); attainment_pace reads "start"/"end" (dates), leaderboard "top".
    Raises ValueError for an unknown kind.
    """
    draw = _DRAW.get(spec.kind)
    if draw is None:
        raise ValueError(f"unknown chart kind {spec.kind!r}; expected one of {', '.join(CHART_KINDS)}")
    fig, ax = _new_figure(spec.title)
    currency = str(spec.extra.get("currency") or "USD")
    if not spec.series:
        _empty(fig, ax)
    else:
        draw(fig, ax, spec, currency)
    _margins(fig, ax)
    return fig


def render_chart(spec: ChartSpec) -> bytes:
    """One chart as PNG bytes (see `chart_figure`)."""
    return _png(chart_figure(spec))


def chart_alt_text(spec: ChartSpec, limit: int = 1000) -> str:
    """A one-line text description of a chart (for `files_upload_v2(alt_txt=…)` and screen readers)."""
    currency = str(spec.extra.get("currency") or "USD")
    title = one_line(spec.title).strip() or spec.kind.replace("_", " ")
    if not spec.series:
        return truncate(_("{title}: no data").format(title=title), limit)
    if spec.kind == "leaderboard":
        ranked = sorted(((n, _num(v)) for n, v in spec.series), key=lambda p: p[1], reverse=True)
        ranked = ranked[: int(spec.extra.get("top") or LEADERBOARD_TOP)]
        parts = [f"{_label(n, 40)} {percent(v)}" for n, v in ranked]
    elif spec.kind in ("bars", "lines"):
        write = value_text(str(spec.extra.get("fmt") or "money"), currency)
        parts = [f"{_label(n, 40)} {write(_num(v)) if v is not None else '—'}" for n, v in spec.series]
    elif spec.kind == "paired":
        write = value_text(str(spec.extra.get("fmt") or "money"), currency)
        first, second = (spec.extra.get("legend") or ("first", "second"))[:2]
        parts = [f"{_label(n, 40)}: {first} {write(_num(a))}, {second} {write(_num(b))}" for n, (a, b) in spec.series]
    elif spec.kind == "funnel":
        moved = list(spec.extra.get("conversion") or [])
        parts = [f"{_label(n, 40)} {count(v)}"
                 + (" (" + _("{share} moved on").format(share=percent(moved[i])) + ")"
                    if i < len(moved) and moved[i] is not None else "")
                 for i, (n, v) in enumerate(spec.series)]
    elif spec.kind == "attainment_pace":
        last = spec.series[-1]
        parts = [_("closed won {amount} by {day}").format(amount=money_short(_num(last[1]), currency),
                                                          day=_label(last[0]))]
        if spec.target:
            parts.append(_("quota {amount} ({share})").format(amount=money_short(spec.target, currency),
                                                             share=percent(_num(last[1]) / _num(spec.target))))
    else:
        parts = [f"{_label(n, 40)} {money_short(_num(v), currency)}" for n, v in spec.series]
        if spec.target is not None:
            parts.append(_("quota {amount}").format(amount=money_short(spec.target, currency)))
    return truncate(f"{title}: " + ", ".join(parts), limit)


def sample_specs() -> dict[str, ChartSpec]:
    """A realistic spec per kind (what a team answer draws), for benchmarks and tests."""
    stages = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Commit", "Verbal"]
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    cumulative, total, series = [], 0, []
    for i in range(0, 92, 1):
        total += (i * 7919) % 23_000
        cumulative.append((start + timedelta(days=i), Decimal(total)))
    series = cumulative[:70]  # the quarter is 70 days in
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    owners = [f"Rep {i:02d} Lastname" for i in range(1, 13)]
    return {
        "bars": ChartSpec(
            "bars",
            "Closed won by owner · West · FY2027",
            [(o, Decimal(90_000 + (i * 37_013) % 140_000)) for i, o in enumerate(owners)]
            + [("Big Deal Rep", Decimal(4_000_000))],
            extra={"fmt": "money"},
        ),
        "lines": ChartSpec(
            "lines",
            "Closed won by month · West · 2026",
            [(m, Decimal(200_000 + (i * 51_001) % 180_000)) for i, m in enumerate(months)],
            extra={"fmt": "money"},
        ),
        "funnel": ChartSpec(
            "funnel",
            "Stage conversion · West · Q3 FY2026",
            [(s, 900 - i * 120) for i, s in enumerate(stages)],
            extra={"conversion": [Decimal("0.62") + Decimal(i) / 50 for i in range(len(stages) - 1)] + [None]},
        ),
        "paired": ChartSpec(
            "paired",
            "Win rate by owner · West: Q3 FY2026 vs Q2 FY2026",
            [(o, (Decimal(20 + i * 3) / 100, Decimal(25 + i * 2) / 100)) for i, o in enumerate(owners[:8])],
            extra={"fmt": "ratio", "legend": ["Q3 FY2026", "Q2 FY2026"]},
        ),
        "pipeline_by_stage": ChartSpec(
            "pipeline_by_stage",
            "Open pipeline by stage — West, Q3 FY2026",
            [(s, Decimal(420_000 - i * 41_000 + (i * 13_001) % 50_000)) for i, s in enumerate(stages)],
        ),
        "attainment_pace": ChartSpec(
            "attainment_pace",
            "Closed won vs pace to quota — Q3 FY2026",
            series,
            target=Decimal(1_500_000),
            extra={"start": start, "end": end},
        ),
        "forecast": ChartSpec(
            "forecast",
            "Forecast vs quota — Q3 FY2026",
            [
                ("Closed", Decimal(812_000)),
                ("Commit", Decimal(1_140_000)),
                ("Best case", Decimal(1_490_000)),
                ("Pipeline", Decimal(2_950_000)),
            ],
            target=Decimal(1_500_000),
        ),
        "leaderboard": ChartSpec(
            "leaderboard",
            "Quota attainment — top 10 reps",
            [(f"Rep {i:02d} Lastname", Decimal(i * 37 % 131 + 20) / 100) for i in range(1, 51)],
            target=Decimal(1),
            extra={"top": 10},
        ),
        "payout_curve": ChartSpec(
            "payout_curve",
            "Estimated payout · AE 2027",
            [(Decimal(i) / 20, Decimal(30000) * min(Decimal(i) / 20, Decimal("2.5"))) for i in range(0, 41)],
            extra={"marks": {"You now": (Decimal("0.82"), Decimal(24600)),
                             "If commit closes": (Decimal("1.04"), Decimal(31800))},
                   "edges": [Decimal("0.5"), Decimal(1)]},
        ),
        "scorecard": ChartSpec(
            "scorecard",
            "Scorecard · Dana Novak vs team median",
            [("Activities / week", (Decimal(31), Decimal(24))),
             ("Pipeline created", (Decimal(410000), Decimal(380000))),
             ("Win rate", (Decimal("0.31"), Decimal("0.28"))), ("Avg deal size", (Decimal(42000), Decimal(39000))),
             ("Cycle (days)", (Decimal(48), Decimal(55))), ("Attainment", (Decimal("0.92"), Decimal("0.87")))],
            extra={"rep": "Dana Novak", "formats": {"Pipeline created": "money", "Win rate": "ratio",
                                                    "Avg deal size": "money", "Attainment": "ratio"}},
        ),
        "waterfall": ChartSpec(
            "waterfall",
            "Pipeline waterfall · West · Q4 FY2026",
            [("Start", Decimal(2_400_000)), ("Created", Decimal(900_000)), ("Pulled in", Decimal(150_000)),
             ("Increased", Decimal(120_000)), ("Decreased", Decimal(-80_000)), ("Pushed out", Decimal(-400_000)),
             ("Won", Decimal(-610_000)), ("Lost", Decimal(-300_000)), ("Other out", Decimal(-50_000)),
             ("End", Decimal(2_130_000))],
        ),
    }


def chart_timings(n: int = 20) -> dict[str, tuple[float, float, int]]:
    """Render each kind's sample chart n times (after one warm-up): {kind: (p50 ms, p95 ms, PNG bytes)}."""
    out = {}
    for kind, spec in sample_specs().items():
        png = render_chart(spec)  # warm-up: font cache, first-use imports
        times = []
        for _i in range(max(1, n)):
            t0 = time.perf_counter()
            png = render_chart(spec)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
        out[kind] = (round(statistics.median(times), 1), round(p95, 1), len(png))
    return out
