//! Publishing a built TechDocs site to the bucket Backstage's `awsS3` publisher reads:
//! `<namespace>/<kind>/<name>/…`, lower-cased as Backstage looks it up. Objects are encrypted by
//! the bucket's default encryption (SSE-KMS under the bucket's own key, set by the `bucket`
//! module); sending `aws:kms` without a key id would pick the account's `aws/s3` key instead.
//! Objects of an earlier build that this one no longer has are deleted, so a removed page does
//! not linger.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;

use crate::frontend::{content_type, scan};
use crate::{Aws, AwsError, classify};

/// The file mkdocs-techdocs-core writes into every site; Backstage reads it first.
pub const METADATA: &str = "techdocs_metadata.json";

/// An entity whose docs these are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityName {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

impl EntityName {
    /// Parses `KIND/NAME` or `NAMESPACE/KIND/NAME`, e.g. `component/billpay-backend`.
    pub fn parse(s: &str) -> Result<EntityName, AwsError> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 63
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        let parts: Vec<&str> = s.split('/').collect();
        let (namespace, kind, name) = match parts.as_slice() {
            [kind, name] => ("default", *kind, *name),
            [ns, kind, name] => (*ns, *kind, *name),
            _ => ("", "", ""),
        };
        if ![namespace, kind, name].iter().all(|p| ok(p)) {
            return Err(AwsError::Invalid(format!(
                "--entity `{s}` must be KIND/NAME or NAMESPACE/KIND/NAME, e.g. component/billpay-backend"
            )));
        }
        Ok(EntityName {
            namespace: namespace.to_lowercase(),
            kind: kind.to_lowercase(),
            name: name.to_lowercase(),
        })
    }

    /// The key prefix Backstage reads the entity's docs from.
    pub fn prefix(&self) -> String {
        format!("{}/{}/{}/", self.namespace, self.kind, self.name)
    }
}

/// What a publish did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
}

impl Aws {
    /// Uploads the site in `site` for `entity` to `bucket`.
    pub async fn publish_techdocs(
        &self,
        site: &Path,
        bucket: &str,
        entity: &EntityName,
    ) -> Result<Published, AwsError> {
        let local = scan(site)?;
        if !local.iter().any(|f| f.key == METADATA) {
            return Err(AwsError::Invalid(format!(
                "{} has no {METADATA}: build it with `mkdocs build` and the techdocs-core plugin",
                site.display()
            )));
        }
        let prefix = entity.prefix();
        let mut remote = self.list_keys(bucket, &prefix).await?;
        let mut done = Published::default();
        for f in &local {
            let key = format!("{prefix}{}", f.key);
            let body = ByteStream::from_path(&f.path)
                .await
                .map_err(|e| AwsError::Invalid(format!("{}: {e}", f.path.display())))?;
            self.s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(body)
                .content_type(content_type(&f.key))
                .send()
                .await
                .map_err(|e| classify("s3:PutObject", e))?;
            remote.remove(&key);
            done.uploaded.push(key);
        }
        let stale: Vec<String> = remote.into_iter().collect();
        self.delete_keys(bucket, &stale).await?;
        done.deleted = stale;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names() {
        let e = EntityName::parse("Component/billpay-backend").expect("valid");
        assert_eq!(e.prefix(), "default/component/billpay-backend/");
        assert_eq!(
            EntityName::parse("ops/system/billpay").expect("valid").prefix(),
            "ops/system/billpay/"
        );
        for bad in [
            "billpay-backend",
            "a/b/c/d",
            "component/",
            "component/../x",
            "component/a b",
        ] {
            assert!(EntityName::parse(bad).is_err(), "{bad}");
        }
    }
}
