"""The services' messages in the page's language: errors, the progress of background jobs,
label-run warnings and who changed a call's labels.

The services speak English to every face (the CLI and the API keep their words), and the
``app.core.errors`` tree has no codes: a message is known here by its frame, the service's
sentence around its data (``ui.texts_msg_en`` holds each frame as the service writes it, a test
checks that they still match). A known message is said again in the page's language with the same
data; a name the user types as it is (a metric, a field, a setting) is shown as code. An error not
known here is framed by its kind of error, its own words kept. An English page shows the
services' words unchanged."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import gradio as gr

from app.core.errors import (
    AudioError,
    ConfigError,
    InputError,
    LLMError,
    StoreError,
    TranscriptionError,
)
from app.services import label_runs
from app.services.labels import LabelsChangedError
from ui.i18n import EN, t

_QUOTED = r"'[^']*'"
_GRAMMAR = (
    r"use key=value with one of (?P<keys>.+?); date>=YYYY-MM-DD or date<=YYYY-MM-DD; or a metric "
    r"bound such as longest_silence>=60 \(metrics: (?P<metrics>.+)\)"
)
#: Each known message: its frame (the whole message) and its key.
_ERRORS: tuple[tuple[str, str], ...] = (
    (rf"date (?P<end>from|to) (?P<value>{_QUOTED}): use YYYY-MM-DD", "msg.date_bad"),
    (r"date from (?P<start>\S+) is after date to (?P<end>\S+)", "msg.date_order"),
    (r"date to (?P<end>\S+) is out of range", "msg.date_range"),
    (r"date from (?P<start>\S+): no previous period to compare", "msg.no_previous"),
    (
        r"the period (?P<start>\S+) to (?P<end>\S+) spans (?P<weeks>\d+) weeks; Insights show at "
        r"most (?P<most>\d+) \(about two years\): narrow the dates",
        "msg.too_long",
    ),
    (r"low confidence (?P<value>.+): use a number from 0 to 1", "msg.low_confidence"),
    (
        rf"metric filter (?P<name>{_QUOTED}): unknown metric; use one of (?P<metrics>.+)",
        "msg.metric_unknown",
    ),
    (
        r"metric filter (?P<item>'.*'): use name>=number, >, <= or < "
        r"\(e\.g\. longest_silence>=60\)",
        "msg.metric_syntax",
    ),
    (
        r"metric filter (?P<name>\S+): the bound must be a finite number, got (?P<value>.+)",
        "msg.metric_number",
    ),
    (r"metric (?P<name>\S+): two (?P<op>\S+) bounds \(keep one\)", "msg.metric_twice"),
    (r"filter (?P<item>'.*'): give a value after '='", "msg.filter_value"),
    (r"filter (?P<item>'.*'): (?P<value>'.*') is not a date \(YYYY-MM-DD\)", "msg.filter_date"),
    (
        r"filter (?P<item>'.*'): only date and the metrics \((?P<metrics>.+)\) take >= or <=",
        "msg.filter_range",
    ),
    (rf"filter (?P<item>'.*'): unknown key (?P<key>{_QUOTED}); {_GRAMMAR}", "msg.filter_key"),
    (rf"filter (?P<item>'.*'): {_GRAMMAR}", "msg.filter_grammar"),
    (
        r"filter (?P<name>\S+): empty value (?P<value>.+) \(drop the key to not filter on it\)",
        "msg.filter_empty",
    ),
    (rf"metadata field (?P<name>{_QUOTED}) is one of the built-in filters", "msg.metadata_builtin"),
    (
        r"metadata (?P<value>'.*'): use field=value with a field of (?P<fields>.*)",
        "msg.metadata_syntax",
    ),
    (rf"no call (?P<call>{_QUOTED})", "msg.no_call"),
    (rf"no transcribed call (?P<call>{_QUOTED})", "msg.not_transcribed"),
    (r"no speech or text to classify", "msg.no_speech"),
    (
        rf"call (?P<call>{_QUOTED}) has no words to summarize \(state: (?P<state>\w+)\)",
        "msg.no_words",
    ),
    (
        rf"label run (?P<run>\d+) suggests no change for (?P<call>{_QUOTED})",
        "msg.no_suggestion",
    ),
    (r"the new label is empty", "msg.label_empty"),
    (r"a label cannot hold control characters or ';': (?P<label>.+)", "msg.label_chars"),
    (r"a label has at most (?P<most>\d+) characters, got (?P<n>\d+)", "msg.label_long"),
    (r"'unknown' is the classifier's answer when no label fits, not a label", "msg.label_unknown"),
    (r"not calls of topic (?P<topic>\d+): (?P<calls>.+)", "msg.not_in_topic"),
    (r"labels changed since the run \((?P<labels>.*)\)", "msg.topic_changed"),
    (r"the service is still starting; try again in a moment", "msg.starting"),
    (
        r"The model's answer cited no passage it was given: showing the best evidence instead\.",
        "msg.no_citation",
    ),
    (
        r"The model found no answer in the passages it was given: showing the best evidence "
        r"instead\.",
        "msg.answer_model_not_found",
    ),
    (
        r"The model's answer held no words of its own, only citation marks: showing the best "
        r"evidence instead\.",
        "msg.answer_no_words",
    ),
    (
        r"The model answered in another language than the question's: showing the best "
        r"evidence instead\.",
        "msg.answer_other_language",
    ),
    (
        rf"label (?P<label>{_QUOTED}) has only (?P<n>\d+) example(?P<s>s?): too few to learn from "
        r"or to check well \(labels\.min_examples=(?P<least>\d+)\)",
        "msg.few_examples",
    ),
    (
        r"(?P<n>\d+) row\(s\) could not be scored \(see the reasons column\), first: row "
        r"(?P<row>\S+): (?P<reason>.+)",
        "msg.unscored",
    ),
)
#: Where in a quality-inspection rule file an error is (``rule greeting: when.not.said``).
_WHERE = r"(?P<where>rule [^:\s]+(?:: [\w.]+)?)"
_ERRORS += (
    (r'rules: expected a list of rules \(or \{"rules": \[\.\.\.\]\}\)', "msg.rule_list"),
    (rf"rules: the name (?P<name>{_QUOTED}) is used twice", "msg.rule_twice"),
    (rf"{_WHERE}: unknown key (?P<key>{_QUOTED}); known: (?P<keys>.+)", "msg.rule_key"),
    (rf"{_WHERE}: give exactly one of any, all, at_least \+ of, or regex", "msg.rule_said"),
    (rf"{_WHERE}: expected a non-empty list of words or phrases", "msg.rule_words"),
    (rf"{_WHERE}: severity is one of (?P<keys>.+)", "msg.rule_severity"),
    (rf"{_WHERE}: no condition \(when\)", "msg.rule_no_when"),
    (rf"{_WHERE}: unknown metric in (?P<item>'.*'); one of (?P<metrics>.+)", "msg.rule_metric"),
    (rf"{_WHERE}\.speaker: one of (?P<keys>.+)", "msg.rule_speaker"),
    (
        r"rule (?P<name>.+): a name is 1-60 lowercase letters, digits, _ or Chinese",
        "msg.rule_name",
    ),
    (
        rf"rule (?P<name>{_QUOTED}) answers a question of scorecard (?P<item>{_QUOTED}): change "
        r"the scorecard first \(or delete it\)",
        "msg.rule_in_card",
    ),
)
_JOBS: tuple[tuple[str, str], ...] = (
    (r"done", "msg.job.done"),
    (r"starting", "msg.job.starting"),
    (r"cancelled", "msg.job.cancelled"),
    (r"cancelled before it started", "msg.job.cancelled_early"),
    (r"interrupted by shutdown; resumes at the next start", "msg.job.shutdown"),
    (r"interrupted by a restart; resuming", "msg.job.restart"),
    (
        r"(?P<verb>indexed|imported) (?P<done>\d+)/(?P<total>\d+) \((?P<counts>[^()]*)\)",
        "msg.job.counted",
    ),
    (r"importing (?P<n>\d+) rows", "msg.job.importing"),
    (r"classified (?P<done>\d+)/(?P<total>\d+)", "msg.job.classified"),
    (r"classifying", "msg.job.classifying"),
    (r"classifying (?P<name>.+)", "msg.job.classifying_one"),
    (r"(?P<n>\d+) calls to process \((?P<before>\d+) done before\)", "msg.job.to_process"),
    (r"processed (?P<done>\d+)/(?P<total>\d+)", "msg.job.processed"),
    (r"internal error: (?P<name>\w+)", "msg.job.internal"),
)
_SOURCES: tuple[tuple[str, str], ...] = (
    (r"label run (?P<run>\d+) \((?P<by>[\w ]+)\)", "msg.by.label_run"),
    (r"undo #(?P<entry>\d+) \((?P<by>[\w ]+)\)", "msg.by.undo"),
    (r"topics (?P<run>\S+) #(?P<topic>\d+) \((?P<by>[\w ]+)\)", "msg.by.topics"),
)
#: The steps of a label-quality run (its jobs' progress messages) and the key of each.
STAGE_KEYS = dict(
    zip(
        label_runs.STAGES,
        ("index", "read", "duplicates", "knn", "model", "llm", "reports"),
        strict=True,
    )
)
#: The frame of an error not known above, by its type (the first that fits).
_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (LabelsChangedError, "labels_changed"),
    (InputError, "input"),
    (LLMError, "llm"),
    (StoreError, "store"),
    (AudioError, "audio"),
    (TranscriptionError, "transcription"),
    (ConfigError, "config"),
)
#: Fields holding names the user types as they are (shown as code), lists of them, and words of
#: the message itself (said in the page's language).
_CODES = frozenset({"name", "item", "key", "where"})
_LISTS = frozenset({"metrics", "keys", "fields"})
_SYMBOLS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}


def _chinese(lang: str) -> bool:
    return lang.startswith("zh")


def _compiled(frames: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(pattern, re.S), key) for pattern, key in frames]


_ERROR_FRAMES, _JOB_FRAMES = _compiled(_ERRORS), _compiled(_JOBS)
_SOURCE_FRAMES = _compiled(_SOURCES)


def _said(
    message: str,
    frames: list[tuple[re.Pattern[str], str]],
    lang: str,
    field: Callable[[str, str, str], str] | None = None,
) -> str | None:
    """``message`` in ``lang`` when one of ``frames`` is its whole frame, else None."""
    for pattern, key in frames:
        m = pattern.fullmatch(message)
        if m:
            shown = field or _field
            values = {name: shown(name, value, lang) for name, value in m.groupdict().items()}
            return t(key, lang).format(**values)
    return None


def code_list(names: list[str] | tuple[str, ...], lang: str = "en") -> str:
    """Names the user types as they are, as a list of code in ``lang``."""
    return t("lq.list_sep", lang).join(f"`{name}`" for name in names) or "—"


def _field(name: str, value: str, lang: str) -> str:
    if name in _LISTS:
        return code_list([x.strip() for x in value.split(",")], lang)
    if name in _CODES:
        return f"`{value.strip(chr(39))}`"
    if name == "end" and f"msg.word.{value}" in EN:  # "date from ...": which date box
        return t(f"msg.word.{value}", lang)
    if name == "op":  # a bound as the filter box writes it
        return _SYMBOLS.get(value, value)
    if name == "reason" and value.startswith("unreadable: "):  # an unscored row's reason
        return f"{t('lq.reason.unreadable', lang)}（{value.removeprefix('unreadable: ')}）"
    return value


def error_text(error: BaseException | str, lang: str = "en") -> str:
    """An error (or its message, as a job keeps it) in ``lang``: the service's words on an
    English page; a known message in Chinese around its data, else its kind of error in
    Chinese around its words."""
    message = str(error)
    if not _chinese(lang):
        return message
    said = _said(message, _ERROR_FRAMES, lang) or _said(message, _JOB_FRAMES, lang)
    if said is not None:
        return said
    kind = next((k for cls, k in _KINDS if isinstance(error, cls)), "other")
    return t(f"msg.error.{kind}", lang).format(detail=message)


def refusal(error: BaseException | str, lang: str = "en") -> gr.Error:
    """The error toast of a refused action, in ``lang`` (``raise refusal(exc, lang) from
    None``). Toasts show HTML: the text is escaped and its `names` shown as code."""
    return gr.Error(toast_html(error_text(error, lang)))


def toast_html(text: str) -> str:
    """``text`` as a toast shows it: escaped, with `backticked` names as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def job_message(message: str | None, lang: str = "en") -> str:
    """A background job's progress message (or error) in ``lang``."""
    if not message or not _chinese(lang):
        return message or ""
    if message in STAGE_KEYS:
        return t(f"lq.stage.{STAGE_KEYS[message]}", lang)
    said = _said(message, _JOB_FRAMES, lang, _job_field)
    return said if said is not None else known_text(message, lang)  # progress, not an error


def _job_field(name: str, value: str, lang: str) -> str:
    # A table cell shows no code: names stay as they are.
    if name == "counts":  # "indexed 3, failed 1": each state in words
        return t("lq.list_sep", lang).join(_count(part, lang) for part in value.split(", "))
    if name == "verb":
        return t(f"msg.word.{value}", lang)
    return value


def _count(part: str, lang: str) -> str:
    state, _, n = part.rpartition(" ")
    return f"{state_word(state, lang)} {n}" if state else part


def state_word(state: str, lang: str = "en") -> str:
    """A call's state (``indexed``, ``failed``...) in ``lang``; an unknown one as it is."""
    return t(f"state.{state}", lang) if f"state.{state}" in EN else state


def source_text(source: str, lang: str = "en") -> str:
    """Who or what changed a call's labels (a label-history ``source``) in ``lang``."""
    if not _chinese(lang):
        return source
    said = _said(source, _SOURCE_FRAMES, lang, _by_field)
    return said if said is not None else _by(source, lang)


def _by_field(name: str, value: str, lang: str) -> str:
    return _by(value, lang) if name == "by" else value


def _by(value: str, lang: str) -> str:
    key = f"msg.by.{value.replace(' ', '_')}"
    return t(key, lang) if key in EN else value


def known_text(message: str, lang: str = "en") -> str:
    """A service's message that is no error (a label run's warning, a note on an answer) in
    ``lang`` when it is known here, else as it is."""
    said = _said(message, _ERROR_FRAMES, lang) if _chinese(lang) else None
    return said if said is not None else message


__all__ = [
    "STAGE_KEYS",
    "code_list",
    "error_text",
    "job_message",
    "known_text",
    "refusal",
    "source_text",
    "state_word",
    "toast_html",
]
