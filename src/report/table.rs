//! Terminal tables (comfy-table) and the number formats shared by tables and Markdown.
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// A table with a header row, fixed arrangement and no colour, so output is stable in tests.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_string()));
    t
}

/// A number with thousands separators and no decimals: `1234567.8` -> `1,234,568`.
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// A number with up to three significant decimals and no trailing zeros: `989.0` -> `989`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.abs() >= 1000.0 {
        return fmt_int(v);
    }
    let decimals = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_int(1234567.8), "1,234,568");
        assert_eq!(fmt_int(-1000.0), "-1,000");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_num(989.0), "989");
        assert_eq!(fmt_num(494.7), "495");
        assert_eq!(fmt_num(1979.0), "1,979");
        assert_eq!(fmt_num(19.5), "19.5");
        assert_eq!(fmt_num(0.126), "0.13");
    }
}

/// A titled table that renders to the terminal or to Markdown from the same cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Section {
    pub fn new(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Section {
        Section {
            title: title.to_owned(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }

    pub fn to_terminal(&self) -> String {
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        let mut t = new_table(&header);
        for row in &self.rows {
            t.add_row(row.clone());
        }
        format!("{}\n{t}\n", self.title)
    }

    pub fn to_markdown(&self) -> String {
        format!("## {}\n\n{}", self.title, self.markdown_table())
    }

    /// The table alone, without its title.
    pub fn markdown_table(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!(
            "| {} |\n|{}\n",
            self.header
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | "),
            " --- |".repeat(self.header.len())
        );
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            ));
        }
        out
    }
}
