//! `billpayctl infra check` finds what OpenTofu and Terragrunt would reject, offline, and
//! `billpayctl infra plan|apply` drive Terragrunt unit by unit.
//!
//! Faults of every kind the check knows are planted in a copy of the repository's tree; each must
//! come back, at its address, and nothing else. OpenTofu and Terragrunt cannot be installed where
//! these tests run, so the orchestration runs against a stand-in `terragrunt` on PATH
//! (`tests/standin/terragrunt`) that records its arguments and replays prepared output. The real
//! binaries were not run here.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{ctl, rendered_workspace, repo, text, tool};

/// Replaces `old` (which must be there) with `new` in a file.
fn plant(root: &Path, file: &str, old: &str, new: &str) {
    let path = root.join(file);
    let body = std::fs::read_to_string(&path).unwrap();
    assert!(body.contains(old), "{file} has no `{old}`");
    std::fs::write(&path, body.replacen(old, new, 1)).unwrap();
}

fn check_json(root: &Path) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["infra", "check", "--json"])
        .current_dir(root)
        .env_remove("BILLPAY_MANIFEST")
        .env_remove("BILLPAY_CHECKOV")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out, v)
}

#[test]
fn the_repository_has_no_problem_the_check_knows() {
    let out = ctl(&["infra", "check"], &repo());
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("0 problems"), "{said}");
    assert!(
        said.contains("hashicorp/aws 6.25.0 (cdktf-cdktf-provider-aws==21.22.1)"),
        "{said}"
    );
    // Modules, their examples and every unit of the three environments and their bootstraps.
    let (_, v) = check_json(&repo());
    assert_eq!(v["schema"]["modules"], 24, "{v}");
    assert_eq!(v["schema"]["units"], 41, "{v}");
    assert!(v["schema"]["blocks"].as_u64().unwrap() >= 60, "{v}");
}

#[test]
fn every_planted_fault_comes_back_at_its_address_and_nothing_else() {
    let ws = rendered_workspace();
    let root = ws.path();
    let (out, clean) = check_json(root);
    assert!(out.status.success(), "{clean}");
    assert_eq!(clean["schema"]["problems"], Value::Array(vec![]));

    // (file, the text to change, what it becomes, the kind and address the check must report)
    let faults: [(&str, &str, &str, &str, &str); 16] = [
        // A unit whose source copies only its own module folder (no `//`).
        (
            "infra/live/staging/observability/terragrunt.hcl",
            "infra/modules//observability",
            "infra/modules/observability",
            "unit_source",
            "terraform.source",
        ),
        // An argument the resource does not take.
        (
            "infra/modules/frontend/main.tf",
            "signing_protocol                  = \"sigv4\"",
            "signing_protocol = \"sigv4\"\n  signing_protocl  = \"sigv4\"",
            "unknown_argument",
            "aws_cloudfront_origin_access_control.site.signing_protocl",
        ),
        // A required argument left out.
        (
            "infra/modules/frontend/main.tf",
            "origin_access_control_origin_type = \"s3\"",
            "",
            "missing_argument",
            "aws_cloudfront_origin_access_control.site",
        ),
        // A reference to an attribute the resource does not export.
        (
            "infra/modules/frontend/main.tf",
            "aws_cloudfront_distribution.site.arn",
            "aws_cloudfront_distribution.site.arm",
            "unknown_attribute",
            "aws_cloudfront_distribution.site.arm",
        ),
        // A block written as an attribute.
        (
            "infra/modules/frontend/main.tf",
            "default_cache_behavior {",
            "default_cache_behavior = {",
            "block_written_as_attribute",
            "aws_cloudfront_distribution.site.default_cache_behavior",
        ),
        // An attribute written as a block (Helm 3 made `kubernetes` an object).
        (
            "infra/modules/eks/main.tf",
            "kubernetes = {",
            "kubernetes {",
            "attribute_written_as_block",
            "provider.helm.kubernetes",
        ),
        // A computed attribute set by hand.
        (
            "infra/modules/secrets/main.tf",
            "  target_key_id = aws_kms_key.secrets.key_id",
            "  target_key_id = aws_kms_key.secrets.key_id\n  arn           = \"arn:aws:kms:us-east-1:1:alias/x\"",
            "computed_argument",
            "aws_kms_alias.secrets.arn",
        ),
        // A resource type the provider does not have.
        (
            "infra/modules/techdocs/main.tf",
            "resource \"aws_kms_key\" \"techdocs\" {",
            "resource \"aws_s3_bukket\" \"extra\" {}\n\nresource \"aws_kms_key\" \"techdocs\" {",
            "unknown_type",
            "aws_s3_bukket.extra",
        ),
        // A variable nobody declared.
        (
            "infra/modules/frontend/main.tf",
            "comment             = var.name",
            "comment             = var.site_name",
            "undeclared_reference",
            "var.site_name",
        ),
        // An input a local module does not have.
        (
            "infra/modules/frontend/main.tf",
            "  bucket_name = var.bucket_name\n",
            "  bucket_name = var.bucket_name\n  colour      = \"blue\"\n",
            "unknown_argument",
            "module.bucket",
        ),
        // A dependency output the dependency's module does not have.
        (
            "infra/live/dev/database/terragrunt.hcl",
            "dependency.observability.outputs.alarm_topic_arn",
            "dependency.observability.outputs.alarms_topic_arn",
            "dependency_output",
            "dependency.observability.outputs.alarms_topic_arn",
        ),
        // A mock output that is no output.
        (
            "infra/live/dev/database/terragrunt.hcl",
            "    alarm_topic_arn        = \"arn:aws:sns:us-east-1:000000000000:mock\"",
            "    alarm_topic_arn        = \"arn:aws:sns:us-east-1:000000000000:mock\"\n    alarm_topic            = \"mock\"",
            "mock_output",
            "dependency.observability.mock_outputs.alarm_topic",
        ),
        // A unit input that is no variable of its module.
        (
            "infra/live/prod/ecr/terragrunt.hcl",
            "inputs = {",
            "inputs = {\n  scan_on_pushh = true",
            "unit_input",
            "inputs.scan_on_pushh",
        ),
        // A required variable no input sets.
        (
            "infra/live/prod/techdocs/terragrunt.hcl",
            "  bucket_name = \"billpay-techdocs-prod\"\n",
            "",
            "unit_input",
            "inputs",
        ),
        // A provider constraint the pinned schema is not of: the check would apply the wrong rules.
        (
            "infra/modules/secrets/versions.tf",
            "version = \"~> 6.0\"",
            "version = \"~> 7.0\"",
            "version",
            "terraform.required_providers.aws",
        ),
        // An OpenTofu older than native S3 locking.
        (
            "infra/modules/ecr/versions.tf",
            "required_version = \">= 1.10\"",
            "required_version = \">= 1.8\"",
            "version",
            "terraform.source",
        ),
    ];
    for (file, old, new, _, _) in &faults {
        plant(root, file, old, new);
    }
    let (out, v) = check_json(root);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let found: BTreeSet<(String, String, String)> = v["schema"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["file"].as_str().unwrap().to_owned(),
                p["address"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = BTreeSet::new();
    for (file, _, _, kind, address) in &faults {
        // The ECR module's OpenTofu version reaches the three environments' ECR units.
        let files: Vec<String> = if *kind == "version" && file.contains("/ecr/") {
            ["dev", "prod", "staging"]
                .iter()
                .map(|e| format!("infra/live/{e}/ecr/terragrunt.hcl"))
                .collect()
        } else {
            vec![(*file).to_owned()]
        };
        for f in files {
            let key = (kind.to_string(), f, address.to_string());
            assert!(found.contains(&key), "not caught: {key:?}\nfound: {found:#?}");
            expected.insert(key);
        }
    }
    // The missing argument is reported once, the fault that removed it; nothing else.
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(extra.is_empty(), "reported, but not planted: {extra:#?}");

    // The text report says what to do about the `//`.
    let out = ctl(&["infra", "check"], root);
    let said = text(&out);
    assert!(
        said.contains("copy the parent with `//`, e.g. `infra/modules//observability`"),
        "{said}"
    );
    assert!(said.contains("did you mean `signing_protocol`?"), "{said}");
}

#[test]
fn the_committed_schemas_are_the_pinned_bindings_read_again() {
    let jsii = tool("BILLPAY_PROVIDER_JSII");
    for (package, file) in [
        ("cdktf-cdktf-provider-aws", "hashicorp-aws.json"),
        ("cdktf-cdktf-provider-helm", "hashicorp-helm.json"),
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        let out = out_dir.path().join(file);
        let run = ctl(
            &[
                "infra",
                "import-schema",
                "--jsii",
                &format!("{jsii}/{package}.jsii"),
                "--package",
                package,
                "--out",
                out.to_str().unwrap(),
            ],
            &repo(),
        );
        assert!(run.status.success(), "{}", text(&run));
        let committed = std::fs::read_to_string(repo().join("crates/billpay-platform/schemas").join(file)).unwrap();
        assert!(
            std::fs::read_to_string(&out).unwrap() == committed,
            "crates/billpay-platform/schemas/{file} is not what {package} gives: run `billpayctl infra import-schema` again"
        );
    }
}

/// `billpayctl` with the stand-in Terragrunt and OpenTofu first on PATH.
fn with_standin(root: &Path, calls: &Path, replay: &Path, args: &[&str]) -> Output {
    let standin = repo().join("crates/billpayctl/tests/standin");
    Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(args)
        .current_dir(root)
        .env_remove("BILLPAY_MANIFEST")
        .env("PATH", format!("{}:/usr/bin:/bin", standin.display()))
        .env("STANDIN_CALLS", calls)
        .env("STANDIN_REPLAY", replay)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// The units each recorded call ran in, and the OpenTofu command.
fn calls(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let args: Vec<&str> = l.split('\t').collect();
            let dir = args[args.iter().position(|a| *a == "--working-dir").unwrap() + 1];
            let tofu = args[args.iter().position(|a| *a == "--").unwrap() + 1];
            (dir.rsplit('/').next().unwrap().to_owned(), tofu.to_owned())
        })
        .collect()
}

#[test]
fn plan_runs_every_unit_after_what_it_depends_on_and_keeps_a_record() {
    let ws = rendered_workspace();
    let root = ws.path();
    let log = root.join("calls.tsv");
    let replay = tempfile::tempdir().unwrap();
    let out = with_standin(root, &log, replay.path(), &["infra", "plan", "--env", "dev"]);
    assert!(out.status.success(), "{}", text(&out));
    let ran = calls(&log);
    let units: Vec<&str> = ran.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(units.len(), 12, "every live unit, not the bootstrap: {units:?}");
    assert!(ran.iter().all(|(_, c)| c == "plan"));
    let at = |u: &str| units.iter().position(|x| *x == u).unwrap();
    for (before, after) in [
        ("network", "eks"),
        ("github-oidc", "eks"),
        ("network", "database"),
        ("observability", "database"),
        ("observability", "billpay-frontend-a"),
        ("observability", "billpay-feature-flags"),
    ] {
        assert!(at(before) < at(after), "{before} must run before {after}: {units:?}");
    }
    // Each call is the full Terragrunt command line for its unit.
    let first = std::fs::read_to_string(&log).unwrap();
    let first = first.lines().next().unwrap();
    assert_eq!(
        first.split('\t').collect::<Vec<_>>(),
        [
            "run",
            "--non-interactive",
            "--working-dir",
            &format!("{}/infra/live/dev/network", root.canonicalize().unwrap().display()),
            "--",
            "plan",
            "-input=false",
            "-no-color"
        ]
    );
    // Without a terminal, every line comes out prefixed with its unit.
    let said = text(&out);
    assert!(
        said.contains("[eks] Plan: 2 to add, 0 to change, 0 to destroy."),
        "{said}"
    );
    assert!(
        said.contains("planned 12 units of dev; record: .billpay/runs/"),
        "{said}"
    );
    let records: Vec<_> = std::fs::read_dir(root.join(".billpay/runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(records.len(), 1);
    let record: Value = serde_json::from_str(&std::fs::read_to_string(records[0].path()).unwrap()).unwrap();
    assert_eq!(record["environment"], "dev");
    assert_eq!(record["action"], "plan");
    assert_eq!(record["ok"], true);
    assert_eq!(record["units"].as_array().unwrap().len(), 12);
    assert_eq!(record["units"][0]["status"], "succeeded");
    let log_file = root.join(record["units"][0]["log"].as_str().unwrap());
    assert!(std::fs::read_to_string(log_file).unwrap().contains("Plan: 2 to add"));

    // One unit and what it needs.
    std::fs::remove_file(&log).unwrap();
    let out = with_standin(
        root,
        &log,
        replay.path(),
        &["infra", "plan", "--env", "dev", "--unit", "billpay-frontend-b"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let units: Vec<String> = calls(&log).into_iter().map(|(u, _)| u).collect();
    assert_eq!(units, ["observability", "billpay-frontend-b"]);
    let out = with_standin(
        root,
        &log,
        replay.path(),
        &["infra", "plan", "--env", "dev", "--unit", "nope"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no unit `nope` (the units are: network"),
        "{}",
        text(&out)
    );
}

#[test]
fn apply_stops_at_the_first_failing_unit_and_names_it() {
    let ws = rendered_workspace();
    let root = ws.path();
    let log = root.join("calls.tsv");
    let replay = tempfile::tempdir().unwrap();
    // Applying needs a confirmation: without a terminal, --yes.
    let out = with_standin(root, &log, replay.path(), &["infra", "apply", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    assert!(calls(&log).is_empty(), "nothing ran");

    std::fs::write(
        replay.path().join("observability.err"),
        "Error: creating CloudWatch Logs Log Group (/billpay/dev/app): operation error CloudWatch Logs: CreateLogGroup, AccessDeniedException: not authorized\n\n  with aws_cloudwatch_log_group.app,\n",
    )
    .unwrap();
    std::fs::write(replay.path().join("observability.status"), "1").unwrap();
    let out = with_standin(root, &log, replay.path(), &["infra", "apply", "--env", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("apply failed at unit `observability` (infra/live/dev/observability):"),
        "{said}"
    );
    assert!(
        said.contains("CreateLogGroup, AccessDeniedException: not authorized"),
        "{said}"
    );
    assert!(said.contains("not run: secrets, "), "{said}");
    let ran = calls(&log);
    assert_eq!(
        ran,
        [("network", "apply"), ("observability", "apply")].map(|(u, c)| (u.to_owned(), c.to_owned())),
        "nothing after the failed unit ran"
    );
    let record = std::fs::read_dir(root.join(".billpay/runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))
        .unwrap();
    let record: Value = serde_json::from_str(&std::fs::read_to_string(record.path()).unwrap()).unwrap();
    assert_eq!(record["ok"], false);
    assert_eq!(record["failed_unit"], "observability");
    let statuses: Vec<(&str, &str)> = record["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["unit"].as_str().unwrap(), u["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses[0], ("network", "succeeded"));
    assert_eq!(statuses[1], ("observability", "failed"));
    assert!(statuses[2..].iter().all(|(_, s)| *s == "not_run"), "{statuses:?}");
    assert!(
        record["units"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("Error: creating CloudWatch Logs Log Group")
    );
}

#[test]
fn nothing_runs_on_a_tree_with_problems_or_without_terragrunt() {
    let ws = rendered_workspace();
    let root = ws.path();
    let log = root.join("calls.tsv");
    let replay = tempfile::tempdir().unwrap();
    plant(
        root,
        "infra/live/dev/techdocs/terragrunt.hcl",
        "infra/modules//techdocs",
        "infra/modules/techdocs",
    );
    let out = with_standin(root, &log, replay.path(), &["infra", "apply", "--env", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out);
    assert!(
        said.contains("changed: infra/live/dev/techdocs/terragrunt.hcl"),
        "{said}"
    );
    assert!(said.contains("Unreadable module directory"), "{said}");
    assert!(calls(&log).is_empty(), "nothing ran");
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["infra", "plan", "--env", "dev"])
        .current_dir(root)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("`terragrunt` is not on PATH"), "{}", text(&out));
}
