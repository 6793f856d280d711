#!/usr/bin/env bash
# Province-scale synthetic register on PostgreSQL: 14,000 clinics, 28,000 doctors, by bulk insert.
# Usage: bench/seed_synthetic.sh [clinics]   (uses a throwaway database cunyi_bench_register)
set -euo pipefail
cd "$(dirname "$0")/.."
clinics=${1:-14000}
db=cunyi_bench_register
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
.venv/bin/python manage.py migrate -v 0 2>/dev/null
.venv/bin/python manage.py seed_synthetic --clinics "$clinics" 2>/dev/null
.venv/bin/python manage.py seed_synthetic --clinics "$clinics" 2>/dev/null   # a second batch on top: same speed
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db"
