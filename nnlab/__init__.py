"""nnlab: train, watch, inspect and compare neural networks; the package does every piece of real work."""

__version__ = "0.1.0"
