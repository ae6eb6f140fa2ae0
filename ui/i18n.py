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
    "tab.topics": "Topics",
    "tab.insights": "Insights",
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
    "filter.metadata": "Metadata, metrics (agent=Li, longest_silence>=60)",
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
    "col.reasons": "Reasons",
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
    "classify.candidates": "Top candidates:",
    "classify.closest": "Closest labels:",
    "classify.batch_queued": "Index and classify: waiting for the job queue…",
    "classify.batch_running": "Index and classify: **{done}** of {total} calls done…",
    "classify.col.labels": "All labels",
    "classify.col.share": "Share of the vote",
    "calls.query": "Search the calls",
    "calls.placeholder": "Empty: list the calls; words or a question: hybrid search",
    "calls.search": "Search",
    "calls.gone": "This call is no longer in the ledger.",
    # Calls tab: the count line and the metadata box (ui/calls.py)
    "calls.total": "**{n}** calls, newest first",
    "calls.newest": " · the newest {shown} listed",
    "calls.where": " · filters: {filters}",
    "calls.empty": "No calls yet: import recordings or transcripts (Classify tab, "
    "`callscope ingest` or the API) and they are listed here.",
    "calls.no_match": "No calls match these filters: {filters}.",
    "calls.hits": "**{n}** passages from **{calls}** calls for “{query}”",
    "calls.no_hits": "Nothing found for “{query}”.",
    "calls.filter_unknown": "“{item}” is not a filter this box knows. Write a call field as "
    "name=value ({fields}), or a metric with >=, <=, > or < ({metrics}), e.g. "
    "agent=Li, longest_silence>=60. Label, speaker and dates have their own boxes.",
    "calls.metric_op": "“{item}”: a metric takes >=, <=, > or <, e.g. {name}>=60.",
    "calls.field_op": "“{item}”: a call field takes =, e.g. {name}=Li.",
    "calls.filter_bad": "Filter not understood: {error}",
    # The call view (ui/call_view.py)
    "view.hint": "_Click a call in the table to read it, play its recording, classify it, "
    "relabel it or summarize it._",
    "view.classify": "Classify",
    "view.classified": "Classified as",
    "view.neighbours": "Labeled calls that voted:",
    "view.new_label": "Label for this call",
    "view.relabel": "Relabel…",
    "view.pick_label": "Choose or type the label first.",
    "view.confirm_text": "**Relabel {call}?** Its labels become {new} (now: {old}). The "
    "change is kept in the call's label history.",
    "view.confirm": "Yes, relabel",
    "view.cancel": "Cancel",
    "view.not_changed": "Not changed.",
    "view.new_label_note": "**{labels}** is a new label: no call has it yet.",
    "view.relabeled": "Relabeled {call}: {old} → {new}.",
    "view.unchanged": "{call} already has the label {label}.",
    "view.undo": "Undo",
    "view.undone": "Undone: {call} is labeled {labels} again.",
    "summary.button": "Summarize",
    "summary.title": "Summary",
    "summary.reason": "Reason",
    "summary.outcome": "Outcome",
    "summary.follow_ups": "Promised follow-ups",
    "summary.none": "none promised",
    "summary.uncited": "no cited turn",
    "summary.dropped": "citations of turns the model was not shown, dropped",
    "summary.skipped": "Summary skipped",
    "summary.no_llm": "no LLM is configured (set LLM__BASE_URL and LLM__MODEL to any "
    "OpenAI-compatible endpoint)",
    "summary.redacted": "redacted before sending",
    "summary.pick_first": "Open a call first (click a row of the table).",
    "metrics.speakers": "Speakers",
    "metrics.speakers.channels": "one per channel",
    "metrics.speakers.voices": "told apart by voice",
    "metrics.speakers.uncertain": "uncertain (voices not separable)",
    "metrics.speakers.mono": "one mono speaker",
    "metrics.speakers.transcript": "as in the transcript",
    "metrics.agent_talk_share": "Agent talk",
    "metrics.customer_talk_share": "Customer talk",
    "metrics.silence_share": "Silence",
    "metrics.longest_silence": "Longest silence",
    "metrics.overtalk_seconds": "Overtalk",
    "metrics.interruptions": "Interruptions",
    "metrics.agent_wpm": "Agent pace (wpm)",
    "metrics.customer_wpm": "Customer pace (wpm)",
    "metrics.turns": "Turns",
    "metrics.duration": "Duration",
    "lq.start": "Start a label-quality run",
    "lq.runs": "Run",
    "lq.suspects": "Suspected mislabeled calls",
    "lq.call": "Selected call",
    "lq.progress": "Job `{id}`: {state} {done}{total} {message}",
    "lq.done": "Run {run} finished.",
    "lq.failed": "The run {state}: {error}",
    "lq.summary": "**Run {run}** · health **{health}** · {flagged} of {n} calls flagged",
    "lq.no_runs": "No label-quality run yet: start one.",
    "lq.no_suspects": "No suspected mislabeled calls in this run.",
    "lq.files_gone": "This run's files are no longer on disk.",
    # Label quality: the review of one suspect (ui/label_review.py), progress, reasons
    "col.given_labels": "Given labels",
    "col.suggestion": "Suggested change",
    "col.current_labels": "Labels now",
    "lq.running": "Job `{id}`: {percent}% · {stage}",
    "lq.run_choice": "#{run} · {at} · health {health} · flagged {flagged}/{n}",
    "lq.queued": "Job `{id}`: waiting for the job queue…",
    "lq.stage.index": "indexing the labeled file",
    "lq.stage.read": "reading the labeled calls",
    "lq.stage.duplicates": "looking for near-duplicates and outliers",
    "lq.stage.knn": "comparing each call with its nearest labeled calls",
    "lq.stage.model": "cross-checking with the light model",
    "lq.stage.llm": "LLM review of the top suspects",
    "lq.stage.reports": "writing the reports",
    "lq.reason.other_label_confident": "another label fits better",
    "lq.reason.unsupported_label": "nothing in the call supports one of its labels",
    "lq.reason.low_self_confidence": "little evidence for its label",
    "lq.reason.near_duplicate_conflict": "an almost identical call has other labels ({calls})",
    "lq.reason.outlier": "unlike the other calls with its label",
    "lq.reason.singleton_label": "the only call with its label",
    "lq.reason.small_label": "too few calls with its label to check it",
    "lq.reason.unreadable": "could not be read",
    "lq.change.replace": "replace {old} with {new}",
    "lq.change.add": "add {new}",
    "lq.change.remove": "remove {old}",
    "lq.change.none": "keep the labels",
    "lq.list_sep": ", ",
    "lq.none": "none",
    "lq.pick_hint": "Select a suspect in the table to read its call here.",
    "lq.call_head": "### {call}\n\n**Labels now:** {labels}",
    "lq.history": "**Label history**",
    "lq.history_line": "- #{id} · {at} · {old} → {new} · {source}",
    "lq.suggestion": "Suggested change",
    "lq.accept_change": "Accept the suggested change…",
    "lq.edit": "Labels of the call (primary first; type a new one to create it)",
    "lq.save": "Save these labels…",
    "lq.undo": "Undo the last label change",
    "lq.confirm_title": "**Confirm the change to {call}: {change}.**",
    "lq.confirm_detail": "Labels now: {old} → after: {new}",
    "lq.confirm_new": "⚠ No call has the label {labels} yet: confirming creates it.",
    "lq.confirm": "Confirm",
    "lq.cancel": "Cancel",
    "lq.cancelled": "Nothing was changed.",
    "lq.changed": "Changed {call}: {change} ({old} → {new}). **Undo** takes it back.",
    "lq.undone": "Undone on {call}: its labels are {labels} again.",
    "lq.nothing_to_undo": "{call} has no label change to undo.",
    "lq.no_change": "{call} already has these labels: nothing to change.",
    "lq.no_suggestion": "This run suggests no change for {call}.",
    "lq.changed_since": "{call}'s labels changed since (now: {labels}): nothing was changed; "
    "look at the call again.",
    "lq.refused": "Not changed: {reason}",
    "topics.discover": "Discover topics",
    "topics.runs": "Run",
    "topics.table": "Topics among calls without a label (or classified unknown)",
    "topics.topic": "Topic",
    "topics.calls": "Calls (closest to the topic's centre first)",
    "topics.more": "… and {n} more calls (`callscope topics show N` lists them all).",
    "topics.star": "★ representative call (closest to the centre of the topic).",
    "topics.new_label": "New label for the topic's calls",
    "topics.exclude": "Leave out (call ids, comma-separated)",
    "topics.apply": "Make it a label",
    "topics.summary": "**Run of {run}** · {pool} calls without a label or classified "
    "unknown · {clustered} in {n} topics, {none} in none · {seconds} s",
    "topics.run_choice": "{when} · {n} topics · {clustered} of {pool} calls",
    "topics.no_topics": "No topic found: the calls are too few or too different to group. "
    "This run is not kept in the list.",
    "topics.confirm_question": "Label **{n}** calls of topic {topic} **{label}**? They become "
    "labeled examples of it (their history keeps the change). Nothing changes until you "
    "confirm.",
    "topics.nothing_to_label": "No call of topic {topic} would change.",
    "topics.confirm": "Yes, label them",
    "topics.cancel": "Cancel",
    "topics.cancelled": "Cancelled: no call was labeled.",
    "topics.no_runs": "No topic discovery yet: press **Discover topics**.",
    "topics.empty_pool": "Every call has a label and none was classified unknown: nothing to "
    "discover.",
    "topics.no_llm": "_No LLM configured: topics are named by their distinctive terms only._",
    "topics.pick_first": "Select a topic in the table first.",
    "topics.labeled": "Labeled {n} calls of topic {topic} **{label}**: they are labeled "
    "examples now (history kept).",
    "topics.existing": "(This label already existed: the calls joined it.)",
    "col.topic_calls": "Calls",
    "col.topic_name": "Name",
    "col.terms": "Distinctive terms",
    "col.suggested_label": "Suggested label",
    "jobs.unavailable": "The job queue is not running in this process.",
    "status.refresh": "Refresh",
    "status.calls_title": "Calls",
    "status.no_calls": "No calls yet: import recordings or transcripts to begin.",
    "status.ready": "**{n}** calls ready to search, ask about and classify",
    "status.turns": "{n} stretches of conversation (speaker turns) can be found by search",
    "status.waiting": "**{n}** calls still being processed",
    "status.failed": "**{n}** calls could not be read; the first reasons:",
    "status.store_error": "The call index cannot be read",
    "status.llm_title": "Written answers (LLM)",
    "status.updated": "Updated at {at}",
    "status.technical": "Technical details",
    "status.speech": "Speech recognition",
    "status.embedding": "Text embedding model",
    "status.store": "Vector store",
    "status.collection_line": "- Collection `{name}`: {points} turn points, {calls} call points, "
    "model `{model}`, vectors of {dim} dimensions",
    "status.state_dir": "State folder",
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
    # Insights (ui/insights.py, ui/insights_tables.py)
    "ins.help": "Pick a period and filters, then **Show** (empty dates: the 12 weeks up to the "
    "latest call, from the week of the first call when they began later). Every number is "
    "counted in the store; click one to list its calls.",
    "ins.metric_filter": "Metric filter (longest_silence>=60, duration<300)",
    "ins.source": "Label from",
    "ins.source_info": "both: human labels, else the prediction",
    "ins.low": "Low confidence below",
    "ins.run": "Show",
    "ins.export": "Export XLSX",
    "ins.workbook": "Workbook",
    "ins.weekly": "Calls per week by label",
    "ins.week": "Week",
    "ins.calls": "Calls",
    "ins.share": "Share",
    "ins.previous": "Previous period",
    "ins.change": "Change",
    "ins.unknown": "Unknown",
    "ins.low_confidence": "Low confidence",
    "ins.unassigned": "No label",
    "ins.classified": "Classified",
    "ins.measure": "Measure",
    "ins.value": "Value",
    "ins.bin": "Range",
    "ins.group_by": "Table by",
    "ins.metric": "Metric",
    "ins.predicted": "Predicted",
    "ins.other": "(other)",
    "ins.n_calls": "Calls in the period",
    "ins.n_previous": "Calls in the previous period",
    "ins.n_low": "Answered below {below} confidence",
    "ins.n_undated": "Calls without a date (not counted)",
    "ins.n_speakers": "Speakers from {source}",
    "ins.rising": "Rising",
    "ins.falling": "Falling",
    "ins.summary": "**{calls}** calls from {start} to {end} (previous period: {previous}) · "
    "unknown {unknown} ({unknown_share} of classified) · below {below} confidence {low} "
    "({low_share}) · label from: {source}",
    "ins.none": "No calls from {start} to {end}.",
    "ins.drill_help": "**The calls behind a number**: click any number in the tables (or select "
    "weeks on the chart); click a call to read it.",
    "ins.drill_title": "**{n} calls**: {what}",
    "ins.drill_more": " (the first {shown} listed)",
    "ins.new": "New",
    "ins.new_change": "new",
    "ins.no_previous": "No calls in the previous period ({start} to {end}): nothing to compare "
    "with, every label is new.",
    "ins.how.upload": "upload time",
    "ins.how.file": "file time",
    "ins.n_dated": "Dated by {how}",
    "ins.dated_note": "**{n} calls** of this period are dated by their {how}: they came without "
    "a date of their own.",
    "ins.undated_note": "**{n} calls have no date** and are in no period (not counted): a `date` "
    "column of an imported table or a transcript's `date` gives them one.",
    "ins.n_timed": "With timings (recordings)",
    "ins.timed_note": "**{timed} of {calls} calls** have timings (recordings): only they are in "
    "these histograms.",
    "ins.metric_plot": "Calls per range of {metric}",
    "ins.missing_meta": "No call of this period has **{field}**. Calls get it from a `{field}` "
    "column of an imported table: `callscope import-labels calls.csv`, `callscope batch "
    "--manifest calls.csv` or `POST /api/imports` (the fields: `INGEST__METADATA_FIELDS`).",
    "ins.dated": "**Date** {date}",
}

ZH: dict[str, str] = {
    "app.title": "CallScope 通话分析",
    "app.subtitle": "检索、提问、分类客服通话，并检查标签质量。",
    "tab.ask": "提问",
    "tab.classify": "分类",
    "tab.calls": "通话",
    "tab.label_quality": "标签质量",
    "tab.status": "状态",
    "tab.topics": "话题发现",
    "tab.insights": "洞察",
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
    "filter.metadata": "元数据、通话指标（agent=Li, longest_silence>=60）",
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
    "col.reasons": "原因",
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
    "classify.candidates": "最可能的标签：",
    "classify.closest": "最接近的标签：",
    "classify.batch_queued": "入库并分类：排队等待中……",
    "classify.batch_running": "入库并分类：已完成 **{done}** / {total} 通……",
    "classify.col.labels": "全部标签",
    "classify.col.share": "投票占比",
    "calls.query": "检索通话",
    "calls.placeholder": "留空：列出通话；输入词语或问题：混合检索",
    "calls.search": "检索",
    "calls.gone": "此通话已不在台账中。",
    # 通话标签页：数量行与元数据筛选框（ui/calls.py）
    "calls.total": "共 **{n}** 个通话，最新的在前",
    "calls.newest": " · 列出最新的 {shown} 个",
    "calls.where": " · 筛选：{filters}",
    "calls.empty": "还没有通话：导入录音或转写文本（分类标签页、`callscope ingest` 或 API）后会"
    "列在这里。",
    "calls.no_match": "没有符合筛选条件（{filters}）的通话。",
    "calls.hits": "“{query}”：来自 **{calls}** 个通话的 **{n}** 段内容",
    "calls.no_hits": "没有找到与“{query}”相关的内容。",
    "calls.filter_unknown": "此框不认识“{item}”。通话字段请写成 名称=值（{fields}），通话指标"
    "请用 >=、<=、> 或 <（{metrics}），例如 agent=Li, longest_silence>=60。标签、说话人和日期"
    "请用各自的输入框。",
    "calls.metric_op": "“{item}”：通话指标要用 >=、<=、> 或 <，例如 {name}>=60。",
    "calls.field_op": "“{item}”：通话字段要用 =，例如 {name}=Li。",
    "calls.filter_bad": "无法识别的筛选条件：{error}",
    # 通话详情（ui/call_view.py）
    "view.hint": "_点击表格中的通话即可阅读、播放录音、分类、修改标签或生成摘要。_",
    "view.classify": "分类",
    "view.classified": "分类结果",
    "view.neighbours": "参与投票的已标注通话：",
    "view.new_label": "此通话的标签",
    "view.relabel": "修改标签…",
    "view.pick_label": "请先选择或输入标签。",
    "view.confirm_text": "**确定修改 {call} 的标签吗？** 标签将变为 {new}（当前：{old}）。"
    "此次修改会记录在该通话的标签历史中。",
    "view.confirm": "确定修改",
    "view.cancel": "取消",
    "view.not_changed": "未作修改。",
    "view.new_label_note": "**{labels}** 是新标签：目前还没有通话使用它。",
    "view.relabeled": "已修改 {call} 的标签：{old} → {new}。",
    "view.unchanged": "{call} 的标签已经是 {label}。",
    "view.undo": "撤销",
    "view.undone": "已撤销：{call} 的标签恢复为 {labels}。",
    "summary.button": "生成摘要",
    "summary.title": "通话摘要",
    "summary.reason": "来电原因",
    "summary.outcome": "处理结果",
    "summary.follow_ups": "承诺的后续事项",
    "summary.none": "无承诺事项",
    "summary.uncited": "未引用任何轮次",
    "summary.dropped": "引用了模型未看到的轮次，已丢弃",
    "summary.skipped": "未生成摘要",
    "summary.no_llm": "未配置大模型（请将 LLM__BASE_URL 和 LLM__MODEL 设为任一兼容 OpenAI 的接口）",
    "summary.redacted": "发送前已脱敏",
    "summary.pick_first": "请先打开一通通话（点击表格中的一行）。",
    "metrics.speakers": "说话人",
    "metrics.speakers.channels": "按声道区分",
    "metrics.speakers.voices": "按声音区分",
    "metrics.speakers.uncertain": "不确定（声音无法区分）",
    "metrics.speakers.mono": "单声道单一说话人",
    "metrics.speakers.transcript": "按转写文本",
    "metrics.agent_talk_share": "坐席说话占比",
    "metrics.customer_talk_share": "客户说话占比",
    "metrics.silence_share": "静默占比",
    "metrics.longest_silence": "最长静默",
    "metrics.overtalk_seconds": "抢话时长",
    "metrics.interruptions": "打断次数",
    "metrics.agent_wpm": "坐席语速（词/分）",
    "metrics.customer_wpm": "客户语速（词/分）",
    "metrics.turns": "轮次",
    "metrics.duration": "时长",
    "lq.start": "开始标签质量检查",
    "lq.runs": "检查记录",
    "lq.suspects": "疑似标错的通话",
    "lq.call": "已选通话",
    "lq.progress": "任务 `{id}`：{state} {done}{total} {message}",
    "lq.done": "检查 {run} 已完成。",
    "lq.failed": "检查未完成（{state}）：{error}",
    "lq.summary": "**检查 {run}** · 健康度 **{health}** · {n} 个通话中 {flagged} 个被标记",
    "lq.no_runs": "还没有标签质量检查：请开始一次。",
    "lq.no_suspects": "本次检查没有疑似标错的通话。",
    "lq.files_gone": "本次检查的文件已不在磁盘上。",
    # 标签质量：复核单个可疑通话（ui/label_review.py）、进度、原因
    "col.given_labels": "原标签",
    "col.suggestion": "建议修改",
    "col.current_labels": "当前标签",
    "lq.running": "任务 `{id}`：{percent}% · {stage}",
    "lq.run_choice": "#{run} · {at} · 健康度 {health} · 标记 {flagged}/{n}",
    "lq.queued": "任务 `{id}`：正在等待任务队列……",
    "lq.stage.index": "正在索引标注文件",
    "lq.stage.read": "正在读取已标注的通话",
    "lq.stage.duplicates": "正在查找近似重复和离群的通话",
    "lq.stage.knn": "正在与最相近的已标注通话比对",
    "lq.stage.model": "正在用轻量模型交叉验证",
    "lq.stage.llm": "大模型正在复核最可疑的通话",
    "lq.stage.reports": "正在生成报告",
    "lq.reason.other_label_confident": "另一个标签更符合",
    "lq.reason.unsupported_label": "通话内容不支持其中一个标签",
    "lq.reason.low_self_confidence": "几乎没有支持该标签的证据",
    "lq.reason.near_duplicate_conflict": "一个几乎相同的通话标签不同（{calls}）",
    "lq.reason.outlier": "与同标签的其他通话差别很大",
    "lq.reason.singleton_label": "是该标签唯一的通话",
    "lq.reason.small_label": "该标签的通话太少，无法检查",
    "lq.reason.unreadable": "无法读取",
    "lq.change.replace": "将 {old} 改为 {new}",
    "lq.change.add": "添加 {new}",
    "lq.change.remove": "移除 {old}",
    "lq.change.none": "保留原标签",
    "lq.list_sep": "、",
    "lq.none": "无",
    "lq.pick_hint": "在表格中选择一个可疑通话，即可在此阅读通话内容。",
    "lq.call_head": "### {call}\n\n**当前标签：** {labels}",
    "lq.history": "**标签修改记录**",
    "lq.history_line": "- #{id} · {at} · {old} → {new} · {source}",
    "lq.suggestion": "建议修改",
    "lq.accept_change": "采纳建议修改…",
    "lq.edit": "通话的标签（主标签在前；输入新标签即可新建）",
    "lq.save": "保存这些标签…",
    "lq.undo": "撤销上一次标签修改",
    "lq.confirm_title": "**请确认对 {call} 的修改：{change}。**",
    "lq.confirm_detail": "当前标签：{old} → 修改后：{new}",
    "lq.confirm_new": "⚠ 还没有任何通话使用标签 {labels}：确认后将新建该标签。",
    "lq.confirm": "确认修改",
    "lq.cancel": "取消",
    "lq.cancelled": "未做任何修改。",
    "lq.changed": "已修改 {call}：{change}（{old} → {new}）。点击**撤销**可恢复。",
    "lq.undone": "已撤销 {call} 的修改：标签恢复为 {labels}。",
    "lq.nothing_to_undo": "{call} 没有可撤销的标签修改。",
    "lq.no_change": "{call} 已经是这些标签，无需修改。",
    "lq.no_suggestion": "本次检查对 {call} 没有修改建议。",
    "lq.changed_since": "{call} 的标签已经改变（当前：{labels}），未做任何修改；请重新查看该通话。",
    "lq.refused": "未修改：{reason}",
    "topics.discover": "发现话题",
    "topics.runs": "发现记录",
    "topics.table": "无标签（或分类为未知）通话中的话题",
    "topics.topic": "话题",
    "topics.calls": "通话（离话题中心最近的在前）",
    "topics.more": "……另有 {n} 通通话（`callscope topics show N` 可列出全部）。",
    "topics.star": "★ 代表性通话（离话题中心最近）。",
    "topics.new_label": "为该话题的通话设定新标签",
    "topics.exclude": "排除（通话 ID，用逗号分隔）",
    "topics.apply": "设为标签",
    "topics.summary": "**{run} 的发现** · {pool} 通无标签或分类为未知的通话 · "
    "{clustered} 通归入 {n} 个话题，{none} 通未归类 · {seconds} 秒",
    "topics.run_choice": "{when} · {n} 个话题 · {pool} 通中的 {clustered} 通",
    "topics.no_topics": "没有发现话题：通话太少或彼此差别太大，无法归组。此记录不会保留在列表中。",
    "topics.confirm_question": "将话题 {topic} 的 **{n}** 通通话设定标签 **{label}**？"
    "它们将成为该标签的已标注示例（历史记录保留这次修改）。确认之前不会做任何修改。",
    "topics.nothing_to_label": "话题 {topic} 中没有需要修改的通话。",
    "topics.confirm": "确认设为标签",
    "topics.cancel": "取消",
    "topics.cancelled": "已取消：没有通话被设定标签。",
    "topics.no_runs": "还没有话题发现：请点击 **发现话题**。",
    "topics.empty_pool": "所有通话都有标签，且没有被分类为未知的通话：没有可发现的话题。",
    "topics.no_llm": "_未配置大模型：话题仅以其特征词命名。_",
    "topics.pick_first": "请先在表格中选择一个话题。",
    "topics.labeled": "已为话题 {topic} 的 {n} 通通话设定标签 **{label}**：它们现在是已标注示例"
    "（保留历史记录）。",
    "topics.existing": "（该标签已存在：这些通话已并入。）",
    "col.topic_calls": "通话数",
    "col.topic_name": "名称",
    "col.terms": "特征词",
    "col.suggested_label": "建议标签",
    "jobs.unavailable": "本进程中的任务队列未运行。",
    "status.refresh": "刷新",
    "status.calls_title": "通话",
    "status.no_calls": "还没有通话：请先导入录音或转写文本。",
    "status.ready": "**{n}** 个通话可以检索、提问和分类",
    "status.turns": "可检索的对话片段（说话轮次）共 {n} 段",
    "status.waiting": "**{n}** 个通话正在处理中",
    "status.failed": "**{n}** 个通话无法读取，前几个原因：",
    "status.store_error": "通话索引无法读取",
    "status.llm_title": "文字回答（大模型）",
    "status.updated": "更新于 {at}",
    "status.technical": "技术详情",
    "status.speech": "语音识别",
    "status.embedding": "文本向量模型",
    "status.store": "向量库",
    "status.collection_line": "- 集合 `{name}`：{points} 个话轮点、{calls} 个通话点，模型 "
    "`{model}`，向量维度 {dim}",
    "status.state_dir": "状态目录",
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
    # 洞察（ui/insights.py、ui/insights_tables.py）
    "ins.help": "选择时间段和筛选条件，然后点击**显示**（不填日期：截至最新通话的 12 周；通话晚于此"
    "开始时，从第一个通话所在的周开始）。所有数字"
    "都由向量库计数；点击任一数字即可列出对应的通话。",
    "ins.metric_filter": "指标筛选（longest_silence>=60、duration<300）",
    "ins.source": "标签来源",
    "ins.source_info": "both：优先人工标签，否则用预测",
    "ins.low": "低置信度阈值",
    "ins.run": "显示",
    "ins.export": "导出 XLSX",
    "ins.workbook": "工作簿",
    "ins.weekly": "每周各标签通话数",
    "ins.week": "周",
    "ins.calls": "通话数",
    "ins.share": "占比",
    "ins.previous": "上一周期",
    "ins.change": "变化",
    "ins.unknown": "未知",
    "ins.low_confidence": "低置信度",
    "ins.unassigned": "无标签",
    "ins.classified": "已分类",
    "ins.measure": "指标",
    "ins.value": "取值",
    "ins.bin": "区间",
    "ins.group_by": "分组字段",
    "ins.metric": "通话指标",
    "ins.predicted": "预测",
    "ins.other": "（其他）",
    "ins.n_calls": "本周期通话数",
    "ins.n_previous": "上一周期通话数",
    "ins.n_low": "置信度低于 {below} 的回答",
    "ins.n_undated": "无日期的通话（未计入）",
    "ins.n_speakers": "说话人来源：{source}",
    "ins.rising": "上升",
    "ins.falling": "下降",
    "ins.summary": "{start} 至 {end} 共 **{calls}** 个通话（上一周期：{previous}）· 未知 {unknown}"
    "（占已分类的 {unknown_share}）· 置信度低于 {below} 的 {low} 个（{low_share}）· 标签来源："
    "{source}",
    "ins.none": "{start} 至 {end} 没有通话。",
    "ins.drill_help": "**数字背后的通话**：点击表格中的任一数字（或在图上选择若干周）；点击通话即可"
    "阅读。",
    "ins.drill_title": "**{n} 个通话**：{what}",
    "ins.drill_more": "（列出前 {shown} 个）",
    "ins.new": "新出现",
    "ins.new_change": "新出现",
    "ins.no_previous": "上一周期（{start} 至 {end}）没有通话，无从比较：所有标签都是新出现的。",
    "ins.how.upload": "上传时间",
    "ins.how.file": "文件时间",
    "ins.n_dated": "按{how}定日期",
    "ins.dated_note": "本周期有 **{n} 个通话**按{how}定日期：它们导入时没有自己的日期。",
    "ins.undated_note": "**{n} 个通话没有日期**，不属于任何周期（未计入）：导入表格的 `date` 列或"
    "转写文件中的 `date` 可以为其提供日期。",
    "ins.n_timed": "有时间信息的通话（录音）",
    "ins.timed_note": "**{calls} 个通话中有 {timed} 个**带时间信息（录音）：直方图只包含这些通话。",
    "ins.metric_plot": "{metric} 各区间的通话数",
    "ins.missing_meta": "本周期没有任何通话带有 **{field}**。通话的 {field} 来自导入表格中名为 "
    "`{field}` 的列：`callscope import-labels calls.csv`、`callscope batch --manifest calls.csv`"
    " 或 `POST /api/imports`（可用字段见 `INGEST__METADATA_FIELDS`）。",
    "ins.dated": "**日期** {date}",
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
