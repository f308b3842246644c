"""The training fast path: permuted batches, no per-batch read-back, fused steps, NHWC convolutions, threads."""

import os

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from nnlab.data.base import Split
from nnlab.data.batches import iterate_batches
from nnlab.data.registry import make_config
from nnlab.data.synthetic import cifar_like, mnist_like, reviews_like
from nnlab.engine import threads as cpu_threads
from nnlab.engine import train
from nnlab.engine.threads import set_threads
from nnlab.engine.train import Trainer, make_optimizer
from nnlab.models import TextLSTM, build_model


def _trainer(arch="mlp", data=None, **cfg):
    cfg = make_config(arch, epochs=1, early_stopping=False, batch_size=16, **cfg)
    data = data or mnist_like(800, 64)
    return Trainer(cfg, build_model(cfg, data.facts), data, torch.device("cpu"))


def test_batches_come_from_a_fresh_permutation_each_epoch():
    split = Split(torch.arange(1000).float()[:, None], torch.arange(1000))
    epochs = []
    for seed in (1, 2):
        gen = torch.Generator().manual_seed(seed)
        ys = torch.cat([y for _, y, _ in iterate_batches(split, 64, shuffle=True, generator=gen)])
        assert sorted(ys.tolist()) == list(range(1000))  # every sample exactly once
        epochs.append(ys)
    assert not torch.equal(epochs[0], torch.arange(1000)) and not torch.equal(epochs[0], epochs[1])


def test_text_batches_drop_padding_columns_no_text_reaches():
    x = torch.zeros(4, 50, dtype=torch.long)
    split = Split(x, torch.zeros(4, dtype=torch.long), torch.tensor([3, 7, 5, 2]))
    ((xb, _, lengths),) = list(iterate_batches(split, 4))
    assert xb.shape == (4, 7) and lengths.tolist() == [3, 7, 5, 2]


def test_text_batches_group_similar_lengths_and_still_see_every_text_once():
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 257, (2000,), generator=gen)
    split = Split(torch.zeros(2000, 256, dtype=torch.long), torch.arange(2000), lengths)
    batches = list(iterate_batches(split, 64, shuffle=True, generator=torch.Generator().manual_seed(1)))
    ys = torch.cat([y for _, y, _ in batches])
    assert sorted(ys.tolist()) == list(range(2000))
    assert not torch.equal(ys, torch.arange(2000))
    steps = sum(x.shape[0] * x.shape[1] for x, _, _ in batches)  # what an LSTM pays: batch x longest text
    assert steps < 0.6 * 2000 * 256  # random batches of uniform lengths would cost about 0.98 of that


@pytest.mark.slow
def test_the_loop_reads_the_loss_back_a_few_times_a_second_not_every_batch(monkeypatch):
    trainer = _trainer()  # 800 samples at batch 16: 50 batches
    calls = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or real_item(self))
    monkeypatch.setattr(train, "PROGRESS_INTERVAL_S", 3600.0)
    trainer.train_one_epoch(1)
    assert len(calls) <= 2


@pytest.mark.slow
def test_progress_still_reaches_listeners_at_the_read_back_rate(monkeypatch):
    seen = []

    class Listener(train.Callback):
        def on_progress(self, trainer, progress):
            seen.append(progress)

    trainer = _trainer()
    trainer.callbacks.append(Listener())
    monkeypatch.setattr(train, "PROGRESS_INTERVAL_S", 0.0)  # every batch
    loss = trainer.train_one_epoch(1)
    assert len(seen) == 50 and seen[-1].fraction == 1.0 and 0 < loss < 10


def test_optimizer_is_fused_or_foreach_where_pytorch_offers_it():
    cfg = make_config("mlp")
    params = list(torch.nn.Linear(4, 2).parameters())
    for kind in ("adam", "adamw", "sgd"):
        opt = make_optimizer(cfg.replace(optimizer=kind), params, torch.device("cpu"))
        assert opt.defaults.get("fused") or opt.defaults.get("foreach"), kind


@pytest.mark.slow
def test_gradients_are_released_with_set_to_none(monkeypatch):
    trainer = _trainer()
    trainer._fast = None  # autograd's path: the MLP's fast step writes its gradients into one flat buffer instead
    flags = []
    real = trainer.optimizer.zero_grad
    monkeypatch.setattr(
        trainer.optimizer, "zero_grad", lambda set_to_none=True: flags.append(set_to_none) or real(set_to_none)
    )
    trainer.train_one_epoch(1)
    assert flags and all(flags)


@pytest.mark.slow
def test_convolutional_models_train_channels_last_on_the_cpu():
    trainer = _trainer("cnn", cifar_like(64, 16), hidden=32)
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.fit().status == "finished"
    mlp = _trainer("mlp", cifar_like(64, 16))
    assert not mlp.channels_last  # no convolutions: nothing to gain


@pytest.mark.parametrize("train_mode", [False, True])
def test_text_lstm_cpu_path_matches_the_packed_lstm(train_mode):
    data = reviews_like(12, 0, max_len=30, vocab=100)
    x, lengths = data.train.x, data.train.lengths
    torch.manual_seed(0)
    model = TextLSTM(100, 2, dropout=0.0, hidden=16).train(train_mode)
    emb = model.embed(x)
    packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
    _, (h, _) = model.lstm(packed)
    expected = torch.cat([h[-2], h[-1]], dim=1)
    got = model._final_states(emb, lengths)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    got.sum().backward()  # gradients reach the LSTM's own parameters
    assert model.lstm.weight_hh_l1_reverse.grad is not None


def test_the_dashboard_leaves_a_core_to_the_ui(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    try:
        set_threads(make_config("mlp"), leave_core=True)
        assert torch.get_num_threads() == 1
        set_threads(make_config("mlp", threads=2), leave_core=True)
        assert torch.get_num_threads() == 2  # an explicit choice wins
    finally:
        torch.set_num_threads(before)


def test_cpu_dropout_keeps_dropouts_distribution_and_leaves_eval_alone():
    drop = torch.nn.Dropout(0.25)
    train.fast_dropout(torch.nn.Sequential(drop))
    assert isinstance(drop, train.CPUDropout) and drop.state_dict() == {}
    x = torch.ones(200, 500, requires_grad=True)
    out = drop(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.75))
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())  # the gradient goes through the kept units only, scaled
    assert drop.eval()(x) is x


def test_cpu_training_swaps_in_the_faster_dropout():
    trainer = _trainer()
    assert any(isinstance(m, train.CPUDropout) for m in trainer.model.modules())


def test_the_command_line_trains_with_no_more_threads_than_idle_cpus(monkeypatch):
    idle = cpu_threads.idle_cpus(0.05)
    assert idle is None or 0.0 <= idle <= len(os.sched_getaffinity(0)) + 0.01
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        for seen, threads in ((0.0, 1), (0.6, 1), (1.7, 2), (7.5, 2), (None, 2)):
            monkeypatch.setattr(cpu_threads, "idle_cpus", lambda seen=seen: seen)
            assert cpu_threads.threads_for_idle_cpus() == threads, seen
    finally:
        torch.set_num_threads(before)


def test_batch_normalisation_trains_where_the_last_batch_would_hold_one_example():
    # seen: a sweep varying batchnorm on a 600-row table (449 training rows, batches of 16) failed both batchnorm
    # trials: "Expected more than 1 value per channel when training, got input size torch.Size([1, 256])"
    from nnlab.data.batches import num_batches

    for n, lengths in ((449, None), (2049, torch.randint(1, 30, (2049,)))):
        x = torch.zeros(n, 30, dtype=torch.long) if lengths is not None else torch.zeros(n, 3)
        split = Split(x, torch.arange(n), lengths)
        batches = list(iterate_batches(split, 16, shuffle=True, generator=torch.Generator().manual_seed(0)))
        assert min(len(y) for _, y, _ in batches) > 1 and len(batches) == num_batches(n, 16)
        assert sorted(torch.cat([y for _, y, _ in batches]).tolist()) == list(range(n))  # every row still once
    assert [num_batches(n, 16) for n in (0, 1, 2, 16, 17, 18, 449)] == [0, 1, 1, 1, 1, 2, 28]
    trainer = _trainer(data=mnist_like(449, 64), batchnorm=True)  # the data as given is the training split here
    assert len(trainer.data.train) % 16 == 1
    fit = trainer.fit()
    assert fit.status == "finished" and len(fit.history) == 1
