//! `billpayctl mcp` driven by the official Python MCP SDK, over stdio, in both protocol
//! revisions (the 2025-11-25 handshake and 2026-07-28), and over streamable HTTP.
//!
//! `./dev test` installs the SDK and sets `BILLPAY_MCP_PYTHON`; the AWS calls go to moto
//! (`BILLPAY_MOTO_SERVER`, `BILLPAY_MOTO_PYTHON`), the workflow lint to `BILLPAY_ACTIONLINT`.
//! Set `BILLPAY_UPDATE_SNAPSHOTS=1` to rewrite the tool-contract snapshots after a deliberate
//! change.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{moto, rendered_workspace, repo, text, tool};

const MODES: [&str; 2] = ["legacy", "2026-07-28"];

const READ_TOOLS: [&str; 6] = [
    "describe_platform",
    "estimate_cost",
    "validate_platform",
    "setup_complete_infrastructure",
    "deploy_eks_cluster",
    "setup_frontend_infrastructure",
];
const WRITE_TOOLS: [&str; 7] = [
    "generate_terraform_modules",
    "setup_backstage_integration",
    "generate_software_templates",
    "setup_ci_cd_pipelines",
    "configure_techdocs",
    "create_ecr_repositories",
    "deploy_application",
];

/// Runs a scenario through the Python client; `env` is added to the server's environment.
/// checkov is left out unless `env` names it: one test runs it through `validate_platform`.
fn session(mode: &str, workspace: &Path, write: bool, calls: Value, env: &[(&str, &str)]) -> Value {
    let mut args = vec![
        "mcp".to_owned(),
        "--workspace".to_owned(),
        workspace.display().to_string(),
    ];
    if write {
        args.push("--allow-write".into());
    }
    let mut server_env: serde_json::Map<String, Value> = std::env::vars()
        .filter(|(k, _)| k == "PATH" || k == "HOME" || (k.starts_with("BILLPAY_") && k != "BILLPAY_CHECKOV"))
        .map(|(k, v)| (k, json!(v)))
        .collect();
    for (k, v) in env {
        server_env.insert((*k).to_owned(), json!(v));
    }
    let scenario = json!({
        "mode": mode,
        "command": env!("CARGO_BIN_EXE_billpayctl"),
        "args": args,
        "env": server_env,
        "calls": calls,
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), scenario.to_string()).unwrap();
    let out = Command::new(tool("BILLPAY_MCP_PYTHON"))
        .arg(repo().join("crates/billpayctl/tests/mcp/client.py"))
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "the MCP client failed ({mode}):\n{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let expected = if mode == "legacy" { "2025-11-25" } else { mode };
    assert_eq!(v["protocol"], expected, "negotiated protocol");
    v
}

fn names(v: &Value) -> Vec<String> {
    v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn result(v: &Value, i: usize) -> &Value {
    &v["results"][i]
}

fn ok(v: &Value, i: usize) -> &Value {
    let r = result(v, i);
    assert_eq!(r["isError"], false, "call {i} ({}) failed: {}", r["tool"], r["text"]);
    r
}

fn err(v: &Value, i: usize, needle: &str) {
    let r = result(v, i);
    assert_eq!(r["isError"], true, "call {i} ({}) should fail: {r}", r["tool"]);
    assert!(
        r["text"].as_str().unwrap().contains(needle),
        "call {i} ({}): expected `{needle}` in {}",
        r["tool"],
        r["text"]
    );
}

fn snapshot(name: &str, tools: &Value) {
    let path = repo().join("crates/billpayctl/tests/snapshots").join(name);
    let rendered = format!("{}\n", serde_json::to_string_pretty(tools).unwrap());
    if std::env::var_os("BILLPAY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BILLPAY_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        expected == rendered,
        "the tool contract changed ({}); if that is deliberate, rerun with BILLPAY_UPDATE_SNAPSHOTS=1 and commit the snapshot.\n--- listed now:\n{rendered}",
        path.display()
    );
}

#[test]
fn a_read_only_server_lists_and_runs_only_read_tools_in_both_revisions() {
    for mode in MODES {
        let v = session(
            mode,
            &repo(),
            false,
            json!([
                {"tool": "describe_platform"},
                {"tool": "estimate_cost", "args": {"environment": "dev"}},
                {"tool": "validate_platform"},
                {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "region": "us-east-1"}},
                {"tool": "deploy_eks_cluster", "args": {"cluster-name": "billpay-cluster", "region": "us-east-1"}},
                {"tool": "setup_frontend_infrastructure", "args": {"region": "us-east-1"}},
                {"tool": "generate_terraform_modules", "args": {"outputPath": "."}},
                {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": {"$tokenFrom": 3}}},
                {"tool": "estimate_cost", "args": {"environment": "qa"}},
                {"tool": "estimate_cost", "args": {"environment": "dev", "colour": "blue"}},
                {"tool": "deploy_eks_cluster", "args": {"cluster-name": "other"}},
                {"tool": "no_such_tool"}
            ]),
            &[],
        );
        assert_eq!(names(&v), READ_TOOLS, "{mode}: exactly the read tools, in order");
        for t in v["tools"].as_array().unwrap() {
            let a = &t["annotations"];
            assert_eq!(a["readOnlyHint"], true, "{mode}: {} is read-only here", t["name"]);
            assert_eq!(a["destructiveHint"], false, "{mode}: {}", t["name"]);
            assert!(t["description"].as_str().unwrap().len() > 60, "{}", t["name"]);
            assert_eq!(t["outputSchema"]["type"], "object");
        }
        snapshot("mcp-tools-read-only.json", &v["tools"]);

        let d = &ok(&v, 0)["structured"];
        assert_eq!(d["project"]["name"], "billpay");
        assert_eq!(d["environments"].as_array().unwrap().len(), 3);
        assert_eq!(ok(&v, 1)["structured"]["total_monthly_usd_cents"], 23782);
        assert_eq!(
            ok(&v, 2)["structured"]["ok"],
            true,
            "the repository matches its manifest"
        );
        let plan = &ok(&v, 3)["structured"];
        assert_eq!(plan["units"].as_array().unwrap().len(), 12);
        assert_eq!(plan["monthlyCostUsd"], "237.82");
        assert!(plan["confirmationToken"].as_str().unwrap().contains('.'));
        let eks: Vec<&str> = ok(&v, 4)["structured"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            eks,
            ["network", "github-oidc", "eks"],
            "the cluster and what it needs, in apply order"
        );
        let fronts: Vec<&str> = ok(&v, 5)["structured"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            fronts,
            [
                "observability",
                "billpay-frontend-a",
                "billpay-frontend-b",
                "billpay-feature-flags",
                "billpay-biller-portal"
            ],
            "the sites and the log bucket they write to"
        );
        err(&v, 6, "this server is read-only: restart it with --allow-write");
        err(&v, 7, "restart the server with --allow-write");
        err(
            &v,
            8,
            "no environment `qa` in platform.toml (it has: dev, prod, staging)",
        );
        err(&v, 9, "unknown argument `colour`");
        err(&v, 10, "platform.toml names the cluster `billpay-cluster`, not `other`");
        err(&v, 11, "no tool `no_such_tool`");
    }
}

#[test]
fn write_tools_build_a_platform_from_nothing_in_a_confined_workspace() {
    for mode in MODES {
        write_tools_from_nothing(mode);
    }
}

fn write_tools_from_nothing(mode: &str) {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("escape")).unwrap();
    let v = session(
        mode,
        ws.path(),
        true,
        json!([
            {"tool": "describe_platform"},
            {"tool": "generate_terraform_modules", "args": {"outputPath": "."}},
            {"tool": "setup_backstage_integration", "args": {"projectPath": "."}},
            {"tool": "generate_software_templates", "args": {"templateTypes": ["microservice", "frontend"]}},
            {"tool": "setup_ci_cd_pipelines", "args": {"projectPath": "."}},
            {"tool": "configure_techdocs", "args": {"s3Bucket": "billpay-techdocs", "region": "us-east-1"}},
            {"tool": "validate_platform"},
            {"tool": "generate_terraform_modules", "args": {"outputPath": "."}},
            {"tool": "generate_terraform_modules", "args": {"outputPath": "../elsewhere"}},
            {"tool": "generate_terraform_modules", "args": {"outputPath": "escape"}},
            {"tool": "setup_ci_cd_pipelines", "args": {"projectPath": "/etc"}},
            {"tool": "generate_software_templates", "args": {"templateTypes": ["go"]}},
            {"tool": "configure_techdocs", "args": {"s3Bucket": "Not A Bucket"}},
            {"tool": "deploy_application", "args": {"app-name": "billpay-backend", "app-type": "backend", "environment": "staging", "imageTag": "3f2a9c1"}},
            {"tool": "deploy_application", "args": {"app-name": "billpay-backend", "app-type": "backend", "environment": "staging", "imageTag": "3f2a9c1", "confirmationToken": {"$tokenFrom": 13}}}
        ]),
        &[],
    );
    assert_eq!(
        names(&v),
        [&READ_TOOLS[..], &WRITE_TOOLS[..]].concat(),
        "every tool with --allow-write"
    );
    snapshot("mcp-tools-allow-write.json", &v["tools"]);
    err(
        &v,
        0,
        "has no platform.toml: generate_terraform_modules writes a starter one",
    );
    let written = ok(&v, 1)["structured"]["written"].as_array().unwrap().len();
    assert!(written > 60, "modules and live tree: {written}");
    assert_eq!(ok(&v, 2)["structured"]["checks"]["catalog"]["problems"], 0);
    ok(&v, 3);
    assert_eq!(ok(&v, 4)["structured"]["checks"]["actionlint"], "passed");
    ok(&v, 5);
    let check = &ok(&v, 6)["structured"];
    assert_eq!(check["ok"], true, "from nothing to a platform that validates: {check}");
    assert_eq!(
        ok(&v, 7)["structured"]["written"].as_array().unwrap().len(),
        0,
        "idempotent"
    );
    err(&v, 8, "is outside the workspace");
    err(&v, 9, "is outside the workspace");
    err(&v, 10, "is outside the workspace");
    err(&v, 11, "unknown template type `go`");
    err(&v, 12, "is not a valid S3 bucket name");
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing written through the link"
    );
    for f in [
        "platform.toml",
        "infra/modules/eks/main.tf",
        "infra/live/dev/eks/terragrunt.hcl",
        "catalog-info.yaml",
        "backstage/templates/rust-microservice/template.yaml",
        "templates/rust-microservice/cookiecutter.json",
        ".github/workflows/backend-deploy.yml",
        "deploy/k8s/overlays/prod/kustomization.yaml",
        "mkdocs.yml",
    ] {
        assert!(ws.path().join(f).is_file(), "{f} was not written");
    }
    // Every write is in the audit log, failures too.
    let audit = std::fs::read_to_string(ws.path().join(".billpay/mcp-audit.jsonl")).unwrap();
    let records: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 13, "{audit}");
    assert!(
        records
            .iter()
            .any(|r| r["outcome"] == "error" && r["tool"] == "generate_terraform_modules")
    );
}

#[test]
fn applying_needs_a_fresh_token_bound_to_the_plan() {
    for mode in MODES {
        apply_needs_token(mode);
    }
}

fn apply_needs_token(mode: &str) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("platform.toml"), ws.path().join("platform.toml")).unwrap();
    // A PATH without Terragrunt and OpenTofu: the apply says what to run instead.
    let v = session(
        mode,
        ws.path(),
        true,
        json!([
            {"tool": "generate_terraform_modules"},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev"}},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "apply": true}},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": "4102444800.00ff"}},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "staging", "apply": true, "confirmationToken": {"$tokenFrom": 1}}},
            {"tool": "deploy_eks_cluster", "args": {"cluster-name": "billpay-cluster", "apply": true, "confirmationToken": {"$tokenFrom": 1}}},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": {"$tokenFrom": 1}}}
        ]),
        &[("PATH", "/usr/bin:/bin")],
    );
    ok(&v, 0);
    let token = ok(&v, 1)["structured"]["confirmationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    err(&v, 2, "apply needs the confirmationToken of a plan");
    err(&v, 3, "does not match this plan");
    err(&v, 4, "does not match this plan");
    err(&v, 5, "does not match this plan");
    let applied = &ok(&v, 6)["structured"];
    assert_eq!(applied["applied"], false);
    let said = result(&v, 6)["text"].as_str().unwrap();
    assert!(
        said.contains("terragrunt run --non-interactive --working-dir infra/live/dev/network -- apply"),
        "{said}"
    );
    assert!(
        said.find("/network --").unwrap() < said.find("/eks --").unwrap(),
        "in dependency order: {said}"
    );
    // The audit log records the applies without the token.
    let audit = std::fs::read_to_string(ws.path().join(".billpay/mcp-audit.jsonl")).unwrap();
    assert!(!audit.contains(&token), "tokens are redacted");
    assert!(audit.contains("[redacted]"));
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("setup_complete_infrastructure"))
            .count(),
        4
    );
}

#[test]
fn a_token_dies_with_its_plan() {
    for mode in MODES {
        token_dies(mode);
    }
}

fn token_dies(mode: &str) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("platform.toml"), ws.path().join("platform.toml")).unwrap();
    let manifest = ws.path().join("platform.toml");
    let v = session(
        mode,
        ws.path(),
        true,
        json!([
            {"tool": "generate_terraform_modules"},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev"}},
            // The plan changes under the token: dev gets a bigger node group.
            {"edit": {"path": manifest, "old": "min = 1, desired = 2, max = 3", "new": "min = 1, desired = 2, max = 5"}},
            {"tool": "generate_terraform_modules"},
            {"tool": "setup_complete_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": {"$tokenFrom": 1}}}
        ]),
        &[("PATH", "/usr/bin:/bin")],
    );
    ok(&v, 1);
    err(&v, 4, "does not match this plan");
}

#[test]
fn aws_tools_run_against_the_emulator_and_deploys_wait_for_the_token() {
    for mode in MODES {
        aws_tools(mode);
    }
}

fn aws_tools(mode: &str) {
    let m = moto();
    let setup = Command::new(tool("BILLPAY_MOTO_PYTHON"))
        .arg("-c")
        .arg(
            "import boto3, json, sys\nkw = dict(endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
             s3 = boto3.client('s3', **kw); cf = boto3.client('cloudfront', **kw)\n\
             s3.create_bucket(Bucket='billpay-frontend-a'); s3.create_bucket(Bucket='billpay-techdocs')\n\
             cf.create_distribution(DistributionConfig={'CallerReference': 'x', 'Comment': 'billpay-frontend-a', 'Enabled': True,\n\
               'Origins': {'Quantity': 1, 'Items': [{'Id': 's3', 'DomainName': 'billpay-frontend-a.s3.amazonaws.com', 'S3OriginConfig': {'OriginAccessIdentity': ''}}]},\n\
               'DefaultCacheBehavior': {'TargetOriginId': 's3', 'ViewerProtocolPolicy': 'redirect-to-https', 'MinTTL': 0,\n\
                 'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}, 'TrustedSigners': {'Enabled': False, 'Quantity': 0}}})\n",
        )
        .arg(&m.endpoint)
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", text(&setup));
    let ws = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("platform.toml"), ws.path().join("platform.toml")).unwrap();
    // App A's own build, where the tool looks by default.
    std::fs::create_dir_all(ws.path().join("web/dist/billpay-frontend-a/assets")).unwrap();
    std::fs::write(
        ws.path().join("web/dist/billpay-frontend-a/index.html"),
        "<!doctype html><title>A</title>",
    )
    .unwrap();
    std::fs::write(
        ws.path().join("web/dist/billpay-frontend-a/assets/app-Ab12Cd34.js"),
        "console.log(1)",
    )
    .unwrap();
    let aws = [
        ("AWS_ENDPOINT_URL", m.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    // App B's origin is given; app A's is found from its distribution (dev has no domain).
    let frontend = json!({"app-name": "billpay-frontend-a", "app-type": "frontend", "environment": "dev",
        "apiOrigin": "https://api-dev.example.net", "appOrigins": {"billpay-frontend-b": "https://b-dev.example.net"}});
    let mut with_token = frontend.clone();
    with_token["confirmationToken"] = json!({"$tokenFrom": 2});
    let mut bogus = frontend.clone();
    bogus["confirmationToken"] = json!("1.00");
    // A built TechDocs site, for configure_techdocs to publish.
    std::fs::create_dir_all(ws.path().join("site")).unwrap();
    std::fs::write(ws.path().join("site/index.html"), "<h1>BillPay</h1>").unwrap();
    std::fs::write(ws.path().join("site/techdocs_metadata.json"), "{}").unwrap();
    let v = session(
        mode,
        ws.path(),
        true,
        json!([
            {"tool": "create_ecr_repositories", "args": {"region": "us-east-1"}},
            {"tool": "create_ecr_repositories", "args": {"region": "us-east-1", "names": ["payments-notifier"]}},
            {"tool": "deploy_application", "args": frontend},
            {"tool": "deploy_application", "args": bogus},
            {"tool": "deploy_application", "args": with_token},
            {"tool": "deploy_application", "args": {"app-name": "nope", "app-type": "frontend", "environment": "dev"}},
            {"tool": "create_ecr_repositories", "args": {"region": "us-east-1", "names": ["Bad Name"]}},
            {"tool": "configure_techdocs", "args": {"s3Bucket": "billpay-techdocs", "region": "us-east-1", "publish": true}}
        ]),
        &aws,
    );
    let repos = ok(&v, 0)["structured"]["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 4);
    assert!(repos.iter().all(|r| r["outcome"] == "created"), "{repos:?}");
    assert_eq!(ok(&v, 1)["structured"]["repositories"][0]["outcome"], "created");
    let plan = &ok(&v, 2)["structured"];
    assert_eq!(plan["applied"], false);
    // The two built files and the app's config.json.
    assert_eq!(plan["plan"]["upload"].as_array().unwrap().len(), 3);
    err(&v, 3, "does not match this plan");
    let done = &ok(&v, 4)["structured"];
    assert_eq!(done["applied"], true, "{done}");
    err(&v, 5, "no frontend `nope` in platform.toml");
    err(&v, 6, "`Bad Name` is not a valid repository name");
    let published = &ok(&v, 7)["structured"]["checks"]["published"];
    assert_eq!(published["prefix"], "default/system/billpay/");
    assert_eq!(published["uploaded"], 2);
    // The bucket holds what the plan said, and nothing was uploaded before the token came.
    let listed = Command::new(tool("BILLPAY_MOTO_PYTHON"))
        .arg("-c")
        .arg(
            "import boto3, json, sys\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
             print(json.dumps(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='billpay-frontend-a')['Contents'])))",
        )
        .arg(&m.endpoint)
        .output()
        .unwrap();
    let keys: Value = serde_json::from_slice(&listed.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&listed)));
    assert!(keys.as_array().unwrap().contains(&json!("index.html")), "{keys}");
    assert!(
        keys.as_array().unwrap().contains(&json!("assets/app-Ab12Cd34.js")),
        "{keys}"
    );
}

fn http_status(port: u16, headers: &[(&str, &str)]) -> u16 {
    use std::io::{Read, Write};
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "POST /mcp HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| *k == "host") {
        req.push_str(&format!("host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply}"))
}

#[test]
fn http_transport_wants_the_token_and_an_allowed_origin() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "a-test-token-of-some-length";
    let mut child = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args([
            "mcp",
            "--http",
            &port.to_string(),
            "--allowed-origin",
            "http://localhost:3000",
        ])
        .env("BILLPAY_MCP_TOKEN", token)
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let bearer = format!("Bearer {token}");
    let missing = http_status(port, &[]);
    let wrong = http_status(port, &[("authorization", "Bearer nope")]);
    let bad_origin = http_status(port, &[("authorization", &bearer), ("origin", "https://evil.example")]);
    let good_origin = http_status(port, &[("authorization", &bearer), ("origin", "http://localhost:3000")]);
    let no_origin = http_status(port, &[("authorization", &bearer)]);
    // A Host that is not loopback (DNS rebinding) is refused as well.
    let rebound = http_status(port, &[("authorization", &bearer), ("host", "evil.example")]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(missing, 401);
    assert_eq!(wrong, 401);
    assert_eq!(bad_origin, 403);
    assert_eq!(good_origin, 200);
    assert_eq!(no_origin, 200);
    assert_eq!(rebound, 403);

    // Without a token the server refuses to start.
    let out = Command::new(env!("CARGO_BIN_EXE_billpayctl"))
        .args(["mcp", "--http", "0"])
        .env_remove("BILLPAY_MCP_TOKEN")
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--http needs --token"), "{}", text(&out));
}

#[test]
fn validate_platform_reports_schema_and_terragrunt_faults_in_one_answer() {
    let ws = rendered_workspace();
    let unit = ws.path().join("infra/live/dev/techdocs/terragrunt.hcl");
    let module = ws.path().join("infra/modules/frontend/main.tf");
    let v = session(
        "legacy",
        ws.path(),
        false,
        json!([
            {"tool": "validate_platform"},
            {"edit": {"path": unit, "old": "infra/modules//techdocs", "new": "infra/modules/techdocs"}},
            {"edit": {"path": module, "old": "signing_behavior", "new": "signing_behaviour"}},
            {"tool": "validate_platform"}
        ]),
        &[("BILLPAY_CHECKOV", &tool("BILLPAY_CHECKOV"))],
    );
    let clean = &ok(&v, 0)["structured"];
    assert_eq!(clean["schema"]["problems"], json!([]), "{clean}");
    assert!(clean["schema"]["blocks"].as_u64().unwrap() > 50, "{clean}");
    assert_eq!(
        clean["checkov"]["ran"], true,
        "checkov runs where it is installed: {clean}"
    );
    let found = &ok(&v, 3)["structured"];
    assert_eq!(found["ok"], false);
    let kinds: Vec<(&str, &str)> = found["schema"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["file"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("unit_source", "infra/live/dev/techdocs/terragrunt.hcl")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("unknown_argument", "infra/modules/frontend/main.tf")),
        "{kinds:?}"
    );
    // The drift of the hand-edited unit is in the same answer.
    assert!(
        found["drift"]
            .as_array()
            .unwrap()
            .contains(&json!("changed: infra/live/dev/techdocs/terragrunt.hcl")),
        "{found}"
    );
    let said = result(&v, 3)["text"].as_str().unwrap();
    assert!(said.contains("did you mean `signing_behavior`?"), "{said}");
}

#[test]
fn plan_and_apply_run_terragrunt_unit_by_unit_with_progress_and_stop_at_the_failing_unit() {
    let ws = rendered_workspace();
    let standin = repo().join("crates/billpayctl/tests/standin");
    let calls = ws.path().join("calls.tsv");
    let replay = tempfile::tempdir().unwrap();
    let path = format!("{}:/usr/bin:/bin", standin.display());
    let env = [
        ("PATH", path.as_str()),
        ("STANDIN_CALLS", calls.to_str().unwrap()),
        ("STANDIN_REPLAY", replay.path().to_str().unwrap()),
    ];
    let v = session(
        "legacy",
        ws.path(),
        true,
        json!([
            {"tool": "setup_frontend_infrastructure", "args": {"environment": "dev"}},
            {"tool": "setup_frontend_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": {"$tokenFrom": 0}}}
        ]),
        &env,
    );
    let plan = &ok(&v, 0)["structured"];
    assert_eq!(plan["run"]["ok"], true, "{plan}");
    let planned: Vec<&str> = plan["run"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"].as_str().unwrap())
        .collect();
    assert_eq!(planned[0], "observability", "the log bucket first: {planned:?}");
    assert_eq!(planned.len(), 5, "the log bucket and the four web apps: {planned:?}");
    // Two notifications a unit (started, finished), rising to the total.
    let progress = result(&v, 0)["progress"].as_array().unwrap();
    assert_eq!(progress.len(), 10, "{progress:?}");
    assert_eq!(progress.last().unwrap()["progress"], 5.0);
    assert_eq!(progress.last().unwrap()["total"], 5.0);
    assert!(
        progress[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("observability: plan")
    );
    let applied = &ok(&v, 1)["structured"];
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(
        applied["run"]["units"][1]["summary"],
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed."
    );
    let record = ws.path().join(applied["run"]["record"].as_str().unwrap());
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(kept["action"], "apply");
    assert_eq!(kept["ok"], true);
    let lines = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(lines.lines().count(), 10, "5 plans and 5 applies: {lines}");
    assert!(
        lines
            .lines()
            .last()
            .unwrap()
            .ends_with("apply\t-input=false\t-no-color\t-auto-approve"),
        "{lines}"
    );

    // The second frontend fails: the apply stops there and says so.
    std::fs::write(replay.path().join("billpay-frontend-b.err"), "Error: creating CloudFront Distribution: AccessDenied: not authorized to perform cloudfront:CreateDistribution\n").unwrap();
    std::fs::write(replay.path().join("billpay-frontend-b.status"), "1").unwrap();
    std::fs::remove_file(&calls).unwrap();
    let v = session(
        "legacy",
        ws.path(),
        true,
        json!([
            {"tool": "setup_frontend_infrastructure", "args": {"environment": "dev"}}
        ]),
        &env,
    );
    err(
        &v,
        0,
        "plan failed at unit `billpay-frontend-b` (infra/live/dev/billpay-frontend-b)",
    );
    err(&v, 0, "Error: creating CloudFront Distribution: AccessDenied");
    err(&v, 0, "The units after it were not run");
    let lines = std::fs::read_to_string(&calls).unwrap();
    assert!(
        !lines.contains("billpay-feature-flags"),
        "nothing after the failed unit ran: {lines}"
    );

    // A read-only server never runs Terragrunt: OpenTofu can run programs a configuration names.
    std::fs::remove_file(&calls).unwrap();
    let v = session(
        "legacy",
        ws.path(),
        false,
        json!([{"tool": "setup_frontend_infrastructure", "args": {"environment": "dev"}}]),
        &env,
    );
    assert!(ok(&v, 0)["structured"].get("run").is_none());
    assert!(
        result(&v, 0)["text"]
            .as_str()
            .unwrap()
            .contains("`terragrunt plan` was not run"),
        "{}",
        result(&v, 0)["text"]
    );
    assert!(!calls.exists(), "Terragrunt never ran on a read-only server");

    // A tree OpenTofu would reject is neither planned nor applied.
    let module = ws.path().join("infra/modules/frontend/main.tf");
    let v = session(
        "legacy",
        ws.path(),
        true,
        json!([
            {"edit": {"path": module, "old": "price_class         = var.price_class", "new": "price_klass         = var.price_class"}},
            {"tool": "setup_frontend_infrastructure", "args": {"environment": "dev"}},
            {"tool": "setup_frontend_infrastructure", "args": {"environment": "dev", "apply": true, "confirmationToken": {"$tokenFrom": 1}}}
        ]),
        &env,
    );
    let plan = &ok(&v, 1)["structured"];
    assert!(plan.get("run").is_none(), "not planned: {plan}");
    assert!(
        plan["problems"][0]
            .as_str()
            .unwrap()
            .contains("unknown argument `price_klass`"),
        "{plan}"
    );
    err(
        &v,
        2,
        "nothing was applied: OpenTofu or Terragrunt would reject the tree",
    );
    assert!(!calls.exists(), "Terragrunt never ran");
}
