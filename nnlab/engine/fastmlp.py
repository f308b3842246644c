"""A faster training step for nnlab's MLP on the CPU: the same arithmetic as autograd and torch's fused Adam,
without their per-operation bookkeeping.

At batch 64 an MLP step is a few small matrix products; on a 2-core CPU autograd's graph (a node, saved tensors
and an engine hop per operation) and Adam.step's Python (grouping eight tensors, hooks, checks) cost about as
much as the products. Here the forward keeps what the backward needs by hand (each hidden layer's output after
ReLU and dropout, whose zeros mark where no gradient flows), the backward is three products per layer written
into one flat gradient buffer, and the optimizer is one call of torch's fused Adam (or AdamW) kernel over flat
weights, moments and gradients: the same per-element update the fused optimizer makes, in one kernel launch.
The model's parameters and the optimizer's state are views into those flat buffers, so the state dict, the
checkpoints and a resume are what they always were. Dropout draws its masks from the run's generator in the
same order as nnlab's CPUDropout, so a run is the run autograd would train, up to float rounding
(tests/test_fastmlp.py compares them).

Applies to: nnlab's MLP without batch normalisation (Linear, ReLU, dropout) on the CPU in float32, trained
with Adam or AdamW (fused) on the cross-entropy loss (class weights allowed); anything else takes autograd.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

LARGE_PRODUCT = 4_000_000  # multiply-adds: the first layer of an MNIST MLP at batch 64 has 12.8 million
Trainer = Any  # nnlab.engine.train.Trainer, which builds this step (not imported: it imports this module)


def _layers(model: nn.Module) -> tuple[list[nn.Linear], list[float]] | None:
    """The Linear layers and each hidden layer's dropout rate, when the model is Flatten, then
    (Linear, ReLU, Dropout) per hidden layer, then a Linear; else None."""
    mods = [m for m in model.modules() if not list(m.children())]
    if mods and isinstance(mods[0], nn.Flatten):
        mods = mods[1:]
    if len(mods) % 3 != 1 or not isinstance(mods[-1], nn.Linear):
        return None
    linears, rates = [], []
    for i in range(0, len(mods) - 1, 3):
        lin, act, drop = mods[i : i + 3]
        if not (isinstance(lin, nn.Linear) and type(act) is nn.ReLU and isinstance(drop, nn.Dropout)):
            return None
        linears.append(lin)
        rates.append(float(drop.p))
    return [*linears, mods[-1]], rates


def applies(trainer: Trainer) -> bool:
    """Whether this trainer's steps can take the fast path."""
    opt = trainer.optimizer
    group = opt.param_groups[0] if len(opt.param_groups) == 1 else {}
    return (
        trainer.device.type == "cpu"
        and not trainer.amp
        and not trainer.regression
        and type(trainer.loss_fn) is nn.CrossEntropyLoss
        and trainer.loss_fn.label_smoothing == 0
        and type(opt) in (torch.optim.Adam, torch.optim.AdamW)
        and bool(group.get("fused"))
        and not group.get("amsgrad")
        and not group.get("maximize")
        and _layers(trainer.model) is not None
        and all(p.requires_grad and p.dtype == torch.float32 for p in trainer.model.parameters())
    )


def _flat(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One buffer holding copies of the tensors, and views of it shaped like them."""
    buf = torch.empty(sum(t.numel() for t in tensors))
    views, at = [], 0
    for t in tensors:
        views.append(buf[at : at + t.numel()].view_as(t))
        views[-1].copy_(t)
        at += t.numel()
    return buf, views


class MLPStep:
    """The fast step of one trainer: bound to its model and optimizer (again whenever a load replaced the
    optimizer's state, as a resume does)."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        layers = _layers(trainer.model)
        assert layers is not None
        self.linears, self.rates = layers
        self.params = [p for lin in self.linears for p in (lin.weight, lin.bias)]
        self.steps: list[torch.Tensor] = []
        # the run's threads go to the large products only; the small ones and the elementwise work run on one
        # thread, where a team of two would wait at every fork and join (read again at every step: the run's
        # setting, which its pre-flight may lower)
        self.threads = 1
        self._bind()

    def _bind(self) -> None:
        """Parameters, moments and step count as views into flat buffers, the optimizer's state pointing at them."""
        opt = self.trainer.optimizer
        with torch.no_grad():
            self.p_buf, views = _flat([p.data for p in self.params])
            for p, view in zip(self.params, views, strict=True):
                p.data = view
            state = [opt.state.get(p, {}) for p in self.params]
            moments = [[s.get(k, torch.zeros_like(p)) for s, p in zip(state, self.params, strict=True)] for k in
                       ("exp_avg", "exp_avg_sq")]  # fmt: skip
            (self.m_buf, m_views), (self.v_buf, v_views) = _flat(moments[0]), _flat(moments[1])
            steps = [s.get("step", torch.zeros(())) for s in state]
            self.steps = [torch.tensor(float(t), dtype=torch.float32) for t in steps]  # one each, as torch keeps them
        for p, m, v, t in zip(self.params, m_views, v_views, self.steps, strict=True):
            opt.state[p] = {"step": t, "exp_avg": m, "exp_avg_sq": v}
        self.g_buf, self.g_views = _flat([torch.zeros_like(p) for p in self.params])

    def _bound(self) -> bool:
        state = self.trainer.optimizer.state.get(self.params[0])
        return (
            state is not None
            and state.get("step") is self.steps[0]
            and self.params[0].data.data_ptr() == self.p_buf.data_ptr()
            and state["exp_avg"].data_ptr() == self.m_buf.data_ptr()
        )

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step on a batch of inputs (already transformed) and labels; the batch's mean loss (a tensor)."""
        if not self._bound():
            self._bind()
        self.threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            outs = self._forward(x.flatten(1))
            loss, grad = self._loss_and_grad(outs[-1], y)
            self._backward(outs, grad)
            self._adam()
        finally:
            torch.set_num_threads(self.threads)
        return loss

    def _large(self, rows: int, lin: nn.Linear) -> bool:
        """Whether a product with this layer is worth the run's whole team of threads (a million multiply-adds)."""
        return self.threads > 1 and rows * lin.in_features * lin.out_features >= LARGE_PRODUCT

    def _team(self, large: bool) -> None:
        torch.set_num_threads(self.threads if large else 1)

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input and each layer's output; a hidden layer's after ReLU and dropout (CPUDropout's mask)."""
        gen = self.trainer.rng
        outs = [x]
        for i, lin in enumerate(self.linears):
            self._team(self._large(len(x), lin))
            z = torch.addmm(lin.bias, outs[-1], lin.weight.t())  # (B, out)
            self._team(False)
            if i < len(self.rates):
                z.relu_()
                p = self.rates[i]
                if p > 0:
                    keep = torch.rand(z.shape, generator=gen, dtype=z.dtype).ge_(p)
                    z.mul_(keep).mul_(1 / (1 - p))
            outs.append(z)
        return outs

    def _loss_and_grad(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cross-entropy (class-weighted mean when the run weighs classes) and its gradient on the logits."""
        weight = self.trainer.loss_fn.weight
        log_probs = torch.log_softmax(logits, 1)
        picked = log_probs.gather(1, y[:, None]).squeeze(1)  # (B,)
        grad = log_probs.exp_()  # softmax
        grad[torch.arange(len(y)), y] -= 1
        if weight is None:
            return -picked.mean(), grad.div_(len(y))
        w = weight[y]
        total = w.sum()
        return -(picked * w).sum() / total, grad.mul_((w / total)[:, None])

    def _backward(self, outs: list[torch.Tensor], grad: torch.Tensor) -> None:
        """Each layer's weight and bias gradients into the flat buffer, back to front."""
        for i in range(len(self.linears) - 1, -1, -1):
            inp, lin = outs[i], self.linears[i]
            large = self._large(len(inp), lin)
            self._team(large)
            torch.mm(grad.t(), inp, out=self.g_views[2 * i])
            self._team(False)
            torch.sum(grad, 0, out=self.g_views[2 * i + 1])
            if i == 0:
                break
            self._team(large)
            grad = grad.mm(lin.weight)  # (B, in)
            self._team(False)
            p = self.rates[i - 1]
            scale = 1 / (1 - p) if p > 0 else 1.0
            grad.mul_(inp.gt(0)).mul_(scale)  # zero where ReLU was off or dropout dropped; kept ones scaled

    def _adam(self) -> None:
        """torch's fused Adam (or AdamW) kernel once over the flat buffers, with the group's current settings."""
        opt = self.trainer.optimizer
        group = opt.param_groups[0]
        beta1, beta2 = group["betas"]
        decoupled = isinstance(opt, torch.optim.AdamW) or group.get("decoupled_weight_decay", False)
        kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        torch._foreach_add_(self.steps, 1)  # as torch.optim's _fused_adam does before its kernel
        kernel(
            [self.p_buf],
            [self.g_buf],
            [self.m_buf],
            [self.v_buf],
            [],
            self.steps[:1],
            lr=float(group["lr"]),
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            amsgrad=False,
            maximize=False,
        )
