"""A study shown to people: trial tables, the live console, plots, the HTML report,
and what a search leaves in MLflow beyond params and metrics (curves, study plots).

:class:`SearchTracking` and the consoles implement the search layer's protocols.
Imports every layer up to ``tracking``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.reporting._artifacts import log_model_summary, log_trial_curves
    from cnnsearch.reporting._best import best_record_lines
    from cnnsearch.reporting._console import PoolConsole, SearchConsole
    from cnnsearch.reporting._front import front_table, plot_front
    from cnnsearch.reporting._loading import LoadBar, data_notes
    from cnnsearch.reporting._page import summary_counts, write_report
    from cnnsearch.reporting._search_tracking import SearchTracking
    from cnnsearch.reporting._tables import best_record, fmt, json_records, trials_frame
    from cnnsearch.reporting._trials_view import trials_table

__all__ = [
    "LoadBar",
    "PoolConsole",
    "SearchConsole",
    "SearchTracking",
    "best_record",
    "best_record_lines",
    "data_notes",
    "fmt",
    "front_table",
    "json_records",
    "log_model_summary",
    "log_trial_curves",
    "plot_front",
    "summary_counts",
    "trials_frame",
    "trials_table",
    "write_report",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
