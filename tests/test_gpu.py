"""The CUDA path: data resident on the GPU, bf16 autocast, channels_last, fused steps. Skips without CUDA."""

import json

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from nnlab.data.registry import make_config
from nnlab.data.synthetic import cifar_like, mnist_like, reviews_like
from nnlab.engine.train import Trainer
from nnlab.models import TextLSTM, build_model

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
CUDA = torch.device("cuda")


def _trainer(arch, data, **cfg):
    cfg = make_config(arch, epochs=1, early_stopping=False, batch_size=32, **cfg)
    return Trainer(cfg, build_model(cfg, data.facts), data, CUDA)


def test_data_stays_on_the_gpu_and_batches_are_gathered_there():
    trainer = _trainer("mlp", mnist_like(512, 64))
    assert trainer.train_split.x.is_cuda and trainer.train_split.y.is_cuda and trainer.val_split.x.is_cuda
    assert trainer.optimizer.defaults.get("fused")
    assert trainer.fit().status == "finished"


def test_bf16_autocast_is_on_by_default_and_off_for_fp32():
    trainer = _trainer("mlp", mnist_like(256, 64))
    with trainer._autocast():
        assert torch.get_autocast_dtype("cuda") == torch.bfloat16 and torch.is_autocast_enabled("cuda")
    assert trainer.predict(trainer.val_split).dtype == torch.float32  # logits come back as float32
    assert not _trainer("mlp", mnist_like(256, 64), precision="fp32").amp


def test_convolutions_run_channels_last_and_learn():
    trainer = _trainer("cnn", cifar_like(256, 64), hidden=32)
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.fit().status == "finished" and trainer.history[0].train_loss > 0


def test_text_lstm_packs_on_cuda_and_the_cpu_path_agrees():
    data = reviews_like(16, 0, max_len=40, vocab=200)
    torch.manual_seed(0)
    model = TextLSTM(200, 2, dropout=0.0, hidden=32).to(CUDA).eval()
    x, lengths = data.train.x.to(CUDA), data.train.lengths.to(CUDA)
    with torch.no_grad():
        emb = model.embed(x)
        _, (h, _) = model.lstm(pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False))
        packed = torch.cat([h[-2], h[-1]], dim=1)
        torch.testing.assert_close(model._final_states(emb, lengths), packed, atol=1e-4, rtol=1e-4)
    assert _trainer("lstm", data, hidden=32, max_len=40).fit().status == "finished"


def test_bench_runs_on_the_gpu(capsys):
    from nnlab.cli.main import main

    assert main(["bench", "--tiny", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["device"].startswith("cuda") and all(c["ratio"] > 0 for c in result["cases"])
