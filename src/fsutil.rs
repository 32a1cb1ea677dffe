//! Files in and out.
//!
//! - [`write_atomic`]: write a uniquely named temporary file beside the target, fsync it, rename
//!   it over the target and fsync the directory, so a reader never sees half a file, an
//!   interrupted write never destroys the old one, and concurrent writers (even in different
//!   PID namespaces, where process ids repeat) never share a temporary file.
//! - [`Input`] and [`read_limited`]: the one way llmrig opens a file it did not write (model
//!   files, catalog overlays, report inputs). The file type is checked before anything is read:
//!   a regular file, or, where the caller allows it, a pipe or FIFO (`<(cat config.json)`).
//!   Devices, sockets and directories are refused, so `/dev/zero` or a FIFO with no writer
//!   cannot make a command read forever or hang. Whole-file reads stop at a caller's limit.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes `bytes` to `path` atomically, creating parent directories. A new file is readable
/// by everyone (0644); a replaced file keeps its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs_err::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    // O_EXCL with a random name: unique whatever the process id.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On error the temporary file is removed when `tmp` drops.
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory entry is on disk.
    File::open(dir)?.sync_all()
}

/// Whether a reader takes a pipe or FIFO as well as a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipes {
    /// Regular files only (files found inside directories: shards, catalog overlays).
    Refuse,
    /// Also a pipe or FIFO named on the command line.
    Accept,
}

/// How long a pipe or FIFO may stay silent after opening before the read fails: a FIFO that
/// no process writes to would otherwise block forever.
pub const PIPE_WAIT: Duration = Duration::from_secs(5);

/// Why a file could not be read. Every message names the file (escaped: one line).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading '{}': {cause}", crate::sanitize::path(path))]
    Io { path: PathBuf, cause: io::Error },
    #[error("'{}' is {what}, not a regular file", crate::sanitize::path(path))]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("'{}' is {} bytes, over the {limit}-byte limit for {what}", crate::sanitize::path(path), fmt_len(*len, *limit))]
    TooLarge {
        path: PathBuf,
        /// The size when known (regular files); `None` for a pipe that went past the limit.
        len: Option<u64>,
        limit: u64,
        what: &'static str,
    },
    #[error("'{}': nothing arrived through the pipe within {} s (a FIFO that no process writes to?)", crate::sanitize::path(path), PIPE_WAIT.as_secs())]
    PipeTimeout { path: PathBuf },
}

fn fmt_len(len: Option<u64>, limit: u64) -> String {
    len.map_or_else(|| format!("more than {limit}"), |l| l.to_string())
}

impl ReadError {
    /// An I/O error on `path`.
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> ReadError + '_ {
        move |cause| ReadError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// Words for a file type that is not a regular file.
fn describe(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO or pipe"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// An opened input: a regular file (with its length) or a pipe, read through one buffer.
/// Bytes looked at with [`Input::peek`] are read again by the next read.
pub struct Input {
    path: PathBuf,
    reader: BufReader<File>,
    /// Length of a regular file; `None` for a pipe.
    len: Option<u64>,
    /// Bytes peeked but not yet consumed.
    head: Vec<u8>,
}

impl Input {
    /// Opens `path` after checking its type (following symlinks). A pipe waits at most
    /// [`PIPE_WAIT`] for its first byte.
    pub fn open(path: &Path, pipes: Pipes) -> Result<Input, ReadError> {
        let not_regular = |what| ReadError::NotRegular {
            path: path.to_path_buf(),
            what,
        };
        // Checked before opening: opening a device or a FIFO can block or have effects.
        let ft = std::fs::metadata(path)
            .map_err(ReadError::io(path))?
            .file_type();
        let pipe_ok = pipes == Pipes::Accept && ft.is_fifo();
        if !ft.is_file() && !pipe_ok {
            return Err(not_regular(describe(ft)));
        }
        // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(ReadError::io(path))?;
        // The path may have changed between the check and the open: check what was opened.
        let meta = file.metadata().map_err(ReadError::io(path))?;
        let ft = meta.file_type();
        let len = if ft.is_file() {
            Some(meta.len())
        } else if pipes == Pipes::Accept && ft.is_fifo() {
            wait_readable(&file, path)?;
            None
        } else {
            return Err(not_regular(describe(ft)));
        };
        set_blocking(&file).map_err(ReadError::io(path))?;
        Ok(Input {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            len,
            head: Vec::new(),
        })
    }

    /// The file's length; `None` for a pipe.
    pub fn file_len(&self) -> Option<u64> {
        self.len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Up to `n` leading unread bytes, without consuming them (fewer only at end of input).
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.head.len() < n {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min(n - self.head.len());
            self.head.extend_from_slice(&buf[..take]);
            self.reader.consume(take);
        }
        Ok(&self.head[..self.head.len().min(n)])
    }

    /// Skips `n` bytes: a seek in a file, a read in a pipe. Fails with `UnexpectedEof` when
    /// fewer than `n` remain.
    pub fn skip(&mut self, mut n: u64) -> io::Result<()> {
        let from_head = (n as usize).min(self.head.len()) as u64;
        self.head.drain(..from_head as usize);
        n -= from_head;
        if n == 0 {
            return Ok(());
        }
        if self.len.is_some() {
            let n = i64::try_from(n).map_err(|_| io::ErrorKind::InvalidInput)?;
            return self.reader.seek_relative(n);
        }
        let copied = io::copy(&mut (&mut self.reader).take(n), &mut io::sink())?;
        if copied < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Reads and discards the rest of the input; returns how many bytes that was.
    pub fn drain(&mut self) -> io::Result<u64> {
        let head = self.head.len() as u64;
        self.head.clear();
        Ok(head + io::copy(&mut self.reader, &mut io::sink())?)
    }

    /// The rest of the input, or [`ReadError::TooLarge`] when it exceeds `limit` bytes.
    pub fn read_limited(mut self, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
        let path = self.path.clone();
        let too_large = |len| ReadError::TooLarge {
            path: path.clone(),
            len,
            limit,
            what,
        };
        if let Some(len) = self.len.filter(|&l| l > limit) {
            return Err(too_large(Some(len)));
        }
        let mut buf = Vec::new();
        // One byte past the limit tells a file that grew (or a pipe) from one that fits.
        (&mut self)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(ReadError::io(&path))?;
        if buf.len() as u64 > limit {
            return Err(too_large(None));
        }
        Ok(buf)
    }
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.head.is_empty() {
            let n = out.len().min(self.head.len());
            out[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.reader.read(out)
    }
}

/// Reads all of `path` (a regular file, or a pipe where `pipes` allows) up to `limit` bytes.
pub fn read_limited(
    path: &Path,
    limit: u64,
    what: &'static str,
    pipes: Pipes,
) -> Result<Vec<u8>, ReadError> {
    Input::open(path, pipes)?.read_limited(limit, what)
}

/// Waits until the pipe has data or its writer has closed, at most [`PIPE_WAIT`].
fn wait_readable(file: &File, path: &Path) -> Result<(), ReadError> {
    use std::os::fd::AsRawFd;
    let mut fds = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = std::time::Instant::now() + PIPE_WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(ReadError::PipeTimeout {
                path: path.to_path_buf(),
            });
        }
        // SAFETY: `fds` is one valid pollfd for an open descriptor that outlives the call.
        let ready =
            unsafe { libc::poll(&mut fds, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        match ready {
            n if n > 0 => return Ok(()),
            0 => continue,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(ReadError::io(path)(e));
                }
            }
        }
    }
}

/// Clears `O_NONBLOCK` so later reads wait for data as usual.
fn set_blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/plan.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn concurrent_writers_leave_one_complete_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("same.json");
        std::thread::scope(|s| {
            for i in 0..16u8 {
                let path = &path;
                s.spawn(move || write_atomic(path, &vec![b'a' + i; 100_000]).unwrap());
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 100_000);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "one writer's bytes");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        let e = read_limited(Path::new("/dev/zero"), 10, "test input", Pipes::Accept)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "'/dev/zero' is a character device, not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let e = read_limited(dir.path(), 10, "test input", Pipes::Accept)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("is a directory, not a regular file"), "{e}");
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, [b'x'; 11]).unwrap();
        assert_eq!(
            read_limited(&path, 11, "test input", Pipes::Refuse)
                .unwrap()
                .len(),
            11
        );
        let e = read_limited(&path, 10, "test input", Pipes::Refuse)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("is 11 bytes, over the 10-byte limit for test input"),
            "{e}"
        );
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_is_refused_or_read_but_never_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.json");
        mkfifo(&fifo);
        let e = Input::open(&fifo, Pipes::Refuse).err().unwrap().to_string();
        assert!(e.ends_with("is a FIFO or pipe, not a regular file"), "{e}");

        let start = std::time::Instant::now();
        let e = Input::open(&fifo, Pipes::Accept).err().unwrap().to_string();
        assert!(
            e.contains("nothing arrived through the pipe within 5 s"),
            "{e}"
        );
        assert!(start.elapsed() < PIPE_WAIT + Duration::from_secs(2));

        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"{\"a\": 1}").unwrap())
        };
        let mut input = Input::open(&fifo, Pipes::Accept).unwrap();
        assert_eq!(input.file_len(), None);
        assert_eq!(input.peek(1).unwrap(), b"{");
        assert_eq!(
            input.read_limited(100, "test input").unwrap(),
            b"{\"a\": 1}"
        );
        writer.join().unwrap();
    }

    #[test]
    fn peeked_bytes_are_read_again_and_skips_work_in_pipes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut input = Input::open(&path, Pipes::Refuse).unwrap();
        assert_eq!(input.file_len(), Some(10));
        assert_eq!(input.peek(3).unwrap(), b"012");
        input.skip(5).unwrap();
        let mut rest = String::new();
        input.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "56789");

        let fifo = dir.path().join("p");
        mkfifo(&fifo);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"0123456789").unwrap())
        };
        let mut input = Input::open(&fifo, Pipes::Accept).unwrap();
        assert_eq!(input.peek(2).unwrap(), b"01");
        input.skip(4).unwrap();
        assert_eq!(input.drain().unwrap(), 6);
        assert_eq!(
            input.skip(1).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        writer.join().unwrap();
    }
}
