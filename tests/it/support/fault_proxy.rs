//! A fault-injecting HTTP proxy on a free 127.0.0.1 port in front of a real
//! [`Registry`](super::Registry): every request is forwarded to the registry,
//! and the answers to manifest (and, for redirects, blob) requests are bent
//! the way misbehaving registries, portals and caches bend them.
//!
//! One request per connection (`Connection: close`), so each attempt of the
//! client is one line in [`FaultProxy::log`]. A connection that does not
//! start with an HTTP request (imgpin's HTTPS probe of a loopback host) is
//! closed at once, as a plain-HTTP registry would. The proxy's threads stop
//! waiting when it is dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Method;

/// How the proxy bends the registry's answers.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Forward everything unchanged.
    Pass,
    /// Manifest `HEAD`: 200 without `Docker-Content-Digest`; manifest `GET`:
    /// 200 with an HTML page.
    HeadNoDigestGetHtml,
    /// Every request, `/v2/` included: 200 with an HTML login page.
    HtmlEverything,
    /// Manifest requests: 200 `application/json` `{"status":"ok"}`, no digest.
    NotAManifest,
    /// Manifest requests: the right manifest media type, no digest header,
    /// and the first half of the body (a consistent `Content-Length`).
    Truncated,
    /// Manifest requests: the body stops halfway though `Content-Length`
    /// promised all of it, and the connection closes.
    CutOff,
    /// Manifest requests: the real answer under a `Docker-Content-Digest`
    /// of other bytes.
    WrongDigest,
    /// Manifest `HEAD` only: a wrong `Docker-Content-Digest` (a `GET` is
    /// answered honestly).
    HeadWrongDigest,
    /// The first `times` manifest requests: 429 with `Retry-After: seconds`.
    RetryAfter { times: usize, seconds: u64 },
    /// Manifest requests: 429 `TOOMANYREQUESTS`, always.
    RateLimited,
    /// Manifest requests: 503, always.
    Unavailable,
    /// Manifest requests: never answered (until the proxy drops).
    Hang,
    /// Manifest requests: the connection is closed without an answer.
    Reset,
    /// Manifest and blob requests: 307 to `/_moved/…` on the proxy, which
    /// serves the registry's answer there (blob storage behind a redirect).
    Redirect,
    /// Manifest `GET`s: the body in 8 pieces, `pause_ms` apart.
    SlowBody { pause_ms: u64 },
    /// Manifest `GET`s: 200 with a manifest type and an endless body
    /// (`chunked`), until the client hangs up.
    EndlessBody,
    /// The distribution token flow, as Docker Hub and most hosted
    /// registries run it: `/v2/` and every repository request without the
    /// repository's bearer token get 401 with a `Bearer realm=…/token`
    /// challenge; `/token?scope=repository:NAME:pull` with Basic
    /// [`TOKEN_USER`]:[`TOKEN_PASSWORD`] answers a token for every
    /// `scope` asked (`{"token": "tok-A+B"}`).
    TokenAuth,
    /// [`Fault::TokenAuth`] whose token server honours only the first
    /// `scope` of a request, as some do.
    TokenAuthFirstScope,
}

/// The login [`Fault::TokenAuth`]'s token server accepts.
pub const TOKEN_USER: &str = "ci";
/// Its password.
pub const TOKEN_PASSWORD: &str = "s3cret-token-pass";

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
}

impl Seen {
    /// A manifest request (`/v2/<name>/manifests/<reference>`).
    pub fn is_manifest(&self) -> bool {
        self.path.contains("/manifests/")
    }
}

/// A running proxy; stops accepting and releases hung requests when dropped.
pub struct FaultProxy {
    host: String,
    log: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    not_http: Arc<AtomicUsize>,
}

struct Shared {
    fault: Fault,
    upstream: String,
    client: Client,
    log: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    manifest_requests: AtomicUsize,
    /// Connections that did not start with an HTTP request (TLS probes).
    not_http: Arc<AtomicUsize>,
}

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form action=\"/login\"><input name=\"user\"></form></body></html>\n";

impl FaultProxy {
    /// Starts a proxy on a free port that forwards to `upstream`
    /// (`host:port` of a plain-HTTP registry) with `fault`.
    pub fn start(upstream: &str, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let host = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let not_http = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            fault,
            upstream: upstream.to_string(),
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            log: Arc::clone(&log),
            stop: Arc::clone(&stop),
            manifest_requests: AtomicUsize::new(0),
            not_http: Arc::clone(&not_http),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(&shared, stream);
                });
            }
        });
        FaultProxy {
            host,
            log,
            stop,
            not_http,
        }
    }

    /// `127.0.0.1:port`, the registry host to put in image references.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Every request seen so far, in arrival order.
    pub fn log(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Connections that did not start with an HTTP request: imgpin's TLS
    /// probes of this loopback host.
    pub fn not_http_connections(&self) -> usize {
        self.not_http.load(Ordering::SeqCst)
    }

    /// The manifest requests seen so far.
    pub fn manifest_requests(&self) -> Vec<Seen> {
        self.log().into_iter().filter(Seen::is_manifest).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.host);
    }
}

/// Header names and values.
type Headers = Vec<(String, String)>;

/// Reads one request head: method, path and the headers worth forwarding.
fn read_request(stream: &mut TcpStream) -> Option<(String, String, Headers)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        // Not HTTP (a TLS ClientHello): hang up, as a plain-HTTP server would.
        if !buf[0].is_ascii_uppercase() || buf.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k == "accept" || k == "authorization")
        .collect();
    Some((method, path, headers))
}

/// An answer about to be written back.
struct Answer {
    status: u16,
    reason: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// `Content-Length` for a `HEAD` (its body is never sent).
    head_length: Option<String>,
}

impl Answer {
    fn new(status: u16, reason: &'static str, content_type: &str, body: &[u8]) -> Answer {
        Answer {
            status,
            reason,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_vec(),
            head_length: None,
        }
    }

    fn drop_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.drop_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn forward(
    shared: &Shared,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Option<Answer> {
    let method = if method == "HEAD" {
        Method::HEAD
    } else {
        Method::GET
    };
    let mut request = shared
        .client
        .request(method, format!("http://{}{path}", shared.upstream));
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request.send().ok()?;
    let status = response.status().as_u16();
    let mut answer = Answer::new(status, "Upstream", "text/plain", b"");
    answer.headers.clear();
    for name in [
        "content-type",
        "docker-content-digest",
        "www-authenticate",
        "location",
        "docker-distribution-api-version",
    ] {
        if let Some(v) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            answer.headers.push((name.to_string(), v.to_string()));
        }
    }
    answer.head_length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    answer.body = response.bytes().ok()?.to_vec();
    Some(answer)
}

fn serve(shared: &Shared, mut stream: TcpStream) -> std::io::Result<()> {
    let Some((method, mut path, headers)) = read_request(&mut stream) else {
        shared.not_http.fetch_add(1, Ordering::SeqCst);
        return Ok(());
    };
    shared.log.lock().unwrap().push(Seen {
        at: Instant::now(),
        method: method.clone(),
        path: path.clone(),
    });
    let head = method == "HEAD";
    let moved = path.strip_prefix("/_moved").map(str::to_string);
    let manifest = path.contains("/manifests/") && moved.is_none();
    let blob = path.contains("/blobs/") && moved.is_none();
    let nth = if manifest {
        shared.manifest_requests.fetch_add(1, Ordering::SeqCst)
    } else {
        0
    };
    if let Some(original) = moved {
        path = original;
    }
    let fault = shared.fault;
    let mut headers = headers;
    if matches!(fault, Fault::TokenAuth | Fault::TokenAuthFirstScope) {
        let first_only = matches!(fault, Fault::TokenAuthFirstScope);
        match token_gate(&path, &headers, &shared_host(&stream), first_only) {
            Some(answer) => return write_answer(&mut stream, answer, head),
            // Allowed: the registry behind needs no login.
            None => headers.retain(|(k, _)| k != "authorization"),
        }
    }
    // Faults that answer without asking the registry.
    let made = match fault {
        Fault::HtmlEverything => Some(Answer::new(200, "OK", "text/html; charset=utf-8", HTML.as_bytes())),
        Fault::NotAManifest if manifest => Some(Answer::new(
            200,
            "OK",
            "application/json",
            br#"{"status":"ok"}"#,
        )),
        Fault::HeadNoDigestGetHtml if manifest && !head => {
            Some(Answer::new(200, "OK", "text/html", HTML.as_bytes()))
        }
        Fault::RetryAfter { times, seconds } if manifest && nth < times => {
            let mut a = Answer::new(429, "Too Many Requests", "application/json", br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"retry later"}]}"#);
            a.set_header("Retry-After", &seconds.to_string());
            Some(a)
        }
        Fault::RateLimited if manifest => Some(Answer::new(
            429,
            "Too Many Requests",
            "application/json",
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#,
        )),
        Fault::Unavailable if manifest => Some(Answer::new(
            503,
            "Service Unavailable",
            "text/plain",
            b"upstream connect error",
        )),
        Fault::Hang if manifest => {
            let until = Instant::now() + Duration::from_secs(120);
            while !shared.stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
            return Ok(());
        }
        Fault::Reset if manifest => return Ok(()),
        Fault::EndlessBody if manifest && !head => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")?;
            let chunk = format!("10000\r\n{}\r\n", "{".repeat(0x10000));
            let until = Instant::now() + Duration::from_secs(60);
            while !shared.stop.load(Ordering::SeqCst) && Instant::now() < until {
                stream.write_all(chunk.as_bytes())?;
            }
            return Ok(());
        }
        Fault::Redirect if manifest || blob => {
            let mut a = Answer::new(307, "Temporary Redirect", "text/plain", b"");
            a.set_header("Location", &format!("http://{}/_moved{path}", shared_host(&stream)));
            Some(a)
        }
        _ => None,
    };
    let mut answer = match made {
        Some(a) => a,
        None => match forward(shared, &method, &path, &headers) {
            Some(a) => a,
            None => return Ok(()),
        },
    };
    let mut cut_off = None;
    let mut pause = None;
    if manifest && answer.status == 200 {
        match fault {
            Fault::HeadNoDigestGetHtml => answer.drop_header("docker-content-digest"),
            Fault::Truncated => {
                answer.drop_header("docker-content-digest");
                let half = answer
                    .head_length
                    .as_deref()
                    .and_then(|l| l.parse::<usize>().ok())
                    .unwrap_or(answer.body.len())
                    / 2;
                answer.body.truncate(half);
                answer.head_length = Some(half.to_string());
            }
            Fault::CutOff => cut_off = Some(answer.body.len() / 2),
            Fault::WrongDigest => answer.set_header(
                "Docker-Content-Digest",
                &format!("sha256:{}", "e".repeat(64)),
            ),
            Fault::HeadWrongDigest if head => answer.set_header(
                "Docker-Content-Digest",
                &format!("sha256:{}", "e".repeat(64)),
            ),
            Fault::SlowBody { pause_ms } if !head => pause = Some(Duration::from_millis(pause_ms)),
            _ => {}
        }
    }
    if cut_off.is_none() && pause.is_none() {
        return write_answer(&mut stream, answer, head);
    }
    let length = match (&answer.head_length, head) {
        (Some(l), true) => l.clone(),
        _ => answer.body.len().to_string(),
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, answer.reason);
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if answer.header("content-length").is_none() {
        out.push_str(&format!("Content-Length: {length}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    stream.write_all(out.as_bytes())?;
    if head {
        return stream.flush();
    }
    match (cut_off, pause) {
        (Some(at), _) => stream.write_all(&answer.body[..at])?,
        (None, Some(pause)) => {
            let piece = answer.body.len().div_ceil(8).max(1);
            for part in answer.body.chunks(piece) {
                stream.write_all(part)?;
                stream.flush()?;
                std::thread::sleep(pause);
            }
        }
        (None, None) => stream.write_all(&answer.body)?,
    }
    stream.flush()
}

/// Writes `answer` whole and closes.
fn write_answer(stream: &mut TcpStream, answer: Answer, head: bool) -> std::io::Result<()> {
    let length = match (&answer.head_length, head) {
        (Some(l), true) => l.clone(),
        _ => answer.body.len().to_string(),
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, answer.reason);
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if answer.header("content-length").is_none() {
        out.push_str(&format!("Content-Length: {length}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    stream.write_all(out.as_bytes())?;
    if !head {
        stream.write_all(&answer.body)?;
    }
    stream.flush()
}

/// [`Fault::TokenAuth`]: the answer for a request that is refused or is
/// the token server's; `None` for one that may go to the registry.
fn token_gate(
    path: &str,
    headers: &[(String, String)],
    host: &str,
    first_only: bool,
) -> Option<Answer> {
    use base64::Engine;
    let authorization = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let challenge = |scope: Option<&str>| {
        let mut a = Answer::new(
            401,
            "Unauthorized",
            "application/json",
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        let mut value = format!("Bearer realm=\"http://{host}/token\",service=\"fault-proxy\"");
        if let Some(scope) = scope {
            value.push_str(&format!(",scope=\"{scope}\""));
        }
        a.set_header("WWW-Authenticate", &value);
        a
    };
    if let Some(query) = path.strip_prefix("/token?") {
        let login = base64::engine::general_purpose::STANDARD
            .encode(format!("{TOKEN_USER}:{TOKEN_PASSWORD}"));
        if authorization != format!("Basic {login}") {
            return Some(Answer::new(
                401,
                "Unauthorized",
                "application/json",
                br#"{"details":"incorrect username or password"}"#,
            ));
        }
        let mut repositories: Vec<String> = query
            .split('&')
            .filter_map(|p| p.strip_prefix("scope="))
            .map(|s| s.replace("%3A", ":").replace("%2F", "/"))
            .filter_map(|s| {
                s.strip_prefix("repository:")
                    .and_then(|r| r.strip_suffix(":pull"))
                    .map(str::to_string)
            })
            .collect();
        if first_only {
            repositories.truncate(1);
        }
        let body = format!(
            r#"{{"token":"tok-{}","expires_in":300}}"#,
            repositories.join("+")
        );
        return Some(Answer::new(200, "OK", "application/json", body.as_bytes()));
    }
    if path == "/v2/" {
        return (!authorization.starts_with("Bearer tok-")).then(|| challenge(None));
    }
    let rest = path.strip_prefix("/v2/")?;
    let repository = ["/manifests/", "/blobs/"]
        .iter()
        .find_map(|marker| rest.split_once(marker).map(|(r, _)| r))?;
    let scope = format!("repository:{repository}:pull");
    let allowed = authorization
        .strip_prefix("Bearer tok-")
        .is_some_and(|set| set.split('+').any(|r| r == repository));
    (!allowed).then(|| challenge(Some(&scope)))
}

/// The proxy's own `host:port`, as the client reached it.
fn shared_host(stream: &TcpStream) -> String {
    stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default()
}
