"""``POST /api/imports``: import labeled training calls (the ``callscope import-labels`` of the
API) as a background job: a CSV/XLSX/JSONL table, plus the recordings its audio column names."""

from __future__ import annotations

import shutil
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import JSONResponse

from app.api.deps import JobsDep, RuntimeDep, SettingsDep
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.api.uploads import TABLE_TYPES, TABLES, store_uploads
from app.core.names import AUDIO_EXTENSIONS
from app.services import calls

router = APIRouter(prefix="/api", tags=["import"])


@router.post(
    "/imports",
    status_code=202,
    responses={200: {"description": "Done (wait=true)"}, **errors(413, 415)},
)
def import_labeled(
    table: Annotated[UploadFile, File(description="CSV, XLSX or JSONL of labeled calls.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    jobs: JobsDep,
    recordings: Annotated[
        list[UploadFile] | None,
        File(description="Recordings named by the table's audio column (by file name)."),
    ] = None,
    id_col: Annotated[str | None, Form()] = None,
    text_col: Annotated[str | None, Form()] = None,
    audio_col: Annotated[str | None, Form()] = None,
    label_col: Annotated[str | None, Form()] = None,
    label_sep: Annotated[str, Form(min_length=1, max_length=3)] = ";",
    wait: Annotated[bool, Query(description="Import inside the request.")] = False,
) -> Any:
    """Import labeled calls from a table (and its recordings) in a background job."""
    state = runtime.settings.paths.state_dir
    folder = state / "imports" / uuid.uuid4().hex[:16]
    limit = settings.api.max_upload_mb
    [(_, stored_table)] = store_uploads(
        [table], state, folder, limit, TABLES, ok_types=TABLE_TYPES, keep_names=True
    )
    if recordings:
        try:
            store_uploads(recordings, state, folder, limit, AUDIO_EXTENSIONS, keep_names=True)
        except HTTPException:
            shutil.rmtree(folder, ignore_errors=True)  # a refused request keeps nothing
            raise
    columns = {"id": id_col, "text": text_col, "audio": audio_col, "label": label_col}
    params = {
        "table": str(stored_table),
        "table_name": table.filename or stored_table.name,
        "columns": {**{k: v for k, v in columns.items() if v}, "label_sep": label_sep},
    }
    if not wait:
        return job_accepted(jobs.submit("import", params))
    try:
        return JSONResponse(calls.import_table(runtime, params))
    finally:
        calls.discard_import_inputs(runtime, params)
