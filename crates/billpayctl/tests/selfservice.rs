//! Developer self-service as a developer meets it: `billpayctl scaffold` against the real
//! `cookiecutter`, a scaffolded service built and tested in a copy of the repository and given
//! its whole platform by `infra generate`, and `billpayctl catalog validate` against Backstage's
//! own validators.
//!
//! `./dev test` installs the tools and sets `BILLPAY_COOKIECUTTER`, `BILLPAY_BACKSTAGE_MODULES`,
//! `BILLPAY_MKDOCS`, `BILLPAY_ACTIONLINT`, `BILLPAY_KUBERNETES_VALIDATE`, `BILLPAY_CHECKOV` and
//! `BILLPAY_KUBECTL`.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{ctl, repo, text, tool};

/// Every file under `dir`: relative path → (bytes, mode).
fn tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
                out.insert(rel, (std::fs::read(&p).unwrap(), mode));
            }
        }
    }
    out
}

fn cookiecutter(template: &str, out: &Path, values: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(tool("BILLPAY_COOKIECUTTER"))
        .args(["--no-input", "-o"])
        .arg(out)
        .arg(repo().join("templates").join(template))
        .args(values.iter().map(|(k, v)| format!("{k}={v}")))
        // Cookiecutter keeps a replay of every run in the home folder.
        .env("HOME", home.path())
        .output()
        .unwrap()
}

#[test]
fn scaffold_renders_byte_for_byte_what_cookiecutter_renders() {
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "rust-microservice",
            "payments-notifier",
            &[("description", "Tells customers about their payments.")],
        ),
        (
            "rust-microservice",
            // Digits inside words: Jinja2's `title` and Python's `str.title` disagree there.
            "ledger2go-sync9x",
            &[
                // A colon and an apostrophe: the YAML files must still read back as written.
                ("description", "Syncs the ledger: it's {braces} & ampersands."),
                ("lifecycle", "production"),
                ("port", "9090"),
                ("owner", "ledger-team"),
            ],
        ),
        (
            "static-frontend",
            "bill-reminders",
            &[("description", "Reminds customers of due bills.")],
        ),
        (
            "static-frontend",
            "tax-portal",
            &[
                ("description", "Pays property tax."),
                ("api_base_url", "https://api.example.com/"),
                ("lifecycle", "production"),
            ],
        ),
    ];
    let templates = std::fs::read_dir(repo().join("templates")).unwrap().count();
    assert_eq!(templates, 2, "every template has a parity case");
    for (template, name, values) in cases {
        let ours = tempfile::tempdir().unwrap();
        let theirs = tempfile::tempdir().unwrap();
        let mut args = vec!["scaffold", template, "--name", name, "--no-register", "--out"];
        let out_dir = ours.path().to_str().unwrap().to_owned();
        args.push(&out_dir);
        let sets: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        let out = ctl(&args, &repo());
        assert!(out.status.success(), "{template} {name}: {}", text(&out));

        // billpayctl fills owner, system and github_repository from platform.toml; cookiecutter
        // is given the same.
        let mut cc: Vec<(&str, &str)> = vec![
            ("slug", name),
            ("system", "billpay"),
            ("github_repository", "billpay/billpay"),
        ];
        if !values.iter().any(|(k, _)| *k == "owner") {
            cc.push(("owner", "payments-team"));
        }
        cc.extend(values.iter().copied());
        let out = cookiecutter(template, theirs.path(), &cc);
        assert!(out.status.success(), "cookiecutter {template}: {}", text(&out));

        let (a, b) = (tree(ours.path()), tree(theirs.path()));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{template} {name}: the same files"
        );
        for (path, (bytes, mode)) in &a {
            let (theirs_bytes, theirs_mode) = &b[path];
            assert!(
                bytes == theirs_bytes,
                "{template} {name}: {path} differs\n--- billpayctl\n{}\n--- cookiecutter\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(theirs_bytes)
            );
            assert_eq!(mode, theirs_mode, "{template} {name}: {path} mode");
        }
        // What was rendered and what was copied as it is.
        let root = format!("{name}/");
        let workflow = &a[&format!("{root}.github/workflows/ci.yml")].0;
        assert!(
            String::from_utf8_lossy(workflow).contains("${{ github.ref }}"),
            "copied without rendering"
        );
        let catalog = String::from_utf8_lossy(&a[&format!("{root}catalog-info.yaml")].0).into_owned();
        assert!(catalog.contains(&format!("name: {name}")), "{catalog}");
        assert!(!catalog.contains("{{"), "{catalog}");
        // The description reads back exactly as given, whatever punctuation it holds.
        let description = values.iter().find(|(k, _)| *k == "description").unwrap().1;
        let entity: Value = yaml_serde::from_str(&catalog).unwrap();
        assert_eq!(entity["metadata"]["description"], description, "{catalog}");
        let mkdocs = String::from_utf8_lossy(&a[&format!("{root}mkdocs.yml")].0).into_owned();
        let site: Value = yaml_serde::from_str(&mkdocs).unwrap();
        assert_eq!(site["site_description"], description, "{mkdocs}");
    }
}

/// A copy of the repository's tracked files (no build output), for commands that write.
fn repo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed));
    for rel in listed.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let from = repo().join(rel);
        if !from.is_file() {
            continue;
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    dir
}

#[test]
fn scaffold_refuses_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("platform.toml"), dir.path().join("platform.toml")).unwrap();
    let manifest = std::fs::read(dir.path().join("platform.toml")).unwrap();
    let templates = repo().join("templates");
    let t = templates.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "rust-microservice",
                "--name",
                "billpay-backend",
                "--set",
                "description=x",
            ],
            "a service named `billpay-backend`",
        ),
        (
            &[
                "static-frontend",
                "--name",
                "billpay-frontend-a",
                "--set",
                "description=x",
            ],
            "a web app named `billpay-frontend-a`",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "Payments_Notifier",
                "--set",
                "description=x",
            ],
            "`Payments_Notifier` is not a valid name",
        ),
        (
            &["rust-microservice", "--name=-x", "--set", "description=x"],
            "`-x` is not a valid name",
        ),
        (
            &["go-microservice", "--name", "payments-notifier"],
            "no template `go-microservice` (known: rust-microservice, static-frontend)",
        ),
        (
            &["rust-microservice", "--name", "payments-notifier"],
            "the template needs a value for `description`: pass --set description=",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description=x",
                "--set",
                "colour=blue",
            ],
            "the template has no value `colour`",
        ),
        (
            &[
                "static-frontend",
                "--name",
                "tax-portal",
                "--set",
                "description=Pays \"property\" tax",
            ],
            "the value of `description` holds a double quote",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description=x",
                "--set",
                "lifecycle=forever",
            ],
            "`forever` is not a choice for `lifecycle` (choose one of: experimental, production)",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description",
            ],
            "--set takes key=value, not `description`",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description=x",
                "--set",
                "port=99999",
            ],
            "port `99999` is not a TCP port",
        ),
        (
            &[
                "rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description=x",
                "--out",
                "/tmp",
            ],
            "is outside the repository",
        ),
        (
            &[
                "../templates/rust-microservice",
                "--name",
                "payments-notifier",
                "--set",
                "description=x",
            ],
            "no template `../templates/rust-microservice`",
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["scaffold", "--templates", t];
        full.extend_from_slice(args);
        let out = ctl(&full, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains(expected),
            "{args:?}: expected `{expected}` in:\n{}",
            text(&out)
        );
        let entries: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries,
            vec![std::ffi::OsString::from("platform.toml")],
            "{args:?}: nothing is written"
        );
        assert_eq!(
            std::fs::read(dir.path().join("platform.toml")).unwrap(),
            manifest,
            "{args:?}"
        );
    }
    // A directory in the way is refused too, and left as it was.
    std::fs::create_dir_all(dir.path().join("services/payments-notifier")).unwrap();
    std::fs::write(dir.path().join("services/payments-notifier/keep.txt"), "mine").unwrap();
    let out = ctl(
        &[
            "scaffold",
            "--templates",
            t,
            "rust-microservice",
            "--name",
            "payments-notifier",
            "--set",
            "description=x",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("services/payments-notifier already exists"),
        "{}",
        text(&out)
    );
    assert_eq!(tree(&dir.path().join("services")).len(), 1);
    assert_eq!(std::fs::read(dir.path().join("platform.toml")).unwrap(), manifest);
}

fn validate_with_backstage(files: &[PathBuf]) -> Value {
    let out = Command::new("node")
        .arg(repo().join("crates/billpayctl/tests/backstage/validate.cjs"))
        .args(files)
        .env("NODE_PATH", tool("BILLPAY_BACKSTAGE_MODULES"))
        .output()
        .unwrap();
    serde_json::from_str(text(&out).lines().last().unwrap()).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn validate_with_billpayctl(files: &[PathBuf], cwd: &Path) -> (Option<i32>, Value) {
    let mut args = vec!["catalog".to_owned(), "validate".to_owned(), "--json".to_owned()];
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ctl(&args, cwd);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out))),
    )
}

#[test]
fn catalog_validate_agrees_with_backstage_on_our_files_and_the_broken_ones() {
    let root = repo().join("catalog-info.yaml");
    let ours = validate_with_backstage(std::slice::from_ref(&root));
    let (code, mine) = validate_with_billpayctl(std::slice::from_ref(&root), &repo());
    assert_eq!(ours["problems"], 0, "{ours}");
    assert_eq!(code, Some(0), "{mine}");
    assert_eq!(
        mine["entities"], ours["entities"],
        "both read the same entities: {mine}"
    );
    // The software templates come in through the root catalog's Location.
    let files: Vec<&str> = mine["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("backstage/templates/rust-microservice/template.yaml")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("backstage/templates/static-frontend/template.yaml")),
        "{files:?}"
    );

    let broken = repo().join("crates/billpayctl/tests/backstage/broken.yaml");
    let theirs = validate_with_backstage(std::slice::from_ref(&broken));
    let (code, mine) = validate_with_billpayctl(std::slice::from_ref(&broken), &repo());
    assert_eq!(code, Some(1));
    assert_eq!(
        mine["failing"], theirs["failing"],
        "the same entities fail\nbillpayctl: {mine}\nbackstage: {theirs}"
    );
    assert_eq!(mine["problems"].as_array().unwrap().len(), theirs["problems"], "{mine}");
    let failing: BTreeSet<&str> = mine["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(failing.len() >= 14, "every fixture breaks a rule: {failing:?}");
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    out
}

#[test]
fn a_scaffolded_service_builds_passes_its_tests_and_gets_its_whole_platform() {
    let copy = repo_copy();
    let root = copy.path();
    let out = ctl(
        &[
            "scaffold",
            "rust-microservice",
            "--name",
            "payments-notifier",
            "--set",
            "description=Tells customers about their payments.",
        ],
        root,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("registered payments-notifier in platform.toml"),
        "{}",
        text(&out)
    );
    let out = ctl(
        &[
            "scaffold",
            "static-frontend",
            "--name",
            "bill-reminders",
            "--set",
            "description=Reminds customers of due bills.",
        ],
        root,
    );
    assert!(out.status.success(), "{}", text(&out));

    // Before generate, check reports exactly what the new entries need.
    let out = ctl(&["infra", "check"], root);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for needle in [
        "missing: deploy/k8s/base/payments-notifier-deployment.yaml",
        "missing: .github/workflows/service-payments-notifier.yml",
        "missing: .github/workflows/web-bill-reminders.yml",
        "changed: catalog-info.yaml",
        "changed: mkdocs.yml",
        "changed: infra/live/dev/ecr/terragrunt.hcl",
    ] {
        assert!(text(&out).contains(needle), "{needle} not in:\n{}", text(&out));
    }
    run(Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["infra", "generate"])
        .current_dir(root));
    let out = ctl(&["infra", "check"], root);
    assert!(out.status.success(), "clean after generate: {}", text(&out));

    // Its ECR repository, Kubernetes objects, pipeline, catalog entry and docs.
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert!(read("infra/live/dev/ecr/terragrunt.hcl").contains("\"payments-notifier\""));
    assert!(read("infra/live/prod/ecr/terragrunt.hcl").contains("\"payments-notifier\""));
    assert!(read("deploy/k8s/base/kustomization.yaml").contains("payments-notifier-deployment.yaml"));
    assert!(
        read("deploy/k8s/overlays/prod/kustomization.yaml")
            .contains("333333333333.dkr.ecr.us-east-1.amazonaws.com/payments-notifier")
    );
    let deployment = read("deploy/k8s/base/payments-notifier-deployment.yaml");
    assert!(
        !deployment.contains("migrate"),
        "no BillPay migrations in another service:\n{deployment}"
    );
    assert!(
        !read("deploy/k8s/base/payments-notifier.yaml").contains("kind: Ingress"),
        "internal by default"
    );
    assert!(read(".github/workflows/service-payments-notifier.yml").contains("--service payments-notifier"));
    assert!(read(".github/workflows/web-bill-reminders.yml").contains("--dir frontends/bill-reminders/dist"));
    assert!(read("catalog-info.yaml").contains("- ./services/payments-notifier/catalog-info.yaml"));
    assert!(read("mkdocs.yml").contains("'!include ./services/payments-notifier/mkdocs.yml'"));
    assert!(read("infra/live/dev/bill-reminders/terragrunt.hcl").contains("bill-reminders"));

    // One service deploys alone: only its own objects are applied.
    let out = ctl(
        &[
            "deploy",
            "backend",
            "--env",
            "dev",
            "--service",
            "payments-notifier",
            "--image",
            "3f2a9c1",
            "--dry-run",
        ],
        root,
    );
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("would apply Deployment/payments-notifier"), "{log}");
    assert!(!log.contains("Deployment/billpay-backend"), "{log}");
    let out = ctl(
        &[
            "deploy",
            "backend",
            "--env",
            "dev",
            "--service",
            "nope",
            "--image",
            "3f2a9c1",
            "--dry-run",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no service `nope` in the manifest"),
        "{}",
        text(&out)
    );

    // The rendered files pass the ecosystem's checkers: checkov on the service's Dockerfile...
    let out = Command::new(tool("BILLPAY_CHECKOV"))
        .args([
            "--framework",
            "dockerfile",
            "--skip-download",
            "--compact",
            "-o",
            "json",
            "-d",
        ])
        .arg(root.join("services/payments-notifier"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(
        report["results"]["failed_checks"].as_array().map_or(0, Vec::len),
        0,
        "{report}"
    );
    assert!(
        report["summary"]["passed"].as_u64().unwrap_or(0) >= 5,
        "{}",
        report["summary"]
    );
    // ... kustomize and the Kubernetes schemas on the overlay, actionlint on the pipelines,
    // mkdocs on the docs.
    let kubectl = std::env::var("BILLPAY_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let built = run(Command::new(&kubectl)
        .args(["kustomize", "deploy/k8s/overlays/prod"])
        .current_dir(root));
    let manifests = root.join("prod.yaml");
    std::fs::write(&manifests, &built.stdout).unwrap();
    run(Command::new(tool("BILLPAY_KUBERNETES_VALIDATE"))
        .args(["--strict", "-k", "1.33"])
        .arg(&manifests));
    assert!(String::from_utf8_lossy(&built.stdout).contains("name: payments-notifier"));
    run(Command::new(tool("BILLPAY_ACTIONLINT"))
        .args([
            ".github/workflows/service-payments-notifier.yml",
            ".github/workflows/web-bill-reminders.yml",
        ])
        .current_dir(root));
    let site = tempfile::tempdir().unwrap();
    run(Command::new(tool("BILLPAY_MKDOCS"))
        .args(["build", "--strict", "-q", "-d"])
        .arg(site.path())
        .current_dir(root));
    assert!(
        site.path().join("payments-notifier/operations/index.html").is_file(),
        "the service's docs are in the site"
    );

    // Backstage reads the new entities through the root catalog, and so does billpayctl.
    let catalog = root.join("catalog-info.yaml");
    let theirs = validate_with_backstage(std::slice::from_ref(&catalog));
    assert_eq!(theirs["problems"], 0, "{theirs}");
    let (code, mine) = validate_with_billpayctl(&[], root);
    assert_eq!(code, Some(0), "{mine}");
    assert_eq!(mine["entities"], theirs["entities"]);
    assert_eq!(mine["entities"], 22, "two components and the web app's bucket: {mine}");

    // The service builds and passes its own tests, as a member of the workspace, in the same
    // target directory as the rest of the suite (so its dependencies are not built again).
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"));
    let out = run(Command::new(env!("CARGO"))
        .args(["test", "-p", "payments-notifier"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root));
    assert!(text(&out).contains("5 passed"), "{}", text(&out));
    let out = run(Command::new(env!("CARGO"))
        .args([
            "clippy",
            "-p",
            "payments-notifier",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root));
    let _ = out;
    run(Command::new(env!("CARGO"))
        .args(["fmt", "-p", "payments-notifier", "--", "--check"])
        .current_dir(root));

    // The web app passes its type check and its tests with BillPay's own web toolchain.
    let app = root.join("frontends/bill-reminders");
    let modules = repo().join("web/node_modules");
    assert!(
        modules.is_dir(),
        "web/node_modules: ./dev test installs the web packages first"
    );
    std::os::unix::fs::symlink(&modules, app.join("node_modules")).unwrap();
    run(Command::new("npx")
        .args(["--no-install", "tsc", "--noEmit"])
        .current_dir(&app));
    let out = run(Command::new("npx")
        .args(["--no-install", "vitest", "run"])
        .current_dir(&app));
    assert!(text(&out).contains("5 passed"), "{}", text(&out));
}

#[test]
fn the_backstage_app_config_points_at_files_that_exist_and_the_techdocs_bucket() {
    let text = std::fs::read_to_string(repo().join("backstage/app-config.billpay.yaml")).unwrap();
    let config: Value = yaml_serde::from_str(&text).unwrap();
    let techdocs = &config["techdocs"];
    assert_eq!(techdocs["builder"], "external");
    assert_eq!(techdocs["publisher"]["type"], "awsS3");
    assert_eq!(techdocs["publisher"]["awsS3"]["bucketName"], "billpay-techdocs");
    assert_eq!(techdocs["publisher"]["awsS3"]["sse"], "aws:kms");
    assert_eq!(config["integrations"]["github"][0]["host"], "github.com");
    let locations = config["catalog"]["locations"].as_array().unwrap();
    assert_eq!(locations.len(), 3, "the catalog and the two software templates");
    for l in locations {
        let target = l["target"].as_str().unwrap();
        let path = target
            .strip_prefix("https://github.com/billpay/billpay/blob/main/")
            .unwrap_or_else(|| panic!("{target} is not in the repository"));
        assert!(repo().join(path).is_file(), "{target}: no such file in the repository");
    }
}
