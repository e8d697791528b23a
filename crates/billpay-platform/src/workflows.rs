//! GitHub Actions workflows (`.github/workflows/`), rendered from the manifest: backend CI, the
//! backend deploy through the environments in order, and the infrastructure checks, plans and
//! applies. Third-party actions are pinned by commit SHA; every job states its permissions.

use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Manifest;
use crate::{PlatformError, RenderedFile};

pub const WORKFLOWS_DIR: &str = ".github/workflows";

/// Actions by commit SHA (the tag each SHA was read from is in the rendered comment).
const CHECKOUT: &str = "11bd71901bbe5b1630ceea73d27597364c9af683"; // v4.2.2
const AWS_CREDENTIALS: &str = "e3dd6a429d7300a6a4c196c26e071d42e0343502"; // v4.0.2
const SETUP_NODE: &str = "49933ea5288caeca8642d1e84afbd3f7d6820020"; // v4.4.0
const RUST: &str = "1.95.0";
const TOFU: &str = "1.10.5";
const TERRAGRUNT: &str = "0.88.0";
const CHECKOV: &str = "3.3.30";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "backend-ci.yml",
        include_str!("../templates/workflows/backend-ci.yml.j2"),
    ),
    (
        "backend-deploy.yml",
        include_str!("../templates/workflows/backend-deploy.yml.j2"),
    ),
    (
        "infrastructure.yml",
        include_str!("../templates/workflows/infrastructure.yml.j2"),
    ),
    ("frontends.yml", include_str!("../templates/workflows/frontends.yml.j2")),
    ("docs.yml", include_str!("../templates/workflows/docs.yml.j2")),
];

/// One workflow per service or web app that lives in a directory of its own.
const PER_APP: &[(&str, &str)] = &[
    ("service", include_str!("../templates/workflows/service.yml.j2")),
    ("webapp", include_str!("../templates/workflows/webapp.yml.j2")),
];

/// Pieces the workflows include.
const PARTIALS: &[(&str, &str)] = &[(
    "deploy-frontend-env",
    include_str!("../templates/workflows/deploy-frontend-env.yml.j2"),
)];

pub fn render_all(m: &Manifest) -> Result<Vec<RenderedFile>, PlatformError> {
    let j = crate::templates::env(&[TEMPLATES, PER_APP, PARTIALS].concat())?;
    // dev first, then staging, then prod: the order changes go out in.
    let mut names = m.env_names();
    let rank = |n: &str| match n {
        "dev" => 0,
        "staging" => 1,
        "prod" => 3,
        _ => 2,
    };
    names.sort_by_key(|n| (rank(n), n.clone()));
    let envs: Vec<serde_json::Value> = names
        .iter()
        .filter_map(|n| {
            let e = m.env(n)?;
            let region = m.region_of(n);
            Some(json!({
                "name": n,
                "account_id": e.account_id.get_ref(),
                "region": region,
                "registry": m.registry(n),
                "techdocs_bucket": m.bucket(n, &m.project.techdocs_bucket),
                // Without a domain, and until platform.toml gives the API's origin, the deploy
                // takes it from the GitHub environment's variable.
                "needs_api_origin": crate::webconfig::api_origin(m, n).is_none(),
            }))
        })
        .collect();
    let ctx = json!({
        "envs": envs,
        "project": m.project.name,
        "cluster": m.project.cluster_name,
        "actions": {"checkout": CHECKOUT, "aws_credentials": AWS_CREDENTIALS, "setup_node": SETUP_NODE},
        "frontends": m.frontends.iter().map(|f| f.get_ref()).filter(|f| f.path.is_none()).map(|f| f.name.get_ref().clone()).collect::<Vec<_>>(),
        "doc_entities": std::iter::once(format!("system/{}", m.project.name))
            .chain(m.services.iter().map(|s| s.get_ref()).filter(|s| s.path.is_none()).map(|s| format!("component/{}", s.name.get_ref())))
            .chain(m.frontends.iter().map(|f| f.get_ref()).filter(|f| f.path.is_none()).map(|f| format!("component/{}", f.name.get_ref())))
            .collect::<Vec<_>>(),
        "doc_apps": m.own_projects(),
        "rust": RUST,
        "tofu": TOFU,
        "terragrunt": TERRAGRUNT,
        "checkov": CHECKOV,
        "mkdocs": "1.6.1",
        "techdocs_core": "1.7.1",
    });
    let mut files = Vec::new();
    for (name, _) in TEMPLATES {
        let contents = crate::templates::render(&j, name, &ctx)?;
        files.push(RenderedFile {
            path: PathBuf::from(WORKFLOWS_DIR).join(name),
            contents,
        });
    }
    for s in m.services.iter().map(|s| s.get_ref()) {
        if let Some(path) = &s.path {
            let mut ctx = ctx.clone();
            ctx["s"] = json!({"name": s.name.get_ref(), "path": path});
            files.push(RenderedFile {
                path: PathBuf::from(WORKFLOWS_DIR).join(format!("service-{}.yml", s.name.get_ref())),
                contents: crate::templates::render(&j, "service", &ctx)?,
            });
        }
    }
    for f in m.frontends.iter().map(|f| f.get_ref()) {
        if let Some(path) = &f.path {
            let mut ctx = ctx.clone();
            ctx["f"] = json!({"name": f.name.get_ref(), "path": path});
            files.push(RenderedFile {
                path: PathBuf::from(WORKFLOWS_DIR).join(format!("web-{}.yml", f.name.get_ref())),
                contents: crate::templates::render(&j, "webapp", &ctx)?,
            });
        }
    }
    Ok(files)
}
