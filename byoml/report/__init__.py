"""A self-contained HTML report of one scoring run (plotly, with plotly.js inlined).

``byoml score ... --report FILE`` writes it; notebooks reuse the figures. Each template names
its report (``Template.report_kind``):

* ``access``: the top anomalies with their ``Explanation``, a users x resources heatmap of the
  highest scores, and the distribution of scores with the threshold;
* ``series``: for each flagged series, actual, predicted, the band between the bounds, and the
  flags over time, plus a table of the flagged bins;
* ``forecast``: for the top series (those reaching a threshold first, then the largest), the
  history before the forecast, the forecast and its 80% and 95% bands, and a row per series;
* ``process``: the top anomalies with their ``Reason``, what they imitate and the ``Explanation``,
  flagged rows per reason, and the distribution of scores with the threshold;
* ``patterns``: the patterns with the most records in the window against their baseline (new
  and flagged ones marked), and the flagged pattern-hours, new patterns first;
* ``table`` (and any kind this byoml does not draw, which the run summary notes): the top rows
  by ``AnomalyScore``.

:mod:`.collect` brings bounded frames to the driver, :mod:`.figures` draws them and
:mod:`.html` writes the document.

>>> info = write_report("report.html", scored, model.anomaly_condition(), template)  # doctest: +SKIP
"""
from .collect import KINDS, ReportData, collect
from .figures import access_figures, figures, forecast_figures, pattern_figures, process_figures, series_figures
from .html import ReportInfo, check_report_path, html_table, render_html, write_report

__all__ = ["KINDS", "ReportData", "ReportInfo", "access_figures", "check_report_path", "collect", "figures",
           "forecast_figures", "html_table", "pattern_figures", "process_figures", "render_html", "series_figures",
           "write_report"]
