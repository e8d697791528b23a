//! `billpayctl deploy frontend`: sync a built web app to its bucket and invalidate what changed.
//!
//! The bucket keeps a small manifest (`.billpay-deploy.json`: path → SHA-256) written last, after
//! every upload and deletion succeeded. A deploy compares the local files with it and with the
//! bucket's listing, so only changed files are uploaded, removed files are deleted, and a deploy
//! that failed halfway is repaired by running it again. Then one CloudFront invalidation covers
//! the changed paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use sha2::{Digest, Sha256};

use crate::{Aws, AwsError, classify};

pub const STATE_KEY: &str = ".billpay-deploy.json";
/// More changed paths than this are invalidated as `/*` (one path for CloudFront's quota).
const MAX_PATHS: usize = 15;

#[derive(Debug, Clone)]
pub struct LocalFile {
    pub key: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// What a deploy changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub upload: Vec<String>,
    pub delete: Vec<String>,
    pub unchanged: usize,
    /// CloudFront paths to invalidate.
    pub invalidate: Vec<String>,
}

/// The `Content-Type` for a file name.
pub fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "webmanifest" => "application/manifest+json",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Whether the file name carries a content hash (Vite's `name-Ab12Cd34.js`): such a file never
/// changes under its name.
pub fn is_hashed(key: &str) -> bool {
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = file.split('.').next().unwrap_or(file);
    stem.rsplit_once('-').is_some_and(|(_, h)| {
        h.len() >= 8
            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && h.bytes().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    })
}

/// The `Cache-Control` for a file: immutable for hashed assets, revalidated for HTML and the rest.
pub fn cache_control(key: &str) -> &'static str {
    if is_hashed(key) {
        "public, max-age=31536000, immutable"
    } else if key.ends_with(".html") {
        "no-cache"
    } else {
        "public, max-age=300"
    }
}

/// Every file under `dir`, with its key (the path relative to `dir`, `/`-separated) and SHA-256.
pub fn scan(dir: &Path) -> Result<Vec<LocalFile>, AwsError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| AwsError::Invalid(format!("{}: {e}", d.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| AwsError::Invalid(format!("{}: {e}", d.display())))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .map_err(|e| AwsError::Invalid(e.to_string()))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if rel == STATE_KEY {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| AwsError::Invalid(format!("{}: {e}", path.display())))?;
            out.push(LocalFile {
                key: rel,
                path,
                sha256: hex::encode(Sha256::digest(&bytes)),
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    if out.is_empty() {
        return Err(AwsError::Invalid(format!(
            "{} holds no files: build the app first",
            dir.display()
        )));
    }
    Ok(out)
}

/// The changes between the local files and what the bucket holds.
pub fn plan(local: &[LocalFile], deployed: &BTreeMap<String, String>, remote_keys: &BTreeSet<String>) -> Plan {
    let mut p = Plan::default();
    let local_keys: BTreeSet<&str> = local.iter().map(|f| f.key.as_str()).collect();
    for f in local {
        let same = deployed.get(&f.key) == Some(&f.sha256) && remote_keys.contains(&f.key);
        if same {
            p.unchanged += 1;
        } else {
            p.upload.push(f.key.clone());
        }
    }
    p.delete = remote_keys
        .iter()
        .filter(|k| k.as_str() != STATE_KEY && !local_keys.contains(k.as_str()))
        .cloned()
        .collect();
    // Every changed path, new ones too: the edge may hold a cached 403/404 for a path that did
    // not exist yet.
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for k in p.upload.iter().chain(&p.delete) {
        paths.insert(format!("/{k}"));
        if k == "index.html" {
            paths.insert("/".into());
        } else if let Some(dir) = k.strip_suffix("/index.html") {
            paths.insert(format!("/{dir}/"));
        }
    }
    p.invalidate = if paths.len() > MAX_PATHS {
        vec!["/*".into()]
    } else {
        paths.into_iter().collect()
    };
    p
}

impl Aws {
    async fn remote_state(&self, bucket: &str) -> Result<(BTreeMap<String, String>, BTreeSet<String>), AwsError> {
        let keys = self.list_keys(bucket, "").await?;
        let deployed = if keys.contains(STATE_KEY) {
            let obj = self
                .s3
                .get_object()
                .bucket(bucket)
                .key(STATE_KEY)
                .send()
                .await
                .map_err(|e| classify("s3:GetObject", e))?;
            let bytes = obj
                .body
                .collect()
                .await
                .map_err(|e| AwsError::Other(format!("reading {STATE_KEY}: {e}")))?
                .into_bytes();
            serde_json::from_slice(&bytes).unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        Ok((deployed, keys))
    }

    /// Every key in `bucket` under `prefix`, across pages.
    pub(crate) async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<BTreeSet<String>, AwsError> {
        let mut keys = BTreeSet::new();
        let mut token = None;
        loop {
            let out = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .set_prefix((!prefix.is_empty()).then(|| prefix.to_owned()))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_no_such_bucket() => AwsError::NotFound {
                        what: "bucket",
                        name: bucket.into(),
                    },
                    _ => classify("s3:ListBucket", e),
                })?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// Deletes `keys` from `bucket`, a thousand per request (S3's limit).
    pub(crate) async fn delete_keys(&self, bucket: &str, keys: &[String]) -> Result<(), AwsError> {
        for chunk in keys.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AwsError::Invalid(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| AwsError::Invalid(e.to_string()))?;
            self.s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| classify("s3:DeleteObjects", e))?;
        }
        Ok(())
    }

    /// The id of the CloudFront distribution whose comment is `app` (the frontend module sets it).
    pub async fn distribution_for(&self, app: &str) -> Result<String, AwsError> {
        Ok(self.distribution_of(app).await?.0)
    }

    /// The id and the domain name (`d111111abcdef8.cloudfront.net`) of the CloudFront
    /// distribution whose comment is `app`.
    pub async fn distribution_of(&self, app: &str) -> Result<(String, String), AwsError> {
        let mut marker = None;
        loop {
            let out = self
                .cloudfront
                .list_distributions()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| classify("cloudfront:ListDistributions", e))?;
            let Some(list) = out.distribution_list else { break };
            if let Some(d) = list.items().iter().find(|d| d.comment() == app) {
                return Ok((d.id().to_owned(), d.domain_name().to_owned()));
            }
            match list.next_marker() {
                Some(m) if list.is_truncated() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Err(AwsError::NotFound {
            what: "CloudFront distribution for",
            name: app.into(),
        })
    }

    /// Works out what a deploy of `dir` to `bucket` would change.
    pub async fn plan_frontend(&self, dir: &Path, bucket: &str) -> Result<(Vec<LocalFile>, Plan), AwsError> {
        let local = scan(dir)?;
        let (deployed, keys) = self.remote_state(bucket).await?;
        let p = plan(&local, &deployed, &keys);
        Ok((local, p))
    }

    /// Applies a plan: uploads, deletions, the deploy manifest, then one invalidation. Returns the
    /// invalidation's id, if one was needed.
    pub async fn apply_frontend(
        &self,
        local: &[LocalFile],
        p: &Plan,
        bucket: &str,
        distribution_id: &str,
    ) -> Result<Option<String>, AwsError> {
        for key in &p.upload {
            let Some(f) = local.iter().find(|f| &f.key == key) else {
                continue;
            };
            let body = ByteStream::from_path(&f.path)
                .await
                .map_err(|e| AwsError::Invalid(format!("{}: {e}", f.path.display())))?;
            self.s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(body)
                .content_type(content_type(key))
                .cache_control(cache_control(key))
                .metadata("sha256", &f.sha256)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if format!("{s:?}").contains("NoSuchBucket") => AwsError::NotFound {
                        what: "bucket",
                        name: bucket.into(),
                    },
                    _ => classify("s3:PutObject", e),
                })?;
        }
        self.delete_keys(bucket, &p.delete).await?;
        if !p.upload.is_empty() || !p.delete.is_empty() {
            let state: BTreeMap<&str, &str> = local.iter().map(|f| (f.key.as_str(), f.sha256.as_str())).collect();
            let body = serde_json::to_vec_pretty(&state).map_err(|e| AwsError::Other(e.to_string()))?;
            self.s3
                .put_object()
                .bucket(bucket)
                .key(STATE_KEY)
                .body(ByteStream::from(body))
                .content_type("application/json")
                .cache_control("no-store")
                .send()
                .await
                .map_err(|e| classify("s3:PutObject", e))?;
        }
        if p.invalidate.is_empty() {
            return Ok(None);
        }
        let reference = hex::encode(&Sha256::digest(format!("{bucket}{:?}{:?}", p.upload, p.delete))[..12]);
        let paths = aws_sdk_cloudfront::types::Paths::builder()
            .quantity(i32::try_from(p.invalidate.len()).unwrap_or(1))
            .set_items(Some(p.invalidate.clone()))
            .build()
            .map_err(|e| AwsError::Invalid(e.to_string()))?;
        let batch = aws_sdk_cloudfront::types::InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(reference)
            .build()
            .map_err(|e| AwsError::Invalid(e.to_string()))?;
        let out = self
            .cloudfront
            .create_invalidation()
            .distribution_id(distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_no_such_distribution() => AwsError::NotFound {
                    what: "CloudFront distribution",
                    name: distribution_id.into(),
                },
                _ => classify("cloudfront:CreateInvalidation", e),
            })?;
        Ok(out.invalidation.map(|i| i.id().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_file() {
        assert_eq!(content_type("assets/api-8f5JikoF.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            cache_control("assets/api-8f5JikoF.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("a/index.html"), "no-cache");
        assert_eq!(cache_control("favicon.svg"), "public, max-age=300");
        assert!(!is_hashed("assets/bp-customer-app.js"));
        assert!(!is_hashed("flags/index.html"));
    }

    #[test]
    fn plans_only_what_changed() {
        let f = |k: &str, h: &str| LocalFile {
            key: k.into(),
            path: PathBuf::new(),
            sha256: h.into(),
        };
        let local = vec![f("index.html", "2"), f("assets/x-Ab12Cd34.js", "1")];
        let deployed = BTreeMap::from([
            ("index.html".to_string(), "1".to_string()),
            ("assets/x-Ab12Cd34.js".into(), "1".into()),
        ]);
        let remote = BTreeSet::from([
            "index.html".to_string(),
            "assets/x-Ab12Cd34.js".into(),
            "old.js".into(),
            STATE_KEY.into(),
        ]);
        let p = plan(&local, &deployed, &remote);
        assert_eq!(p.upload, ["index.html"]);
        assert_eq!(p.delete, ["old.js"]);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.invalidate, ["/", "/index.html", "/old.js"]);
    }
}
