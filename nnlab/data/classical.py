"""Classical forecasters a forecaster tries first, fit on a series' training part and run one step ahead over
the rest: naive, seasonal naive, exponential smoothing (Holt-Winters: damped trend, additive season) and a small
ARIMA (a few orders on the differences, the best by AIC; Fourier terms carry a long season, where a seasonal ARIMA
at a weekly season took 491 s to fit).

Each fit takes well under two seconds of CPU on a few thousand steps (statsmodels); its parameters then stay
fixed, and the forecast of step t uses the actual values before t, as nnlab's model does. They are the baselines a
series run is scored beside (nnlab.engine.runner) and the base whose leftover the network can learn
(nnlab.data.prep.series_dataset).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NAMES = {
    "naive": "naive (last value)",
    "seasonal_naive": "seasonal naive",
    "holt_winters": "exponential smoothing (Holt-Winters)",
    "arima": "ARIMA",
}
ARIMA_ORDERS = ((1, 1, 0), (0, 1, 1), (1, 1, 1), (2, 1, 2))
FOURIER_PAIRS = 3  # sine and cosine pairs that carry a season in the ARIMA
# the differences are modelled directly (the first step is dropped, not filtered): a smaller state space, about ten
# times faster to fit, and its AIC compares orders with the same differencing
_DIFFERENCED = {"simple_differencing": True, "concentrate_scale": True}


def season_of(train: np.ndarray) -> int:
    """The season of a series' training part in time steps (0: none), as the data check finds it."""
    from nnlab.data.check import find_season

    return find_season(np.asarray(train, dtype=np.float64))[0]


@contextmanager
def _quiet() -> Iterator[None]:
    """statsmodels warns about convergence and frequencies at length; the fit's result is what counts. Its small
    matrices only make BLAS threads spin (10 s of CPU for a 0.5 s fit, measured): one thread."""
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), np.errstate(all="ignore"), threadpool_limits(1):
        warnings.simplefilter("ignore")
        yield


@dataclass
class Forecaster:
    """A classical forecaster fit on a training part and kept fixed; one_step runs it over any values that begin
    with that part (a longer stretch of the same series)."""

    name: str
    season: int = 0
    order: tuple[int, ...] = ()
    fit: Any = None  # the statsmodels result, where there is one
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How a person names it, with its season or order."""
        if self.name == "arima":
            return f"ARIMA{tuple(self.order)}" + (f" with season {self.season}" if self.season else "")
        if self.name == "seasonal_naive":
            return f"seasonal naive (season {self.season})"
        return NAMES[self.name]

    def one_step(self, values: np.ndarray) -> np.ndarray:
        """(T + 1,) the forecast of every step from the steps before it, and of the step after the last; NaN where
        there is none."""
        values = np.asarray(values, dtype=np.float64)
        if self.name == "naive":
            return np.r_[np.nan, values]
        if self.name == "seasonal_naive":
            return np.r_[np.full(self.season, np.nan), values[: len(values) + 1 - self.season]]
        with _quiet():
            return _holt_winters_run(self, values) if self.name == "holt_winters" else _arima_run(self, values)


def fit_holt_winters(train: np.ndarray, season: int) -> Forecaster:
    """Damped-trend exponential smoothing, with an additive season when there is one (and two of them to learn)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if season and len(train) >= 2 * season + 2 else None
    spec = {"trend": "add", "damped_trend": True, "seasonal": seasonal, "seasonal_periods": season or None}
    with _quiet():
        fit = ExponentialSmoothing(train, initialization_method="estimated", **spec).fit()
    return Forecaster("holt_winters", season if seasonal else 0, fit=fit, spec=spec)


def _holt_winters_run(f: Forecaster, values: np.ndarray) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    p = f.fit.params
    known = {"initial_level": p["initial_level"], "initial_trend": p["initial_trend"]}
    fixed = {k: p[k] for k in ("smoothing_level", "smoothing_trend", "damping_trend")}
    if f.spec["seasonal"]:
        known["initial_seasonal"] = p["initial_seasons"]
        fixed["smoothing_seasonal"] = p["smoothing_seasonal"]
    run = ExponentialSmoothing(values, initialization_method="known", **f.spec, **known).fit(optimized=False, **fixed)
    return np.r_[np.asarray(run.fittedvalues, dtype=np.float64), np.asarray(run.forecast(1), dtype=np.float64)]


def fourier(steps: int, season: int, pairs: int = FOURIER_PAIRS) -> np.ndarray | None:
    """(steps, 2 * pairs) sines and cosines of the season's first harmonics; None without a season."""
    if not season:
        return None
    t = np.arange(steps)[:, None] * 2 * np.pi / season
    k = np.arange(1, min(pairs, season // 2) + 1)[None, :]
    return np.hstack([np.sin(t * k), np.cos(t * k)])


def fit_arima(train: np.ndarray, season: int) -> Forecaster:
    """The best by AIC of a few small ARIMA orders on the differences, with a drift (and Fourier terms for a
    season)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    exog, best = fourier(len(train), season), None
    with _quiet():
        for order in ARIMA_ORDERS:
            fit = SARIMAX(train, exog=exog, order=order, trend="c", **_DIFFERENCED).fit(disp=False, maxiter=50)
            if best is None or fit.aic < best[0].aic:
                best = (fit, order)
    return Forecaster("arima", season, best[1], best[0])


def _arima_run(f: Forecaster, values: np.ndarray) -> np.ndarray:
    exog = fourier(len(values) + 1, f.season)
    run = f.fit.apply(values, exog=None if exog is None else exog[:-1])
    changes = np.asarray(run.predict(), dtype=np.float64)  # (T-1,): the change to step t+1, from the steps to t
    after = float(np.asarray(run.forecast(1, exog=None if exog is None else exog[-1:]))[0])
    return np.r_[np.nan, values[:-1] + changes, values[-1] + after]


def _digest(values: np.ndarray) -> str:
    """A key for a series in the caches below (float64 values)."""
    return hashlib.sha1(values.tobytes()).hexdigest()


_REFITS: dict[tuple[str, int, str], Forecaster] = {}  # the Playground refits on every rerun, mostly the same values


def refit(name: str, train: np.ndarray, season: int) -> Forecaster:
    """A forecaster of the kind `name` with this season, fit on another series (a forecast's own history); the
    last few fits are kept (an ARIMA on a few thousand steps takes a second or two)."""
    fits = {"holt_winters": fit_holt_winters, "arima": fit_arima}
    if name not in fits:
        return Forecaster(name, season)
    train = np.asarray(train, dtype=np.float64)
    key = (name, season, _digest(train))
    if key not in _REFITS:
        if len(_REFITS) >= 8:
            _REFITS.pop(next(iter(_REFITS)))
        _REFITS[key] = fits[name](train, season)
    return _REFITS[key]


def fit_all(train: np.ndarray) -> list[Forecaster]:
    """Every classical forecaster fit on a training part (those whose fit fails on it left out)."""
    train = np.asarray(train, dtype=np.float64)
    season = season_of(train)
    out = [Forecaster("naive")] + ([Forecaster("seasonal_naive", season)] if season else [])
    for fit in (fit_holt_winters, fit_arima):
        try:
            out.append(fit(train, season))
        except (ValueError, np.linalg.LinAlgError):
            continue
    return out


@dataclass(frozen=True)
class Baselines:
    """The forecasters fit on a series' training part and their one-step forecasts of every step (and the next)."""

    season: int
    forecasters: dict[str, Forecaster]
    forecasts: dict[str, np.ndarray]  # name -> (T + 1,)

    def rmse(self, values: np.ndarray, start: int, end: int) -> dict[str, float]:
        """Each forecaster's RMSE over steps start..end-1 (those it has a forecast for all of)."""
        out = {name: _rmse(f[start:end], values[start:end]) for name, f in self.forecasts.items()}
        return {name: v for name, v in out.items() if np.isfinite(v)}


FITTED = ("holt_winters", "arima")  # the forecasters with parameters fit: a base or a blend's partner


def best_on(rmse: dict[str, float]) -> str | None:
    """The fitted forecaster with the lowest RMSE among those scored (None when none was)."""
    return min((n for n in FITTED if n in rmse), key=rmse.get, default=None)


def blend_weight(model: np.ndarray, classical: np.ndarray, actual: np.ndarray, step: float = 0.05) -> float:
    """The weight w in [0, 1] of the model in w * model + (1 - w) * classical with the lowest RMSE against actual
    (1 where they tie: the model alone)."""
    weights = np.round(np.arange(1.0, -step / 2, -step), 10) + 0.0  # + 0.0: the last is 0, not -0 (shown "-0%")
    errors = np.array([_rmse(w * model + (1 - w) * classical, actual) for w in weights])
    return float(weights[int(np.flatnonzero(errors <= errors.min() * (1 + 1e-9) + 1e-12)[0])])


_CACHE: dict[tuple[str, int], Baselines] = {}  # the preview, the pre-flight and the run load one series in a row


def baselines(values: np.ndarray, train_end: int) -> Baselines:
    """Every classical forecaster fit on values[:train_end] (the 1-d target) and run over all of values."""
    values = np.asarray(values, dtype=np.float64)
    key = (_digest(values), train_end)
    if key not in _CACHE:
        fitted = {f.name: f for f in fit_all(values[:train_end])}
        forecasts = {name: f.one_step(values) for name, f in fitted.items()}
        _CACHE.clear()  # one series at a time is all that repeats
        _CACHE[key] = Baselines(season_of(values[:train_end]), fitted, forecasts)
    return _CACHE[key]


def scored(
    values: np.ndarray, train_end: int, steps: np.ndarray, actual: np.ndarray, model: np.ndarray
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The baselines fit on values[:train_end] scored one step ahead at the time steps `steps` (the model's test
    targets): {"baselines": name -> RMSE, "baseline_names": name -> label, "season": ..., "rmse_one_step": the
    model's RMSE on the same first steps}, and (N,) the forecasts at `steps` of the one with the lowest RMSE (for a
    test of the model's gap to it step by step; None when none forecast them all). actual, model: (N,) the true and
    forecast values at those steps."""
    b = baselines(values, train_end)
    rmse = {name: _rmse(f[steps], actual) for name, f in b.forecasts.items()}
    rmse = {name: value for name, value in rmse.items() if np.isfinite(value)}
    said = {
        "baselines": rmse,
        "baseline_names": {name: b.forecasters[name].label for name in rmse},
        "season": b.season,
        "rmse_one_step": _rmse(model, actual),
    }
    return said, (b.forecasts[min(rmse, key=rmse.get)][steps].astype(np.float64) if rmse else None)


def _rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(forecast, dtype=np.float64) - actual) ** 2)))
