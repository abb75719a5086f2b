#!/bin/sh
# install-deps.sh — make sure the Debian packages Strata builds against are
# installed; install the missing ones (as root) with apt-get.  Runs an
# `apt-get update` first, once, only when something is missing.  Exits 0 when
# everything is present afterwards.
set -eu
PKGS="gcc make liblz4-dev libxxhash-dev libjemalloc-dev check pkg-config ${EXTRA_PKGS:-}"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "install-deps: run as root (or install:$missing)" >&2; exit 1
    fi
else
    SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
