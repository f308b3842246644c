"""The SQLite run store and the run folders (imports nnlab.core only)."""
