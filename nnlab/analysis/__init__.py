"""Reading many runs: the runs table, two-way comparisons, seed groups, statistics."""
