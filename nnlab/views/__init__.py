"""Figures and reports (Plotly, one-file HTML): views of records, never state changes."""
