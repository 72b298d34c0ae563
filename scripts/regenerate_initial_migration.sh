#!/usr/bin/env bash
# Regenerate migrations/versions/0001_initial_schema.py from the models.
# Only valid while nothing has been deployed: once a release exists, add new revisions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_initial_schema.py
INSTANCE_PATH="$tmp" INCIDENT_ENV=testing .venv/bin/python - <<'PY'
from alembic import command
from incident_service import create_app
from incident_service.cli import alembic_config

app = create_app()
with app.app_context():
    command.revision(alembic_config(), message="initial schema", autogenerate=True, rev_id="0001")
PY
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py
echo "regenerated migrations/versions/0001_initial_schema.py"
