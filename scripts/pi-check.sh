#!/usr/bin/env bash
# The arm64 check (`make pi-check`, docs/raspberry-pi.md "The arm64 check"): builds a Debian
# arm64 root with debootstrap and qemu-user-static, installs the station into it with
# scripts/install-pi.sh exactly as on a Pi (OS packages, a --system-site-packages venv, the
# `pi` extra under the OS's numpy and PyAV), starts `station serve --hardware sim` inside
# it, and checks /healthz, the kiosk page, one simulated recording (with video) and its C3D
# export. Prints how long each step took. Runs as root on a Debian/Ubuntu amd64 machine;
# the root is cached in .cache/pi-root-SUITE and reused (delete it to start afresh).
#
# Usage: sudo scripts/pi-check.sh
# Environment: PI_CHECK_SUITE (bookworm), PI_CHECK_MIRROR (http://deb.debian.org/debian),
#              PI_CHECK_ROOT (.cache/pi-root-SUITE), PI_CHECK_PORT (18080)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=${PI_CHECK_SUITE:-bookworm}
MIRROR=${PI_CHECK_MIRROR:-http://deb.debian.org/debian}
ROOT=${PI_CHECK_ROOT:-$SRC/.cache/pi-root-$SUITE}
PORT=${PI_CHECK_PORT:-18080}
BASE=http://127.0.0.1:$PORT
readonly CHECKOUT=/home/pi/stance-station   # where the checkout goes inside the root
readonly PREFIX=/opt/stance-station          # as in install-pi.sh
readonly SERVE_LOG=/var/lib/stance-station/pi-check-serve.log

die() {
    echo "pi-check: FAILED: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "run me as root (debootstrap, chroot and mount need it): sudo $0"
[ "$(uname -m)" = x86_64 ] || [ "$(uname -m)" = aarch64 ] || die "unsupported machine $(uname -m)"

# --- timing ----------------------------------------------------------------------------------
T0=$SECONDS
STEP_NAME=""
STEP_START=0
TIMES=()
begin() {
    STEP_NAME=$1
    STEP_START=$SECONDS
    echo
    echo "== $STEP_NAME"
}
end() {
    local took=$((SECONDS - STEP_START))
    TIMES+=("$(printf '%5d s  %s' "$took" "$STEP_NAME")")
    echo "-- $STEP_NAME: ${took} s"
}

# --- mounts and the server are undone on any exit ----------------------------------------------
MOUNTED=()
SERVER_PID=""
cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" || true
    done
    if [ "$rc" -ne 0 ]; then
        echo "pi-check: FAILED in step '$STEP_NAME' after $((SECONDS - T0)) s" >&2
        if [ -f "$ROOT$SERVE_LOG" ]; then
            echo "--- last lines of the station's log ($ROOT$SERVE_LOG):" >&2
            tail -n 40 "$ROOT$SERVE_LOG" >&2
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT

mount_in_root() { # type-or-bind source target
    local target=$ROOT$3
    mkdir -p "$target"
    if mountpoint -q "$target"; then return 0; fi
    if [ "$1" = bind ]; then mount --bind "$2" "$target"; else mount -t "$1" "$2" "$target"; fi
    MOUNTED+=("$target")
}

# Run a command inside the root as root, with a clean environment.
in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# --- checks over HTTP, from the host: the root shares its network, so this is loopback --------
http() { # method path [json-body] -> body on stdout, fails on HTTP >= 400
    local method=$1 path=$2 body=${3:-}
    if [ -n "$body" ]; then
        curl -sS --fail-with-body -X "$method" -H 'Content-Type: application/json' --data "$body" "$BASE$path"
    else
        curl -sS --fail-with-body -X "$method" "$BASE$path"
    fi
}
json() { # python-expression-of-d < json
    python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

echo "pi-check: Debian $SUITE arm64 root in $ROOT, station source $SRC"

# --- 1. host tools -------------------------------------------------------------------------------
begin "host tools (debootstrap, qemu-user-static, binfmt_misc)"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ "$(uname -m)" = x86_64 ]; then
    [ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
fi
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" debian-archive-keyring
fi
if [ "$(uname -m)" = x86_64 ]; then
    binfmt=/proc/sys/fs/binfmt_misc
    mountpoint -q "$binfmt" || mount -t binfmt_misc binfmt_misc "$binfmt"
    if [ ! -e "$binfmt/qemu-aarch64" ]; then
        # The F flag opens the interpreter now, so it works inside the chroot without a copy.
        grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf >"$binfmt/register"
    fi
    grep -q enabled "$binfmt/qemu-aarch64" || die "binfmt_misc: qemu-aarch64 is not enabled"
fi
echo "debootstrap $(dpkg-query -W -f='${Version}' debootstrap), qemu-user-static $(dpkg-query -W -f='${Version}' qemu-user-static 2>/dev/null || echo -)"
end

# --- 2. the arm64 root (cached) ---------------------------------------------------------------------
begin "Debian $SUITE arm64 root (debootstrap, or the cached one)"
if [ -f "$ROOT/.pi-check-root-complete" ]; then
    echo "reusing $ROOT (delete it to build afresh)"
else
    rm -rf "$ROOT"
    mkdir -p "$(dirname "$ROOT")"
    # systemd: the installer enables units with systemctl; ca-certificates: pip over HTTPS.
    debootstrap --arch=arm64 --variant=minbase --include=systemd,systemd-sysv,ca-certificates \
        "$SUITE" "$ROOT" "$MIRROR"
    touch "$ROOT/.pi-check-root-complete"
fi
in_root uname -m | grep -qx aarch64 || die "the root does not run arm64 code"
# shellcheck disable=SC2016 # $PRETTY_NAME expands inside the root
echo "root: $(du -sh --exclude=proc --exclude=sys --exclude=dev "$ROOT" 2>/dev/null | cut -f1), $(in_root sh -c '. /etc/os-release; echo "$PRETTY_NAME"'), $(in_root uname -m) under emulation"
end

# --- 3. mounts, network and the site's certificate authorities -------------------------------------
begin "mounts and network"
mount_in_root proc proc /proc
mount_in_root sysfs sysfs /sys
mount_in_root bind /dev /dev
mount_in_root bind /dev/pts /dev/pts
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# A site whose network inspects HTTPS adds its authority to the system's store; do the same
# in the root, and let pip use the system store as apt does.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
fi
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$ROOT/etc/pip.conf"
end

# --- 4. the checkout, as a Pi owner's `git clone` -----------------------------------------------------
begin "copy the checkout to $CHECKOUT"
rm -rf "$ROOT$CHECKOUT"
mkdir -p "$ROOT$CHECKOUT"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$ROOT$CHECKOUT" -xf -
echo "$(find "$ROOT$CHECKOUT" -type f | wc -l) files"
end

# --- 5. lgpio where the OS has no python3-lgpio ------------------------------------------
begin "lgpio for rpi-lgpio"
in_root apt-get update -qq
build_env=()
if in_root apt-cache policy python3-lgpio 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "python3-lgpio is packaged here: the installer installs it"
else
    # Raspberry Pi OS ships python3-lgpio (the installer installs it); plain Debian does
    # not. PyPI has lgpio wheels for some Pythons only (cp311: yes; Trixie's cp313: no),
    # and its source links to a system liblgpio unless PYPI=1 (its switch to build the
    # library in): give pip a compiler and that switch, for the source case.
    echo "Debian $SUITE has no python3-lgpio (Raspberry Pi OS has): gcc, swig, python3-dev and PYPI=1 for pip, should it build lgpio"
    in_root apt-get install -y -qq --no-install-recommends gcc libc6-dev swig python3-dev >/dev/null
    build_env=(PYPI=1)
fi
end

# --- 6. the installer, as on a Pi ---------------------------------------------------------------------
begin "scripts/install-pi.sh --no-kiosk"
in_root "${build_env[@]}" bash "$CHECKOUT/scripts/install-pi.sh" --no-kiosk
end

begin "scripts/install-pi.sh --no-kiosk again: nothing to do"
second=$(in_root "${build_env[@]}" bash "$CHECKOUT/scripts/install-pi.sh" --no-kiosk)
echo "$second" | tail -n 3
echo "$second" | grep -q "^nothing to do" || die "the second run of the installer changed something"
end

# --- 7. the venv sees the OS's numpy and PyAV -------------------------------------------------------------
begin "numpy and PyAV in the venv are the OS's"
venv_py=$PREFIX/venv/bin/python
report=$(in_root "$venv_py" -c '
import av, numpy
print(f"numpy {numpy.__version__} from {numpy.__file__}")
print(f"av {av.__version__} from {av.__file__}")
')
echo "$report"
if echo "$report" | grep -q "$PREFIX/venv"; then
    die "the venv has its own numpy or PyAV, hiding the OS's (picamera2 would break)"
fi
if in_root "$venv_py" -c 'import ezc3d' 2>/dev/null; then
    echo "note: ezc3d is importable (it is optional on a Pi)"
else
    echo "ezc3d: not installed (optional; C3D is written with the pure-Python c3d package)"
fi
echo "venv size: $(du -sh "$ROOT$PREFIX/venv" | cut -f1); root now $(du -sh --exclude=proc --exclude=sys --exclude=dev "$ROOT" 2>/dev/null | cut -f1)"
end

# --- 8. the service -----------------------------------------------------------------------------------------
begin "station serve --hardware sim: until /healthz answers"
if curl -s -o /dev/null "$BASE/healthz"; then die "something already listens on port $PORT (PI_CHECK_PORT)"; fi
in_root install -o station -g station -m 0640 /dev/null "$SERVE_LOG"
# As the service user, with the installed configuration; sim load cells and camera.
chroot --userspec=station:station "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/var/lib/stance-station \
    STATION_CONFIG=/etc/stance-station/station.toml PYTHONUNBUFFERED=1 \
    sh -c "cd /var/lib/stance-station && exec $PREFIX/venv/bin/station serve --hardware sim --camera sim --port $PORT" \
    >>"$ROOT$SERVE_LOG" 2>&1 &
SERVER_PID=$!
code=000
for _ in $(seq 1 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)
    [ "$code" = 000 ] || break
    kill -0 "$SERVER_PID" 2>/dev/null || die "station serve exited"
    sleep 1
done
echo "/healthz answered $code"
end

begin "checks: /healthz, kiosk page, a simulated recording, its C3D export"
health=$(curl -sS "$BASE/healthz")
echo "healthz: $(echo "$health" | json '"%s; load cells %s at %s Hz; camera %s, available %s; database ok %s" % (
    d["status"], d["hardware"]["backend"], round(d["hardware"].get("achieved_rate_hz") or 0, 1), d["camera"]["configured"],
    d["camera"]["available"], d["database"]["ok"])')"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200 ] || die "/healthz is not 200: $health"
page=$(http GET /)
echo "$page" | grep -q 'data-i18n="app.title"' || die "/ is not the kiosk page"
for asset in $(echo "$page" | grep -oE '(src|href)="[^"#:]+\.(js|css)"' | sed -E 's/^[a-z]+="//; s/"$//'); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/${asset#/}")" = 200 ] || die "kiosk asset $asset is missing"
done
echo "kiosk page and its scripts and styles: 200"
athlete=$(http POST /api/v1/athletes '{"name": "Pi Check", "body_mass_kg": 70}' | json 'd["id"]')
http POST /api/v1/recording/start "{\"athlete_id\": $athlete, \"protocol\": \"bilateral_stance\",
    \"options\": {\"tare\": false, \"wait_still\": false, \"duration_s\": 3, \"video\": true}}" >/dev/null
state=""
for _ in $(seq 1 300); do
    status=$(http GET /api/v1/recording/status)
    state=$(echo "$status" | json 'd["state"]')
    case $state in armed | recording | analysing) sleep 1 ;; *) break ;; esac
done
[ "$state" = saved ] || die "the recording ended as '$state': $status"
trial=$(echo "$status" | json 'd["trial_id"]')
trial_json=$(http GET "/api/v1/trials/$trial")
echo "trial $trial: $(echo "$trial_json" | json '"%s, %d metric groups, video of %s frames (%s bytes, written with the OS PyAV)" % (
    d["status"], len(d["metrics"]), (d.get("video") or {}).get("n_frames"), (d.get("video") or {}).get("size_bytes"))')"
echo "$trial_json" | json '"ok" if (d.get("video") or {}).get("n_frames") else "NO VIDEO"' | grep -qx ok ||
    die "the trial has no video: $trial_json"
curl -sS --fail -o "$ROOT/tmp/pi-check.c3d" "$BASE/api/v1/trials/$trial/export.c3d"
head -c 2 "$ROOT/tmp/pi-check.c3d" | od -An -tx1 | grep -q "02 50" || die "export.c3d is not a C3D file"
echo "export.c3d: $(stat -c %s "$ROOT/tmp/pi-check.c3d") bytes, C3D header ok"
end

begin "stop the service"
kill -TERM "$SERVER_PID"
for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
! kill -0 "$SERVER_PID" 2>/dev/null || die "station serve did not stop within 30 s of SIGTERM"
SERVER_PID=""
end

echo
echo "pi-check passed in $((SECONDS - T0)) s (Debian $SUITE arm64 under $(uname -m) emulation):"
printf '%s\n' "${TIMES[@]}"
