# The ninepic-pipeline code location: a gRPC server that the Dagster webserver and daemon (or the
# Helm chart's user deployment) load `ninepic_pipeline.definitions` from. Versions are pinned by
# constraints.txt, so the image built today and next month hold the same packages.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # Freed Arrow memory goes back to the system between runs (a million-photo gallery otherwise
    # keeps its peak for the life of the process).
    ARROW_DEFAULT_MEMORY_POOL=system \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/dagster/app
COPY constraints.txt pyproject.toml README.md workspace.yaml ./
COPY ninepic_pipeline ./ninepic_pipeline
RUN pip install --no-cache-dir -c constraints.txt '.[production]' \
    && mkdir -p "$DAGSTER_HOME" \
    && useradd --uid 10001 --no-create-home dagster \
    && chown dagster "$DAGSTER_HOME"
USER dagster

EXPOSE 3030
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "ninepic_pipeline.definitions"]
