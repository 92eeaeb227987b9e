"""The form that describes a learning-curve run, built from `RunConfig`'s parameters.

Defaults, bounds and allowed values come from `RunConfig` (one definition, in core/runs);
the form only turns text into lists, shows what `RunConfig` says is wrong, and hands a valid
configuration to ``submit``. The data set is QM9 or a file of the server's data folder
(`ui.data.data_sets`); the targets, the size checks and the submitted configuration follow it.
"""

from __future__ import annotations

import math
import re

import panel as pn
import param

from ...core.data import DEFAULT_TARGET, PROPERTIES, default_target
from ...core.features.coulomb_matrix import ORDERS
from ...core.learn.metrics import METRICS
from ...core.learn.series import REPRESENTATIONS
from ...runs.config import PRESETS, RunConfig, data_reference
from ..data.data_sets import QM9_NAME, DataSetLoader, catalogue, property_options

#: Shown in the preset chooser when the fields no longer match a preset.
CUSTOM = "Custom"
#: The preset a fresh form starts from (the paper's Fig. 3), if the runs layer defines it.
INITIAL_PRESET = "Paper Fig. 3"

TARGET_LABELS = {f"{desc[:1].upper()}{desc[1:]} ({unit})": key for key, (unit, desc) in PROPERTIES.items()}


def log_sizes(lo: int, hi: int, count: int) -> list[int]:
    """``count`` training sizes from ``lo`` to ``hi``, evenly spaced on a log axis and rounded
    to two significant digits (``log_sizes(100, 10000, 9)`` -> 100, 180, 320, ..., 10000)."""
    if lo < 1 or hi < lo or count < 1:
        raise ValueError("the log grid needs 1 <= from <= to and at least one point")
    if count == 1 or lo == hi:
        return [hi]
    out = []
    for k in range(count):
        x = lo * (hi / lo) ** (k / (count - 1))
        digits = max(int(math.floor(math.log10(x))) - 1, 0)
        out.append(int(round(x / 10 ** digits) * 10 ** digits))
    out[0], out[-1] = lo, hi
    return sorted(set(out))


def parse_numbers(text: str, kind: type, what: str) -> list:
    """``'100, 200 400'`` -> ``[100, 200, 400]``; ValueError naming ``what`` if a token is not a number."""
    tokens = [t for t in re.split(r"[,;\s]+", text.strip()) if t]
    if not tokens:
        raise ValueError(f"{what}: give at least one value")
    out = []
    for tok in tokens:
        try:
            value = kind(tok) if kind is float else int(tok.replace("_", ""))
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ValueError(f"{what}: {tok!r} is not {noun}") from None
        out.append(value)
    return out


def _join(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _param_doc(name: str) -> str:
    p = RunConfig.param[name] if name in RunConfig.param else None
    return (p.doc or "") if p is not None else ""


class RunForm(pn.viewable.Viewer):
    """Widgets for every setting of a run, a preset chooser, live validation and a launch button.

    Parameters
    ----------
    submit : called with a valid `RunConfig` when the user presses *Launch*; returns a message
        for the user (e.g. the new run's id) or raises ValueError with one
    n_molecules : size of QM9 (or of the data set it stands for in a test), to check that training and
        test sets fit (None: unknown); a file data set's own size replaces it while that is chosen
    data_sets : name -> file of the data sets offered (default: `data_sets.catalogue`, QM9 first)
    """

    submit = param.Callable(default=None, doc="submit(config) -> message; ValueError for the user")
    n_molecules = param.Integer(default=None, allow_None=True, doc="Molecules available (None: unknown)")
    message = param.String(default="", doc="What is wrong with the settings, or what launching did")
    message_type = param.Selector(default="danger", objects=["danger", "success", "info", "warning"])
    valid = param.Boolean(default=False, doc="Whether the fields describe a valid run")
    data_sets = param.Dict(default=None, allow_None=True, doc="Name -> file of the data sets offered (QM9: None)")

    def __init__(self, **params):
        super().__init__(**params)
        self._applying = False
        if self.data_sets is None:
            self.data_sets = catalogue()
        self._qm9_size = self.n_molecules
        self.loader = DataSetLoader()
        self.data_set = pn.widgets.Select(label="Data set", options=list(self.data_sets), value=QM9_NAME, width=330,
                                          description="QM9, or a data set of the server's data folder",
                                          css_classes=["wqml-data-set"])
        defaults = RunConfig.param
        self.preset = pn.widgets.Select(label="Start from", options=[CUSTOM, *PRESETS], value=CUSTOM,
                                        width=330, description="Fill every field from a preset")
        self.run_name = pn.widgets.TextInput(label="Run name", placeholder="e.g. Fig. 3, 5 seeds", width=330)
        self.series_groups = {
            metric: pn.widgets.CheckButtonGroup(label=metric.upper(), options=list(ORDERS), value=[],
                                                color="primary", variant="outline",
                                                width=250, margin=(2, 5), css_classes=[f"wqml-series-{metric}"])
            for metric in METRICS
        }
        self.sizes = pn.widgets.TextInput(label="Training sizes", width=330,
                                          description=_param_doc("sizes") + "; comma separated")
        self.grid_from = pn.widgets.IntInput(label="from", value=100, start=1, width=75)
        self.grid_to = pn.widgets.IntInput(label="to", value=10_000, start=1, width=85)
        self.grid_count = pn.widgets.IntInput(label="points", value=9, start=1, end=40, width=60)
        self.grid_button = pn.widgets.Button(label="Log grid", width=80, margin=(24, 5, 5, 5),
                                             description="Fill the training sizes with a log grid")
        bounds_test = defaults.n_test.bounds or (1, None)
        self.n_test = pn.widgets.IntInput(label="Test molecules", start=bounds_test[0], end=bounds_test[1],
                                          step=100, width=160, description=_param_doc("n_test"))
        bounds_folds = defaults.folds.bounds or (2, 20)
        self.folds = pn.widgets.IntInput(label="CV folds", start=bounds_folds[0], end=bounds_folds[1], width=160,
                                         description=_param_doc("folds"))
        self.seeds = pn.widgets.TextInput(label="Seeds", width=160,
                                          description="One or more, comma separated: several seeds give a mean "
                                                      "and a spread (error bars)")
        targets = {label: key for label, key in TARGET_LABELS.items() if key in PROPERTIES}
        self.target = pn.widgets.Select(label="Target", options=targets, width=330,
                                        description=_param_doc("target"))
        self.representation = pn.widgets.RadioButtonGroup(
            label="Representation", options={REPRESENTATIONS.get(r, r): r for r in defaults.representation.objects},
            color="primary", variant="outline", width=330)
        self.sigma_factors = pn.widgets.TextInput(label="Sigma factors (x median distance)", width=330,
                                                  description=_param_doc("sigma_factors"))
        self.lambdas = pn.widgets.TextInput(label="Lambdas", width=330, description=_param_doc("lambdas"))
        self.launch = pn.widgets.Button(label="Launch run", color="primary", width=330,
                                        disabled=True, css_classes=["wqml-launch"])
        self.summary = pn.pane.Markdown("", css_classes=["wqml-form-summary"], margin=(0, 10))

        self._fields = [self.run_name, self.sizes, self.n_test, self.folds, self.seeds, self.target,
                        self.representation, self.sigma_factors, self.lambdas, *self.series_groups.values()]
        for widget in self._fields:
            widget.param.watch(self._on_edit, "value")
        self.preset.param.watch(self._on_preset, "value")
        self.data_set.param.watch(self._on_data_set, "value")
        self.loader.param.watch(self._apply_data_set, ["dataset", "error", "loading"])
        self.grid_button.on_click(self._fill_grid)
        self.launch.on_click(self._on_launch)
        self.param.watch(lambda *_: self.validate(), "n_molecules")
        self.apply_values({})
        if INITIAL_PRESET in PRESETS:
            self.preset.value = INITIAL_PRESET
        self.validate()

    # -- values <-> widgets --------------------------------------------------------------
    def apply_values(self, overrides: dict) -> None:
        """Set every field from RunConfig's defaults updated with ``overrides``."""
        values = {k: RunConfig.param[k].default for k in RunConfig.param if k not in ("name", "seed")}
        values.update(overrides)
        self._applying = True
        try:
            chosen = set(values.get("series", []))
            for metric, group in self.series_groups.items():
                group.value = [o for o in ORDERS if f"{o}:{metric}" in chosen]
            self.sizes.value = _join(values["sizes"])
            self.n_test.value = int(values["n_test"])
            self.folds.value = int(values["folds"])
            self.seeds.value = _join(values["seeds"])
            if values["target"] in self.target.options.values():  # a file's targets are its own
                self.target.value = values["target"]
            self.representation.value = values["representation"]
            self.sigma_factors.value = _join(values["sigma_factors"])
            self.lambdas.value = _join(values["lambdas"])
        finally:
            self._applying = False
        self.validate()

    def values(self) -> dict:
        """The fields as RunConfig keyword arguments; ValueError (for the user) if a field does not parse."""
        series = [f"{o}:{m}" for m, group in self.series_groups.items() for o in ORDERS if o in group.value]
        if not series:
            raise ValueError("choose at least one series (an order and a metric)")
        out = {
            "series": series,
            "sizes": sorted(set(parse_numbers(self.sizes.value, int, "training sizes"))),
            "n_test": self.n_test.value,
            "folds": self.folds.value,
            "target": self.target.value,
            "sigma_factors": parse_numbers(self.sigma_factors.value, float, "sigma factors"),
            "lambdas": parse_numbers(self.lambdas.value, float, "lambdas"),
            "seeds": parse_numbers(self.seeds.value, int, "seeds"),
            "representation": self.representation.value,
        }
        if self.run_name.value.strip():
            out["name"] = self.run_name.value.strip()
        if None in (out["n_test"], out["folds"]):
            raise ValueError("test molecules and folds need a value")
        return out

    def config(self) -> RunConfig:
        """A validated `RunConfig` from the fields (with the chosen file's `data_reference`); ValueError
        with a message for the user."""
        loader = self.loader
        if loader.error:
            raise ValueError(loader.error)
        if not loader.is_qm9 and loader.dataset is None:
            raise ValueError(f"reading {loader.chosen} ...")
        values = self.values()
        if not loader.is_qm9:
            if values["target"] not in loader.dataset.properties:
                raise ValueError(f"{loader.chosen} has no number to learn: no property is given for every frame")
            values["data"] = data_reference(loader.dataset, loader.path, values["target"])
        try:
            cfg = RunConfig.from_dict(values)
        except ValueError as exc:
            raise ValueError(_clean(exc)) from None
        n = self.n_molecules if loader.is_qm9 else cfg.n_molecules
        if n is not None and max(cfg.sizes) + cfg.n_test > n:
            raise ValueError(f"largest training size {max(cfg.sizes)} plus {cfg.n_test} test molecules exceeds "
                             f"the {n} molecules of {cfg.data_name}")
        return cfg

    # -- the data set --------------------------------------------------------------------
    async def choose_data_set(self, name: str) -> None:
        """Choose data set ``name`` (a key of ``data_sets``): read it off the event loop, then offer
        its properties as targets."""
        if self.data_set.value != name:
            self._applying = True  # the widget's watcher would choose it a second time
            try:
                self.data_set.value = name
            finally:
                self._applying = False
        await self.loader.choose(name, self.data_sets)

    async def _on_data_set(self, event) -> None:
        if not self._applying:
            await self.loader.choose(event.new, self.data_sets)

    def _apply_data_set(self, *_) -> None:
        """Targets and size of the chosen data set (QM9's when it is QM9), then check the fields."""
        loader, dataset = self.loader, self.loader.dataset
        if loader.is_qm9:
            options, default, size = TARGET_LABELS, DEFAULT_TARGET, self._qm9_size
        elif dataset is not None:
            options, size = property_options(dataset), len(dataset)
            default = default_target(dataset) or next(iter(dataset.properties), None)
        else:  # reading, or failed: validate says so
            self.validate()
            return
        keep = self.target.value if self.target.value in options.values() else default
        self._applying = True
        try:
            self.target.options = options
            self.target.value = keep
        finally:
            self._applying = False
        with param.parameterized.discard_events(self):
            self.n_molecules = size
        self.validate()

    # -- events --------------------------------------------------------------------------
    def _on_edit(self, *_):
        if self._applying:
            return
        if self.preset.value != CUSTOM:
            self._applying = True
            self.preset.value = CUSTOM
            self._applying = False
        self.validate()

    def _on_preset(self, event):
        if self._applying or event.new == CUSTOM:
            return
        self.apply_values(dict(PRESETS[event.new]))

    def _fill_grid(self, _):
        try:
            self.sizes.value = _join(log_sizes(self.grid_from.value or 0, self.grid_to.value or 0,
                                               self.grid_count.value or 0))
        except ValueError as exc:
            self._say(str(exc), "danger")

    def validate(self) -> bool:
        """Check the fields; update the message, the summary and whether *Launch* is enabled."""
        try:
            cfg = self.config()
        except ValueError as exc:
            kind = "info" if self.loader.loading else "danger"
            self.param.update(valid=False, message=str(exc), message_type=kind)
            self.summary.object = ""
            self.launch.disabled = True
            return False
        seeds = len(cfg.seeds)
        n_tasks = len(cfg.tasks())
        self.summary.object = (f"{len(cfg.series)} series x {len(set(cfg.sizes))} sizes x {seeds} "
                               f"seed{'s' if seeds > 1 else ''} = **{n_tasks} points**, "
                               f"largest training set {max(cfg.sizes):,}"
                               + ("" if cfg.data is None else f" of {cfg.data_name} ({cfg.n_molecules:,} molecules)"))
        self.param.update(valid=True, message="")
        self.launch.disabled = False
        return True

    def _say(self, text: str, kind: str) -> None:
        self.param.update(message=text, message_type=kind)

    def _on_launch(self, _):
        if not self.validate():
            return
        cfg = self.config()
        if self.submit is None:
            self._say("no executor is attached to this form", "danger")
            return
        self.launch.disabled = True
        try:
            text = self.submit(cfg)
        except ValueError as exc:
            self._say(str(exc), "danger")
        except Exception as exc:  # the store or the cluster: say so, keep the app alive
            self._say(f"Could not launch the run: {type(exc).__name__}: {exc}", "danger")
        else:
            self._say(text or "Launched", "success")
        finally:
            self.launch.disabled = not self.valid

    # -- view ----------------------------------------------------------------------------
    @param.depends("message", "message_type")
    def _message(self):
        if not self.message:
            return pn.Spacer(height=0)
        return pn.pane.Alert(self.message, alert_type=self.message_type, sizing_mode="stretch_width",
                             margin=(5, 10),
                             css_classes=["wqml-form-message"])

    def __panel__(self):
        series = pn.Column(
            pn.pane.Markdown("**Series** (atom order per metric)", margin=(5, 10, 0, 10)),
            *[pn.Row(pn.pane.Markdown(f"{m.upper()}", width=30, margin=(8, 5, 0, 10)), g)
              for m, g in self.series_groups.items()],
            pn.pane.Markdown("W1 ignores the atom order; Bag of Bonds sorts its bags, so the order "
                             "does not matter there either. W1 on Bag of Bonds is the W1 model of the "
                             "Coulomb matrix (the same entries, more zero padding).",
                             css_classes=["wqml-hint"], margin=(0, 10)),
        )
        advanced = pn.Card(self.sigma_factors, self.lambdas, title="Hyperparameter grids", collapsed=True,
                           width=340, margin=(5, 5))
        return pn.Column(
            self.preset,
            self.run_name,
            series,
            self.sizes,
            pn.Row(self.grid_from, self.grid_to, self.grid_count, self.grid_button),
            pn.Row(self.n_test, self.folds),
            pn.Row(self.seeds),
            self.data_set,
            self.target,
            pn.pane.Markdown("**Representation**", margin=(5, 10, 0, 10)),
            self.representation,
            advanced,
            self.summary,
            self._message,
            self.launch,
            width=350, css_classes=["wqml-run-form"], name="run-form",
        )


def _clean(exc: Exception) -> str:
    """param's messages name the class and parameter; keep them, drop the traceback noise."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
