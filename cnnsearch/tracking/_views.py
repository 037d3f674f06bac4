"""What MLflow 3's UI opens on: a saved view of the trials, and the URL that shows it.

Two things decide the first sight of an experiment in MLflow 3.17's UI, and neither
is the ``mlflow.experimentKind`` tag (the UI reads it only when its GenAI / Model
training switch is off, and the switch is on by default):

- the URL parameter ``workflowType=machine_learning`` opens "Model training" (runs)
  instead of the GenAI overview of traces;
- a *saved view*, the experiment tag ``mlflow.sharedViewState.<key>`` (what the UI's
  "Views > Save as new view" writes), opened by ``viewStateShareKey=<key>`` on the
  runs tab, sets the filter, the sort and the columns. Its state cannot expand
  nested runs (the UI drops ``runsExpanded`` from shared views), so the view lists
  the trials themselves: filtered on ``cnnsearch.kind = 'trial'``, best score first,
  with the score, state, diagnosis, measured costs and searched params as columns.
"""

from __future__ import annotations

import json

from cnnsearch._keys import DIAGNOSIS_TAG, KIND_TAG, PARAM_COUNT_ATTR, SCORE_PREFIX, STATE_TAG
from cnnsearch.spec import Spec, measured_costs, searched_names

#: The saved view's key (experiment tag ``mlflow.sharedViewState.cnnsearch-trials``).
TRIALS_VIEW = "cnnsearch-trials"
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
#: A fixed time for the view's envelope, so writing it again changes nothing.
_CREATED_MS = 0


def trials_view_tag(spec: Spec) -> tuple[str, str]:
    """(tag key, value) of the saved view "cnnsearch trials" for this spec's metric and params."""
    score = f"{SCORE_PREFIX}{spec.study.metric}"
    columns = [f"metrics.`{score}`", f"tags.`{STATE_TAG}`", f"tags.`{DIAGNOSIS_TAG}`"]
    # The costs a multi-objective (or limited) study measures: each trial logs them at step 0.
    columns += [f"metrics.`{PARAM_COUNT_ATTR if c == 'params' else c}`" for c in measured_costs(spec.study)]
    columns += [f"params.`{name}`" for name in searched_names(spec)]
    state = {
        "searchFilter": f"tags.`{KIND_TAG}` = 'trial'",
        "orderByKey": f"metrics.`{score}`",
        "orderByAsc": spec.study.direction == "minimize",
        "selectedColumns": columns,
    }
    envelope = {
        "name": "cnnsearch trials",
        "createdAt": _CREATED_MS,
        "updatedAt": _CREATED_MS,
        "state": json.dumps(state),
    }
    return f"{VIEW_TAG_PREFIX}{TRIALS_VIEW}", json.dumps(envelope)


def experiment_url(base: str, experiment_id: str) -> str:
    """The experiment's runs in the MLflow UI at ``base``, opened on the trials view (see the module doc)."""
    return (
        f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"
        f"?workflowType=machine_learning&viewStateShareKey={TRIALS_VIEW}"
    )
