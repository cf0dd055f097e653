//! Support for the integration tests: real components on 127.0.0.1.
//!
//! - [`Registry`]: Debian's `docker-registry` (CNCF distribution 2.8), plain
//!   HTTP or HTTPS + htpasswd basic auth, with helpers that push images
//!   through the distribution API.
//! - [`Moto`]: `moto_server`, the AWS endpoint for ECR and ECS.
//! - [`fault_proxy::FaultProxy`]: a proxy in front of a [`Registry`] that bends
//!   its answers (HTML pages, truncated bodies, wrong digests, 429s, hangs).
//! - [`aws_proxy::AwsProxy`]: a proxy in front of [`Moto`] that adds to one
//!   action's answers what moto's model drops.
//! - [`skopeo_digest`]: an independent witness of a tag's digest.
//!
//! Each component is started by the test that needs it, on a free port,
//! and killed by PID when its guard drops. A missing program is a panic
//! that says to run `scripts/install-test-deps.sh`, never a silent skip.
//! The helpers use blocking HTTP: call them from plain `#[test]` functions,
//! not inside an async runtime.

pub mod aws_proxy;
pub mod fault_proxy;
pub mod images;
pub mod moto;
pub mod proc;
pub mod registry;
pub mod skopeo;
pub mod tls;

pub use images::{LINUX_AMD64, LINUX_ARM64, LINUX_ARM_V7};
pub use moto::Moto;
pub use registry::Registry;
pub use skopeo::skopeo_digest;
