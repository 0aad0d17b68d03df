#!/usr/bin/env bash
# Installs the built igx into a scratch prefix, then builds a consumer project against that tree
# with CMake (find_package(igx CONFIG) -> igx::igx) and with pkg-config, and runs both and the
# installed CLI from an unrelated folder. Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/igx-install-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for file in bin/igx include/igx/igx.h share/igx/models/spam-transformer/model.pt \
            share/igx/models/mnist-cnn/igx.json share/igx/scripts/export_bundle.py; do
  [ -e "$prefix/$file" ] || { echo "install lacks $file"; exit 1; }
done
config=$(find "$prefix" -name igxConfig.cmake)
pc=$(find "$prefix" -name igx.pc)
[ -n "$config" ] && [ -n "$pc" ] || { echo "install lacks igxConfig.cmake or igx.pc"; exit 1; }

mkdir "$scratch/elsewhere"
cd "$scratch/elsewhere"

# The installed CLI finds the installed models beside its bin/.
"$prefix/bin/igx" explain "win a free cruise now" --steps 8 --out-dir out --no-color >/dev/null
[ -f out/explanation.json ]
message=$(env -u IGX_MODEL_PATH "$prefix/bin/igx" explain "text" --model no-such-model 2>&1 || true)
case $message in
  *"$prefix/share/igx/models"*) ;;
  *) echo "the lookup error does not list the installed models folder: $message"; exit 1 ;;
esac

# CMake: a library user points find_package at the install and IGX_MODEL_PATH at its models
# (a relocated install: the library was configured for another prefix).
cmake -S "$source/tests/install/consumer" -B "$scratch/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/consumer" >/dev/null
IGX_MODEL_PATH="$prefix/share/igx/models" "$scratch/consumer/consumer"

# pkg-config.
PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --exists igx
read -r -a flags <<<"$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs igx)"
c++ -O1 "$source/tests/install/consumer/pkgconfig_main.cpp" "${flags[@]}" -o pkgconfig_consumer
IGX_MODEL_PATH="$prefix/share/igx/models" ./pkgconfig_consumer
echo "install test: CLI, CMake consumer and pkg-config consumer work from $prefix"
