//! Text from files and arguments llmrig did not write (tensor names, GGUF strings, shard and
//! file names) is shown only through these functions, so a name cannot move the cursor, colour
//! the terminal, reorder the line or fill the screen.

/// Longest untrusted name shown in a message, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// Longest error message printed, in bytes (the start, which names the file, is kept).
pub const MAX_ERROR_BYTES: usize = 500;

/// Characters that change how a terminal shows text: C0/C1 controls, and Unicode format
/// characters that reorder a line (bidi overrides and isolates) or hide text.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// An untrusted name for a message: unsafe characters escaped (`\n`, `\u{1b}`), at most
/// [`MAX_NAME_CHARS`] characters, with `…` where it was cut.
pub fn name(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_NAME_CHARS {
            out.push('…');
            break;
        }
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Every unsafe character escaped (newlines too), nothing cut: for the fields of an error
/// type's message, so a library error is one line whatever the file held.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A path for an error message, escaped like [`escape`].
pub fn path(p: &std::path::Path) -> String {
    escape(&p.display().to_string()).into_owned()
}

/// Terminal output: unsafe characters escaped except newlines and tabs, which lay out tables.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' && c != '\t' {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// One line for an error: every unsafe character escaped (newlines too) and at most
/// [`MAX_ERROR_BYTES`] bytes, cut at a character boundary with `…`.
pub fn line(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim_end().chars() {
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
        if out.len() > MAX_ERROR_BYTES {
            let mut cut = MAX_ERROR_BYTES - '…'.len_utf8();
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_capped() {
        assert_eq!(name("w\n\u{1b}[31mred"), "w\\n\\u{1b}[31mred");
        assert_eq!(name("a\u{202E}b"), "a\\u{202e}b");
        let long = "x".repeat(1000);
        let shown = name(&long);
        assert_eq!(shown.chars().count(), MAX_NAME_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(name("plain-name.weight"), "plain-name.weight");
    }

    #[test]
    fn terminal_text_keeps_layout_but_not_escapes() {
        assert_eq!(terminal("a\tb\nc"), "a\tb\nc");
        assert_eq!(terminal("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\r");
    }

    #[test]
    fn error_lines_are_one_line_and_bounded() {
        assert_eq!(line("bad\nthing\n"), "bad\\nthing");
        let long = "é".repeat(2000);
        let l = line(&long);
        assert!(
            l.len() <= MAX_ERROR_BYTES && l.ends_with('…'),
            "{}",
            l.len()
        );
        assert!(!l.contains('\n'));
    }
}
