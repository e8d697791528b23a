//! `platform.toml`: the one description of BillPay's platform. Every other infrastructure file is
//! rendered from it. Reading it checks everything a later step relies on, and every error names
//! the file, the line and the problem.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::prices::Prices;

/// A problem in the manifest, at a line (1-based) of a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ManifestError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub project: Project,
    /// dev, staging, prod, … in the order they sort.
    pub environments: BTreeMap<String, Spanned<Environment>>,
    #[serde(default)]
    pub services: Vec<Spanned<Service>>,
    #[serde(default)]
    pub frontends: Vec<Spanned<Frontend>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: String,
    /// The EKS cluster's name.
    pub cluster_name: String,
    /// ECR repositories, one per image.
    pub repositories: Vec<Spanned<String>>,
    /// The bucket TechDocs are published to.
    pub techdocs_bucket: String,
    /// The GitHub repository (owner/name) whose workflows may assume the pipeline roles.
    pub github_repository: String,
    /// Days CloudWatch keeps logs.
    #[serde(default = "default_log_retention")]
    pub log_retention_days: u32,
    /// Where alarms are sent.
    #[serde(default)]
    pub alert_email: Option<String>,
    /// The Backstage group that owns the platform.
    #[serde(default = "default_owner")]
    pub owner: String,
}

fn default_owner() -> String {
    "payments-team".into()
}

fn default_log_retention() -> u32 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NatStrategy {
    /// One NAT gateway for the whole VPC: cheaper, one AZ's outage cuts egress.
    Single,
    /// One NAT gateway per AZ: highly available, one hourly charge each.
    OnePerAz,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub account_id: Spanned<String>,
    pub region: Option<Spanned<String>>,
    pub vpc_cidr: Spanned<String>,
    pub azs: Spanned<u8>,
    pub nat: NatStrategy,
    pub nodes: NodeGroup,
    pub database: Database,
    /// The domain the frontends are served under, e.g. `dev.billpay.example.com`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Where the API is served (`https://host[:port]`) in an environment without a domain, once
    /// that is known. The apps' CSP then lets them connect to exactly it, and their `config.json`
    /// names it; without it the CSP allows any HTTPS origin and `deploy frontend` needs
    /// `--api-origin`. With a domain the API is at `https://<service subdomain>.<domain>`, and
    /// this may not be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_origin: Option<Spanned<String>>,
    /// Where each web app is served (`name = "https://host"`) in an environment without a domain,
    /// once known (each distribution's CloudFront name, after the first apply). The API's CORS
    /// then allows exactly these origins, and `deploy frontend` uses them instead of looking the
    /// distributions up. With a domain each app is at `https://<subdomain>.<domain>`, and these
    /// may not be given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub app_origins: BTreeMap<String, Spanned<String>>,
    /// The monthly budget, in whole US dollars, above which the billing alarm fires.
    pub monthly_budget_usd: u32,
    /// Appended to globally unique names (S3 buckets) so that environments do not collide,
    /// e.g. `-staging`. Empty for the environment that owns the plain names.
    #[serde(default)]
    pub name_suffix: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    pub instance_type: Spanned<String>,
    pub min: Spanned<u32>,
    pub desired: u32,
    pub max: u32,
    #[serde(default = "default_disk")]
    pub disk_gb: u32,
}

fn default_disk() -> u32 {
    20
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub instance_class: Spanned<String>,
    pub multi_az: bool,
    pub storage_gb: u32,
    #[serde(default = "default_backup_days")]
    pub backup_retention_days: u32,
}

fn default_backup_days() -> u32 {
    7
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: Spanned<String>,
    pub port: u16,
    pub health_path: String,
    pub replicas: u32,
    /// Kubernetes quantities, e.g. `250m` and `256Mi`.
    pub cpu: String,
    pub memory: String,
    /// Where its code lives, when it is a project of its own in this repository (scaffolded
    /// services): it has its own Dockerfile, `catalog-info.yaml` and `mkdocs.yml` there.
    #[serde(default)]
    pub path: Option<String>,
    /// The container's arguments (default: the image's entrypoint alone).
    #[serde(default)]
    pub args: Vec<String>,
    /// Reads `DATABASE_URL` from the database Secret that External Secrets syncs.
    #[serde(default)]
    pub database: bool,
    /// Arguments of an init container that runs the image's migrations before each new pod.
    #[serde(default)]
    pub migrate: Option<Vec<String>>,
    /// Served through the ALB at this subdomain of the environment's domain (e.g. `api`); a
    /// service without one is reachable only inside the cluster.
    #[serde(default)]
    pub subdomain: Option<String>,
    /// The ConfigMap the container reads its environment from.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment variables whose values are secrets: variable to the name of a Secrets
    /// Manager secret under `<project>/<service>/`, synced by External Secrets.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Frontend {
    pub name: Spanned<String>,
    pub bucket: Spanned<String>,
    /// Served at this subdomain of the environment's domain, when it has one.
    #[serde(default)]
    pub subdomain: Option<String>,
    /// Answer unknown paths with `index.html` (single-page apps).
    #[serde(default = "yes")]
    pub spa_fallback: bool,
    /// The variant of the `frontend-variant` A/B test this app serves (`a` or `b`), for a customer
    /// app: each app's config.json says where the app of every variant lives.
    #[serde(default)]
    pub variant: Option<String>,
    /// Where its code lives, when it is a project of its own in this repository (scaffolded
    /// web apps); BillPay's own apps are built from `web/`.
    #[serde(default)]
    pub path: Option<String>,
}

fn yes() -> bool {
    true
}

/// An IPv4 network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: u32,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a CIDR block (expected a.b.c.d/n)"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("`{s}`: `{ip}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("`{s}`: the prefix must be 0 to 32"))?;
        let addr = u32::from(ip);
        let mask = Self::mask(prefix);
        if addr & !mask != 0 {
            return Err(format!(
                "`{s}` has host bits set; the network is {}/{prefix}",
                Ipv4Addr::from(addr & mask)
            ));
        }
        Ok(Cidr { addr, prefix })
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        let p = self.prefix.min(other.prefix);
        let m = Self::mask(p);
        self.addr & m == other.addr & m
    }

    /// The `index`-th subnet of `new_prefix` inside this network (like `cidrsubnet`).
    pub fn subnet(&self, new_prefix: u8, index: u32) -> Option<Cidr> {
        if new_prefix < self.prefix || new_prefix > 32 {
            return None;
        }
        let bits = new_prefix - self.prefix;
        if bits < 32 && index >= (1u32 << bits) {
            return None;
        }
        let addr = self.addr | (index << (32 - new_prefix as u32));
        Some(Cidr {
            addr,
            prefix: new_prefix,
        })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.prefix)
    }
}

/// Reads and checks a manifest. `prices` is the price table instance types are checked against.
pub fn load(path: &Path, prices: &Prices) -> Result<Manifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: path.to_owned(),
        line: 0,
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text, prices)
}

/// `https://host[:port]` with a lower-case DNS host and nothing after it: what the frontend
/// module's `api_origin` variable accepts.
fn is_https_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://") else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses and checks manifest text; `path` only names the file in errors.
pub fn parse(path: &Path, text: &str, prices: &Prices) -> Result<Manifest, ManifestError> {
    let err = |span: std::ops::Range<usize>, message: String| ManifestError {
        file: path.to_owned(),
        line: line_of(text, span.start),
        message,
    };
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        err(span, e.message().trim().to_owned())
    })?;
    if manifest.environments.is_empty() {
        return Err(err(0..0, "no environments: add at least [environments.dev]".into()));
    }
    let mut cidrs: Vec<(String, Cidr, std::ops::Range<usize>)> = Vec::new();
    for (name, env) in &manifest.environments {
        let e = env.get_ref();
        let Some(region) = &e.region else {
            return Err(err(
                env.span(),
                format!("environment `{name}` has no region (add region = \"us-east-1\")"),
            ));
        };
        if !prices.has_region(region.get_ref()) {
            return Err(err(
                region.span(),
                format!(
                    "environment `{name}`: no price table for region `{}` (known: {})",
                    region.get_ref(),
                    prices.region
                ),
            ));
        }
        let account = e.account_id.get_ref();
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                e.account_id.span(),
                format!("environment `{name}`: account_id `{account}` must be 12 digits"),
            ));
        }
        let cidr = Cidr::parse(e.vpc_cidr.get_ref())
            .map_err(|m| err(e.vpc_cidr.span(), format!("environment `{name}`: vpc_cidr {m}")))?;
        if !(16..=24).contains(&cidr.prefix) {
            return Err(err(
                e.vpc_cidr.span(),
                format!(
                    "environment `{name}`: vpc_cidr must be a /16 to /24 (AWS allows no larger VPC, and subnets need room)"
                ),
            ));
        }
        for (other, c, _) in &cidrs {
            if c.overlaps(&cidr) {
                return Err(err(
                    e.vpc_cidr.span(),
                    format!("environment `{name}`: vpc_cidr {cidr} overlaps {c} of environment `{other}`"),
                ));
            }
        }
        cidrs.push((name.clone(), cidr, e.vpc_cidr.span()));
        if !(2..=3).contains(e.azs.get_ref()) {
            return Err(err(
                e.azs.span(),
                format!("environment `{name}`: azs must be 2 or 3 (EKS needs two)"),
            ));
        }
        for (field, it) in [
            ("nodes.instance_type", &e.nodes.instance_type),
            ("database.instance_class", &e.database.instance_class),
        ] {
            if prices.hourly(it.get_ref()).is_none() {
                return Err(err(
                    it.span(),
                    format!(
                        "environment `{name}`: {field} `{}` is not in the price table ({})",
                        it.get_ref(),
                        prices.known_types(field.starts_with("database")).join(", ")
                    ),
                ));
            }
        }
        // Origins given where the manifest cannot derive them: only without a domain, and each
        // https://host[:port].
        let given = e
            .api_origin
            .iter()
            .map(|o| {
                (
                    "api_origin".to_owned(),
                    "its API is at https://<service subdomain>.<domain>",
                    o,
                )
            })
            .chain(e.app_origins.iter().map(|(app, o)| {
                (
                    format!("app_origins.{app}"),
                    "each app is at https://<subdomain>.<domain>",
                    o,
                )
            }));
        for (field, derived, origin) in given {
            if e.domain.is_some() {
                return Err(err(
                    origin.span(),
                    format!("environment `{name}` has a domain, so {derived}: remove {field}"),
                ));
            }
            if !is_https_origin(origin.get_ref()) {
                return Err(err(
                    origin.span(),
                    format!(
                        "environment `{name}`: {field} {:?} must be https://host[:port] with no path",
                        origin.get_ref()
                    ),
                ));
            }
        }
        if let Some((app, origin)) = e
            .app_origins
            .iter()
            .find(|(app, _)| !manifest.frontends.iter().any(|f| f.get_ref().name.get_ref() == *app))
        {
            return Err(err(
                origin.span(),
                format!("environment `{name}`: app_origins names `{app}`, which is not a frontend"),
            ));
        }
        let n = &e.nodes;
        if !(*n.min.get_ref() <= n.desired && n.desired <= n.max && n.max >= 1) {
            return Err(err(
                n.min.span(),
                format!("environment `{name}`: nodes need min <= desired <= max and max >= 1"),
            ));
        }
    }
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    let mut check_unique = |value: &Spanned<String>, what: &'static str| -> Result<(), ManifestError> {
        let v = value.get_ref();
        if v.is_empty()
            || v.len() > 63
            || !v
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err(
                value.span(),
                format!("{what} `{v}` must be 1 to 63 lower-case letters, digits or dashes"),
            ));
        }
        if let Some(first) = names.insert(format!("{what}:{v}"), what) {
            return Err(err(value.span(), format!("duplicate {first} name `{v}`")));
        }
        Ok(())
    };
    for r in &manifest.project.repositories {
        check_unique(r, "repository")?;
    }
    for s in &manifest.services {
        check_unique(&s.get_ref().name, "service")?;
    }
    let mut variants = BTreeMap::new();
    for f in &manifest.frontends {
        let fr = f.get_ref();
        check_unique(&fr.name, "frontend")?;
        check_unique(&fr.bucket, "bucket")?;
        if let Some(v) = &fr.variant {
            if v != "a" && v != "b" {
                return Err(err(
                    f.span(),
                    format!(
                        "frontend `{}`: variant must be \"a\" or \"b\", not {v:?}",
                        fr.name.get_ref()
                    ),
                ));
            }
            if let Some(other) = variants.insert(v.clone(), fr.name.get_ref().clone()) {
                return Err(err(
                    f.span(),
                    format!("frontends `{other}` and `{}` both serve variant {v}", fr.name.get_ref()),
                ));
            }
        }
    }
    Ok(manifest)
}

impl Manifest {
    pub fn env(&self, name: &str) -> Option<&Environment> {
        self.environments.get(name).map(Spanned::get_ref)
    }

    pub fn env_names(&self) -> Vec<String> {
        self.environments.keys().cloned().collect()
    }

    /// The name of the bucket `base` in environment `env`: the base name plus the environment's
    /// `name_suffix`.
    pub fn bucket(&self, env: &str, base: &str) -> String {
        format!("{base}{}", self.env(env).map_or("", |e| e.name_suffix.as_str()))
    }

    /// The ECR registry of environment `env` (`<account>.dkr.ecr.<region>.amazonaws.com`).
    pub fn registry(&self, env: &str) -> String {
        let account = self.env(env).map_or("", |e| e.account_id.get_ref().as_str());
        format!("{account}.dkr.ecr.{}.amazonaws.com", self.region_of(env))
    }

    /// The services, then the web apps, that live in a directory of their own (scaffolded
    /// ones): `{"name", "path"}` for the templates that include or publish them.
    pub fn own_projects(&self) -> Vec<serde_json::Value> {
        let services = self.services.iter().map(|s| s.get_ref()).map(|s| (&s.name, &s.path));
        let frontends = self.frontends.iter().map(|f| f.get_ref()).map(|f| (&f.name, &f.path));
        services
            .chain(frontends)
            .filter_map(|(name, path)| Some(serde_json::json!({"name": name.get_ref(), "path": path.as_ref()?})))
            .collect()
    }

    pub fn region_of(&self, env: &str) -> &str {
        self.env(env)
            .and_then(|e| e.region.as_ref())
            .map(|r| r.get_ref().as_str())
            .unwrap_or("us-east-1")
    }
}

#[cfg(test)]
mod tests {
    use super::is_https_origin;

    #[test]
    fn an_origin_is_https_a_lower_case_host_and_maybe_a_port() {
        for good in [
            "https://api.dev.example.com",
            "https://d111111abcdef8.cloudfront.net:8443",
        ] {
            assert!(is_https_origin(good), "{good}");
        }
        for bad in [
            "http://api.example.com",
            "https://api.example.com/",
            "https://api.example.com/v1",
            "https://api.example.com:",
            "https://api.example.com:x",
            "https://API.example.com",
            "https://user@api.example.com",
            "https://",
            "api.example.com",
        ] {
            assert!(!is_https_origin(bad), "{bad}");
        }
    }
}
