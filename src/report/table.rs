//! Terminal tables (comfy-table) and the number formats shared by tables and Markdown.
//!
//! A [`Section`] fits the terminal it is printed to. When its table is wider than the terminal,
//! it gives way in this order, and stops as soon as it fits:
//! 1. headers switch to their short form ([`ColumnFit::short`]);
//! 2. columns with a drop rank ([`ColumnFit::drop`]) are hidden, lowest rank first, and a note
//!    under the table names them;
//! 3. text columns marked [`TextFit::Cut`] are shortened with `…`, widest first, to no fewer
//!    than [`MIN_CUT`] characters;
//! 4. columns marked [`TextFit::Wrap`] (prose: warnings, reasons) wrap inside their cells.
//!
//! Numbers are never cut: columns marked [`TextFit::Keep`], and [`TextFit::Auto`] columns whose
//! cells are all short, keep their full width. Without a known width (output piped without
//! `COLUMNS`) tables print whole, one line per row.
pub use crate::numfmt::fmt_int;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ColumnConstraint, ContentArrangement, Table};

/// A table with a header row, fixed arrangement and no colour, so output is stable in tests.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_string()));
    t
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

/// How a column gives way when its table is too wide; see the module docs for the order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColumnFit {
    /// Header on a narrow terminal.
    pub short: Option<&'static str>,
    /// Hidden when the table is too wide, lowest rank first; never hidden when absent.
    pub drop: Option<u8>,
    pub text: TextFit,
}

/// What may happen to a column's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextFit {
    /// Kept whole when every cell is at most [`SHORT_CELL`] characters, else wrapped.
    #[default]
    Auto,
    /// Never cut or wrapped (numbers).
    Keep,
    /// Shortened with `…` (names).
    Cut,
    /// Wrapped inside the cell (prose).
    Wrap,
}

impl ColumnFit {
    /// A column that keeps its full width.
    pub const KEEP: ColumnFit = ColumnFit {
        short: None,
        drop: None,
        text: TextFit::Keep,
    };

    pub fn keep(short: &'static str) -> ColumnFit {
        ColumnFit {
            short: Some(short),
            ..ColumnFit::KEEP
        }
    }

    /// A number column hidden at drop rank `rank`.
    pub fn drop(short: &'static str, rank: u8) -> ColumnFit {
        ColumnFit {
            short: Some(short),
            drop: Some(rank),
            text: TextFit::Keep,
        }
    }

    pub fn with(self, text: TextFit) -> ColumnFit {
        ColumnFit { text, ..self }
    }
}

/// Cells up to this many characters count as numbers for [`TextFit::Auto`].
pub const SHORT_CELL: usize = 18;
/// A cut column keeps at least this many characters.
pub const MIN_CUT: usize = 10;

/// Display width of a line (every character the tables print is one column wide).
pub fn width_of(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Words of `text` in lines of at most `width` characters; lines after the first start with
/// `indent` spaces. A word longer than a line stays whole.
pub fn wrap(text: &str, width: Option<usize>, indent: usize) -> Vec<String> {
    // A no-break space (`GLUE`) keeps a figure with its unit; it prints as a plain space.
    let plain = |lines: Vec<String>| lines.into_iter().map(|l| l.replace(GLUE, " ")).collect();
    let Some(width) = width else {
        return plain(vec![text.to_owned()]);
    };
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if line.is_empty() {
            if !out.is_empty() {
                line.push_str(&" ".repeat(indent));
            }
        } else {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    plain(out)
}

/// Joins words that [`wrap`] must not split (`1 × US 15 A/120 V`).
pub const GLUE: char = '\u{a0}';

/// `text` cut to `max` characters with a trailing `…`.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s = s.trim_end().to_owned();
    s.push('…');
    s
}

/// A titled table that renders to the terminal or to Markdown from the same cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// How each column gives way on a narrow terminal, by index; missing ones are automatic.
    pub fit: Vec<ColumnFit>,
    /// Lines under the table (legends, what is unpriced), wrapped to the width.
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Section {
        Section {
            title: title.to_owned(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
            fit: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The section with these column rules.
    pub fn with_fit(mut self, fit: Vec<ColumnFit>) -> Section {
        self.fit = fit;
        self
    }

    /// The section with a note under its table.
    pub fn with_note(mut self, note: impl Into<String>) -> Section {
        self.notes.push(note.into());
        self
    }

    fn column_fit(&self, i: usize) -> ColumnFit {
        self.fit.get(i).copied().unwrap_or_default()
    }

    /// The resolved text rule of column `i`.
    fn text_fit(&self, i: usize) -> TextFit {
        match self.column_fit(i).text {
            TextFit::Auto => {
                let long = self
                    .rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .chain(self.header.get(i))
                    .any(|c| c.chars().count() > SHORT_CELL);
                if long {
                    TextFit::Wrap
                } else {
                    TextFit::Keep
                }
            }
            t => t,
        }
    }

    /// The table at `width` characters (whole when `None`), with its title and notes.
    pub fn to_terminal(&self, width: Option<usize>) -> String {
        let (table, hidden) = self.fitted(width);
        let mut out = String::new();
        if !self.title.is_empty() {
            for l in wrap(&self.title, width, 2) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out.push_str(&table);
        out.push('\n');
        let mut notes = self.notes.clone();
        if !hidden.is_empty() {
            notes.push(format!(
                "Hidden to fit {} columns: {} (a wider terminal, --format markdown or --json shows them).",
                width.unwrap_or_default(),
                hidden.join(", ")
            ));
        }
        for n in notes {
            for l in wrap(&n, width, 2) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }

    /// The table text and the names of the columns hidden to fit `width`.
    fn fitted(&self, width: Option<usize>) -> (String, Vec<String>) {
        let n = self.header.len();
        let mut shown: Vec<usize> = (0..n).collect();
        let mut header = self.header.clone();
        let full = self.render(&header, &shown, &[], None);
        let Some(width) = width else {
            return (full, Vec::new());
        };
        if width_of(&full) <= width {
            return (full, Vec::new());
        }
        for (i, h) in header.iter_mut().enumerate() {
            if let Some(s) = self.column_fit(i).short {
                *h = s.to_owned();
            }
        }
        let mut drops: Vec<(u8, usize)> = (0..n)
            .filter_map(|i| self.column_fit(i).drop.map(|r| (r, i)))
            .collect();
        drops.sort();
        let mut hidden = Vec::new();
        let mut drops = drops.into_iter();
        loop {
            let t = self.render(&header, &shown, &[], None);
            if width_of(&t) <= width {
                return (t, hidden);
            }
            let Some((_, i)) = drops.next() else { break };
            shown.retain(|&c| c != i);
            hidden.push(self.header[i].clone());
        }
        // Cut names, widest first, one character at a time.
        let mut limits: Vec<(usize, usize)> = shown
            .iter()
            .filter(|&&i| self.text_fit(i) == TextFit::Cut)
            .map(|&i| (i, self.content_width(i)))
            .collect();
        loop {
            let t = self.render(&header, &shown, &limits, None);
            let over = width_of(&t).saturating_sub(width);
            if over == 0 {
                return (t, hidden);
            }
            let Some(widest) = limits
                .iter_mut()
                .filter(|(_, w)| *w > MIN_CUT)
                .max_by_key(|(_, w)| *w)
            else {
                break;
            };
            widest.1 -= 1;
        }
        (self.render(&header, &shown, &limits, Some(width)), hidden)
    }

    fn content_width(&self, i: usize) -> usize {
        self.rows
            .iter()
            .filter_map(|r| r.get(i))
            .map(|c| width_of(c))
            .max()
            .unwrap_or(0)
    }

    /// Renders the `shown` columns; `limits` cuts columns to a width; `wrap_to` lets prose
    /// columns wrap to fit that table width.
    fn render(
        &self,
        header: &[String],
        shown: &[usize],
        limits: &[(usize, usize)],
        wrap_to: Option<usize>,
    ) -> String {
        let pick = |row: &[String]| -> Vec<String> {
            shown
                .iter()
                .map(|&i| {
                    let c = row.get(i).cloned().unwrap_or_default();
                    match limits.iter().find(|(j, _)| *j == i) {
                        Some((_, w)) => cut(&c, *w),
                        None => c,
                    }
                })
                .collect()
        };
        let head: Vec<&str> = shown.iter().map(|&i| header[i].as_str()).collect();
        let mut t = new_table(&head);
        for row in &self.rows {
            t.add_row(pick(row));
        }
        if let Some(w) = wrap_to {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w).unwrap_or(u16::MAX));
            let constraints: Vec<ColumnConstraint> = shown
                .iter()
                .map(|&i| match self.text_fit(i) {
                    TextFit::Wrap => {
                        ColumnConstraint::LowerBoundary(comfy_table::Width::Fixed(MIN_CUT as u16))
                    }
                    _ => ColumnConstraint::ContentWidth,
                })
                .collect();
            t.set_constraints(constraints);
        }
        t.to_string()
    }

    pub fn to_markdown(&self) -> String {
        format!("## {}\n\n{}", self.title, self.markdown_table())
    }

    /// The table alone, without its title, followed by its notes.
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
        for n in &self.notes {
            out.push_str(&format!("\n{n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    fn wide() -> Section {
        Section::new(
            "t",
            &["name", "price (USD)", "load W", "note"],
            vec![
                vec![
                    "A very long product name of a board".into(),
                    "$12,345".into(),
                    "1,576".into(),
                    "a note that explains a great many things".into(),
                ],
                vec!["short".into(), "$9".into(), "80".into(), String::new()],
            ],
        )
        .with_fit(vec![
            ColumnFit {
                text: TextFit::Cut,
                ..ColumnFit::default()
            },
            ColumnFit::keep("price"),
            ColumnFit::drop("W", 1),
            ColumnFit::drop("note", 0).with(TextFit::Cut),
        ])
    }

    #[test]
    fn a_whole_table_prints_when_no_width_is_known() {
        let s = wide().to_terminal(None);
        assert!(
            s.contains("a note that explains a great many things"),
            "{s}"
        );
        assert!(s.contains("price (USD)"));
        assert!(!s.contains("Hidden"));
    }

    #[test]
    fn narrow_tables_shorten_headers_then_drop_then_cut_but_never_numbers() {
        for width in [60, 50, 40, 30] {
            let s = wide().to_terminal(Some(width));
            let table: Vec<&str> = s
                .lines()
                .filter(|l| l.starts_with(['│', '┌', '└', '╞', '├']))
                .collect();
            // One line per row: header, two rows, four rules.
            assert_eq!(table.len(), 6, "{width}:\n{s}");
            assert!(s.contains("$12,345"), "{width}:\n{s}");
            for l in s.lines().filter(|l| l.starts_with('│')) {
                assert!(l.chars().count() <= width, "{width}: {l}");
            }
        }
        let s = wide().to_terminal(Some(60));
        assert!(s.contains("┆ price ") && !s.contains("note that"), "{s}");
        assert!(s.contains("Hidden to fit 60 columns: note"), "{s}");
        let s = wide().to_terminal(Some(30)).replace("\n  ", " ");
        assert!(s.contains("Hidden to fit 30 columns: note, load W"), "{s}");
        assert!(
            s.contains("A very long pro…") && s.contains("$12,345"),
            "{s}"
        );
    }

    #[test]
    fn prose_wraps_inside_its_cell_and_numbers_stay_whole() {
        let s = Section::new(
            "Warnings",
            &["option", "warning"],
            vec![vec![
                "2×rtx-4090".into(),
                "the catalog does not give the slot spacing of this board: check that the cards fit side by side".into(),
            ]],
        );
        let out = s.to_terminal(Some(50));
        assert!(out.lines().all(|l| l.chars().count() <= 50), "{out}");
        assert!(out.contains("2×rtx-4090"), "{out}");
        assert!(out.lines().count() > 6, "wrapped: {out}");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        assert_eq!(
            wrap("price $31,234 from parts dated 2025", Some(16), 2),
            ["price $31,234", "  from parts", "  dated 2025"]
        );
        assert_eq!(wrap("x", None, 4), ["x"]);
        assert_eq!(cut("abcdefghijkl", 6), "abcde…");
    }

    #[test]
    fn glued_words_move_together_and_print_as_spaces() {
        let text = "circuits: 1\u{a0}×\u{a0}EU\u{a0}16\u{a0}A or 2\u{a0}×\u{a0}US\u{a0}15\u{a0}A";
        assert_eq!(
            wrap(text, Some(16), 0),
            ["circuits:", "1 × EU 16 A or", "2 × US 15 A"]
        );
        assert_eq!(
            wrap(text, None, 0),
            ["circuits: 1 × EU 16 A or 2 × US 15 A"]
        );
    }
}
