//! How hard imgpin pushes a registry: the wait between attempts (the
//! registry's `Retry-After`, else exponential backoff with jitter) and a
//! circuit breaker per host, so a hung or dead registry fails its remaining
//! references at once instead of each one waiting out its timeout.

use super::super::{ErrorKind, ResolveError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The largest manifest body read: the distribution spec has registries
/// accept manifests of at least 4 MiB; twice that leaves room.
pub(super) const MAX_MANIFEST: usize = 8 * 1024 * 1024;

/// Attempts per request, the first included.
pub(super) const ATTEMPTS: u32 = 3;

/// The longest `Retry-After` honoured; a longer one fails the reference
/// with the registry's answer (the run's `--timeout` may cut it shorter).
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Consecutive network failures (timeouts, refused or reset connections)
/// after which a host's remaining references are not tried.
pub(super) const BREAKER_THRESHOLD: u32 = 3;

/// The wait before attempt `attempt + 1` when the registry named none:
/// 250 ms, then 1 s, … (×4), each scaled by a jitter in [0.5, 1.5) so many
/// references failing together do not retry together.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 4u32.saturating_pow(attempt.saturating_sub(1));
    base.mul_f64(0.5 + jitter())
}

/// A number in [0, 1) that differs between calls: the low bits of the
/// clock, mixed (no `rand` dependency for this).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The failures seen per registry host.
#[derive(Default)]
pub(super) struct Breakers {
    hosts: Mutex<HashMap<String, Breaker>>,
}

#[derive(Default)]
struct Breaker {
    /// Network failures since the last answer.
    consecutive: u32,
    /// The first failure of the current run of them.
    first: Option<String>,
    /// Open: the host's remaining requests fail with this at once.
    open: Option<String>,
}

impl Breakers {
    /// `Err` when `host`'s breaker is open: the reference fails at once.
    pub(super) fn check(&self, host: &str) -> Result<(), ResolveError> {
        let hosts = super::lock(&self.hosts);
        match hosts.get(host).and_then(|b| b.open.as_ref()) {
            Some(message) => Err(ResolveError::new(ErrorKind::Network, message.clone())),
            None => Ok(()),
        }
    }

    /// Counts one attempt's outcome: a network failure moves `host` towards
    /// open; any answer from the registry (even an error) closes it again.
    pub(super) fn record<T>(&self, host: &str, outcome: &Result<T, ResolveError>) {
        let mut hosts = super::lock(&self.hosts);
        let breaker = hosts.entry(host.to_string()).or_default();
        match outcome {
            Err(e) if e.kind == ErrorKind::Network => {
                breaker.consecutive += 1;
                breaker.first.get_or_insert_with(|| e.message.clone());
                if breaker.consecutive >= BREAKER_THRESHOLD && breaker.open.is_none() {
                    let first = breaker.first.as_deref().unwrap_or(&e.message);
                    breaker.open = Some(format!(
                        "{first} (not tried: {} requests in a row to registry {host} failed, so its other references fail at once)",
                        breaker.consecutive
                    ));
                }
            }
            _ => *breaker = Breaker::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_four_with_jitter() {
        for attempt in 1..=3 {
            let base = 250.0 * 4f64.powi(attempt as i32 - 1);
            let wait = backoff(attempt).as_secs_f64() * 1000.0;
            assert!(wait >= base * 0.5 && wait < base * 1.5, "{attempt}: {wait}");
        }
    }

    #[test]
    fn breaker_opens_after_consecutive_network_failures_only() {
        let breakers = Breakers::default();
        let net = |m: &str| Err::<(), _>(ResolveError::new(ErrorKind::Network, m));
        breakers.record("r", &net("cannot reach registry r: timed out"));
        breakers.record("r", &net("second"));
        // An answer (even a 404) in between resets the count.
        breakers.record(
            "r",
            &Err::<(), _>(ResolveError::new(ErrorKind::NotFound, "404")),
        );
        breakers.record("r", &net("cannot reach registry r: timed out"));
        breakers.record("r", &net("b"));
        assert!(breakers.check("r").is_ok());
        breakers.record("r", &net("c"));
        let err = breakers.check("r").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Network);
        assert!(
            err.message
                .starts_with("cannot reach registry r: timed out (not tried: 3 requests in a row"),
            "{}",
            err.message
        );
        // Other hosts are not affected; an answer that was in flight closes it.
        assert!(breakers.check("other").is_ok());
        breakers.record("r", &Ok::<(), ResolveError>(()));
        assert!(breakers.check("r").is_ok());
    }
}
