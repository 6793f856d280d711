FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CUNYI_ENV=production CUNYI_VAR_DIR=/srv/var
# CJK fonts so payslip PDFs show Chinese characters, not boxes.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
COPY requirements.in constraints.txt ./
RUN pip install --no-cache-dir -r requirements.in -c constraints.txt
COPY . .
RUN SECRET_KEY=build-only CUNYI_HASH_KEY=build-only python manage.py collectstatic --no-input -v 0
RUN useradd --system --home /srv cunyi && mkdir -p /srv/var && chown -R cunyi /srv/var
USER cunyi
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
