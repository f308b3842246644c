"""Sweeps on Optuna: the search space, the sweep store, the driver, the results."""
