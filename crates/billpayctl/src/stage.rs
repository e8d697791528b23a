//! A web app's build as it is deployed: the app's own build, plus the environment's `config.json`
//! for that app. The build stays untouched; the staged copy is what is compared and uploaded.
//! `billpayctl deploy frontend` and the MCP `deploy_application` tool both go through here.

use std::path::{Path, PathBuf};

use anyhow::Context;
use billpay_platform::Manifest;
use billpay_platform::webconfig::{self, Overrides};

/// Where an app's build is by default, relative to the repository root: `<path>/dist` for a
/// frontend that is a project of its own, `web/dist/<app>` for BillPay's own apps.
pub fn default_build_dir(m: &Manifest, app: &str) -> PathBuf {
    let path = m
        .frontends
        .iter()
        .map(|f| f.get_ref())
        .find(|f| f.name.get_ref() == app)
        .and_then(|f| f.path.clone());
    match path {
        Some(p) => Path::new(&p).join("dist"),
        None => Path::new("web/dist").join(app),
    }
}

/// A deploy worked out: the staged files and what uploading them changes.
pub struct Prepared {
    pub bucket: String,
    pub config: serde_json::Value,
    pub local: Vec<billpay_aws::frontend::LocalFile>,
    pub plan: billpay_aws::frontend::Plan,
    /// Kept alive until the deploy is applied: it holds the staged files.
    _staged: tempfile::TempDir,
}

/// Renders `app`'s config.json for `env`, stages it with the build in `dir`, and compares the
/// result with the bucket. In an environment without a domain, the customer apps not given in
/// `origins` or in the manifest's `app_origins` are found at their CloudFront distributions' own names.
pub async fn prepare(
    m: &Manifest,
    env: &str,
    app: &str,
    dir: &Path,
    mut origins: Overrides,
    flags_key: Option<&str>,
    aws: &billpay_aws::Aws,
) -> anyhow::Result<Prepared> {
    let front = m
        .frontends
        .iter()
        .map(|f| f.get_ref())
        .find(|f| f.name.get_ref() == app)
        .with_context(|| format!("no frontend `{app}` in the manifest"))?;
    if m.env(env).is_some_and(|e| e.domain.is_none()) {
        // Said before any AWS call: the one thing only the person deploying can give.
        if origins.api.is_none() && webconfig::api_origin(m, env).is_none() {
            return Err(webconfig::WebConfigError::NoApiOrigin(env.to_owned()).into());
        }
        for (_, name) in webconfig::variant_apps(m) {
            if webconfig::app_origin(m, env, &name).is_some() {
                continue; // the manifest says where it is served
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = origins.apps.entry(name) {
                let name = slot.key();
                let (_, domain) = aws.distribution_of(name).await.with_context(|| {
                    format!("finding where {name} is served (or give --app-origin {name}=https://…)")
                })?;
                slot.insert(format!("https://{domain}"));
            }
        }
    }
    let config = webconfig::web_config(m, env, app, &origins, flags_key)?;
    let staged = stage_build(dir, &config)?;
    let bucket = m.bucket(env, front.bucket.get_ref());
    let (local, plan) = aws.plan_frontend(staged.path(), &bucket).await?;
    Ok(Prepared {
        bucket,
        config,
        local,
        plan,
        _staged: staged,
    })
}

/// Parses `NAME=ORIGIN` pairs (`--app-origin billpay-frontend-a=https://d1.cloudfront.net`).
pub fn parse_app_origins(pairs: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            let (name, origin) = p.split_once('=').with_context(|| {
                format!("--app-origin {p:?}: write NAME=ORIGIN, e.g. billpay-frontend-a=https://d1.cloudfront.net")
            })?;
            Ok((name.trim().to_owned(), origin.trim().to_owned()))
        })
        .collect()
}

/// Copies `dir` into a new temporary folder and writes `config` there as `config.json`.
pub fn stage_build(dir: &Path, config: &serde_json::Value) -> anyhow::Result<tempfile::TempDir> {
    let out = tempfile::tempdir().context("creating a staging folder")?;
    copy_tree(dir, out.path()).with_context(|| format!("copying the build in {}", dir.display()))?;
    let text = serde_json::to_string_pretty(config).context("serialising config.json")? + "\n";
    std::fs::write(out.path().join("config.json"), text).context("writing config.json")?;
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} is not a folder (build the web apps first: npm run build in web/)",
                from.display()
            ),
        ));
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
