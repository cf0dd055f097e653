//! The progress bar on stderr while a long run resolves and writes: only on
//! a terminal (never when piped, in CI, with `TERM=dumb` or `--quiet`),
//! drawn by one thread every 100 ms once a phase has run for 300 ms, and
//! erased before anything else is printed and when the run is done.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// A phase shorter than this shows no bar at all (no flicker on small runs).
const QUIET_START: Duration = Duration::from_millis(300);

/// A handle on the bar; clones share it. A disabled one does nothing.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    phase: Mutex<Phase>,
    done: AtomicUsize,
    stop: AtomicBool,
    /// Whether a bar is on screen; held while drawing or erasing.
    drawn: Mutex<bool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Phase {
    label: String,
    total: usize,
    started: Instant,
}

/// Whether this process may draw a bar on stderr: a terminal, not CI, not a dumb terminal.
pub fn stderr_can_draw() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false")
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl Progress {
    /// A bar on stderr when `enabled` (the printer checked that stderr is a
    /// terminal outside CI, and `--quiet`).
    pub fn stderr(enabled: bool) -> Progress {
        if !enabled {
            return Progress::default();
        }
        let inner = Arc::new(Inner {
            phase: Mutex::new(Phase {
                label: String::new(),
                total: 0,
                started: Instant::now(),
            }),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            drawn: Mutex::new(false),
            thread: Mutex::new(None),
        });
        let drawer = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("imgpin-progress".into())
            .spawn(move || {
                while !drawer.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    drawer.draw(&mut std::io::stderr());
                }
            })
            .ok();
        *lock(&inner.thread) = thread;
        Progress { inner: Some(inner) }
    }

    /// Start a phase: `label` (`resolving`), `total` steps, none done.
    pub fn phase(&self, label: &str, total: usize) {
        if let Some(inner) = &self.inner {
            let mut phase = lock(&inner.phase);
            phase.label = label.to_string();
            phase.total = total;
            phase.started = Instant::now();
            inner.done.store(0, Ordering::Relaxed);
        }
    }

    /// One step of the phase done.
    pub fn tick(&self) {
        self.add(1);
    }

    /// `n` steps done.
    pub fn add(&self, n: usize) {
        if let Some(inner) = &self.inner {
            inner.done.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Erase the bar before other output (it comes back on the next tick).
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.erase(&mut std::io::stderr());
        }
    }

    /// Stop drawing and erase the bar.
    pub fn finish(&self) {
        if let Some(inner) = &self.inner {
            inner.stop.store(true, Ordering::Relaxed);
            if let Some(thread) = lock(&inner.thread).take() {
                let _ = thread.join();
            }
            inner.erase(&mut std::io::stderr());
        }
    }
}

impl Inner {
    fn draw(&self, w: &mut dyn Write) {
        let (line, show) = {
            let phase = lock(&self.phase);
            let elapsed = phase.started.elapsed();
            let done = self.done.load(Ordering::Relaxed).min(phase.total);
            let show = phase.total > 0 && elapsed >= QUIET_START;
            (bar_line(&phase.label, done, phase.total, elapsed), show)
        };
        let mut drawn = lock(&self.drawn);
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        if show {
            let _ = write!(w, "\r\x1b[2K{line}");
            let _ = w.flush();
            *drawn = true;
        } else if *drawn {
            let _ = write!(w, "\r\x1b[2K");
            let _ = w.flush();
            *drawn = false;
        }
    }

    fn erase(&self, w: &mut dyn Write) {
        let mut drawn = lock(&self.drawn);
        if *drawn {
            let _ = write!(w, "\r\x1b[2K");
            let _ = w.flush();
            *drawn = false;
        }
    }
}

/// `resolving [#########...........] 120/400 1.2s`
fn bar_line(label: &str, done: usize, total: usize, elapsed: Duration) -> String {
    const WIDTH: usize = 24;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0);
    format!(
        "imgpin: {label} [{}{}] {done}/{total} {:.1}s",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        elapsed.as_secs_f64()
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_label_share_and_counts() {
        let line = bar_line("resolving", 6, 24, Duration::from_millis(1500));
        assert_eq!(
            line,
            "imgpin: resolving [######..................] 6/24 1.5s"
        );
        assert_eq!(
            bar_line("writing", 3, 3, Duration::ZERO),
            format!("imgpin: writing [{}] 3/3 0.0s", "#".repeat(24))
        );
    }

    #[test]
    fn a_bar_is_drawn_after_the_quiet_start_and_erased_once() {
        let inner = Inner {
            phase: Mutex::new(Phase {
                label: "resolving".into(),
                total: 10,
                started: Instant::now() - Duration::from_secs(1),
            }),
            done: AtomicUsize::new(4),
            stop: AtomicBool::new(false),
            drawn: Mutex::new(false),
            thread: Mutex::new(None),
        };
        let mut out = Vec::new();
        inner.draw(&mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("\r\x1b[2Kimgpin: resolving ["), "{text:?}");
        assert!(text.contains("4/10"), "{text:?}");
        out.clear();
        inner.erase(&mut out);
        inner.erase(&mut out);
        assert_eq!(out, b"\r\x1b[2K", "erased once");
        // A young phase draws nothing.
        lock(&inner.phase).started = Instant::now();
        let mut out = Vec::new();
        inner.draw(&mut out);
        assert!(out.is_empty());
        // A disabled handle does nothing at all.
        let off = Progress::stderr(false);
        off.phase("x", 3);
        off.tick();
        off.finish();
    }
}
