//! The root `catalog-info.yaml`: the platform as Backstage entities, rendered from the manifest.

use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Manifest;
use crate::{PlatformError, RenderedFile};

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
        "services": m.services.iter().map(|s| s.get_ref().name.get_ref().clone()).collect::<Vec<_>>(),
        "frontends": m.frontends.iter().map(|f| json!({"name": f.get_ref().name.get_ref(), "bucket": f.get_ref().bucket.get_ref()})).collect::<Vec<_>>(),
        "buckets": buckets,
    });
    let contents = crate::templates::render(&j, name, &ctx)?;
    Ok(RenderedFile {
        path: PathBuf::from(name),
        contents,
    })
}
