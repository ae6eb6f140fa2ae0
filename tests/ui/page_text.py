"""What a page says, for tests of its language: every piece of text the page shows (its visible
text, what its live regions read aloud, the placeholders of its empty boxes, the values of its
dropdowns and read-only boxes), each with where it is, and the English words left in a piece
once the data values in it are taken out.

Data values are whatever the calls bring and the page only passes on: call ids, labels, the
words of transcripts, file names, URLs, the cells of table columns that hold such values, and
what is written as code (commands, settings, model ids, filter syntax). Everything else is the
interface and must be in the page's language."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Collects the pieces: each text node whose element is shown (a tab not selected is not), and
#: the boxes' placeholders and page-written values. Text inside code (a code editor too), a text
#: area or the user's own chat messages (what the user typed) and a file offered for download
#: (its name and size) is the user's or the machine's, not the interface's. A table cell says the
#: header of its column, so that data columns can be left out.
_COLLECT = r"""
() => {
  const out = [];
  const shown = (el) =>
    el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) &&
    el.getClientRects().length > 0;
  const SKIP = 'script, style, noscript, code, pre, kbd, textarea, [data-testid="user"], ' +
               '.file-preview-holder, .cm-editor';
  const where = (el) => (el.closest('[id]') || {}).id || '';
  const column = (el) => {
    const cell = el.closest('[role=gridcell]');
    const grid = cell && cell.closest('[role=grid]');
    if (!grid) return null;
    const index = cell.getAttribute('aria-colindex');
    const head = grid.querySelector(`[role=columnheader][aria-colindex="${index}"]`);
    return head ? (head.getAttribute('title') || head.innerText).trim() : '';
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!el || !text || el.closest(SKIP) || !shown(el)) continue;
    const kind = el.closest('.toast-title') ? 'toast-title' : 'text';
    out.push({text, kind, column: column(el), where: where(el)});
  }
  for (const box of document.querySelectorAll('input, textarea')) {
    if (!shown(box) || !['text', 'search', 'textarea', ''].includes(box.type || '')) continue;
    if (!box.value) {
      if (box.placeholder) out.push({text: box.placeholder, kind: 'placeholder', column: null,
                                     where: where(box)});
    } else if (box.readOnly || box.disabled || box.getAttribute('role') === 'combobox') {
      // Written by the page (an output box, a dropdown's choice), not typed by the user.
      out.push({text: box.value, kind: 'value', column: null, where: where(box)});
    }
  }
  return out;
}
"""


@dataclass(frozen=True)
class Piece:
    """One piece of text on the page."""

    text: str
    #: ``text``, ``placeholder``, ``value`` (of a dropdown or read-only box) or ``toast-title``.
    kind: str
    #: The header of the table column the piece is in (None outside tables).
    column: str | None
    #: The id of the nearest element with one.
    where: str


def pieces(page: Any) -> list[Piece]:
    """Every piece of text ``page`` shows now."""
    return [Piece(**p) for p in page.evaluate(_COLLECT)]


#: Written the same in a Chinese interface: product and technical names, formats, measures.
ALLOWED = frozenset(
    {"CallScope", "Qdrant", "BM25", "LLM", "API", "CSV", "XLSX", "MiniLM", "e5", "whisper"}
    | {"OpenAI", "ID", "IP", "F1", "YAML"}
    # A number the user gives ("前 N 秒"), written so in Chinese too.
    | {"N"}
)
#: Data that is not in the calls but that the page shows as it is: links, file names, paths,
#: setting names (``LLM__MODEL``) and filter syntax (``agent=Li``, ``longest_silence>=60``).
_MACHINE = re.compile(
    r"https?://\S+"
    r"|[\w.-]+\.(?:wav|flac|mp3|m4a|ogg|txt|csv|tsv|xlsx|jsonl|json|png)\b"
    r"|(?:/[\w.-]+){2,}/?"
    r"|\b[A-Z][A-Z0-9]*__[A-Z0-9_]+\b"
    r"|[\w.]+\s*(?:>=|<=|=|<|>)\s*[\w.:-]*"
    # What a rule looked for, quoted in its evidence (说了“hello”): the rule file's words.
    r"|“[^”]*”"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_'][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class DataValues:
    """What a page may show in English because the calls brought it."""

    #: Call ids, labels and the like, taken out as whole words.
    names: frozenset[str]
    #: The words of the transcripts (each turn's text), taken out as whole runs.
    texts: tuple[str, ...]
    #: Headers of table columns whose cells hold data values.
    columns: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str], texts: Iterable[str], columns: Iterable[str]) -> DataValues:
        runs = {" ".join(x.split()) for x in texts if x.strip()}
        return cls(frozenset(names), tuple(sorted(runs, key=len, reverse=True)), frozenset(columns))

    def english(self, piece: Piece) -> list[str]:
        """The English words of ``piece`` that are neither data nor allowed names."""
        if piece.column is not None and piece.column in self.columns:
            return []
        text = " ".join(piece.text.split())
        if self._in_a_transcript(text):
            return []
        for run in self.texts:
            if run in text:
                text = text.replace(run, " ")
        text = _MACHINE.sub(" ", text)
        return [w for w in _WORD.findall(text) if w not in self.names and w not in ALLOWED]

    def _in_a_transcript(self, text: str) -> bool:
        """A piece of a turn's words (cut at the end or split by the page's formatting): two
        words at least, so that a lone English word never passes as one."""
        core = text.strip(" …:：.()（）[]>-")
        return len(core.split()) >= 2 and any(core in run for run in self.texts)
