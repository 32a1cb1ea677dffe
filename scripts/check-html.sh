#!/usr/bin/env bash
# Opens an llmrig HTML report in headless Chromium and checks that every chart renders (size,
# drawn text, shapes), that the page logs no console messages and references nothing outside
# itself, then saves a screenshot.
#
# Usage: scripts/check-html.sh [REPORT_DIR]
#   Without REPORT_DIR it builds a report from tests/fixtures/report (a saved comparison and two
#   hand-made fixture runs) into target/html-check/report.
# Installs Debian's `chromium` when it is missing and apt-get is usable; otherwise it says so and
# skips (exit 0). Output: target/html-check/{report.png,check.log}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$PWD/target/html-check"
mkdir -p "$OUT"

find_chromium() {
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then
            echo "$c"
            return
        fi
    done
}

CHROMIUM="$(find_chromium)"
if [ -z "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "check-html: installing chromium (Debian package)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || true
    fi
    CHROMIUM="$(find_chromium)"
fi
if [ -z "$CHROMIUM" ]; then
    echo "check-html: SKIPPED: chromium is not installed and could not be installed (apt-get install chromium)"
    exit 0
fi

if [ $# -ge 1 ]; then
    REPORT="$(cd "$1" && pwd)"
else
    REPORT="$OUT/report"
    F=tests/fixtures/report
    cargo run -q --locked -- --quiet report \
        "$F/compare-llama-3.1-70b-int4.json" "$F/run-rig-a.json" "$F/run-rig-b.json" --out "$REPORT" >/dev/null
fi
[ -f "$REPORT/report.html" ] || { echo "check-html: no report.html in $REPORT" >&2; exit 1; }
CHARTS="$(grep -c '^!\[' "$REPORT/report.md" || true)"

# A page that loads the report in a frame and inspects what the browser rendered.
cat >"$OUT/check.html" <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><title>check</title></head><body>
<iframe id="f" src="file://$REPORT/report.html" style="width:1100px;height:2000px"></iframe>
<pre id="result">no result</pre>
<script>
document.getElementById('f').addEventListener('load', () => {
  const out = document.getElementById('result');
  try {
    const d = document.getElementById('f').contentDocument;
    const bad = [];
    const figures = [...d.querySelectorAll('figure')];
    for (const f of figures) {
      const svg = f.querySelector('svg');
      if (!svg) { bad.push(f.id + ': no svg'); continue; }
      const r = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll('text')].filter(t => t.getBBox().width > 0).length;
      const shapes = svg.querySelectorAll('rect,path,polyline,polygon,circle,line').length;
      if (!(r.width > 200 && r.height > 100)) bad.push(f.id + ': ' + r.width + 'x' + r.height + ' px');
      if (texts < 5) bad.push(f.id + ': ' + texts + ' rendered texts');
      if (shapes < 5) bad.push(f.id + ': ' + shapes + ' shapes');
    }
    const external = [...d.querySelectorAll('script,link,iframe,img,[src],[href]')].length;
    out.textContent = 'figures=' + figures.length + ' external=' + external + ' height=' + d.documentElement.scrollHeight + ' bad=' + bad.join('; ');
  } catch (e) { out.textContent = 'error: ' + e; }
});
</script></body></html>
HTML

FLAGS=(--headless --disable-gpu --hide-scrollbars --allow-file-access-from-files --virtual-time-budget=10000 --enable-logging=stderr --v=0)
[ "$(id -u)" = 0 ] && FLAGS+=(--no-sandbox)
"$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$OUT/check.html" >"$OUT/dom.html" 2>"$OUT/check.log" || true
RESULT="$(sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p' "$OUT/dom.html")"
echo "check-html: $RESULT"

# The report page alone: any console message (error, warning or log) fails the check.
"$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$REPORT/report.html" >/dev/null 2>"$OUT/console.log" || true
if grep -q ':CONSOLE' "$OUT/console.log"; then
    echo "check-html: FAILED: console messages:" >&2
    grep ':CONSOLE' "$OUT/console.log" >&2
    exit 1
fi

case "$RESULT" in
    "figures=$CHARTS external=0 height="*" bad=") ;;
    *)
        echo "check-html: FAILED: expected $CHARTS rendered charts, no external references and no bad charts" >&2
        exit 1
        ;;
esac

HEIGHT="$(echo "$RESULT" | sed -n 's/.*height=\([0-9]*\).*/\1/p')"
[ "$HEIGHT" -gt 16000 ] && HEIGHT=16000
"$CHROMIUM" "${FLAGS[@]}" --window-size="1100,$HEIGHT" --screenshot="$OUT/report.png" "file://$REPORT/report.html" 2>>"$OUT/check.log" || true
[ -s "$OUT/report.png" ] || { echo "check-html: FAILED: no screenshot" >&2; exit 1; }
echo "check-html: passed: $CHARTS charts rendered, no console messages, no external references; screenshot $OUT/report.png"
