"""RunConfig: everything one run needs, frozen, saved as JSON; each field described once, where it is declared.

A field's description (label, range, hint, widget, form section, whether it changes the loaded data) is its
dataclass metadata; the form, the command-line flags, the compare table and the report are views of it.
This module is a leaf: checks that need the architecture and dataset registries live in nnlab.data.registry.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("plateau", "step", "cosine", "onecycle", "none")
DEVICES = ("auto", "cpu", "cuda", "mps")
AUGMENTATIONS = ("crop", "flip", "rotate", "jitter")
PRECISIONS = ("auto", "fp32", "bf16")
WIDGETS = ("log-slider", "pow2-slider", "slider", "number", "select", "multiselect", "toggle", "sizes", "text")
SECTIONS = ("data", "model", "training", "advanced", "")  # "": the form places the field itself
FOLLOWS_SEED = -1  # a split seed that means: the run's seed draws its split (each seed its own test rows)


@dataclass(frozen=True)
class Range:
    """A numeric field's accepted range and its typical value; expert mode may widen it."""

    lo: float
    hi: float
    typical: float
    zero_ok: bool = False
    log: bool = False
    expert_lo: float | None = None
    expert_hi: float | None = None

    def bounds(self, expert: bool) -> tuple[float, float]:
        """(low, high) in force, wider in expert mode."""
        if expert:
            return (
                self.expert_lo if self.expert_lo is not None else self.lo,
                self.expert_hi if self.expert_hi is not None else self.hi,
            )
        return self.lo, self.hi

    def holds(self, value: float, expert: bool) -> bool:
        """Whether value is allowed: inside the bounds in force, or 0 where 0 means "off"."""
        lo, hi = self.bounds(expert)
        return lo <= value <= hi or (value == 0 and self.zero_ok)


@dataclass(frozen=True)
class FieldInfo:
    """How one RunConfig field is named, checked and shown; every view of a config reads this."""

    label: str
    hint: str = ""
    range: Range | None = None
    widget: str = "text"  # one of WIDGETS
    section: str = ""  # one of SECTIONS
    column: int = 0  # left (0) or right (1) column of its section
    when: tuple[str, Any] | None = None  # shown only while another field holds this value
    kinds: tuple[str, ...] = ()  # data kinds it applies to; () for all
    options: tuple[tuple[str, str], ...] = ()  # (value, label) of each choice
    step: float = 0.0  # a number input's step (0: 1 for whole numbers, 0.01 otherwise)
    loads_data: bool = False  # changing it changes the loaded dataset (the preview's cache key)
    flag: str = ""  # the command-line flag when it is not --<name> (e.g. --data, --no-pretrained)
    flag_help: str = ""  # the flag's help when the form's hint does not fit the command line
    cli: bool = True  # whether `train` takes it as a flag of its own
    flag_const: str = ""  # a choice's flag given alone means this value (--class-weights: on)
    key: int = 0  # its place among the Compare runs table's setting columns (0: not one of them)
    compared: bool = True  # an axis of Compare's hyperparameters-against-score plot

    @property
    def choices(self) -> tuple[str, ...]:
        """The values a choice field accepts."""
        return tuple(value for value, _ in self.options)

    def option_label(self, value: str) -> str:
        """A choice's label in the form."""
        return dict(self.options).get(value, value)


def _f(default: Any, label: str, **info: Any) -> Any:
    return field(default=default, metadata={"info": FieldInfo(label, **info)})


def _same(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


_AUTO = ("auto", "Automatic")
_FRACTION = {"step": 0.05, "widget": "number", "section": "advanced", "loads_data": True}


@dataclass(frozen=True)
class RunConfig:
    """One run's settings exactly as the user gave them; facts learned from data live elsewhere."""

    # data
    dataset: str = _f(
        "digits", "Dataset", hint="Built-in datasets work offline; the others read your files or download once.",
        loads_data=True, flag_help="a dataset name (default: the architecture's built-in)",
    )  # fmt: skip
    data_path: str = _f(
        "", "Path to your data", loads_data=True, flag="--data", flag_help="your CSV, zip or image folder",
        compared=False,
    )  # fmt: skip
    data_root: str = _f(
        "", "Data folder (optional)", loads_data=True, compared=False, flag_help="folder of torchvision / aclImdb files",
        hint="Folder holding the dataset's files; leave empty to use the workspace (downloaded on first use).",
    )  # fmt: skip
    label_column: str = _f("label", "Label column", hint="Name of the column holding the class of each row.",
                           loads_data=True)  # fmt: skip
    text_column: str = _f("text", "Text column", hint="Name of the column holding the text.", loads_data=True)
    target: str = _f(
        "", "Column to forecast", hint="Name of the column to forecast; empty for the last numeric column.",
        loads_data=True, flag_help="series CSV column to forecast",
    )  # fmt: skip
    image_size: int = _f(
        0, "Image size", range=Range(0, 512, 0, zero_ok=True), widget="number", section="advanced", kinds=("image",),
        hint="Side of the square the images are trained at (0: automatic: their own size, a folder's kept within 8 to "
        "64 for the CNN and 32 to 128 for ResNet-18, or 224 with its ImageNet weights).", loads_data=True,
    )  # fmt: skip
    augment: tuple[str, ...] = _f(
        (), "Augmentation", hint="Random changes to training images, so the model sees more variety.",
        widget="multiselect", section="advanced", kinds=("image",), options=_same(*AUGMENTATIONS),
    )  # fmt: skip
    vocab_size: int = _f(
        10_000, "Vocabulary size", hint="Most frequent words kept.", range=Range(100, 100_000, 10_000),
        widget="number", section="advanced", kinds=("text",), loads_data=True,
    )  # fmt: skip
    max_len: int = _f(
        256, "Maximum length", hint="Tokens kept per text.", range=Range(8, 2048, 256),
        widget="number", section="advanced", kinds=("text",), loads_data=True,
    )  # fmt: skip
    window: int = _f(
        32, "Window", hint="Past time steps the model sees.", range=Range(2, 1024, 32),
        widget="number", section="advanced", kinds=("series",), loads_data=True,
    )  # fmt: skip
    horizon: int = _f(
        1, "Horizon", hint="Future steps predicted.", range=Range(1, 256, 1),
        widget="number", section="advanced", kinds=("series",), loads_data=True,
    )  # fmt: skip
    val_fraction: float = _f(
        0.1, "Validation fraction", hint="Share of the data held out for validation.", range=Range(0.05, 0.5, 0.1),
        **_FRACTION,
    )  # fmt: skip
    test_fraction: float = _f(
        0.15, "Test fraction", hint="Share of the data held out for the final report.",
        range=Range(0.05, 0.5, 0.15), **_FRACTION,
    )  # fmt: skip
    exclude_rows: tuple[int, ...] = _f(
        (), "Rows left out", kinds=("tabular", "image", "text"), loads_data=True, flag="--exclude-rows",
        hint="Rows of the data (by their index in the data, as `nnlab label-issues --json` gives them) left out of "
        "training and validation, such as labels found doubtful; the test rows stay the same, so the runs compare.",
        flag_help="rows of the data to leave out of training and validation, like 3,17,250 (label-issues' indices)",
    )  # fmt: skip
    classical: str = _f(
        "blend", "Classical forecaster", widget="select", section="advanced", kinds=("series",), loads_data=True,
        hint="The classical forecaster (exponential smoothing or ARIMA) that forecasts the validation part best, fit on "
        "the training part, and what the network does with it: blend the two forecasts at the weight that forecasts the "
        "last half of the validation part best, which early stopping does not watch (the default: weight 1 is the "
        "network alone, kept where nothing validates better), or learn what the "
        "classical fit leaves over (residual, as ES-RNN did), or ignore it (the network alone). Horizon 1 only.",
        options=(("blend", "Blend (as validated)"), ("residual", "Residual correction"),
                 ("none", "None: network alone")),
    )  # fmt: skip
    missing: str = _f(
        "fill", "Missing values", widget="select", section="data", kinds=("tabular", "series"), loads_data=True,
        hint="Blank cells of your CSV: fill them in (a table takes each column's training median, a series "
        "interpolates in time), or drop their rows.",
        options=(("fill", "Fill in (median / interpolation)"), ("drop", "Drop the rows")),
    )  # fmt: skip
    # model (which of these an architecture uses, and in what order, is in its ArchSpec)
    arch: str = _f("mlp", "Architecture", hint="Only the architectures that fit this dataset are offered.",
                   loads_data=True, cli=False)  # fmt: skip
    hidden_sizes: tuple[int, ...] = _f(
        (256, 128, 64), "Hidden layer sizes", widget="sizes", section="model",
        hint="Units per hidden layer, first to last, separated by commas; depends on how hard the problem is.",
        flag_help="MLP layer sizes, like 256,128,64",
    )  # fmt: skip
    hidden: int = _f(
        256, "Hidden units", hint="Depends on how hard the problem is.", key=3, widget="pow2-slider",
        range=Range(32, 1024, 256, expert_lo=1, expert_hi=8192), section="model",
        flag_help="units of the LSTMs or the CNN/ResNet head",
    )  # fmt: skip
    batchnorm: bool = _f(
        False, "Batch normalisation", widget="toggle", section="model",
        hint="Normalise after each layer; often trains faster and tolerates higher learning rates.",
    )  # fmt: skip
    dropout: float = _f(
        0.2, "Dropout", hint="More dropout, more regularisation.", widget="slider", section="model", key=4,
        range=Range(0.1, 0.5, 0.2, zero_ok=True, expert_lo=0.0, expert_hi=0.9),
    )  # fmt: skip
    pretrained: bool = _f(
        True, "Start from ImageNet weights", widget="toggle", section="model", loads_data=True,
        hint="Reuse features learned on ImageNet (needs the weights in torchvision's cache or a file).",
        flag="--no-pretrained", flag_help="train from scratch, not from ImageNet weights",
    )  # fmt: skip
    freeze_backbone: bool = _f(
        True, "Freeze the pretrained backbone", widget="toggle", section="model",
        hint="Train only the new head; much faster, and enough for most small datasets.",
        flag="--unfreeze", flag_help="train the whole ResNet, not only its new head",
    )  # fmt: skip
    weights_path: str = _f(
        "", "ResNet-18 weights file (optional)", section="model", when=("pretrained", True), compared=False,
        hint="A resnet18 .pth state dict to use when torchvision's cache has none; leave empty otherwise.",
        flag="--weights", flag_help="a ResNet-18 state dict file to start from",
    )  # fmt: skip
    # optimisation, in the form's order
    epochs: int = _f(
        0, "Epochs", hint="Passes over the training data; 0 fits them to the data (20, more on small data).",
        range=Range(1, 200, 20, zero_ok=True, expert_hi=10_000), widget="number", section="training", key=8,
    )  # fmt: skip
    lr: float = _f(
        1e-3, "Learning rate", hint="Start at 1e-3.", range=Range(1e-4, 1e-2, 1e-3, log=True, expert_lo=1e-6, expert_hi=10.0),
        widget="log-slider", section="training", key=1,
    )  # fmt: skip
    batch_size: int = _f(
        0, "Batch size", key=2, widget="pow2-slider", section="training",
        hint="Larger is faster; smaller often generalises better; 0 fits it to the data (64, less on small data).",
        range=Range(16, 256, 64, zero_ok=True, expert_lo=1, expert_hi=4096),
    )  # fmt: skip
    weight_decay: float = _f(
        1e-4, "Weight decay", hint="L2 strength.", widget="log-slider", section="training", key=5,
        range=Range(1e-5, 1e-3, 1e-4, zero_ok=True, log=True, expert_lo=0.0, expert_hi=0.1),
    )  # fmt: skip
    optimizer: str = _f(
        "adam", "Optimizer", hint="Adam is a safe default; SGD with momentum can generalise better with tuning.",
        widget="select", section="training", column=1, key=6,
        options=(("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD with momentum")),
    )  # fmt: skip
    momentum: float = _f(
        0.9, "Momentum", hint="SGD momentum.", range=Range(0.0, 0.99, 0.9), widget="number", step=0.01,
        section="training", column=1, when=("optimizer", "sgd"),
    )  # fmt: skip
    schedule: str = _f(
        "plateau", "LR schedule", hint="How the learning rate changes over the epochs.",
        widget="select", section="training", column=1, key=7,
        options=(("plateau", "Reduce on plateau"), ("step", "Step decay"), ("cosine", "Cosine annealing"),
                 ("onecycle", "One-cycle"), ("none", "Constant")),
    )  # fmt: skip
    lr_patience: int = _f(
        3, "LR patience", hint="Epochs without improvement before the LR drops.", range=Range(1, 20, 3),
        widget="number", section="training", column=1, when=("schedule", "plateau"),
    )  # fmt: skip
    step_size: int = _f(
        10, "Step size", hint="Epochs between LR drops (step schedule).", range=Range(1, 1000, 10),
        widget="number", section="training", column=1, when=("schedule", "step"),
    )  # fmt: skip
    gamma: float = _f(
        0.1, "Gamma", hint="LR multiplier at each drop (step schedule).", range=Range(0.01, 1.0, 0.1),
        widget="number", step=0.05, section="training", column=1, when=("schedule", "step"),
    )  # fmt: skip
    early_stopping: bool = _f(
        True, "Early stopping", hint="Stop when validation stops improving and keep the best weights.",
        widget="toggle", section="training", column=1, flag="--no-early-stopping",
        flag_help="train every epoch, however validation goes",
    )  # fmt: skip
    patience: int = _f(
        5, "Early-stopping patience", hint="Epochs without improvement before stopping.", range=Range(1, 50, 5),
        widget="number", section="training", column=1, when=("early_stopping", True),
        flag_help="early-stopping patience in epochs",
    )  # fmt: skip
    class_weights: str = _f(
        "auto", "Class weights", widget="select", section="training", column=1, kinds=("tabular", "image", "text"),
        hint="Weigh each class's loss by how rare it is in training (scikit-learn's 'balanced'), so a model "
        "cannot score by ignoring small classes; automatic turns them on where the largest class has 3 times the "
        "examples of the smallest or more.", loads_data=True, flag_const="on",
        options=(("auto", "Automatic (on when classes are imbalanced)"), ("on", "On"), ("off", "Off")),
        flag_help="weigh each class's loss by its inverse training frequency: auto (default: on where the largest "
        "class has 3 times the examples of the smallest), on (also the flag alone) or off",
    )  # fmt: skip
    keep_ids: bool = _f(
        False, "Keep ID-like columns", widget="toggle", section="data", kinds=("tabular",), loads_data=True,
        hint="A column holding a different whole number or text on every row (a row ID, a name) is left out of "
        "the features; turn this on to keep it.",
        flag_help="keep columns that look like row IDs as features (left out by default)",
    )  # fmt: skip
    min_delta: float = _f(
        0.001, "Minimum improvement", hint="Smallest validation-loss drop that counts.", range=Range(0.0, 1.0, 0.001),
        widget="number", step=0.0005, section="advanced",
    )  # fmt: skip
    # environment
    seed: int = _f(
        0, "Seed", hint="Fixes the initial weights and the order of training batches (and the split when the "
        "split seed is -1).", range=Range(0, 2**31 - 1, 0), widget="number", section="advanced", column=1,
        loads_data=True,
    )  # fmt: skip
    split_seed: int = _f(
        0, "Split seed", hint="Fixes which rows are held out for validation and test, the same for every seed of a "
        "group, so their comparisons pair the same test rows; -1 draws the split from the seed (each seed its own "
        "rows; comparisons are then unpaired).", range=Range(-1, 2**31 - 1, 0), widget="number", section="advanced",
        column=1, loads_data=True,
    )  # fmt: skip
    device: str = _f(
        "auto", "Device", hint="Where training runs; automatic picks the GPU when there is one.", widget="select",
        section="advanced", column=1, compared=False,
        options=(_AUTO, ("cpu", "CPU"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)")),
    )  # fmt: skip
    precision: str = _f(
        "auto", "Precision", widget="select", section="advanced", column=1, compared=False,
        hint="Automatic: bfloat16 mixed precision on CUDA, float32 elsewhere; bfloat16 also speeds up CPUs "
        "with native support.",
        options=(_AUTO, ("fp32", "fp32"), ("bf16", "bfloat16")),
    )  # fmt: skip
    threads: int = _f(
        0, "Threads", hint="CPU threads for training (0: automatic).", range=Range(0, 256, 0, zero_ok=True),
        widget="number", section="advanced", column=1, compared=False,
    )  # fmt: skip
    expert: bool = _f(
        False, "Expert mode: wider ranges", widget="toggle", compared=False, flag_help="widen the hyperparameter ranges",
        hint="Lets every hyperparameter go beyond the usual range; the help of each field shows the range in force.",
    )  # fmt: skip

    def to_json(self) -> str:
        """The config as a JSON object string."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild from a dict; unknown keys are ignored so older stores still load."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: _coerce(names[k], v) for k, v in data.items() if k in names}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Inverse of to_json (also of an earlier version's: see from_saved)."""
        return cls.from_saved(json.loads(text))

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> RunConfig:
        """A config as to_json saved it, by this version or an earlier one: one saved before the split had a seed
        of its own drew its split from its seed, and keeps doing so (split_seed -1); one saved before series runs
        blended with a classical forecaster by default forecasts with the network alone."""
        if "seed" in data and "split_seed" not in data:
            data = {**data, "split_seed": FOLLOWS_SEED}
        if "seed" in data and "classical" not in data:  # saved before a series blended by default: the network alone
            data = {**data, "classical": "none"}
        return cls.from_dict(data)

    @property
    def split_by(self) -> int:
        """The seed that draws the train / validation / test split: split_seed, or the seed where it is -1."""
        return self.seed if self.split_seed == FOLLOWS_SEED else self.split_seed

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    if isinstance(f.default, tuple) and isinstance(value, (list, tuple)):
        return tuple(value)
    if isinstance(f.default, str) and isinstance(value, bool):  # a switch that became a choice (class weights)
        return "on" if value else "off"
    return value


FIELDS: dict[str, FieldInfo] = {f.name: f.metadata["info"] for f in dataclasses.fields(RunConfig)}
RANGES: dict[str, Range] = {name: info.range for name, info in FIELDS.items() if info.range is not None}
LABELS: dict[str, str] = {name: info.label for name, info in FIELDS.items()}
CHOICES: dict[str, tuple[str, ...]] = {n: i.choices for n, i in FIELDS.items() if i.widget == "select"}
DATA_FIELDS = tuple(name for name, info in FIELDS.items() if info.loads_data)  # what loading a dataset reads


def number_text(x: float) -> str:
    """A value or a bound as a person reads it: whole numbers whole (2147483647, not 2.14748e+09), others short."""
    whole = isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15)
    return str(int(x)) if whole else f"{x:g}"


def range_text(name: str, expert: bool) -> str:
    """A numeric field's hint and the range in force, e.g. 'Start at 1e-3. Range 0.0001 to 0.01.'"""
    info, rng = FIELDS[name], RANGES[name]
    lo, hi = rng.bounds(expert)
    zero = " (or 0)" if rng.zero_ok and lo > 0 else ""
    wider = " Expert range." if expert and (lo, hi) != (rng.lo, rng.hi) else ""
    return f"{info.hint} Range {number_text(lo)} to {number_text(hi)}{zero}.{wider}"
