"""Benchmarks that print figures: the training loop, the whole job, the live view, the store, sweeps, Ray."""
