#!/usr/bin/env bash
# The real window on a real X server (Xvfb + openbox). Two parts:
#  1. packaging/screenshots.py drives every view (chat with a conversation, empty chat, Discover,
#     a repo page, Downloads, My Models, Hardware, Server, Settings, Load settings) in light and
#     dark at 1280x800, some at 800x560 too, against the local Hub stand-in;
#  2. a seeded 1,000-message conversation driven with xdotool as a person would (a typed
#     question, Find), at 800x560, 1280x800 and 1920x1080 in light and dark, into sizes/.
# Needs: apt-get install xvfb openbox xdotool imagemagick and the xcb libraries Qt asks for.
# Writes PNGs to $1 (default docs/screenshots). DISPLAY: $XSHOTS_DISPLAY (default :91).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/docs/screenshots}")"
mkdir -p "$OUT/sizes"
export DISPLAY="${XSHOTS_DISPLAY:-:91}"
Xvfb "$DISPLAY" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
openbox_pid=""
cleanup() {
  [[ -n "$openbox_pid" ]] && kill "$openbox_pid" 2>/dev/null || true
  kill "$XPID" 2>/dev/null || true
}
trap cleanup EXIT
sleep 1
openbox >/dev/null 2>&1 &
openbox_pid=$!
sleep 1

# 1. every view, both themes
QT_QPA_PLATFORM=xcb "$ROOT/.venv/bin/python" "$ROOT/packaging/screenshots.py" --out "$OUT"
[[ "${XSHOTS_VIEWS_ONLY:-}" == 1 ]] && { echo "screenshots in $OUT"; exit 0; }

# 2. a long conversation at three sizes, typed into with xdotool
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
    "$ROOT/.venv/bin/fireside" >"$HOME_DIR/app-$scheme.log" 2>&1 &
  APP=$!
  WID=""
  for _ in $(seq 60); do
    WID="$(xdotool search --onlyvisible --name '^Fireside$' 2>/dev/null | head -1 || true)"
    [[ -n "$WID" ]] && break
    sleep 0.5
  done
  [[ -n "$WID" ]] || { echo "no window" >&2; cat "$HOME_DIR/app-$scheme.log" >&2; exit 1; }
  for size in 1280x800 800x560 1920x1080; do
    xdotool windowsize --sync "$WID" "${size%x*}" "${size#*x}" || true
    xdotool windowmove --sync "$WID" 0 0 || true
    sleep 2
    import -window "$WID" "$OUT/sizes/chat-$size-$scheme.png"
  done
  xdotool windowsize "$WID" 1280 800
  sleep 1
  # Click into the message box (bottom of the middle column) and type, as a person would.
  xdotool mousemove --window "$WID" 640 745 click 1
  xdotool type --delay 20 "What does a lighthouse keeper do?"
  xdotool key Return
  sleep 6
  import -window "$WID" "$OUT/sizes/chat-typed-1280x800-$scheme.png"
  xdotool key ctrl+f
  xdotool type --delay 20 "message 17."
  xdotool key Return
  sleep 3
  import -window "$WID" "$OUT/sizes/chat-find-1280x800-$scheme.png"
  kill "$APP" 2>/dev/null || true
  wait "$APP" 2>/dev/null || true
done
echo "screenshots in $OUT"
