# CallScope application image (CPU). Build context: the repository root.
FROM python:3.11-slim
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
# CPU torch first so FlagEmbedding does not pull a CUDA build: pass the PyTorch CPU wheel
# index as TORCH_PIP_ARGS="--index-url <cpu index>" where the default index has CUDA builds.
ARG TORCH_PIP_ARGS=""
# resemblyzer (the voice encoder of mono diarization) depends on webrtcvad, published as source
# only: it needs a C compiler to install.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir torch==2.13.0 ${TORCH_PIP_ARGS}
COPY pyproject.toml README.md ./
COPY app ./app
COPY ingest ./ingest
COPY retrieval ./retrieval
COPY ui ./ui
COPY eval ./eval
# EXTRAS=ray builds the image the Ray cluster of deploy/two-servers runs.
ARG EXTRAS=""
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"
ENTRYPOINT []
CMD ["callscope", "status"]
