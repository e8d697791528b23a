//! Kubernetes manifests (`deploy/k8s/`): a kustomize base with every backend service, and one
//! overlay per environment that sets the namespace, the ECR image and the replicas.

use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Manifest;
use crate::{PlatformError, RenderedFile};

pub const K8S_DIR: &str = "deploy/k8s";

const TEMPLATES: &[(&str, &str)] = &[
    ("deployment", include_str!("../templates/k8s/deployment.yaml.j2")),
    ("service", include_str!("../templates/k8s/service.yaml.j2")),
    ("base", include_str!("../templates/k8s/base-kustomization.yaml.j2")),
    (
        "overlay",
        include_str!("../templates/k8s/overlay-kustomization.yaml.j2"),
    ),
    ("namespace", include_str!("../templates/k8s/namespace.yaml.j2")),
];

/// A service's secret variables as External Secrets references: `name` is a secret under the
/// service's prefix, `name#property` one property of a JSON secret.
fn secret_refs(secrets: &std::collections::BTreeMap<String, String>) -> Vec<serde_json::Value> {
    secrets
        .iter()
        .map(|(var, name)| match name.split_once('#') {
            Some((key, property)) => json!({"var": var, "key": key, "property": property}),
            None => json!({"var": var, "key": name, "property": null}),
        })
        .collect()
}

/// The base and every environment's overlay.
pub fn render_all(m: &Manifest) -> Result<Vec<RenderedFile>, PlatformError> {
    let j = crate::templates::env(TEMPLATES)?;
    let base = PathBuf::from(K8S_DIR).join("base");
    let services: Vec<serde_json::Value> = m
        .services
        .iter()
        .map(|s| {
            let s = s.get_ref();
            json!({"name": s.name.get_ref(), "port": s.port, "health_path": s.health_path,
                   "replicas": s.replicas, "cpu": s.cpu, "memory": s.memory, "args": s.args,
                   "database": s.database, "migrate": s.migrate, "subdomain": s.subdomain, "env": s.env,
                   "secrets": secret_refs(&s.secrets), "oidc": s.secrets.contains_key("BILLPAY_OIDC_ISSUER")})
        })
        .collect();
    let mut files = Vec::new();
    for s in &services {
        let name = s["name"].as_str().unwrap_or_default();
        let labels = [
            format!("    app.kubernetes.io/name: {name}"),
            "    app.kubernetes.io/part-of: billpay".to_owned(),
            "    app.kubernetes.io/component: backend".to_owned(),
            "    app.kubernetes.io/managed-by: billpayctl".to_owned(),
            format!("    backstage.io/kubernetes-id: {name}"),
        ]
        .join("\n");
        let ctx = json!({"s": s, "labels": labels, "secret_prefix": format!("{}/{name}", m.project.name)});
        files.push(RenderedFile {
            path: base.join(format!("{name}-deployment.yaml")),
            contents: crate::templates::render(&j, "deployment", ctx.clone())?,
        });
        files.push(RenderedFile {
            path: base.join(format!("{name}.yaml")),
            contents: crate::templates::render(&j, "service", ctx)?,
        });
    }
    files.push(RenderedFile {
        path: base.join("kustomization.yaml"),
        contents: crate::templates::render(&j, "base", json!({"services": services}))?,
    });
    for env_name in m.env_names() {
        let env = m
            .env(&env_name)
            .ok_or_else(|| PlatformError::UnknownEnvironment(env_name.clone(), String::new()))?;
        let dir = PathBuf::from(K8S_DIR).join("overlays").join(&env_name);
        let registry = m.registry(&env_name);
        // The app origins of this environment: the only browser origins the API lets in (CORS,
        // and the origin check on sessions).
        let app_origins: Vec<String> = m
            .frontends
            .iter()
            .filter_map(|f| crate::webconfig::app_origin(m, &env_name, f.get_ref().name.get_ref()))
            .collect();
        let ctx = json!({"env": env_name, "services": services, "registry": registry, "domain": env.domain,
                         "app_origins": app_origins.join(",")});
        files.push(RenderedFile {
            path: dir.join("kustomization.yaml"),
            contents: crate::templates::render(&j, "overlay", ctx)?,
        });
        files.push(RenderedFile {
            path: dir.join("namespace.yaml"),
            contents: crate::templates::render(&j, "namespace", json!({}))?,
        });
    }
    Ok(files)
}
