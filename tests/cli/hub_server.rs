//! A small Hugging Face Hub on 127.0.0.1 for the Hub tests, on `std::net`: the revision API
//! (`/api/models/{repo}/revision/{rev}`), files under `/{repo}/resolve/{rev}/{file}` with
//! `Range` support, gated repos (401 without a token, 403 with a wrong one), the Hub's
//! `X-Error-Code` on 404s, and on demand a truncated body or no answer at all. It counts the
//! body bytes it serves per file, so a test can check that only headers left it.
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One repository: its commit and files.
#[derive(Clone, Default)]
pub struct Repo {
    pub sha: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// The only token that may read files; `None` for a public repo.
    pub gated_token: Option<String>,
}

/// How the server misbehaves for one file (`"{repo}/{file}"`).
#[derive(Clone, Copy)]
pub enum Fault {
    /// Sends the headers and half the body, then closes.
    Truncate,
    /// Accepts and never answers.
    Silent,
    /// Answers a range request with the whole file (200), as a server without range support.
    IgnoreRange,
}

#[derive(Default)]
struct State {
    repos: HashMap<String, Repo>,
    faults: HashMap<String, Fault>,
    /// Body bytes served per `"{repo}/{file}"`.
    served: HashMap<String, u64>,
    /// Every request line with its range: `"GET /path bytes=0-7"`.
    log: Vec<String>,
}

pub struct HubServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HubServer {
    pub fn start() -> HubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &state);
                    });
                }
            })
        };
        HubServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The value for `HF_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_repo(&self, name: &str, repo: Repo) {
        self.state.lock().unwrap().repos.insert(name.into(), repo);
    }

    pub fn fault(&self, file: &str, fault: Fault) {
        self.state.lock().unwrap().faults.insert(file.into(), fault);
    }

    /// Body bytes served for `"{repo}/{file}"`.
    pub fn served(&self, file: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .served
            .get(file)
            .copied()
            .unwrap_or(0)
    }

    /// Body bytes served in all.
    pub fn served_total(&self) -> u64 {
        self.state.lock().unwrap().served.values().sum()
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_counts(&self) {
        let mut s = self.state.lock().unwrap();
        s.served.clear();
        s.log.clear();
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Request {
    path: String,
    range: Option<String>,
    auth: Option<String>,
}

fn read_request(conn: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (mut range, mut auth) = (None, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_owned()),
                "authorization" => auth = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    Ok(Request { path, range, auth })
}

fn respond(
    mut conn: &TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    send: usize,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(&body[..send])?;
    conn.flush()
}

fn error(conn: &TcpStream, status: &str, code: &str) -> std::io::Result<()> {
    respond(conn, status, &[("X-Error-Code", code.into())], b"{}", 2)
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let req = read_request(&conn)?;
    state.lock().unwrap().log.push(format!(
        "GET {} {}",
        req.path,
        req.range.as_deref().unwrap_or("")
    ));
    if let Some(rest) = req.path.strip_prefix("/api/models/") {
        let Some((repo, rev)) = rest.split_once("/revision/") else {
            return error(&conn, "404 Not Found", "EntryNotFound");
        };
        let found = state.lock().unwrap().repos.get(repo).cloned();
        let Some(r) = found else {
            // The Hub answers 401 for an unknown repo when no token is sent.
            return match req.auth {
                None => error(&conn, "401 Unauthorized", "RepoNotFound"),
                Some(_) => error(&conn, "404 Not Found", "RepoNotFound"),
            };
        };
        if rev != "main" && rev != r.sha {
            return error(&conn, "404 Not Found", "RevisionNotFound");
        }
        let siblings: Vec<_> = r
            .files
            .keys()
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({
            "id": repo, "sha": r.sha, "siblings": siblings, "gated": r.gated_token.is_some(),
        }))
        .unwrap();
        return respond(&conn, "200 OK", &[], &body, body.len());
    }
    let Some((repo, rest)) = req.path[1..]
        .split_once("/resolve/")
        .map(|(a, b)| (a.to_owned(), b))
    else {
        return error(&conn, "404 Not Found", "EntryNotFound");
    };
    let Some((rev, file)) = rest.split_once('/') else {
        return error(&conn, "404 Not Found", "EntryNotFound");
    };
    let (found, fault) = {
        let s = state.lock().unwrap();
        (
            s.repos.get(&repo).cloned(),
            s.faults.get(&format!("{repo}/{file}")).copied(),
        )
    };
    let Some(r) = found else {
        return error(&conn, "404 Not Found", "RepoNotFound");
    };
    if let Some(token) = &r.gated_token {
        match &req.auth {
            None => return error(&conn, "401 Unauthorized", "GatedRepo"),
            Some(a) if *a != format!("Bearer {token}") => {
                return error(&conn, "403 Forbidden", "GatedRepo")
            }
            Some(_) => {}
        }
    }
    if rev != "main" && rev != r.sha {
        return error(&conn, "404 Not Found", "RevisionNotFound");
    }
    let Some(data) = r.files.get(file) else {
        return error(&conn, "404 Not Found", "EntryNotFound");
    };
    if let Some(Fault::Silent) = fault {
        std::thread::sleep(Duration::from_secs(30));
        return Ok(());
    }
    let range = match fault {
        Some(Fault::IgnoreRange) => None,
        _ => req.range.as_deref(),
    };
    let (status, headers, body) = match range.and_then(|r| parse_range(r, data.len())) {
        Some((start, end)) => (
            "206 Partial Content",
            vec![(
                "Content-Range",
                format!("bytes {start}-{end}/{}", data.len()),
            )],
            &data[start..=end],
        ),
        None => ("200 OK", Vec::new(), &data[..]),
    };
    let send = match fault {
        Some(Fault::Truncate) => body.len() / 2,
        _ => body.len(),
    };
    *state
        .lock()
        .unwrap()
        .served
        .entry(format!("{repo}/{file}"))
        .or_default() += send as u64;
    respond(&conn, status, &headers, body, send)
}

/// `bytes=START-END`, clamped to the file as a server does.
fn parse_range(v: &str, len: usize) -> Option<(usize, usize)> {
    let (start, end) = v.strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = start.parse().ok()?;
    let end: usize = end.parse::<usize>().ok()?.min(len.checked_sub(1)?);
    (start <= end).then_some((start, end))
}
