//! A small proxy on a free 127.0.0.1 port in front of [`Moto`](super::Moto)
//! for AWS JSON APIs: every request is forwarded as it came, and the answer
//! to one action can be edited on the way back: for fields moto's
//! serializer drops because its (botocore) model lacks them. One request per
//! connection; the thread stops with the process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// Edits the JSON answer to an action (`X-Amz-Target` suffix).
pub type Edit = fn(&mut Value);

/// A running proxy: its endpoint for `AWS_ENDPOINT_URL`.
#[derive(Debug)]
pub struct AwsProxy {
    endpoint: String,
}

impl AwsProxy {
    /// Forwards to `upstream` (`http://127.0.0.1:PORT`); answers to `action`
    /// go through `edit`.
    pub fn start(upstream: String, action: &'static str, edit: Edit) -> AwsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the AWS proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let upstream = upstream.clone();
                std::thread::spawn(move || serve(stream, &upstream, action, edit));
            }
        });
        AwsProxy { endpoint }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// One request's headers (lower-cased names), path and body.
pub type Request = (Vec<(String, String)>, String, Vec<u8>);

/// One HTTP/1.1 request: the header block (lower-cased names) and the body
/// `Content-Length` promises; `None` when the peer sends nothing usable.
pub fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines.next()?.split(' ').nth(1)?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[end + 4..].to_vec();
        return Some((headers, path, body));
    }
}

fn serve(mut stream: TcpStream, upstream: &str, action: &str, edit: Edit) {
    let Some((headers, path, body)) = read_request(&mut stream) else {
        return;
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let client = reqwest::blocking::Client::new();
    let mut request = client.post(format!("{upstream}{path}")).body(body);
    for name in [
        "content-type",
        "x-amz-target",
        "authorization",
        "x-amz-date",
    ] {
        if let Some(v) = header(name) {
            request = request.header(name, v);
        }
    }
    let Ok(response) = request.send() else {
        return;
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-amz-json-1.1")
        .to_owned();
    let mut answer = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
    let edited = header("x-amz-target").is_some_and(|t| t.ends_with(&format!(".{action}")));
    if edited && status == 200 {
        if let Ok(mut value) = serde_json::from_slice::<Value>(&answer) {
            edit(&mut value);
            answer = value.to_string().into_bytes();
        }
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Proxied\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    let _ = stream.write_all(&answer);
}
