"""The job manager's queues by name: the runs started one by one share one lane, each sweep has its own."""

RUNS_LANE = "runs"  # the lane of runs started one by one (the form, the command line)


def sweep_lane(sweep_id: str) -> str:
    """The lane a sweep's trials wait in."""
    return f"sweep:{sweep_id}"
