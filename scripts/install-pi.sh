#!/usr/bin/env bash
# Installs Stance Station on Raspberry Pi OS (Debian bookworm or later) from this checkout:
# OS packages, a virtual environment that sees the OS's picamera2, numpy and PyAV, the
# station with its `pi` extra, the `station` user, configuration, systemd units (enabled
# and started) and the kiosk's autostart entry in the desktop user's home. Idempotent: every step first checks whether it is already done, so a second run
# changes nothing and says so. See docs/raspberry-pi.md.
#
# Usage: sudo scripts/install-pi.sh [--dry-run] [--kiosk-user USER | --no-kiosk]
#                                   [--root DIR] [--pip-arg ARG]...
set -euo pipefail

readonly PREFIX=/opt/stance-station          # venv, staged source, helper scripts
readonly DATA_DIR=/var/lib/stance-station    # database, videos, backups
readonly CONF_DIR=/etc/stance-station        # station.toml, kiosk.env
readonly UNIT_DIR=/etc/systemd/system
readonly SERVICE_USER=station
readonly SERVICE_GROUPS=(gpio video)
readonly UNITS=(station.service station-backup.service station-backup.timer)
# The kiosk starts with the desktop session (XDG autostart, run by labwc's/wayfire's
# autostart on Raspberry Pi OS): an entry in the desktop user's ~/.config/autostart.
readonly KIOSK_ENTRY=stance-station-kiosk.desktop
# Earlier versions ran the kiosk as a system unit outside the session: removed on update.
readonly OLD_KIOSK_UNIT=station-kiosk.service
# numpy and PyAV come from the OS and the venv keeps them (see step 7): picamera2 and its
# simplejpeg are built against them. curl is used by wait-healthy.sh, sqlite3 for inspection.
readonly PACKAGES=(python3-venv python3-pip python3-numpy python3-av curl sqlite3)
# Only Raspberry Pi OS has these: picamera2/libcamera (not on PyPI) and lgpio (so pip does
# not have to build it). Elsewhere (plain Debian, the arm64 check) they are skipped with a
# warning: the camera is then off, and pip builds lgpio if a compiler is there.
readonly PI_PACKAGES=(python3-picamera2 python3-libcamera python3-lgpio)
# The station's pip install may not replace these OS packages (import name=dpkg package).
readonly OS_PINNED=(numpy=python3-numpy av=python3-av)
# What gets copied from the checkout and installed with pip.
readonly SOURCE_ITEMS=(pyproject.toml README.md station hardware calibration api docs)

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
DRY_RUN=0
KIOSK=1
KIOSK_USER=""
PIP_ARGS=()
PYTHON=${PYTHON:-/usr/bin/python3}

usage() {
    cat <<EOF
Usage: sudo $0 [options]

Installs or updates Stance Station on this Raspberry Pi. Safe to run again: steps that
are already done are skipped, and a run with nothing to do says so.

Options:
  --dry-run          print every action it would take, change nothing
  --kiosk-user USER  desktop user whose session shows the kiosk (default: the user
                     who ran sudo, else the first user with UID 1000 or more)
  --no-kiosk         do not install the kiosk (headless station, tablets only)
  --root DIR         install into the directory tree DIR instead of / (a simulated
                     install for tests: OS packages must already be there, services
                     are enabled but not started)
  --pip-arg ARG      pass ARG to pip install (repeatable), e.g. --pip-arg=--no-index
  -h, --help         this help
EOF
}

die() {
    echo "error: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
        --dry-run) DRY_RUN=1 ;;
        --no-kiosk) KIOSK=0 ;;
        --kiosk-user) [ $# -ge 2 ] || die "--kiosk-user needs a user name"; KIOSK_USER=$2; shift ;;
        --kiosk-user=*) KIOSK_USER=${1#*=} ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift ;;
        --root=*) ROOT=${1#*=} ;;
        --pip-arg) [ $# -ge 2 ] || die "--pip-arg needs an argument"; PIP_ARGS+=("$2"); shift ;;
        --pip-arg=*) PIP_ARGS+=("${1#*=}") ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
fi
if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run me as root: sudo $0 $*"
fi

# ---------------------------------------------------------------------------------------
# Bookkeeping: every change goes through act(), which prints it and, unless --dry-run,
# runs it. A run that calls act() zero times had nothing to do.
CHANGES=0
STEP=0
readonly STEPS=11

step() {
    STEP=$((STEP + 1))
    echo "[$STEP/$STEPS] $*"
}

# A failing command stops the run; say where, and that running again is the fix.
on_error() {
    echo "error: the installer stopped at step $STEP/$STEPS (the command above failed)." >&2
    echo "Fix the problem it reports (network? disk full?) and run me again: finished steps are skipped." >&2
}
set -E
trap on_error ERR

quoted() {
    local out
    out=$(printf '%q ' "$@")
    echo "${out% }"
}

act() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" -eq 1 ]; then
        echo "    would run: $(quoted "$@")"
    else
        echo "    running: $(quoted "$@")"
        "$@"
    fi
}

ok() {
    echo "    ok: $*"
}

# A path inside the target tree.
r() {
    echo "$ROOT$1"
}

# Commands that take an alternative root.
prefix_args=()
systemctl_args=()
dpkg_args=()
if [ -n "$ROOT" ]; then
    prefix_args=(--prefix "$ROOT")
    systemctl_args=(--root="$ROOT")
    dpkg_args=(--admindir="$ROOT/var/lib/dpkg")
fi

package_installed() {
    dpkg-query "${dpkg_args[@]}" -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# passwd/group lookups in the target tree (getent would look at the running system).
user_field() { # user field-number
    awk -F: -v u="$1" -v f="$2" '$1 == u { print $f; exit }' "$(r /etc/passwd)" 2>/dev/null
}
group_exists() {
    grep -q "^$1:" "$(r /etc/group)" 2>/dev/null
}
group_has_member() { # group user
    awk -F: -v g="$1" -v u="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) found = 1 } END { exit !found }' "$(r /etc/group)"
}

# Content hash of the station's source, to notice an update of the checkout.
source_hash() { # dir
    (cd "$1" && find "${SOURCE_ITEMS[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 2>/dev/null |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# Install file $1 as $2 with mode $3 when missing or different.
install_file() {
    local src=$1 dest=$2 mode=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        ok "$dest is up to date"
        return 1
    fi
    act install -D -m "$mode" "$src" "$dest"
    return 0
}

systemd_running() {
    [ -z "$ROOT" ] && [ -d /run/systemd/system ]
}

echo "Stance Station installer: source $SRC, target ${ROOT:-/}$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing is changed)')"

# The desktop user whose session shows the kiosk.
if [ "$KIOSK" -eq 1 ]; then
    if [ -z "$KIOSK_USER" ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        KIOSK_USER=$SUDO_USER
    fi
    if [ -z "$KIOSK_USER" ]; then
        KIOSK_USER=$(awk -F: '$3 >= 1000 && $3 < 60000 { print $1; exit }' "$(r /etc/passwd)" 2>/dev/null || true)
    fi
    kiosk_uid=$(user_field "$KIOSK_USER" 3)
    if [ -n "$KIOSK_USER" ] && [ -n "$kiosk_uid" ]; then
        echo "kiosk: shown in the desktop session of user $KIOSK_USER (uid $kiosk_uid)"
    elif [ -n "$KIOSK_USER" ]; then
        die "--kiosk-user $KIOSK_USER: no such user${ROOT:+ in $ROOT/etc/passwd}"
    else
        echo "WARNING: no desktop user found, so the kiosk is NOT installed. Log in to the desktop once," >&2
        echo "         then run me again with --kiosk-user NAME (or pass --no-kiosk to silence this)." >&2
        KIOSK=0
    fi
fi

if [ -r "$(r /etc/os-release)" ]; then
    codename=$(sed -n "s/^VERSION_CODENAME=//p" "$(r /etc/os-release)" | tr -d "\"'")
    case $codename in
        bullseye | buster | stretch) die "Raspberry Pi OS '$codename' is too old: install the bookworm (or later) image" ;;
    esac
fi

# --- 1. OS packages --------------------------------------------------------------------
step "OS packages"
missing=()
for pkg in "${PACKAGES[@]}"; do
    package_installed "$pkg" || missing+=("$pkg")
done
browser_pkg=""
if ! package_installed chromium-browser && ! package_installed chromium; then
    # Raspberry Pi OS ships its own build as chromium-browser (newer images: chromium).
    browser_pkg=chromium
    if [ -z "$ROOT" ] && apt-cache policy chromium-browser 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        browser_pkg=chromium-browser
    fi
    if [ "$KIOSK" -eq 1 ]; then missing+=("$browser_pkg"); fi
fi
pi_missing=()
for pkg in "${PI_PACKAGES[@]}"; do
    package_installed "$pkg" || pi_missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#pi_missing[@]} -eq 0 ]; then
    ok "all installed"
elif [ -n "$ROOT" ] && [ "$DRY_RUN" -eq 0 ]; then
    [ ${#missing[@]} -eq 0 ] || die "cannot install OS packages into --root $ROOT; missing: ${missing[*]}"
    echo "    WARNING: not installed in --root $ROOT (Raspberry Pi OS packages): ${pi_missing[*]}" >&2
else
    # Raspberry Pi OS packages that these package sources do not have are left out, loudly
    # (looked up in apt's lists as they are: a run with nothing else to do stays a no-op).
    updated=0
    if [ ${#missing[@]} -gt 0 ] || ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
        act apt-get update
        updated=1
    fi
    for pkg in "${pi_missing[@]}"; do
        if [ "$DRY_RUN" -eq 1 ] || apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            missing+=("$pkg")
        else
            echo "    WARNING: $pkg is not in this system's package sources (not Raspberry Pi OS?): skipped;" \
                "$([ "$pkg" = python3-lgpio ] && echo "pip builds lgpio from source" || echo "the camera will be off")" >&2
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$updated" -eq 1 ] || act apt-get update
        act env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

# --- 2. groups and the service user ------------------------------------------------------
step "user $SERVICE_USER in groups ${SERVICE_GROUPS[*]}"
for g in "${SERVICE_GROUPS[@]}"; do
    if group_exists "$g"; then
        ok "group $g exists"
    else
        act groupadd "${prefix_args[@]}" --system "$g"
    fi
done
if [ -n "$(user_field "$SERVICE_USER" 1)" ]; then
    ok "user $SERVICE_USER exists"
    for g in "${SERVICE_GROUPS[@]}"; do
        if group_has_member "$g" "$SERVICE_USER"; then
            ok "$SERVICE_USER is in group $g"
        else
            act usermod "${prefix_args[@]}" -a -G "$g" "$SERVICE_USER"
        fi
    done
else
    groups_csv=$(IFS=,; echo "${SERVICE_GROUPS[*]}")
    act useradd "${prefix_args[@]}" --system --user-group --groups "$groups_csv" \
        --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
        --comment "Stance Station service" "$SERVICE_USER"
fi

# --- 3. data and configuration directories --------------------------------------------
step "directories $DATA_DIR and $CONF_DIR"
# Numeric ids from the target tree, so --root does not use this machine's user database.
uid=$(user_field "$SERVICE_USER" 3)
gid=$(user_field "$SERVICE_USER" 4)
owner_of() { stat -c '%u:%g' "$1" 2>/dev/null || true; }
if [ -d "$(r "$DATA_DIR")" ] && [ -n "$uid" ] && [ "$(owner_of "$(r "$DATA_DIR")")" = "$uid:$gid" ] &&
    [ "$(stat -c '%a' "$(r "$DATA_DIR")")" = 750 ]; then
    ok "$DATA_DIR exists, owned by $SERVICE_USER"
else
    act install -d -m 0750 -o "${uid:-$SERVICE_USER}" -g "${gid:-$SERVICE_USER}" "$(r "$DATA_DIR")"
fi
if [ -d "$(r "$CONF_DIR")" ]; then
    ok "$CONF_DIR exists"
else
    act install -d -m 0755 "$(r "$CONF_DIR")"
fi

# --- 4. configuration files (written once, never overwritten) --------------------------
step "configuration"
for f in station.toml kiosk.env; do
    dest=$(r "$CONF_DIR/$f")
    if [ -f "$dest" ]; then
        if cmp -s "$SRC/systemd/$f" "$dest"; then
            ok "$CONF_DIR/$f is in place"
        else
            ok "$CONF_DIR/$f is in place (your edits are kept; the default is $SRC/systemd/$f)"
        fi
    else
        act install -D -m 0644 "$SRC/systemd/$f" "$dest"
    fi
done

# --- 5. staged source ----------------------------------------------------------------------
step "station source in $PREFIX/src"
want_hash=$(source_hash "$SRC")
stage=$(r "$PREFIX/src")
if [ -d "$stage" ] && [ "$(source_hash "$stage")" = "$want_hash" ]; then
    ok "$PREFIX/src matches this checkout"
else
    act rm -rf "$stage"
    act mkdir -p "$stage"
    act cp -R "${SOURCE_ITEMS[@]/#/$SRC/}" "$stage/"
fi

# --- 6. virtual environment --------------------------------------------------------------
step "virtual environment $PREFIX/venv (with the OS's site packages, for picamera2)"
venv=$(r "$PREFIX/venv")
if [ -x "$venv/bin/python" ] && grep -q '^include-system-site-packages = true' "$venv/pyvenv.cfg" 2>/dev/null; then
    ok "venv exists"
else
    act "$PYTHON" -m venv --system-site-packages "$venv"
fi

# --- 7. the station package ----------------------------------------------------------------
step "station package with the pi extra (numpy and PyAV stay the OS's)"
# pip must not install its own numpy or PyAV into the venv: they would hide the OS's, and
# picamera2 (with simplejpeg, built against the OS's numpy) would fail to import with
# "numpy.dtype size changed" (Bookworm: numpy 1.24, pip's newest is 2.x). So pin both to
# the versions the OS's Python has; if the station ever needs newer ones, pip says so and
# stops instead of breaking the camera. docs/raspberry-pi.md, "Python packages".
constraints=$(r "$PREFIX/pi-constraints.txt")
want_constraints="# Written by scripts/install-pi.sh: the OS's numpy and PyAV, which the venv must keep."
for pair in "${OS_PINNED[@]}"; do
    module=${pair%%=*} pkg=${pair#*=}
    version=$(dpkg-query "${dpkg_args[@]}" -W -f='${Version}' "$pkg" 2>/dev/null || true)
    version=${version#*:}     # epoch: 1:1.24.2-1+deb12u1 -> 1.24.2-1+deb12u1
    version=${version%%-*}    # Debian revision -> 1.24.2 (what the package's metadata says)
    version=${version%%+*}    # +dfsg, +ds
    if [ -n "$version" ]; then
        want_constraints+=$'\n'"$module==$version"
    elif [ "$DRY_RUN" -eq 0 ]; then
        die "$pkg is not installed (step 1 installs it)"
    fi
done
if [ -f "$constraints" ] && [ "$(cat "$constraints")" = "$want_constraints" ]; then
    ok "$PREFIX/pi-constraints.txt is up to date"
elif [ "$DRY_RUN" -eq 1 ]; then
    echo "    would write $PREFIX/pi-constraints.txt:"
    while IFS= read -r line; do echo "        | $line"; done <<<"$want_constraints"
    CHANGES=$((CHANGES + 1))
else
    echo "$want_constraints" >"$constraints"
    echo "    wrote $PREFIX/pi-constraints.txt: $(grep -v '^#' "$constraints" | tr '\n' ' ')"
    CHANGES=$((CHANGES + 1))
fi
stamp=$venv/.stance-station-source
want_stamp="$want_hash $(echo "$want_constraints" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && [ -x "$venv/bin/station" ]; then
    ok "installed version matches this checkout"
else
    echo "    (pip shows its own progress; the first install downloads scipy, FastAPI, ... and takes a few minutes)"
    act "$venv/bin/python" -m pip install --upgrade --progress-bar on --constraint "$constraints" "${PIP_ARGS[@]}" "${stage}[pi]"
    if [ "$DRY_RUN" -eq 1 ]; then
        echo "    would write: $stamp"
    else
        echo "$want_stamp" >"$stamp"
    fi
    PACKAGE_CHANGED=1
fi

# --- 8. helper scripts ---------------------------------------------------------------------
step "helper scripts in $PREFIX/bin"
for f in kiosk.sh wait-healthy.sh; do
    install_file "$SRC/scripts/$f" "$(r "$PREFIX/bin/$f")" 0755 || true
done

# --- 9. systemd units and the kiosk's autostart entry -------------------------------------
step "systemd units and the kiosk autostart"
UNITS_CHANGED=0
for u in "${UNITS[@]}"; do
    if install_file "$SRC/systemd/$u" "$(r "$UNIT_DIR/$u")" 0644; then UNITS_CHANGED=1; fi
done
if [ -e "$(r "$UNIT_DIR/$OLD_KIOSK_UNIT")" ] || [ -e "$(r "$UNIT_DIR/$OLD_KIOSK_UNIT.d")" ]; then
    # Two kiosks would fight over the screen; the session's autostart replaces the unit.
    if systemd_running; then act systemctl stop "$OLD_KIOSK_UNIT"; fi
    act systemctl "${systemctl_args[@]}" disable "$OLD_KIOSK_UNIT"
    act rm -rf "$(r "$UNIT_DIR/$OLD_KIOSK_UNIT")" "$(r "$UNIT_DIR/$OLD_KIOSK_UNIT.d")"
    UNITS_CHANGED=1
fi
if [ "$KIOSK" -eq 1 ]; then
    kiosk_home=$(user_field "$KIOSK_USER" 6)
    kiosk_gid=$(user_field "$KIOSK_USER" 4)
    autostart=$(r "$kiosk_home/.config/autostart")
    if [ -f "$autostart/$KIOSK_ENTRY" ] && cmp -s "$SRC/systemd/$KIOSK_ENTRY" "$autostart/$KIOSK_ENTRY"; then
        ok "$kiosk_home/.config/autostart/$KIOSK_ENTRY is up to date"
    else
        # Owned by the desktop user, as the rest of the home directory (numeric ids: --root).
        for d in "$(r "$kiosk_home/.config")" "$autostart"; do
            [ -d "$d" ] || act install -d -m 0755 -o "$kiosk_uid" -g "$kiosk_gid" "$d"
        done
        act install -m 0644 -o "$kiosk_uid" -g "$kiosk_gid" "$SRC/systemd/$KIOSK_ENTRY" "$autostart/$KIOSK_ENTRY"
    fi
fi
if [ "$UNITS_CHANGED" -eq 1 ] && systemd_running; then
    act systemctl daemon-reload
fi

# --- 10. enable and start ----------------------------------------------------------------------
step "enable and start"
enable=(station.service station-backup.timer)
for u in "${enable[@]}"; do
    if [ "$(systemctl "${systemctl_args[@]}" is-enabled "$u" 2>/dev/null || true)" = enabled ]; then
        ok "$u is enabled"
    else
        act systemctl "${systemctl_args[@]}" enable "$u"
    fi
done
if systemd_running; then
    for u in "${enable[@]}"; do
        if ! systemctl is-active --quiet "$u"; then
            act systemctl start "$u"
        elif [ "${PACKAGE_CHANGED:-0}" -eq 1 ] || [ "$UNITS_CHANGED" -eq 1 ]; then
            [ "$u" = station-backup.timer ] || act systemctl restart "$u"
        else
            ok "$u is running"
        fi
    done
else
    ok "systemd is not running here${ROOT:+ (--root)}: the services start at the next boot"
fi

# --- 11. screen blanking -------------------------------------------------------------------------
step "screen blanking off (kiosk)"
if [ "$KIOSK" -eq 1 ] && [ -z "$ROOT" ] && command -v raspi-config >/dev/null 2>&1; then
    # raspi-config convention: get_blanking prints 0 when blanking is on; do_blanking 1 turns it off
    # for X11, wayfire and labwc alike (effective after a reboot).
    if [ "$(raspi-config nonint get_blanking 2>/dev/null || echo 1)" = 0 ]; then
        act raspi-config nonint do_blanking 1
    else
        ok "screen blanking is off"
    fi
else
    ok "no raspi-config here; kiosk.sh switches blanking off for X11 sessions at start"
fi

echo
if [ "$CHANGES" -eq 0 ]; then
    echo "nothing to do: Stance Station is installed and up to date."
elif [ "$DRY_RUN" -eq 1 ]; then
    echo "dry run: $CHANGES action(s) would be taken; run without --dry-run to apply them."
else
    echo "done: $CHANGES change(s) made. The station is at http://127.0.0.1:8000/ (status: systemctl status station)."
fi
