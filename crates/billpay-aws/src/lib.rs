//! The only BillPay crate that talks to AWS. `billpayctl` uses it for `ecr ensure` and
//! `deploy frontend`; the payments server never links it.
//!
//! Credentials, region and endpoint come from the usual AWS sources (environment, profile, SSO,
//! instance role). `AWS_ENDPOINT_URL` is honoured, which is how the tests point it at a local
//! moto server. Throttling is retried with backoff by the SDK's standard retry mode.

pub mod ecr;
pub mod frontend;
pub mod techdocs;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

/// An AWS failure, in words a platform engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials found: set AWS_PROFILE, run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials,
    #[error("access denied: {0}. The role needs this permission (see infra/modules/github-oidc)")]
    AccessDenied(String),
    #[error("{what} `{name}` does not exist in this account and region; has the infrastructure been applied?")]
    NotFound { what: &'static str, name: String },
    #[error("AWS kept throttling the requests after retries; try again in a minute")]
    Throttled,
    #[error("{0}")]
    Invalid(String),
    #[error("AWS error: {0}")]
    Other(String),
}

/// Maps an SDK error to an [`AwsError`], naming the operation.
pub(crate) fn classify<E, R>(op: &str, err: aws_sdk_s3::error::SdkError<E, R>) -> AwsError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match &err {
        SdkError::DispatchFailure(d) if format!("{d:?}").contains("credentials") => AwsError::NoCredentials,
        SdkError::ConstructionFailure(c) if format!("{c:?}").to_lowercase().contains("credential") => {
            AwsError::NoCredentials
        }
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or("");
            let msg = e.message().unwrap_or("");
            match code {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    AwsError::AccessDenied(format!("{op}: {msg}"))
                }
                "Throttling" | "ThrottlingException" | "SlowDown" | "TooManyRequestsException" => AwsError::Throttled,
                "InvalidClientTokenId" | "UnrecognizedClientException" | "ExpiredToken" => AwsError::NoCredentials,
                _ => AwsError::Other(format!("{op}: {code} {msg}").trim().to_owned()),
            }
        }
        other => {
            let text = format!("{other:?}");
            if text.to_lowercase().contains("credential") {
                AwsError::NoCredentials
            } else {
                AwsError::Other(format!("{op}: {other}"))
            }
        }
    }
}

/// Clients for the services BillPay uses.
pub struct Aws {
    pub s3: aws_sdk_s3::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub ecr: aws_sdk_ecr::Client,
}

impl Aws {
    /// Loads the configuration from the environment; `region` is used when the environment
    /// names none. With `AWS_ENDPOINT_URL` set (an emulator), S3 uses path-style addressing.
    pub async fn from_env(region: &str) -> Aws {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::standard().with_max_attempts(5));
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let emulated = std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(emulated)
            .build();
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3),
            cloudfront: aws_sdk_cloudfront::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
        }
    }
}
