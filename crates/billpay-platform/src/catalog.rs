//! The root `catalog-info.yaml`: the platform as Backstage entities, rendered from the manifest.

use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Manifest;
use crate::{PlatformError, RenderedFile};

/// The `catalog-info.yaml` of every service and web app that lives in a directory of its own
/// (relative to the repository root, `./`-prefixed as Backstage's Location targets are).
pub fn own_catalogs(m: &Manifest) -> Vec<String> {
    let services = m.services.iter().filter_map(|s| s.get_ref().path.clone());
    let frontends = m.frontends.iter().filter_map(|f| f.get_ref().path.clone());
    services
        .chain(frontends)
        .map(|p| {
            format!(
                "./{}/catalog-info.yaml",
                p.trim_start_matches("./").trim_end_matches('/')
            )
        })
        .collect()
}

/// The root `catalog-info.yaml`: the platform as Backstage entities.
pub fn render(m: &Manifest) -> Result<RenderedFile, PlatformError> {
    let name = "catalog-info.yaml";
    let j = crate::templates::env(&[(name, include_str!("../templates/catalog-info.yaml.j2"))])?;
    let mut buckets: Vec<String> = m
        .frontends
        .iter()
        .map(|f| f.get_ref().bucket.get_ref().clone())
        .collect();
    buckets.push(m.project.techdocs_bucket.clone());
    let ctx = json!({
        "project": m.project.name,
        "owner": m.project.owner,
        "repository": m.project.github_repository,
        "cluster": m.project.cluster_name,
        "services": m.services.iter().map(|s| s.get_ref()).filter(|s| s.path.is_none()).map(|s| s.name.get_ref().clone()).collect::<Vec<_>>(),
        "frontends": m.frontends.iter().map(|f| f.get_ref()).filter(|f| f.path.is_none()).map(|f| json!({"name": f.name.get_ref(), "bucket": f.bucket.get_ref()})).collect::<Vec<_>>(),
        "locations": own_catalogs(m),
        "buckets": buckets,
    });
    let contents = crate::templates::render(&j, name, &ctx)?;
    Ok(RenderedFile {
        path: PathBuf::from(name),
        contents,
    })
}

/// The root `mkdocs.yml`: BillPay's docs, with the docs of every service and web app that lives
/// in a directory of its own included through techdocs-core's monorepo plugin.
pub fn render_mkdocs(m: &Manifest) -> Result<RenderedFile, PlatformError> {
    let name = "mkdocs.yml";
    let j = crate::templates::env(&[(name, include_str!("../templates/mkdocs.yml.j2"))])?;
    let services = m
        .services
        .iter()
        .filter_map(|s| Some(json!({"name": s.get_ref().name.get_ref(), "path": s.get_ref().path.as_ref()?})));
    let frontends = m
        .frontends
        .iter()
        .filter_map(|f| Some(json!({"name": f.get_ref().name.get_ref(), "path": f.get_ref().path.as_ref()?})));
    let apps: Vec<_> = services.chain(frontends).collect();
    Ok(RenderedFile {
        path: PathBuf::from(name),
        contents: crate::templates::render(&j, name, json!({"apps": apps}))?,
    })
}
