"""Compare runs or seed groups: the table, a verdict for two, curves with bands, hyperparameters against the
score, and the test examples that flipped."""

from nnlab.ui import page_setup
from nnlab.ui.compare import compare_page

page_setup("Compare runs")
compare_page()
