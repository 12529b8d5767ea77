#!/usr/bin/env bash
# The real window on a real X server (Xvfb + openbox), driven with xdotool as a person would:
# a seeded 1,000-message conversation, a typed question, screenshots at 800x560, 1280x800 and
# 1920x1080 in light and dark. Needs: apt-get install xvfb openbox xdotool imagemagick and
# the xcb libraries Qt asks for. Writes PNGs to $1 (default /tmp/fireside-xshots).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-/tmp/fireside-xshots}"
mkdir -p "$OUT"
export DISPLAY=:97
Xvfb "$DISPLAY" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
sleep 1
openbox >/dev/null 2>&1 &
sleep 1
for scheme in light dark; do
  HOME_DIR="$(mktemp -d)"
  FIRESIDE_HOME="$HOME_DIR" "$ROOT/.venv/bin/python" - <<PY
import sys
sys.path.insert(0, "$ROOT")
from pathlib import Path
from fireside.core import context
from fireside.core.models import starter
from tests.gui.long_chat import seed
ctx = context.build()
starter.obtain(ctx.library, Path.home() / ".cache" / "fireside-dev" / "starter")
seed(ctx.paths.database, 1000)
PY
  FIRESIDE_HOME="$HOME_DIR" FIRESIDE_THEME="$scheme" QT_QPA_PLATFORM=xcb \
    "$ROOT/.venv/bin/fireside" >"$OUT/app-$scheme.log" 2>&1 &
  APP=$!
  WID=""
  for _ in $(seq 60); do
    WID="$(xdotool search --onlyvisible --name '^Fireside$' 2>/dev/null | head -1 || true)"
    [[ -n "$WID" ]] && break
    sleep 0.5
  done
  [[ -n "$WID" ]] || { echo "no window" >&2; cat "$OUT/app-$scheme.log" >&2; exit 1; }
  for size in 1280x800 800x560 1920x1080; do
    xdotool windowsize --sync "$WID" "${size%x*}" "${size#*x}" || true
    xdotool windowmove --sync "$WID" 0 0 || true
    sleep 2
    import -window "$WID" "$OUT/chat-$size-$scheme.png"
  done
  xdotool windowsize "$WID" 1280 800
  sleep 1
  # Click into the message box (bottom of the middle column) and type, as a person would.
  xdotool mousemove --window "$WID" 640 745 click 1
  xdotool type --delay 20 "What does a lighthouse keeper do?"
  xdotool key Return
  sleep 6
  import -window "$WID" "$OUT/chat-typed-1280x800-$scheme.png"
  xdotool key ctrl+f
  xdotool type --delay 20 "message 17."
  xdotool key Return
  sleep 3
  import -window "$WID" "$OUT/chat-find-1280x800-$scheme.png"
  kill "$APP" 2>/dev/null || true
  wait "$APP" 2>/dev/null || true
done
echo "screenshots in $OUT"
