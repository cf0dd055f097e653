//! Child processes of the tests: free ports, a guard that kills the one PID
//! it started when dropped, and readiness waits that show the child's log
//! when it dies or never becomes ready.
//!
//! Rule: a test kills only what it started, by PID, never by name.

use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The one-line hint every "component missing" panic carries.
pub const INSTALL_HINT: &str = "run scripts/install-test-deps.sh (as root)";

/// How much of a child's log a panic message shows (its tail).
const LOG_TAIL_BYTES: u64 = 16 * 1024;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is released before it is returned, so another process can take
/// it in between; starters retry on "address already in use".
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

/// A finished command's exit status, stdout and stderr, for assertion messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Finds `program` on `PATH`, or panics naming the component to install.
pub fn require_program(program: &str) -> PathBuf {
    find_program(program).unwrap_or_else(|| panic!("{program} not found on PATH: {INSTALL_HINT}"))
}

/// Finds `program` on `PATH` (like `command -v`), if it is there.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A running child process that is killed (by its PID) and reaped on drop.
///
/// Its stdout and stderr go to one log file, whose tail is put into every
/// panic message about the child.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    log_path: PathBuf,
}

impl ChildGuard {
    /// Spawns `command` with stdin closed and stdout/stderr appended to
    /// `log_path`. `name` is used in messages only.
    pub fn spawn(name: &str, mut command: Command, log_path: &Path) -> ChildGuard {
        let log = File::create(log_path)
            .unwrap_or_else(|e| panic!("{name}: create log {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("{name}: clone log handle: {e}"));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: spawn {command:?}: {e} ({INSTALL_HINT})"));
        ChildGuard {
            name: name.to_owned(),
            child,
            log_path: log_path.to_owned(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The tail of everything the child wrote so far.
    pub fn log(&self) -> String {
        read_tail(&self.log_path, LOG_TAIL_BYTES)
    }

    /// Whether the child has exited; `Some(status)` if so.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("{}: wait for pid {}: {e}", self.name, self.child.id()))
    }

    /// Polls `ready` (which may read the child's log) until it returns true.
    /// Returns `Err` with the exit status and log if the child exits first,
    /// and panics with the log if `timeout` passes.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(&ChildGuard) -> bool,
    ) -> Result<(), ExitedEarly> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(ExitedEarly {
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            if ready(self) {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "{} (pid {}) not ready after {timeout:?}; its log:\n{}",
                self.name,
                self.pid(),
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // `Child::kill` sends SIGKILL to exactly this PID; then reap it so
        // no zombie is left. Errors mean it has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child that exited before it became ready: its exit status and log tail.
#[derive(Debug)]
pub struct ExitedEarly {
    /// The exit status, as text.
    pub status: String,
    /// The tail of the child's log.
    pub log: String,
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, or
/// panics after `timeout`.
pub fn wait_for_port(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !port_open(port) {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port} after {timeout:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a TCP connection to 127.0.0.1:`port` succeeds right now.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Waits until a GET of `url` gets any HTTP answer (any status), or panics
/// after `timeout`. Use a client that trusts the server's CA for https.
pub fn wait_for_url(client: &reqwest::blocking::Client, url: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        match client.get(url).send() {
            Ok(_) => return,
            Err(e) => assert!(
                Instant::now() < deadline,
                "no HTTP answer from {url} after {timeout:?}: {e}"
            ),
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The last `max` bytes of the file at `path`, lossily decoded.
fn read_tail(path: &Path, max: u64) -> String {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(max);
    let _ = file.seek(SeekFrom::Start(start));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        format!("(… first {start} bytes left out …)\n{text}")
    } else {
        text
    }
}
