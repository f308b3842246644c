"""A sweep as one self-contained HTML file: what it searched and found, the best configs, every trial in a table
that sorts by any column, the progress and curves of the trials, and which fields mattered."""

from __future__ import annotations

from typing import Any

from nnlab.analysis.naming import data_title
from nnlab.core.config import FIELDS
from nnlab.core.text import format_duration, plural
from nnlab.store.runs import RunStore
from nnlab.sweeps.results import Trial, best_so_far, best_trial, trials_of
from nnlab.sweeps.space import label_of
from nnlab.sweeps.store import SweepRecord, SweepStore
from nnlab.views import sweep_plots
from nnlab.views.htmldoc import Document, esc, rows_table, sortable_table
from nnlab.views.plots import epoch_axis
from nnlab.views.report import metrics_html, paragraphs
from nnlab.views.report_words import arch_words, article, config_value

STRATEGY_WORDS = {"tpe": "a Bayesian search (TPE)", "random": "a random search", "grid": "a grid search"}
PRUNER_WORDS = {
    "none": "every trial trained to its end",
    "median": "trials behind the median of earlier trials at the same epoch were stopped early (pruned)",
    "hyperband": "Hyperband stopped the weaker trials early (pruned)",
}
BEST_SHOWN = 5
IMPORTANCE_STEADY = 10  # finished trials under which importance is a rough guide


def sweep_filename(sweep_id: str) -> str:
    """A safe file name for the sweep report download."""
    return f"nnlab-sweep-{sweep_id}.html"


def _param(name: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return config_value(name, value) if isinstance(value, (bool, str)) else str(value)


def _params_text(t: Trial) -> str:
    return ", ".join(f"{label_of(k)} {_param(k, v)}" for k, v in t.params.items())


def _ranked(rec: SweepRecord, trials: list[Trial]) -> list[Trial]:
    done = [t for t in trials if t.value is not None]
    return sorted(done, key=lambda t: t.value if rec.spec.direction == "minimize" else -t.value)


def intro(rec: SweepRecord, trials: list[Trial]) -> list[str]:
    """What the sweep searched, how, and what it found, in sentences."""
    spec, base = rec.spec, rec.spec.base
    arch = arch_words(base.arch)[0]
    objective = sweep_plots.OBJECTIVE_LABELS[spec.objective]
    goal = "lowest" if spec.direction == "minimize" else "highest"
    space = "; ".join(f"{d.label} {d.spec()}" for d in spec.dims)
    seeds = f", each trained with {spec.seeds} seeds (the value is their mean)" if spec.seeds > 1 else ""
    lines = [
        f"{len(trials)} of {spec.trials} planned configs of {article(arch).lower()} {arch} network on "
        f"{data_title(base)} were trained by {STRATEGY_WORDS.get(spec.strategy, spec.strategy)}, looking for the "
        f"{goal} {objective}{seeds}. Varied: {space}. Every other setting stayed as in the base config below.",
        f"Each trial is an ordinary training run; {PRUNER_WORDS.get(spec.pruner, spec.pruner)}.",
    ]
    best = best_trial(rec, trials)
    if best is None:
        return [*lines, "No trial has finished yet."]
    run = best.runs[0]
    test = f"; its run {run.run_id} scored test {run.score_text}" if run.test_value is not None else ""
    lines.append(f"Best: trial {best.number}, {objective} {best.value:.4f}, with {_params_text(best)}{test}.")
    return lines


def _row(rec: SweepRecord, t: Trial) -> list[tuple[str, Any]]:
    run = t.runs[0]
    cells: list[tuple[str, Any]] = [(str(t.number), t.number), (t.state, t.state)]
    cells += [(_param(d.name, t.params.get(d.name)), t.params.get(d.name)) for d in rec.spec.dims]
    cells += [
        ("–" if t.value is None else f"{t.value:.4f}", t.value),
        ("–" if run.test_value is None else f"{run.test_value:.4f}", run.test_value),
        (str(run.epochs_done), run.epochs_done),
        (format_duration(t.seconds), t.seconds),
        (run.run_id, run.run_id),
    ]
    return cells


def trials_table(rec: SweepRecord, trials: list[Trial]) -> str:
    """Every trial, sortable by any column."""
    objective = sweep_plots.OBJECTIVE_LABELS[rec.spec.objective]
    test = trials[0].runs[0].test_metric if trials and trials[0].runs[0].test_metric else "score"
    columns = ["trial", "state", *[d.label for d in rec.spec.dims], objective, f"test {test}", "epochs", "time", "run"]
    return sortable_table(columns, [_row(rec, t) for t in trials])


def best_table(rec: SweepRecord, trials: list[Trial]) -> str:
    """The best finished trials, best first."""
    ranked = _ranked(rec, trials)[:BEST_SHOWN]
    if not ranked:
        return "<p class='muted'>No trial has finished yet.</p>"
    objective = sweep_plots.OBJECTIVE_LABELS[rec.spec.objective]
    rows = [
        (f"{k}. trial {t.number}", f"{objective} {t.value:.4f} · {_params_text(t)}") for k, t in enumerate(ranked, 1)
    ]
    return rows_table(rows)


def base_rows(rec: SweepRecord) -> list[tuple[str, str]]:
    """The base config's fields that the sweep did not vary, as given (0 batch size or epochs: fitted per run)."""
    from nnlab.data.registry import fields_that_apply

    varied = {d.name for d in rec.spec.dims}
    base = rec.spec.base
    rows = []
    for name in fields_that_apply(base):
        if name in varied:
            continue
        rows.append((FIELDS[name].label, _base_value(base, name)))
    return rows


def _base_value(base: Any, name: str) -> str:
    """A base config value as each trial took it: 0 batch size or epochs fitted per run, other zeros automatic."""
    value = getattr(base, name)
    if name == "dataset":
        return data_title(base)
    if name == "arch":
        return arch_words(value)[0]
    if name in ("batch_size", "epochs") and not value:
        return "fit to the data (per run)"
    rng = FIELDS[name].range
    if rng is not None and rng.zero_ok and value == 0 and name in ("image_size", "threads"):
        return "automatic"
    return config_value(name, value)


def confirmation_html(store: RunStore, rec: SweepRecord) -> str:
    """The top trials re-run with more seeds: the headline and each confirmed trial against the best."""
    from nnlab.sweeps.confirm import confirmation

    found = confirmation(store, rec)
    if found is None:
        return (
            "<p class='muted'>The top trials were not re-run with more seeds, so the best value may partly be its "
            f"seed's luck (`python -m nnlab sweep confirm {esc(rec.sweep_id)}` re-runs them).</p>"
        )
    rows = [[(f"trial {c.trial}", c.trial), *confirmed_cells(found.metric, c)] for c in found.trials]
    columns = confirmed_columns(found.metric)
    table = sortable_table(columns, rows) if rows else ""
    return f"<p class='lead'>{esc(found.headline)}</p>{table}"


def confirmed_columns(metric: str) -> list[str]:
    """The confirmed trials' table's columns (this report's and the Sweep page's)."""
    return ["trial", "seeds", f"test {metric}", "95% interval", "against the best", "s / epoch"]


def confirmed_cells(metric: str, c: Any) -> list[tuple[str, Any]]:
    """A confirmed trial's cells after its number, each (text, value to sort by): its seeds, mean ± sd, interval,
    how it stands against the best, and its median epoch's seconds."""
    fmt = (lambda x: f"{x:.4g}") if metric == "rmse" else (lambda x: f"{x:.3f}")  # noqa: E731
    spread = f" ± {fmt(c.sd)}" if c.sd is not None else ""
    if c.best:
        stand = "best"
    elif c.tied_with_best:
        stand = "tied within seed noise"
    else:
        stand = f"{fmt(c.diff or 0)} (p {'< 0.001' if (c.p_value or 1) < 0.001 else f'= {c.p_value:.3f}'})"
    per_epoch = c.seconds_per_epoch
    return [
        (", ".join(map(str, c.seeds)), len(c.seeds)),
        (fmt(c.mean) + spread, c.mean),
        (f"[{fmt(c.interval[0])}, {fmt(c.interval[1])}]", c.interval[0]),
        (stand, c.diff if c.diff is not None else 0),
        ("–" if per_epoch is None else f"{per_epoch:.2g}", per_epoch),
    ]


def build_sweep_report(store: RunStore, sweep_id: str) -> str:
    """The sweep as one HTML document; every user string escaped, nothing fetched."""
    sweeps = SweepStore(store)
    rec = sweeps.get(sweep_id)
    trials = trials_of(store, rec)
    states = [t.state for t in trials]
    best = best_trial(rec, trials)
    name = rec.spec.title
    doc = Document(f"{name} · nnlab sweep {sweep_id}")
    doc.add(
        f"<p class='muted'>nnlab sweep report · {esc(sweep_id)} · {esc(rec.status)} · created {esc(rec.created_iso)}"
        " UTC</p>",
        f"<h1>{esc(name)}</h1>",
        paragraphs(intro(rec, trials), "lead"),
        metrics_html(
            [
                ("trials", f"{len(trials)} / {rec.spec.trials}"),
                *[
                    (s, str(states.count(s)))
                    for s in ("finished", "pruned", "failed")
                    if s in states or s == "finished"
                ],
                ("best", "–" if best is None else f"{best.value:.4f}"),
                ("time", format_duration(rec.elapsed)),
            ]
        ),
        f"<p class='muted'>{esc(rec.reason)}</p>" if rec.reason else "",
        "<h2>Best configs</h2>",
        best_table(rec, trials),
        "<h2>Every trial</h2><p class='muted'>Click a column's title to sort by it.</p>",
        trials_table(rec, trials),
    )
    doc.add("<h2>Is the winner real?</h2>", confirmation_html(store, rec))
    _figures(doc, store, sweeps, rec, trials)
    doc.add("<h2>Base config</h2>", rows_table(base_rows(rec)))
    return doc.render()


def _figures(doc: Document, store: RunStore, sweeps: SweepStore, rec: SweepRecord, trials: list[Trial]) -> None:
    objective = rec.spec.objective
    points = best_so_far(rec, trials)
    histories = store.metrics_many([t.runs[0].run_id for t in trials])
    doc.add("<h2>Progress</h2>")
    if points:
        fig = sweep_plots.best_so_far_figure(points, trials, objective)
        fig.update_xaxes(tickformat="d", **({"dtick": 1} if len(trials) <= 20 else {}))
        doc.add("<h3>Best so far</h3>", doc.figure(fig))
    if any(histories.values()):
        doc.add(
            "<h3>Every trial's curve</h3>",
            doc.figure(
                epoch_axis(
                    sweep_plots.curves_figure(trials, histories, objective),
                    max((len(h) for h in histories.values()), default=1),
                ),
                caption="Pruned trials are dotted and end with a cross where they were stopped.",
            ),
        )
    finished = sum(t.value is not None for t in trials)
    doc.add("<h2>What mattered</h2>")
    if finished < 3:
        doc.add(f"<p class='muted'>Importance needs three finished trials; this sweep has {finished}.</p>")
        return
    from nnlab.sweeps.driver import open_study

    study = open_study(sweeps, rec)
    scores = sweep_plots.importance(study)
    caveat = (
        f" With {plural(finished, 'finished trial')} this is a rough guide; it steadies with more trials."
        if finished < IMPORTANCE_STEADY
        else ""
    )
    if scores:
        doc.add(
            doc.figure(
                sweep_plots.importance_figure(scores),
                caption="Optuna's fANOVA: the share of the objective's variance each varied field explains." + caveat,
            )
        )
    parallel = sweep_plots.parallel_figure(study, objective)
    if parallel.layout.xaxis.ticktext:  # Optuna names the axes by field; the page by label
        parallel.update_xaxes(ticktext=[label_of(t) for t in parallel.layout.xaxis.ticktext])
    doc.add("<h3>Each config against the objective</h3>", doc.figure(parallel))
