#!/usr/bin/env bash
# Shows the Stance Station page full screen in Chromium on the Pi's desktop session.
# Started by the desktop session itself, as the desktop's autostart does for any program:
# the XDG autostart entry ~/.config/autostart/stance-station-kiosk.desktop (installed by
# scripts/install-pi.sh), which labwc's and wayfire's autostart on Raspberry Pi OS run
# through lxsession-xdg-autostart, as does the X11 desktop. So Chromium runs inside the
# session, with its environment, and ends with it. Output goes to the journal:
# journalctl -t station-kiosk.
# Settings (environment, else /etc/stance-station/kiosk.env, else the defaults):
#   KIOSK_URL        page to show (default http://127.0.0.1:8000/)
#   KIOSK_WAIT_S     seconds to wait for the station to answer before showing it anyway (120)
#   KIOSK_RESTART_S  seconds before Chromium starts again when it exits (3; 0: do not restart)
#   KIOSK_FLAGS      extra Chromium flags, split on spaces
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
settings=${KIOSK_ENV:-/etc/stance-station/kiosk.env}
if [ -r "$settings" ]; then
    # KEY=value lines; a variable already in the environment wins (tests, a manual run).
    while IFS='=' read -r key value; do
        case $key in
            KIOSK_URL | KIOSK_WAIT_S | KIOSK_RESTART_S | KIOSK_FLAGS)
                [ -n "${!key+set}" ] || export "$key=$value"
                ;;
        esac
    done <"$settings"
fi

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

# Screen blanking off for this session: X11 with xset; on labwc/wayfire the installer's
# raspi-config do_blanking removes the session's swayidle; wake the outputs anyway.
if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null 2>&1; then
    xset s off -dpms s noblank || echo "note: could not switch screen blanking off with xset"
fi
if [ -n "${WAYLAND_DISPLAY:-}" ] && command -v wlopm >/dev/null 2>&1; then
    wlopm --on '*' || echo "note: could not switch the outputs on with wlopm"
fi

profile=${XDG_CONFIG_HOME:-$HOME/.config}/stance-station-kiosk
mkdir -p "$profile/Default"
# After a power cut Chromium would offer to "restore pages" over the kiosk: mark the
# last exit as clean.
prefs=$profile/Default/Preferences
mark_clean_exit() {
    [ ! -f "$prefs" ] || sed -i -e 's/"exited_cleanly":false/"exited_cleanly":true/' \
        -e 's/"exit_type":"[^"]*"/"exit_type":"Normal"/' "$prefs"
}
mark_clean_exit

# No dialogs or bubbles over the kiosk: crash and "restore pages" bubbles (older and newer
# Chromium flag), error dialogs, first-run and default-browser prompts, the "Chromium is
# out of date" bubble of an image that has not been updated for a while, translation.
flags=(
    --kiosk
    --user-data-dir="$profile"
    --ozone-platform-hint=auto
    --noerrdialogs
    --disable-infobars
    --no-first-run
    --no-default-browser-check
    --disable-session-crashed-bubble
    --hide-crash-restore-bubble
    --disable-crash-reporter
    "--simulate-outdated-no-au=Tue, 31 Dec 2099 23:59:59 GMT"
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
restart_s=${KIOSK_RESTART_S:-3}
[[ $restart_s =~ ^[0-9]+$ ]] || { echo "error: KIOSK_RESTART_S must be a whole number, got '$restart_s'" >&2; exit 2; }

# Until the station answers (any answer: the page itself says what is wrong), at most
# KIOSK_WAIT_S; then the page is shown anyway, which beats a bare desktop.
"$here/wait-healthy.sh" "$url" "${KIOSK_WAIT_S:-120}" || true

while :; do
    echo "starting $browser in kiosk mode on ${WAYLAND_DISPLAY:+Wayland $WAYLAND_DISPLAY}${DISPLAY:+X11 $DISPLAY}: $url"
    status=0
    "$browser" "${flags[@]}" "${extra[@]}" "$url" || status=$?
    [ "$restart_s" -gt 0 ] || exit "$status"
    # Chromium crashed or was closed: bring the kiosk back, without a "restore" bubble.
    echo "$browser exited with status $status; starting it again in $restart_s s"
    mark_clean_exit
    sleep "$restart_s"
done
