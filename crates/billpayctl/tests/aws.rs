//! `billpayctl ecr ensure` and `deploy frontend` against a moto server on loopback, through the
//! same code that talks to real AWS (only `AWS_ENDPOINT_URL` differs). boto3, from moto's own
//! virtualenv, sets up the bucket and distribution and checks the results as a second opinion.
//! `./dev test` installs moto and sets `BILLPAY_MOTO_SERVER` and `BILLPAY_MOTO_PYTHON`.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{moto, repo, text, tool};

fn aws_env(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
}

fn ctl(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_billpayctl"));
    cmd.args(args).current_dir(repo());
    aws_env(&mut cmd, endpoint);
    cmd.output().unwrap()
}

/// Runs a boto3 snippet against moto; it prints one JSON document.
fn boto(endpoint: &str, script: &str) -> Value {
    let prelude = "import boto3, json, sys\nkw = dict(endpoint_url=sys.argv[1], region_name='us-east-1')\n\
                   s3 = boto3.client('s3', **kw)\ncf = boto3.client('cloudfront', **kw)\necr = boto3.client('ecr', **kw)\n";
    let mut cmd = Command::new(tool("BILLPAY_MOTO_PYTHON"));
    cmd.args(["-c", &format!("{prelude}{script}"), endpoint]);
    aws_env(&mut cmd, endpoint);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "boto3: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

#[test]
fn ecr_ensure_creates_the_repositories_once() {
    let m = moto();
    let out = ctl(&m.endpoint, &["ecr", "ensure", "--env", "dev"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).matches("created").count(), 4, "{}", text(&out));
    let out = ctl(&m.endpoint, &["ecr", "ensure", "--env", "dev"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out).matches("unchanged").count(),
        4,
        "the second run changed something:\n{}",
        text(&out)
    );
    let repos = boto(
        &m.endpoint,
        "r = ecr.describe_repositories()['repositories']\n\
         print(json.dumps([{'name': x['repositoryName'], 'mutability': x['imageTagMutability'],\n\
           'scan': x['imageScanningConfiguration']['scanOnPush'],\n\
           'lifecycle': json.loads(ecr.get_lifecycle_policy(repositoryName=x['repositoryName'])['lifecyclePolicyText'])} for x in r]))",
    );
    let names: Vec<&str> = repos
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4);
    for n in [
        "billpay-backend",
        "billpay-frontend-a",
        "billpay-frontend-b",
        "billpay-feature-flags",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    for r in repos.as_array().unwrap() {
        assert_eq!(r["mutability"], "IMMUTABLE");
        assert_eq!(r["scan"], true);
        assert_eq!(r["lifecycle"]["rules"].as_array().unwrap().len(), 2);
    }
    // A repository someone made mutable is put right, and only that is reported.
    boto(
        &m.endpoint,
        "ecr.put_image_tag_mutability(repositoryName='billpay-backend', imageTagMutability='MUTABLE')\nprint('{}')",
    );
    let out = ctl(&m.endpoint, &["ecr", "ensure", "--env", "dev"]);
    assert!(
        text(&out).contains("fixed     billpay-backend: immutable tags"),
        "{}",
        text(&out)
    );
}

#[test]
fn frontend_deploys_upload_changes_only_and_invalidate_them() {
    let m = moto();
    // Both customer apps' distributions: dev has no domain, so each app's config.json says where
    // the other lives by its CloudFront name.
    let dists = boto(
        &m.endpoint,
        r#"s3.create_bucket(Bucket='billpay-frontend-a')
out = {}
for app in ['billpay-frontend-a', 'billpay-frontend-b']:
    d = cf.create_distribution(DistributionConfig={'CallerReference': app, 'Comment': app, 'Enabled': True,
        'Origins': {'Quantity': 1, 'Items': [{'Id': 's3', 'DomainName': app + '.s3.amazonaws.com', 'S3OriginConfig': {'OriginAccessIdentity': ''}}]},
        'DefaultCacheBehavior': {'TargetOriginId': 's3', 'ViewerProtocolPolicy': 'redirect-to-https', 'MinTTL': 0,
            'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}, 'TrustedSigners': {'Enabled': False, 'Quantity': 0}}})
    out[app] = [d['Distribution']['Id'], d['Distribution']['DomainName']]
print(json.dumps(out))"#,
    );
    let dist = dists["billpay-frontend-a"][0].clone();
    let dist = dist.as_str().unwrap().to_owned();
    let domain_a = dists["billpay-frontend-a"][1].as_str().unwrap();
    let domain_b = dists["billpay-frontend-b"][1].as_str().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("assets")).unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html><title>A</title>").unwrap();
    std::fs::write(site.path().join("assets/app-Ab12Cd34.js"), "console.log(1)").unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").unwrap();
    let dir = site.path().to_str().unwrap();
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "deploy",
            "frontend",
            "--app",
            "billpay-frontend-a",
            "--env",
            "dev",
            "--dir",
            dir,
            "--api-origin",
            "https://api-dev.example.net",
            "--flags-key",
            "bpf_dev_web",
        ];
        args.extend_from_slice(extra);
        ctl(&m.endpoint, &args)
    };
    let state = |endpoint: &str| {
        boto(
            endpoint,
            "keys = [o['Key'] for o in s3.list_objects_v2(Bucket='billpay-frontend-a').get('Contents', [])]\n\
             heads = {k: {'type': h['ContentType'], 'cache': h.get('CacheControl')} for k in keys for h in [s3.head_object(Bucket='billpay-frontend-a', Key=k)]}\n\
             inv = cf.list_invalidations(DistributionId=sys.argv[2])['InvalidationList'].get('Items', [])\n\
             print(json.dumps({'heads': heads, 'invalidations': len(inv)}))"
                .replace("sys.argv[2]", &format!("'{dist}'"))
                .as_str(),
        )
    };

    // Dry run: says what it would do, does nothing.
    let out = deploy(&["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("4 to upload, 0 to delete, 0 unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(state(&m.endpoint)["heads"], serde_json::json!({}));

    // First deploy: everything, with the right headers, and one invalidation.
    let out = deploy(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("on {dist}")), "{}", text(&out));
    let s = state(&m.endpoint);
    assert_eq!(
        s["heads"]["index.html"],
        serde_json::json!({"type": "text/html; charset=utf-8", "cache": "no-cache"})
    );
    assert_eq!(
        s["heads"]["assets/app-Ab12Cd34.js"],
        serde_json::json!({"type": "text/javascript; charset=utf-8", "cache": "public, max-age=31536000, immutable"})
    );
    assert_eq!(s["heads"]["favicon.svg"]["type"], "image/svg+xml");
    assert_eq!(s["invalidations"], 1);
    // The app's runtime settings for this environment went with it; the build was not touched.
    assert!(!site.path().join("config.json").exists());
    let config = boto(
        &m.endpoint,
        "print(s3.get_object(Bucket='billpay-frontend-a', Key='config.json')['Body'].read().decode())",
    );
    assert_eq!(
        config,
        serde_json::json!({"apiBase": "https://api-dev.example.net", "flagSet": "billpay-web",
            "flagsKey": "bpf_dev_web", "appId": "billpay-frontend-a", "sso": false,
            "variants": {"a": format!("https://{domain_a}/"), "b": format!("https://{domain_b}/")}})
    );
    assert_eq!(s["heads"]["config.json"]["type"], "application/json");

    // Second deploy of the same build: nothing to upload, no invalidation.
    let out = deploy(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 to upload, 0 to delete, 4 unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(state(&m.endpoint)["invalidations"], 1);

    // A removed file is deleted remotely; a changed one is uploaded.
    std::fs::remove_file(site.path().join("favicon.svg")).unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html><title>A2</title>").unwrap();
    let out = deploy(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 to upload, 1 to delete, 2 unchanged"),
        "{}",
        text(&out)
    );
    let s = state(&m.endpoint);
    assert!(s["heads"].get("favicon.svg").is_none(), "{s}");
    assert_eq!(s["invalidations"], 2);

    // Errors a person can act on.
    let out = ctl(
        &m.endpoint,
        &[
            "deploy",
            "frontend",
            "--app",
            "billpay-frontend-a",
            "--env",
            "dev",
            "--dir",
            dir,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("environment `dev` has no domain, so the API's origin is not known"),
        "{}",
        text(&out)
    );
    let out = ctl(
        &m.endpoint,
        &[
            "deploy",
            "frontend",
            "--app",
            "billpay-frontend-a",
            "--env",
            "staging",
            "--dir",
            dir,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("bucket `billpay-frontend-a-staging` does not exist"),
        "{}",
        text(&out)
    );
    let out = ctl(
        &m.endpoint,
        &[
            "deploy",
            "frontend",
            "--app",
            "billpay-frontend-z",
            "--env",
            "dev",
            "--dir",
            dir,
        ],
    );
    assert!(
        text(&out).contains("no frontend `billpay-frontend-z`"),
        "{}",
        text(&out)
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_billpayctl"));
    cmd.args([
        "deploy",
        "frontend",
        "--app",
        "billpay-frontend-a",
        "--env",
        "dev",
        "--dir",
        dir,
        "--api-origin",
        "https://api-dev.example.net",
    ])
    .current_dir(repo());
    aws_env(&mut cmd, &m.endpoint);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no AWS credentials found"), "{}", text(&out));
}

#[test]
fn techdocs_publish_writes_the_layout_backstage_reads_and_drops_stale_pages() {
    let m = moto();
    boto(
        &m.endpoint,
        "s3.create_bucket(Bucket='billpay-techdocs')\n\
         s3.put_object(Bucket='billpay-techdocs', Key='default/component/billpay-backend/old-page/index.html', Body=b'old')\n\
         s3.put_object(Bucket='billpay-techdocs', Key='default/component/other/index.html', Body=b'other')\n\
         print(json.dumps(True))",
    );
    // The real site, built by mkdocs with techdocs-core.
    let site = tempfile::tempdir().unwrap();
    let built = Command::new(tool("BILLPAY_MKDOCS"))
        .args(["build", "--strict", "-q", "-d"])
        .arg(site.path())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(built.status.success(), "mkdocs: {}", text(&built));
    let dir = site.path().to_str().unwrap();
    let out = ctl(
        &m.endpoint,
        &[
            "techdocs",
            "publish",
            "--entity",
            "Component/billpay-backend",
            "--site",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("to s3://billpay-techdocs/default/component/billpay-backend/ (1 stale deleted)"),
        "{}",
        text(&out)
    );
    let keys = boto(
        &m.endpoint,
        "r = s3.list_objects_v2(Bucket='billpay-techdocs')\n\
         meta = s3.head_object(Bucket='billpay-techdocs', Key='default/component/billpay-backend/index.html')\n\
         print(json.dumps({'keys': [o['Key'] for o in r['Contents']], 'type': meta['ContentType']}))",
    );
    let listed: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    for expected in [
        "default/component/billpay-backend/techdocs_metadata.json",
        "default/component/billpay-backend/index.html",
        "default/component/billpay-backend/runbooks/rollback/index.html",
        "default/component/other/index.html",
    ] {
        assert!(listed.contains(&expected), "{expected} missing from {listed:?}");
    }
    assert!(
        !listed.iter().any(|k| k.contains("old-page")),
        "the stale page is gone: {listed:?}"
    );
    assert!(keys["type"].as_str().unwrap().starts_with("text/html"), "{keys}");
    // The same number of objects as files in the site, under the entity's prefix.
    let files = walk(site.path());
    let ours = listed
        .iter()
        .filter(|k| k.starts_with("default/component/billpay-backend/"))
        .count();
    assert_eq!(ours, files, "{listed:?}");

    // A folder that is not a TechDocs site, and a malformed entity, are refused.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("index.html"), "<p>hi</p>").unwrap();
    let out = ctl(
        &m.endpoint,
        &[
            "techdocs",
            "publish",
            "--entity",
            "component/x",
            "--site",
            plain.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("has no techdocs_metadata.json"), "{}", text(&out));
    let out = ctl(
        &m.endpoint,
        &["techdocs", "publish", "--entity", "billpay-backend", "--site", dir],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("must be KIND/NAME"), "{}", text(&out));
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
        .sum()
}
