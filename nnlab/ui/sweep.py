"""The Sweep page's form: the Train form for the base config, the fields to vary with their ranges, the search
settings, and a preview of the number of trials and the time it may take."""

from __future__ import annotations

from typing import Any

import streamlit as st

from nnlab.core.config import CHOICES, FIELDS, RANGES, RunConfig, range_text
from nnlab.core.errors import NNLabError, Problem
from nnlab.core.limits import MAX_CONFIRMED, MAX_PARALLEL, MAX_SEEDS, MAX_TRIALS, size_text
from nnlab.core.text import format_duration, plural
from nnlab.sweeps.preflight import SweepEstimate
from nnlab.sweeps.space import Dim, applies, check_dim, grid_size, parse_dim, variable_fields
from nnlab.sweeps.store import CONFIRM_SEEDS, CONFIRM_TOP, OBJECTIVES, PRUNERS, STRATEGIES, SweepSpec
from nnlab.ui import lab, show_error
from nnlab.ui.auth import visitor
from nnlab.ui.cluster import executor_picker
from nnlab.ui.form import form_inputs, side_by_side
from nnlab.ui.keys import QUERY_SWEEP

KEY_VARY = "sw_vary"
KEY_START = "sw_start"
DEFAULT_VARY = ("lr", "dropout")
STRATEGY_LABELS = {"tpe": "Bayesian (TPE)", "random": "Random", "grid": "Grid"}
PRUNER_LABELS = {"none": "No pruning", "median": "Median: stop trials behind the median", "hyperband": "Hyperband"}
OBJECTIVE_LABELS = {"val_loss": "Validation loss (lower)", "val_accuracy": "Validation accuracy (higher)"}
OBJECTIVE_LABELS |= {"val_rmse": "Validation RMSE (lower)"}


def _fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def sweep_form() -> None:
    """The whole form: base settings and the search on the left; the preview and Start on the right."""
    form, side = side_by_side()
    with form:
        spec, base, problems = form_inputs()  # the Train form itself, widgets and keys shared
        st.markdown("#### 4 · What to vary")
        dims, vary_problems = vary_inputs(base, spec.kind)
        st.markdown("#### 5 · Search")
        options = search_inputs(base, spec.kind)
        executor, where_problem = executor_picker()  # the Train form's choice: this machine or a Ray cluster
    if executor is not None:
        options |= {"executor": executor.kind, "ray_address": executor.address}
    with side:
        where = [Problem(where_problem)] if where_problem else []
        preview_and_start(base, dims, options, problems + vary_problems + where)


def vary_inputs(base: RunConfig, kind: str) -> tuple[list[Dim], list[Problem]]:
    """Tick the fields to vary, then give each a range (low, high, log scale) or a list of values."""
    names = variable_fields(base.arch, kind)
    chosen = st.multiselect(
        "Fields to vary",
        names,
        default=[n for n in DEFAULT_VARY if n in names] if KEY_VARY not in st.session_state else None,
        format_func=lambda n: FIELDS[n].label,
        key=KEY_VARY,
        help="Every other field keeps the value set above.",
    )
    dims: list[Dim] = []
    problems: list[Problem] = []
    for name in chosen:
        if not applies(name, base.arch, kind):
            continue
        try:
            dims.append(check_dim(_dim_input(name, base), base, kind))
        except NNLabError as exc:
            problems.append(Problem(str(exc)))
    if not chosen:
        problems.append(Problem("Choose at least one field to vary.", hint=True))
    return dims, problems


def _dim_input(name: str, base: RunConfig) -> Dim:
    """One varied field's inputs, read back as a Dim (unchecked)."""
    info = FIELDS[name]
    if name in CHOICES or info.widget == "toggle":
        options = list(CHOICES.get(name, (True, False)))
        picked = st.multiselect(
            info.label, options, default=options, key=f"sw_{name}_values", format_func=info.option_label
        )
        return Dim(name, values=tuple(picked)) if picked else parse_dim(name, "")
    rng = RANGES[name]
    lo, hi = rng.bounds(base.expert)
    low_col, high_col, mode_col = st.columns([2, 2, 2], vertical_alignment="bottom")
    mode = mode_col.segmented_control(
        f"{info.label}: scale", ["linear", "log", "list"], default="log" if rng.log else "linear", key=f"sw_{name}_mode"
    )
    if mode == "list":
        text = low_col.text_input(
            f"{info.label}: values",
            value=_fmt(getattr(base, name)),
            key=f"sw_{name}_list",
            help=range_text(name, base.expert),
        )
        high_col.caption("Comma-separated, like 32,64,128.")
        return parse_dim(name, text)
    kind = int if isinstance(getattr(base, name), int) else float
    low_default = lo if lo > 0 or not rng.log else rng.lo
    low = low_col.number_input(
        f"{info.label}: low", value=kind(low_default), key=f"sw_{name}_low", format=None if kind is int else "%g",
        help=range_text(name, base.expert),
    )  # fmt: skip
    high = high_col.number_input(
        f"{info.label}: high", value=kind(hi), key=f"sw_{name}_high", format=None if kind is int else "%g"
    )
    return Dim(name, low, high, mode == "log")


def search_inputs(base: RunConfig, kind: str) -> dict[str, Any]:
    """Strategy, budget, pruner, objective, parallel trials, seeds and a time limit."""
    left, right = st.columns(2)
    objectives = [o for o in OBJECTIVES if o == "val_loss" or (o == "val_rmse") == (kind == "series")]
    with left:
        strategy = st.selectbox("Strategy", STRATEGIES, format_func=STRATEGY_LABELS.get, key="sw_strategy",
                                help="TPE learns from the trials so far; a grid tries every combination.")  # fmt: skip
        trials = st.number_input(
            "Trials", 1, MAX_TRIALS, 12, key="sw_trials_n", help="Configs to try (a grid's size at most)."
        )
        pruner = st.selectbox("Pruning", PRUNERS, format_func=PRUNER_LABELS.get, key="sw_pruner",
                              help="Stop hopeless trials early, judged on each epoch's validation value.")  # fmt: skip
    with right:
        objective = st.selectbox("Objective", objectives, format_func=OBJECTIVE_LABELS.get, key="sw_objective")
        parallel = st.number_input(
            "Trials at once", 1, MAX_PARALLEL, 1, key="sw_parallel", help="1 on a CPU; one per GPU."
        )
        seeds = st.number_input("Seeds per trial", 1, MAX_SEEDS, 1, key="sw_seeds",
                                help="Each config trains with this many seeds; its value is their mean.")  # fmt: skip
        minutes = st.number_input("Time limit (minutes, 0: none)", 0, 10_000, 0, key="sw_minutes")
    with left:
        top = st.number_input("Confirm the top trials", 0, MAX_CONFIRMED, CONFIRM_TOP, key="sw_confirm_top",
                              help="At the end, re-run this many of the best trials with more seeds, so the winner "
                              "is not a seed's luck (0: none).")  # fmt: skip
    with right:
        more = st.number_input("More seeds each", 1, MAX_SEEDS, CONFIRM_SEEDS, key="sw_confirm_seeds",
                               help="Seeds each confirmed trial trains with, beyond its own.")  # fmt: skip
    options = {"strategy": strategy, "pruner": pruner, "objective": objective, "parallel": int(parallel)}
    options |= {"confirm_top": int(top), "confirm_seeds": int(more)}
    return options | {"seeds": int(seeds), "time_limit": 60.0 * minutes, "trials": int(trials), "seed": base.seed}


def preview_and_start(base: RunConfig, dims: list[Dim], options: dict[str, Any], problems: list[Problem]) -> None:
    """The number of trials and runs, the estimated time, any problem, and Start."""
    from nnlab.sweeps.driver import make_spec

    st.markdown("#### Sweep preview")
    spec, options = None, dict(options)
    trials = options.pop("trials")
    if options["strategy"] == "grid" and dims:
        trials = min(trials, grid_size(dims))
    if not problems:
        try:
            spec = make_spec(base, dims, trials, **options)
        except NNLabError as exc:
            problems = [Problem(str(exc))]
    if spec is not None:
        _estimate(spec)
    for problem in problems:
        st.info(problem.text) if problem.hint else show_error(problem.text)
    if st.button("Start sweep", icon=":material/play_arrow:", type="primary", key=KEY_START,
                 disabled=spec is None, width="stretch"):  # fmt: skip
        start_sweep(spec)


def _estimate(spec: SweepSpec) -> None:
    """Trials and runs; once measured, the sweep's wall time and peak memory and what they rest on."""
    from nnlab.ui.preflight import sweep_panel

    confirming = spec.confirm_top * spec.confirm_seeds
    runs = spec.trials * spec.seeds + confirming
    more = f", and {confirming} re-runs that confirm the top {spec.confirm_top} trials" if confirming else ""
    space = " · ".join(f"{d.label} {d.spec()}" for d in spec.dims)
    pruning = PRUNER_LABELS[spec.pruner].split(":")[0].lower()
    st.caption(f"{STRATEGY_LABELS[spec.strategy]} over {space}; {pruning}; trains on {spec.runs_on.where}.")
    est = sweep_panel(spec)
    row = st.container(horizontal=True, gap="medium")
    row.metric(
        "Trials",
        f"{spec.trials}",
        help=f"{plural(runs, 'run')} in all ({plural(spec.seeds, 'seed')} per trial{more}).",
    )
    if est is None:
        return
    row.metric("Estimated time", format_duration(est.seconds), help=_sweep_help(est))
    row.metric(
        "Peak memory", size_text(est.peak_memory_mb * 2**20), help="The largest corner's, times the trials at once."
    )


def _sweep_help(est: SweepEstimate) -> str:
    threads = f", {est.threads_per_trial} CPU thread(s) each" if est.threads_per_trial else ""
    return (
        f"{est.runs} runs, {est.parallel} at a time{threads}; a run about {format_duration(est.trial_seconds)} "
        f"(mean of {len(est.corners)} corners of the search space, measured); the pruner's expected share of "
        f"epochs trained: {est.survival:.0%} ({est.survival_from})."
    )


def start_sweep(spec: SweepSpec) -> None:
    """Record the sweep, drive it in the server, and show it (its id goes into the URL)."""
    try:
        sweep_id = lab().start_sweep(spec, visitor())  # its trials train `parallel` at a time in a queue of their own
    except NNLabError as exc:  # the workspace is at its disk quota, or a visitor would have too many runs at once
        show_error(exc)
        return
    st.query_params[QUERY_SWEEP] = sweep_id
    st.rerun()
