"""Training without loading TorchDynamo until something compiles.

torch.optim asks torch._dynamo for two things on every optimizer: `disable(fn)` (its methods are wrapped so a
compiler would skip them) and `graph_break()` around each step. Importing torch._dynamo for them costs about
1.4 s on a 2-core machine, a third of a small `nnlab train`, and nnlab's training never compiles. So until
anything asks torch._dynamo for more, a stand-in answers those two (a function not compiled is a function
left alone; a graph break outside a graph does nothing); the first other use loads the real compiler and
forgets what the stand-in did, so compiling, exporting or tracing later in the process works as usual.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

NAME = "torch._dynamo"


class DeferredDynamo(types.ModuleType):
    """Stands in sys.modules for torch._dynamo while nothing but disable() and graph_break() was asked of it."""

    def __init__(self) -> None:
        super().__init__(NAME, __doc__)
        self._left_alone: list[Callable[..., Any]] = []

    def disable(self, fn: Callable[..., Any] | None = None, recursive: bool = True, **_: Any) -> Any:
        """Compiling is off until the real module loads: the function itself."""
        if fn is None:
            return lambda f: self.disable(f, recursive)
        self._left_alone.append(fn)
        return fn

    def graph_break(self, msg: str = "") -> None:
        """No graph is being traced here: nothing to break."""

    def __getattr__(self, name: str) -> Any:  # anything else (compile, export, a submodule's __path__) loads it
        if name.startswith("__") and name != "__path__":  # a scan of sys.modules (inspect.getmodule asks for
            raise AttributeError(name)  # __file__ of every module) must not load a compiler mid-import
        return getattr(load_real(), name)


def defer() -> None:
    """Put the stand-in in place, unless torch._dynamo is loaded (or deferred) already."""
    if NAME not in sys.modules:
        sys.modules[NAME] = DeferredDynamo()


def deferred() -> bool:
    """Whether torch._dynamo is still the stand-in."""
    return isinstance(sys.modules.get(NAME), DeferredDynamo)


def load_real() -> types.ModuleType:
    """Load the real torch._dynamo in place of the stand-in; torch.optim's wrappers that cached the stand-in's
    answer ask again (and get the real disable())."""
    stand_in = sys.modules.get(NAME)
    if isinstance(stand_in, DeferredDynamo):
        del sys.modules[NAME]
        torch = sys.modules.get("torch")
        if torch is not None and torch.__dict__.get("_dynamo") is stand_in:
            del torch._dynamo
        for fn in stand_in._left_alone:
            fn.__dict__.pop("__dynamo_disable", None)  # torch._compile._disable_dynamo's cache
    return importlib.import_module(NAME)
