//! The tools: their contracts, and calls into the same code as the `billpayctl` subcommands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use billpay_platform::{Prices, RenderedFile, catalog, cost, live, manifest, workflows};
use include_dir::{Dir, include_dir};
use serde_json::{Value, json};

use super::{McpServer, ToolError, ToolResult};

/// The OpenTofu modules, the service templates and a starter manifest, for a workspace that has
/// none yet.
static MODULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../infra/modules");
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");
const STARTER_MANIFEST: &str = include_str!("../../../../platform.toml");
const OPENAPI: &str = include_str!("../../../../openapi.json");

/// A tool's contract.
pub struct Definition {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub input: Value,
    pub output: Value,
    /// Listed only with `--allow-write`.
    pub write: bool,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn out(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

const ENV: &str = "The environment, as named in platform.toml (dev, staging, prod).";
const TOKEN: &str = "The confirmationToken a previous call without it returned, to apply that exact plan.";

fn plan_output() -> Value {
    out(json!({
        "environment": {"type": "string"},
        "units": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "module": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}}}}},
        "monthlyCostUsd": {"type": "string"},
        "drift": {"type": "array", "items": {"type": "string"}},
        "problems": {"type": "array", "items": {"type": "string"}, "description": "What OpenTofu or Terragrunt would reject in infra/ (as validate_platform reports it); nothing is planned or applied while there is any."},
        "confirmationToken": {"type": "string"},
        "applied": {"type": "boolean"},
        "commands": {"type": "array", "items": {"type": "string"}},
        "run": {"type": "object", "description": "What Terragrunt did, unit by unit (also in .billpay/runs/).", "properties": {
            "id": {"type": "string"}, "ok": {"type": "boolean"}, "failed_unit": {"type": ["string", "null"]},
            "record": {"type": "string"},
            "units": {"type": "array", "items": {"type": "object", "properties": {
                "unit": {"type": "string"}, "status": {"enum": ["succeeded", "failed", "not_run"]},
                "seconds": {"type": "number"}, "summary": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]}}}}}}
    }))
}

fn files_output() -> Value {
    out(json!({
        "written": {"type": "array", "items": {"type": "string"}},
        "unchanged": {"type": "integer"},
        "checks": {"type": "object"}
    }))
}

/// A tool that only reads.
fn reads(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    input: Value,
    output: Value,
) -> Definition {
    Definition {
        name,
        title,
        description,
        input,
        output,
        write: false,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    }
}

/// A tool that writes files (or, with `open_world`, AWS) and leaves them as a second call would.
fn writes(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    input: Value,
    output: Value,
    open_world: bool,
) -> Definition {
    Definition {
        name,
        title,
        description,
        input,
        output,
        write: true,
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world,
    }
}

/// Every tool, in the order they are listed. `allow_write` decides the annotations of the tools
/// that plan and apply: without it they cannot apply, so they only read.
pub fn definitions(allow_write: bool) -> Vec<Definition> {
    let apply_props = |extra: Value| {
        let mut p = extra;
        p["apply"] = json!({"type": "boolean", "default": false, "description": "Apply the plan (needs --allow-write and confirmationToken)."});
        p["confirmationToken"] = json!({"type": "string", "description": TOKEN});
        p
    };
    let plan_tool = |name, title, description, input| Definition {
        name,
        title,
        description,
        input,
        output: plan_output(),
        write: false,
        read_only: !allow_write,
        destructive: allow_write,
        idempotent: false,
        open_world: allow_write,
    };
    vec![
        reads(
            "describe_platform",
            "Describe the platform",
            "What platform.toml in the workspace declares: the project, each environment (account, region, domain, nodes, database), the backend services and the static frontends. Start here.",
            object(json!({}), &[]),
            out(
                json!({"project": {"type": "object"}, "environments": {"type": "array"}, "services": {"type": "array"}, "frontends": {"type": "array"}}),
            ),
        ),
        reads(
            "estimate_cost",
            "Estimate the monthly cost",
            "An environment's monthly AWS bill, line by line, from the dated us-east-1 price table, with the assumptions and the charges people forget.",
            object(
                json!({"environment": {"type": "string", "description": ENV}}),
                &["environment"],
            ),
            out(
                json!({"environment": {"type": "string"}, "region": {"type": "string"}, "prices_as_of": {"type": "string"},
                "total_monthly_usd_cents": {"type": "integer"}, "line_items": {"type": "array"},
                "assumptions": {"type": "array"}, "warnings": {"type": "array"}}),
            ),
        ),
        reads(
            "validate_platform",
            "Validate the platform",
            "Checks the workspace as OpenTofu, Terragrunt and Backstage would, offline, in one answer: drift between platform.toml and every rendered file (infra, Kubernetes, workflows, catalog, docs); every resource, data and provider block under infra/ against the pinned AWS and Helm provider schemas (unknown or missing arguments, block/attribute mix-ups, references to attributes that do not exist); each Terragrunt unit's source, dependency outputs, mock outputs and inputs; checkov where installed; and the Backstage catalog against Backstage's schemas and references. Run it after any change.",
            object(json!({}), &[]),
            out(json!({
                "ok": {"type": "boolean"},
                "problems": {"type": "integer"},
                "drift": {"type": "array", "items": {"type": "string"}},
                "schema": {"type": "object", "properties": {
                    "problems": {"type": "array", "items": {"type": "object", "properties": {
                        "file": {"type": "string"}, "address": {"type": "string"}, "kind": {"type": "string"}, "message": {"type": "string"}}}},
                    "modules": {"type": "integer"}, "units": {"type": "integer"}, "blocks": {"type": "integer"},
                    "unchecked": {"type": "array", "items": {"type": "string"}},
                    "schemas": {"type": "array", "items": {"type": "string"}}}},
                "checkov": {"type": "object"},
                "catalog": {"type": "object"}
            })),
        ),
        plan_tool(
            "setup_complete_infrastructure",
            "Plan or apply a whole environment",
            "Plans an environment: the units in dependency order with what each creates, the monthly cost and any drift, and, on a server with --allow-write where Terragrunt and OpenTofu are installed, `terragrunt plan` on each unit in that order, with progress notifications. Returns a confirmationToken bound to that plan. With --allow-write, apply: true and the token, applies the units in the same order with progress, stops at the first unit that fails and names it with its error; elsewhere it returns the exact commands to run. Every run is recorded in .billpay/runs/.",
            object(
                apply_props(
                    json!({"environment": {"type": "string", "description": ENV}, "region": {"type": "string", "description": "Must match the environment's region."}}),
                ),
                &["environment"],
            ),
        ),
        plan_tool(
            "deploy_eks_cluster",
            "Plan or apply the EKS cluster",
            "The EKS unit of an environment and the units it depends on (network, github-oidc), with the same plan-then-confirm flow, progress and run record as setup_complete_infrastructure.",
            object(
                apply_props(
                    json!({"cluster-name": {"type": "string", "description": "The cluster_name in platform.toml."}, "region": {"type": "string"}, "environment": {"type": "string", "description": "Default: dev.", "default": "dev"}}),
                ),
                &["cluster-name"],
            ),
        ),
        plan_tool(
            "setup_frontend_infrastructure",
            "Plan or apply the frontend hosting",
            "The S3 bucket and CloudFront distribution units of every static frontend in an environment and what they depend on (observability, for the access logs), with the same plan-then-confirm flow, progress and run record.",
            object(
                apply_props(
                    json!({"region": {"type": "string"}, "environment": {"type": "string", "description": "Default: dev.", "default": "dev"}}),
                ),
                &[],
            ),
        ),
        writes(
            "generate_terraform_modules",
            "Write the OpenTofu modules and the live tree",
            "Writes infra/modules (the OpenTofu modules) and the Terragrunt live tree rendered from platform.toml under outputPath in the workspace. Writes a starter platform.toml first when the workspace has none. Files that would not change are left alone.",
            object(
                json!({"outputPath": {"type": "string", "default": ".", "description": "A folder in the workspace."}}),
                &[],
            ),
            files_output(),
            false,
        ),
        writes(
            "setup_backstage_integration",
            "Write the Backstage catalog and templates",
            "Writes catalog-info.yaml (the platform as Backstage entities), the software templates, the app-config snippet and openapi.json under projectPath, then validates the catalog with Backstage's schemas and references.",
            object(json!({"projectPath": {"type": "string", "default": "."}}), &[]),
            files_output(),
            false,
        ),
        writes(
            "generate_software_templates",
            "Write the service templates",
            "Writes or refreshes the Cookiecutter service templates (templates/rust-microservice, templates/static-frontend) and their Backstage software templates.",
            object(
                json!({"templateTypes": {"type": "array", "items": {"enum": ["microservice", "frontend"]}, "default": ["microservice", "frontend"]}}),
                &[],
            ),
            files_output(),
            false,
        ),
        writes(
            "setup_ci_cd_pipelines",
            "Write the GitHub workflows",
            "Writes the GitHub Actions workflows rendered from platform.toml (backend CI and deploy, frontends, infrastructure, docs, one per scaffolded service) and the Kubernetes base and overlays they deploy, under projectPath, then lints the workflows with actionlint when it is installed.",
            object(json!({"projectPath": {"type": "string", "default": "."}}), &[]),
            files_output(),
            false,
        ),
        writes(
            "configure_techdocs",
            "Configure and publish TechDocs",
            "Writes mkdocs.yml and the Backstage app-config snippet with the given TechDocs bucket. With publish: true, uploads the built site (site/, from `mkdocs build`) to the bucket in the layout Backstage reads.",
            object(
                json!({"s3Bucket": {"type": "string"}, "region": {"type": "string"}, "publish": {"type": "boolean", "default": false}, "entity": {"type": "string", "description": "KIND/NAME the docs belong to (default: system/<project>)."}}),
                &["s3Bucket"],
            ),
            files_output(),
            true,
        ),
        writes(
            "create_ecr_repositories",
            "Create the ECR repositories",
            "Creates any missing ECR repository (scan on push, immutable tags, lifecycle policy) and fixes drifted settings; `billpayctl ecr ensure`. Running it twice changes nothing.",
            object(
                json!({"region": {"type": "string"}, "names": {"type": "array", "items": {"type": "string"}, "description": "Default: the repositories in platform.toml."}}),
                &["region"],
            ),
            out(
                json!({"repositories": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "outcome": {"type": "string"}}}}}),
            ),
            true,
        ),
        Definition {
            name: "deploy_application",
            title: "Deploy an application",
            description: "Deploys a frontend (sync its build to S3, invalidate CloudFront) or a backend (apply the environment's overlay with the image tag to the cluster and wait for the rollout). Without confirmationToken it returns the plan and a token; with it, applies that plan.",
            input: object(
                json!({
                    "app-name": {"type": "string"}, "app-type": {"enum": ["backend", "frontend"]},
                    "environment": {"type": "string", "description": ENV},
                    "imageTag": {"type": "string", "description": "Backend: the image tag (the git SHA)."},
                    "buildDir": {"type": "string", "description": "Frontend: the app's build, in the workspace (default: web/dist/<app-name>, or <path>/dist for a frontend with a path)."},
                    "apiOrigin": {"type": "string", "description": "Frontend: the API origin for the app's config.json (default: https://api.<domain>, or the environment's api_origin in the manifest; needed where it has neither)."},
                    "sso": {"type": "boolean", "description": "Frontend: whether staff sign in through single sign-on (default: where the environment has a domain)."},
                    "appOrigins": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Frontend: where each customer app is served, app name → origin (default: https://<subdomain>.<domain>; without a domain, the environment's app_origins in the manifest, else the app's CloudFront name)."},
                    "flagsKey": {"type": "string", "description": "Frontend: the web flag set's read-only client key, for config.json."},
                    "confirmationToken": {"type": "string", "description": TOKEN}
                }),
                &["app-name", "app-type", "environment"],
            ),
            output: out(
                json!({"plan": {"type": "object"}, "confirmationToken": {"type": "string"}, "applied": {"type": "boolean"}, "log": {"type": "array"}}),
            ),
            write: true,
            read_only: false,
            destructive: true,
            idempotent: false,
            open_world: true,
        },
    ]
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Result<Option<&'a str>, ToolError> {
    match &args[key] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_str())),
        other => Err(ToolError(format!("`{key}` must be a string, not {other}"))),
    }
}

fn required<'a>(args: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    str_arg(args, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ToolError(format!("`{key}` is required")))
}

fn check_args(args: &Value, def: &Definition) -> Result<(), ToolError> {
    let allowed = def.input["properties"].as_object().cloned().unwrap_or_default();
    for k in args.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !allowed.contains_key(k) {
            let names: Vec<&String> = allowed.keys().collect();
            return Err(ToolError(format!(
                "unknown argument `{k}` (this tool takes: {names:?})"
            )));
        }
    }
    Ok(())
}

/// Reports a long tool's progress: done so far, the total, and what it is doing.
pub type Progress<'a> = &'a dyn Fn(f64, f64, String);

/// Runs a tool.
pub fn call(server: &McpServer, name: &str, args: &Value, progress: Progress<'_>) -> ToolResult {
    let defs = definitions(server.allow_write());
    let def = defs
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| ToolError(format!("no tool `{name}`")))?;
    check_args(args, def)?;
    let result = match name {
        "describe_platform" => describe(server),
        "estimate_cost" => estimate(server, args),
        "validate_platform" => validate(server),
        "setup_complete_infrastructure" => infra(server, name, args, None, progress),
        "deploy_eks_cluster" => infra(server, name, args, Some(Scope::Cluster), progress),
        "setup_frontend_infrastructure" => infra(server, name, args, Some(Scope::Frontends), progress),
        "generate_terraform_modules" => generate_terraform(server, args),
        "setup_backstage_integration" => backstage(server, args),
        "generate_software_templates" => software_templates(server, args),
        "setup_ci_cd_pipelines" => pipelines(server, args),
        "configure_techdocs" => techdocs(server, args),
        "create_ecr_repositories" => ecr(server, args),
        "deploy_application" => deploy(server, args),
        _ => Err(ToolError(format!("no tool `{name}`"))),
    };
    // Only a server that may write can change anything, so only it keeps an audit log.
    if server.allow_write() && (def.write || args["apply"] == json!(true)) {
        let (outcome, summary) = match &result {
            Ok((_, text)) => ("ok", text.lines().next().unwrap_or_default().to_owned()),
            Err(e) => ("error", e.0.clone()),
        };
        server.audit(name, args, outcome, &summary);
    }
    result
}

fn load(server: &McpServer) -> Result<(manifest::Manifest, Prices), ToolError> {
    let path = server.workspace().join("platform.toml");
    if !path.is_file() {
        return Err(ToolError(format!(
            "the workspace {} has no platform.toml: generate_terraform_modules writes a starter one (with --allow-write)",
            server.workspace().display()
        )));
    }
    let prices = Prices::us_east_1();
    let m = manifest::load(&path, &prices).map_err(|e| ToolError(format!("platform.toml is not valid: {e}")))?;
    Ok((m, prices))
}

fn describe(server: &McpServer) -> ToolResult {
    let (m, _) = load(server)?;
    let envs: Vec<Value> = m
        .env_names()
        .iter()
        .filter_map(|n| {
            let e = m.env(n)?;
            Some(json!({
                "name": n, "account_id": e.account_id.get_ref(), "region": m.region_of(n), "domain": e.domain,
                "nodes": {"instance_type": e.nodes.instance_type.get_ref(), "min": e.nodes.min.get_ref(), "max": e.nodes.max},
                "database": {"instance_class": e.database.instance_class.get_ref(), "multi_az": e.database.multi_az},
            }))
        })
        .collect();
    let services: Vec<Value> = m
        .services
        .iter()
        .map(|s| {
            let s = s.get_ref();
            json!({"name": s.name.get_ref(), "port": s.port, "replicas": s.replicas, "path": s.path, "subdomain": s.subdomain})
        })
        .collect();
    let frontends: Vec<Value> = m
        .frontends
        .iter()
        .map(|f| {
            let f = f.get_ref();
            json!({"name": f.name.get_ref(), "bucket": f.bucket.get_ref(), "subdomain": f.subdomain, "path": f.path})
        })
        .collect();
    let text = format!(
        "{}: {} environments ({}), {} services, {} frontends",
        m.project.name,
        envs.len(),
        m.env_names().join(", "),
        services.len(),
        frontends.len()
    );
    let project = json!({"name": m.project.name, "cluster_name": m.project.cluster_name, "owner": m.project.owner,
        "github_repository": m.project.github_repository, "repositories": m.project.repositories.iter().map(|r| r.get_ref()).collect::<Vec<_>>()});
    Ok((
        json!({"project": project, "environments": envs, "services": services, "frontends": frontends}),
        text,
    ))
}

fn known_env(m: &manifest::Manifest, env: &str) -> Result<(), ToolError> {
    if m.env(env).is_none() {
        return Err(ToolError(format!(
            "no environment `{env}` in platform.toml (it has: {})",
            m.env_names().join(", ")
        )));
    }
    Ok(())
}

fn estimate(server: &McpServer, args: &Value) -> ToolResult {
    let (m, prices) = load(server)?;
    let env = required(args, "environment")?;
    known_env(&m, env)?;
    let e = cost::estimate(&m, env, &prices).ok_or_else(|| ToolError(format!("no environment `{env}`")))?;
    let structured: Value = serde_json::from_str(&cost::render(&e, "json")?)?;
    Ok((structured, cost::render(&e, "table")?))
}

fn all_rendered(m: &manifest::Manifest) -> Result<Vec<RenderedFile>, ToolError> {
    Ok(live::render(m, &[])?)
}

fn validate(server: &McpServer) -> ToolResult {
    let (m, _) = load(server)?;
    let infra = crate::check::infra(&m, server.workspace())?;
    let catalog_file = server.workspace().join("catalog-info.yaml");
    let report = billpay_platform::backstage::validate(&[catalog_file]);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let ok = infra.problems() == 0 && problems.is_empty();
    let mut lines = vec![infra.to_text("platform.toml")];
    for d in &infra.drift {
        lines.push(format!("  fix {d}: call {}", writer_of(d)));
    }
    if problems.is_empty() {
        lines.push(format!("catalog: valid ({} entities)", report.entities.len()));
    } else {
        lines.push(format!("catalog: {} problems", problems.len()));
        lines.extend(problems.iter().map(|p| format!("  {p}")));
    }
    let mut structured = infra.to_json();
    structured["ok"] = json!(ok);
    structured["catalog"] = json!({"entities": report.entities.len(), "problems": problems});
    Ok((structured, lines.join("\n")))
}

/// The tool that renders a drifted file.
fn writer_of(drift: &str) -> &'static str {
    let path = drift.split_once(": ").map_or(drift, |(_, p)| p);
    if path.starts_with("infra/") {
        "generate_terraform_modules"
    } else if path.starts_with(".github/") || path.starts_with("deploy/") {
        "setup_ci_cd_pipelines"
    } else if path == "mkdocs.yml" {
        "configure_techdocs"
    } else {
        "setup_backstage_integration"
    }
}

enum Scope {
    Cluster,
    Frontends,
}

/// Runs Terragrunt on the units, reporting each unit's start and end as progress.
fn run_units(
    server: &McpServer,
    env: &str,
    action: crate::terragrunt::Action,
    units: &[&live::Unit],
    progress: Progress<'_>,
) -> Result<crate::terragrunt::Record, ToolError> {
    use crate::terragrunt::{Event, Status};
    let verb = action.as_str();
    let mut report = |e: Event<'_>| match e {
        Event::Started { index, total, unit } => {
            progress(
                (index - 1) as f64,
                total as f64,
                format!("{unit}: {verb} ({index}/{total})"),
            );
        }
        Event::Finished { index, total, step } => {
            let how = match step.status {
                Status::Succeeded => format!("done in {:.1}s", step.seconds),
                _ => "failed".to_owned(),
            };
            progress(index as f64, total as f64, format!("{}: {verb} {how}", step.unit));
        }
        Event::Line { .. } => {}
    };
    let record = crate::terragrunt::run(server.workspace(), env, action, units, &mut report)?;
    if let Some(failure) = record.failure() {
        return Err(ToolError(failure));
    }
    Ok(record)
}

fn run_summary(record: &crate::terragrunt::Record) -> String {
    record
        .units
        .iter()
        .map(|u| format!("  {}: {}", u.unit, u.summary.as_deref().unwrap_or("done")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn infra(server: &McpServer, tool: &str, args: &Value, scope: Option<Scope>, progress: Progress<'_>) -> ToolResult {
    let (m, prices) = load(server)?;
    let env = str_arg(args, "environment")?.unwrap_or("dev").to_owned();
    known_env(&m, &env)?;
    if let Some(region) = str_arg(args, "region")?
        && region != m.region_of(&env)
    {
        return Err(ToolError(format!(
            "environment `{env}` is in {}, not {region}: change its region in platform.toml first",
            m.region_of(&env)
        )));
    }
    if let Some(Scope::Cluster) = scope {
        let name = required(args, "cluster-name")?;
        if name != m.project.cluster_name {
            return Err(ToolError(format!(
                "platform.toml names the cluster `{}`, not `{name}`",
                m.project.cluster_name
            )));
        }
    }
    let all = live::units(&m, &env).unwrap_or_default();
    // The targets, and everything they depend on, in the order they apply.
    let targets: Vec<String> = match scope {
        None => vec![],
        Some(Scope::Cluster) => vec!["eks".to_owned()],
        Some(Scope::Frontends) => m.frontends.iter().map(|f| f.get_ref().name.get_ref().clone()).collect(),
    };
    let wanted = crate::terragrunt::order(&all, &targets).map_err(ToolError)?;
    if wanted.is_empty() {
        return Err(ToolError(format!("environment `{env}` has no such units")));
    }
    let ours = [
        format!("infra/live/{env}/"),
        format!("infra/bootstrap/{env}/"),
        "infra/live/root.hcl".to_owned(),
    ];
    let drift: Vec<String> = live::check(server.workspace(), &all_rendered(&m)?)
        .into_iter()
        .filter(|d| ours.iter().any(|p| d.contains(p.as_str())))
        .collect();
    // What OpenTofu or Terragrunt would reject, anywhere in infra/: nothing runs while there is any.
    let problems: Vec<String> = billpay_platform::tfcheck::check(server.workspace())
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    let estimate = cost::estimate(&m, &env, &prices).ok_or_else(|| ToolError(format!("no environment `{env}`")))?;
    let cents = serde_json::from_str::<Value>(&cost::render(&estimate, "json")?)?["total_monthly_usd_cents"]
        .as_u64()
        .unwrap_or_default();
    let total = json!(format!("{}.{:02}", cents / 100, cents % 100));
    let units: Vec<Value> = wanted
        .iter()
        .map(|u| json!({"name": u.name, "module": u.module, "resources": u.resources}))
        .collect();
    let commands: Vec<String> = wanted
        .iter()
        .map(|u| {
            crate::terragrunt::command_line(
                crate::terragrunt::Action::Apply,
                &format!("infra/live/{env}/{}", u.name),
            )
        })
        .collect();
    let plan = json!({"environment": env, "units": units, "monthlyCostUsd": total, "drift": drift, "problems": problems, "commands": commands});
    let apply = args["apply"] == json!(true);
    let summary = format!(
        "{} units in {env} ({}), about ${} a month{}",
        units.len(),
        wanted.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", "),
        total.as_str().unwrap_or("?"),
        if drift.is_empty() {
            String::new()
        } else {
            format!("; {} rendered files differ from the manifest", drift.len())
        }
    ) + &if problems.is_empty() {
        String::new()
    } else {
        format!(
            "; {} problems OpenTofu or Terragrunt would reject (validate_platform lists them):\n{}",
            problems.len(),
            problems.join("\n")
        )
    };
    let installed = crate::terragrunt::on_path("terragrunt") && crate::terragrunt::on_path("tofu");
    if !apply {
        let token = server.token(tool, &plan);
        let mut structured = plan.clone();
        structured["confirmationToken"] = json!(token);
        structured["applied"] = json!(false);
        let mut text = summary.clone();
        if !installed {
            text.push_str("\nTerragrunt and OpenTofu are not installed where this server runs: this plan lists the units and what they create, without `terragrunt plan`.");
        } else if !server.allow_write() {
            // A plan runs OpenTofu, which runs whatever programs the configuration names (external
            // data sources) and writes caches and a lock: not for a read-only server.
            text.push_str("\nThis server is read-only, so `terragrunt plan` was not run: OpenTofu can run programs the configuration names. Start the server with --allow-write to plan with Terragrunt.");
        } else if drift.is_empty() && problems.is_empty() {
            let record = run_units(server, &env, crate::terragrunt::Action::Plan, &wanted, progress)?;
            text.push_str(&format!("\nterragrunt plan, unit by unit:\n{}", run_summary(&record)));
            structured["run"] = serde_json::to_value(&record)?;
        } else {
            text.push_str("\nNot planned with Terragrunt: fix the drift and problems above first (generate_terraform_modules renders the tree again).");
        }
        text.push_str(&format!(
            "\nplan only. To apply: call {tool} again with apply: true and confirmationToken (valid 15 minutes), on a server started with --allow-write."
        ));
        return Ok((structured, text));
    }
    if !server.allow_write() {
        return Err(ToolError(format!(
            "applying needs writes: restart the server with --allow-write, then call {tool} with apply: true and the confirmationToken of a fresh plan"
        )));
    }
    let token = required(args, "confirmationToken").map_err(|_| {
        ToolError(format!(
            "apply needs the confirmationToken of a plan: call {tool} without apply first"
        ))
    })?;
    server.verify(tool, &plan, token)?;
    if !drift.is_empty() {
        return Err(ToolError(format!(
            "the rendered tree differs from platform.toml ({}): run generate_terraform_modules first",
            drift.join(", ")
        )));
    }
    if !problems.is_empty() {
        return Err(ToolError(format!(
            "nothing was applied: OpenTofu or Terragrunt would reject the tree:\n{}",
            problems.join("\n")
        )));
    }
    let mut structured = plan.clone();
    if !installed {
        structured["applied"] = json!(false);
        return Ok((
            structured,
            format!(
                "{summary}\nTerragrunt and OpenTofu are not installed where this server runs, so nothing was applied. Run, from the workspace, in this order:\n{}",
                commands.join("\n")
            ),
        ));
    }
    let record = run_units(server, &env, crate::terragrunt::Action::Apply, &wanted, progress)?;
    structured["applied"] = json!(true);
    structured["run"] = serde_json::to_value(&record)?;
    Ok((
        structured,
        format!(
            "{summary}\napplied, unit by unit:\n{}\nrecord: {}",
            run_summary(&record),
            record.record
        ),
    ))
}

/// Writes `files` under `root` (in the workspace), refusing any that would land outside it.
fn write_files(server: &McpServer, root: &Path, files: &[RenderedFile]) -> Result<(Vec<String>, usize), ToolError> {
    for f in files {
        server.check_inside(&root.join(&f.path))?;
    }
    let written = live::write(root, files)?;
    let rel = |p: &Path| {
        root.join(p)
            .strip_prefix(server.workspace())
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    Ok((written.iter().map(|p| rel(p)).collect(), files.len() - written.len()))
}

fn embedded(dir: &Dir<'_>, prefix: &Path, out: &mut Vec<RenderedFile>) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.push(RenderedFile {
                path: prefix.join(f.path()),
                contents: text.to_owned(),
            });
        }
    }
    for d in dir.dirs() {
        embedded(d, prefix, out);
    }
}

fn files_result(written: Vec<String>, unchanged: usize, checks: Value, what: &str) -> ToolResult {
    let text = format!("{what}: {} files written, {unchanged} unchanged", written.len());
    Ok((
        json!({"written": written, "unchanged": unchanged, "checks": checks}),
        text,
    ))
}

fn generate_terraform(server: &McpServer, args: &Value) -> ToolResult {
    let root = server.resolve(str_arg(args, "outputPath")?.unwrap_or("."))?;
    let manifest_path = server.workspace().join("platform.toml");
    let mut starter = false;
    if !manifest_path.exists() {
        server.check_inside(&manifest_path)?;
        let prices = Prices::us_east_1();
        let starter_text = billpay_platform::register::without_projects(&manifest_path, STARTER_MANIFEST, &prices)?;
        std::fs::write(&manifest_path, starter_text)?;
        starter = true;
    }
    let (m, _) = load(server)?;
    let mut files = Vec::new();
    embedded(&MODULES, Path::new("infra/modules"), &mut files);
    files.extend(
        live::render(&m, &[])?
            .into_iter()
            .filter(|f| f.path.starts_with("infra")),
    );
    let (mut written, unchanged) = write_files(server, &root, &files)?;
    if starter {
        written.insert(
            0,
            "platform.toml (starter: edit the accounts, regions and names)".into(),
        );
    }
    files_result(
        written,
        unchanged,
        json!({}),
        "OpenTofu modules and Terragrunt live tree",
    )
}

fn backstage(server: &McpServer, args: &Value) -> ToolResult {
    let root = server.resolve(str_arg(args, "projectPath")?.unwrap_or("."))?;
    let (m, _) = load(server)?;
    let mut files = vec![catalog::render(&m)?];
    files.extend(catalog::render_backstage(&m)?);
    files.push(RenderedFile {
        path: PathBuf::from("openapi.json"),
        contents: OPENAPI.to_owned(),
    });
    let (written, unchanged) = write_files(server, &root, &files)?;
    let report = billpay_platform::backstage::validate(&[root.join("catalog-info.yaml")]);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    if !problems.is_empty() {
        return Err(ToolError(format!(
            "wrote the catalog, but it does not validate:\n{}",
            problems.join("\n")
        )));
    }
    files_result(
        written,
        unchanged,
        json!({"catalog": {"entities": report.entities.len(), "files": report.files.len(), "problems": 0}}),
        "Backstage catalog, software templates and app-config",
    )
}

fn software_templates(server: &McpServer, args: &Value) -> ToolResult {
    let (m, _) = load(server)?;
    let kinds: Vec<String> = match &args["templateTypes"] {
        Value::Null => vec!["microservice".into(), "frontend".into()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect(),
        other => return Err(ToolError(format!("`templateTypes` must be a list, not {other}"))),
    };
    let mut files = Vec::new();
    for k in &kinds {
        let name = match k.as_str() {
            "microservice" => "rust-microservice",
            "frontend" => "static-frontend",
            other => {
                return Err(ToolError(format!(
                    "unknown template type `{other}` (choose microservice or frontend)"
                )));
            }
        };
        let dir = TEMPLATES
            .get_dir(name)
            .ok_or_else(|| ToolError(format!("template {name} is missing from this build")))?;
        embedded(dir, Path::new("templates"), &mut files);
        files.extend(
            catalog::render_backstage(&m)?
                .into_iter()
                .filter(|f| f.path.starts_with(format!("backstage/templates/{name}"))),
        );
    }
    let (written, unchanged) = write_files(server, server.workspace(), &files)?;
    files_result(
        written,
        unchanged,
        json!({}),
        "service templates and Backstage software templates",
    )
}

fn actionlint() -> Option<String> {
    std::env::var("BILLPAY_ACTIONLINT")
        .ok()
        .or_else(|| crate::terragrunt::on_path("actionlint").then(|| "actionlint".to_owned()))
}

fn pipelines(server: &McpServer, args: &Value) -> ToolResult {
    let root = server.resolve(str_arg(args, "projectPath")?.unwrap_or("."))?;
    let (m, _) = load(server)?;
    let files = workflows::render_all(&m)?;
    let mut all = files.clone();
    all.extend(billpay_platform::k8s::render_all(&m)?);
    let (written, unchanged) = write_files(server, &root, &all)?;
    let lint = match actionlint() {
        None => json!({"actionlint": "not installed: install it to lint the workflows"}),
        Some(bin) => {
            let out = std::process::Command::new(bin)
                .arg("-no-color")
                .args(files.iter().map(|f| root.join(&f.path)))
                .current_dir(&root)
                .output()?;
            if !out.status.success() {
                return Err(ToolError(format!(
                    "wrote the workflows, but actionlint reports:\n{}",
                    String::from_utf8_lossy(&out.stdout)
                )));
            }
            json!({"actionlint": "passed"})
        }
    };
    files_result(written, unchanged, lint, "GitHub workflows and Kubernetes manifests")
}

fn techdocs(server: &McpServer, args: &Value) -> ToolResult {
    let (mut m, _) = load(server)?;
    let bucket = required(args, "s3Bucket")?.to_owned();
    if !(3..=63).contains(&bucket.len())
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(ToolError(format!("`{bucket}` is not a valid S3 bucket name")));
    }
    m.project.techdocs_bucket = bucket.clone();
    let mut files = vec![catalog::render_mkdocs(&m)?];
    files.extend(
        catalog::render_backstage(&m)?
            .into_iter()
            .filter(|f| f.path.ends_with("app-config.billpay.yaml")),
    );
    let (written, unchanged) = write_files(server, server.workspace(), &files)?;
    let mut checks = json!({"bucket": bucket});
    if args["publish"] == json!(true) {
        let site = server.resolve("site")?;
        let entity = str_arg(args, "entity")?
            .map(str::to_owned)
            .unwrap_or_else(|| format!("system/{}", m.project.name));
        let entity = billpay_aws::techdocs::EntityName::parse(&entity)?;
        let region = str_arg(args, "region")?.map(str::to_owned).unwrap_or_else(|| {
            m.region_of(&m.env_names().first().cloned().unwrap_or_default())
                .to_owned()
        });
        let rt = tokio::runtime::Runtime::new()?;
        let done = rt.block_on(async {
            let aws = billpay_aws::Aws::from_env(&region).await;
            aws.publish_techdocs(&site, &bucket, &entity).await
        })?;
        checks["published"] =
            json!({"prefix": entity.prefix(), "uploaded": done.uploaded.len(), "deleted": done.deleted.len()});
    }
    files_result(written, unchanged, checks, "TechDocs configuration")
}

fn ecr(server: &McpServer, args: &Value) -> ToolResult {
    let (m, _) = load(server)?;
    let region = required(args, "region")?.to_owned();
    let names: Vec<String> = match &args["names"] {
        Value::Null => m.project.repositories.iter().map(|r| r.get_ref().clone()).collect(),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ToolError("`names` must be strings".into()))
            })
            .collect::<Result<_, _>>()?,
        other => return Err(ToolError(format!("`names` must be a list, not {other}"))),
    };
    for n in &names {
        billpay_platform::scaffold::check_name(n)
            .map_err(|_| ToolError(format!("`{n}` is not a valid repository name")))?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    let results = rt.block_on(async {
        let aws = billpay_aws::Aws::from_env(&region).await;
        let mut out = Vec::new();
        for n in &names {
            let outcome = match aws.ensure_repository(n).await? {
                billpay_aws::ecr::Outcome::Created => "created".to_owned(),
                billpay_aws::ecr::Outcome::Fixed(what) => format!("fixed: {}", what.join(", ")),
                billpay_aws::ecr::Outcome::Unchanged => "unchanged".to_owned(),
            };
            out.push(json!({"name": n, "outcome": outcome}));
        }
        Ok::<_, billpay_aws::AwsError>(out)
    })?;
    let text = results
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["outcome"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok((json!({"repositories": results}), text))
}

fn deploy(server: &McpServer, args: &Value) -> ToolResult {
    let (m, _) = load(server)?;
    let app = required(args, "app-name")?.to_owned();
    let kind = required(args, "app-type")?;
    let env = required(args, "environment")?.to_owned();
    known_env(&m, &env)?;
    let token = str_arg(args, "confirmationToken")?;
    let tool = "deploy_application";
    match kind {
        "frontend" => {
            if !m.frontends.iter().any(|f| f.get_ref().name.get_ref() == &app) {
                return Err(ToolError(format!("no frontend `{app}` in platform.toml")));
            }
            let default_dir = crate::stage::default_build_dir(&m, &app);
            let dir = match str_arg(args, "buildDir")? {
                Some(d) => server.resolve(d)?,
                None => server.resolve(&default_dir.to_string_lossy())?,
            };
            let apps = match args.get("appOrigins") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(Value::Object(o)) => o
                    .iter()
                    .map(|(k, v)| match v.as_str() {
                        Some(s) => Ok((k.clone(), s.to_owned())),
                        None => Err(ToolError(format!("appOrigins.{k} must be a string"))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(ToolError("appOrigins must be an object of app name → origin".into())),
            };
            let origins = billpay_platform::webconfig::Overrides {
                api: str_arg(args, "apiOrigin")?.map(str::to_owned),
                apps,
                sso: match args.get("sso") {
                    None | Some(Value::Null) => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => return Err(ToolError("sso must be true or false".into())),
                },
            };
            let rt = tokio::runtime::Runtime::new()?;
            let aws = rt.block_on(billpay_aws::Aws::from_env(m.region_of(&env)));
            let prepared = rt
                .block_on(crate::stage::prepare(
                    &m,
                    &env,
                    &app,
                    &dir,
                    origins,
                    str_arg(args, "flagsKey")?,
                    &aws,
                ))
                .map_err(|e| ToolError(format!("{e:#}")))?;
            let (bucket, plan, local) = (&prepared.bucket, &prepared.plan, &prepared.local);
            let shown = json!({"app": app, "environment": env, "bucket": bucket, "upload": plan.upload, "delete": plan.delete, "unchanged": plan.unchanged, "invalidate": plan.invalidate, "config": prepared.config});
            let Some(token) = token else {
                let t = server.token(tool, &shown);
                return Ok((
                    json!({"plan": shown, "confirmationToken": t, "applied": false}),
                    format!(
                        "{app} → s3://{bucket}: {} to upload, {} to delete, {} unchanged. Call again with confirmationToken to deploy.",
                        plan.upload.len(),
                        plan.delete.len(),
                        plan.unchanged
                    ),
                ));
            };
            server.verify(tool, &shown, token)?;
            let distribution = rt.block_on(aws.distribution_for(&app))?;
            let invalidation = rt.block_on(aws.apply_frontend(local, plan, bucket, &distribution))?;
            Ok((
                json!({"plan": shown, "applied": true, "log": [format!("invalidation: {}", invalidation.unwrap_or_else(|| "none".into()))]}),
                format!(
                    "deployed {app} to s3://{bucket} ({} uploaded, {} deleted)",
                    plan.upload.len(),
                    plan.delete.len()
                ),
            ))
        }
        "backend" => {
            if !m.services.iter().any(|s| s.get_ref().name.get_ref() == &app) {
                return Err(ToolError(format!("no service `{app}` in platform.toml")));
            }
            let tag = required(args, "imageTag")?;
            if !billpay_kube::is_image_tag(tag) {
                return Err(ToolError("`imageTag` must be an image tag, e.g. the git SHA".into()));
            }
            let overlay = server.resolve(&format!("deploy/k8s/overlays/{env}"))?;
            let image = format!("{}/{app}", m.registry(&env));
            let yaml = billpay_kube::build(&overlay, std::slice::from_ref(&image), tag)?;
            let objects = billpay_kube::only_services(billpay_kube::parse(&yaml)?, std::slice::from_ref(&app));
            let names: Vec<String> = objects.iter().map(billpay_kube::describe).collect();
            let shown = json!({"app": app, "environment": env, "image": format!("{image}:{tag}"), "objects": names, "digest": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(yaml.as_bytes()))});
            let Some(token) = token else {
                let t = server.token(tool, &shown);
                return Ok((
                    json!({"plan": shown, "confirmationToken": t, "applied": false}),
                    format!(
                        "{app}:{tag} to {env}: {} objects. Call again with confirmationToken to apply.",
                        names.len()
                    ),
                ));
            };
            server.verify(tool, &shown, token)?;
            let rt = tokio::runtime::Runtime::new()?;
            let log = rt.block_on(async {
                let client = billpay_kube::client().await?;
                let applied = billpay_kube::apply(&client, &objects).await?;
                billpay_kube::wait_rollout(&client, "billpay", &app, std::time::Duration::from_secs(600)).await?;
                Ok::<_, billpay_kube::KubeError>(applied)
            })?;
            Ok((
                json!({"plan": shown, "applied": true, "log": log}),
                format!("rolled out {app}:{tag} in {env}"),
            ))
        }
        other => Err(ToolError(format!(
            "`app-type` must be backend or frontend, not `{other}`"
        ))),
    }
}
