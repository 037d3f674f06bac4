"""A study shown to people: trial tables, the live console, plots, the HTML report,
and what a search leaves in MLflow beyond params and metrics (curves, study plots).

:class:`SearchTracking` and the consoles implement the search layer's protocols.
Imports every layer up to ``tracking``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.reporting._artifacts import (
        CURVES_FILE,
        PLOTS_DIR,
        SUMMARY_FILE,
        TRIALS_CSV,
        RefreshPolicy,
        StudyArtifacts,
        log_model_summary,
        log_trial_curves,
    )
    from cnnsearch.reporting._best import best_record_lines
    from cnnsearch.reporting._console import PoolConsole, SearchConsole, best_trials_table
    from cnnsearch.reporting._front import (
        FRONT_CSV,
        FRONT_PLOT,
        format_cost,
        front_figure,
        front_frame,
        front_html,
        front_table,
        plot_front,
        write_front_plot,
    )
    from cnnsearch.reporting._page import render, summary_counts, write_report
    from cnnsearch.reporting._plots import STUDY_PLOTS, plot_learning_curves, study_figures, write_study_plots
    from cnnsearch.reporting._search_tracking import SearchTracking
    from cnnsearch.reporting._tables import (
        SORT_KEYS,
        STATES,
        best_record,
        fmt,
        json_records,
        trial_row,
        trials_frame,
    )
    from cnnsearch.reporting._trials_view import trials_table

__all__ = [
    "CURVES_FILE",
    "FRONT_CSV",
    "FRONT_PLOT",
    "PLOTS_DIR",
    "SORT_KEYS",
    "STATES",
    "STUDY_PLOTS",
    "SUMMARY_FILE",
    "TRIALS_CSV",
    "PoolConsole",
    "RefreshPolicy",
    "SearchConsole",
    "SearchTracking",
    "StudyArtifacts",
    "best_record",
    "best_record_lines",
    "best_trials_table",
    "fmt",
    "format_cost",
    "front_figure",
    "front_frame",
    "front_html",
    "front_table",
    "json_records",
    "log_model_summary",
    "log_trial_curves",
    "plot_front",
    "plot_learning_curves",
    "render",
    "study_figures",
    "summary_counts",
    "trial_row",
    "trials_frame",
    "trials_table",
    "write_front_plot",
    "write_report",
    "write_study_plots",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
