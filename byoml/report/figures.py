"""The report's plotly figures, from the small frames :mod:`.collect` brought to the driver."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Mapping

import pandas as pd

from .collect import ReportData

if TYPE_CHECKING:  # plotly is imported where used
    from plotly.graph_objects import Figure


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
    figures.extend(_histogram(data, "pairs"))
    return figures


def _histogram(data: ReportData, what: str) -> List["Figure"]:
    """The distribution of every scored row's AnomalyScore, with the threshold (log counts)."""
    import plotly.graph_objects as go

    hist = data.histogram
    if hist is None or not len(hist):
        return []
    fig = go.Figure(go.Bar(x=(hist["lo"] + hist["hi"]) / 2, y=hist["n"], width=(hist["hi"] - hist["lo"]),
                           marker_color="#4c78a8", name=what),
                    layout={"title": {"text": f"AnomalyScore of every scored {what[:-1]}"},
                            "yaxis": {"type": "log", "dtick": 1, "title": {"text": what}},
                            "xaxis": {"title": {"text": "AnomalyScore"}}, "height": 340, "bargap": 0})
    if data.threshold is not None:
        fig.add_vline(x=data.threshold, line_dash="dash", line_color="#d62728",
                      annotation_text=f"threshold {data.threshold:g}")
    return [fig]


def process_figures(data: ReportData) -> List["Figure"]:
    """Flagged processes per reason, and the score histogram with the threshold."""
    import plotly.graph_objects as go

    figures = []
    reasons = data.reasons
    if reasons is not None and len(reasons):
        figures.append(go.Figure(
            go.Bar(x=reasons["rows"], y=reasons["Reason"], orientation="h", marker_color="#d62728",
                   hovertemplate="%{y}: %{x} flagged processes<extra></extra>"),
            layout={"title": {"text": "Flagged (computer, process path) rows per reason"},
                    "height": 120 + 40 * len(reasons), "yaxis": {"type": "category", "automargin": True},
                    "xaxis": {"title": {"text": "rows"}}}))
    figures.extend(_histogram(data, "processes"))
    return figures


def series_figures(data: ReportData) -> List["Figure"]:
    """One panel per flagged series: actual, predicted, the band between the bounds, the flags."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = data.series
    if frame is None or not len(frame):
        return []
    keys = data.series_keys
    parts = _series_parts(frame, keys, sort=True)
    flags = {name: int(g["IsAnomaly"].astype(bool).sum()) if "IsAnomaly" in g else 0 for name, g in parts}
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
        # the flagged bins by their direction (Anomalies: +1 above the band, -1 below)
        for direction, symbol, color, name in ((1, "triangle-up", "#d62728", "flag: above"),
                                               (-1, "triangle-down", "#9467bd", "flag: below")):
            hit = g[g["Anomalies"] == direction] if "Anomalies" in g else g.iloc[0:0]
            if not len(hit):
                continue
            fig.add_trace(go.Scatter(x=hit["TimeGenerated"], y=hit["ActualUsage"], mode="markers",
                                     marker={"symbol": symbol, "size": 11, "color": color}, name=name,
                                     legendgroup=name, showlegend=name not in shown), row=i, col=1)
            shown.add(name)
    return [_finish_panels(fig, data, len(groups), height, "Flagged series: actual, predicted, bounds and flags")]


def _finish_panels(fig, data: ReportData, rows: int, height: int, title: str):
    """Axes titles (the series' unit, UTC time under the last panel), the height and the title."""
    unit = data.unit or "value per bin"
    fig.update_yaxes(title_text=unit)
    fig.update_xaxes(title_text="time (UTC)", row=rows, col=1)
    fig.update_layout(height=height, title={"text": f"{title} ({unit})"}, hovermode="x unified", margin={"t": 90})
    return fig


def _series_parts(frame: pd.DataFrame, keys: List[str], sort: bool = False):
    """``(key tuple, rows)`` per series (one ``("all",)`` part without keys)."""
    if keys:
        return [(k if isinstance(k, tuple) else (k,), g) for k, g in frame.groupby(keys, sort=sort)]
    return [(("all",), frame)]


def forecast_figures(data: ReportData) -> List["Figure"]:
    """One panel per shown series: the history, the forecast, its 95% and 80% bands and the threshold crossings."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = data.series
    if frame is None or not len(frame):
        return []
    keys = data.series_keys
    order = [tuple(r) for r in data.top[keys].itertuples(index=False, name=None)] if keys and len(data.top) else []
    parts = dict(_series_parts(frame, keys))
    names = [n for n in order if n in parts] + [n for n in parts if n not in order]
    history = dict(_series_parts(data.history, keys)) if data.history is not None and len(data.history) else {}
    summary = {tuple(r[k] for k in keys): r for r in data.top.to_dict("records")} if keys else {}
    titles = []
    for name in names:
        info = summary.get(name, {})
        title = f"{' / '.join(str(v) for v in name)} · {info.get('Model', '')}"
        if info.get("ThresholdCrossing80") is not None and not pd.isna(info.get("ThresholdCrossing80")):
            title += f" · threshold {info.get('Threshold'):g} may be reached {pd.Timestamp(info['ThresholdCrossing80']):%Y-%m-%d %H:%M}"
        titles.append(title)
    height = 300 * len(names) + 120
    spacing = min(100 / height, 0.9 / max(1, len(names) - 1))
    fig = make_subplots(rows=len(names), cols=1, subplot_titles=titles, vertical_spacing=spacing)
    for i, name in enumerate(names, start=1):
        g = parts[name].sort_values("TimeGenerated")
        first = i == 1
        t = g["TimeGenerated"]
        for lo, hi, color, label in (("Lower95", "Upper95", "rgba(76,120,168,0.15)", "95% interval"),
                                     ("Lower80", "Upper80", "rgba(76,120,168,0.30)", "80% interval")):
            fig.add_trace(go.Scatter(x=t, y=g[hi], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False,
                                     legendgroup=label), row=i, col=1)
            fig.add_trace(go.Scatter(x=t, y=g[lo], mode="lines", line={"width": 0}, fill="tonexty", fillcolor=color,
                                     name=label, legendgroup=label, showlegend=first,
                                     hovertemplate=f"{label} %{{y:.3g}}<extra></extra>"), row=i, col=1)
        fig.add_trace(go.Scatter(x=t, y=g["Forecast"], mode="lines", line={"dash": "dash", "color": "#4c78a8"},
                                 name="forecast", legendgroup="forecast", showlegend=first), row=i, col=1)
        if name in history:
            h = history[name].sort_values("TimeGenerated")
            fig.add_trace(go.Scatter(x=h["TimeGenerated"], y=h["Value"], mode="lines", line={"color": "#333333"},
                                     name="history", legendgroup="history", showlegend=first), row=i, col=1)
        hit = g[g["IsAnomaly"].astype(bool)] if "IsAnomaly" in g else g.iloc[0:0]
        if len(hit):
            fig.add_trace(go.Scatter(x=hit["TimeGenerated"], y=hit["Upper80"], mode="markers",
                                     marker={"symbol": "diamond", "size": 11, "color": "#d62728"},
                                     name="threshold crossing (80%)", legendgroup="crossing", showlegend=True), row=i, col=1)
    return [_finish_panels(fig, data, len(names), height, "Forecasts: history, forecast and interval bands")]


def pattern_figures(data: ReportData) -> List["Figure"]:
    """The top patterns of the window: records against their baseline, new and flagged ones marked."""
    import plotly.graph_objects as go

    frame = data.patterns
    if frame is None or not len(frame):
        return []
    frame = frame.iloc[::-1]  # the largest at the top
    label = [(p if len(p) <= 90 else p[:87] + "...") for p in frame["Pattern"].astype(str)]
    colour = ["#d62728" if bool(n) else ("#ff7f0e" if int(f) else "#4c78a8") for n, f in zip(frame["IsNew"], frame["FlaggedHours"])]
    fig = go.Figure(layout={
        "title": {"text": "Top patterns of the window: records (bars; red: new, orange: flagged hours) and baseline (marks)"},
        "height": 28 * len(frame) + 200, "barmode": "overlay", "xaxis": {"type": "log", "title": {"text": "records"}},
        "yaxis": {"automargin": True, "type": "category"}, "margin": {"l": 40}})
    fig.add_trace(go.Bar(x=frame["Count"], y=label, orientation="h", marker_color=colour, name="records",
                         customdata=frame[["PatternId", "FlaggedHours", "Groups"]].to_numpy(),
                         hovertemplate="%{y}<br>%{x} records · id %{customdata[0]} · %{customdata[1]} flagged hours"
                                       " · %{customdata[2]} groups<extra></extra>"))
    fig.add_trace(go.Scatter(x=frame["Baseline"].clip(lower=0.1), y=label, mode="markers", name="baseline",
                             marker={"symbol": "line-ns-open", "size": 16, "color": "#333333"},
                             hovertemplate="baseline %{x:.1f}<extra></extra>"))
    return [fig]


def figures(data: ReportData) -> List["Figure"]:
    """The report's plotly figures for its kind (used by the notebooks too)."""
    if data.kind == "patterns":
        return pattern_figures(data)
    if data.kind == "series":
        return series_figures(data)
    if data.kind == "forecast":
        return forecast_figures(data)
    if data.kind == "access":
        return access_figures(data)
    if data.kind == "process":
        return process_figures(data)
    return []
