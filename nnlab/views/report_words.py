"""What a run report says to a reader who never saw nnlab: what the model is, what data it learned from, how it
was trained (the values it used, not the "fit to the data" zeros it was given), how good it is and where it
fails. Plain sentences and (label, value) rows; the report escapes them where it places them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlab.core.config import FIELDS
from nnlab.core.facts import DataFacts, ImageFacts, SeriesFacts, TabularFacts, TextFacts
from nnlab.core.naming import file_name
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.core.words import in_form_words
from nnlab.engine.metrics import per_class_f1
from nnlab.store.runfolder import Results
from nnlab.views.htmldoc import fmt

KIND_WORDS = {"image": "images", "tabular": "a table of numbers", "text": "texts", "series": "a time series"}
AUTO = "fit to the data"


def arch_words(arch: str) -> tuple[str, str]:
    """(title, description) of an architecture from the model registry."""
    from nnlab.models import MODELS

    spec = MODELS.get(arch)
    return (spec.title, spec.description) if spec else (arch, "")


def form_words(message: str) -> str:
    """core.words.in_form_words, with the architectures' and the datasets' titles for their flags' values."""
    from nnlab.data import DATASETS
    from nnlab.models import MODELS

    titles = {"arch": {n: s.title for n, s in MODELS.items()}, "dataset": {n: s.title for n, s in DATASETS.items()}}
    return in_form_words(message, titles)


def data_words(cfg: Any) -> tuple[str, str]:
    """(title, description) of a run's data: the dataset's, or the user's file name."""
    from nnlab.analysis.naming import data_title
    from nnlab.data import DATASETS

    spec = DATASETS.get(cfg.dataset)
    return data_title(cfg), spec.description if spec else ""


def model_sentence(rec: RunRecord, res: Results) -> str:
    """'A CNN (three convolution blocks; ...) with 1.2 million parameters, trained to tell 10 classes apart ...'."""
    title, about = arch_words(rec.arch)
    params = rec.summary.get("parameters")
    size = f" with {_count(params)} parameters" if params else ""
    about = f" ({_lower_first(about.rstrip('.'))})" if about else ""
    data, _ = data_words(rec.config)
    model = f"{article(title)} {title} network{about}{size}"
    if res.task == "regression":
        target = getattr(res.facts, "target", "")
        return f"{model}, trained to forecast {target!r} in {data}." if target else f"{model}, trained on {data}."
    return f"{model}, trained to tell {plural(len(res.classes), 'class', 'classes')} of {data} apart."


def article(word: str) -> str:
    """'An' before a vowel sound: an MLP, an LSTM, an ImageNet model; a CNN, a ResNet-18."""
    acronym = len(word) > 1 and word[1].isupper()
    return "An" if word[:1] in ("AEIOU" + ("FHLMNRSX" if acronym else "")) else "A"


def _lower_first(text: str) -> str:
    """'Fully connected layers' -> 'fully connected layers'; 'ImageNet-pretrained' stays."""
    return text[:1].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def _count(n: int) -> str:
    return f"{n / 1e6:.1f} million" if n >= 1_000_000 else f"{n:,}"


def quality_sentences(res: Results) -> list[str]:
    """How good the model is on its test split, in words, against the simplest baseline."""
    r = res.report
    if res.task == "regression":
        better = 1 - r["rmse"] / r["naive_rmse"] if r.get("naive_rmse") else None
        lines = [
            f"On the {plural(len(res.predictions.y_true), 'test step')} held out at the end of the series, its "
            f"forecasts are off by {r['rmse']:.4g} on average (RMSE; MAE {r['mae']:.4g}).",
        ]
        if better is not None:
            side = "better" if better >= 0 else "worse"
            lines.append(
                f"Repeating the last value (the naive forecast) is off by {r['naive_rmse']:.4g}: the model is "
                f"{abs(better):.0%} {side}."
            )
        return lines
    conf = np.asarray(r["confusion"])
    n, right = int(conf.sum()), int(np.trace(conf))
    top = int(conf.sum(axis=1).argmax())
    baseline = conf.sum(axis=1).max() / max(n, 1)
    return [
        f"On {plural(n, 'test example')} it never saw while training, it was right {r['accuracy']:.1%} of the "
        f"time ({right:,} of {n:,}).",
        f"Always answering the most common class ({res.classes[top]}) would be right {baseline:.1%} of the time.",
        f"Macro F1 {r['report']['macro avg']['f1-score']:.3f}: the mean over classes of F1, which is high only when "
        "a class is both found (recall) and not claimed wrongly (precision).",
    ]


def weakest_classes(res: Results, k: int = 3) -> str:
    """'Weakest classes by F1: 8 (0.81), 3 (0.88), 9 (0.90).'; '' when every class is perfect."""
    f1 = per_class_f1(res.report)
    worst = sorted(f1.items(), key=lambda kv: kv[1])[:k]
    if not worst or worst[0][1] >= 1:
        return ""
    return "Weakest classes by F1: " + ", ".join(f"{c} ({v:.2f})" for c, v in worst if v < 1) + "."


def training_sentence(rec: RunRecord, history: Sequence[EpochRecord]) -> str:
    """How long and how far it trained, and why it ended."""
    s = rec.summary
    done, planned = rec.epochs_done, rec.epochs_planned
    line = f"Trained for {plural(done, 'epoch')} of at most {planned} in {format_duration(rec.seconds)}"
    line += f" on {rec.device}" if rec.device else ""
    line += f", batches of {s['batch_size']}" if s.get("batch_size") else ""
    if s.get("stopped_early") and s.get("best_epoch"):
        line += (
            f". Early stopping ended it: validation had not improved since epoch {s['best_epoch']}, whose "
            "weights were kept"
        )
    elif rec.status != "finished" and rec.reason:
        line += f". {rec.reason.rstrip('.')}"
    return line + "."


def used_value(rec: RunRecord, res: Results | None, name: str) -> str:
    """A config value as the run used it: fitted batch size and epochs, the image size fed, threads and device
    chosen automatically; other values as the form shows them (res: the run's results, None where not read)."""
    value, s = getattr(rec.config, name), rec.summary
    if name in ("batch_size", "epochs") and not value:
        used = s.get(name)
        return f"{used} ({AUTO})" if used else f"chosen when training starts ({AUTO})"
    if name == "image_size" and not value:
        fed = res.facts.image_size if res is not None and isinstance(res.facts, ImageFacts) else ""
        return f"{fed} (chosen for the data and the model)" if fed else "chosen for the data and the model"
    if name == "class_weights" and value == "auto" and "class_weights" in s:
        return f"{'on' if s['class_weights'] else 'off'} (automatic: on where the classes are strongly imbalanced)"
    if name == "threads" and not value:
        m = re.search(r"\((\d+) threads?\)", rec.device or "")
        return f"{m.group(1)} (automatic)" if m else "automatic"
    if name == "dataset":
        return data_words(rec.config)[0]
    if name in ("data_path", "data_root") and value:
        return file_name(value)  # the file's name, not where it sits on the machine that trained
    if name == "arch":
        return arch_words(value)[0]
    if name == "device" and value == "auto" and rec.device:
        return f"{rec.device} (automatic)"
    return config_value(name, value)


def config_value(name: str, value: Any) -> str:
    """A config value as the form shows it: 0.001 (not 0.001000), yes / no, "Reduce on plateau"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and FIELDS[name].options:
        return FIELDS[name].option_label(value)
    return fmt(value, 6) if value not in ("", ()) else "–"


def config_rows(rec: RunRecord, res: Results) -> list[tuple[str, str]]:
    """(label, value used) of the config fields this run's architecture and data read."""
    from nnlab.data.registry import fields_that_apply

    return [(FIELDS[n].label, used_value(rec, res, n)) for n in fields_that_apply(rec.config)]


def data_rows(rec: RunRecord, facts: DataFacts, weight_steps: int = 0) -> list[tuple[str, str]]:
    """A few facts learned from the data, labelled for a reader (no raw keys, no vocabulary dumps). weight_steps: the
    last validation steps a blended series run chose its weight on (early stopping watched the others)."""
    title, about = data_words(rec.config)
    rows = [("Data", title + (f": {about}" if about else "")), ("Kind", KIND_WORDS.get(facts.kind, facts.kind))]
    s = rec.summary
    if s.get("train_size"):
        n_val = s.get("val_size", 0)
        uses = "early stopping, learning rate"
        if weight_steps and weight_steps < n_val:
            uses = f"the first {n_val - weight_steps:,} for {uses}, the last {weight_steps:,} for the blend's weight"
        rows.append(
            (
                "Examples",
                f"{s['train_size']:,} to train, {n_val:,} to validate ({uses}), "
                f"{s.get('test_size', 0):,} to test (this report)",
            )
        )
    if facts.classes:
        names = ", ".join(map(str, facts.classes[:20])) + (" …" if len(facts.classes) > 20 else "")
        rows.append(("Classes", f"{len(facts.classes)}: {names}"))
    rows += _kind_rows(facts)
    if facts.source:
        rows.append(("File", facts.source))
    return rows


def _kind_rows(facts: DataFacts) -> list[tuple[str, str]]:
    if isinstance(facts, ImageFacts):
        colour = "grey" if facts.channels == 1 else f"{facts.channels} channels"
        return [("Model input", f"{facts.image_size} × {facts.image_size} pixels, {colour}, scaled per channel")]
    if isinstance(facts, TabularFacts):
        cols = facts.column_names
        shown = ", ".join(cols[:30]) + (f" … and {len(cols) - 30} more" if len(cols) > 30 else "")
        return [("Model input", f"{plural(facts.features, 'number')} per row"), ("Feature columns", shown)]
    if isinstance(facts, TextFacts):
        return [("Model input", f"up to {facts.max_len} words per text, from a vocabulary of {facts.vocab_size:,}")]
    if isinstance(facts, SeriesFacts):
        rows = [
            ("Forecast", f"the next {plural(facts.horizon, 'value')} of {facts.target!r}"),
            ("Model input", f"the last {facts.window} steps of {plural(len(facts.columns), 'column')}"),
        ]
        return rows + ([("Ordered by", facts.time)] if facts.time else [])
    return []


def fmt_float(value: float | None, digits: int = 4) -> str:
    """A number for a table cell; '–' when there is none."""
    return "–" if value is None else f"{value:.{digits}f}"
