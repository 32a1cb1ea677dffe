//! A GGUF header read over HTTP: the header's length is only known once it is parsed, so the
//! parser reads through [`RangeReader`], which fetches ranges that double in size as it goes
//! and stops at [`MAX_GGUF_HEADER_BYTES`]. What the parser consumed is what gets cached.
//!
//! A split GGUF (`name-00001-of-00003.gguf`, as llama.cpp's `gguf-split` writes it) is read
//! whole: the architecture from the first part, the weights summed over every part.
use super::http::Client;
use super::{HubError, GGUF_FIRST_CHUNK, GGUF_MAX_CHUNK, MAX_GGUF_HEADER_BYTES};
use crate::import::gguf::{self, Part, Source};
use crate::import::{ImportError, ImportedModel};
use std::io::{self, Read};
use std::path::Path;

/// The file read so far, from byte 0, fetched on demand.
struct RangeReader<'c> {
    client: &'c Client,
    url: &'c str,
    /// The file's size, from the first response's `Content-Range`.
    total: u64,
    fetched: Vec<u8>,
    pos: u64,
    chunk: u64,
    /// Why the last fetch failed; reported instead of the parser's I/O error.
    failure: Option<HubError>,
}

impl RangeReader<'_> {
    /// Fetches until `end` bytes are held (or the file ends).
    fn fill_to(&mut self, end: u64) -> io::Result<()> {
        while (self.fetched.len() as u64) < end.min(self.total) {
            let have = self.fetched.len() as u64;
            if have >= MAX_GGUF_HEADER_BYTES {
                self.failure = Some(HubError::TooLarge {
                    url: self.url.to_owned(),
                    len: None,
                    limit: MAX_GGUF_HEADER_BYTES,
                    what: "a GGUF header",
                });
                return Err(io::Error::other("GGUF header too large"));
            }
            let len = self
                .chunk
                .min(self.total - have)
                .min(MAX_GGUF_HEADER_BYTES - have);
            match self.client.get_range(self.url, have, len) {
                Ok((bytes, _)) => self.fetched.extend_from_slice(&bytes),
                Err(e) => {
                    self.failure = Some(e);
                    return Err(io::Error::other("range request failed"));
                }
            }
            self.chunk = (self.chunk * 2).min(GGUF_MAX_CHUNK);
        }
        Ok(())
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.fill_to(self.pos + out.len() as u64)?;
        let start = (self.pos as usize).min(self.fetched.len());
        let n = out.len().min(self.fetched.len() - start);
        out[..n].copy_from_slice(&self.fetched[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Source for RangeReader<'_> {
    /// Skipped bytes are header bytes (the tokenizer's arrays): fetched too, so the cached copy
    /// holds them.
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let target = self.pos.checked_add(n).ok_or(io::ErrorKind::InvalidInput)?;
        self.fill_to(target)?;
        if target > self.fetched.len() as u64 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos = target;
        Ok(())
    }

    /// Never needed: the file's size is known from `Content-Range`.
    fn drain(&mut self) -> io::Result<u64> {
        Ok(self.total.saturating_sub(self.pos))
    }
}

/// A cached header, read as the start of the file it came from.
struct CachedHead(io::Cursor<Vec<u8>>);

impl Read for CachedHead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}

impl Source for CachedHead {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let left = self.0.get_ref().len() as u64 - self.0.position();
        if n > left {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.0.set_position(self.0.position() + n);
        Ok(())
    }

    fn drain(&mut self) -> io::Result<u64> {
        let left = self.0.get_ref().len() as u64 - self.0.position();
        self.0.set_position(self.0.get_ref().len() as u64);
        Ok(left)
    }
}

/// Reads the header of the GGUF file at `url`; returns it parsed, the header bytes the
/// parser consumed, and the file's size.
pub(super) fn read(client: &Client, url: &str) -> Result<(Part, Vec<u8>, u64), ImportError> {
    let (first, total) = client.get_range(url, 0, GGUF_FIRST_CHUNK)?;
    let mut reader = RangeReader {
        client,
        url,
        total,
        fetched: first,
        pos: 0,
        chunk: GGUF_FIRST_CHUNK * 2,
        failure: None,
    };
    let parsed = gguf::parse_part(Path::new(url), &mut reader, Some(total));
    if let Some(e) = reader.failure.take() {
        return Err(e.into());
    }
    let part = parsed?;
    let consumed = reader.pos as usize;
    reader.fetched.truncate(consumed);
    Ok((part, reader.fetched, total))
}

/// Parses a cached GGUF header of a file of `size` bytes.
pub(super) fn read_cached(url: &str, head: Vec<u8>, size: u64) -> Result<Part, ImportError> {
    gguf::parse_part(
        Path::new(url),
        CachedHead(io::Cursor::new(head)),
        Some(size),
    )
}

/// One import from the parts of a split GGUF (or the one file), named as the repository
/// names them (with their folders); `first_url` names the model in errors.
pub(super) fn combine(
    first_url: &str,
    names: &[String],
    parts: Vec<Part>,
) -> Result<ImportedModel, ImportError> {
    let mut imported = gguf::import_parts(Path::new(first_url), parts)?;
    if let Some(w) = imported.weights.as_mut() {
        w.files = names.to_vec();
    }
    Ok(imported)
}

/// Most parts of a split GGUF read (llama.cpp numbers them with five digits).
const MAX_SPLIT_PARTS: u64 = 1000;

/// Every part of the split GGUF that `file` is one of (`…-00002-of-00003.gguf` gives parts
/// 1 to 3), or `None` for a file that is not named as a part.
pub(super) fn split_parts(file: &str) -> Option<Vec<String>> {
    let stem = file.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(count) || !digits(no) {
        return None;
    }
    let (n, no): (u64, u64) = (count.parse().ok()?, no.parse().ok()?);
    if !(2..=MAX_SPLIT_PARTS).contains(&n) || !(1..=n).contains(&no) {
        return None;
    }
    Some(
        (1..=n)
            .map(|i| format!("{prefix}-{i:05}-of-{count}.gguf"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::split_parts;

    #[test]
    fn split_names_give_every_part() {
        assert_eq!(
            split_parts("Q8_0/m-00002-of-00003.gguf").unwrap(),
            [
                "Q8_0/m-00001-of-00003.gguf",
                "Q8_0/m-00002-of-00003.gguf",
                "Q8_0/m-00003-of-00003.gguf"
            ]
        );
        for one in [
            "m.gguf",
            "m-00001-of-00001.gguf",
            "m-00004-of-00003.gguf",
            "m-1-of-2.gguf",
            "m-00001-of-00002.bin",
        ] {
            assert_eq!(split_parts(one), None, "{one}");
        }
    }
}
