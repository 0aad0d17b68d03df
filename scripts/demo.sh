#!/usr/bin/env bash
# Sets everything up on a fresh Debian bookworm, builds igx, and explains a text and a digit
# with the shipped default models. Reports land in igx-out/text/ and igx-out/image/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh igx_cli   # the CLI only: the tests and benchmarks are not needed here
build/igx explain "Congratulations! You have WON a free cruise. Click here to claim your prize now" \
  --out-dir igx-out/text
build/igx explain --image models/mnist-cnn/samples/digit_7_0.png --out-dir igx-out/image
