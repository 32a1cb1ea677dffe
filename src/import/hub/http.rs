//! The only code in llmrig that talks to the network: GET requests to the Hub through `ureq`
//! (rustls), whole small files or byte ranges, each with a size cap, a timeout and a check that
//! the response is complete. Status codes become [`HubError`]s that say what to do.
use super::{HubConfig, HubError};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use ureq::http::{header, StatusCode};

/// Bytes read from a body per call, so a truncated response reports how far it got.
const READ_CHUNK: usize = 64 << 10;

/// A Hub client for one repository: endpoint, token, timeouts and what it has transferred.
pub(super) struct Client {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
    repo: String,
    timeout: Duration,
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl Client {
    pub(super) fn new(cfg: &HubConfig, repo: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            // Status codes are mapped here, with the repo and the fix in the message.
            .http_status_as_error(false)
            .timeout_connect(Some(cfg.timeout))
            .timeout_recv_response(Some(cfg.timeout))
            .timeout_per_read(Some(cfg.timeout))
            // The token follows a redirect only to the same host; a CDN gets a signed URL.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .user_agent(concat!("llmrig/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            agent,
            endpoint: cfg.endpoint.clone(),
            token: cfg.token.clone(),
            repo: repo.to_owned(),
            timeout: cfg.timeout,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// HTTP requests sent and response-body bytes received so far.
    pub(super) fn transferred(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// Sends a GET (with `Range: bytes=start-end` when given) and maps error statuses.
    fn get(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ureq::http::Response<ureq::Body>, HubError> {
        let mut req = self
            .agent
            .get(url)
            .header(header::ACCEPT_ENCODING, "identity");
        if let Some(token) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some((start, end)) = range {
            req = req.header(header::RANGE, format!("bytes={start}-{end}"));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.call().map_err(|e| self.transport(url, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let code = resp
            .headers()
            .get("x-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Err(self.status_error(url, status, code.as_deref()))
    }

    /// A whole file or API answer of at most `limit` bytes.
    pub(super) fn get_small(
        &self,
        url: &str,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, HubError> {
        let resp = self.get(url, None)?;
        let declared = content_length(&resp);
        if let Some(len) = declared.filter(|&l| l > limit) {
            return Err(HubError::TooLarge {
                url: url.to_owned(),
                len: Some(len),
                limit,
                what,
            });
        }
        let body = self.read_body(url, resp, limit, what)?;
        if let Some(len) = declared.filter(|&l| l != body.len() as u64) {
            return Err(truncated(url, body.len() as u64, len, None));
        }
        Ok(body)
    }

    /// Bytes `start..start + len` of a file (fewer when the file ends first) and the file's
    /// total size from `Content-Range`. A server that ignores the range is an error: llmrig
    /// never downloads a weights file whole.
    pub(super) fn get_range(
        &self,
        url: &str,
        start: u64,
        len: u64,
    ) -> Result<(Vec<u8>, u64), HubError> {
        let protocol = |message: String| HubError::Protocol {
            url: url.to_owned(),
            message,
        };
        let end = start + len.max(1) - 1;
        let resp = self.get(url, Some((start, end)))?;
        if resp.status() != StatusCode::PARTIAL_CONTENT {
            return Err(protocol(format!(
                "asked for bytes {start}-{end} but got HTTP {} instead of 206 Partial Content (the server ignores ranges; llmrig will not download a whole weights file)",
                resp.status().as_u16()
            )));
        }
        let range = resp
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| protocol("206 response without a Content-Range header".into()))?;
        let (got_start, got_end, total) = parse_content_range(range).ok_or_else(|| {
            protocol(format!(
                "Content-Range '{}' is not 'bytes START-END/SIZE'",
                range.escape_default()
            ))
        })?;
        // The end may be earlier only because the file ends there.
        if got_start != start || got_end > end || (got_end < end && got_end + 1 != total) {
            return Err(protocol(format!(
                "asked for bytes {start}-{end} but the server sent {got_start}-{got_end} of {total}"
            )));
        }
        let expected = got_end - got_start + 1;
        let body = self.read_body(url, resp, expected, "a range response")?;
        if (body.len() as u64) < expected {
            return Err(truncated(url, body.len() as u64, expected, None));
        }
        Ok((body, total))
    }

    /// Reads a body of at most `limit` bytes, counting what arrives.
    fn read_body(
        &self,
        url: &str,
        resp: ureq::http::Response<ureq::Body>,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, HubError> {
        let expected = content_length(&resp);
        let mut reader = resp.into_body().into_reader();
        let mut out = Vec::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(match expected {
                        Some(len) => truncated(url, out.len() as u64, len, Some(e)),
                        None => self.io(url, e),
                    })
                }
            };
            self.bytes.fetch_add(n as u64, Ordering::Relaxed);
            if out.len() as u64 + n as u64 > limit {
                return Err(HubError::TooLarge {
                    url: url.to_owned(),
                    len: expected,
                    limit,
                    what,
                });
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(out)
    }

    fn io(&self, url: &str, e: std::io::Error) -> HubError {
        if e.kind() == std::io::ErrorKind::TimedOut {
            return self.timed_out(url);
        }
        unreachable(url, e.to_string())
    }

    fn timed_out(&self, url: &str) -> HubError {
        HubError::Transport {
            url: url.to_owned(),
            cause: format!("no answer within {} s", self.timeout.as_secs_f64()),
            hint: "set LLMRIG_HUB_TIMEOUT_S for a slower link; --offline reads models cached by an earlier run",
        }
    }

    fn transport(&self, url: &str, e: ureq::Error) -> HubError {
        match e {
            ureq::Error::Timeout(_) => self.timed_out(url),
            ureq::Error::Io(io) => self.io(url, io),
            ureq::Error::HostNotFound => unreachable(url, "host not found".into()),
            ureq::Error::ConnectionFailed => unreachable(url, "could not connect".into()),
            other => unreachable(url, other.to_string()),
        }
    }

    /// What a refused, missing or failed request means, and what to do about it.
    fn status_error(&self, url: &str, status: StatusCode, code: Option<&str>) -> HubError {
        let repo = &self.repo;
        let page = format!("{}/{repo}", self.endpoint);
        let code = code.unwrap_or("");
        let refused = |advice: String| HubError::Refused {
            repo: repo.clone(),
            status: status.as_u16(),
            url: url.to_owned(),
            advice,
        };
        match (status.as_u16(), self.token.is_some()) {
            (401, false) if code == "RepoNotFound" => HubError::NotFound {
                url: url.to_owned(),
                status: 401,
                message: format!(
                    "no model '{repo}' on {}, or it is private: check the name as the model page spells it, or set HF_TOKEN for a private model",
                    self.endpoint
                ),
            },
            (401 | 403, false) => refused(format!(
                "'{repo}' is gated or private and no token was sent: accept its terms on {page} while logged in, then set HF_TOKEN to a read token (or run `hf auth login`)"
            )),
            (401, true) => refused(
                "the token in HF_TOKEN (or the saved login) was not accepted: check that it is valid and not expired".into(),
            ),
            (403, true) => refused(format!(
                "your token has no access to '{repo}': request access on {page}, and use a token that may read gated repos"
            )),
            (404, _) => HubError::NotFound {
                url: url.to_owned(),
                status: 404,
                message: match code {
                    "RepoNotFound" => format!(
                        "no model '{repo}' on {}: check the name as the model page spells it",
                        self.endpoint
                    ),
                    "RevisionNotFound" => format!("'{repo}' has no such revision"),
                    _ => format!("'{repo}' has no such file"),
                },
            },
            (416, _) => HubError::Protocol {
                url: url.to_owned(),
                message: "range not satisfiable (416): the file is shorter than its header says (truncated upload?)".into(),
            },
            (429, _) => HubError::Protocol {
                url: url.to_owned(),
                message: "rate limited (429): wait a minute and retry, or set HF_TOKEN (signed-in requests get a higher limit)".into(),
            },
            (s, _) if s >= 500 => HubError::Protocol {
                url: url.to_owned(),
                message: format!("the server failed (HTTP {s}): try again later"),
            },
            (s, _) => HubError::Protocol {
                url: url.to_owned(),
                message: format!("unexpected HTTP {s}"),
            },
        }
    }
}

/// The Hub could not be reached (or the connection broke).
fn unreachable(url: &str, cause: String) -> HubError {
    HubError::Transport {
        url: url.to_owned(),
        cause,
        hint: "check the network and HF_ENDPOINT; --offline reads models cached by an earlier run",
    }
}

fn content_length(resp: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    resp.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn truncated(url: &str, got: u64, expected: u64, cause: Option<std::io::Error>) -> HubError {
    HubError::Truncated {
        url: url.to_owned(),
        got,
        expected,
        cause: cause.map_or_else(String::new, |e| format!(" ({e})")),
    }
}

/// `bytes START-END/TOTAL` as numbers (a `*` total, unknown size, is `None`).
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total): (u64, u64, u64) = (
        start.trim().parse().ok()?,
        end.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (start <= end && end < total).then_some((start, end, total))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range_is_checked() {
        assert_eq!(parse_content_range("bytes 0-7/1000"), Some((0, 7, 1000)));
        assert_eq!(parse_content_range("bytes 8-9/10"), Some((8, 9, 10)));
        for bad in [
            "bytes 0-7/*",
            "bytes 7-0/10",
            "bytes 0-10/10",
            "0-7/10",
            "bytes x-1/2",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}
