//! `billpayctl`: BillPay's platform tool.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use billpay_platform::{Prices, cost, live, manifest};

mod check;
mod mcp;
mod stage;
mod terragrunt;

#[derive(Parser)]
#[command(
    name = "billpayctl",
    version,
    about = "BillPay's platform tool: one manifest (platform.toml) drives the AWS infrastructure.",
    long_about = "BillPay's platform tool.\n\n\
platform.toml describes the environments (account, region, network, nodes, database), the backend \
services and the static frontends. billpayctl renders the Terragrunt tree under infra/live/ from it, \
checks that the tree still matches, lists what each environment will create, and estimates what it \
costs. It never calls AWS: run `terragrunt` (with OpenTofu) on the rendered tree to plan and apply. \
See docs/infrastructure.md for the walk from nothing to a running environment."
)]
struct Cli {
    /// The manifest.
    #[arg(long, global = true, default_value = "platform.toml", env = "BILLPAY_MANIFEST")]
    manifest: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The OpenTofu/Terragrunt infrastructure.
    Infra {
        #[command(subcommand)]
        command: Infra,
    },
    /// ECR repositories.
    Ecr {
        #[command(subcommand)]
        command: Ecr,
    },
    /// Deploy builds to AWS.
    Deploy {
        #[command(subcommand)]
        command: Deploy,
    },
    /// Backstage catalog files.
    Catalog {
        #[command(subcommand)]
        command: Catalog,
    },
    /// TechDocs sites.
    Techdocs {
        #[command(subcommand)]
        command: Techdocs,
    },
    /// Serve the platform as MCP tools to an assistant (stdio, or streamable HTTP).
    #[command(long_about = "Serve the platform as MCP tools.\n\n\
Over stdio by default (what desktop assistants launch), or streamable HTTP with --http. The server \
is read-only unless started with --allow-write: write tools are then not even listed. Applying to \
AWS or a cluster needs the confirmation token the matching plan returned. Every path is confined \
to --workspace, and every write is recorded in <workspace>/.billpay/mcp-audit.jsonl. See docs/mcp.md.")]
    Mcp {
        /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765, or a port for loopback).
        #[arg(long)]
        http: Option<String>,
        /// The bearer token HTTP clients must send (required with --http).
        #[arg(long, env = "BILLPAY_MCP_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A browser origin allowed to call the HTTP server (repeatable); others get 403.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// List and run the tools that write files or apply changes.
        #[arg(long)]
        allow_write: bool,
        /// The folder every tool reads and writes in (default: the current directory).
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Create a service or web app from a template in templates/ and register it in the manifest.
    #[command(long_about = "Create a service or web app from a template and register it.\n\n\
Templates are in Cookiecutter's format (templates/<name>/cookiecutter.json and a \
{{cookiecutter.slug}}/ tree) and render byte for byte as `cookiecutter --no-input` renders them. \
The new project goes to <out>/<name>; it is then added to platform.toml, so that \
`billpayctl infra generate` gives it its ECR repository, Kubernetes objects, pipeline, catalog \
entry and docs. Nothing is written when any value is wrong or the name is taken.\n\n\
Templates: rust-microservice (an axum service), static-frontend (a Lit + Vite web app).")]
    Scaffold {
        /// The template, as named under templates/.
        template: String,
        /// The new service's name: lower-case letters, digits and dashes.
        #[arg(long)]
        name: String,
        /// A template value, as key=value (repeatable); see the template's cookiecutter.json.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Where the project directory goes (default: services/ or frontends/ beside the manifest).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The templates directory (default: templates/ beside the manifest).
        #[arg(long)]
        templates: Option<PathBuf>,
        /// Only render the project; leave platform.toml alone.
        #[arg(long)]
        no_register: bool,
    },
    /// Estimate an environment's monthly AWS bill, line by line, from the dated price table.
    #[command(long_about = "Estimate an environment's monthly AWS bill.\n\n\
Each line item says how it was computed; the assumptions say what usage was assumed where the \
manifest is silent, and the warnings list charges people forget. Prices are us-east-1 on-demand \
list prices, dated, kept in crates/billpay-platform/prices/.")]
    Cost {
        /// The environment, as named in platform.toml.
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum Catalog {
    /// Validate Backstage entities offline, as Backstage's catalog does when it reads them.
    #[command(long_about = "Validate Backstage entities offline.\n\n\
Each entity goes through what Backstage's catalog applies when it ingests a file: $text/$json/$yaml \
placeholders, the entity policies (no foreign root fields; the formats of apiVersion, kind, name, \
namespace, labels, annotations, tags and links), Backstage's JSON schema for the entity and for \
its kind (including the scaffolder's Template), and then every reference between the entities \
(owner, system, domain, providesApis, consumesApis, dependsOn) must resolve. Location entities \
are followed to the files they point at. Exits 1 and lists each problem, with file and entity.")]
    Validate {
        /// The files (default: catalog-info.yaml beside the manifest, and what its Locations name).
        files: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Techdocs {
    /// Upload a built TechDocs site to the bucket, where Backstage's awsS3 publisher reads it.
    #[command(long_about = "Upload a built TechDocs site to the TechDocs bucket.\n\n\
The site (built with `mkdocs build` and mkdocs-techdocs-core, which writes \
techdocs_metadata.json) goes to s3://<bucket>/<namespace>/<kind>/<name>/, the layout Backstage \
reads, encrypted by the bucket's default SSE-KMS key. Objects a previous build left there and this one does not \
have are deleted.")]
    Publish {
        /// The entity the docs belong to: KIND/NAME or NAMESPACE/KIND/NAME.
        #[arg(long)]
        entity: String,
        /// The built site.
        #[arg(long, default_value = "site")]
        site: PathBuf,
        /// The environment whose TechDocs bucket to use (default: the first in the manifest).
        #[arg(long)]
        env: Option<String>,
        /// The bucket, instead of the environment's.
        #[arg(long)]
        bucket: Option<String>,
    },
}

#[derive(Subcommand)]
enum Ecr {
    /// Create any missing ECR repository, with scan on push, immutable tags and the lifecycle
    /// policy; fix those settings where they drifted. Running it twice changes nothing.
    Ensure {
        /// The environment whose region to use (default: the first in the manifest).
        #[arg(long)]
        env: Option<String>,
    },
}

#[derive(Subcommand)]
enum Deploy {
    /// Sync a built web app to its S3 bucket and invalidate what changed in CloudFront.
    #[command(
        long_about = "Sync a built web app to its S3 bucket, then invalidate CloudFront.\n\n\
Only files whose content changed are uploaded; files gone from the build are deleted. Each file \
gets its content type; hashed assets get `cache-control: immutable`, HTML `no-cache`. One \
invalidation covers the changed paths. A deploy that failed halfway is finished by running it \
again. --dry-run prints the changes and touches nothing."
    )]
    Frontend {
        /// The frontend, as named in platform.toml (e.g. billpay-frontend-a).
        #[arg(long)]
        app: String,
        #[arg(long)]
        env: String,
        /// The app's build (default: web/dist/<app>, or <path>/dist for a frontend with a path).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The CloudFront distribution (default: the one whose comment is the app's name).
        #[arg(long)]
        distribution_id: Option<String>,
        /// The API's origin written into the app's config.json (default: https://<api
        /// subdomain>.<domain>, or the environment's api_origin in the manifest; needed where it
        /// has neither).
        #[arg(long)]
        api_origin: Option<String>,
        /// Where a customer app is served, NAME=ORIGIN, repeatable (default: https://<subdomain>.
        /// <domain>; without a domain, the environment's app_origins in the manifest, else the
        /// app's CloudFront name).
        #[arg(long = "app-origin", value_name = "NAME=ORIGIN")]
        app_origins: Vec<String>,
        /// Staff sign in through single sign-on here (default: where the environment has a
        /// domain, and so the identity unit).
        #[arg(long)]
        sso: bool,
        /// The web flag set's read-only client key, for config.json.
        #[arg(long, env = "BILLPAY_WEB_FLAGS_KEY")]
        flags_key: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Roll out a backend image: build the environment's overlay with it, server-side apply it to
    /// the cluster in KUBECONFIG, and wait for the rollout.
    #[command(long_about = "Roll out a backend image to an environment.\n\n\
Builds deploy/k8s/overlays/<env> with the image tag (kubectl kustomize), applies every object by \
server-side apply (field manager `billpayctl`) to the cluster in KUBECONFIG, and waits for each \
Deployment to roll out; when it does not, the pods' states and warning events are printed. \
--dry-run prints the objects and touches no cluster.")]
    Backend {
        #[arg(long)]
        env: String,
        /// The image tag to deploy (the git SHA the pipeline pushed).
        #[arg(long)]
        image: String,
        /// Only this service (default: every service in the manifest).
        #[arg(long)]
        service: Option<String>,
        /// Seconds to wait for the rollout.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum Infra {
    /// Render the Terragrunt live tree (infra/live/) from the manifest.
    #[command(long_about = "Render the Terragrunt live tree from the manifest.\n\n\
Writes infra/live/root.hcl, and for each environment infra/live/<env>/env.hcl and one \
terragrunt.hcl per unit, each pointing at a module in infra/modules/. The same manifest always \
gives byte-identical files; files that would not change are left alone. The tree is never edited \
by hand: change platform.toml and render again.")]
    Generate {
        /// Only this environment (default: all of them).
        #[arg(long)]
        env: Option<String>,
        /// The repository root to write into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Check the infrastructure as OpenTofu and Terragrunt would, offline; exit 1 on any problem.
    #[command(
        long_about = "Check the infrastructure, offline, for what OpenTofu and Terragrunt would reject.\n\n\
1. Drift: renders every file in memory and compares it with the files on disk (changed, missing \
and extra files), so a hand edit or a manifest change without a render never reaches an apply.\n\
2. Schema: every resource, data and provider block under infra/ (modules and their examples) \
against the pinned provider schemas (AWS 6.x and Helm 3.x, from the CDKTF bindings): unknown \
arguments and blocks, missing required ones, computed attributes set by hand, blocks written as \
attributes and the reverse, references to attributes that do not exist, undeclared variables, \
locals, modules and resources, and calls to local modules with unknown or missing inputs.\n\
3. Terragrunt: each unit's source must copy everything its module reaches (the `//`), each \
dependency.X.outputs.Y and mock_outputs key must be an output of X's module, inputs must be the \
module's variables, and native S3 locking needs required_version >= 1.10.\n\
4. checkov, where it is installed (BILLPAY_CHECKOV or on PATH).\n\n\
Registry modules (terraform-aws-modules) are not fetched; their inputs are listed as not checked."
    )]
    Check {
        /// The repository root to check.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Plan an environment: `terragrunt plan` on each unit, dependencies first.
    #[command(long_about = "Plan an environment's units with Terragrunt and OpenTofu.\n\n\
Checks the tree first (drift and schema, as `infra check`), then runs `terragrunt run -- plan` on \
each unit of infra/live/<env> in dependency order (the order `terragrunt run --all` uses), one at \
a time. On a terminal it shows each unit's progress; elsewhere it prints every line, prefixed \
with the unit. It stops at the first unit that fails and names it with its error. Each run is \
recorded in .billpay/runs/<id>.json, with each unit's full output beside it.")]
    Plan {
        #[command(flatten)]
        units: UnitsArgs,
    },
    /// Apply an environment: `terragrunt apply` on each unit, dependencies first.
    #[command(long_about = "Apply an environment's units with Terragrunt and OpenTofu.\n\n\
Checks the tree first (drift and schema, as `infra check`) and refuses to apply a tree with \
problems. Then runs `terragrunt run -- apply -auto-approve` on each unit of infra/live/<env> in \
dependency order, one at a time, showing progress; it stops at the first unit that fails, names \
it with its error, and leaves the units after it untouched. Asks for the environment's name \
first, unless --yes is given. Each run is recorded in .billpay/runs/<id>.json. The state \
bootstrap (infra/bootstrap/<env>) is applied on its own, before the first apply.")]
    Apply {
        #[command(flatten)]
        units: UnitsArgs,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// List what an environment will create, unit by unit (module by module).
    Resources {
        #[arg(long)]
        env: String,
    },
    /// Read a provider's schema from its prebuilt CDKTF binding into the compact form `infra
    /// check` uses.
    #[command(long_about = "Read a provider's schema from its prebuilt CDKTF binding.\n\n\
The PyPI wheels cdktf-cdktf-provider-aws and cdktf-cdktf-provider-helm each hold a .jsii assembly \
(in _jsii/*.jsii.tgz) that describes every resource, data source and provider argument of the \
provider version they were generated from. This reads one and writes the compact schema that \
`billpayctl infra check` checks the modules against (crates/billpay-platform/schemas/). Pin the \
wheel whose provider version matches the modules' required_providers.")]
    ImportSchema {
        /// The .jsii file (unpacked from the wheel's _jsii/*.jsii.tgz).
        #[arg(long)]
        jsii: PathBuf,
        /// The PyPI package it came from (e.g. cdktf-cdktf-provider-aws), recorded in the schema
        /// with the binding's version.
        #[arg(long)]
        package: String,
        /// The schema file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Which units `infra plan` and `infra apply` run.
#[derive(clap::Args)]
struct UnitsArgs {
    /// The environment, as named in platform.toml.
    #[arg(long)]
    env: String,
    /// Only these units and what they depend on (repeatable).
    #[arg(long = "unit")]
    units: Vec<String>,
    /// The repository root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Mcp {
        http,
        token,
        allowed_origins,
        allow_write,
        workspace,
    } = &cli.command
    {
        return serve_mcp(
            http.as_deref(),
            token.clone(),
            allowed_origins.clone(),
            *allow_write,
            workspace,
        );
    }
    if let Command::Infra {
        command: Infra::ImportSchema { jsii, package, out },
    } = &cli.command
    {
        let bytes = std::fs::read(jsii).with_context(|| format!("reading {}", jsii.display()))?;
        let schema = billpay_platform::schema::from_jsii(&bytes, package)?;
        std::fs::write(out, billpay_platform::schema::to_compact_json(&schema)?)
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{} {}: {} resources, {} data sources → {}",
            schema.source,
            schema.version,
            schema.resources.len(),
            schema.data_sources.len(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let prices = Prices::us_east_1();
    let m = manifest::load(&cli.manifest, &prices)?;
    let known = || m.env_names().join(", ");
    match cli.command {
        Command::Infra {
            command: Infra::Generate { env, out },
        } => {
            let envs: Vec<String> = env.into_iter().collect();
            let files = live::render(&m, &envs)?;
            let written = live::write(&out, &files)?;
            println!(
                "rendered {} files under {} ({} changed)",
                files.len(),
                out.join("infra").display(),
                written.len()
            );
            for w in written {
                println!("  wrote {}", w.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Infra {
            command: Infra::Check { root, json },
        } => {
            let report = check::infra(&m, &root)?;
            if json {
                println!("{:#}", report.to_json());
            } else {
                println!("{}", report.to_text(&cli.manifest.display().to_string()));
            }
            Ok(if report.problems() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Infra {
            command: Infra::Plan { units: u },
        } => run_units(&m, &u.root, &u.env, &u.units, terragrunt::Action::Plan, true),
        Command::Infra {
            command: Infra::Apply { units: u, yes },
        } => run_units(&m, &u.root, &u.env, &u.units, terragrunt::Action::Apply, yes),
        Command::Infra {
            command: Infra::Resources { env },
        } => {
            let units = live::units(&m, &env)
                .with_context(|| format!("no environment `{env}` in the manifest (it has: {})", known()))?;
            println!("Environment `{env}` ({}): {} units", m.region_of(&env), units.len());
            for u in units {
                let note = if u.excluded { " (bootstrap, applied first)" } else { "" };
                println!("\n{} (module {}){note}", u.name, u.module);
                for r in u.resources {
                    println!("  - {r}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ecr {
            command: Ecr::Ensure { env },
        } => {
            let env = env.unwrap_or_else(|| m.env_names().first().cloned().unwrap_or_default());
            anyhow::ensure!(
                m.env(&env).is_some(),
                "no environment `{env}` in the manifest (it has: {})",
                known()
            );
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let aws = billpay_aws::Aws::from_env(m.region_of(&env)).await;
                for repo in &m.project.repositories {
                    let name = repo.get_ref();
                    let outcome = aws.ensure_repository(name).await?;
                    match outcome {
                        billpay_aws::ecr::Outcome::Created => println!("created   {name}"),
                        billpay_aws::ecr::Outcome::Fixed(what) => println!("fixed     {name}: {}", what.join(", ")),
                        billpay_aws::ecr::Outcome::Unchanged => println!("unchanged {name}"),
                    }
                }
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            command:
                Deploy::Frontend {
                    app,
                    env,
                    dir,
                    distribution_id,
                    api_origin,
                    app_origins,
                    sso,
                    flags_key,
                    dry_run,
                },
        } => {
            m.env(&env)
                .with_context(|| format!("no environment `{env}` in the manifest (it has: {})", known()))?;
            if !m.frontends.iter().any(|f| f.get_ref().name.get_ref() == &app) {
                let names: Vec<&str> = m
                    .frontends
                    .iter()
                    .map(|f| f.get_ref().name.get_ref().as_str())
                    .collect();
                anyhow::bail!("no frontend `{app}` in the manifest (it has: {})", names.join(", "));
            }
            let dir = dir.unwrap_or_else(|| stage::default_build_dir(&m, &app));
            let origins = billpay_platform::webconfig::Overrides {
                api: api_origin,
                apps: stage::parse_app_origins(&app_origins)?,
                sso: sso.then_some(true),
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let aws = billpay_aws::Aws::from_env(m.region_of(&env)).await;
                let prepared = stage::prepare(&m, &env, &app, &dir, origins, flags_key.as_deref(), &aws).await?;
                let (bucket, plan) = (&prepared.bucket, &prepared.plan);
                println!(
                    "{app} ({}) → s3://{bucket}: {} to upload, {} to delete, {} unchanged",
                    dir.display(),
                    plan.upload.len(),
                    plan.delete.len(),
                    plan.unchanged
                );
                for k in &plan.upload {
                    println!(
                        "  upload {k}  ({}; {})",
                        billpay_aws::frontend::content_type(k),
                        billpay_aws::frontend::cache_control(k)
                    );
                }
                for k in &plan.delete {
                    println!("  delete {k}");
                }
                println!("config.json: {}", prepared.config);
                if dry_run {
                    if !plan.invalidate.is_empty() {
                        println!("would invalidate: {}", plan.invalidate.join(" "));
                    }
                    return Ok::<_, anyhow::Error>(());
                }
                let distribution = match distribution_id {
                    Some(d) => d,
                    None => aws.distribution_for(&app).await?,
                };
                match aws.apply_frontend(&prepared.local, plan, bucket, &distribution).await? {
                    Some(id) => println!("invalidation {id} on {distribution}: {}", plan.invalidate.join(" ")),
                    None => println!("nothing cached to invalidate"),
                }
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            command:
                Deploy::Backend {
                    env,
                    image,
                    service,
                    timeout,
                    dry_run,
                },
        } => {
            m.env(&env)
                .with_context(|| format!("no environment `{env}` in the manifest (it has: {})", known()))?;
            anyhow::ensure!(
                billpay_kube::is_image_tag(&image),
                "--image must be an image tag (letters, digits, `_`, `.`, `-`; at most 128), e.g. the git SHA"
            );
            let registry = m.registry(&env);
            let overlay = PathBuf::from(billpay_platform::k8s::K8S_DIR)
                .join("overlays")
                .join(&env);
            let all: Vec<String> = m.services.iter().map(|s| s.get_ref().name.get_ref().clone()).collect();
            let services = match service {
                Some(s) if all.contains(&s) => vec![s],
                Some(s) => anyhow::bail!("no service `{s}` in the manifest (it has: {})", all.join(", ")),
                None => all,
            };
            let images: Vec<String> = services.iter().map(|s| format!("{registry}/{s}")).collect();
            let yaml = billpay_kube::build(&overlay, &images, &image)?;
            // One service's deploy touches only its own objects (and the namespace).
            let objects = billpay_kube::only_services(billpay_kube::parse(&yaml)?, &services);
            if dry_run {
                print!("{yaml}");
                for o in &objects {
                    eprintln!("would apply {}", billpay_kube::describe(o));
                }
                eprintln!(
                    "dry run: {} objects for {env}, image tag {image}; nothing applied",
                    objects.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let client = billpay_kube::client().await?;
                for applied in billpay_kube::apply(&client, &objects).await? {
                    println!("applied {applied}");
                }
                for service in &services {
                    billpay_kube::wait_rollout(&client, "billpay", service, std::time::Duration::from_secs(timeout))
                        .await?;
                    println!("rolled out {service}:{image} in {env}");
                }
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog {
            command: Catalog::Validate { files, json },
        } => {
            let files = if files.is_empty() {
                vec![
                    cli.manifest
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(std::path::Path::new("."))
                        .join("catalog-info.yaml"),
                ]
            } else {
                files
            };
            let report = billpay_platform::backstage::validate(&files);
            if json {
                let failing: std::collections::BTreeSet<&str> =
                    report.problems.iter().map(|p| p.entity.as_str()).collect();
                let out = serde_json::json!({
                    "entities": report.entities.len(),
                    "files": report.files,
                    "problems": report.problems.iter().map(|p| serde_json::json!({
                        "file": p.file, "entity": p.entity, "message": p.message,
                    })).collect::<Vec<_>>(),
                    "failing": failing,
                });
                println!("{out:#}");
            } else {
                for p in &report.problems {
                    println!("{p}");
                }
            }
            if !json {
                println!(
                    "{} valid entities in {} files, {} problems",
                    report.entities.len(),
                    report.files.len(),
                    report.problems.len()
                );
            }
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Techdocs {
            command:
                Techdocs::Publish {
                    entity,
                    site,
                    env,
                    bucket,
                },
        } => {
            let entity = billpay_aws::techdocs::EntityName::parse(&entity)?;
            let env = env.unwrap_or_else(|| m.env_names().first().cloned().unwrap_or_default());
            anyhow::ensure!(
                m.env(&env).is_some(),
                "no environment `{env}` in the manifest (it has: {})",
                known()
            );
            let bucket = bucket.unwrap_or_else(|| m.bucket(&env, &m.project.techdocs_bucket));
            let rt = tokio::runtime::Runtime::new()?;
            let done = rt.block_on(async {
                let aws = billpay_aws::Aws::from_env(m.region_of(&env)).await;
                aws.publish_techdocs(&site, &bucket, &entity).await
            })?;
            println!(
                "published {} files to s3://{bucket}/{} ({} stale deleted)",
                done.uploaded.len(),
                entity.prefix(),
                done.deleted.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Mcp { .. }
        | Command::Infra {
            command: Infra::ImportSchema { .. },
        } => unreachable!("handled before the manifest is read"),
        Command::Scaffold {
            template,
            name,
            set,
            out,
            templates,
            no_register,
        } => scaffold(
            &cli.manifest,
            &m,
            &prices,
            &template,
            &name,
            &set,
            out,
            templates,
            no_register,
        ),
        Command::Cost { env, format } => {
            let e = cost::estimate(&m, &env, &prices)
                .with_context(|| format!("no environment `{env}` in the manifest (it has: {})", known()))?;
            let f = match format {
                Format::Table => "table",
                Format::Json => "json",
                Format::Markdown => "markdown",
            };
            print!("{}", cost::render(&e, f).map_err(anyhow::Error::msg)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `infra plan` and `infra apply`.
fn run_units(
    m: &manifest::Manifest,
    root: &std::path::Path,
    env: &str,
    targets: &[String],
    action: terragrunt::Action,
    confirmed: bool,
) -> anyhow::Result<ExitCode> {
    use std::io::{IsTerminal, Write};
    let root = &std::path::absolute(root)?;
    let all = live::units(m, env).with_context(|| {
        format!(
            "no environment `{env}` in the manifest (it has: {})",
            m.env_names().join(", ")
        )
    })?;
    let units = terragrunt::order(&all, targets).map_err(anyhow::Error::msg)?;
    for tool in ["terragrunt", "tofu"] {
        anyhow::ensure!(
            terragrunt::on_path(tool),
            "`{tool}` is not on PATH: install Terragrunt and OpenTofu (docs/infrastructure.md), then run this again"
        );
    }
    // A tree OpenTofu would reject, or that differs from the manifest, is not planned or applied.
    let drift = live::check(root, &live::render(m, &[])?);
    let schema = billpay_platform::tfcheck::check(root);
    if !drift.is_empty() || !schema.problems.is_empty() {
        for d in &drift {
            eprintln!("  {d}");
        }
        for p in &schema.problems {
            eprintln!("  {p}");
        }
        anyhow::bail!(
            "the tree has {} problems (above): fix them, or run `billpayctl infra generate`, then {} again",
            drift.len() + schema.problems.len(),
            action.as_str()
        );
    }
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    if action == terragrunt::Action::Apply && !confirmed {
        anyhow::ensure!(
            std::io::stdin().is_terminal(),
            "applying changes AWS: pass --yes to apply without a terminal to confirm on"
        );
        eprint!(
            "apply {} units to {env} (account {}): {}\ntype `{env}` to go on: ",
            names.len(),
            m.env(env).map(|e| e.account_id.get_ref().clone()).unwrap_or_default(),
            names.join(", ")
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        anyhow::ensure!(answer.trim() == env, "not confirmed: nothing was applied");
    }
    let tty = std::io::stderr().is_terminal();
    let verb = if action == terragrunt::Action::Plan {
        "planning"
    } else {
        "applying"
    };
    let mut show = |e: terragrunt::Event<'_>| match e {
        terragrunt::Event::Started { index, total, unit } => {
            if tty {
                eprint!("\r\x1b[2K[{index:>2}/{total}] {unit:<24} {verb}…");
            } else {
                eprintln!("[{index}/{total}] {unit}: {verb}");
            }
        }
        terragrunt::Event::Line { unit, line } => {
            if tty {
                let short: String = line.chars().take(60).collect();
                eprint!("\r\x1b[2K      {unit:<24} {verb}… {short}");
            } else {
                println!("[{unit}] {line}");
            }
        }
        terragrunt::Event::Finished { index, total, step } => {
            let mark = if step.status == terragrunt::Status::Succeeded {
                "ok"
            } else {
                "FAILED"
            };
            let end = if tty { "\r\x1b[2K" } else { "" };
            eprintln!(
                "{end}[{index:>2}/{total}] {:<24} {mark} in {:.1}s{}",
                step.unit,
                step.seconds,
                step.summary
                    .as_deref()
                    .filter(|_| step.status == terragrunt::Status::Succeeded)
                    .map(|s| format!("  {s}"))
                    .unwrap_or_default()
            );
        }
    };
    let record = terragrunt::run(root, env, action, &units, &mut show)?;
    if let Some(failure) = record.failure() {
        eprintln!("\n{failure}");
        return Ok(ExitCode::from(1));
    }
    eprintln!(
        "{} {} units of {env}; record: {}",
        if action == terragrunt::Action::Plan {
            "planned"
        } else {
            "applied"
        },
        record.units.len(),
        record.record
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn scaffold(
    manifest_path: &std::path::Path,
    m: &manifest::Manifest,
    prices: &Prices,
    template: &str,
    name: &str,
    set: &[String],
    out: Option<PathBuf>,
    templates: Option<PathBuf>,
    no_register: bool,
) -> anyhow::Result<ExitCode> {
    use billpay_platform::register::{self, Entry};
    use billpay_platform::scaffold;
    let root = manifest_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_owned();
    let t = scaffold::load(&templates.unwrap_or_else(|| root.join("templates")), template)?;
    scaffold::check_name(name)?;
    let mut values = scaffold::parse_sets(set)?;
    anyhow::ensure!(
        !values.iter().any(|(k, _)| k == "slug"),
        "the name is given with --name, not --set slug=…"
    );
    // What the manifest already knows, unless given.
    for (key, known) in [
        ("owner", &m.project.owner),
        ("system", &m.project.name),
        ("github_repository", &m.project.github_repository),
    ] {
        if t.variables.contains_key(key) && !values.iter().any(|(k, _)| k == key) {
            values.insert(0, (key.to_owned(), known.clone()));
        }
    }
    values.insert(0, ("slug".to_owned(), name.to_owned()));
    let ctx = scaffold::context(&t, &values)?;
    let files = scaffold::render(&t, &ctx)?;
    let kind = ctx.get("_billpay_kind").and_then(|v| v.as_str()).unwrap_or("service");
    let out = out.unwrap_or_else(|| root.join(if kind == "frontend" { "frontends" } else { "services" }));
    let target = out.join(name);
    anyhow::ensure!(!target.exists(), "{} already exists", target.display());
    let registration = if no_register {
        None
    } else {
        let abs = |p: &std::path::Path| std::path::absolute(p).map(|p| p.components().collect::<PathBuf>());
        let rel = abs(&target)?
            .strip_prefix(abs(&root)?)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--out {} is outside the repository {}: a registered project must live in it (or pass --no-register)",
                    out.display(),
                    root.display()
                )
            })?;
        let entry = if kind == "frontend" {
            Entry::Frontend {
                name: name.to_owned(),
                path: rel,
            }
        } else {
            let port = ctx.get("port").and_then(|p| p.as_str()).unwrap_or("8080");
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .with_context(|| format!("port `{port}` is not a TCP port"))?;
            Entry::Service {
                name: name.to_owned(),
                path: rel,
                port,
            }
        };
        let text =
            std::fs::read_to_string(manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
        Some(register::add(manifest_path, &text, &entry, prices)?)
    };
    let written = scaffold::write(&out, &files)?;
    if let Some(text) = registration {
        let tmp = manifest_path.with_extension("toml.scaffold");
        let saved = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, manifest_path));
        if let Err(e) = saved {
            let _ = std::fs::remove_dir_all(&written);
            let _ = std::fs::remove_file(&tmp);
            anyhow::bail!(
                "writing {}: {e} (the new project was removed again)",
                manifest_path.display()
            );
        }
    }
    println!("created {} ({} files) from {}", written.display(), files.len(), t.name);
    if !no_register {
        println!("registered {name} in {}", manifest_path.display());
        println!(
            "next: billpayctl infra generate   (its ECR repository, Kubernetes objects, pipeline, catalog entry and docs)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn serve_mcp(
    http: Option<&str>,
    token: Option<String>,
    allowed_origins: Vec<String>,
    allow_write: bool,
    workspace: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    // stdout carries the protocol: logs go to stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BILLPAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let server = mcp::McpServer::new(workspace, allow_write)?;
    let rt = tokio::runtime::Runtime::new()?;
    match http {
        None => rt.block_on(mcp::serve_stdio(server))?,
        Some(addr) => {
            let addr: std::net::SocketAddr = match addr.parse::<u16>() {
                Ok(port) => std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Err(_) => addr
                    .parse()
                    .with_context(|| format!("--http `{addr}` is not an address such as 127.0.0.1:8765"))?,
            };
            let token = token
                .filter(|t| t.len() >= 16)
                .context("--http needs --token (or BILLPAY_MCP_TOKEN) of at least 16 characters")?;
            rt.block_on(mcp::serve_http(server, addr, token, allowed_origins))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
