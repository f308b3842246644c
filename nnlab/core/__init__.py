"""Values: RunConfig and its field metadata, records, data facts, errors, limits, wording (no torch, no sqlite)."""
