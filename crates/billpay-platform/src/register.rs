//! Adding a scaffolded service or web app to `platform.toml`, keeping the file's comments and
//! layout. Once it is there, `billpayctl infra generate` gives it everything else: its ECR
//! repository, its Kubernetes objects, its pipeline, its catalog entry and its docs.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, value};

use crate::manifest::{self, Manifest, ManifestError};
use crate::prices::Prices;
use crate::scaffold::ScaffoldError;

/// What is being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A backend service on the cluster, with an image in ECR.
    Service { name: String, path: String, port: u16 },
    /// A static web app in S3 behind CloudFront.
    Frontend { name: String, path: String },
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Service { name, .. } | Entry::Frontend { name, .. } => name,
        }
    }
}

/// Whether `name` is already taken by a service, a web app or an ECR repository.
pub fn taken(m: &Manifest, name: &str) -> Option<&'static str> {
    if m.services.iter().any(|s| s.get_ref().name.get_ref() == name) {
        Some("a service")
    } else if m.frontends.iter().any(|f| f.get_ref().name.get_ref() == name) {
        Some("a web app")
    } else if m.project.repositories.iter().any(|r| r.get_ref() == name) {
        Some("an ECR repository")
    } else {
        None
    }
}

/// The manifest text with `entry` added, checked by reading it back.
pub fn add(file: &Path, text: &str, entry: &Entry, prices: &Prices) -> Result<String, ScaffoldError> {
    let bad = |e: String| ScaffoldError::Template(file.display().to_string(), e);
    let current = manifest::parse(file, text, prices).map_err(|e: ManifestError| bad(e.to_string()))?;
    if let Some(what) = taken(&current, entry.name()) {
        return Err(ScaffoldError::Exists(format!(
            "{what} named `{}` in {}",
            entry.name(),
            file.display()
        )));
    }
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| bad(e.to_string()))?;
    let mut t = Table::new();
    t["name"] = value(entry.name());
    let key = match entry {
        Entry::Service { name, path, port } => {
            let repos = doc["project"]["repositories"]
                .as_array_mut()
                .ok_or_else(|| bad("[project] repositories is not an array".into()))?;
            repos.push(name.as_str());
            t["path"] = value(path.as_str());
            t["port"] = value(i64::from(*port));
            t["health_path"] = value("/readyz");
            t["replicas"] = value(2);
            t["cpu"] = value("100m");
            t["memory"] = value("128Mi");
            let mut env = toml_edit::InlineTable::new();
            env.insert("LISTEN", format!("0.0.0.0:{port}").into());
            env.insert("LOG_FORMAT", "json".into());
            t["env"] = value(env);
            "services"
        }
        Entry::Frontend { name, path } => {
            t["path"] = value(path.as_str());
            t["bucket"] = value(name.as_str());
            t["subdomain"] = value(name.as_str());
            "frontends"
        }
    };
    let tables = doc
        .entry(key)
        .or_insert_with(|| Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .ok_or_else(|| bad(format!("`{key}` is not an array of tables")))?;
    t.decor_mut().set_prefix("\n");
    tables.push(t);
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    manifest::parse(file, &out, prices).map_err(|e| bad(format!("the manifest would not be valid: {e}")))?;
    Ok(out)
}

/// The manifest text without the services and web apps that are projects of their own (those
/// with a `path`, as `billpayctl scaffold` adds them), nor their ECR repositories: a manifest to
/// start another workspace from, which holds none of those projects' code. Comments are kept.
pub fn without_projects(file: &Path, text: &str, prices: &Prices) -> Result<String, ScaffoldError> {
    let bad = |e: String| ScaffoldError::Template(file.display().to_string(), e);
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| bad(e.to_string()))?;
    let mut dropped = Vec::new();
    for key in ["services", "frontends"] {
        if let Some(tables) = doc.get_mut(key).and_then(Item::as_array_of_tables_mut) {
            let own: Vec<usize> = tables
                .iter()
                .enumerate()
                .filter(|(_, t)| t.contains_key("path"))
                .map(|(i, _)| i)
                .collect();
            for i in own.into_iter().rev() {
                if let Some(name) = tables.get(i).and_then(|t| t.get("name")).and_then(Item::as_str) {
                    dropped.push(name.to_owned());
                }
                tables.remove(i);
            }
        }
    }
    if let Some(repos) = doc
        .get_mut("project")
        .and_then(|p| p.get_mut("repositories"))
        .and_then(Item::as_array_mut)
    {
        repos.retain(|r| !r.as_str().is_some_and(|r| dropped.iter().any(|d| d == r)));
    }
    let out = doc.to_string();
    manifest::parse(file, &out, prices).map_err(|e| bad(format!("the manifest would not be valid: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starter_manifest_holds_none_of_the_scaffolded_projects() {
        let p = Prices::us_east_1();
        let e = Entry::Service {
            name: "payments-notifier".into(),
            path: "services/payments-notifier".into(),
            port: 8080,
        };
        let with = add(Path::new("platform.toml"), MANIFEST, &e, &p).expect("added");
        let out = without_projects(Path::new("platform.toml"), &with, &p).expect("valid");
        let m = manifest::parse(Path::new("platform.toml"), &out, &p).expect("valid");
        assert!(m.services.iter().all(|s| s.get_ref().path.is_none()));
        assert!(m.frontends.iter().all(|f| f.get_ref().path.is_none()));
        assert!(
            !m.frontends.is_empty() && !m.services.is_empty(),
            "BillPay's own apps stay"
        );
        assert!(
            !m.project
                .repositories
                .iter()
                .any(|r| r.get_ref() == "payments-notifier")
        );
        assert!(out.starts_with("# BillPay's platform manifest."), "comments are kept");
    }

    const MANIFEST: &str = include_str!("../../../platform.toml");

    #[test]
    fn adds_a_service_keeping_comments() {
        let p = Prices::us_east_1();
        let e = Entry::Service {
            name: "payments-notifier".into(),
            path: "services/payments-notifier".into(),
            port: 8080,
        };
        let out = add(Path::new("platform.toml"), MANIFEST, &e, &p).expect("added");
        assert!(out.starts_with("# BillPay's platform manifest."), "comments are kept");
        let m = manifest::parse(Path::new("platform.toml"), &out, &p).expect("valid");
        let s = m.services.last().expect("a service").get_ref();
        assert_eq!(s.name.get_ref(), "payments-notifier");
        assert_eq!(s.path.as_deref(), Some("services/payments-notifier"));
        assert!(
            m.project
                .repositories
                .iter()
                .any(|r| r.get_ref() == "payments-notifier")
        );
        let again = add(Path::new("platform.toml"), &out, &e, &p).expect_err("twice");
        assert!(
            again.to_string().contains("a service named `payments-notifier`"),
            "{again}"
        );
    }

    #[test]
    fn refuses_a_name_taken_by_a_web_app() {
        let p = Prices::us_east_1();
        let e = Entry::Service {
            name: "billpay-frontend-a".into(),
            path: "services/x".into(),
            port: 8080,
        };
        let err = add(Path::new("platform.toml"), MANIFEST, &e, &p).expect_err("taken");
        assert!(
            err.to_string().contains("a web app named `billpay-frontend-a`"),
            "{err}"
        );
    }
}
