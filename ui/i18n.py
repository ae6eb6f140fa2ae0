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

from collections.abc import Sequence
from typing import Any

import gradio as gr

EN: dict[str, str] = {
    "app.title": "CallScope",
    "app.subtitle": "Search, ask, classify and check the labels of customer-service calls.",
    "tab.ask": "Ask",
    "tab.classify": "Classify",
    "tab.calls": "Calls",
    "tab.label_quality": "Label quality",
    "tab.status": "Status",
    "ask.chat": "Answers from the calls",
    "ask.question": "Question",
    "ask.placeholder": "Which customers asked for a refund?",
    "ask.send": "Ask",
    "ask.options": "Options",
    "ask.k": "Evidence passages",
    "ask.citations_help": "**Citations**: click one to read the excerpt and play the call "
    "from that second.",
    "ask.generation_off": "Generation is off (no LLM configured): showing the best evidence "
    "instead.",
    "audio.recording": "Recording",
    "audio.none": "This call has no recording (it was imported as text).",
    "unlabeled": "unlabeled",
    "filter.label": "Label",
    "filter.speaker": "Speaker",
    "filter.date_from": "Date from",
    "filter.date_to": "Date to",
    "filter.metadata": "Metadata (agent=Li, team=…)",
    "col.n": "#",
    "col.call": "Call",
    "col.time": "Time",
    "col.speakers": "Speakers",
    "col.audio": "Audio",
    "col.label": "Label",
    "col.labels": "Labels",
    "col.confidence": "Confidence",
    "col.decided_by": "Decided by",
    "col.flags": "Flags",
    "col.error": "Error",
    "col.score": "Score",
    "col.via": "Via",
    "col.date": "Date",
    "col.text": "Text",
    "col.given": "Given label",
    "col.suggested": "Suggested label",
    "col.reasons": "Reasons",
    "col.current": "Current label",
    "col.job": "Job",
    "col.kind": "Kind",
    "col.state": "State",
    "col.progress": "Progress",
    "col.message": "Message",
    "col.created": "Created",
    "classify.files": "Recordings or transcripts",
    "classify.paste": "…or paste a transcript",
    "classify.paste_placeholder": "Agent: How can I help?\nCustomer: My parcel never arrived.",
    "classify.run": "Classify",
    "classify.results": "Results",
    "classify.neighbours": "Labeled calls that voted (neighbours)",
    "classify.failed": "could not be classified:",
    "classify.transcript": "What was classified (the transcript; recordings as whisper heard them)",
    "classify.nothing": "Upload a recording or transcript, or paste a transcript.",
    "classify.batch_hint": "**Index and classify** runs the uploads as a batch job: every call is "
    "transcribed, stored with the others (searchable, in the call list) and classified, with a "
    "summary of the run; **Classify** only classifies. Thousands of recordings? `callscope batch "
    "FOLDER --out results.xlsx` (resumable) or `POST /api/batch`.",
    "classify.as_batch": "Index and classify (batch job)",
    "classify.batch_nothing": "Upload recordings or transcripts to run as a batch.",
    "classify.batch_done": "### Batch: {n} calls\n{classified} classified ({unknown} unknown, "
    "{low_confidence} below {low_confidence_below} confidence), {failed} failed · "
    "{audio_hours} h of audio · {seconds} s\n\nLabels: {label_counts}",
    "decided.knn": "nearest labeled calls + light model, no LLM",
    "decided.llm": "the LLM, with the neighbours as examples",
    "decided.abstain": "too uncertain: unknown",
    "classify.candidates": "Closest labels:",
    "calls.query": "Search the calls",
    "calls.placeholder": "Empty: list the calls; words or a question: hybrid search",
    "calls.search": "Search",
    "calls.gone": "This call is no longer in the ledger.",
    "lq.start": "Start a label-quality run",
    "lq.runs": "Run",
    "lq.suspects": "Suspected mislabeled calls",
    "lq.call": "Selected call",
    "lq.new_label": "Another label",
    "lq.accept": "Accept suggested label",
    "lq.relabel": "Relabel to the other label",
    "lq.progress": "Job `{id}`: {state} {done}{total} {message}",
    "lq.done": "Run {run} finished.",
    "lq.failed": "The run {state}: {error}",
    "lq.summary": "**Run {run}** · health **{health}** · {flagged} of {n} calls flagged",
    "lq.no_runs": "No label-quality run yet: start one.",
    "lq.no_suspects": "No suspected mislabeled calls in this run.",
    "lq.files_gone": "This run's files are no longer on disk.",
    "lq.pick_first": "Select a suspect in the table first (and type a label to relabel).",
    "lq.relabeled": "Relabeled {call}: {old} → {new}",
    "lq.unchanged": "{call} already has the label {label}.",
    "lq.skipped": "{call} was not changed: {reason}",
    "jobs.unavailable": "The job queue is not running in this process.",
    "status.refresh": "Refresh",
    "status.models": "Models",
    "status.speech": "Speech",
    "status.embedding": "Embedding",
    "status.store": "Vector store",
    "status.embedded": "embedded",
    "status.collection": "collection",
    "status.chunks": "turn points",
    "status.calls": "calls",
    "status.ledger": "Calls by state",
    "status.llm_on": "Configured: `{model}` at {url}.",
    "status.llm_off": "No LLM configured: answers show the cited evidence and classification "
    "uses the nearest labeled calls. To use one, set these variables (any OpenAI-compatible "
    "endpoint) and restart:",
    "status.jobs": "Recent jobs",
    "state.pending": "pending",
    "state.transcribed": "transcribed",
    "state.indexed": "indexed",
    "state.failed": "failed",
    "closed.message": "## The UI is locked\n\nNo API keys are configured, so the calls are not "
    "served to anyone. Set `API__API_KEYS` (for example `API__API_KEYS='[\"a-long-random-key\"]'`) "
    "and sign in with a key as the password, or, on a trusted machine only, set "
    "`API__DEV_MODE=true`. Then restart the service.",
    "login.message": "Sign in with any user name and one of the API keys as the password.",
}

ZH: dict[str, str] = {
    "app.title": "CallScope 通话分析",
    "app.subtitle": "检索、提问、分类客服通话，并检查标签质量。",
    "tab.ask": "提问",
    "tab.classify": "分类",
    "tab.calls": "通话",
    "tab.label_quality": "标签质量",
    "tab.status": "状态",
    "ask.chat": "来自通话的回答",
    "ask.question": "问题",
    "ask.placeholder": "哪些客户要求退款？",
    "ask.send": "提问",
    "ask.options": "选项",
    "ask.k": "证据段落数",
    "ask.citations_help": "**引用**：点击一条引用可查看原文片段，并从该秒开始播放录音。",
    "ask.generation_off": "未配置大模型，生成已关闭：下面显示最相关的证据。",
    "audio.recording": "录音",
    "audio.none": "此通话没有录音（以文本导入）。",
    "unlabeled": "无标签",
    "filter.label": "标签",
    "filter.speaker": "说话人",
    "filter.date_from": "开始日期",
    "filter.date_to": "结束日期",
    "filter.metadata": "元数据（agent=Li, team=…）",
    "col.n": "#",
    "col.call": "通话",
    "col.time": "时间",
    "col.speakers": "说话人",
    "col.audio": "录音",
    "col.label": "标签",
    "col.labels": "标签",
    "col.confidence": "置信度",
    "col.decided_by": "判定方式",
    "col.flags": "标记",
    "col.error": "错误",
    "col.score": "分数",
    "col.via": "来源",
    "col.date": "日期",
    "col.text": "内容",
    "col.given": "原标签",
    "col.suggested": "建议标签",
    "col.reasons": "原因",
    "col.current": "当前标签",
    "col.job": "任务",
    "col.kind": "类型",
    "col.state": "状态",
    "col.progress": "进度",
    "col.message": "信息",
    "col.created": "创建时间",
    "classify.files": "录音或转写文本",
    "classify.paste": "……或粘贴转写文本",
    "classify.paste_placeholder": "坐席：您好，请问有什么可以帮您？\n客户：我的包裹一直没到。",
    "classify.run": "分类",
    "classify.results": "结果",
    "classify.neighbours": "参与投票的已标注通话（近邻）",
    "classify.failed": "无法分类：",
    "classify.transcript": "分类所用的文本（录音为 whisper 的转写结果）",
    "classify.nothing": "请上传录音或转写文本，或粘贴转写文本。",
    "classify.as_batch": "入库并分类（批量任务）",
    "classify.batch_nothing": "请上传录音或转写文本后再批量运行。",
    "classify.batch_done": "### 批量：{n} 通通话\n已分类 {classified}（未知 {unknown}，置信度低于 "
    "{low_confidence_below} 的 {low_confidence}），失败 {failed} · 音频 {audio_hours} 小时 · "
    "{seconds} 秒\n\n标签：{label_counts}",
    "classify.batch_hint": "**入库并分类** 把上传的文件作为批量任务运行："
    "每通通话都会转写、与其他通话一起入库（可检索，出现在通话列表中）并分类，"
    "最后给出本次运行的汇总；**分类** 只分类不入库。成千上万条录音？运行 "
    "`callscope batch 文件夹 --out results.xlsx`（可断点续跑）或 `POST /api/batch`。",
    "decided.knn": "最近的已标注通话 + 轻量模型，未使用大模型",
    "decided.llm": "大模型（以近邻通话为示例）",
    "decided.abstain": "把握不足：未知",
    "classify.candidates": "最接近的标签：",
    "calls.query": "检索通话",
    "calls.placeholder": "留空：列出通话；输入词语或问题：混合检索",
    "calls.search": "检索",
    "calls.gone": "此通话已不在台账中。",
    "lq.start": "开始标签质量检查",
    "lq.runs": "检查记录",
    "lq.suspects": "疑似标错的通话",
    "lq.call": "已选通话",
    "lq.new_label": "其他标签",
    "lq.accept": "采纳建议标签",
    "lq.relabel": "改为其他标签",
    "lq.progress": "任务 `{id}`：{state} {done}{total} {message}",
    "lq.done": "检查 {run} 已完成。",
    "lq.failed": "检查未完成（{state}）：{error}",
    "lq.summary": "**检查 {run}** · 健康度 **{health}** · {n} 个通话中 {flagged} 个被标记",
    "lq.no_runs": "还没有标签质量检查：请开始一次。",
    "lq.no_suspects": "本次检查没有疑似标错的通话。",
    "lq.files_gone": "本次检查的文件已不在磁盘上。",
    "lq.pick_first": "请先在表格中选择一个可疑通话（改为其他标签时请输入标签）。",
    "lq.relabeled": "已修改 {call} 的标签：{old} → {new}",
    "lq.unchanged": "{call} 的标签已经是 {label}。",
    "lq.skipped": "{call} 未修改：{reason}",
    "jobs.unavailable": "本进程中的任务队列未运行。",
    "status.refresh": "刷新",
    "status.models": "模型",
    "status.speech": "语音识别",
    "status.embedding": "向量模型",
    "status.store": "向量库",
    "status.embedded": "内嵌",
    "status.collection": "集合",
    "status.chunks": "个话轮",
    "status.calls": "个通话",
    "status.ledger": "各状态的通话数",
    "status.llm_on": "已配置：`{model}`，地址 {url}。",
    "status.llm_off": "未配置大模型：回答显示引用的证据，分类使用最近的已标注通话。如需使用，"
    "请设置以下环境变量（任何兼容 OpenAI 的接口）并重启：",
    "status.jobs": "最近的任务",
    "state.pending": "待处理",
    "state.transcribed": "已转写",
    "state.indexed": "已索引",
    "state.failed": "失败",
    "closed.message": "## 界面已锁定\n\n未配置 API 密钥，因此不向任何人提供通话数据。请设置 "
    "`API__API_KEYS`（例如 `API__API_KEYS='[\"a-long-random-key\"]'`），并以密钥作为密码登录；"
    "或仅在可信的本机上设置 `API__DEV_MODE=true`。然后重启服务。",
    "login.message": "用户名任意，密码为任一 API 密钥。",
}

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
    """On page load, head every :func:`dataframe` table of ``blocks`` in the language of the
    request (as the event handlers do). The tables are still empty then."""
    tables = [
        b
        for b in blocks.blocks.values()
        if isinstance(b, gr.Dataframe) and getattr(b, COLUMN_KEYS, None)
    ]
    if not tables:
        return

    def localize(request: gr.Request) -> list[gr.Dataframe]:
        lang = lang_of(request)
        # The headers travel inside the value: an update without one would keep the old ones.
        return [
            gr.Dataframe(value=[], headers=headers(getattr(table, COLUMN_KEYS), lang))
            for table in tables
        ]

    blocks.load(localize, None, tables, show_progress="hidden", api_visibility="private")
