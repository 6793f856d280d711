#!/usr/bin/env bash
# Refresh every zh_Hans catalogue from the source and fill the empty entries from the
# scripts/zh_hans_*.json tables (msgid -> Chinese), then compile. One run at a time (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/cunyi-i18n.lock
flock 9
APPS="core clinics clinics/settlements staffing staffing/rosters staffing/payroll telemedicine notifications operations dashboard config"
table=$(mktemp --suffix=.json)
trap 'rm -f "$table"' EXIT
.venv/bin/python - "$table" scripts/zh_hans_*.json <<'PY'
import json, sys
merged = {}
for path in sys.argv[2:]:
    merged.update(json.load(open(path, encoding="utf-8")))
json.dump(merged, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PY
make -s messages >/dev/null
for app in $APPS; do
  .venv/bin/python scripts/fill_po.py "$app" "$table" | sed "s|^|$app: |" || true
  sed -i '/^#| /d' "$app/locale/zh_Hans/LC_MESSAGES/django.po"
  (cd "$app" && ../$( [ "${app#*/}" != "$app" ] && echo ../ ).venv/bin/django-admin compilemessages >/dev/null)
done
