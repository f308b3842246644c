"""A series run beside the classical forecasters fit on its training part (nnlab.data.classical): the table the
Results page, the report and the command line show, and the verdict in one plain sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.store.runfolder import Results

MODEL = "nnlab"


@dataclass(frozen=True)
class BaselineTest:
    """nnlab against the best classical forecaster step by step: a paired permutation test of their squared errors
    over the test steps, each step's two errors swapped at random."""

    steps: int
    p_value: float

    @property
    def beyond_chance(self) -> bool:
        """Whether the gap is larger than swapping the two forecasts' errors step by step gives (p below ALPHA)."""
        from nnlab.analysis.stats import ALPHA

        return self.p_value < ALPHA


@dataclass(frozen=True)
class BaselineRow:
    """One forecaster's one-step RMSE on the run's test steps, and nnlab's RMSE over it (below 1: nnlab is better)."""

    name: str
    label: str
    rmse: float
    ratio: float


def has_baselines(report: dict[str, Any]) -> bool:
    """Whether the run's report holds classical baselines (series runs saved before they existed hold none)."""
    return bool(report.get("baselines"))


def model_rmse(report: dict[str, Any]) -> float:
    """nnlab's RMSE on the steps the baselines are scored on (the first forecast step of each test window)."""
    return float(report.get("rmse_one_step", report["rmse"]))


def baseline_rows(report: dict[str, Any]) -> list[BaselineRow]:
    """Every baseline, best first."""
    mine, names = model_rmse(report), report.get("baseline_names", {})
    rows = [
        BaselineRow(name, names.get(name, name), float(rmse), mine / float(rmse) if rmse else float("inf"))
        for name, rmse in report.get("baselines", {}).items()
    ]
    return sorted(rows, key=lambda r: r.rmse)


def classical_wins(report: dict[str, Any]) -> bool:
    """Whether a classical forecaster's test RMSE is below nnlab's."""
    rows = baseline_rows(report)
    return bool(rows) and rows[0].rmse < model_rmse(report)


def blend_sentence(report: dict[str, Any]) -> str:
    """What --classical blend did to the run's forecasts ("" when it did not blend)."""
    said = report.get("blend")
    if not said:
        return ""
    w, v, label = said["weight"], said["val_rmse"], said["label"]
    n = said.get("weight_steps")  # runs saved before chose the weight on every validation step
    steps = f"the validation steps (the last {n}, which early stopping did not watch)" if n else "the validation steps"
    if w <= 0:
        return (
            f"The classical {label} forecast {steps} better than the network and than any mix of the two "
            f"(RMSE {v[said['with']]:.4g} against {v['network']:.4g} for the network alone), so this run's forecasts "
            f"are those of {label}; the network alone scored {said['network_rmse']:.4g} on the test steps."
        )
    if w >= 1:
        return (
            f"The network alone forecast {steps} best, with RMSE {v['network']:.4g} against "
            f"{v[said['with']]:.4g} for {label}, so its forecasts are not blended."
        )
    return (
        f"Forecasts blend the network ({w:.0%}) with {label} ({1 - w:.0%}), the mix that forecast {steps} best, "
        f"where the network alone scored RMSE {v['network']:.4g} and {label} {v[said['with']]:.4g}; on the test "
        f"steps the network alone scored {said['network_rmse']:.4g}."
    )


def baseline_test(res: Results) -> BaselineTest | None:
    """The test of nnlab's gap to the best classical forecaster on the run's test steps (None for runs saved before
    the forecaster's steps were kept, or when they do not line up with the run's)."""
    pred = res.predictions
    if pred.classical is None or not has_baselines(res.report):
        return None
    actual = np.asarray(pred.y_true, dtype=np.float64).reshape(len(pred.y_true), -1)[:, 0]
    mine = np.asarray(pred.y_pred, dtype=np.float64).reshape(len(pred.y_pred), -1)[:, 0]
    theirs = np.asarray(pred.classical, dtype=np.float64)
    if theirs.shape != actual.shape or not np.isfinite(theirs).all():
        return None
    from nnlab.analysis.stats import permutation_p  # scipy: loaded where a series run is shown, not by every command

    return BaselineTest(len(actual), permutation_p("rmse", (theirs - actual) ** 2, (mine - actual) ** 2, paired=True))


def _one_step(report: dict[str, Any]) -> tuple[str, str]:
    """(" one step ahead", "; its RMSE over all 3 forecast steps") where the run forecasts several steps: the
    classical forecasters are scored one step ahead, on the run's first forecast step ("", "" for one)."""
    horizon = report.get("horizon", 1)
    if horizon <= 1 or "rmse_one_step" not in report:
        return "", ""
    return " one step ahead", f"; {float(report['rmse']):.4g} over all {horizon} forecast steps"


def _chance(test: BaselineTest | None) -> str:
    """The clause that says whether the gap is beyond chance over the test steps ("" without a test)."""
    if test is None:
        return ""
    within = "beyond" if test.beyond_chance else "within"
    return f", a gap {within} chance over these {test.steps} steps (paired permutation test, p = {test.p_value:.2g})"


def _advice(report: dict[str, Any]) -> str:
    """What to do where a classical forecaster beat the run, given what the run did with one."""
    blend = report.get("blend")
    if report.get("horizon", 1) > 1:  # blend and residual work on one-step forecasts; this run's are its network's
        return (
            "nnlab mixes a classical forecaster in only where a run forecasts one step ahead (--horizon 1), so this "
            "run's forecasts are its network's alone; use the classical one, or forecast one step ahead to mix it in"
        )
    if not blend:
        return "use it, or train with --classical blend or --classical residual, which use it"
    if blend["weight"] >= 1:
        return (
            "this run's validation steps kept the network alone (it forecast them best), so prefer the classical "
            "one where its lead holds on new data"
        )
    return (
        f"this run already mixes {blend['label']} in at the weight its validation steps chose (the network's "
        f"{blend['weight']:.0%}), so prefer the classical one where its lead holds on new data"
    )


def baseline_verdict(report: dict[str, Any], test: BaselineTest | None = None) -> str:
    """One sentence: which is better on the test steps, nnlab or the best classical forecaster, by how much, and
    (given the test of the two forecasts step by step) whether that gap is beyond chance."""
    rows = baseline_rows(report)
    if not rows:
        return ""
    best, mine = rows[0], model_rmse(report)
    ahead, overall = _one_step(report)
    if best.rmse < mine:
        return (
            f"The classical {best.label} forecasts these test steps better than this run: RMSE {best.rmse:.4g} "
            f"against this run's {mine:.4g}{ahead} ({1 - best.rmse / mine:.1%} lower{overall}){_chance(test)}; "
            f"{_advice(report)}."
        )
    if math.isclose(mine, best.rmse, rel_tol=1e-9, abs_tol=1e-12):
        return (
            f"This run forecasts the test steps as well as the best classical forecaster tried, {best.label}: RMSE "
            f"{mine:.4g} each{ahead}."
        )
    gain = 1 - mine / best.rmse if best.rmse else 0.0
    overall = overall.replace("; ", "; this run's ", 1)
    return (
        f"This run forecasts the test steps better than every classical forecaster tried: RMSE {mine:.4g}{ahead} against "
        f"{best.rmse:.4g} for the best, {best.label} ({gain:.1%} lower{overall}){_chance(test)}."
    )
