FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CUNYI_ENV=production CUNYI_VAR_DIR=/srv/var
# CJK fonts so payslip PDFs show Chinese characters, not boxes; the PostgreSQL 15 client for the
# nightly pg_dump backup and manage.py restore_database.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
COPY requirements.in constraints.txt ./
RUN pip install --no-cache-dir -r requirements.in -c constraints.txt
# .dockerignore keeps .git, var/, virtualenvs, local databases and .env files out of this copy.
COPY . .
RUN SECRET_KEY=build-only CUNYI_HASH_KEY=build-only python manage.py collectstatic --no-input -v 0
RUN useradd --system --home /srv cunyi && mkdir -p /srv/var /srv/backups && chown -R cunyi /srv/var /srv/backups \
    && chmod 700 /srv/backups
USER cunyi
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
