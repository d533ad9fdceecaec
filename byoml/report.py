"""A self-contained HTML report of one scoring run (plotly, with plotly.js inlined).

``byoml score ... --report FILE`` writes it; notebooks reuse the figures. What it shows:

* **resource access** (output has ``Account``, ``Resource``, ``AnomalyScore``): the top
  anomalies with their ``Explanation``, a users x resources heatmap of the highest scores,
  and the distribution of scores with the threshold;
* **series** (output has ``ActualUsage``, ``PredictedUsage``, ``LowerBound``, ``UpperBound``):
  for each flagged series, actual, predicted, the band between the bounds, and the flags
  over time, plus a table of the flagged bins;
* anything else: the top rows by ``AnomalyScore``.

Only bounded results reach the driver: the top ``top_n`` rows (``limit``), a grid of at most
``max_grid`` x ``max_grid`` cells, at most ``max_series`` series of at most ``max_points``
bins each, and a histogram of at most 162 buckets. The scored output itself
stays a DataFrame however large it is.

>>> info = write_report("report.html", scored, model.anomaly_condition(), template)  # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

import pandas as pd

from .errors import ConfigError

if TYPE_CHECKING:  # pyspark and plotly are imported where used
    from plotly.graph_objects import Figure
    from pyspark.sql import Column, DataFrame

DEFAULT_TOP = 50
DEFAULT_GRID = 30
DEFAULT_SERIES = 12
DEFAULT_POINTS = 24 * 31
HISTOGRAM_WIDTH = 0.25
HISTOGRAM_LOW, HISTOGRAM_HIGH = -10.0, 30.0

SERIES_COLUMNS = ("ActualUsage", "PredictedUsage", "LowerBound", "UpperBound")
ACCESS_COLUMNS = ("Account", "Resource", "AnomalyScore")
ACCESS_TABLE = ("TenantId", "Account", "Resource", "AnomalyScore", "ScoringPath", "AccessCount", "Affinity",
                "TrainingDays", "Explanation")
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class ReportData:
    """What a report shows: small pandas frames collected with bounds, plus the run's header."""

    kind: str
    header: Dict[str, str]
    top: pd.DataFrame
    top_flagged: bool = True
    grid: Optional[pd.DataFrame] = None
    histogram: Optional[pd.DataFrame] = None
    threshold: Optional[float] = None
    series: Optional[pd.DataFrame] = None
    series_keys: List[str] = field(default_factory=list)
    series_shown: int = 0
    series_flagged: int = 0
    flagged: int = 0
    limits: Dict[str, int] = field(default_factory=dict)


@dataclass
class ReportInfo:
    """Where a report was written and what it holds."""

    path: str
    kind: str
    rows_shown: int
    series_shown: int = 0


def report_kind(columns: Sequence[str]) -> str:
    """``series``, ``access`` or ``table``, from the output columns."""
    cols = set(columns)
    if set(SERIES_COLUMNS) <= cols:
        return "series"
    if set(ACCESS_COLUMNS) <= cols:
        return "access"
    return "table"


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


# -- collecting (bounded) --------------------------------------------------------------------
def collect(
    scored: "DataFrame",
    flag: "Column",
    *,
    header: Optional[Mapping[str, Any]] = None,
    series_keys: Optional[Sequence[str]] = None,
    threshold: Optional[float] = None,
    top_n: int = DEFAULT_TOP,
    max_grid: int = DEFAULT_GRID,
    max_series: int = DEFAULT_SERIES,
    max_points: int = DEFAULT_POINTS,
    flagged: Optional[int] = None,
) -> ReportData:
    """Collect what the report shows from the scored DataFrame; ``flag`` is the anomaly column.

    ``flagged``: the number of flagged rows when the caller knows it (else counted in Spark).
    Every frame brought to the driver is capped.
    """
    from pyspark.sql import functions as F

    kind = report_kind(scored.columns)
    flagged_df = scored.filter(flag)
    flagged = int(flagged_df.count()) if flagged is None else int(flagged)
    data = ReportData(kind=kind, header={k: str(v) for k, v in (header or {}).items()}, top=pd.DataFrame(),
                      flagged=flagged, threshold=threshold,
                      limits={"top_n": top_n, "max_grid": max_grid, "max_series": max_series, "max_points": max_points})
    has_score = "AnomalyScore" in scored.columns
    if kind == "series":
        keys = [k for k in (series_keys or _string_keys(scored)) if k in scored.columns]
        data.series_keys = keys
        _collect_series(data, scored, flagged_df, keys, max_series, max_points, top_n)
        return data
    base = flagged_df if flagged else scored
    data.top_flagged = bool(flagged)
    order = [F.col("AnomalyScore").desc_nulls_last()] if has_score else []
    columns = [c for c in (ACCESS_TABLE if kind == "access" else scored.columns) if c in scored.columns]
    data.top = _to_pandas(base.orderBy(*order).select(*columns).limit(top_n))
    if kind == "access":
        if "TenantId" in data.top and data.top["TenantId"].nunique() <= 1:
            data.header.setdefault("tenant", str(data.top["TenantId"].iloc[0]) if len(data.top) else "")
            data.top = data.top.drop(columns=["TenantId"])
        data.grid = _collect_grid(base, scored, max_grid)
        data.histogram = _collect_histogram(scored)
    return data


def _string_keys(df: "DataFrame") -> List[str]:
    from pyspark.sql import types as T

    known = set(SERIES_COLUMNS) | {"SeriesStatus", "SeriesKind", "AnomalyReason", "ModelVersion", "RunId"}
    return [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType) and f.name not in known]


def _to_pandas(df: "DataFrame") -> pd.DataFrame:
    """The only way frames reach the driver here: every caller has bounded ``df`` (limit or aggregate)."""
    return df.toPandas()


def _collect_grid(base: "DataFrame", scored: "DataFrame", max_grid: int) -> pd.DataFrame:
    """Cells (user, resource) -> highest score: the top users of ``base`` (the anomalies) with
    every pair they have in ``scored``, so their usual resources show beside the odd ones."""
    from pyspark.sql import functions as F

    user_keys = ["TenantId", "Account"] if "TenantId" in base.columns else ["Account"]
    users = (base.groupBy(*user_keys).agg(F.max("AnomalyScore").alias("_u"))
             .orderBy(F.col("_u").desc_nulls_last(), *user_keys).limit(max_grid))
    mine = scored.join(F.broadcast(users.select(*user_keys)), user_keys)
    resources = (mine.groupBy("Resource").agg(F.max("AnomalyScore").alias("_r"))
                 .orderBy(F.col("_r").desc_nulls_last(), "Resource").limit(max_grid))
    explanation = F.max_by("Explanation", "AnomalyScore") if "Explanation" in base.columns else F.lit("")
    cells = (
        mine.join(F.broadcast(resources.select("Resource")), "Resource")
        .groupBy(*user_keys, "Resource")
        .agg(F.max("AnomalyScore").alias("AnomalyScore"), explanation.alias("Explanation"))
        .limit(max_grid * max_grid)
    )
    return _to_pandas(cells)


def _collect_histogram(scored: "DataFrame") -> pd.DataFrame:
    """Counts of ``AnomalyScore`` in buckets of :data:`HISTOGRAM_WIDTH` (one Spark aggregation).

    Scores are clipped to [:data:`HISTOGRAM_LOW`, :data:`HISTOGRAM_HIGH`], so the number of
    buckets brought to the driver is bounded whatever the data.
    """
    from pyspark.sql import functions as F

    score = F.least(F.greatest(F.col("AnomalyScore"), F.lit(HISTOGRAM_LOW)), F.lit(HISTOGRAM_HIGH))
    bucket = F.floor(score / F.lit(HISTOGRAM_WIDTH)).cast("int")
    valid = scored.filter(F.col("AnomalyScore").isNotNull() & ~F.isnan("AnomalyScore"))
    limit = int((HISTOGRAM_HIGH - HISTOGRAM_LOW) / HISTOGRAM_WIDTH) + 2
    counts = _to_pandas(valid.groupBy(bucket.alias("b")).agg(F.count(F.lit(1)).alias("n")).limit(limit))
    counts = counts.sort_values("b").reset_index(drop=True)
    counts["lo"] = counts["b"] * HISTOGRAM_WIDTH
    counts["hi"] = counts["lo"] + HISTOGRAM_WIDTH
    return counts[["lo", "hi", "n"]]


def _collect_series(data: ReportData, scored: "DataFrame", flagged_df: "DataFrame", keys: List[str],
                    max_series: int, max_points: int, top_n: int) -> None:
    """The top ``max_series`` flagged series (most flags first), their latest ``max_points`` bins,
    and the ``top_n`` flagged bins with the largest scores."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not data.flagged:
        data.series = pd.DataFrame()
        return
    score = F.abs(F.col("AnomalyScore")) if "AnomalyScore" in scored.columns else F.lit(0.0)
    ranked = (flagged_df.groupBy(*keys).agg(F.count(F.lit(1)).alias("_flags"), F.max(score).alias("_top"))
              .orderBy(F.col("_flags").desc(), F.col("_top").desc_nulls_last(), *keys))
    data.series_flagged = int(ranked.count())
    chosen = ranked.limit(max_series)
    columns = [*keys, "TimeGenerated", *SERIES_COLUMNS,
               *[c for c in ("Anomalies", "AnomalyScore", "SeriesStatus") if c in scored.columns]]
    latest = Window.partitionBy(*keys).orderBy(F.col("TimeGenerated").desc())
    rows = (
        scored.join(F.broadcast(chosen.select(*keys)), keys)
        .select(*columns)
        .withColumn("_n", F.row_number().over(latest))
        .filter(F.col("_n") <= max_points)
        .drop("_n")
        .limit(max_series * max_points)
    )
    data.series = _to_pandas(rows)
    if not len(data.series):
        data.series_shown = 0
    else:
        data.series_shown = int(data.series.groupby(keys).ngroups) if keys else 1
    top_cols = [*keys, "TimeGenerated", *SERIES_COLUMNS,
                *[c for c in ("Anomalies", "AnomalyReason", "AnomalyScore", "SeriesKind") if c in scored.columns]]
    data.top = _to_pandas(flagged_df.orderBy(score.desc_nulls_last(), "TimeGenerated").select(*top_cols).limit(top_n))


# -- figures -----------------------------------------------------------------------------------
def _label(row: Mapping[str, Any], multi_tenant: bool) -> str:
    account = str(row["Account"])
    return f"{account} · {str(row['TenantId'])[:8]}" if multi_tenant else account


def access_figures(data: ReportData) -> List["Figure"]:
    """The user x resource heatmap and the score histogram (plotly figures)."""
    import plotly.graph_objects as go

    figures = []
    grid = data.grid
    if grid is not None and len(grid):
        multi = "TenantId" in grid and grid["TenantId"].nunique() > 1
        grid = grid.assign(User=[_label(r, multi) for r in grid.to_dict("records")])
        users = grid.groupby("User")["AnomalyScore"].max().sort_values(ascending=True).index.tolist()
        resources = grid.groupby("Resource")["AnomalyScore"].max().sort_values(ascending=False).index.tolist()
        z = grid.pivot_table(index="User", columns="Resource", values="AnomalyScore", aggfunc="max")
        z = z.reindex(index=users, columns=resources)
        text = grid.pivot_table(index="User", columns="Resource", values="Explanation", aggfunc="first")
        text = text.reindex(index=users, columns=resources).fillna("")
        figures.append(go.Figure(
            go.Heatmap(
                z=[[None if pd.isna(v) else float(v) for v in row] for row in z.to_numpy()],
                x=resources, y=users, text=text.to_numpy().tolist(), colorscale="YlOrRd",
                colorbar={"title": {"text": "score"}}, hoverongaps=False,
                hovertemplate="%{y}<br>%{x}<br>score %{z:.2f}<br>%{text}<extra></extra>",
            ),
            layout={"title": {"text": "Users with anomalies × the resources they accessed: score of each pair "
                                      "(blank: no access in the window)"},
                    "height": 26 * len(users) + 420,
                    "xaxis": {"type": "category", "tickangle": 45, "automargin": True},
                    "yaxis": {"type": "category", "automargin": True, "dtick": 1}},
        ))
    hist = data.histogram
    if hist is not None and len(hist):
        fig = go.Figure(go.Bar(x=(hist["lo"] + hist["hi"]) / 2, y=hist["n"], width=(hist["hi"] - hist["lo"]),
                               marker_color="#4c78a8", name="pairs"),
                        layout={"title": {"text": "AnomalyScore of every scored pair"},
                                "yaxis": {"type": "log", "dtick": 1, "title": {"text": "pairs"}},
                                "xaxis": {"title": {"text": "AnomalyScore"}}, "height": 340, "bargap": 0})
        if data.threshold is not None:
            fig.add_vline(x=data.threshold, line_dash="dash", line_color="#d62728",
                          annotation_text=f"threshold {data.threshold:g}")
        figures.append(fig)
    return figures


def series_figures(data: ReportData) -> List["Figure"]:
    """One panel per flagged series: actual, predicted, the band between the bounds, the flags."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = data.series
    if frame is None or not len(frame):
        return []
    keys = data.series_keys
    if keys:
        parts = [(k if isinstance(k, tuple) else (k,), g) for k, g in frame.groupby(keys, sort=True)]
    else:
        parts = [(("all",), frame)]
    flags = {name: int((g["Anomalies"] != 0).sum()) if "Anomalies" in g else 0 for name, g in parts}
    groups = sorted(parts, key=lambda p: -flags[p[0]])  # stable: most flags first, then by key
    titles = [f"{' / '.join(str(v) for v in name)} · {flags[name]} flagged" for name, _ in groups]
    height = 300 * len(groups) + 120
    spacing = min(100 / height, 0.9 / max(1, len(groups) - 1))  # room for the dates and the next title
    fig = make_subplots(rows=len(groups), cols=1, subplot_titles=titles, vertical_spacing=spacing)
    shown = set()
    for i, (_, g) in enumerate(groups, start=1):
        g = g.sort_values("TimeGenerated")
        first = i == 1
        t = g["TimeGenerated"]
        fig.add_trace(go.Scatter(x=t, y=g["UpperBound"], mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup="band"), row=i, col=1)
        fig.add_trace(go.Scatter(x=t, y=g["LowerBound"], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(76,120,168,0.18)", name="expected range", legendgroup="band",
                                 showlegend=first, hovertemplate="lower %{y:.3g}<extra></extra>"), row=i, col=1)
        fig.add_trace(go.Scatter(x=t, y=g["PredictedUsage"], mode="lines", line={"dash": "dash", "color": "#4c78a8"},
                                 name="predicted", legendgroup="pred", showlegend=first), row=i, col=1)
        fig.add_trace(go.Scatter(x=t, y=g["ActualUsage"], mode="lines+markers", marker={"size": 4},
                                 line={"color": "#333333"}, name="actual", legendgroup="actual", showlegend=first),
                      row=i, col=1)
        for direction, symbol, color, name in ((1, "triangle-up", "#d62728", "flag: above"),
                                               (-1, "triangle-down", "#9467bd", "flag: below")):
            hit = g[g["Anomalies"] == direction] if "Anomalies" in g else g.iloc[0:0]
            if not len(hit):
                continue
            fig.add_trace(go.Scatter(x=hit["TimeGenerated"], y=hit["ActualUsage"], mode="markers",
                                     marker={"symbol": symbol, "size": 11, "color": color}, name=name,
                                     legendgroup=name, showlegend=name not in shown), row=i, col=1)
            shown.add(name)
    fig.update_layout(height=height, title={"text": "Flagged series: actual, predicted, bounds and flags"},
                      hovermode="x unified", margin={"t": 90})
    return [fig]


def figures(data: ReportData) -> List["Figure"]:
    """The report's plotly figures for its kind (used by the notebooks too)."""
    if data.kind == "series":
        return series_figures(data)
    if data.kind == "access":
        return access_figures(data)
    return []


# -- HTML --------------------------------------------------------------------------------------
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
    if len(data.top):
        heading = {"series": "Flagged bins", "access": "Top anomalies"}.get(data.kind, "Top rows")
        parts.append(f"<h2>{heading}</h2>")
        parts.append(html_table(data.top, "top"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


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
) -> ReportInfo:
    """Collect (bounded) and write the report of ``scored`` to ``path``; return where and what."""
    target = check_report_path(path)
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
    threshold = getattr(config, "threshold", None) if report_kind(scored.columns) == "access" else None
    flagged = summary.counts.get("flagged") if summary is not None else None
    data = collect(scored, flag, header=header, series_keys=keys, threshold=threshold, top_n=top_n,
                   max_grid=max_grid, max_series=max_series, max_points=max_points, flagged=flagged)
    document = render_html(data, f"byoml · {name} · scoring report" if name else "byoml scoring report")
    tmp = f"{target}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(document)
    os.replace(tmp, target)
    return ReportInfo(target, data.kind, len(data.top), data.series_shown)
