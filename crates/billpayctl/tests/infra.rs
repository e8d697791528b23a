//! The infrastructure as a platform engineer meets it: `billpayctl` on the repository's own
//! platform.toml, the hand-written modules and the rendered tree, checked by the real tools of the
//! ecosystem: python-hcl2 parses every file, checkov scans them. OpenTofu and Terragrunt cannot be
//! installed on the machines these tests run on, so `tofu validate`/`plan` are not run here; the
//! pipelines run them where the tools exist.
//!
//! `./dev test` installs the tools and sets `BILLPAY_HCL2TOJSON` and `BILLPAY_CHECKOV`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{ctl, repo, text, tool};

/// Every file under `dir` with one of the extensions, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A copy of the repository's manifest and infra tree in a temporary folder.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("platform.toml"), dir.path().join("platform.toml")).unwrap();
    let out = ctl(&["infra", "generate", "--out", "."], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    dir
}

/// A rendered file parsed by python-hcl2 into JSON.
fn hcl(path: &Path) -> Value {
    let out = Command::new(tool("BILLPAY_HCL2TOJSON"))
        .args(["--strip-string-quotes", "--no-explicit-blocks"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", path.display(), text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_tf_and_hcl_file_parses_with_a_real_hcl_parser() {
    let all = files(&repo().join("infra"), &["tf", "hcl"]);
    assert!(all.len() > 80, "found only {} files", all.len());
    let out = Command::new(tool("BILLPAY_HCL2TOJSON"))
        .args(["--strip-string-quotes", "--no-explicit-blocks", "--ndjson"])
        .args(&all)
        .output()
        .unwrap();
    assert!(out.status.success(), "hcl2tojson: {}", text(&out));
    let parsed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .count();
    assert_eq!(parsed, all.len(), "{}", text(&out));
}

#[test]
fn checkov_finds_no_failed_check_and_every_skip_has_a_reason() {
    let out = Command::new(tool("BILLPAY_CHECKOV"))
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
        .current_dir(repo())
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let reports = report.as_array().cloned().unwrap_or_else(|| vec![report]);
    for r in &reports {
        let failed: Vec<String> = r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{} {} {}", f["check_id"], f["file_path"], f["resource"]))
            .collect();
        assert!(failed.is_empty(), "checkov failed checks:\n{}", failed.join("\n"));
        assert_eq!(r["summary"]["parsing_errors"], 0, "{}", r["summary"]);
        assert!(r["summary"]["passed"].as_u64().unwrap() > 150, "{}", r["summary"]);
        for s in r["results"]["skipped_checks"].as_array().into_iter().flatten() {
            let reason = s["check_result"]["suppress_comment"].as_str().unwrap_or("");
            assert!(
                reason.len() > 40,
                "skip of {} in {} needs a real reason: {reason:?}",
                s["check_id"],
                s["file_path"]
            );
        }
    }
}

#[test]
fn rendering_is_deterministic_and_the_committed_tree_matches() {
    let a = sandbox();
    let b = sandbox();
    let mut fa = files(&a.path().join("infra"), &["hcl"]);
    fa.extend(files(&a.path().join("deploy"), &["yaml"]));
    fa.extend(files(&a.path().join(".github"), &["yml"]));
    let mut fb = files(&b.path().join("infra"), &["hcl"]);
    fb.extend(files(&b.path().join("deploy"), &["yaml"]));
    fb.extend(files(&b.path().join(".github"), &["yml"]));
    assert_eq!(fa.len(), fb.len());
    assert!(fa.len() >= 54);
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap(), "{}", x.display());
    }
    // The tree in the repository is exactly what the manifest renders.
    let out = ctl(&["infra", "check"], &repo());
    assert!(out.status.success(), "committed infra/live drifted:\n{}", text(&out));
    // Rendering again changes nothing.
    let out = ctl(&["infra", "generate", "--out", "."], a.path());
    assert!(text(&out).contains("(0 changed)"), "{}", text(&out));
}

#[test]
fn check_catches_hand_edits_missing_and_extra_files_and_manifest_changes() {
    let dir = sandbox();
    let root = dir.path();
    let eks = root.join("infra/live/dev/eks/terragrunt.hcl");
    let edited = std::fs::read_to_string(&eks)
        .unwrap()
        .replace("desired_size       = 2", "desired_size       = 5");
    std::fs::write(&eks, edited).unwrap();
    std::fs::remove_file(root.join("infra/live/prod/ecr/terragrunt.hcl")).unwrap();
    std::fs::create_dir_all(root.join("infra/live/dev/stray")).unwrap();
    std::fs::write(root.join("infra/live/dev/stray/terragrunt.hcl"), "inputs = {}\n").unwrap();
    let deployment = root.join("deploy/k8s/base/billpay-backend-deployment.yaml");
    let edited = std::fs::read_to_string(&deployment)
        .unwrap()
        .replace("replicas: 2", "replicas: 9");
    std::fs::write(&deployment, edited).unwrap();
    let out = ctl(&["infra", "check"], root);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains("changed: infra/live/dev/eks/terragrunt.hcl"),
        "{report}"
    );
    assert!(
        report.contains("missing: infra/live/prod/ecr/terragrunt.hcl"),
        "{report}"
    );
    assert!(
        report.contains("extra: infra/live/dev/stray/terragrunt.hcl"),
        "{report}"
    );

    // A manifest change without a render is drift too.
    let dir = sandbox();
    let root = dir.path();
    let manifest = std::fs::read_to_string(root.join("platform.toml")).unwrap();
    std::fs::write(
        root.join("platform.toml"),
        manifest.replace(
            "instance_type = \"t3.medium\", min = 1",
            "instance_type = \"t3.large\", min = 1",
        ),
    )
    .unwrap();
    let out = ctl(&["infra", "check"], root);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("changed: infra/live/dev/eks/terragrunt.hcl"),
        "{}",
        text(&out)
    );
}

#[test]
fn dev_has_everything_the_plan_names() {
    let dir = sandbox();
    let live = dir.path().join("infra/live");
    let inputs = |unit: &str| hcl(&live.join("dev").join(unit).join("terragrunt.hcl"))["inputs"].clone();
    let env = hcl(&live.join("dev/env.hcl"));
    assert_eq!(env["locals"][0]["region"], "us-east-1");
    assert_eq!(inputs("network")["vpc_cidr"], "10.0.0.0/16");
    assert_eq!(inputs("network")["single_nat_gateway"], true);
    let eks = inputs("eks");
    assert_eq!(eks["cluster_name"], "billpay-cluster");
    assert_eq!(eks["instance_types"], serde_json::json!(["t3.medium"]));
    assert_eq!(
        inputs("ecr")["repositories"],
        serde_json::json!([
            "billpay-backend",
            "billpay-frontend-a",
            "billpay-frontend-b",
            "billpay-feature-flags"
        ])
    );
    for front in ["billpay-frontend-a", "billpay-frontend-b", "billpay-feature-flags"] {
        let i = inputs(front);
        assert_eq!(i["bucket_name"], front);
        let unit = hcl(&live.join("dev").join(front).join("terragrunt.hcl"));
        assert!(
            unit["terraform"][0]["source"]
                .as_str()
                .unwrap()
                .ends_with("/infra/modules//frontend"),
            "the frontend module calls ../bucket: Terragrunt must copy all of infra/modules"
        );
    }
    assert_eq!(inputs("techdocs")["bucket_name"], "billpay-techdocs");
    for unit in [
        "network",
        "eks",
        "ecr",
        "secrets",
        "database",
        "observability",
        "github-oidc",
        "techdocs",
    ] {
        assert!(live.join("dev").join(unit).join("terragrunt.hcl").is_file(), "{unit}");
    }
    assert!(dir.path().join("infra/bootstrap/dev/terragrunt.hcl").is_file());
    // The modules the units point at create what the plan asks for.
    let modules = repo().join("infra/modules");
    for (module, needles) in [
        (
            "network",
            &[
                "terraform-aws-modules/vpc/aws",
                "single_nat_gateway",
                "kubernetes.io/role/elb",
                "enable_flow_log",
            ][..],
        ),
        (
            "eks",
            &[
                "terraform-aws-modules/eks/aws",
                "eks_managed_node_groups",
                "access_entries",
                "aws-load-balancer-controller",
                "terraform-aws-modules/eks-pod-identity/aws",
            ],
        ),
        (
            "ecr",
            &[
                "scan_on_push",
                "IMMUTABLE",
                "aws_ecr_lifecycle_policy",
                "aws_ecr_repository_policy",
            ],
        ),
        (
            "frontend",
            &[
                "aws_cloudfront_distribution",
                "aws_cloudfront_origin_access_control",
                "aws_cloudfront_response_headers_policy",
                "aws_acm_certificate",
                "custom_error_response",
                "logging_config",
            ],
        ),
        ("secrets", &["aws_secretsmanager_secret", "aws_kms_key"]),
        (
            "identity",
            &[
                "aws_sesv2_email_identity",
                "dkim_signing_attributes",
                "ses:FromAddress",
                "aws_cognito_user_pool_client",
                "allow_admin_create_user_only",
                "mfa_configuration        = \"ON\"",
            ],
        ),
        (
            "database",
            &[
                "aws_db_instance",
                "manage_master_user_password",
                "storage_encrypted",
                "multi_az",
                "backup_retention_period",
            ],
        ),
        (
            "observability",
            &[
                "aws_cloudwatch_log_group",
                "aws_sns_topic",
                "TargetResponseTime",
                "node_cpu_utilization",
                "node_memory_utilization",
                "EstimatedCharges",
                "aws_cloudwatch_dashboard",
            ],
        ),
        ("state", &["aws_kms_key", "../bucket"]),
        (
            "github-oidc",
            &["aws_iam_openid_connect_provider", "token.actions.githubusercontent.com"],
        ),
    ] {
        let dir = modules.join(module);
        for f in [
            "main.tf",
            "variables.tf",
            "outputs.tf",
            "versions.tf",
            "README.md",
            "examples/basic/main.tf",
        ] {
            assert!(dir.join(f).is_file(), "{module}/{f}");
        }
        let main = std::fs::read_to_string(dir.join("main.tf")).unwrap();
        for n in needles {
            assert!(main.contains(n), "{module} lacks {n}");
        }
        // The README documents every input and output.
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        for (file, kind) in [("variables.tf", "variable"), ("outputs.tf", "output")] {
            let parsed = hcl(&dir.join(file));
            for block in parsed[kind].as_array().into_iter().flatten() {
                for name in block.as_object().unwrap().keys() {
                    assert!(
                        readme.contains(&format!("| `{name}` |")),
                        "{module}/README.md lacks {kind} {name}"
                    );
                }
            }
        }
    }
    // What `infra resources` lists for dev.
    let out = ctl(&["infra", "resources", "--env", "dev"], &repo());
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&out);
    for n in [
        "EKS cluster `billpay-cluster`",
        "t3.medium",
        "aws_ecr_repository `billpay-frontend-b`",
        "aws_s3_bucket `billpay-techdocs`",
        "aws_cloudfront_distribution",
        "estimated charges",
    ] {
        assert!(listing.contains(n), "resources lacks {n}:\n{listing}");
    }
}

#[test]
fn environments_with_a_domain_get_ses_and_the_staff_user_pool() {
    let dir = sandbox();
    let live = dir.path().join("infra/live");
    let prod = hcl(&live.join("prod/identity/terragrunt.hcl"))["inputs"].clone();
    assert_eq!(prod["mail_domain"], "billpay.example.com");
    assert_eq!(
        prod["callback_url"],
        "https://api.billpay.example.com/v1/auth/oidc/callback"
    );
    assert_eq!(prod["deletion_protection"], true);
    assert_eq!(prod["oidc_secret_name"], "billpay/billpay-backend/oidc");
    let staging = hcl(&live.join("staging/identity/terragrunt.hcl"))["inputs"].clone();
    assert_eq!(staging["name"], "billpay-staging");
    assert_eq!(staging["deletion_protection"], false);
    // dev has no domain: no sender address and no public callback, so no identity unit.
    assert!(!live.join("dev/identity").exists());
    // The pods get the SMTP URL and the OIDC client (which the unit writes) from Secrets
    // Manager, never from the repository; the callback and passkey origin are the domain's.
    let base = std::fs::read_to_string(repo().join("deploy/k8s/base/billpay-backend.yaml")).unwrap();
    for key in [
        "key: billpay/billpay-backend/smtp-url",
        "secretKey: BILLPAY_OIDC_CLIENT_SECRET\n      remoteRef:\n        key: billpay/billpay-backend/oidc\n        property: client_secret",
        "secretKey: BILLPAY_OIDC_ISSUER",
    ] {
        assert!(base.contains(key), "{key}");
    }
    let overlay = std::fs::read_to_string(repo().join("deploy/k8s/overlays/prod/kustomization.yaml")).unwrap();
    assert!(overlay.contains("value: https://api.billpay.example.com/v1/auth/oidc/callback"));
    assert!(overlay.contains("path: /data/BILLPAY_PASSKEY_ORIGINS\n        value: https://billpay.example.com"));
    let dev = std::fs::read_to_string(repo().join("deploy/k8s/overlays/dev/kustomization.yaml")).unwrap();
    assert!(!dev.contains("BILLPAY_OIDC_REDIRECT_URL"), "dev has no domain");
    // Browsers may call the API from the environment's three apps only, and each app's CSP lets
    // it connect to that API only.
    assert!(overlay.contains(
        "path: /data/BILLPAY_CORS_ORIGINS\n        value: https://a.billpay.example.com,https://b.billpay.example.com,https://flags.billpay.example.com"
    ));
    for app in ["billpay-frontend-a", "billpay-frontend-b", "billpay-feature-flags"] {
        let unit = hcl(&live.join("prod").join(app).join("terragrunt.hcl"))["inputs"].clone();
        assert_eq!(unit["api_origin"], "https://api.billpay.example.com", "{app}");
        let dev = hcl(&live.join("dev").join(app).join("terragrunt.hcl"))["inputs"].clone();
        assert_eq!(dev["api_origin"], "", "{app}: dev has no domain");
    }
    let frontend = std::fs::read_to_string(repo().join("infra/modules/frontend/main.tf")).unwrap();
    assert!(frontend.contains("connect-src ${local.connect_src}"));
}

#[test]
fn the_dev_estimate_fits_the_plan_and_shows_its_line_items() {
    let out = ctl(&["cost", "--env", "dev", "--format", "json"], &repo());
    assert!(out.status.success(), "{}", text(&out));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = e["total_monthly_usd"].as_f64().unwrap();
    assert!((170.0..=265.0).contains(&total), "dev costs {total} a month");
    let items: Vec<&str> = e["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    for needle in [
        "EKS control plane",
        "EKS nodes",
        "NAT gateway hours",
        "NAT data",
        "Public IPv4",
        "Application Load Balancer",
        "RDS",
        "CloudFront",
        "S3",
        "Secrets Manager",
        "CloudWatch",
        "ECR",
        "KMS",
    ] {
        assert!(items.iter().any(|i| i.contains(needle)), "no {needle} in {items:?}");
    }
    let cents: u64 = e["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["monthly_usd_cents"].as_u64().unwrap())
        .sum();
    assert_eq!(cents, e["total_monthly_usd_cents"].as_u64().unwrap());
    assert_eq!(e["prices_as_of"], "2026-11-01");
    assert!(
        e["assumptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("$170–265"))
    );
    assert!(e["warnings"].as_array().unwrap().len() >= 5);
    // Prod costs more than dev; the table and markdown show the same total.
    let prod: Value =
        serde_json::from_slice(&ctl(&["cost", "--env", "prod", "--format", "json"], &repo()).stdout).unwrap();
    assert!(prod["total_monthly_usd"].as_f64().unwrap() > total);
    let table = text(&ctl(&["cost", "--env", "dev"], &repo()));
    let shown = billpay_platform::cost::dollars(e["total_monthly_usd_cents"].as_u64().unwrap());
    assert!(table.contains("TOTAL") && table.contains(&shown), "{table}");
    assert!(
        table.contains("EKS control plane") && table.contains("Charges people forget"),
        "{table}"
    );
    let md = text(&ctl(&["cost", "--env", "dev", "--format", "markdown"], &repo()));
    assert!(md.contains(&format!("| **Total** | **{shown}** |")), "{md}");
    let out = ctl(&["cost", "--env", "qa"], &repo());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no environment `qa`"), "{}", text(&out));
}

#[test]
fn bad_manifests_get_file_line_and_problem_and_nothing_is_written() {
    let good = std::fs::read_to_string(repo().join("platform.toml")).unwrap();
    let cases: [(&str, String, &str); 11] = [
        (
            "unknown key",
            good.replace(
                "azs = 2\nnat = \"single\"",
                "azs = 2\nnat = \"single\"\nnat_gatways = 3",
            ),
            "unknown field `nat_gatways`",
        ),
        (
            "invalid CIDR",
            good.replace("10.0.0.0/16", "10.0.0.300/16"),
            "`10.0.0.300` is not an IPv4 address",
        ),
        (
            "host bits",
            good.replace("10.0.0.0/16", "10.0.1.0/16"),
            "has host bits set",
        ),
        (
            "overlapping CIDR",
            good.replace("10.1.0.0/16", "10.0.128.0/17"),
            "overlaps",
        ),
        (
            "duplicate name",
            good.replace("name = \"billpay-frontend-b\"", "name = \"billpay-frontend-a\""),
            "duplicate frontend name `billpay-frontend-a`",
        ),
        (
            "unknown instance type",
            good.replace("\"t3.large\"", "\"t3.humongous\""),
            "`t3.humongous` is not in the price table",
        ),
        (
            "no region",
            good.replacen("region = \"us-east-1\"\n", "", 1),
            "environment `dev` has no region",
        ),
        (
            "API origin beside a domain",
            good.replace(
                "domain = \"billpay.example.com\"",
                "domain = \"billpay.example.com\"\napi_origin = \"https://api.example.net\"",
            ),
            "environment `prod` has a domain",
        ),
        (
            "API origin with a path",
            good.replace(
                "monthly_budget_usd = 265",
                "monthly_budget_usd = 265\napi_origin = \"https://api.dev.example.net/v1\"",
            ),
            "api_origin \"https://api.dev.example.net/v1\" must be https://host[:port]",
        ),
        (
            "app origin of no frontend",
            good.replace(
                "monthly_budget_usd = 265",
                "monthly_budget_usd = 265\napp_origins = { billpay-frontend-c = \"https://d1.cloudfront.net\" }",
            ),
            "app_origins names `billpay-frontend-c`, which is not a frontend",
        ),
        (
            "app origins beside a domain",
            good.replace(
                "domain = \"billpay.example.com\"",
                "domain = \"billpay.example.com\"\napp_origins = { billpay-frontend-a = \"https://d1.cloudfront.net\" }",
            ),
            "environment `prod` has a domain, so each app is at",
        ),
    ];
    for (what, manifest, message) in cases {
        assert_ne!(manifest, good, "{what}: the case did not change the manifest");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("platform.toml"), &manifest).unwrap();
        let out = ctl(&["infra", "generate", "--out", "."], dir.path());
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out));
        let err = text(&out);
        assert!(err.contains(message), "{what}: {err}");
        // `platform.toml:<line>:` with the line of the offending text.
        let line = err
            .split("platform.toml:")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{what}: no file:line in {err}"));
        assert!(line > 1 && line <= manifest.lines().count(), "{what}: line {line}");
        assert!(!dir.path().join("infra").exists(), "{what}: something was written");
    }
}

#[test]
fn help_speaks_to_a_newcomer() {
    for args in [
        &["--help"][..],
        &["infra", "--help"],
        &["infra", "generate", "--help"],
        &["infra", "check", "--help"],
        &["infra", "resources", "--help"],
        &["cost", "--help"],
    ] {
        let out = ctl(args, &repo());
        assert!(out.status.success(), "{args:?}");
        let help = text(&out);
        assert!(help.len() > 200, "{args:?}: {help}");
    }
    let top = text(&ctl(&["--help"], &repo()));
    assert!(top.contains("platform.toml") && top.contains("terragrunt"), "{top}");
}

fn checkov(dir: &Path, framework: &str) -> Value {
    let out = Command::new(tool("BILLPAY_CHECKOV"))
        .args([
            "--framework",
            framework,
            "--skip-download",
            "--compact",
            "-o",
            "json",
            "-d",
        ])
        .arg(dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn assert_clean(report: &Value, what: &str) {
    let reports = report.as_array().cloned().unwrap_or_else(|| vec![report.clone()]);
    assert!(!reports.is_empty(), "{what}: checkov scanned nothing");
    for r in &reports {
        let failed: Vec<String> = r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{} {}", f["check_id"], f["resource"]))
            .collect();
        assert!(
            failed.is_empty(),
            "{what}: checkov failed checks:\n{}",
            failed.join("\n")
        );
        assert!(
            r["summary"]["passed"].as_u64().unwrap_or(0) > 20,
            "{what}: {}",
            r["summary"]
        );
        for s in r["results"]["skipped_checks"].as_array().into_iter().flatten() {
            let reason = s["check_result"]["suppress_comment"].as_str().unwrap_or("");
            assert!(
                reason.len() > 40,
                "{what}: skip of {} needs a real reason: {reason:?}",
                s["check_id"]
            );
        }
    }
}

#[test]
fn kubernetes_overlays_build_validate_strictly_and_pass_checkov() {
    let kubectl = std::env::var("BILLPAY_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    // checkov skips folders whose names start with a dot, as tempfile's do by default.
    let scan = tempfile::Builder::new().prefix("k8s-scan").tempdir().unwrap();
    for env in ["dev", "staging", "prod"] {
        let out = Command::new(&kubectl)
            .args(["kustomize", &format!("deploy/k8s/overlays/{env}")])
            .current_dir(repo())
            .output()
            .unwrap_or_else(|e| panic!("{kubectl}: {e} (./dev test installs kubectl)"));
        assert!(out.status.success(), "kustomize {env}: {}", text(&out));
        let yaml = String::from_utf8(out.stdout).unwrap();
        for kind in [
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ServiceAccount",
            "NetworkPolicy",
            "ConfigMap",
            "Ingress",
            "ExternalSecret",
            "Namespace",
        ] {
            assert!(yaml.contains(&format!("kind: {kind}\n")), "{env} lacks {kind}");
        }
        assert!(yaml.contains("backstage.io/kubernetes-id: billpay-backend"));
        assert!(yaml.contains(&format!("app.kubernetes.io/instance: billpay-{env}")));
        assert!(yaml.contains("readOnlyRootFilesystem: true") && yaml.contains("topology.kubernetes.io/zone"));
        assert!(
            yaml.contains(".dkr.ecr.us-east-1.amazonaws.com/billpay-backend:undeployed"),
            "{env}"
        );
        // HTTPS (and its redirect) only where the environment has a domain for the certificate.
        if env == "dev" {
            assert!(
                !yaml.contains("HTTPS") && !yaml.contains("tls:"),
                "dev has no domain: {env}"
            );
        } else {
            assert!(
                yaml.contains(r#"{"HTTPS": 443}"#) && yaml.contains("tls:") && yaml.contains("ssl-redirect"),
                "{env}"
            );
        }
        let file = scan.path().join(format!("{env}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        let out = Command::new(tool("BILLPAY_KUBERNETES_VALIDATE"))
            .args(["--strict", "-k", "1.33"])
            .arg(&file)
            .output()
            .unwrap();
        let report = text(&out);
        assert!(out.status.success(), "kubernetes-validate {env}: {report}");
        assert!(!report.contains("ERROR"), "{env}: {report}");
        assert!(report.matches("passed for resource").count() >= 9, "{env}: {report}");
    }
    assert_clean(&checkov(scan.path(), "kubernetes"), "kubernetes manifests");
    assert_clean(&checkov(&repo().join("deploy/docker"), "dockerfile"), "Dockerfiles");
}

#[test]
fn rendered_workflows_pass_actionlint_and_checkov() {
    let dir = repo().join(".github/workflows");
    let workflows = files(&dir, &["yml"]);
    let names: Vec<String> = workflows
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "backend-ci.yml",
            "backend-deploy.yml",
            "docs.yml",
            "frontends.yml",
            "infrastructure.yml",
            "web-billpay-biller-portal.yml"
        ]
    );
    // actionlint runs shellcheck on every `run:` script when shellcheck is on PATH (./dev test installs it).
    assert!(
        Command::new("shellcheck").arg("--version").output().is_ok(),
        "shellcheck is not installed"
    );
    let out = Command::new(tool("BILLPAY_ACTIONLINT"))
        .arg("-no-color")
        .args(&workflows)
        .output()
        .unwrap();
    assert!(out.status.success(), "actionlint findings:\n{}", text(&out));
    assert_eq!(text(&out).trim(), "", "actionlint findings");
    for w in &workflows {
        let body = std::fs::read_to_string(w).unwrap();
        // Every third-party action is pinned by a full commit SHA.
        for line in body.lines().filter(|l| l.contains("uses: ")) {
            let reference = line
                .split('@')
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .next()
                .unwrap_or("");
            assert!(
                reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: {line}",
                w.display()
            );
        }
        assert!(
            body.contains("\npermissions:\n  contents: read\n"),
            "{}: least privilege by default",
            w.display()
        );
        assert!(
            body.contains("\nconcurrency:\n"),
            "{}: no concurrency group",
            w.display()
        );
    }
    let deploy = std::fs::read_to_string(dir.join("backend-deploy.yml")).unwrap();
    for needle in [
        "id-token: write",
        "environment: staging",
        "environment: prod",
        "needs: dev",
        "billpayctl deploy backend --env prod",
        "/readyz",
        "${{ github.sha }}",
    ] {
        assert!(deploy.contains(needle), "backend-deploy lacks {needle}");
    }
    let infra = std::fs::read_to_string(dir.join("infrastructure.yml")).unwrap();
    for needle in [
        "tofu fmt -check",
        "tofu validate",
        "checkov",
        "terragrunt run --all --non-interactive plan",
        "gh pr comment",
        "environment: infrastructure-prod",
        "infra check",
    ] {
        assert!(infra.contains(needle), "infrastructure lacks {needle}");
    }
    assert_clean(&checkov(&repo().join(".github"), "github_actions"), "workflows");
}

#[test]
fn deploy_backend_renders_the_overlay_with_the_image_and_reports_an_unreachable_cluster() {
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args([
            "deploy",
            "backend",
            "--env",
            "staging",
            "--image",
            "3f2a9c1",
            "--dry-run",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    // The init container (migrations) and the server both run the deployed image.
    assert_eq!(
        yaml.matches("image: 222222222222.dkr.ecr.us-east-1.amazonaws.com/billpay-backend:3f2a9c1")
            .count(),
        2,
        "{yaml}"
    );
    assert!(!yaml.contains(":undeployed"));
    assert!(text(&out).contains("nothing applied"));
    // Nothing left behind next to the overlays.
    let leftovers: Vec<_> = std::fs::read_dir(repo().join("deploy/k8s/overlays"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Without a cluster, a clear error and a non-zero exit; a bad tag is refused before anything.
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["deploy", "backend", "--env", "dev", "--image", "3f2a9c1"])
        .current_dir(repo())
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot reach the cluster in KUBECONFIG"),
        "{}",
        text(&out)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["deploy", "backend", "--env", "dev", "--image", "bad tag"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--image must be an image tag"), "{}", text(&out));
}

#[test]
fn the_techdocs_site_builds_strictly() {
    let site = tempfile::tempdir().unwrap();
    let out = Command::new(tool("BILLPAY_MKDOCS"))
        .args(["build", "--strict", "-d"])
        .arg(site.path())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "mkdocs build --strict: {}", text(&out));
    for page in ["index.html", "flags/index.html", "infrastructure/index.html"] {
        let p = if page == "index.html" {
            site.path().join("api/index.html")
        } else {
            site.path().join(page)
        };
        assert!(p.is_file(), "{} missing", p.display());
    }
}

fn backstage(files: &[PathBuf]) -> Output {
    Command::new("node")
        .arg(repo().join("crates/billpayctl/tests/backstage/validate.cjs"))
        .args(files)
        .env("NODE_PATH", tool("BILLPAY_BACKSTAGE_MODULES"))
        .output()
        .unwrap()
}

#[test]
fn backstage_accepts_the_catalog_and_refuses_the_broken_fixtures() {
    let out = backstage(&[repo().join("catalog-info.yaml")]);
    assert!(
        out.status.success(),
        "@backstage/catalog-model refused the catalog:\n{}",
        text(&out)
    );
    let summary: Value = serde_json::from_str(text(&out).lines().last().unwrap()).unwrap();
    // Group, Domain, System, 1 service, 3 frontends, the API, cluster, database, 5 buckets, the
    // Location, and what it points at: the biller portal's entry and the 2 software templates.
    assert_eq!(summary["entities"], 19, "{}", text(&out));
    let catalog = std::fs::read_to_string(repo().join("catalog-info.yaml")).unwrap();
    for needle in [
        "kind: Domain",
        "name: payments",
        "kind: System",
        "kind: API",
        "$text: ./openapi.json",
        "backstage.io/techdocs-ref",
        "backstage.io/kubernetes-id: billpay-backend",
        "github.com/project-slug: billpay/billpay",
        "type: kubernetes-cluster",
        "name: billpay-techdocs",
    ] {
        assert!(catalog.contains(needle), "catalog lacks {needle}");
    }
    let out = backstage(&[repo().join("crates/billpayctl/tests/backstage/broken.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out);
    for needle in [
        "no-owner: /spec must have required property 'owner'",
        "\"metadata.name\" is not valid",
        "no-definition: /spec must have required property 'definition'",
        "reference no-such-system does not resolve",
    ] {
        assert!(report.contains(needle), "{needle} not reported:\n{report}");
    }
}
