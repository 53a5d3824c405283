# Collections Dialer service image: migrations, then `dialer serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DIALER_HOST=0.0.0.0 \
    DIALER_PORT=8000 \
    DIALER_DATA_DIR=/var/lib/dialer \
    DIALER_DATABASE_URL=sqlite+aiosqlite:////var/lib/dialer/dialer.db \
    DIALER_MIGRATIONS_DIR=/app/alembic

# The whisper's voice on the SIP path (espeak-ng, resampled by sox); Kamailio and the media
# processes run beside the service (`dialer sip-edge`, `dialer sip-media`), in this image or another.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox kamailio kamailio-postgres-modules kamailio-sqlite-modules \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY dialer ./dialer
COPY webhooks ./webhooks
COPY scheduling ./scheduling
COPY recordings ./recordings
COPY alembic ./alembic
RUN pip install . \
 && groupadd --system dialer \
 && useradd --system --gid dialer --home-dir /var/lib/dialer --create-home dialer

USER dialer
EXPOSE 8000
VOLUME ["/var/lib/dialer"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DIALER_PORT', '8000'), timeout=2)"

# Migrations run first (and fail the start if they fail), then the server.
CMD ["sh", "-c", "dialer migrate && exec dialer serve"]
