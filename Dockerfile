# The collector image: Python app plus the browser clients it serves (clarity-js from npm).
FROM node:20-bookworm-slim AS npm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/build_beacon.mjs scripts/
COPY collector/static collector/static
RUN node scripts/build_beacon.mjs

FROM python:3.11-slim-bookworm
WORKDIR /app
# PYTHONPATH: the code runs from /app, beside node_modules (clarity-js, uPlot, clarity-visualize it serves)
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    COLLECTOR_HOST=0.0.0.0 COLLECTOR_PORT=8000 COLLECTOR_DATA_DIR=/data
COPY pyproject.toml README.md ./
COPY collector ./collector
COPY ingest_schema ./ingest_schema
COPY dashboards ./dashboards
COPY retention ./retention
RUN pip install --no-cache-dir . && useradd --system --uid 10001 collector && mkdir -p /data \
    && chown collector /data
COPY --from=npm /app/node_modules ./node_modules
COPY --from=npm /app/collector/static/dist ./collector/static/dist
USER collector
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["python", "-m", "collector"]
