//! The root `catalog-info.yaml`: the platform as Backstage entities, rendered from the manifest.

use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Manifest;
use crate::{PlatformError, RenderedFile};

/// The service templates, each with a Backstage software template:
/// (name, title, description, tags, spec.type, what it makes).
pub const SOFTWARE_TEMPLATES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "rust-microservice",
        "BillPay Rust microservice",
        "An axum service with health, readiness, Prometheus metrics, structured logs, graceful shutdown, tests, a Dockerfile, a catalog entry and TechDocs.",
        "rust, axum, recommended",
        "service",
        "service",
    ),
    (
        "static-frontend",
        "BillPay static web app",
        "A web app on BillPay's stack (TypeScript, Lit, Vite, Vitest), served from S3 behind CloudFront, with a catalog entry and TechDocs.",
        "typescript, lit, website",
        "website",
        "web app",
    ),
];

/// The software templates and the Backstage configuration snippet (`backstage/`).
pub fn render_backstage(m: &Manifest) -> Result<Vec<RenderedFile>, PlatformError> {
    let j = crate::templates::env(&[
        ("template", include_str!("../templates/backstage/template.yaml.j2")),
        ("app-config", include_str!("../templates/backstage/app-config.yaml.j2")),
    ])?;
    let github_owner = m.project.github_repository.split('/').next().unwrap_or_default();
    let mut files = Vec::new();
    for (name, title, description, tags, kind, noun) in SOFTWARE_TEMPLATES {
        let ctx = json!({
            "project": m.project.name, "owner": m.project.owner, "github_owner": github_owner,
            "t": {"name": name, "title": title, "description": description, "tags": tags, "type": kind, "noun": noun},
        });
        files.push(RenderedFile {
            path: PathBuf::from(format!("backstage/templates/{name}/template.yaml")),
            contents: crate::templates::render(&j, "template", ctx)?,
        });
    }
    let first_env = m.env_names().into_iter().next().unwrap_or_default();
    let ctx = json!({
        "repository": m.project.github_repository,
        "templates": SOFTWARE_TEMPLATES.iter().map(|t| t.0).collect::<Vec<_>>(),
        "cluster": m.project.cluster_name,
        "techdocs_bucket": m.bucket(&first_env, &m.project.techdocs_bucket),
        "region": m.region_of(&first_env),
    });
    files.push(RenderedFile {
        path: PathBuf::from("backstage/app-config.billpay.yaml"),
        contents: crate::templates::render(&j, "app-config", ctx)?,
    });
    Ok(files)
}

/// The catalog files the root catalog's Location points at: every service and web app that lives
/// in a directory of its own, and the software templates (relative to the repository root,
/// `./`-prefixed as Backstage's Location targets are).
pub fn own_catalogs(m: &Manifest) -> Vec<String> {
    let templates = SOFTWARE_TEMPLATES
        .iter()
        .map(|t| format!("./backstage/templates/{}/template.yaml", t.0));
    m.own_projects()
        .iter()
        .filter_map(|a| a["path"].as_str())
        .map(|p| {
            format!(
                "./{}/catalog-info.yaml",
                p.trim_start_matches("./").trim_end_matches('/')
            )
        })
        .chain(templates)
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
    let apps = m.own_projects();
    Ok(RenderedFile {
        path: PathBuf::from(name),
        contents: crate::templates::render(&j, name, json!({"apps": apps}))?,
    })
}
