#!/usr/bin/env bash
# Do igx's certificates hold? On saturated BERT-architecture models (Hugging Face's layout,
# random weights, scaled layers; bench/certificates/make_models.py), runs igx explain with its
# error-controlled strategies and with fixed right-Riemann and Gauss-Legendre steps, then checks
# every result in Python against F and fine reference attributions recomputed from the exported
# model (bench/certificates/check.py), and prints the table of docs/step-count.md: certified
# fraction, wrong certificates (completeness and vector), fraction within the tolerances, mean
# evaluations.
#
# Usage: bench/run_certificates.sh [build-dir]           builds the models, runs, checks, prints
#        bench/run_certificates.sh --table-only [out-dir] prints the table of a finished run
#
# Settings (environment): OUT=out/bench-certificates, EXAMPLES=10 per model, TOKENS=8,
# MODELS=bert-sat16,bert-sat32,bert-sat8, TOLERANCE=0.01, ATTRIBUTION_TOLERANCE=0.05,
# STEPS=50,300,1000 (the fixed rules), THREADS=0 (igx; all cores), OUTPUT=prob, TARGET=1.
set -euo pipefail

out=${OUT:-out/bench-certificates}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
tolerance=${TOLERANCE:-0.01}
attribution_tolerance=${ATTRIBUTION_TOLERANCE:-0.05}
output=${OUTPUT:-prob}
target=${TARGET:-1}

if [ "${1:-}" = "--table-only" ]; then
  out=${2:-$out}
else
  build=${1:-build}
  mkdir -p "$out"
  "$python" "$here/certificates/make_models.py" "$out" --examples "${EXAMPLES:-10}" --tokens "${TOKENS:-8}" \
    --models "${MODELS:-bert-sat16,bert-sat32,bert-sat8}"
  : > "$out/checks.jsonl"
  for dir in "$out"/bert-*/; do
    dir=${dir%/}
    runs="["
    explain() {  # label, flags...
      local label=$1; shift
      echo "bench: $(basename "$dir") $label" >&2
      /usr/bin/time -f "%e" -o "$dir/$label.seconds" "$build/igx" explain --model "$dir/model.pt" \
        --input "$dir/inputs.npy" --output "$output" --target "$target" --baseline zero \
        --threads "${THREADS:-0}" --out "$dir/$label.json" --npy "$dir/$label.npy" --force "$@" \
        > "$dir/$label.log" 2>&1
      runs+="{\"label\": \"$label\", \"json\": \"$dir/$label.json\", \"npy\": \"$dir/$label.npy\"},"
    }
    explain adaptive --tolerance "$tolerance" --attribution-tolerance "$attribution_tolerance"
    explain adaptive-panels --certify panels --tolerance "$tolerance" --attribution-tolerance "$attribution_tolerance"
    explain doubling --strategy doubling --tolerance "$tolerance" --attribution-tolerance "$attribution_tolerance"
    explain adaptive-completeness-only --certify panels --tolerance "$tolerance" --attribution-tolerance 0 \
      --scan-points 0
    IFS=, read -r -a steps <<< "${STEPS:-50,300,1000}"
    for n in "${steps[@]}"; do
      explain "riemann_right-$n" --method riemann_right --steps "$n"
      explain "gausslegendre-$n" --method gausslegendre --steps "$n"
    done
    echo "${runs%,}]" > "$dir/runs.json"
    "$python" "$here/certificates/check.py" "$dir" --runs "$dir/runs.json" --output "$output" --target "$target" \
      --tolerance "$tolerance" --attribution-tolerance "$attribution_tolerance" >> "$out/checks.jsonl"
  done
fi

"$python" "$here/certificates/table.py" "$out/checks.jsonl" --tolerance "$tolerance" \
  --attribution-tolerance "$attribution_tolerance"
