# The web and worker image: slim Python 3.11, non-root, static files collected and served by
# servestatic (nginx in docker-compose can serve them too). Only the shipped code is copied:
# the apps, their shared plumbing and the project; never tests/ or bench/ (dev/test tooling).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install --require-hashes -r requirements.txt  # the hash-pinned lock (make lock)

RUN groupadd --system app && useradd --system --gid app --home /app --shell /usr/sbin/nologin app
COPY --chown=app:app manage.py ./
COPY --chown=app:app project ./project
COPY --chown=app:app mpesa_plumbing ./mpesa_plumbing
COPY --chown=app:app payments ./payments
COPY --chown=app:app simulator ./simulator
COPY --chown=app:app frontend ./frontend

# The Kiswahili (and any other) catalogues compiled from the committed .po files: gettext's
# msgfmt, for this step only.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gettext \
    && DJANGO_DEBUG=true DJANGO_READ_DOT_ENV=false python manage.py compilemessages -v 0 \
    && apt-get purge -y -qq gettext && apt-get autoremove -y -qq && rm -rf /var/lib/apt/lists/*

# collectstatic needs settings that import without secrets: the development profile is fine
# for this one build step (nothing runs with it).
RUN DJANGO_DEBUG=true DJANGO_READ_DOT_ENV=false python manage.py collectstatic --noinput -v 0

USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,sys,urllib.request as u; h=os.environ.get('DJANGO_ALLOWED_HOSTS','127.0.0.1').split(',')[0]; sys.exit(u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=2).status != 200)"

# -v 0: Daphne's access log prints raw paths (callback tokens); the app logs a redacted one.
# No --proxy-headers: the app reads X-Forwarded-For itself, trusting TRUSTED_PROXY_COUNT hops.
# backlog=1024: a burst of callbacks queues in the kernel (Twisted defaults to 50).
CMD ["daphne", "-v", "0", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=1024", "project.asgi:application"]
