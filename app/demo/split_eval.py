"""Write the demo corpus's train and test splits as text-only JSONL for `callscope eval classify`.

    python app/demo/split_eval.py OUT_DIR

The recordings' rows keep their scripted turns (the `audio` key is dropped), so the evaluation
measures classification alone, not transcription.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in (HERE / "calls.jsonl").read_text("utf-8").splitlines()]
    for split in ("train", "test"):
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            for row in rows:
                if row["split"] == split:
                    row = {k: v for k, v in row.items() if k != "audio"}
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".callscope/demo-eval"))
