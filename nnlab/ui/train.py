"""The Train page's parts: the run form (dataset, then architecture, then hyperparameters), its preview,
and the live view of a run. Widget values live under the keys `field_key` gives, so a run's settings can
be loaded back into the form."""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import streamlit as st

from nnlab.config import AUGMENTATIONS, CHOICES, DATA_FIELDS, LABELS, RANGES, RunConfig, range_text
from nnlab.data import DATASETS, DatasetSpec, load_dataset
from nnlab.errors import NNLabError
from nnlab.models import MODELS, build_model, count_parameters
from nnlab.plots import CURVE_HEIGHT, curves_figure, lr_figure
from nnlab.records import ACTIVE, RESUMABLE, RunRecord
from nnlab.registry import arch_defaults, make_config, validate
from nnlab.text import plural
from nnlab.train import lr_preview
from nnlab.ui import (
    QUERY_RUN,
    RESULTS_PAGE,
    flash,
    format_duration,
    go,
    manager,
    page_exists,
    show_error,
    status_badge,
    store,
    submit_run,
)
from nnlab.ui.handover import preflight_panel, start_warning

# session-state keys of this page
KEY_DATASET, KEY_ARCH, KEY_EXPERT = "tr_dataset", "tr_arch", "tr_expert"
KEY_START = "tr_start"
KEY_CURVES = "tr_curves"  # (signature, figure) of the live curves, rebuilt only when an epoch arrives
KEY_LOADED = "tr_loaded"  # data keys the user asked to load for the preview (datasets that may download)
KEY_SOURCE = "tr_source"  # per dataset: upload a file or type a path

POLL_S = 1.0  # live view refresh while a run is queued or running
UPLOAD_LIMIT_MB = 200
_DEFAULTS = RunConfig()
_TYPES = {f.name: type(getattr(_DEFAULTS, f.name)) for f in fields(RunConfig)}

ARCH_FIELDS = {
    "mlp": ("hidden_sizes", "dropout", "batchnorm"),
    "cnn": ("hidden", "dropout"),
    "resnet18": ("pretrained", "freeze_backbone", "hidden", "dropout", "weights_path"),
    "lstm": ("hidden", "dropout"),
    "ts-lstm": ("hidden", "dropout"),
}
KIND_FIELDS = {"image": ("image_size", "augment"), "text": ("vocab_size", "max_len"), "series": ("window", "horizon")}
LOG_FIELDS, POW2_FIELDS = ("lr", "weight_decay"), ("batch_size", "hidden")
STEPS = {"momentum": 0.01, "min_delta": 0.0005, "gamma": 0.05, "val_fraction": 0.05, "test_fraction": 0.05}

EXTRA_LABELS = {
    "batchnorm": "Batch normalisation",
    "early_stopping": "Early stopping",
    "pretrained": "Start from ImageNet weights",
    "freeze_backbone": "Freeze the pretrained backbone",
    "weights_path": "ResNet-18 weights file (optional)",
    "label_column": "Label column",
    "text_column": "Text column",
    "target": "Column to forecast",
    "data_root": "Data folder (optional)",
    "data_path": "Path to your data",
}
HELP = {
    "hidden_sizes": "Units per hidden layer, first to last, separated by commas; depends on how hard the problem is.",
    "batchnorm": "Normalise after each layer; often trains faster and tolerates higher learning rates.",
    "early_stopping": "Stop when validation stops improving and keep the best weights.",
    "pretrained": "Reuse features learned on ImageNet (needs the weights in torchvision's cache or a file).",
    "freeze_backbone": "Train only the new head; much faster, and enough for most small datasets.",
    "weights_path": "A resnet18 .pth state dict to use when torchvision's cache has none; leave empty otherwise.",
    "augment": "Random changes to training images, so the model sees more variety.",
    "optimizer": "Adam is a safe default; SGD with momentum can generalise better with tuning.",
    "schedule": "How the learning rate changes over the epochs (preview on the right).",
    "device": "Where training runs; automatic picks the GPU when there is one.",
    "precision": "Automatic: bfloat16 mixed precision on CUDA, float32 elsewhere; bfloat16 also speeds up CPUs with native support.",
    "label_column": "Name of the column holding the class of each row.",
    "text_column": "Name of the column holding the text.",
    "target": "Name of the column to forecast; empty for the last numeric column.",
}
CHOICE_LABELS = {
    "adam": "Adam",
    "adamw": "AdamW",
    "sgd": "SGD with momentum",
    "plateau": "Reduce on plateau",
    "step": "Step decay",
    "cosine": "Cosine annealing",
    "onecycle": "One-cycle",
    "none": "Constant",
    "auto": "Automatic",
    "cpu": "CPU",
    "cuda": "CUDA GPU",
    "mps": "Apple GPU (MPS)",
    "fp32": "fp32",
    "bf16": "bfloat16",
}
FILE_TYPES = {"tabular": ["csv"], "text": ["csv"], "series": ["csv"], "image": ["zip"]}
TODO = "To do: "  # marks a problem that is only a missing input (shown as a hint, not an error)
FILE_HINTS = {
    "tabular": "a CSV of numeric features with a label column",
    "image": "a zip with one folder per class",
    "text": "a CSV with a text column and a label column",
    "series": "a CSV of numeric columns over time",
}


# -- keys and values ------------------------------------------------------------------------------
def field_key(name: str, arch: str, dataset: str = "") -> str:
    """The session-state key of a field's widget: per architecture for the fields whose default it sets."""
    if name in ("data_path", "data_root") or (dataset in DATASETS and name in DATASETS[dataset].options):
        return f"tr_{dataset}_{name}"
    return f"tr_{arch}_{name}" if name in arch_defaults(arch) else f"tr_{name}"


def label_of(name: str) -> str:
    """A field's label in the form."""
    return LABELS.get(name) or EXTRA_LABELS.get(name) or name.replace("_", " ").capitalize()


def _fmt(x: float) -> str:
    return f"{x:g}"


def widget_value(name: str, value: Any) -> Any:
    """A config value in the shape its widget holds."""
    if name == "hidden_sizes":
        return ",".join(str(v) for v in value)
    if name == "augment":
        return list(value)
    return value


def parse_sizes(text: str) -> tuple[tuple[int, ...], str | None]:
    """'256, 128,64' -> (256, 128, 64); a one-sentence problem when it is not a list of whole numbers."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        return (), "Hidden layer sizes must be whole numbers separated by commas, like 256,128,64."
    return tuple(int(p) for p in parts), None


def prefill(cfg: RunConfig) -> None:
    """Load a run's settings into the form's widgets (for "train again with changes")."""
    st.session_state[KEY_DATASET], st.session_state[KEY_ARCH] = cfg.dataset, cfg.arch
    st.session_state[KEY_EXPERT] = cfg.expert
    for f in fields(RunConfig):
        if f.name not in ("dataset", "arch", "expert"):
            st.session_state[field_key(f.name, cfg.arch, cfg.dataset)] = widget_value(f.name, getattr(cfg, f.name))
    if cfg.data_path:
        st.session_state[f"{KEY_SOURCE}_{cfg.dataset}"] = "path"


# -- widgets --------------------------------------------------------------------------------------
def _range_options(name: str, lo: float, hi: float, zero_ok: bool) -> list[float]:
    """The values a slider offers: 1-2-3-5 steps on a log scale, powers of two, or steps of 0.05 (dropout)."""
    if name in LOG_FIELDS:
        low = lo if lo > 0 else RANGES[name].lo / 10
        values = [
            float(f"{m * 10.0**e:.6g}")
            for e in range(math.floor(math.log10(low)), math.ceil(math.log10(hi)) + 1)
            for m in (1, 2, 3, 5)
        ]
        values = [v for v in values if low * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    elif name in POW2_FIELDS:
        values = [2**e for e in range(0, 16) if lo <= 2**e <= hi]
    else:
        values = [round(lo + 0.05 * i, 2) for i in range(int(round((hi - lo) / 0.05)) + 1)]
    return ([0] if zero_ok and 0 not in values else []) + values


def _slider(name: str, key: str, expert: bool, label: str, help_text: str) -> Any:
    rng = RANGES[name]
    options = _range_options(name, *rng.bounds(expert), rng.zero_ok)
    current = st.session_state[key]
    if current not in options:  # a loaded run's exact value, or one left from expert mode: kept, and
        options = sorted({*options, current})  # validate() names it when it is out of range
    return st.select_slider(label, options, format_func=_fmt, key=key, help=help_text)


def _number(name: str, key: str, expert: bool, label: str, help_text: str) -> Any:
    lo, hi = RANGES[name].bounds(expert)
    kind = int if _TYPES[name] is int else float
    current = kind(st.session_state[key])
    st.session_state[key] = current
    step = 1 if kind is int else STEPS.get(name, 0.01)
    fmt = None if kind is int else "%.4f" if step < 0.01 else "%.2f"
    # the bounds stretch to a value already held (validate() names it), so nothing changes silently
    return st.number_input(
        label,
        min_value=kind(min(lo, current)),
        max_value=kind(max(hi, current)),
        step=step,
        format=fmt,
        key=key,
        help=help_text,
    )


def range_help(name: str, expert: bool) -> str:
    """The hint and the range in force, e.g. 'Start at 1e-3. Range 0.0001 to 0.01.'"""
    return range_text(name, expert)


def expert_ranges() -> str:
    """The ranges expert mode widens, as they now stand: 'learning rate 1e-06 to 1, ...'."""
    wider = [(n, r) for n, r in RANGES.items() if r.bounds(True) != (r.lo, r.hi)]
    return ", ".join(f"{label_of(n).lower()} {_fmt(r.bounds(True)[0])} to {_fmt(r.bounds(True)[1])}" for n, r in wider)


def field_widget(name: str, base: RunConfig, expert: bool) -> Any:
    """One RunConfig field as the widget that fits it, starting from base's value; returns the value."""
    key = field_key(name, base.arch, base.dataset)
    st.session_state.setdefault(key, widget_value(name, getattr(base, name)))
    label = label_of(name)
    if name in RANGES:
        help_text = range_help(name, expert)
        if name in LOG_FIELDS + POW2_FIELDS + ("dropout",):
            return _slider(name, key, expert, label, help_text)
        return _number(name, key, expert, label, help_text)
    if name == "hidden_sizes":
        lo, hi = RANGES["hidden"].bounds(expert)
        return st.text_input(
            label, key=key, help=f"{HELP[name]} Each {_fmt(lo)} to {_fmt(hi)}.", placeholder="256,128,64"
        )
    if name == "augment":
        return tuple(st.multiselect(label, AUGMENTATIONS, key=key, help=HELP[name]))
    if name in CHOICES:
        return st.selectbox(
            label, CHOICES[name], format_func=lambda c: CHOICE_LABELS.get(c, c), key=key, help=HELP.get(name)
        )
    if _TYPES.get(name) is bool:
        return st.toggle(label, key=key, help=HELP.get(name))
    return st.text_input(label, key=key, help=HELP.get(name))


# -- the form -------------------------------------------------------------------------------------
def _dataset_names() -> list[str]:
    """Built-in datasets first (they work offline), then the rest, each group in registry order."""
    return sorted(DATASETS, key=lambda n: not DATASETS[n].builtin)


def dataset_picker() -> DatasetSpec:
    """The dataset selectbox and its description."""
    names = _dataset_names()
    if st.session_state.get(KEY_DATASET) not in names:
        st.session_state[KEY_DATASET] = "digits" if "digits" in names else names[0]
    name = st.selectbox(
        "Dataset",
        names,
        key=KEY_DATASET,
        format_func=lambda n: DATASETS[n].title,
        help="Built-in datasets work offline; the others read your files or download once.",
    )
    spec = DATASETS[name]
    st.caption(f"{spec.description}  \nFits: {', '.join(MODELS[a].title for a in spec.archs if a in MODELS)}.")
    return spec


def arch_picker(spec: DatasetSpec) -> str:
    """The architectures that fit the dataset, as a radio."""
    archs = [a for a in spec.archs if a in MODELS]
    if st.session_state.get(KEY_ARCH) not in archs:
        st.session_state[KEY_ARCH] = archs[0]
    arch = st.radio(
        "Architecture",
        archs,
        key=KEY_ARCH,
        horizontal=True,
        format_func=lambda a: MODELS[a].title,
        help="Only the architectures that fit this dataset are offered.",
    )
    st.caption(MODELS[arch].description)
    return arch


def save_upload(name: str, data: bytes, root: Path) -> Path:
    """Write an uploaded file under root/uploads/ once (named by its content hash); returns its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    path = root / "uploads" / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def _data_path_field(spec: DatasetSpec, arch: str) -> tuple[str, str | None]:
    hint = FILE_HINTS.get(spec.kind, "your data file")
    source_key = f"{KEY_SOURCE}_{spec.name}"
    source = st.radio(
        "Your data",
        ["upload", "path"],
        key=source_key,
        horizontal=True,
        format_func=lambda s: "Upload a file" if s == "upload" else "Path on this machine",
    )
    if source == "path":
        key = field_key("data_path", arch, spec.name)
        path = st.text_input(label_of("data_path"), key=key, help=f"Full path to {hint}.").strip()
        if not path:
            return "", f"{TODO}Give the path to {hint}, or upload it."
        if not Path(path).expanduser().exists():
            return path, f"Data path {path} does not exist; check the spelling or upload the file."
        return str(Path(path).expanduser()), None
    upload = st.file_uploader(
        f"Upload {hint}",
        type=FILE_TYPES.get(spec.kind),
        key=f"tr_{spec.name}_upload",
        max_upload_size=UPLOAD_LIMIT_MB,
        help=f"At most {UPLOAD_LIMIT_MB} MB; saved in the workspace under uploads/.",
    )
    if upload is None:
        return "", f"{TODO}Upload {hint} to train on this dataset."
    if upload.size > UPLOAD_LIMIT_MB * 2**20:
        return "", f"File {upload.name} is larger than {UPLOAD_LIMIT_MB} MB; use a path on this machine instead."
    return str(save_upload(upload.name, upload.getvalue(), store().root)), None


def data_fields(spec: DatasetSpec, base: RunConfig, expert: bool) -> tuple[dict[str, Any], list[str]]:
    """What the dataset needs (a file, a folder) and its further options; returns values and problems."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    if spec.needs == "data_path":
        values["data_path"], problem = _data_path_field(spec, base.arch)
        problems += [problem] if problem else []
    elif spec.needs == "data_root":
        key = field_key("data_root", base.arch, spec.name)
        st.session_state.setdefault(key, base.data_root)
        values["data_root"] = st.text_input(
            label_of("data_root"),
            key=key,
            help="Folder holding the dataset's files; leave empty to use the workspace (downloaded on first use).",
        )
    for name in spec.options:
        values[name] = field_widget(name, base, expert)
    return values, problems


def model_fields(base: RunConfig, expert: bool) -> tuple[dict[str, Any], list[str]]:
    """The architecture's own fields (layer sizes, dropout, pretrained weights)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    names = ARCH_FIELDS.get(base.arch, ("hidden", "dropout"))
    if "pretrained" in names:
        values["pretrained"] = field_widget("pretrained", base, expert)
        names = tuple(n for n in names if n != "pretrained" and (values["pretrained"] or n != "weights_path"))
    for name in names:
        values[name] = field_widget(name, base, expert)
    if "hidden_sizes" in values:
        values["hidden_sizes"], problem = parse_sizes(values["hidden_sizes"])
        problems += [problem] if problem else []
    return values, problems


def training_fields(base: RunConfig, expert: bool) -> dict[str, Any]:
    """Epochs, learning rate, batch size, optimizer, schedule and early stopping."""
    v: dict[str, Any] = {}
    left, right = st.columns(2)
    with left:
        v["epochs"] = field_widget("epochs", base, expert)
        v["lr"] = field_widget("lr", base, expert)
        v["batch_size"] = field_widget("batch_size", base, expert)
        v["weight_decay"] = field_widget("weight_decay", base, expert)
    with right:
        v["optimizer"] = field_widget("optimizer", base, expert)
        if v["optimizer"] == "sgd":
            v["momentum"] = field_widget("momentum", base, expert)
        v["schedule"] = field_widget("schedule", base, expert)
        for name in {"plateau": ("lr_patience",), "step": ("step_size", "gamma")}.get(v["schedule"], ()):
            v[name] = field_widget(name, base, expert)
        v["early_stopping"] = field_widget("early_stopping", base, expert)
        if v["early_stopping"]:
            v["patience"] = field_widget("patience", base, expert)
    return v


def advanced_fields(spec: DatasetSpec, base: RunConfig, expert: bool) -> dict[str, Any]:
    """Data preparation for the dataset's kind, splits, seed and device, folded away."""
    v: dict[str, Any] = {}
    with st.expander("Advanced: data preparation, splits, seed, device"):
        left, right = st.columns(2)
        with left:
            for name in KIND_FIELDS.get(spec.kind, ()):
                if name not in spec.options:
                    v[name] = field_widget(name, base, expert)
            v["val_fraction"] = field_widget("val_fraction", base, expert)
            v["test_fraction"] = field_widget("test_fraction", base, expert)
            v["min_delta"] = field_widget("min_delta", base, expert)
        with right:
            for name in ("seed", "device", "precision", "threads"):
                v[name] = field_widget(name, base, expert)
    return v


def run_form() -> None:
    """The whole form: inputs on the left; preview, problems and Start on the right."""
    form, side = st.columns([3, 2], gap="large")
    with form:
        spec, cfg, problems = _form_inputs()
    with side:
        _preview_and_start(spec, cfg, problems)


def _form_inputs() -> tuple[DatasetSpec, RunConfig, list[str]]:
    expert = st.toggle(
        "Expert mode: wider ranges",
        key=KEY_EXPERT,
        help="Lets every hyperparameter go beyond the usual range; the help of each field shows the range in force.",
    )
    if expert:
        st.caption(f"Expert ranges in force: {expert_ranges()}.")
    st.markdown("#### 1 · Data")
    spec = dataset_picker()
    st.markdown("#### 2 · Model")
    arch = arch_picker(spec)
    base = make_config(arch, dataset=spec.name)
    data_values, problems = data_fields(spec, base, expert)
    model_values, model_problems = model_fields(base, expert)
    st.markdown("#### 3 · Training")
    train_values = training_fields(base, expert)
    adv_values = advanced_fields(spec, base, expert)
    values = {**data_values, **model_values, **train_values, **adv_values, "expert": expert}
    if model_problems:  # keep the form's default so validate() does not add a second message
        values.pop("hidden_sizes", None)
    cfg = make_config(arch, dataset=spec.name, **values)
    return spec, cfg, problems + model_problems + validate(cfg)


# -- preview --------------------------------------------------------------------------------------
def data_key(cfg: RunConfig) -> str:
    """The config reduced to what loading its dataset depends on, as JSON (the cache key)."""
    return RunConfig(**{name: getattr(cfg, name) for name in DATA_FIELDS}).to_json()


@st.cache_data(show_spinner="Loading the dataset…", max_entries=16)
def data_facts(key: str) -> dict[str, Any]:
    """What the preview needs from a dataset: its info and split sizes (the tensors are not kept)."""
    data = load_dataset(RunConfig.from_json(key))
    return {
        "info": data.info,
        "kind": data.kind,
        "train": len(data.train),
        "val": len(data.val),
        "test": len(data.test),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def parameter_count(cfg_json: str, info: dict[str, Any]) -> tuple[int, int]:
    """(all, trainable) parameters of the model cfg builds on the data; pretrained weights are not loaded."""
    model = build_model(RunConfig.from_json(cfg_json).replace(pretrained=False), info)
    return count_parameters(model), count_parameters(model, trainable_only=True)


def _preview_and_start(spec: DatasetSpec, cfg: RunConfig, problems: list[str]) -> None:
    st.markdown("#### Preview")
    todo = [p.removeprefix(TODO) for p in problems if p.startswith(TODO)]
    errors = [p for p in problems if not p.startswith(TODO)]
    estimate = None
    if not problems:
        errors += _preview_or_offer(spec, cfg)
        estimate = preflight_panel(cfg) if not errors else None
    for text in todo:
        st.info(text, icon=":material/upload_file:")
    for text in errors:
        show_error(text)
    start_warning(estimate)
    if st.button(
        "Start training",
        icon=":material/play_arrow:",
        type="primary",
        key=KEY_START,
        disabled=bool(problems or errors),
        width="stretch",
        help="Fix the problems above first." if problems else "Queue the run; training starts at once.",
    ):
        start_run(cfg)


def _preview_or_offer(spec: DatasetSpec, cfg: RunConfig) -> list[str]:
    """The preview when the data is at hand; a button to load it first where that may download (MNIST & co)."""
    key = data_key(cfg)
    local = spec.builtin or spec.needs == "data_path" or bool(cfg.data_root)
    if not local and key not in st.session_state.get(KEY_LOADED, ()):
        st.caption(f"{spec.title} is read from its data folder, or downloaded on first use; the preview loads it.")
        if not st.button("Load the data for the preview", key="tr_load_preview", icon=":material/download:"):
            return []
        st.session_state[KEY_LOADED] = {*st.session_state.get(KEY_LOADED, ()), key}
    try:
        facts = data_facts(key)
    except NNLabError as exc:
        return [str(exc)]
    preview(cfg, facts)
    return []


def preview(cfg: RunConfig, facts: dict[str, Any]) -> None:
    """Parameter count, split sizes and the learning-rate schedule of the run cfg would start."""
    total, trainable = parameter_count(cfg.to_json(), facts["info"])
    steps = math.ceil(facts["train"] / cfg.batch_size)
    a, b = st.columns(2)
    a.metric("Parameters", f"{total:,}", help="Weights and biases the model will learn.")
    b.metric(
        "Steps per epoch", f"{steps:,}", help=f"{facts['train']:,} training examples / batch size {cfg.batch_size}."
    )
    frozen = f" · {trainable:,} trainable (backbone frozen)" if trainable != total else ""
    st.caption(f"Data: {facts['train']:,} train · {facts['val']:,} validation · {facts['test']:,} test{frozen}")
    lrs = lr_preview(cfg, steps)
    fig = lr_figure(lrs, cfg.schedule).update_layout(title="Learning rate per epoch", height=200)
    fig.update_yaxes(dtick=1, tickformat="~g")  # one tick per decade: 0.0001, 0.001, 0.01
    st.plotly_chart(fig, key="tr_lr_preview", config={"displayModeBar": False})
    if cfg.schedule == "plateau":
        st.caption(f"Reduce on plateau: the rate drops ×0.1 after {cfg.lr_patience} epochs without improvement.")


def start_run(cfg: RunConfig) -> None:
    """Submit to the job manager and show the run's live view (its id goes into the URL)."""
    title = f"{MODELS[cfg.arch].title} on {DATASETS[cfg.dataset].title}"
    run_id = submit_run(cfg, f"Run {{run_id}} started: {title}.")
    if run_id:
        st.query_params[QUERY_RUN] = run_id
        st.rerun()


# -- live view ------------------------------------------------------------------------------------
def config_summary(cfg: RunConfig) -> str:
    """The settings that matter most, on one line."""
    model = f"layers {','.join(map(str, cfg.hidden_sizes))}" if cfg.arch == "mlp" else f"hidden {cfg.hidden}"
    parts = [
        model,
        f"dropout {_fmt(cfg.dropout)}",
        f"lr {_fmt(cfg.lr)}",
        f"batch {cfg.batch_size}",
        plural(cfg.epochs, "epoch"),
        CHOICE_LABELS.get(cfg.optimizer, cfg.optimizer),
        f"{CHOICE_LABELS.get(cfg.schedule, cfg.schedule).lower()} schedule",
    ]
    return " · ".join(parts)


def live_view(run_id: str) -> None:
    """A run's header, its actions, and the progress and curves that grow while it trains."""
    rec = store().find(run_id)
    if rec is None:
        st.warning(f"Run {run_id} is not in the store; it may have been deleted.")
        new_run_button()
        return
    title = (
        f"{MODELS[rec.arch].title if rec.arch in MODELS else rec.arch} on "
        f"{DATASETS[rec.dataset].title if rec.dataset in DATASETS else rec.dataset}"
    )
    head, badge = st.columns([6, 1], vertical_alignment="center")
    head.subheader(title, anchor=False)
    with badge:
        status_badge(rec.status)
    st.caption(f"Run {rec.run_id} · started {rec.created_iso} UTC · {config_summary(rec.config)}")
    run_actions(rec)
    live_panel(rec.run_id, rec.status)


def new_run_button(rec: RunRecord | None = None) -> None:
    """Back to an empty form."""
    if st.button("New run", key="tr_new_run", icon=":material/add:", help="Configure another run."):
        del st.query_params[QUERY_RUN]
        st.rerun()


def run_actions(rec: RunRecord) -> None:
    """The buttons that fit the run's status, left to right: results, stop or resume, again, new, delete."""
    actions = []
    if rec.test_value is not None and page_exists(RESULTS_PAGE):
        actions.append(results_button)
    if rec.status in ACTIVE:
        actions.append(stop_button)
    if rec.status in RESUMABLE:
        actions.append(resume_button)
    actions += [again_button, new_run_button, delete_button]
    for col, action in zip(st.columns(len(actions) + 1), actions, strict=False):
        with col:
            action(rec)


def results_button(rec: RunRecord) -> None:
    """To the Results page for this run."""
    if st.button(
        "See results",
        key="tr_results",
        type="primary",
        icon=":material/analytics:",
        help="Classification report, confusion matrix and the examples behind each cell.",
    ):
        go(RESULTS_PAGE, rec.run_id)


def stop_button(rec: RunRecord) -> None:
    """Stop at the next batch (a queued run leaves the queue at once)."""
    if st.button("Stop", key="tr_stop", icon=":material/stop_circle:", help="Stop at the end of the current batch."):
        message = manager().stop(rec.run_id)
        if rec.status == "queued":
            flash(message, "info")
            st.rerun()
        st.toast(message, icon=":material/stop_circle:")


def resume_button(rec: RunRecord) -> None:
    """Continue an interrupted or stopped run from its last checkpoint."""
    if st.button("Resume", key="tr_resume", icon=":material/play_arrow:", help="Continue from the last checkpoint."):
        try:
            manager().resume(rec.run_id)
            flash(f"Run {rec.run_id} resumed after epoch {rec.epochs_done}.")
        except NNLabError as exc:
            flash(str(exc), "error")
        st.rerun()


def again_button(rec: RunRecord) -> None:
    """Load the run's settings into the form."""
    if st.button(
        "Train again",
        key="tr_again",
        icon=":material/replay:",
        help="Load these settings into the form, change what you like, and start a new run.",
    ):
        prefill(rec.config)
        del st.query_params[QUERY_RUN]
        flash(f"Loaded the settings of run {rec.run_id}; change what you like and start.", "info")
        st.rerun()


def delete_button(rec: RunRecord) -> None:
    """Delete with a confirmation step; not while the run is active."""
    if rec.status in ACTIVE:
        st.button(
            "Delete",
            key="tr_delete_disabled",
            icon=":material/delete:",
            disabled=True,
            help="Stop the run before deleting it.",
        )
        return
    with st.popover("Delete", icon=":material/delete:"):
        st.write(f"Delete run {rec.run_id} with its checkpoints and results? This cannot be undone.")
        if st.button("Yes, delete it", key="tr_delete_confirm", type="primary"):
            try:
                store().delete(rec.run_id)
            except NNLabError as exc:
                show_error(exc)
                return
            flash(f"Run {rec.run_id} deleted.")
            del st.query_params[QUERY_RUN]
            st.rerun()


def live_panel(run_id: str, status: str) -> None:
    """Progress and curves in a fragment that polls only while the run is queued or running."""

    @st.fragment(run_every=POLL_S if status in ACTIVE else None)
    def panel() -> None:
        rec = store().find(run_id)
        if rec is None or rec.status != status:
            st.rerun()  # the whole page: new actions, and polling stops once the run is over
        status_panel(rec)
        curves(rec)

    panel()


def status_panel(rec: RunRecord) -> None:
    """Progress bars and rates while training; the outcome afterwards."""
    if rec.status == "queued":
        ahead = manager().queued()
        place = ahead.index(rec.run_id) if rec.run_id in ahead else 0
        st.info(
            f"Waiting for {place} run{'s' if place != 1 else ''} ahead in the queue…"
            if place
            else "Starting: loading the data and building the model…",
            icon=":material/hourglass_top:",
        )
    elif rec.status == "running":
        running_panel(rec)
    elif rec.status in ("failed", "diverged"):
        st.error(rec.reason or "The run failed.", icon=":material/error:")
    elif rec.status == "interrupted":
        st.warning(rec.reason, icon=":material/warning:")
    if rec.status in ("finished", "stopped") or (rec.status != "running" and rec.epochs_done):
        outcome_panel(rec)


def running_panel(rec: RunRecord) -> None:
    """Overall and within-epoch progress, speed, time left, learning rate and the smoothed loss."""
    p = rec.progress
    if p is None:
        st.info("Loading the data and building the model…", icon=":material/hourglass_top:")
        return
    done = p.epoch - 1 + p.fraction
    st.progress(min(done / max(p.epochs, 1), 1.0), text=f"Overall: epoch {min(p.epoch, p.epochs)} of {p.epochs}")
    st.progress(min(p.fraction, 1.0), text=f"This epoch: {p.fraction:.0%}")
    c = st.columns(4)
    c[0].metric("Samples/s", f"{p.samples_per_s:,.0f}")
    c[1].metric("Time left", format_duration(p.eta_s), help="At the current speed, if it runs every epoch.")
    c[2].metric("Learning rate", f"{p.lr if p.lr is not None else rec.config.lr:.3g}")
    c[3].metric("Train loss", f"{p.train_loss:.4f}", help="Smoothed over the last batches.")


def outcome_panel(rec: RunRecord) -> None:
    """Test score, best epoch, duration, speed and device of a run that has ended."""
    s = rec.summary
    c = st.columns(5)
    if rec.test_value is not None:
        if rec.test_metric == "rmse":
            c[0].metric("Test RMSE", f"{rec.test_value:.4g}", help="Root mean squared error in the data's units.")
        else:
            c[0].metric(f"Test {rec.test_metric}", f"{rec.test_value:.1%}")
    early = " (stopped early)" if s.get("stopped_early") else ""
    c[1].metric("Epochs", f"{rec.epochs_done}{early}", help=f"Best epoch: {rec.best_epoch or '–'}.")
    c[2].metric("Time", format_duration(rec.seconds))
    c[3].metric("Samples/s", f"{rec.samples_per_s:,.0f}" if rec.samples_per_s else "–")
    c[4].metric("Device", device_short(rec.device), help=rec.device or None)
    if rec.status == "finished" and rec.test_value is not None:
        st.success(
            "Training finished. Click **See results** for the report, the confusion matrix and the "
            "examples the model got wrong.",
            icon=":material/check_circle:",
        )


def device_short(label: str) -> str:
    """'cuda (NVIDIA H100 80GB HBM3)' -> 'NVIDIA H100 80GB HBM3'; 'cpu (2 threads)' -> 'CPU'."""
    if label.startswith("cuda (") and label.endswith(")"):
        return label[6:-1]
    return (label.split(" (")[0] or "–").upper() if label else "–"


def curves(rec: RunRecord) -> None:
    """Loss and score per epoch; the figure is rebuilt only when a new epoch arrives (no re-mount otherwise)."""
    history = store().metrics(rec.run_id)
    signature = (rec.run_id, rec.status, len(history), history[-1] if history else None)
    cached = st.session_state.get(KEY_CURVES)
    if cached is None or cached[0] != signature:
        task = MODELS[rec.arch].task if rec.arch in MODELS else "classification"
        last = max(rec.config.epochs if rec.active else len(history), len(history), 2)
        fig = curves_figure(history, task, last)  # the axis the curve will fill
        cached = (signature, fig)
        st.session_state[KEY_CURVES] = cached
    if not history:
        st.caption("The curves appear when the first epoch ends.")
    st.plotly_chart(cached[1], key=f"tr_curves_{rec.run_id}", height=CURVE_HEIGHT, config={"displayModeBar": False})
