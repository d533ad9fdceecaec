"""The report as one self-contained HTML document (plotly.js inlined), and writing it."""
from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional

import pandas as pd

from ..errors import ConfigError
from .collect import DEFAULT_GRID, DEFAULT_POINTS, DEFAULT_SERIES, DEFAULT_TOP, KINDS, ReportData, collect
from .figures import figures

if TYPE_CHECKING:  # pyspark is imported where used
    from pyspark.sql import Column, DataFrame

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class ReportInfo:
    """Where a report was written and what it holds."""

    path: str
    kind: str
    rows_shown: int
    series_shown: int = 0
    note: str = ""  # set when the template's report kind is not drawn and the generic one stands in


def check_report_path(path: str) -> str:
    """The local file path of ``--report`` (``file://`` allowed); its folder is created now."""
    if path.startswith("file://"):
        path = path[len("file://"):]
    if "://" in path:
        raise ConfigError(f"--report '{path}' must be a local path (on Databricks: /Volumes/... or /dbfs/...)")
    if os.path.isdir(path):
        raise ConfigError(f"--report '{path}' is a folder; give a file name such as report.html")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report: cannot create the folder {folder} ({exc.strerror})") from None
    return os.path.abspath(path)



_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:13px}
dt{color:#666} dd{margin:0}
table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0} td.num{text-align:right;font-variant-numeric:tabular-nums}
p.note{color:#555;font-size:13px}
"""


def _plain(value: Any) -> Any:
    """A numpy/pandas scalar as a plain Python value; missing values as None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # lists, arrays: shown as text
        return value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value
    return value.item() if hasattr(value, "item") else value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "<td></td>"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return f"<td>{html.escape(pd.Timestamp(value).strftime('%Y-%m-%d %H:%M'))}</td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else ''}</td>"
    if isinstance(value, float):
        return f'<td class="num">{value:.3f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def html_table(frame: pd.DataFrame, table_id: str) -> str:
    """An escaped HTML table of a small frame."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        body.append("<tr>" + "".join(_cell(v) for v in row) + "</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


#: What each column of a report table means, for the legend under it.
LEGEND = {
    "Account": "the user (case-folded)",
    "Resource": "the file share, as \\\\server\\share",
    "FirstSeen": "the user's first access to the resource in the scoring window (UTC)",
    "LastSeen": "the user's last access to the resource in the scoring window (UTC)",
    "AccessCount": "accesses in the scoring window",
    "AnomalyScore": "how unusual: standard deviations below the tenant's normal (access templates), or "
                    "beyond the bounds when above 1 (series)",
    "ScoringPath": "how the pair was scored: known_pair, new_pair (the user's nearest past resource), new_resource "
                   "(the server stands in), new_user, new_user_new_resource, new_tenant",
    "Affinity": "how well the resource fits the user's past accesses (ALS dot product; low is odd)",
    "TrainingDays": "days the user was active in the training window",
    "Explanation": "the user's usual resources and the resource's usual users",
    "TimeGenerated": "start of the flagged bin (UTC)",
    "ActualUsage": "the value in the bin, in the series' unit (MB per hour for Usage)",
    "PredictedUsage": "what the model expected, same unit",
    "LowerBound": "below it a bin is beyond the fences, same unit",
    "UpperBound": "above it a bin is beyond the fences, same unit",
    "Anomalies": "direction: +1 above, -1 below",
    "AnomalyReason": "spike, dip, level_shift, missing_data or new_series",
    "SeriesKind": "season (daily, weekly, none) / count-like or gauge",
}


def render_html(data: ReportData, title: str) -> str:
    """The whole report as one HTML document; plotly.js is inlined once, before the first figure."""
    parts = [f"<h1>{html.escape(title)}</h1>", "<dl>"]
    for key, value in data.header.items():
        parts.append(f"<dt>{html.escape(key)}</dt><dd>{html.escape(value)}</dd>")
    parts.append("</dl>")
    limits = data.limits
    if data.kind == "series":
        if data.flagged:
            parts.append(f'<p class="note">{data.flagged:,} flagged bins in {data.series_flagged:,} series; '
                         f"showing {data.series_shown} series (at most {limits['max_series']}, "
                         f"latest {limits['max_points']} bins each).</p>")
        else:
            parts.append('<p class="note">No series was flagged in this window.</p>')
    elif data.kind == "patterns" and data.patterns is not None:
        what = "flagged pattern-hours (new patterns first)" if data.top_flagged else "pattern-hours (none was flagged)"
        parts.append(f'<p class="note">{data.flagged:,} flagged pattern-hours; the chart shows the '
                     f"{len(data.patterns)} patterns with the most records, the table the top {len(data.top)} {what}.</p>")
    elif data.kind == "forecast":
        parts.append(f'<p class="note">{data.series_shown} series shown (at most {limits["max_series"]}): those '
                     f"reaching a threshold first ({data.series_flagged:,} series do), then the largest forecasts; "
                     f"history: the latest {limits['max_points']} bins before the forecast.</p>")
    else:
        what = "anomalies" if data.top_flagged else "scored rows (none was flagged)"
        parts.append(f'<p class="note">{data.flagged:,} anomalies; the table shows the top {len(data.top)} {what} '
                     f"by AnomalyScore (at most {limits['top_n']}).</p>")
    plots = figures(data)
    include = True
    for index, fig in enumerate(plots):
        parts.append(f'<div class="figure" id="figure-{index}">')
        parts.append(fig.to_html(full_html=False, include_plotlyjs=include, config=PLOT_CONFIG,
                                 div_id=f"plot-{index}"))
        parts.append("</div>")
        include = False
    if data.grid_note:
        parts.append(f'<p class="note" id="grid-note">{html.escape(data.grid_note)}</p>')
    if data.patterns is not None and len(data.patterns):
        parts.append("<h2>Top patterns</h2>")
        parts.append(html_table(data.patterns, "patterns"))
    if len(data.top):
        heading = {"series": "Flagged bins", "access": "Top anomalies", "process": "Top anomalies, with their reasons",
                   "patterns": "Flagged pattern-hours", "forecast": "Forecast per series"}.get(data.kind, "Top rows")
        parts.append(f"<h2>{heading}</h2>")
        parts.append(html_table(data.top, "top"))
        legend = [(c, LEGEND[c]) for c in data.top.columns if c in LEGEND]
        if legend:
            parts.append('<dl class="legend" id="legend">' + "".join(
                f"<dt>{html.escape(c)}</dt><dd>{html.escape(text)}</dd>" for c, text in legend) + "</dl>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def series_unit(config: Any) -> str:
    """What a series template's values are, for the axes: MB per hour for Usage, else the aggregation."""
    if config is None or not hasattr(config, "value_column"):
        return ""
    if getattr(config, "table", "") == "Usage" and config.value_column == "Quantity" and config.aggregation == "sum":
        return f"MB per {config.bin}"
    if config.aggregation == "count":
        return f"rows per {config.bin}"
    return f"{config.aggregation} of {config.value_column} per {config.bin}"


def write_report(
    path: str,
    scored: "DataFrame",
    flag: "Column",
    template: Optional[Any] = None,
    summary: Optional[Any] = None,
    *,
    model_version: Optional[str] = None,
    top_n: int = DEFAULT_TOP,
    max_grid: int = DEFAULT_GRID,
    max_series: int = DEFAULT_SERIES,
    max_points: int = DEFAULT_POINTS,
    context: Optional["DataFrame"] = None,
) -> ReportInfo:
    """Collect (bounded) and write the report of ``scored`` to ``path``; return where and what.

    The template names its report (``report_kind``); a kind this byoml does not draw gets the
    generic report (the top rows), and :attr:`ReportInfo.note` says so (the run summary shows it).
    """
    target = check_report_path(path)
    declared = getattr(template, "report_kind", "table")
    kind, note = declared, ""
    if declared not in KINDS:
        kind = "table"
        note = (f"template {getattr(template, 'name', '?')} names report kind '{declared}', which this byoml "
                f"does not draw ({', '.join(KINDS)}): the generic report (top rows) was written")
    header: Dict[str, Any] = {}
    name = getattr(template, "name", "") or (summary.template if summary is not None else "")
    if summary is not None:
        header.update({"run": summary.run_id, "window": summary.window, "source": summary.source})
        counts = summary.counts
        for key in ("rows_read", "scored", "flagged", "written"):
            if key in counts:
                header[key.replace("_", " ")] = f"{counts[key]:,}"
    if template is not None:
        header["output table"] = f"{template.output_table_name}_CL"
    if model_version:
        header["model"] = model_version
    header["generated"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    config = getattr(template, "config", None)
    keys = list(getattr(config, "group_by", []) or []) or None
    threshold = getattr(config, "threshold", None) if kind in ("access", "process") else None
    flagged = summary.counts.get("flagged") if summary is not None else None
    if note:
        header["note"] = note
    data = collect(scored, flag, kind=kind, header=header, series_keys=keys, threshold=threshold, top_n=top_n,
                   max_grid=max_grid, max_series=max_series, max_points=max_points, flagged=flagged,
                   context=context, unit=series_unit(config))
    document = render_html(data, f"byoml · {name} · scoring report" if name else "byoml scoring report")
    tmp = f"{target}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(document)
    os.replace(tmp, target)
    return ReportInfo(target, data.kind, len(data.top), data.series_shown, note)
