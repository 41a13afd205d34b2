#!/usr/bin/env bash
# One command from a fresh clone to creatives: installs into .venv, then runs both example briefs
# through the pipeline on the embedded defaults (local storage, SQLite instance, offline providers).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/var/dagster_home}"
out="${CREATIVE_ASSETS_ROOT:-$ROOT/var/storage}"
# Content Credentials: a local TEST CA (kept if it exists) so every final is C2PA-signed and marked
# test-signed; production configures a CA-issued certificate instead (README "Content Credentials").
.venv/bin/creative-assets credentials init
.venv/bin/creative-assets run examples/summer-splash-2026/brief.yaml examples/trail-ready-2026/brief.yaml --out "$out"
echo
echo "Open the creatives in $out/campaigns/ (selected_creative/ holds the pick per unit, final_creatives/ every"
echo "  candidate; selected_creative/export/ the pick's platform files (JPEG/WebP within each placement's byte budget);"
echo "  selected_creative/motion/ the pick's videos for the placements that play motion, motion_creatives/ all of them)."
echo "See the graph and lineage: .venv/bin/creative-assets ui  (= DAGSTER_HOME=$DAGSTER_HOME .venv/bin/dagster dev -m creative_assets.definitions)"
echo "Inspect a final's Content Credential: .venv/bin/creative-assets credentials show $out/campaigns/<campaign>/<locale>/<product>/selected_creative/1x1.png"
echo "Review them (approve, or request changes): .venv/bin/creative-assets review  -> http://127.0.0.1:8081"
echo "  (its first start creates the account admin and prints a one-time password, once)"
