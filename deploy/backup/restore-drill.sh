#!/usr/bin/env bash
# A restore drill on one machine, as deploy/README.md ("Backups") describes it for production:
# a PostgreSQL 15 cluster with WAL archiving on a free port under a temporary directory (never
# the system's cluster), the app's schema and the demo hospital, a base backup (pg_basebackup, tar,
# verified with pg_verifybackup), more writes, then the cluster is destroyed and restored from the
# base backup and the WAL archive to a point in time between two writes. It checks that the
# restored database has what was committed before that point and nothing after it, and that the
# audit hash chains verify. Run it from the checkout (as root or as a user who may run postgres):
#     bash deploy/backup/restore-drill.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=/usr/lib/postgresql/15/bin
scratch=$(mktemp -d /tmp/bcma-restore-drill-XXXXXX)
chmod 755 "$scratch"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    as_pg "$bin/pg_ctl" -D "$scratch/data" -m immediate stop >/dev/null 2>&1 || true
    as_pg "$bin/pg_ctl" -D "$scratch/restored" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres: "$scratch"
say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
psql_() { as_pg psql -X -q -A -t -h 127.0.0.1 -p "$port" -U postgres "$@"; }

say "a primary with WAL archiving on 127.0.0.1:$port"
as_pg mkdir "$scratch/archive"
as_pg "$bin/initdb" -D "$scratch/data" -U postgres --auth=trust --data-checksums -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$scratch/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$scratch'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $scratch/archive/%f && cp %p $scratch/archive/%f'
CONF
as_pg "$bin/pg_ctl" -D "$scratch/data" -l "$scratch/primary.log" -w start >/dev/null
psql_ -c "CREATE DATABASE bcma"
url="postgres://postgres@127.0.0.1:$port/bcma"

say "the app's schema and the demo hospital"
DATABASE_URL="$url" .venv/bin/python manage.py migrate --noinput -v0
DATABASE_URL="$url" .venv/bin/python manage.py demo_load --quiet-logins >/dev/null
# A dose recorded through the API, so that the restored audit chains have a record to check.
DATABASE_URL="$url" .venv/bin/python manage.py shell -v0 -c '
import base64, pathlib
from django.test import Client
from rest_framework.authtoken.models import Token
from hospital.models import User
art = pathlib.Path("fixtures/barcodes")
image = lambda name: {"image": base64.b64encode((art / name).read_bytes()).decode()}
token = Token.objects.get_or_create(user=User.objects.get(username="dieuduong.hoa"))[0]
body = {"patient": image("wristband-BN2026000101.png"), "medications": [
    image("unit-dose-08936012345001-PCM2611AS001.png"),
    image("unit-dose-08936012345001-PCM2611AS002.png")]}
answer = Client().post("/api/v1/administrations/", body, content_type="application/json",
    HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_IDEMPOTENCY_KEY="drill-1")
assert answer.status_code == 201, answer.content
'
patients=$(psql_ -d bcma -c "SELECT count(*) FROM wards_patient")
records=$(psql_ -d bcma -c "SELECT count(*) FROM scanning_administration")

say "base backup (streamed WAL, SHA-256 manifest), verified"
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$scratch/base" \
    --checkpoint=fast --wal-method=stream --manifest-checksums=SHA256
as_pg "$bin/pg_verifybackup" "$scratch/base" | sed 's/^/    /'

say "writes after the backup: one before the restore point, one after"
psql_ -d bcma -c "CREATE TABLE drill (what text, at timestamptz DEFAULT clock_timestamp())"
psql_ -d bcma -c "INSERT INTO drill (what) VALUES ('before the restore point')"
sleep 1
target=$(psql_ -d bcma -c "SELECT clock_timestamp()")
sleep 1
psql_ -d bcma -c "INSERT INTO drill (what) VALUES ('after the restore point')"
psql_ -d bcma -c "SELECT pg_switch_wal()" >/dev/null
sleep 2  # the archiver copies the switched segment

say "disaster: the primary and its data directory are gone"
as_pg "$bin/pg_ctl" -D "$scratch/data" -m immediate stop >/dev/null
rm -rf "$scratch/data"

say "restore: the base backup, then the archive up to $target"
as_pg cp -a "$scratch/base" "$scratch/restored"
cat >> "$scratch/restored/postgresql.conf" <<CONF
restore_command = 'cp $scratch/archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
as_pg touch "$scratch/restored/recovery.signal"
started=$SECONDS
as_pg "$bin/pg_ctl" -D "$scratch/restored" -l "$scratch/restored.log" -w -t 120 start >/dev/null
for _ in $(seq 60); do [ "$(psql_ -d bcma -c 'SELECT pg_is_in_recovery()')" = f ] && break; sleep 1; done
say "restored and promoted in $((SECONDS - started)) s"

rows=$(psql_ -d bcma -c "SELECT string_agg(what, ', ' ORDER BY at) FROM drill")
restored_patients=$(psql_ -d bcma -c "SELECT count(*) FROM wards_patient")
say "rows in the drill table: $rows"
restored_records=$(psql_ -d bcma -c "SELECT count(*) FROM scanning_administration")
say "patients: $restored_patients, administrations: $restored_records (before the disaster: $patients, $records)"
[ "$records" -gt 0 ] && [ "$restored_records" = "$records" ] || { echo "FAIL: records differ"; exit 1; }
[ "$rows" = "before the restore point" ] || { echo "FAIL: wrong rows restored"; exit 1; }
[ "$restored_patients" = "$patients" ] || { echo "FAIL: patients differ"; exit 1; }
DATABASE_URL="$url" .venv/bin/python manage.py verify_audit
say "PASS: the restore drill"
