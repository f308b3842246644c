"""Counts read as English: '1 epoch', '2 epochs', '1 thread', never '1 epochs' or 'epoch(s)'."""

import torch

from nnlab.core.text import plural
from nnlab.engine.runner import device_label


def test_plural():
    assert [plural(n, "epoch") for n in (0, 1, 2, 1500)] == ["0 epochs", "1 epoch", "2 epochs", "1,500 epochs"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == "3 classes"


def test_one_cpu_thread_is_singular():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert device_label(torch.device("cpu")) == "cpu (1 thread)"
    finally:
        torch.set_num_threads(before)
