//! Plans and applies an environment's Terragrunt units in dependency order, one unit at a time,
//! as `terragrunt run --all` orders them, so that progress can be shown unit by unit, the run
//! stops at the first unit that fails and names it with its error, and every run leaves a JSON
//! record under `.billpay/runs/`.
//!
//! `billpayctl infra plan|apply` and the MCP plan/apply tools both call [`run`].

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use billpay_platform::live::Unit;
use serde::Serialize;

/// What to do to each unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Plan,
    Apply,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::Apply => "apply",
        }
    }

    /// The OpenTofu command and its arguments, after Terragrunt's `--`.
    fn tofu_args(self) -> &'static [&'static str] {
        match self {
            Action::Plan => &["plan", "-input=false", "-no-color"],
            Action::Apply => &["apply", "-input=false", "-no-color", "-auto-approve"],
        }
    }
}

/// How a unit's step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    /// Not started, because an earlier unit failed.
    NotRun,
}

/// One unit's step in a run.
#[derive(Debug, Clone, Serialize)]
pub struct UnitRun {
    pub unit: String,
    /// The unit's folder, relative to the workspace.
    pub dir: String,
    /// The command line, as it was run.
    pub command: String,
    pub status: Status,
    pub seconds: f64,
    /// OpenTofu's one-line summary ("Plan: 3 to add, 0 to change, 0 to destroy.").
    pub summary: Option<String>,
    /// The end of the output of a failed unit: its error.
    pub error: Option<String>,
    /// The unit's whole output, relative to the workspace.
    pub log: Option<String>,
}

/// The record of one run, also written to `.billpay/runs/<id>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: String,
    pub environment: String,
    pub action: Action,
    pub started_at: u64,
    pub finished_at: u64,
    pub ok: bool,
    /// The unit that failed, if one did.
    pub failed_unit: Option<String>,
    pub units: Vec<UnitRun>,
    /// The record's own path, relative to the workspace.
    pub record: String,
}

impl Record {
    /// For a failed run: the unit, its folder, OpenTofu's error, where the full output is, the
    /// units that were not run, and the record. `None` when every unit succeeded.
    pub fn failure(&self) -> Option<String> {
        let failed = self.failed_unit.as_deref()?;
        let step = self.units.iter().find(|u| u.unit == failed);
        let mut out = format!(
            "{} failed at unit `{failed}` ({}):\n{}",
            self.action.as_str(),
            step.map(|s| s.dir.as_str()).unwrap_or_default(),
            step.and_then(|s| s.error.as_deref()).unwrap_or_default()
        );
        if let Some(log) = step.and_then(|s| s.log.as_deref()) {
            out.push_str(&format!("\nfull output: {log}"));
        }
        let not_run: Vec<&str> = self
            .units
            .iter()
            .filter(|u| u.status == Status::NotRun)
            .map(|u| u.unit.as_str())
            .collect();
        if !not_run.is_empty() {
            out.push_str(&format!("\nThe units after it were not run: {}", not_run.join(", ")));
        }
        out.push_str(&format!("\nrecord: {}", self.record));
        Some(out)
    }
}

/// What a run reports while it goes.
pub enum Event<'a> {
    /// Unit `index` (from 1) of `total` starts.
    Started { index: usize, total: usize, unit: &'a str },
    /// A line of the unit's output.
    Line { unit: &'a str, line: &'a str },
    /// Unit `index` of `total` ended.
    Finished {
        index: usize,
        total: usize,
        step: &'a UnitRun,
    },
}

/// The units in the order they apply: each after everything it depends on, otherwise in the
/// manifest's order. Only `targets` and what they need, when `targets` is not empty. The state
/// bootstrap is never included: it is applied on its own, first.
pub fn order<'u>(units: &'u [Unit], targets: &[String]) -> Result<Vec<&'u Unit>, String> {
    let live: Vec<&Unit> = units.iter().filter(|u| !u.excluded).collect();
    let by_name = |n: &str| live.iter().copied().find(|u| u.name == n);
    let deps = |u: &Unit| -> Vec<String> {
        u.dependencies
            .iter()
            .map(|d| d.path.trim_start_matches("../").to_owned())
            .collect()
    };
    // What to run: the targets and, transitively, what they depend on.
    let mut wanted: Vec<String> = if targets.is_empty() {
        live.iter().map(|u| u.name.clone()).collect()
    } else {
        targets.to_vec()
    };
    let mut i = 0;
    while i < wanted.len() {
        let u = by_name(&wanted[i]).ok_or_else(|| {
            let names: Vec<&str> = live.iter().map(|u| u.name.as_str()).collect();
            format!("no unit `{}` (the units are: {})", wanted[i], names.join(", "))
        })?;
        for d in deps(u) {
            if !wanted.contains(&d) {
                wanted.push(d);
            }
        }
        i += 1;
    }
    let mut done: Vec<&Unit> = Vec::new();
    while done.len() < wanted.len() {
        let next = live.iter().copied().find(|u| {
            wanted.contains(&u.name)
                && !done.iter().any(|d| d.name == u.name)
                && deps(u).iter().all(|d| done.iter().any(|x| &x.name == d))
        });
        match next {
            Some(u) => done.push(u),
            None => return Err("the units' dependencies form a cycle".into()),
        }
    }
    Ok(done)
}

/// Whether `tool` is an executable on `PATH`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// The command line a person would type for one unit.
pub fn command_line(action: Action, dir: &str) -> String {
    format!(
        "terragrunt run --non-interactive --working-dir {dir} -- {}",
        action.tofu_args().join(" ")
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn summary_of(line: &str) -> Option<String> {
    let l = line.trim();
    (l.starts_with("Plan: ")
        || l.starts_with("No changes.")
        || l.starts_with("Apply complete!")
        || l.starts_with("Changes to Outputs"))
    .then(|| l.to_owned())
}

/// The end of a failed unit's output, from its first `Error:` on.
fn error_of(lines: &[String]) -> String {
    let start = lines
        .iter()
        .position(|l| l.contains("Error:") || l.contains("ERROR"))
        .unwrap_or(lines.len().saturating_sub(20));
    let tail = &lines[start..];
    tail[..tail.len().min(40)].join("\n")
}

/// Runs `action` on `units` (already in order) of `env`, in the workspace, one at a time;
/// stops at the first failure. Writes the record and the units' logs under `.billpay/runs/`.
pub fn run(
    workspace: &Path,
    env: &str,
    action: Action,
    units: &[&Unit],
    on_event: &mut dyn FnMut(Event<'_>),
) -> std::io::Result<Record> {
    let started_at = now();
    let id = format!("{started_at}-{env}-{}-{:04x}", action.as_str(), rand::random::<u16>());
    let runs = workspace.join(".billpay").join("runs");
    let logs = runs.join(&id);
    std::fs::create_dir_all(&logs)?;
    let total = units.len();
    let mut steps: Vec<UnitRun> = units
        .iter()
        .map(|u| {
            let dir = format!("infra/live/{env}/{}", u.name);
            UnitRun {
                unit: u.name.clone(),
                command: command_line(action, &dir),
                dir,
                status: Status::NotRun,
                seconds: 0.0,
                summary: None,
                error: None,
                log: None,
            }
        })
        .collect();
    let mut failed_unit = None;
    for (i, step) in steps.iter_mut().enumerate() {
        on_event(Event::Started {
            index: i + 1,
            total,
            unit: &step.unit,
        });
        let began = Instant::now();
        let log_path = logs.join(format!("{}.log", step.unit));
        let mut log = std::fs::File::create(&log_path)?;
        step.log = log_path.strip_prefix(workspace).ok().map(|p| p.display().to_string());
        let spawned = Command::new("terragrunt")
            .args(["run", "--non-interactive", "--working-dir"])
            .arg(workspace.join(&step.dir))
            .arg("--")
            .args(action.tofu_args())
            .current_dir(workspace)
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                step.status = Status::Failed;
                step.error = Some(format!("terragrunt could not be started: {e}"));
                failed_unit = Some(step.unit.clone());
                on_event(Event::Finished {
                    index: i + 1,
                    total,
                    step,
                });
                break;
            }
        };
        // Both streams, line by line, in the order they come.
        let (tx, rx) = mpsc::channel::<String>();
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
        drop(tx);
        let mut lines = Vec::new();
        for line in rx {
            use std::io::Write;
            writeln!(log, "{line}")?;
            if let Some(s) = summary_of(&line) {
                step.summary = Some(s);
            }
            on_event(Event::Line {
                unit: &step.unit,
                line: &line,
            });
            lines.push(line);
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait()?;
        step.seconds = (began.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        if status.success() {
            step.status = Status::Succeeded;
        } else {
            step.status = Status::Failed;
            let code = status
                .code()
                .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
            let mut error = error_of(&lines);
            if error.is_empty() {
                error = format!("terragrunt exited with {code} and printed nothing");
            }
            step.error = Some(error);
            failed_unit = Some(step.unit.clone());
        }
        on_event(Event::Finished {
            index: i + 1,
            total,
            step,
        });
        if failed_unit.is_some() {
            break;
        }
    }
    let record_path = runs.join(format!("{id}.json"));
    let record = Record {
        id,
        environment: env.to_owned(),
        action,
        started_at,
        finished_at: now(),
        ok: failed_unit.is_none(),
        failed_unit,
        units: steps,
        record: record_path
            .strip_prefix(workspace)
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    };
    let json = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    std::fs::write(&record_path, json + "\n")?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_errors_are_found_in_tofu_output() {
        assert_eq!(
            summary_of("  Plan: 3 to add, 0 to change, 0 to destroy.").as_deref(),
            Some("Plan: 3 to add, 0 to change, 0 to destroy.")
        );
        assert_eq!(summary_of("aws_vpc.this: Creating..."), None);
        let lines: Vec<String> = ["a", "b", "Error: creating EKS Cluster", "  details"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(error_of(&lines), "Error: creating EKS Cluster\n  details");
    }
}
