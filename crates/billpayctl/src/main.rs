//! `billpayctl`: BillPay's platform tool.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use billpay_platform::{Prices, cost, live, manifest};

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
    /// Exit 1 and list every rendered file that differs from what the manifest produces.
    #[command(long_about = "Check the live tree for drift.\n\n\
Renders the tree in memory and compares it with the files on disk: changed, missing and extra \
files are listed, and the exit status is 1 when there are any. Run it in CI so that a hand edit \
or a manifest change without a render never reaches `terragrunt apply`.")]
    Check {
        /// The repository root to check.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// List what an environment will create, unit by unit (module by module).
    Resources {
        #[arg(long)]
        env: String,
    },
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
            command: Infra::Check { root },
        } => {
            let files = live::render(&m, &[])?;
            let drift = live::check(&root, &files);
            if drift.is_empty() {
                println!(
                    "the rendered files match {} ({} files)",
                    cli.manifest.display(),
                    files.len()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                println!("the rendered files differ from {}:", cli.manifest.display());
                for d in &drift {
                    println!("  {d}");
                }
                println!("run `billpayctl infra generate` to render it again");
                Ok(ExitCode::from(1))
            }
        }
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
