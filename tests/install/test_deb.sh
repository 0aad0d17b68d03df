#!/usr/bin/env bash
# Builds the Debian package with CPack, checks that it depends on Debian's LibTorch, unpacks it
# into a scratch root (dpkg -x: no root rights, the machine is left alone) and runs the packaged
# igx explain from an unrelated folder. Usage: test_deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/igx-deb-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

(cd "$build" && cpack -G DEB -B "$scratch/package" >"$scratch/cpack.log" 2>&1) || { cat "$scratch/cpack.log"; exit 1; }
deb=$(ls "$scratch"/package/igx_*_amd64.deb)
depends=$(dpkg-deb -f "$deb" Depends)
case $depends in
  *libtorch1.13*) ;;
  *) echo "$deb does not depend on libtorch1.13: Depends: $depends"; exit 1 ;;
esac
dpkg-deb -c "$deb" >"$scratch/contents"
grep -q "./usr/share/igx/models/spam-transformer/model.pt" "$scratch/contents"
dpkg-deb -x "$deb" "$scratch/root"

mkdir "$scratch/elsewhere"
cd "$scratch/elsewhere"
"$scratch/root/usr/bin/igx" explain "Congratulations! You have WON a free cruise" --steps 8 --out-dir out \
  --no-color >/dev/null
[ -f out/explanation.json ]
# The packaged models come first after $IGX_MODEL_PATH: the package's share/igx/models.
message=$(env -u IGX_MODEL_PATH "$scratch/root/usr/bin/igx" explain "text" --model no-such-model 2>&1 || true)
case $message in
  *"found in $scratch/root/usr/share/igx/models"*) ;;
  *) echo "the packaged igx does not search its own models first: $message"; exit 1 ;;
esac
echo "deb test: $(basename "$deb") (Depends: $depends) runs igx explain from an unrelated folder"
