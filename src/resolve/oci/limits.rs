//! How hard imgpin pushes a registry: the wait between attempts (the
//! registry's `Retry-After`, else exponential backoff with jitter) and a
//! circuit breaker per host, so a hung or dead registry fails its remaining
//! references at once instead of each one waiting out its timeout; and a
//! gate per host (`Gates`): at most N requests at once, at most R a second.

use super::super::{ErrorKind, ResolveError};
use crate::resolve::RegistrySettings;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The request-rate cap of the big public registries unless a setting says
/// otherwise: far above what a repository's pins need, far below what trips
/// abuse limits when a bulk run over a monorepo sends thousands of `HEAD`s.
pub const PUBLIC_RATE: f64 = 50.0;

/// Hosts that get [`PUBLIC_RATE`] by default.
const PUBLIC_REGISTRIES: &[&str] = &[
    "docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "registry.k8s.io",
    "public.ecr.aws",
    "mcr.microsoft.com",
    "nvcr.io",
    "registry.gitlab.com",
];

/// The per-host gates of a run.
pub(super) struct Gates {
    settings: BTreeMap<String, RegistrySettings>,
    /// The caps per host contacted: a registry's own, and a mirror takes
    /// the caps of the registry it answers for (unless it has its own).
    caps: BTreeMap<String, RegistrySettings>,
    hosts: Mutex<HashMap<String, Arc<Gate>>>,
}

struct Gate {
    /// `None`: only `--jobs` bounds the host.
    permits: Option<Arc<tokio::sync::Semaphore>>,
    /// The gap between request starts (1 / rate).
    gap: Option<Duration>,
    /// When the next request may start.
    next: Mutex<tokio::time::Instant>,
}

/// `host`'s entry of `map`; Docker Hub's API hosts use the `docker.io` one.
fn for_host<'m>(
    map: &'m BTreeMap<String, RegistrySettings>,
    host: &str,
) -> Option<&'m RegistrySettings> {
    map.get(host).or_else(|| match host {
        "registry-1.docker.io" | "index.docker.io" => map.get("docker.io"),
        _ => None,
    })
}

/// Held while one request to a host is in flight.
pub(super) struct Pass {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Gates {
    pub(super) fn new(settings: &BTreeMap<String, RegistrySettings>) -> Gates {
        let mut caps = settings.clone();
        for s in settings.values() {
            if let Some(mirror) = &s.mirror {
                caps.entry(mirror.clone())
                    .or_insert_with(|| RegistrySettings {
                        mirror: None,
                        ..s.clone()
                    });
            }
        }
        Gates {
            settings: settings.clone(),
            caps,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The caps of `host`, a host requests go to.
    fn caps(&self, host: &str) -> Option<&RegistrySettings> {
        for_host(&self.caps, host)
    }

    /// The settings for `host` (the host as the reference names it).
    pub(super) fn settings(&self, host: &str) -> Option<&RegistrySettings> {
        for_host(&self.settings, host)
    }

    /// The rate cap of `host`, and whether it is the built-in one.
    pub(super) fn rate(&self, host: &str) -> Option<(f64, bool)> {
        match self.caps(host).and_then(|s| s.rate) {
            Some(rate) => Some((rate, false)),
            None if PUBLIC_REGISTRIES.contains(&host) => Some((PUBLIC_RATE, true)),
            None => None,
        }
    }

    fn gate(&self, host: &str) -> Arc<Gate> {
        let mut hosts = super::lock(&self.hosts);
        let gate = hosts.entry(host.to_string()).or_insert_with(|| {
            Arc::new(Gate {
                permits: self
                    .caps(host)
                    .and_then(|s| s.jobs)
                    .map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
                gap: self
                    .rate(host)
                    .map(|(r, _)| Duration::from_secs_f64(1.0 / r)),
                next: Mutex::new(tokio::time::Instant::now()),
            })
        });
        Arc::clone(gate)
    }

    /// Wait until a request to `host` may start: a permit when the host has
    /// a concurrency cap, then its slot under the rate cap (starts spaced
    /// 1/rate apart). Keep the pass until the answer is read.
    pub(super) async fn enter(&self, host: &str) -> Pass {
        let gate = self.gate(host);
        let permit = match &gate.permits {
            // Never closed, so acquiring only waits.
            Some(permits) => Arc::clone(permits).acquire_owned().await.ok(),
            None => None,
        };
        if let Some(gap) = gate.gap {
            let start = {
                let mut next = super::lock(&gate.next);
                let start = (*next).max(tokio::time::Instant::now());
                *next = start + gap;
                start
            };
            tokio::time::sleep_until(start).await;
        }
        Pass { _permit: permit }
    }
}

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

/// Counts the connections a client opens (each call of its connector is a
/// TCP connection, and a TLS session on it): the `-v` line "N connections".
#[derive(Clone, Default)]
pub(super) struct ConnectionCount(Arc<std::sync::atomic::AtomicUsize>);

impl ConnectionCount {
    /// Connections opened so far.
    pub(super) fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl<S> tower_layer::Layer<S> for ConnectionCount {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            count: self.clone(),
        }
    }
}

/// A connector that counts its calls.
#[derive(Clone)]
pub(super) struct Counted<S> {
    inner: S,
    count: ConnectionCount,
}

impl<S, R> tower_service::Service<R> for Counted<S>
where
    S: tower_service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.count
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.call(request)
    }
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

    #[tokio::test(start_paused = true)]
    async fn gates_space_requests_by_the_rate_and_cap_concurrency() {
        let mut settings = BTreeMap::new();
        settings.insert(
            "lan:5000".to_string(),
            RegistrySettings {
                rate: Some(10.0),
                jobs: Some(2),
                ..RegistrySettings::default()
            },
        );
        let gates = Gates::new(&settings);
        let t0 = tokio::time::Instant::now();
        let mut starts = Vec::new();
        for _ in 0..5 {
            let _pass = gates.enter("lan:5000").await;
            starts.push(t0.elapsed().as_millis());
        }
        assert_eq!(starts, [0, 100, 200, 300, 400]);
        // Concurrency: two passes held, a third waits.
        let a = gates.enter("lan:5000").await;
        let _b = gates.enter("lan:5000").await;
        let third = tokio::time::timeout(Duration::from_secs(5), gates.enter("lan:5000")).await;
        assert!(
            third.is_err(),
            "a third request started while two were in flight"
        );
        drop(a);
        let _c = gates.enter("lan:5000").await;
        // Public registries get the default cap; others none.
        assert_eq!(gates.rate("ghcr.io"), Some((PUBLIC_RATE, true)));
        assert_eq!(gates.rate("127.0.0.1:5000"), None);
        assert_eq!(gates.rate("lan:5000"), Some((10.0, false)));
    }

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
