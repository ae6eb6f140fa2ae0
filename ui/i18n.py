"""The UI's texts in English and Simplified Chinese.

Static labels go through ``I18N(key)`` (gradio picks the browser's language, or the one chosen
in the footer settings); texts built by event handlers use :func:`t` with the language of the
request's ``Accept-Language``. Table headers are the exception: gradio translates ``I18N`` texts
only in a component's own text properties (label, info, placeholder...), never in a Dataframe's
headers, so tables are made with :func:`dataframe` and get their headers in the request's language
when the page loads (:func:`localize_tables`). zh-TW is listed with the Simplified texts: gradio
falls back to English for a locale it is not given, and Simplified reads better than English there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import gradio as gr

from ui.texts_en import EN
from ui.texts_zh import ZH

LANGUAGES = {"en": EN, "zh-CN": ZH, "zh-TW": ZH}
I18N = gr.I18n(**LANGUAGES)


def language(accept_language: str | None) -> str:
    """``zh-CN`` for any Chinese first preference, else ``en``."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh-CN" if first.startswith("zh") else "en"


def lang_of(request: gr.Request | None) -> str:
    headers: Any = getattr(request, "headers", None) or {}
    return language(headers.get("accept-language"))


def t(key: str, lang: str = "en") -> str:
    """The text of ``key`` in ``lang`` (English when the language or key is missing)."""
    return LANGUAGES.get(lang, EN).get(key) or EN.get(key, key)


def word(kind: str, name: str, lang: str = "en") -> str:
    """A name the services use (a metric, a metadata field, a job's state...) as the page says
    it in ``lang``: the text of ``kind.name``, or the name itself when it has none (a name of a
    newer version, or one a deployment made up)."""
    key = f"{kind}.{name}"
    return t(key, lang) if key in EN else name


def speaker_words(speakers: str | list[str], lang: str = "en") -> str:
    """Who spoke, in ``lang`` (坐席 / 客户 on a Chinese page); a speaker without words of its
    own (a name from a transcript) as it is."""
    names = [speakers] if isinstance(speakers, str) else list(speakers)
    sep = "、" if lang.startswith("zh") else ", "
    return sep.join(_speaker(name, lang) for name in names)


def _speaker(name: str, lang: str) -> str:
    key = f"speaker.{name.lower()}"
    return t(key, lang) if key in EN else name


def speaker_lines(text: str, lang: str = "en") -> str:
    """A call as ``Speaker: words`` lines (what was classified) with each speaker in ``lang``;
    an English page keeps the lines as they are."""
    if not lang.startswith("zh"):
        return text
    return re.sub(r"(?m)^([A-Za-z]+): ", lambda m: f"{_speaker(m.group(1), lang)}：", text)


def pii_word(kind: str, lang: str = "en") -> str:
    """A kind of personal data (``phone``, ``id_number``...) in ``lang``; an unknown kind as it
    is."""
    return word("pii", kind, lang)


def job_word(what: str, value: str, lang: str = "en") -> str:
    """A job's kind or state (``what``) in ``lang``; a kind or state without words of its own
    is shown as it is."""
    return word(f"job.{what}", value, lang)


#: The attribute of a :func:`dataframe` table holding its column keys.
COLUMN_KEYS = "callscope_column_keys"


def headers(columns: Sequence[str], lang: str = "en") -> list[str]:
    """The header texts of the column keys ``columns`` in ``lang``."""
    return [t(c, lang) for c in columns]


def dataframe(columns: Sequence[str], **kwargs: Any) -> gr.Dataframe:
    """A table with the column keys ``columns``: headed in English as built (never with ``I18N``
    texts, which a Dataframe would show as their raw metadata), and in the request's language
    once the page loads, through :func:`localize_tables`."""
    table = gr.Dataframe(headers=headers(columns), **kwargs)
    setattr(table, COLUMN_KEYS, tuple(columns))
    return table


def localize_tables(blocks: gr.Blocks) -> None:
    """On page load, head every :func:`dataframe` table of ``blocks`` in the browser's language
    (the first of ``navigator.languages``, the language its ``Accept-Language`` puts first, which
    the event handlers read). Done in the page, not by a server event: a server answer could
    arrive after a question the user asked at once and empty its filled table (seen in CI)."""
    tables = [
        b
        for b in blocks.blocks.values()
        if isinstance(b, gr.Dataframe) and getattr(b, COLUMN_KEYS, None)
    ]
    if not tables:
        return
    texts = {
        lang: [headers(getattr(table, COLUMN_KEYS), lang) for table in tables]
        for lang in ("en", "zh-CN")
    }
    js = (
        "() => { const first = ((navigator.languages && navigator.languages[0])"
        " || navigator.language || '').toLowerCase();"
        f" const texts = {json.dumps(texts, ensure_ascii=False)};"
        " const heads = texts[first.startsWith('zh') ? 'zh-CN' : 'en'];"
        " const values = heads.map(h => ({headers: h, data: [], metadata: null}));"
        " return values.length === 1 ? values[0] : values; }"
    )
    blocks.load(None, None, tables, js=js, show_progress="hidden", api_visibility="private")


#: The attribute of a :func:`dropdown` holding the kind of its names and the names.
CHOICE_NAMES = "callscope_choice_names"


def choices(kind: str, names: Sequence[str], lang: str = "en") -> list[tuple[str, str]]:
    """``(text, name)`` choices of ``names`` (of ``kind``, see :func:`word`) in ``lang``."""
    return [(word(kind, name, lang), name) for name in names]


def dropdown(kind: str, names: Sequence[str], **kwargs: Any) -> gr.Dropdown:
    """A dropdown of names the services use (metrics, fields, speakers...): its values are the
    names, its choices say them in English as built and in the request's language once the page
    loads (:func:`localize_choices`)."""
    menu = gr.Dropdown(choices=choices(kind, names), **kwargs)
    setattr(menu, CHOICE_NAMES, (kind, tuple(names)))
    return menu


def localize_choices(blocks: gr.Blocks) -> None:
    """On page load, say the choices of every :func:`dropdown` of ``blocks`` in the language of
    the request (their values stay)."""
    menus = [b for b in blocks.blocks.values() if getattr(b, CHOICE_NAMES, None)]
    if not menus:
        return

    def localize(request: gr.Request) -> list[gr.Dropdown]:
        lang = lang_of(request)
        return [gr.Dropdown(choices=choices(*getattr(m, CHOICE_NAMES), lang)) for m in menus]

    blocks.load(localize, None, menus, show_progress="hidden", api_visibility="private")
