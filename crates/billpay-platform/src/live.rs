//! The Terragrunt live tree: `infra/live/root.hcl`, and per environment an `env.hcl` and one unit
//! per module instance, each a `terragrunt.hcl` that points at a hand-written module in
//! `infra/modules/` and wires its dependencies. Rendered from the manifest with minijinja; the same
//! manifest always gives byte-identical files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment as Jinja;
use serde::Serialize;
use serde_json::{Value, json};

use crate::manifest::{Cidr, Manifest, NatStrategy};
use crate::{PlatformError, RenderedFile};

const ROOT: &str = include_str!("../templates/root.hcl.j2");
const ENV: &str = include_str!("../templates/env.hcl.j2");
const UNIT: &str = include_str!("../templates/unit.hcl.j2");

/// The rendered tree's place in the repository.
pub const LIVE_DIR: &str = "infra/live";
/// Where the state bootstrap of each environment is rendered: outside the live tree, so that
/// `terragrunt run --all` in an environment never includes it.
pub const BOOTSTRAP_DIR: &str = "infra/bootstrap";

/// A unit's dependency on another unit's outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub name: String,
    /// The unit's folder, relative to this unit.
    pub path: String,
    /// Placeholder outputs for `validate` and `plan` before the dependency exists.
    pub mock_outputs: Value,
}

/// One Terragrunt unit: a module instance in an environment.
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub name: String,
    pub module: String,
    pub dependencies: Vec<Dependency>,
    /// Inputs; a string starting with `dependency.` is an expression, not a literal.
    pub inputs: Value,
    /// What the module creates, for `infra resources`.
    pub resources: Vec<String>,
    /// Rendered under `infra/bootstrap/` instead of the live tree: the state bootstrap, applied
    /// first and on its own.
    pub excluded: bool,
}

fn dep(name: &str, mock: Value) -> Dependency {
    Dependency {
        name: name.replace('-', "_"),
        path: format!("../{name}"),
        mock_outputs: mock,
    }
}

/// The units of one environment, in the order they apply.
pub fn units(m: &Manifest, env_name: &str) -> Option<Vec<Unit>> {
    let env = m.env(env_name)?;
    let p = &m.project;
    let azs = *env.azs.get_ref();
    let vpc = Cidr::parse(env.vpc_cidr.get_ref()).ok()?;
    // Private subnets take the first /20s (room for pods), public ones /24s near the end.
    let private: Vec<String> = (0..u32::from(azs))
        .filter_map(|i| vpc.subnet(vpc.prefix + 4, i).map(|c| c.to_string()))
        .collect();
    let public: Vec<String> = (0..u32::from(azs))
        .filter_map(|i| vpc.subnet(vpc.prefix + 8, 240 + i).map(|c| c.to_string()))
        .collect();
    let prefix = format!("{}-{env_name}", p.name);
    let network_mock = json!({
        "vpc_id": "vpc-00000000000000000",
        "private_subnet_ids": ["subnet-00000000000000001", "subnet-00000000000000002"],
        "public_subnet_ids": ["subnet-00000000000000003", "subnet-00000000000000004"],
        "vpc_cidr_block": env.vpc_cidr.get_ref(),
    });
    let oidc_mock = json!({
        "plan_role_arn": format!("arn:aws:iam::000000000000:role/{prefix}-github-plan"),
        "deploy_role_arn": format!("arn:aws:iam::000000000000:role/{prefix}-github-deploy"),
        "apply_role_arn": format!("arn:aws:iam::000000000000:role/{prefix}-github-apply"),
        "plan_role_name": format!("{prefix}-github-plan"),
        "deploy_role_name": format!("{prefix}-github-deploy"),
        "apply_role_name": format!("{prefix}-github-apply"),
    });
    let obs_mock = json!({"alarm_topic_arn": "arn:aws:sns:us-east-1:000000000000:mock", "log_bucket_id": "mock-logs", "log_bucket_domain_name": "mock-logs.s3.amazonaws.com", "kms_key_arn": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"});
    let mut units = vec![
        Unit {
            name: "bootstrap".into(),
            module: "state".into(),
            dependencies: vec![],
            inputs: json!({"bucket_name": format!("{prefix}-tofu-state")}),
            resources: vec!["aws_s3_bucket (state, versioned, KMS-encrypted, public access blocked)".into(), "aws_kms_key (state)".into()],
            excluded: true,
        },
        Unit {
            name: "network".into(),
            module: "network".into(),
            dependencies: vec![],
            inputs: json!({
                "name": prefix,
                "cluster_name": p.cluster_name,
                "vpc_cidr": env.vpc_cidr.get_ref(),
                "azs": (0..azs).map(|i| format!("{}{}", m.region_of(env_name), char::from(b'a' + i))).collect::<Vec<_>>(),
                "private_subnets": private,
                "public_subnets": public,
                "single_nat_gateway": env.nat == NatStrategy::Single,
                "flow_log_retention_days": p.log_retention_days,
            }),
            resources: vec![
                "aws_vpc".into(),
                format!("aws_subnet × {} ({azs} public, {azs} private, with EKS load-balancer tags)", 2 * azs),
                "aws_internet_gateway".into(),
                format!("aws_nat_gateway × {} and aws_eip × {0}", if env.nat == NatStrategy::Single { 1 } else { azs }),
                "aws_route_table and routes".into(),
                "aws_flow_log to CloudWatch Logs".into(),
            ],
            excluded: false,
        },
        Unit {
            name: "observability".into(),
            module: "observability".into(),
            dependencies: vec![],
            inputs: json!({
                "name": prefix,
                "cluster_name": p.cluster_name,
                "log_retention_days": p.log_retention_days,
                "alert_email": p.alert_email.clone().unwrap_or_default(),
                "monthly_budget_usd": env.monthly_budget_usd,
                "services": m.services.iter().map(|s| s.get_ref().name.get_ref().clone()).collect::<Vec<_>>(),
            }),
            resources: vec![
                "aws_kms_key (logs)".into(),
                "aws_cloudwatch_log_group × (1 + services)".into(),
                "aws_sns_topic (alerts)".into(),
                "aws_cloudwatch_metric_alarm × 7 (ALB 5xx rate, p99 latency > 500 ms, node CPU > 80%, node memory > 80%, RDS CPU, RDS free storage, estimated charges)".into(),
                "aws_cloudwatch_dashboard × 3 (business, health, performance)".into(),
                "aws_s3_bucket (access logs)".into(),
            ],
            excluded: false,
        },
        Unit {
            name: "secrets".into(),
            module: "secrets".into(),
            dependencies: vec![],
            inputs: json!({"name": prefix, "secret_names": ["api"]}),
            resources: vec!["aws_kms_key (secrets)".into(), "aws_secretsmanager_secret × 1 (api)".into()],
            excluded: false,
        },
        Unit {
            name: "eks".into(),
            module: "eks".into(),
            // The CI roles must exist before their access entries: github-oidc applies first.
            dependencies: vec![dep("network", network_mock.clone()), dep("github-oidc", oidc_mock)],
            inputs: json!({
                "cluster_name": p.cluster_name,
                "vpc_id": "dependency.network.outputs.vpc_id",
                "subnet_ids": "dependency.network.outputs.private_subnet_ids",
                "instance_types": [env.nodes.instance_type.get_ref()],
                "min_size": env.nodes.min.get_ref(),
                "desired_size": env.nodes.desired,
                "max_size": env.nodes.max,
                "disk_size_gb": env.nodes.disk_gb,
                "ci_role_name": "dependency.github_oidc.outputs.deploy_role_name",
                "ci_plan_role_name": "dependency.github_oidc.outputs.plan_role_name",
                "ci_apply_role_name": "dependency.github_oidc.outputs.apply_role_name",
            }),
            resources: vec![
                format!("EKS cluster `{}` (terraform-aws-modules/eks ~> 21)", p.cluster_name),
                format!("managed node group: {} × {}–{}", env.nodes.instance_type.get_ref(), env.nodes.min.get_ref(), env.nodes.max),
                "access entries (cluster creator and CI apply role as admins, CI deploy role as admin, CI plan role reading kube-system)".into(),
                "add-ons: vpc-cni, coredns, kube-proxy, eks-pod-identity-agent, amazon-cloudwatch-observability (Container Insights)".into(),
                "AWS Load Balancer Controller: Pod Identity role (terraform-aws-modules/eks-pod-identity ~> 2) and Helm release".into(),
            ],
            excluded: false,
        },
        Unit {
            name: "database".into(),
            module: "database".into(),
            dependencies: vec![dep("network", network_mock.clone()), dep("observability", obs_mock.clone())],
            inputs: json!({
                "name": prefix,
                "vpc_id": "dependency.network.outputs.vpc_id",
                "subnet_ids": "dependency.network.outputs.private_subnet_ids",
                "allowed_cidr": "dependency.network.outputs.vpc_cidr_block",
                "instance_class": env.database.instance_class.get_ref(),
                "multi_az": env.database.multi_az,
                "allocated_storage_gb": env.database.storage_gb,
                "backup_retention_days": env.database.backup_retention_days,
                "deletion_protection": env_name == "prod",
                "alarm_topic_arn": "dependency.observability.outputs.alarm_topic_arn",
            }),
            resources: vec![
                format!("aws_db_instance PostgreSQL ({}{}, encrypted, backups {} days)", env.database.instance_class.get_ref(), if env.database.multi_az { ", multi-AZ" } else { "" }, env.database.backup_retention_days),
                "aws_db_subnet_group, aws_security_group".into(),
                "aws_kms_key (database)".into(),
                "master password managed in Secrets Manager".into(),
            ],
            excluded: false,
        },
        Unit {
            name: "ecr".into(),
            module: "ecr".into(),
            dependencies: vec![],
            inputs: json!({"repositories": p.repositories.iter().map(|r| r.get_ref().clone()).collect::<Vec<_>>()}),
            resources: p
                .repositories
                .iter()
                .map(|r| format!("aws_ecr_repository `{}` (scan on push, immutable tags, lifecycle policy)", r.get_ref()))
                .collect(),
            excluded: false,
        },
    ];
    // SES and the staff user pool need the environment's domain: the sender's address and
    // the API's public callback live there.
    if let Some(domain) = &env.domain {
        // The service that holds the staff OIDC client (the API), and the host it is served at.
        let api = m
            .services
            .iter()
            .map(|s| s.get_ref())
            .find(|s| s.secrets.contains_key("BILLPAY_OIDC_ISSUER"));
        let (api_name, api_sub) = api.map_or_else(
            || ("billpay-backend".to_owned(), "api".to_owned()),
            |s| {
                (
                    s.name.get_ref().clone(),
                    s.subdomain.clone().unwrap_or_else(|| "api".into()),
                )
            },
        );
        let secrets_mock =
            json!({"kms_key_arn": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"});
        units.push(Unit {
            name: "identity".into(),
            module: "identity".into(),
            dependencies: vec![dep("secrets", secrets_mock)],
            inputs: json!({
                "name": prefix,
                "mail_domain": domain,
                "callback_url": format!("https://{api_sub}.{domain}/v1/auth/oidc/callback"),
                "deletion_protection": env_name == "prod",
                "oidc_secret_name": format!("{}/{api_name}/oidc", p.name),
                "kms_key_arn": "dependency.secrets.outputs.kms_key_arn",
            }),
            resources: vec![
                format!("aws_sesv2_email_identity for {domain} (DKIM), aws_sesv2_configuration_set (TLS required, bounces suppressed)"),
                "aws_iam_policy (send from no-reply@ only)".into(),
                "aws_cognito_user_pool (staff: admin-created, TOTP required), hosted UI domain, API app client (code flow)".into(),
                "aws_secretsmanager_secret (the API's OIDC issuer, client id and secret, for External Secrets)".into(),
            ],
            excluded: false,
        });
    }
    // The API's public origin, which the apps call and their CSP allows (the one their
    // config.json names too).
    let api_origin = crate::webconfig::api_origin(m, env_name).unwrap_or_default();
    for f in &m.frontends {
        let f = f.get_ref();
        let domain = match (&env.domain, &f.subdomain) {
            (Some(d), Some(s)) => format!("{s}.{d}"),
            _ => String::new(),
        };
        let bucket = m.bucket(env_name, f.bucket.get_ref());
        units.push(Unit {
            name: f.name.get_ref().clone(),
            module: "frontend".into(),
            dependencies: vec![dep("observability", obs_mock.clone())],
            inputs: json!({
                "name": f.name.get_ref(),
                "bucket_name": bucket,
                "domain_name": domain,
                "spa_fallback": f.spa_fallback,
                "api_origin": api_origin,
                "log_bucket_domain_name": "dependency.observability.outputs.log_bucket_domain_name",
            }),
            resources: vec![
                format!("aws_s3_bucket `{bucket}` (private, versioned, encrypted)"),
                "aws_cloudfront_distribution with origin access control, security-headers policy, logging".into(),
                if domain.is_empty() {
                    "no custom domain".into()
                } else {
                    format!("aws_acm_certificate for {domain}")
                },
            ],
            excluded: false,
        });
    }
    let techdocs = m.bucket(env_name, &p.techdocs_bucket);
    units.push(Unit {
        name: "techdocs".into(),
        module: "techdocs".into(),
        dependencies: vec![],
        inputs: json!({"bucket_name": techdocs}),
        resources: vec![format!("aws_s3_bucket `{techdocs}` (private, versioned, encrypted)")],
        excluded: false,
    });
    units.push(Unit {
        name: "github-oidc".into(),
        module: "github-oidc".into(),
        dependencies: vec![],
        inputs: json!({
            "name": prefix,
            "github_repository": p.github_repository,
            "ecr_repositories": p.repositories.iter().map(|r| r.get_ref().clone()).collect::<Vec<_>>(),
            // The sites, and the TechDocs bucket the docs workflow publishes to.
            "frontend_buckets": m
                .frontends
                .iter()
                .map(|f| m.bucket(env_name, f.get_ref().bucket.get_ref()))
                .chain(std::iter::once(techdocs.clone()))
                .collect::<Vec<_>>(),
            "cluster_name": p.cluster_name,
            "environment": env_name,
            "state_bucket": format!("{prefix}-tofu-state"),
        }),
        resources: vec![
            "aws_iam_openid_connect_provider (token.actions.githubusercontent.com)".into(),
            "aws_iam_role deploy (ECR push, EKS describe, frontend sync and CloudFront invalidation)".into(),
            "aws_iam_role plan (read-only and the state lock, for pull requests)".into(),
            "aws_iam_role apply (infrastructure changes, protected environment only)".into(),
        ],
        excluded: false,
    });
    Some(units)
}

/// Formats a JSON value as an HCL expression; strings starting with `dependency.` stay expressions.
fn hcl(value: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let end = "  ".repeat(indent);
    match value {
        Value::String(s) if s.starts_with("dependency.") => s.clone(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default().replace("${", "$${"),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|v| format!("{pad}{},", hcl(v, indent + 1))).collect();
            format!("[\n{}\n{end}]", inner.join("\n"))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{pad}{k:<width$} = {}", hcl(v, indent + 1)))
                .collect();
            format!("{{\n{}\n{end}}}", inner.join("\n"))
        }
        other => other.to_string(),
    }
}

fn jinja() -> Result<Jinja<'static>, PlatformError> {
    let mut j = crate::templates::env(&[("root.hcl", ROOT), ("env.hcl", ENV), ("unit.hcl", UNIT)])?;
    j.add_filter(
        "hcl",
        |v: minijinja::Value, indent: Option<usize>| -> Result<String, minijinja::Error> {
            let json: Value = serde_json::to_value(&v)
                .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
            Ok(hcl(&json, indent.unwrap_or(0)))
        },
    );
    Ok(j)
}

/// Renders the live tree for `envs` (every environment when empty). Paths are relative to the
/// repository root, sorted.
pub fn render(m: &Manifest, envs: &[String]) -> Result<Vec<RenderedFile>, PlatformError> {
    let j = jinja()?;
    let names = if envs.is_empty() { m.env_names() } else { envs.to_vec() };
    let mut files = BTreeMap::new();
    let live = PathBuf::from(LIVE_DIR);
    files.insert(
        live.join("root.hcl"),
        crate::templates::render(&j, "root.hcl", json!({"project": m.project.name}))?,
    );
    for name in &names {
        let env = m
            .env(name)
            .ok_or_else(|| PlatformError::UnknownEnvironment(name.clone(), m.env_names().join(", ")))?;
        let env_dir = live.join(name);
        files.insert(
            env_dir.join("env.hcl"),
            crate::templates::render(
                &j,
                "env.hcl",
                json!({
                    "environment": name,
                    "account_id": env.account_id.get_ref(),
                    "region": m.region_of(name),
                }),
            )?,
        );
        for u in units(m, name).unwrap_or_default() {
            let path = if u.excluded {
                PathBuf::from(BOOTSTRAP_DIR).join(name).join("terragrunt.hcl")
            } else {
                env_dir.join(&u.name).join("terragrunt.hcl")
            };
            let ctx = json!({
                "unit": u,
                "environment": name,
                "region": m.region_of(name),
                "account_id": env.account_id.get_ref(),
            });
            files.insert(path, crate::templates::render(&j, "unit.hcl", ctx)?);
        }
    }
    if envs.is_empty() {
        for f in crate::k8s::render_all(m)?
            .into_iter()
            .chain(crate::workflows::render_all(m)?)
        {
            files.insert(f.path, f.contents);
        }
        for f in [crate::catalog::render(m)?, crate::catalog::render_mkdocs(m)?]
            .into_iter()
            .chain(crate::catalog::render_backstage(m)?)
        {
            files.insert(f.path, f.contents);
        }
    }
    Ok(files
        .into_iter()
        .map(|(path, contents)| RenderedFile { path, contents })
        .collect())
}

/// Writes rendered files under `root`, and removes files in the rendered environments' folders
/// that the manifest no longer produces.
pub fn write(root: &Path, files: &[RenderedFile]) -> Result<Vec<PathBuf>, PlatformError> {
    let mut written = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(f.contents.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| PlatformError::Io(dir.to_owned(), e))?;
        }
        std::fs::write(&path, &f.contents).map_err(|e| PlatformError::Io(path.clone(), e))?;
        written.push(f.path.clone());
    }
    Ok(written)
}

/// What differs between the files under `root` and what the manifest renders: changed, missing,
/// and extra files inside the live tree.
pub fn check(root: &Path, files: &[RenderedFile]) -> Vec<String> {
    let mut drift = Vec::new();
    for f in files {
        match std::fs::read_to_string(root.join(&f.path)) {
            Ok(s) if s == f.contents => {}
            Ok(_) => drift.push(format!("changed: {}", f.path.display())),
            Err(_) => drift.push(format!("missing: {}", f.path.display())),
        }
    }
    let expected: std::collections::BTreeSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let mut stack = vec![
        root.join(LIVE_DIR),
        root.join(BOOTSTRAP_DIR),
        root.join(crate::k8s::K8S_DIR),
    ];
    let mut extra = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                    stack.push(p);
                }
            } else if let Ok(rel) = p.strip_prefix(root)
                && (rel.extension().is_some_and(|x| x == "hcl" || x == "yaml" || x == "yml"))
                // Provider lock files are written by `terragrunt init` and committed, not rendered.
                && rel.file_name().is_none_or(|n| n != ".terraform.lock.hcl")
                && !expected.contains(rel)
            {
                extra.push(format!("extra: {}", rel.display()));
            }
        }
    }
    extra.sort();
    drift.extend(extra);
    drift
}
