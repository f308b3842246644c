"""Training and inference: the trainer, the runner, prediction, precision, pre-flight, metrics, device."""
