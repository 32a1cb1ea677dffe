//! The bounds-checked reader under the GGUF parser: metadata values, the ggml type and
//! file-type tables, and the limits on every count and length a header claims.
use super::super::ImportError;
use crate::fsutil::Input;
use std::io::Read;
use std::path::Path;

/// Limits on counts and lengths read from a header (llama.cpp files hold at most a few
/// thousand tensors, a few dozen keys and names under 64 bytes).
pub(super) const MAX_TENSORS: u64 = 1_000_000;
pub(super) const MAX_KV: u64 = 1_000_000;
pub(super) const MAX_STRING_BYTES: u64 = 1 << 20;
/// Elements of one metadata array (a vocabulary has a few hundred thousand).
pub(super) const MAX_ARRAY_LEN: u64 = 1 << 27;
/// Arrays of arrays nest at most this deep.
pub(super) const MAX_ARRAY_DEPTH: u32 = 4;
/// Metadata kept in memory (keys and scalar values; array contents are never kept).
pub(super) const MAX_KEPT_BYTES: u64 = 16 << 20;
pub(super) const MAX_DIMS: u32 = 4;
pub(super) const DEFAULT_ALIGNMENT: u64 = 32;

/// One metadata value; arrays keep only their length.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Meta {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array { len: u64 },
}

impl Meta {
    pub(super) fn as_u64(&self) -> Option<u64> {
        match *self {
            Meta::Uint(v) => Some(v),
            Meta::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        match self {
            Meta::Uint(v) => (*v).into(),
            Meta::Int(v) => (*v).into(),
            Meta::Float(v) => (*v).into(),
            Meta::Bool(v) => (*v).into(),
            Meta::Str(v) => v.clone().into(),
            Meta::Array { len } => serde_json::json!({ "array_len": len }),
        }
    }
}

/// ggml tensor types: (id, name, elements per block, bytes per block), from ggml's
/// `ggml.h` enum and the `block_*` structs in `ggml-common.h`. Removed or unknown ids are
/// rejected rather than guessed.
pub(super) const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
];

/// llama.cpp's `llama_ftype` names for `general.file_type`.
pub(super) const FILE_TYPES: &[(u64, &str)] = &[
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (4, "Q4_1_SOME_F16"),
    (7, "Q8_0"),
    (8, "Q5_0"),
    (9, "Q5_1"),
    (10, "Q2_K"),
    (11, "Q3_K_S"),
    (12, "Q3_K_M"),
    (13, "Q3_K_L"),
    (14, "Q4_K_S"),
    (15, "Q4_K_M"),
    (16, "Q5_K_S"),
    (17, "Q5_K_M"),
    (18, "Q6_K"),
    (19, "IQ2_XXS"),
    (20, "IQ2_XS"),
    (21, "Q2_K_S"),
    (22, "IQ3_XS"),
    (23, "IQ3_XXS"),
    (24, "IQ1_S"),
    (25, "IQ4_NL"),
    (26, "IQ3_S"),
    (27, "IQ3_M"),
    (28, "IQ2_S"),
    (29, "IQ2_M"),
    (30, "IQ4_XS"),
    (31, "IQ1_M"),
    (32, "BF16"),
    (36, "TQ1_0"),
    (37, "TQ2_0"),
    (38, "MXFP4_MOE"),
    (39, "NVFP4"),
    (40, "Q1_0"),
];

/// A reader that knows the file length and refuses to read or skip past it (a pipe's length
/// is unknown: `u64::MAX` until its end is reached).
pub(super) struct Reader<'p, S> {
    pub(super) inner: S,
    pub(super) pos: u64,
    pub(super) len: u64,
    pub(super) path: &'p Path,
}

impl<S: Source> Reader<'_, S> {
    pub(super) fn err(&self, message: String) -> ImportError {
        ImportError::Gguf {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// A read that ran out of input (only a pipe can: a file's length is checked first) reads
    /// as truncation.
    pub(super) fn eof_or_io(&self, e: std::io::Error, what: &dyn Fn() -> String) -> ImportError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.err(format!(
                "{} runs past the end of the input at offset {} (truncated?)",
                what(),
                self.pos
            ))
        } else {
            ImportError::io(self.path)(e)
        }
    }

    /// Fails unless `n` more bytes exist.
    pub(super) fn need(&self, n: u64, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        let left = self.len - self.pos;
        if n > left {
            return Err(self.err(format!(
                "{} needs {n} bytes at offset {} but only {left} remain (truncated?)",
                what(),
                self.pos
            )));
        }
        Ok(())
    }

    pub(super) fn fixed<const N: usize>(
        &mut self,
        what: &dyn Fn() -> String,
    ) -> Result<[u8; N], ImportError> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.eof_or_io(e, what))?;
        self.pos += N as u64;
        Ok(buf)
    }

    pub(super) fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, ImportError> {
        self.fixed::<4>(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, ImportError> {
        self.fixed::<8>(what).map(u64::from_le_bytes)
    }

    pub(super) fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        self.need(n, what)?;
        self.inner.skip(n).map_err(|e| self.eof_or_io(e, what))?;
        self.pos += n;
        Ok(())
    }

    /// A string's length, checked against the limit and the bytes left.
    pub(super) fn string_len(&mut self, what: &dyn Fn() -> String) -> Result<u64, ImportError> {
        let len = self.u64(what)?;
        if len > MAX_STRING_BYTES {
            return Err(self.err(format!(
                "{}: string length {len} exceeds the {MAX_STRING_BYTES}-byte limit",
                what()
            )));
        }
        self.need(len, what)?;
        Ok(len)
    }

    pub(super) fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, ImportError> {
        let len = self.string_len(what)?;
        // Bounded by MAX_STRING_BYTES and by the file.
        let mut buf = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.eof_or_io(e, what))?;
        self.pos += len;
        String::from_utf8(buf).map_err(|_| self.err(format!("{} is not UTF-8", what())))
    }

    pub(super) fn skip_string(&mut self, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        let len = self.string_len(what)?;
        self.skip(len, what)
    }

    /// One metadata value of type `ty`. Arrays are walked (every length checked) and skipped.
    pub(super) fn value(
        &mut self,
        ty: u32,
        depth: u32,
        what: &dyn Fn() -> String,
    ) -> Result<Meta, ImportError> {
        Ok(match ty {
            0 => Meta::Uint(self.fixed::<1>(what)?[0].into()),
            1 => Meta::Int(i8::from_le_bytes(self.fixed::<1>(what)?).into()),
            2 => Meta::Uint(u16::from_le_bytes(self.fixed::<2>(what)?).into()),
            3 => Meta::Int(i16::from_le_bytes(self.fixed::<2>(what)?).into()),
            4 => Meta::Uint(self.u32(what)?.into()),
            5 => Meta::Int(i32::from_le_bytes(self.fixed::<4>(what)?).into()),
            6 => Meta::Float(f32::from_le_bytes(self.fixed::<4>(what)?).into()),
            7 => match self.fixed::<1>(what)?[0] {
                0 => Meta::Bool(false),
                1 => Meta::Bool(true),
                b => {
                    return Err(self.err(format!("{}: boolean byte {b} is neither 0 nor 1", what())))
                }
            },
            8 => Meta::Str(self.string(what)?),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.err(format!(
                        "{}: arrays nested deeper than {MAX_ARRAY_DEPTH}",
                        what()
                    )));
                }
                let elem = self.u32(what)?;
                let len = self.u64(what)?;
                if len > MAX_ARRAY_LEN {
                    return Err(self.err(format!(
                        "{}: array length {len} exceeds the limit of {MAX_ARRAY_LEN}",
                        what()
                    )));
                }
                match value_size(elem) {
                    Some(size) => self.skip(len * size, what)?,
                    None => {
                        // Strings take at least 8 bytes and arrays 12, so a length the file
                        // cannot hold fails here instead of looping.
                        let min = if elem == 8 { 8 } else { 12 };
                        self.need(len * min, what)?;
                        for _ in 0..len {
                            match elem {
                                8 => self.skip_string(what)?,
                                _ => {
                                    self.value(elem, depth + 1, what)?;
                                }
                            }
                        }
                    }
                }
                Meta::Array { len }
            }
            10 => Meta::Uint(self.u64(what)?),
            11 => Meta::Int(i64::from_le_bytes(self.fixed::<8>(what)?)),
            12 => Meta::Float(f64::from_le_bytes(self.fixed::<8>(what)?)),
            other => {
                return Err(self.err(format!("{}: unknown metadata value type {other}", what())))
            }
        })
    }
}

/// Bytes of one fixed-size metadata value; `None` for strings, arrays and unknown types.
pub(super) fn value_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// What a GGUF header is read from: a file or pipe ([`Input`]), or the bytes a Hub client
/// fetches or cached.
pub(in crate::import) trait Source: Read {
    /// Skips `n` bytes; `UnexpectedEof` when fewer remain.
    fn skip(&mut self, n: u64) -> std::io::Result<()>;
    /// Reads and discards the rest; returns how many bytes that was.
    fn drain(&mut self) -> std::io::Result<u64>;
}

impl Source for Input {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        Input::skip(self, n)
    }
    fn drain(&mut self) -> std::io::Result<u64> {
        Input::drain(self)
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        (**self).skip(n)
    }
    fn drain(&mut self) -> std::io::Result<u64> {
        (**self).drain()
    }
}
