//! `billpayctl ecr ensure`: every repository exists, with scan on push, immutable tags and the
//! lifecycle policy. Running it again changes nothing.

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};

use crate::{Aws, AwsError, classify};

/// The lifecycle policy: untagged images go after a day; the newest 30 images are kept.
pub const LIFECYCLE_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"Drop untagged images after a day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},{"rulePriority":2,"description":"Keep the newest 30 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}"#;

/// What `ensure` did to one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// Existed; the listed settings were brought back to what BillPay expects.
    Fixed(Vec<&'static str>),
    Unchanged,
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl Aws {
    pub async fn ensure_repository(&self, name: &str) -> Result<Outcome, AwsError> {
        let found = self.ecr.describe_repositories().repository_names(name).send().await;
        let repo = match found {
            Ok(out) => out.repositories.unwrap_or_default().into_iter().next(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(classify("ecr:DescribeRepositories", e)),
        };
        let Some(repo) = repo else {
            self.ecr
                .create_repository()
                .repository_name(name)
                .image_tag_mutability(ImageTagMutability::Immutable)
                .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
                .send()
                .await
                .map_err(|e| classify("ecr:CreateRepository", e))?;
            self.ecr
                .put_lifecycle_policy()
                .repository_name(name)
                .lifecycle_policy_text(LIFECYCLE_POLICY)
                .send()
                .await
                .map_err(|e| classify("ecr:PutLifecyclePolicy", e))?;
            return Ok(Outcome::Created);
        };
        let mut fixed = Vec::new();
        if repo.image_tag_mutability() != Some(&ImageTagMutability::Immutable) {
            self.ecr
                .put_image_tag_mutability()
                .repository_name(name)
                .image_tag_mutability(ImageTagMutability::Immutable)
                .send()
                .await
                .map_err(|e| classify("ecr:PutImageTagMutability", e))?;
            fixed.push("immutable tags");
        }
        if !repo.image_scanning_configuration().is_some_and(|c| c.scan_on_push()) {
            self.ecr
                .put_image_scanning_configuration()
                .repository_name(name)
                .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
                .send()
                .await
                .map_err(|e| classify("ecr:PutImageScanningConfiguration", e))?;
            fixed.push("scan on push");
        }
        let policy = match self.ecr.get_lifecycle_policy().repository_name(name).send().await {
            Ok(out) => out.lifecycle_policy_text,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_lifecycle_policy_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(classify("ecr:GetLifecyclePolicy", e)),
        };
        if !policy.as_deref().is_some_and(|p| same_json(p, LIFECYCLE_POLICY)) {
            self.ecr
                .put_lifecycle_policy()
                .repository_name(name)
                .lifecycle_policy_text(LIFECYCLE_POLICY)
                .send()
                .await
                .map_err(|e| classify("ecr:PutLifecyclePolicy", e))?;
            fixed.push("lifecycle policy");
        }
        Ok(if fixed.is_empty() {
            Outcome::Unchanged
        } else {
            Outcome::Fixed(fixed)
        })
    }
}
