//! The infrastructure checks `billpayctl infra check` and the MCP `validate_platform` tool share:
//! drift between the manifest and the rendered files, the schema and Terragrunt check of
//! `infra/`, and checkov where it is installed.

use std::path::Path;
use std::process::Command;

use billpay_platform::{Manifest, live, tfcheck};
use serde_json::{Value, json};

/// Everything the checks found.
pub struct InfraReport {
    /// Rendered files that differ from the manifest.
    pub drift: Vec<String>,
    /// How many rendered files were compared.
    pub rendered: usize,
    pub schema: tfcheck::Report,
    pub checkov: Checkov,
}

/// What checkov said, if it ran.
pub enum Checkov {
    NotInstalled,
    Ran { passed: u64, failed: Vec<String> },
    Broken(String),
}

impl InfraReport {
    pub fn problems(&self) -> usize {
        let checkov = match &self.checkov {
            Checkov::Ran { failed, .. } => failed.len(),
            Checkov::Broken(_) => 1,
            Checkov::NotInstalled => 0,
        };
        self.drift.len() + self.schema.problems.len() + checkov
    }

    pub fn to_json(&self) -> Value {
        let checkov = match &self.checkov {
            Checkov::NotInstalled => {
                json!({"ran": false, "note": "checkov is not installed (pip install checkov, or set BILLPAY_CHECKOV)"})
            }
            Checkov::Ran { passed, failed } => json!({"ran": true, "passed": passed, "failed": failed}),
            Checkov::Broken(e) => json!({"ran": false, "error": e}),
        };
        json!({
            "ok": self.problems() == 0,
            "problems": self.problems(),
            "drift": self.drift,
            "schema": self.schema,
            "checkov": checkov,
        })
    }

    /// The report as a person reads it.
    pub fn to_text(&self, manifest: &str) -> String {
        let mut out = Vec::new();
        if self.drift.is_empty() {
            out.push(format!(
                "drift: none, the {} rendered files match {manifest}",
                self.rendered
            ));
        } else {
            out.push(format!(
                "drift: the rendered files differ from {manifest} (run `billpayctl infra generate`):"
            ));
            out.extend(self.drift.iter().map(|d| format!("  {d}")));
        }
        let s = &self.schema;
        out.push(format!(
            "schema: {} modules, {} Terragrunt units, {} resource/data/provider blocks against {}: {} problems",
            s.modules,
            s.units,
            s.blocks,
            s.schemas.join(", "),
            s.problems.len()
        ));
        out.extend(s.problems.iter().map(|p| format!("  {p}")));
        match &self.checkov {
            Checkov::NotInstalled => out.push("checkov: not installed, skipped".into()),
            Checkov::Ran { passed, failed } => {
                out.push(format!("checkov: {passed} passed, {} failed", failed.len()));
                out.extend(failed.iter().map(|f| format!("  {f}")));
            }
            Checkov::Broken(e) => out.push(format!("checkov: could not run: {e}")),
        }
        if !s.unchecked.is_empty() {
            out.push("not checked offline:".into());
            out.extend(s.unchecked.iter().map(|u| format!("  {u}")));
        }
        out.push(format!("{} problems", self.problems()));
        out.join("\n")
    }
}

/// The checkov executable: `BILLPAY_CHECKOV`, else `checkov` on `PATH`.
fn checkov_bin() -> Option<String> {
    if let Ok(b) = std::env::var("BILLPAY_CHECKOV")
        && !b.is_empty()
    {
        return Some(b);
    }
    crate::terragrunt::on_path("checkov").then(|| "checkov".to_owned())
}

fn run_checkov(root: &Path) -> Checkov {
    let Some(bin) = checkov_bin() else {
        return Checkov::NotInstalled;
    };
    if !root.join("infra").is_dir() {
        return Checkov::Ran {
            passed: 0,
            failed: vec![],
        };
    }
    let out = Command::new(&bin)
        .args([
            "-d",
            "infra",
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ])
        // Terragrunt's working copies of the modules are not ours to check twice.
        .args(["--skip-path", r"\.terragrunt-cache"])
        .current_dir(root)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return Checkov::Broken(format!("{bin}: {e}")),
    };
    let report: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            return Checkov::Broken(format!(
                "its output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()
            ));
        }
    };
    let reports = report.as_array().cloned().unwrap_or_else(|| vec![report]);
    let mut passed = 0;
    let mut failed = Vec::new();
    for r in &reports {
        passed += r["summary"]["passed"].as_u64().unwrap_or(0);
        for f in r["results"]["failed_checks"].as_array().into_iter().flatten() {
            failed.push(format!(
                "{}: {}: {} {}",
                f["file_path"].as_str().unwrap_or("").trim_start_matches('/'),
                f["resource"].as_str().unwrap_or(""),
                f["check_id"].as_str().unwrap_or(""),
                f["check_name"].as_str().unwrap_or("")
            ));
        }
        let errors = r["summary"]["parsing_errors"].as_u64().unwrap_or(0);
        if errors > 0 {
            failed.push(format!("{errors} files checkov could not parse"));
        }
    }
    Checkov::Ran { passed, failed }
}

/// Runs every infrastructure check on the repository at `root`.
pub fn infra(m: &Manifest, root: &Path) -> Result<InfraReport, billpay_platform::PlatformError> {
    let files = live::render(m, &[])?;
    let drift = live::check(root, &files);
    Ok(InfraReport {
        drift,
        rendered: files.len(),
        schema: tfcheck::check(root),
        checkov: run_checkov(root),
    })
}
