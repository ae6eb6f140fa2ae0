"""A rule written with a form (Inspection tab): a supervisor picks what to look for (words, a
pattern, a meaning, a silence, a metric), who says it, where in the call, whether its absence
is what counts, and optionally a second condition (and / or / before); the form writes the rule
into the YAML editor, where it can be tested and saved like any other. The YAML is the one
truth (the CLI and API read the same); the form only writes it, and the service reads it back
before it goes in, so a form never adds a rule that cannot run.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import gradio as gr
import yaml

from app.core.errors import CallScopeError
from app.services import inspection
from ui.i18n import I18N, dropdown, lang_of, t
from ui.messages import refusal

KINDS = ("words_any", "words_all", "regex", "meaning", "silence", "metric")
WHO = ("any", "agent", "customer")
WHERE = ("anywhere", "first_seconds", "last_seconds", "first_turns", "last_turns")
SEVERITY = ("info", "low", "medium", "high", "critical")
JOIN = ("none", "and", "or", "before")
#: Words and phrases: one a line, or separated by commas (、，, as a Chinese writer types them).
_SPLIT = re.compile(r"[\n,，、;；]+")
#: A rule's line in a rules file: its indentation is the new rule's.
_ITEM = re.compile(r"^( *)- ", re.MULTILINE)


def condition(kind: str, text: str, who: str, where: str, size: float | None) -> dict[str, Any]:
    """One condition as the rule file writes it (the service checks it)."""
    text = (text or "").strip()
    if kind == "silence":
        return {"silence": {"waiting": who if who != "any" else "customer",
                            "min_seconds": size or 30}}  # fmt: skip
    if kind == "metric":
        return {"metric": text}
    body: dict[str, Any] = {}
    if who != "any":
        body["speaker"] = who
    if where != "anywhere":
        body["within"] = {where: size or (10 if where.endswith("seconds") else 1)}
    if kind == "regex":
        return {"said": {**body, "regex": text}}
    if kind == "meaning":  # examples are sentences: one a line (commas belong to them)
        examples = [line.strip() for line in text.splitlines() if line.strip()]
        return {"meaning": {**body, "examples": examples}}
    words = [w.strip() for w in _SPLIT.split(text) if w.strip()]
    return {"said": {**body, "any" if kind == "words_any" else "all": words}}


def rule_of(
    name: str, title: str, severity: str, first: dict[str, Any], first_absent: bool,
    join: str, second: dict[str, Any] | None, second_absent: bool,
) -> dict[str, Any]:  # fmt: skip
    """The rule the form describes; a condition marked absent is wrapped in ``not``."""
    a = {"not": first} if first_absent else first
    when = a
    if join != "none" and second is not None:
        b = {"not": second} if second_absent else second
        when = {{"and": "all", "or": "any", "before": "before"}[join]: [a, b]}
    rule: dict[str, Any] = {"name": (name or "").strip()}
    if (title or "").strip():
        rule["title"] = title.strip()
    rule["severity"] = severity
    rule["when"] = when
    return rule


def editor_rules(text: str) -> dict[str, Any]:
    """The editor's text as a rules file (``{"rules": [...]}``; empty: no rules); ValueError
    when it is not one."""
    try:
        data = yaml.safe_load(text) if (text or "").strip() else None
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None
    if data is None:
        return {"rules": []}
    if isinstance(data, list):
        return {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError("not a rules file")
    return data


def with_rule(text: str, rule: dict[str, Any]) -> str:
    """The editor's rules (``text``, see :func:`editor_rules`) with ``rule`` added, or in place
    of the rule of its name; read back by the service first (an error says where, as a file's
    would). A new rule is appended to the text as it is, so the editor's comments stay."""
    data = editor_rules(text)
    same = [i for i, r in enumerate(data["rules"]) if isinstance(r, dict)
            and r.get("name") == rule["name"]]  # fmt: skip
    rules = list(data["rules"])
    if same:
        rules[same[0]] = rule
    else:
        rules.append(rule)
    out = yaml.safe_dump({**data, "rules": rules}, allow_unicode=True, sort_keys=False)
    if not same and (text or "").strip():
        item = yaml.safe_dump([rule], allow_unicode=True, sort_keys=False)
        indent = m.group(1) if (m := _ITEM.search(text)) else ""
        appended = text.rstrip("\n") + "\n" + textwrap.indent(item, indent)
        try:
            if editor_rules(appended)["rules"] == rules:
                out = appended
        except ValueError:
            pass  # an editor the plain append does not fit (a flow list): written whole
    inspection.read_rules(out)
    return out


def _condition_fields(prefix: str) -> list[Any]:
    with gr.Row():
        kind = dropdown("qf.kind", KINDS, value="words_any", label=I18N("qf.kind"),
                        elem_id=f"{prefix}-kind", scale=2)  # fmt: skip
        who = dropdown("qf.who", WHO, value="any", label=I18N("qf.who"),
                       elem_id=f"{prefix}-who", scale=1)  # fmt: skip
        where = dropdown("qf.where", WHERE, value="anywhere", label=I18N("qf.where"),
                         elem_id=f"{prefix}-where", scale=1)  # fmt: skip
        size = gr.Number(10, label=I18N("qf.size"), minimum=0, elem_id=f"{prefix}-size",
                         scale=1)  # fmt: skip
    text = gr.Textbox(label=I18N("qf.text"), info=I18N("qf.text_info"), lines=2,
                      elem_id=f"{prefix}-text")  # fmt: skip
    absent = gr.Checkbox(False, label=I18N("qf.absent"), elem_id=f"{prefix}-absent")
    return [kind, text, who, where, size, absent]


def build(editor: gr.Code, message: gr.Markdown) -> None:
    """The form, writing into ``editor`` (the rules' YAML) and saying what it did in
    ``message``."""
    with gr.Accordion(I18N("qf.title"), open=False, elem_id="rule-form"):
        gr.Markdown(I18N("qf.help"))
        with gr.Row():
            name = gr.Textbox(
                label=I18N("qf.name"),
                placeholder="no_greeting",
                info=I18N("qf.name_info"),
                elem_id="rule-form-name",
                scale=2,
            )
            title = gr.Textbox(label=I18N("qf.rule_title"), elem_id="rule-form-title", scale=2)
            severity = dropdown("severity", SEVERITY, value="medium", label=I18N("col.severity"),
                                elem_id="rule-form-severity", scale=1)  # fmt: skip
        first = _condition_fields("rule-form-a")
        join = dropdown("qf.join", JOIN, value="none", label=I18N("qf.join"),
                        elem_id="rule-form-join")  # fmt: skip
        with gr.Column(visible=False) as second_box:
            second = _condition_fields("rule-form-b")
        add = gr.Button(I18N("qf.add"), elem_id="rule-form-add")

    def write(
        text: str, name_: str, title_: str, severity_: str,
        kind_a: str, text_a: str, who_a: str, where_a: str, size_a: float | None, absent_a: bool,
        join_: str,
        kind_b: str, text_b: str, who_b: str, where_b: str, size_b: float | None, absent_b: bool,
        request: gr.Request,
    ) -> tuple[str, str]:  # fmt: skip
        lang = lang_of(request)
        first = condition(kind_a, text_a, who_a, where_a, size_a)
        second = condition(kind_b, text_b, who_b, where_b, size_b) if join_ != "none" else None
        rule = rule_of(name_, title_, severity_, first, bool(absent_a), join_, second,
                       bool(absent_b))  # fmt: skip
        try:
            out = with_rule(text, rule)
        except ValueError:
            raise gr.Error(t("qf.bad_editor", lang)) from None
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        return out, t("qf.added", lang).format(name=rule["name"])

    def second_shown(join_: str) -> Any:
        return gr.Column(visible=join_ != "none")

    join.change(second_shown, [join], [second_box], api_visibility="private")
    add.click(write, [editor, name, title, severity, *first, join, *second], [editor, message],
              api_visibility="private")  # fmt: skip
