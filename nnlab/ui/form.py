"""The Train page's form: the dataset, then the architectures that fit it, then its fields section by section
(each field drawn from its description, nnlab.core.config.FIELDS), and the preview with Start beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import torch

from nnlab.core.config import DATA_FIELDS, FIELDS, RunConfig
from nnlab.core.errors import NNLabError, Problem
from nnlab.core.facts import DataFacts
from nnlab.core.fitted import batches_per_epoch, fit_to_data
from nnlab.core.limits import upload_mb
from nnlab.core.notes import data_findings
from nnlab.core.text import plural
from nnlab.data import DATASETS, DatasetSpec, load_dataset
from nnlab.data.registry import make_config, validate
from nnlab.data.sample import sample_of
from nnlab.engine.lrpreview import lr_preview
from nnlab.engine.precision import run_bf16_check
from nnlab.models import MODELS, build_model, count_parameters
from nnlab.ui import findings_ui, md, show_error, store
from nnlab.ui.budget import memory_gate
from nnlab.ui.dataread import COLUMN_FIELDS, column_field, csv_peek, data_read_ui, hides_file
from nnlab.ui.fields import (
    expert_ranges,
    field_key,
    field_widget,
    field_widgets,
    label_of,
    parse_sizes,
    section_fields,
    widget_value,
)
from nnlab.ui.keys import (
    KEY_ARCH,
    KEY_ARCH_WANTED,
    KEY_DATASET,
    KEY_EXPERT,
    KEY_LOADED,
    KEY_SOURCE,
    KEY_UPLOAD,
)
from nnlab.ui.paths import confine, kept_upload
from nnlab.ui.preflight import preflight_panel
from nnlab.ui.start import start_box
from nnlab.ui.weights import weights_problem
from nnlab.views.plots import lr_figure

FILE_TYPES = {"tabular": ["csv"], "text": ["csv"], "series": ["csv"], "image": ["zip"]}
FILE_HINTS = {
    "tabular": "a CSV of feature columns (numbers or categories) with a label column",
    "image": "a zip with one folder per class",
    "text": "a CSV with a text column and a label column",
    "series": "a CSV of numeric columns over time",
}


def prefill(cfg: RunConfig) -> None:
    """Load a run's settings into the form's widgets (for "train again with changes")."""
    st.session_state[KEY_DATASET], st.session_state[KEY_ARCH] = cfg.dataset, cfg.arch
    st.session_state[KEY_ARCH_WANTED] = cfg.arch
    st.session_state[KEY_EXPERT] = cfg.expert
    for name in FIELDS:
        if name not in ("dataset", "arch", "expert"):
            st.session_state[field_key(name, cfg.arch, cfg.dataset)] = widget_value(name, getattr(cfg, name))
    if cfg.data_path:
        st.session_state[KEY_SOURCE.format(dataset=cfg.dataset)] = "path"


def _dataset_names() -> list[str]:
    """Built-in datasets first (they work offline), then the rest, each group in registry order."""
    return sorted(DATASETS, key=lambda n: not DATASETS[n].builtin)


def dataset_picker() -> DatasetSpec:
    """The dataset selectbox and its description."""
    names = _dataset_names()
    if st.session_state.get(KEY_DATASET) not in names:
        st.session_state[KEY_DATASET] = "digits" if "digits" in names else names[0]
    info = FIELDS["dataset"]
    name = st.selectbox(info.label, names, key=KEY_DATASET, format_func=lambda n: DATASETS[n].title, help=info.hint)
    spec = DATASETS[name]
    st.caption(f"{spec.description}  \nFits: {', '.join(MODELS[a].title for a in spec.archs if a in MODELS)}.")
    return spec


def arch_picker(spec: DatasetSpec) -> str:
    """The architectures that fit the dataset, as a radio. The one last picked stays picked where it fits; where
    the dataset does not fit it, the first that fits is selected and a note says so."""
    archs = [a for a in spec.archs if a in MODELS]
    wanted = st.session_state.setdefault(KEY_ARCH_WANTED, st.session_state.get(KEY_ARCH))
    if wanted in archs:
        st.session_state[KEY_ARCH] = wanted
    elif st.session_state.get(KEY_ARCH) not in archs:
        st.session_state[KEY_ARCH] = archs[0]
    info = FIELDS["arch"]
    arch = st.radio(
        info.label,
        archs,
        key=KEY_ARCH,
        horizontal=True,
        format_func=lambda a: MODELS[a].title,
        help=info.hint,
        on_change=_remember_arch,
    )
    if wanted in MODELS and wanted != arch:
        st.info(
            f"{MODELS[wanted].title} does not fit the dataset {spec.title}, so {MODELS[arch].title} is selected; "
            f"{MODELS[wanted].title} comes back when you pick a dataset it fits.",
            icon=":material/swap_horiz:",
        )
    else:
        st.session_state[KEY_ARCH_WANTED] = arch
    st.caption(MODELS[arch].description)
    return arch


def _remember_arch() -> None:
    st.session_state[KEY_ARCH_WANTED] = st.session_state[KEY_ARCH]


def _data_path_field(spec: DatasetSpec, arch: str) -> tuple[str, Problem | None]:
    hint = FILE_HINTS.get(spec.kind, "your data file")
    source_key = KEY_SOURCE.format(dataset=spec.name)
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
            return "", Problem(f"Give the path to {hint}, or upload it.", hint=True)
        path, refused = confine(path, store().root, label_of("data_path"))
        if refused:
            return path, Problem(refused)
        if not Path(path).expanduser().exists():
            return path, Problem(f"Data path {path} does not exist; check the spelling or upload the file.")
        return str(Path(path).expanduser()), None
    most = upload_mb(read_whole=spec.kind != "image")  # a zip is bounded by what it unpacks to, not its size
    upload = st.file_uploader(
        f"Upload {hint}",
        type=FILE_TYPES.get(spec.kind),
        key=KEY_UPLOAD.format(dataset=spec.name),
        max_upload_size=most,
        help=f"At most {most} MB; saved in the workspace under uploads/.",
    )
    if upload is None:
        return "", Problem(f"Upload {hint} to train on this dataset.", hint=True)
    if upload.size > most * 2**20:
        return "", Problem(f"File {upload.name} is larger than {most} MB; use a path on this machine instead.")
    path, refused = kept_upload(upload)
    return path, Problem(refused) if refused else None


def data_fields(spec: DatasetSpec, base: RunConfig, expert: bool) -> tuple[dict[str, Any], list[Problem]]:
    """What the dataset needs (a file, a folder) and its further options; returns values and problems."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    if spec.needs == "data_path":
        values["data_path"], problem = _data_path_field(spec, base.arch)
        problems += [problem] if problem else []
    elif spec.needs == "data_root":
        key = field_key("data_root", base.arch, spec.name)
        st.session_state.setdefault(key, base.data_root)
        typed = st.text_input(label_of("data_root"), key=key, help=FIELDS["data_root"].hint).strip()
        values["data_root"], refused = confine(typed, store().root, label_of("data_root")) if typed else ("", None)
        problems += [Problem(refused)] if refused else []
    typed = spec.needs == "data_path" and hides_file(spec)  # a shared dashboard's typed path: no header shown
    peek = None if typed else csv_peek(spec, values.get("data_path", ""))
    for name in spec.options:
        if spec.needs == "data_path" and name in COLUMN_FIELDS:  # picked from the file's own columns
            key, taken = field_key(name, base.arch, spec.name), values.get("text_column", "")
            values[name] = column_field(name, key, peek, getattr(base, name), taken, typed)
        else:
            values[name] = field_widget(name, base, expert)
    return values, problems


def model_fields(base: RunConfig, expert: bool) -> tuple[dict[str, Any], list[Problem]]:
    """The fields the architecture reads (its spec lists them): layer sizes, dropout, pretrained weights."""
    values = field_widgets(MODELS[base.arch].fields, base, expert)
    problems: list[Problem] = []
    if "hidden_sizes" in values:
        values["hidden_sizes"], problem = parse_sizes(values["hidden_sizes"])
        problems += [Problem(problem)] if problem else []
    return values, problems


def training_fields(base: RunConfig, expert: bool) -> dict[str, Any]:
    """The training section's fields in two columns (epochs, learning rate, ...; optimizer, schedule, ...)."""
    values: dict[str, Any] = {}
    for column, place in enumerate(st.columns(2)):
        with place:
            kind = DATASETS[base.dataset].kind if base.dataset in DATASETS else ""
            values |= field_widgets(section_fields("training", column, kind), base, expert)
    return values


def advanced_fields(spec: DatasetSpec, base: RunConfig, expert: bool) -> dict[str, Any]:
    """Data preparation for the dataset's kind, splits, seed and device, folded away."""
    values: dict[str, Any] = {}
    with st.expander("Advanced: data preparation, splits, seed, device"):
        for column, place in enumerate(st.columns(2)):
            with place:
                names = [n for n in section_fields("advanced", column, spec.kind) if n not in spec.options]
                values |= field_widgets(names, base, expert)
    return values


def run_form() -> None:
    """The whole form: inputs on the left; preview, problems and Start on the right."""
    form, side = side_by_side()
    with form:
        spec, cfg, problems = form_inputs()
    with side:
        _preview_and_start(spec, cfg, problems)


FORM_WIDTH = 540  # px: the inputs' column; the preview takes the rest beside it, or the whole width below it


def side_by_side() -> tuple[Any, Any]:
    """A form's inputs and its preview: side by side where both fit, the preview below on narrow windows (a
    preview squeezed into a third of 800 px cut its figures to '58…')."""
    row = st.container(horizontal=True, gap="large")
    return row.container(width=FORM_WIDTH), row.container(width="stretch")


def form_inputs() -> tuple[DatasetSpec, RunConfig, list[Problem]]:
    """The form's inputs, section by section (the Sweep page draws them too, same widgets and keys): the dataset
    spec, the config they make, and every problem with it (a missing input is a hint, not an error)."""
    expert = st.toggle(FIELDS["expert"].label, key=KEY_EXPERT, help=FIELDS["expert"].hint)
    if expert:
        st.caption(f"Expert ranges in force: {expert_ranges()}.")
    st.markdown("#### 1 · Data")
    spec = dataset_picker()
    st.markdown("#### 2 · Model")
    arch = arch_picker(spec)
    base = make_config(arch, dataset=spec.name)
    data_values, problems = data_fields(spec, base, expert)
    model_values, model_problems = model_fields(base, expert)
    missing = weights_problem(make_config(arch, dataset=spec.name, **data_values, **model_values))
    model_problems += [Problem(missing)] if missing else []
    st.markdown("#### 3 · Training")
    train_values = training_fields(base, expert)
    adv_values = advanced_fields(spec, base, expert)
    values = {**data_values, **model_values, **train_values, **adv_values, "expert": expert}
    if model_problems:  # keep the form's default so validate() does not add a second message
        values.pop("hidden_sizes", None)
    cfg = make_config(arch, dataset=spec.name, **values)
    checked = Problem.errors(validate(cfg, paths=not problems) + precision_problems(cfg, spec))
    return spec, cfg, problems + model_problems + checked


def precision_problems(cfg: RunConfig, spec: DatasetSpec) -> list[str]:
    """bfloat16 where this machine cannot train it: a problem that blocks Start; where it is emulated: a warning."""
    if cfg.precision != "bf16":
        return []
    with st.spinner("Checking bfloat16 on this machine…"):
        bf16 = run_bf16_check(cfg, spec.kind)
    if bf16.note:
        st.warning(f"Precision bfloat16 will train slower than fp32 here: {bf16.note}.", icon=":material/speed:")
    return [f"Precision bfloat16 cannot train here: {bf16.problem}; choose fp32 or Automatic."] if bf16.problem else []


# -- preview --------------------------------------------------------------------------------------
def data_key(cfg: RunConfig) -> str:
    """The config reduced to what loading its dataset depends on, as JSON (the cache key)."""
    return RunConfig(**{name: getattr(cfg, name) for name in DATA_FIELDS}).to_json()


@st.cache_data(show_spinner="Loading the dataset…", max_entries=16)
def data_facts(key: str) -> dict[str, Any]:
    """What the preview needs from a dataset: its facts, split sizes and a sample (the tensors are not kept)."""
    cfg = RunConfig.from_json(key)
    data = load_dataset(cfg)
    return {
        "sample": sample_of(data, cfg),  # what the form shows of the user's data
        "facts": data.facts,
        "kind": data.kind,
        "train": len(data.train),
        "val": len(data.val),
        "test": len(data.test),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def parameter_count(cfg_json: str, facts: DataFacts) -> tuple[int, int]:
    """(all, trainable) parameters of the model cfg builds on the data; pretrained weights are not loaded."""
    with torch.device("meta"):  # shapes only: a huge model is counted without allocating its weights
        model = build_model(RunConfig.from_json(cfg_json).replace(pretrained=False), facts)
    return count_parameters(model), count_parameters(model, trainable_only=True)


def _preview_and_start(spec: DatasetSpec, cfg: RunConfig, problems: list[Problem]) -> None:
    st.markdown("#### Preview")
    todo = [p.text for p in problems if p.hint]
    errors = [p.text for p in problems if not p.hint]
    estimate, raised, at_hand = None, None, None
    if problems and cfg.data_path:
        data_read_ui(spec, cfg, None)  # the file's first rows, while another field needs fixing
    if not problems:
        facts, more = _preview_or_offer(spec, cfg)
        errors += more
        estimate = preflight_panel(cfg) if facts and not errors else None  # measures only data at hand
        refused, raised = memory_gate(cfg, facts["facts"], estimate) if facts and not errors else (None, None)
        at_hand = facts["facts"] if facts else None
        errors += [refused] if refused else []
    for text in todo:
        st.info(md(text), icon=":material/upload_file:")
    for text in errors:
        show_error(text)
    start_box(cfg, blocked=bool(problems or errors), raised=raised, estimate=estimate, facts=at_hand)


def _preview_or_offer(spec: DatasetSpec, cfg: RunConfig) -> tuple[dict[str, Any] | None, list[str]]:
    """The preview when the data is at hand; a button to load it first where that may download (MNIST & co).
    Returns the data's facts when the preview is shown (else None), and any problem loading the data."""
    key = data_key(cfg)
    local = spec.builtin or spec.needs == "data_path" or bool(cfg.data_root)
    if not local and key not in st.session_state.get(KEY_LOADED, ()):
        st.caption(f"{spec.title} is read from its data folder, or downloaded on first use; the preview loads it.")
        if not st.button("Load the data for the preview", key="tr_load_preview", icon=":material/download:"):
            return None, []
        st.session_state[KEY_LOADED] = {*st.session_state.get(KEY_LOADED, ()), key}
    try:
        facts = data_facts(key)
    except NNLabError as exc:
        data_read_ui(spec, cfg, None)
        return None, [str(exc)]
    if spec.needs == "data_path":
        data_read_ui(spec, cfg, facts)
    preview(cfg, facts)
    return facts, []


def preview(cfg: RunConfig, facts: dict[str, Any]) -> None:
    """Parameter count, split sizes and the learning-rate schedule of the run cfg would start."""
    total, trainable = parameter_count(cfg.to_json(), facts["facts"])
    fitted = fit_to_data(cfg, facts["train"])  # batch size and epochs given as 0: fitted to the data
    steps = batches_per_epoch(facts["train"], fitted.batch_size)  # as training cuts them (a lone last example joins)
    a, b = st.columns(2)
    a.metric("Parameters", f"{total:,}", help="Weights and biases the model will learn.")
    b.metric(
        "Steps per epoch", f"{steps:,}", help=f"{facts['train']:,} training examples / batch size {fitted.batch_size}."
    )
    frozen = f" · {trainable:,} trainable (backbone frozen)" if trainable != total else ""
    st.caption(f"Data: {facts['train']:,} train · {facts['val']:,} validation · {facts['test']:,} test{frozen}")
    findings_ui(data_findings(facts["facts"], cfg, facts["train"]))
    lrs = lr_preview(fitted, steps)
    fig = lr_figure(lrs, cfg.schedule).update_layout(title="Learning rate per epoch", height=200)
    fig.update_yaxes(dtick=1, tickformat="~g")  # one tick per decade: 0.0001, 0.001, 0.01
    st.plotly_chart(fig, key="tr_lr_preview", config={"displayModeBar": False})
    if cfg.schedule == "plateau":
        st.caption(
            f"Reduce on plateau: the rate drops ×0.1 after {plural(cfg.lr_patience, 'epoch')} without improvement."
        )
