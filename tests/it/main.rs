//! The one integration test binary (as ripgrep, just and uv do: link time
//! stays flat). Offline modules first; the others start a real registry
//! (Debian's docker-registry) or moto on free 127.0.0.1 ports.

mod action;
mod architecture;
mod bad_input;
mod cli;
mod config;
mod ecr;
mod ecr_archive;
mod ecr_fallback;
mod ecr_registry;
mod ecs;
mod ecs_revisions;
mod faults;
mod hostile_files;
mod in_use;
mod infra;
mod kill;
mod lifecycle;
mod packaging;
mod pipeline;
mod properties;
mod registry;
mod schema;
mod secrets;
mod support;
mod update;
mod verify;
