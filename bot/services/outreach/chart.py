"""The chart: people reached per month, stacked by audience (matplotlib, Agg, no pyplot)."""

from __future__ import annotations

import io

from bot.content import Content
from bot.services.outreach import vocab
from bot.services.outreach.model import Report
from bot.services.outreach.words import Words

COLORS = {"parents": "#2E86AB", "students": "#F18F01", "educators": "#3B8F4A", "other": "#A23B72"}


def to_png(report: Report, title: str, content: Content | None = None) -> bytes:
    """The chart; its words come from content/texts/report.yaml."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    words = Words.of(report, content)
    short_months = words.split("report.months_short")
    months = report.by_month
    years = {m.year for m in months}
    labels = []
    for m in months:
        label = short_months[m.month - 1]
        labels.append(f"{label}\n{m.year}" if len(years) > 1 else label)
    with rc_context({"font.family": "DejaVu Sans", "font.size": 11}):
        figure = Figure(figsize=(11, 6), dpi=110)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        positions = list(range(len(months)))
        bottom = [0] * len(months)
        for term in vocab.AUDIENCES:
            values = [m.reached_by(term.code) for m in months]
            if not any(values):
                continue
            ax.bar(positions, values, bottom=bottom, color=COLORS[term.code], label=term.label, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        total = sum(bottom)
        ax.set_xticks(positions, labels)
        ax.set_ylabel(words("report.chart_people"))
        ax.set_title(title, fontsize=13, pad=12)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        if total:
            peak = max(bottom)
            for x, value in zip(positions, bottom, strict=True):
                if value:
                    ax.annotate(str(value), (x, value), xytext=(0, 3), textcoords="offset points",
                                ha="center", va="bottom", fontsize=9)  # fmt: skip
            ax.set_ylim(0, peak * 1.12)
            ax.legend(loc="upper left", frameon=False, ncols=4)
        else:
            ax.set_ylim(0, 1)
            ax.set_yticks([])
            ax.text(0.5, 0.5, words("report.chart_empty"), ha="center", va="center",
                    transform=ax.transAxes, fontsize=13, color="#666666")  # fmt: skip
        figure.text(0.99, 0.01, words("report.chart_total", n=total), ha="right", va="bottom", fontsize=9,
                    color="#555555")  # fmt: skip
        figure.tight_layout(rect=(0, 0.03, 1, 1))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
