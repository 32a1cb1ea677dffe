//! The report as one self-contained HTML file: charts are inline SVG, the chart font is
//! embedded as a data URI, and there are no scripts and no external references.
use super::{Block, Report};
use std::collections::HashMap;

use super::draw::FONT;

// Narrow screens (390 px phones): tables and charts scroll sideways inside their own box
// instead of widening the page, and a chart never shrinks below 800 px, so its smallest
// (12 px) labels stay at least 8 px tall.
const STYLE: &str = "body{font-family:'Report Sans',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
.chart svg{display:block;width:100%;min-width:800px;height:auto}svg text{font-family:'Report Sans',sans-serif}\
.chart,.scroll{overflow-x:auto;max-width:100%}\
figure{margin:1.5em 0}figcaption{font-size:90%;color:#555}\
#summary{background:#f6f8fa;border:1px solid #ddd;padding:0.2em 1em;margin:1em 0}#summary li{margin:0.3em 0}\
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:90%}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}\
caption{text-align:left;font-weight:bold;padding:4px 0}\
@media (max-width:600px){body{margin:1em auto;padding:0 0.6em}table{font-size:80%}}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648) for the embedded font.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn table(s: &super::table::Section) -> String {
    let mut out = format!(
        "<div class=\"scroll\">\n<table>\n<caption>{}</caption>\n<tr>",
        escape(&s.title)
    );
    for h in &s.header {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr>\n");
    for row in &s.rows {
        out.push_str("<tr>");
        for c in row {
            out.push_str(&format!("<td>{}</td>", escape(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</div>\n");
    out
}

/// HTML text of `report`; `svgs` holds each chart's SVG by chart id.
pub fn render(report: &Report, svgs: &HashMap<String, String>) -> String {
    let title = report
        .blocks
        .iter()
        .find_map(|b| {
            if let Block::Heading(1, h) = b {
                Some(h.as_str())
            } else {
                None
            }
        })
        .unwrap_or("llmrig report");
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>@font-face{{font-family:'Report Sans';src:url(data:font/ttf;base64,{}) format('truetype')}}{STYLE}</style>\n</head>\n<body>\n",
        escape(title),
        base64(FONT)
    );
    for b in &report.blocks {
        match b {
            Block::Heading(level, h) => {
                out.push_str(&format!("<h{level}>{}</h{level}>\n", escape(h)))
            }
            Block::Text(t) => out.push_str(&format!("<p>{}</p>\n", escape(t))),
            Block::Summary(lines) => {
                out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<ul>\n");
                for l in lines {
                    out.push_str(&format!("<li>{}</li>\n", escape(l)));
                }
                out.push_str("</ul>\n</section>\n");
            }
            Block::Table(s) => out.push_str(&table(s)),
            Block::Figure(f) => {
                let c = &f.chart;
                let svg = svgs.get(&c.id).map(String::as_str).unwrap_or_default();
                let id = escape(&c.id);
                out.push_str(&format!("<figure id=\"chart-{id}\" role=\"img\" aria-label=\"{}\">\n<div class=\"chart\">\n{svg}\n</div>\n<figcaption>Also saved as charts/{id}.svg and charts/{id}.png.</figcaption>\n</figure>\n", escape(&c.title)));
                for s in &f.sections {
                    out.push_str(&table(s));
                }
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
