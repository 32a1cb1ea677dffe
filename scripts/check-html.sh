#!/usr/bin/env bash
# Opens an llmrig HTML report in headless Chromium at 1280 px and at 390 px (a phone) and checks
# that every chart renders (size, drawn text, shapes), that the summary comes before the first
# chart, that at 390 px the page does not scroll sideways (tables and charts scroll inside their
# own boxes) and chart text stays at least 8 px tall, that the page logs no console messages and
# references nothing outside itself, then saves a screenshot at each width.
#
# Usage: scripts/check-html.sh [REPORT_DIR]
#   Without REPORT_DIR it builds a report from tests/fixtures/report (a saved comparison and two
#   hand-made fixture runs) into target/html-check/report.
# Installs Debian's `chromium` when it is missing and apt-get is usable; otherwise it says so and
# skips (exit 0). Output: target/html-check/{report-1280.png,report-390.png,check.log}.
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

# A page that loads the report in a frame per width and inspects what the browser rendered.
cat >"$OUT/check.html" <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><title>check</title></head><body>
<iframe id="w1280" src="file://$REPORT/report.html" style="width:1280px;height:2000px"></iframe>
<iframe id="w390" src="file://$REPORT/report.html" style="width:390px;height:2000px"></iframe>
<pre id="result">no result</pre>
<script>
const results = {};
function check(frame, width) {
  const d = frame.contentDocument;
  const bad = [];
  const figures = [...d.querySelectorAll('figure')];
  let smallest = 99;
  for (const f of figures) {
    const svg = f.querySelector('svg');
    if (!svg) { bad.push(f.id + ': no svg'); continue; }
    const r = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].filter(t => t.getBBox().width > 0);
    const shapes = svg.querySelectorAll('rect,path,polyline,polygon,circle,line').length;
    if (!(r.width > 200 && r.height > 100)) bad.push(f.id + ': ' + r.width + 'x' + r.height + ' px');
    if (texts.length < 5) bad.push(f.id + ': ' + texts.length + ' rendered texts');
    if (shapes < 5) bad.push(f.id + ': ' + shapes + ' shapes');
    // Rendered text height: the font size scaled by how wide the SVG is drawn.
    const scale = r.width / svg.viewBox.baseVal.width;
    for (const t of texts) smallest = Math.min(smallest, parseFloat(t.getAttribute('font-size') || '12') * scale);
  }
  if (smallest < 8) bad.push('chart text ' + smallest.toFixed(1) + ' px tall');
  const summary = d.getElementById('summary');
  if (!summary) bad.push('no summary');
  else if (figures.length && !(summary.compareDocumentPosition(figures[0]) & Node.DOCUMENT_POSITION_FOLLOWING)) bad.push('summary after the first chart');
  const sideways = d.documentElement.scrollWidth - d.documentElement.clientWidth;
  if (sideways > 1) bad.push('page scrolls sideways by ' + sideways + ' px');
  const external = [...d.querySelectorAll('script,link,iframe,img,[src],[href]')].length;
  results[width] = 'w' + width + ': figures=' + figures.length + ' external=' + external + ' height=' + d.documentElement.scrollHeight + ' bad=' + bad.join('; ');
}
let pending = 2;
for (const [id, width] of [['w1280', 1280], ['w390', 390]]) {
  document.getElementById(id).addEventListener('load', () => {
    try { check(document.getElementById(id), width); } catch (e) { results[width] = 'w' + width + ': error: ' + e; }
    if (--pending === 0) document.getElementById('result').textContent = results[1280] + '|' + results[390];
  });
}
</script></body></html>
HTML

FLAGS=(--headless --disable-gpu --hide-scrollbars --allow-file-access-from-files --virtual-time-budget=10000 --enable-logging=stderr --v=0)
[ "$(id -u)" = 0 ] && FLAGS+=(--no-sandbox)
"$CHROMIUM" "${FLAGS[@]}" --window-size=1700,2200 --dump-dom "file://$OUT/check.html" >"$OUT/dom.html" 2>"$OUT/check.log" || true
RESULT="$(sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p' "$OUT/dom.html")"
IFS='|' read -r R1280 R390 <<<"$RESULT"
echo "check-html: $R1280"
echo "check-html: $R390"

# The report page alone: any console message (error, warning or log) fails the check.
"$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$REPORT/report.html" >/dev/null 2>"$OUT/console.log" || true
if grep -q ':CONSOLE' "$OUT/console.log"; then
    echo "check-html: FAILED: console messages:" >&2
    grep ':CONSOLE' "$OUT/console.log" >&2
    exit 1
fi

FAILED=0
for R in "$R1280" "$R390"; do
    case "$R" in
        "w"*": figures=$CHARTS external=0 height="*" bad=") ;;
        *)
            echo "check-html: FAILED: expected $CHARTS rendered charts, a summary before them, no external references, no sideways scroll and legible chart text: $R" >&2
            FAILED=1
            ;;
    esac
done
[ "$FAILED" = 0 ] || exit 1

for W in 1280 390; do
    R="$R1280"
    [ "$W" = 390 ] && R="$R390"
    HEIGHT="$(echo "$R" | sed -n 's/.*height=\([0-9]*\).*/\1/p')"
    [ "$HEIGHT" -gt 16000 ] && HEIGHT=16000
    "$CHROMIUM" "${FLAGS[@]}" --window-size="$W,$HEIGHT" --screenshot="$OUT/report-$W.png" "file://$REPORT/report.html" 2>>"$OUT/check.log" || true
    [ -s "$OUT/report-$W.png" ] || { echo "check-html: FAILED: no screenshot at $W px" >&2; exit 1; }
done
echo "check-html: passed at 1280 and 390 px: $CHARTS charts rendered, summary first, no sideways scroll, no console messages, no external references; screenshots $OUT/report-1280.png, $OUT/report-390.png"
