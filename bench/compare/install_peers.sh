#!/bin/sh
# install_peers.sh — make sure the peers of `make compare` are installed:
# Debian's influxdb (influxd), victoria-metrics, prometheus (prometheus and
# promtool) and sqlite3.  Does nothing when all are present.  Otherwise
# installs the missing packages with apt-get (as root, or through sudo),
# with a temporary policy-rc.d that stops the packages from starting their
# system services (which would listen on every interface), and disables the
# units afterwards where systemd runs.  The benchmark starts its own
# servers on 127.0.0.1 only.
set -eu
missing=""
command -v influxd >/dev/null 2>&1 || missing="$missing influxdb"
command -v victoria-metrics >/dev/null 2>&1 || missing="$missing victoria-metrics"
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing="$missing prometheus"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
[ -n "$missing" ] || exit 0

echo "install_peers.sh: installing$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install_peers.sh: need root or sudo to install:$missing" >&2
        exit 1
    }
    SUDO=sudo
fi
added=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    added=1
fi
# (an if, not `[ ] &&`: a false test as the trap's last command would be
# the script's exit status, and `make compare` would stop after installing)
cleanup() {
    if [ "$added" = 1 ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
    fi
}
trap cleanup EXIT
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
if [ -d /run/systemd/system ]; then
    for unit in influxdb victoria-metrics prometheus; do
        $SUDO systemctl disable --now "$unit" 2>/dev/null || true
    done
fi
