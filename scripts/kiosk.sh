#!/usr/bin/env bash
# Shows the Stance Station page full screen in Chromium on the Pi's desktop session.
# Started by station-kiosk.service as the desktop user (restarted whenever Chromium exits).
# Settings (environment, see /etc/stance-station/kiosk.env):
#   KIOSK_URL    page to show (default http://127.0.0.1:8000/)
#   KIOSK_FLAGS  extra Chromium flags, split on spaces
set -euo pipefail

url=${KIOSK_URL:-http://127.0.0.1:8000/}
runtime=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}
export XDG_RUNTIME_DIR=$runtime

# Wait for the desktop: a Wayland socket (wayfire or labwc on Raspberry Pi OS bookworm)
# or an X server (older images, or X11 chosen in raspi-config).
waited=0
while :; do
    if [ -z "${WAYLAND_DISPLAY:-}" ]; then
        for sock in "$runtime"/wayland-[0-9]; do
            if [ -S "$sock" ]; then
                export WAYLAND_DISPLAY=${sock##*/}
                break
            fi
        done
    fi
    [ -n "${WAYLAND_DISPLAY:-}" ] && break
    if [ -n "${DISPLAY:-}" ] || [ -S /tmp/.X11-unix/X0 ]; then
        export DISPLAY=${DISPLAY:-:0}
        break
    fi
    if [ $((waited % 30)) -eq 0 ]; then
        echo "waiting for the desktop session (no Wayland socket in $runtime, no X display :0);" \
            "is the desktop user logged in automatically? (raspi-config: System Options > Boot / Auto Login)"
    fi
    sleep 1
    waited=$((waited + 1))
done

browser=""
for candidate in chromium-browser chromium; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "error: Chromium is not installed; install it with: sudo apt-get install chromium-browser" >&2
    exit 1
fi

# Screen blanking off for this session on X11 (raspi-config does it for Wayland; see the docs).
if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null 2>&1; then
    xset s off -dpms s noblank || echo "note: could not switch screen blanking off with xset"
fi

profile=${XDG_CONFIG_HOME:-$HOME/.config}/stance-station-kiosk
mkdir -p "$profile/Default"
# After a power cut Chromium would offer to "restore pages" over the kiosk: mark the
# last exit as clean.
prefs=$profile/Default/Preferences
if [ -f "$prefs" ]; then
    sed -i -e 's/"exited_cleanly":false/"exited_cleanly":true/' \
        -e 's/"exit_type":"[^"]*"/"exit_type":"Normal"/' "$prefs"
fi

flags=(
    --kiosk
    --user-data-dir="$profile"
    --ozone-platform-hint=auto
    --noerrdialogs
    --disable-infobars
    --no-first-run
    --disable-session-crashed-bubble
    "--disable-features=Translate,TouchpadOverscrollHistoryNavigation"
    --overscroll-history-navigation=0
    --disable-pinch
    --check-for-update-interval=31536000
    --password-store=basic
    --autoplay-policy=no-user-gesture-required
)
# Intentionally split on spaces: several flags in one variable.
# shellcheck disable=SC2206
extra=(${KIOSK_FLAGS:-})
echo "starting $browser in kiosk mode on ${WAYLAND_DISPLAY:+Wayland $WAYLAND_DISPLAY}${DISPLAY:+X11 $DISPLAY}: $url"
exec "$browser" "${flags[@]}" "${extra[@]}" "$url"
