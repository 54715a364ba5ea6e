#!/usr/bin/env bash
# Nightly backup: dump each database, compress it, keep the last 14 days.
set -euo pipefail

BACKUP_DIR=${BACKUP_DIR:-/var/backups/pg}
KEEP_DAYS=${KEEP_DAYS:-14}
STAMP=$(date +%Y%m%d-%H%M%S)

mkdir -p "$BACKUP_DIR"

for db in $(psql -At -c "SELECT datname FROM pg_database WHERE NOT datistemplate"); do
    out="$BACKUP_DIR/${db}-${STAMP}.sql.gz"
    echo "dumping $db -> $out"
    if ! pg_dump --no-owner "$db" | gzip -9 > "$out.tmp"; then
        echo "backup of $db failed" >&2
        rm -f "$out.tmp"
        exit 1
    fi
    mv "$out.tmp" "$out"
done

find "$BACKUP_DIR" -name '*.sql.gz' -mtime +"$KEEP_DAYS" -print -delete
echo "done: $(ls "$BACKUP_DIR" | wc -l) files kept"
