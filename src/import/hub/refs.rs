//! Hub model names on the command line: `org/name`, `org/name@revision`, `org/name:file.gguf`,
//! each optionally prefixed `hf:` (which forces the Hub over a local path or catalog id, and
//! allows a bare legacy `name`).
use super::HubError;

/// A model repository on the Hub, at a revision, optionally one GGUF file in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// `org/name` (or a legacy bare `name` given as `hf:name`).
    pub repo: String,
    /// A branch, tag or commit; `None` means `main`.
    pub revision: Option<String>,
    /// A `.gguf` file in the repository, possibly in a folder (`BF16/x.gguf`).
    pub file: Option<String>,
}

/// The branch read when no revision is given.
pub const DEFAULT_REVISION: &str = "main";
/// Longest part of a repo id the Hub accepts.
const MAX_PART: usize = 96;
const MAX_REVISION: usize = 256;
const MAX_FILE: usize = 1024;

impl HubRef {
    /// Parses `text` when it names the Hub: always with `hf:` (errors then say what is wrong),
    /// else only when it has the `org/name` shape. `None` for anything else (a catalog id).
    pub fn parse(text: &str) -> Result<Option<HubRef>, HubError> {
        match text.strip_prefix("hf:") {
            Some(rest) => Self::parse_parts(rest, true)
                .map(Some)
                .map_err(|why| HubError::BadRef {
                    text: text.to_owned(),
                    why,
                }),
            None => Ok(Self::parse_parts(text, false).ok()),
        }
    }

    fn parse_parts(text: &str, forced: bool) -> Result<HubRef, String> {
        let (head, file) = match text.split_once(':') {
            Some((head, file)) => (head, Some(file)),
            None => (text, None),
        };
        let (repo, revision) = match head.split_once('@') {
            Some((repo, rev)) => (repo, Some(rev)),
            None => (head, None),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        match parts.as_slice() {
            [org, name] => {
                check_part(org)?;
                check_part(name)?;
            }
            [name] if forced => check_part(name)?,
            _ => return Err("expected org/name".into()),
        }
        if let Some(rev) = revision {
            check_revision(rev)?;
        }
        if let Some(file) = file {
            check_file(file)?;
        }
        Ok(HubRef {
            repo: repo.to_owned(),
            revision: revision.map(str::to_owned),
            file: file.map(str::to_owned),
        })
    }

    /// The revision asked for, `main` by default.
    pub fn revision(&self) -> &str {
        self.revision.as_deref().unwrap_or(DEFAULT_REVISION)
    }
}

impl std::fmt::Display for HubRef {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}", self.repo)?;
        if let Some(rev) = &self.revision {
            write!(f, "@{rev}")?;
        }
        if let Some(file) = &self.file {
            write!(f, ":{file}")?;
        }
        Ok(())
    }
}

/// The Hub's rule for an org or repo name: letters, digits, `-`, `_`, `.`, at most 96, no
/// `--` or `..`, not starting or ending with `-` or `.`.
fn check_part(part: &str) -> Result<(), String> {
    let ok_chars = part
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let edges = |c: char| c == '-' || c == '.';
    if part.is_empty() || part.len() > MAX_PART || !ok_chars {
        return Err(format!(
            "'{part}' is not a repo name (letters, digits, '-', '_', '.', at most {MAX_PART})"
        ));
    }
    if part.contains("--")
        || part.contains("..")
        || part.starts_with(edges)
        || part.ends_with(edges)
    {
        return Err(format!(
            "'{part}' is not a repo name ('--' and '..' are not allowed, nor '-' or '.' at either end)"
        ));
    }
    Ok(())
}

/// A branch, tag or commit: printable, no spaces, no `..` (git's own rule), no `:`.
fn check_revision(rev: &str) -> Result<(), String> {
    let printable = rev.chars().all(|c| c.is_ascii_graphic() && c != ':');
    if rev.is_empty() || rev.len() > MAX_REVISION || !printable || rev.contains("..") {
        return Err(format!(
            "'{rev}' is not a revision (a branch, tag or commit)"
        ));
    }
    Ok(())
}

/// A `.gguf` file inside the repository: folders allowed, never `.`/`..` or an absolute path.
fn check_file(file: &str) -> Result<(), String> {
    let bad_segment = file
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    let printable = file.chars().all(|c| !c.is_control() && c != '\\');
    if file.len() > MAX_FILE || bad_segment || !printable {
        return Err(format!("'{file}' is not a file path inside the repository"));
    }
    if !file.to_ascii_lowercase().ends_with(".gguf") {
        return Err(format!(
            "'{file}': only a .gguf file may be named (safetensors repos are read whole: drop ':{file}')"
        ));
    }
    Ok(())
}

/// Whether `rev` is a full commit id (40 lowercase hex digits), which never moves.
pub(super) fn is_commit(rev: &str) -> bool {
    rev.len() == 40
        && rev
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Percent-encodes one URL path segment (RFC 3986 unreserved characters stay).
pub(super) fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a path inside a repository, keeping its `/`.
pub(super) fn escape_path(path: &str) -> String {
    path.split('/')
        .map(escape_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<HubRef> {
        HubRef::parse(s).unwrap()
    }

    #[test]
    fn the_org_name_shape_names_the_hub() {
        let r = parse("Qwen/Qwen3-32B").unwrap();
        assert_eq!(
            (r.repo.as_str(), r.revision(), r.file.as_deref()),
            ("Qwen/Qwen3-32B", "main", None)
        );
        let r = parse("hf:meta-llama/Llama-3.1-8B@refs/pr/1").unwrap();
        assert_eq!(r.revision.as_deref(), Some("refs/pr/1"));
        let r = parse("unsloth/Qwen3-8B-GGUF@v1:BF16/Qwen3-8B-BF16.gguf").unwrap();
        assert_eq!(r.file.as_deref(), Some("BF16/Qwen3-8B-BF16.gguf"));
        assert_eq!(
            r.to_string(),
            "unsloth/Qwen3-8B-GGUF@v1:BF16/Qwen3-8B-BF16.gguf"
        );
        // A bare name is a catalog id unless hf: forces the Hub.
        assert_eq!(parse("gpt2"), None);
        assert_eq!(parse("hf:gpt2").unwrap().repo, "gpt2");
    }

    #[test]
    fn other_shapes_are_not_hub_names_and_hf_says_why() {
        for s in [
            "./a/b",
            "/abs/path",
            "a/b/c",
            "a/",
            "-a/b",
            "a--b/c",
            "a/b..c",
            "a b/c",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
        let e = HubRef::parse("hf:a/b:model.safetensors")
            .unwrap_err()
            .to_string();
        assert!(e.contains("only a .gguf file may be named"), "{e}");
        let e = HubRef::parse("hf:a/b:../x.gguf").unwrap_err().to_string();
        assert!(e.contains("not a file path inside the repository"), "{e}");
        let e = HubRef::parse("hf:a/b@x..y").unwrap_err().to_string();
        assert!(e.contains("not a revision"), "{e}");
        let e = HubRef::parse("hf:a/b/c").unwrap_err().to_string();
        assert_eq!(
            e,
            "'hf:a/b/c' is not a Hugging Face model id: expected org/name"
        );
    }

    #[test]
    fn escaping_keeps_unreserved_characters() {
        assert_eq!(escape_segment("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(escape_path("BF16/a b+c.gguf"), "BF16/a%20b%2Bc.gguf");
        assert!(is_commit(&"a".repeat(40)));
        assert!(!is_commit(&"A".repeat(40)));
        assert!(!is_commit("main"));
    }
}
