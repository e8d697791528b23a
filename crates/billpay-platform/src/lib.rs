//! BillPay's platform: `platform.toml` and what is rendered from it.
//!
//! - [`manifest`]: reading and checking the manifest, with errors that name file and line.
//! - [`live`]: the Terragrunt live tree (`infra/live/`), rendered with minijinja templates;
//!   rendering is deterministic, and [`live::check`] reports drift.
//! - [`cost`]: the monthly estimate from the dated price table in [`prices`].
//! - [`scaffold`]: service templates in Cookiecutter's format, rendered as Cookiecutter does;
//!   [`register`] adds what was scaffolded to the manifest.
//!
//! Everything here is offline: nothing talks to AWS or runs OpenTofu.

pub mod backstage;
pub mod catalog;
pub mod cost;
pub mod k8s;
pub mod live;
pub mod manifest;
pub mod prices;
pub mod register;
pub mod scaffold;
pub mod schema;
mod templates;
pub mod tfcheck;
pub mod webconfig;
pub mod workflows;

pub use manifest::{Manifest, ManifestError};
pub use prices::Prices;

/// A file to write, relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: std::path::PathBuf,
    pub contents: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("no environment `{0}` in the manifest (it has: {1})")]
    UnknownEnvironment(String, String),
    #[error("rendering {0}: {1}")]
    Template(String, String),
    #[error("{0}: {1}")]
    Io(std::path::PathBuf, std::io::Error),
}
