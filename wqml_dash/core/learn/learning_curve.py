"""Learning curves in this process: `run_learning_curve` runs the plan of `plan` step by step.

The same plan runs on Dask in `wqml_dash.runs` (several seeds, stored points, cancellable runs).
"""

from __future__ import annotations

import time

from ..data.dataset import MolecularDataset
from ..progress import CancelToken, ProgressCallback, report
from .backends import get_backend
from .plan import compute_distances, fit_point, plan_chains, prepare_inputs
from .results import CurvePoint, LearningCurveResult
from .settings import LearningCurveSettings


def run_learning_curve(dataset: MolecularDataset, settings: LearningCurveSettings, *,
                       progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None,
                       on_point=None) -> LearningCurveResult:
    """Run the protocol for every series and size of ``settings``, in this process.

    Series that compare the same vectors share one preparation of them; each series computes its
    distances once, for the largest training set, and every size reads their top-left block.

    Parameters
    ----------
    dataset : the molecules (QM9 from `data.load_qm9`, a file from `data.load_dataset`)
    settings : what to run
    progress : ``progress(done, total, message)``, one unit per (series, size) point
    cancel : a `CancelToken`; raises `Cancelled` soon after it is set
    on_point : optional ``on_point(CurvePoint)`` as each point finishes

    Returns
    -------
    LearningCurveResult
    """
    start = time.perf_counter()
    settings.check_fits(len(dataset))
    backend = get_backend(settings.device)
    tasks = [(s, n, settings.seed) for s in settings.series for n in settings.sizes]
    chains = plan_chains(tasks, settings.representation, settings.search)
    total = sum(len(c.points) for c in chains)
    points: list[CurvePoint] = []
    distance_seconds: dict[str, float] = {}
    inputs_cache: dict[tuple, object] = {}

    for chain in chains:
        label = chain.series.key
        report(progress, len(points), total, f"{label}: representations and distances")
        seconds = 0.0
        if chain.inputs_key not in inputs_cache:
            inputs_cache[chain.inputs_key] = prepare_inputs(dataset, settings, chain.series)
            seconds += inputs_cache[chain.inputs_key].seconds
        inputs = inputs_cache[chain.inputs_key]
        distances = compute_distances(inputs, chain.series.metric, backend)
        distance_seconds[label] = seconds + distances.seconds

        for task in chain.points:
            if cancel is not None:
                cancel.check()
            done = len(points)

            def cv_progress(i, k, msg, _where=f"{label} n={task.size}", _done=done):
                report(progress, _done, total, f"{_where}: cross-validation {msg}")

            point = fit_point(inputs.X_train, inputs.y_train, inputs.X_test, inputs.y_test, chain.series.order,
                              chain.series.metric, task.size, settings, D_train=distances.train,
                              D_test=distances.test, cancel=cancel, progress=cv_progress, backend=backend)
            points.append(point)
            if on_point is not None:
                on_point(point)
            report(progress, len(points), total, f"{label} n={task.size}: MAE {point.mae:.2f}")
        del distances

    return LearningCurveResult(config=settings.to_dict(), points=points, test_rows=inputs.test_rows,
                               y_test=inputs.y_test, distance_seconds=distance_seconds,
                               wall_seconds=time.perf_counter() - start,
                               data=dataset.identity(settings.target))
