//! The real AWS clients, configured by aws-config's standard chain (environment, profiles, SSO,
//! IMDS) plus an optional endpoint for emulators, with bounded retries and timeouts.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use crate::bootstrap::error::{Result, classify};

/// One environment's AWS clients.
#[derive(Debug, Clone)]
pub struct Aws {
    pub s3: aws_sdk_s3::Client,
    pub route53: aws_sdk_route53::Client,
    pub sts: aws_sdk_sts::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub region: String,
}

impl Aws {
    /// Clients for `region`; `endpoint_url` (or `AWS_ENDPOINT_URL`) points them at an emulator,
    /// in which case S3 uses path-style addressing.
    pub async fn connect(region: &str, endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_max_backoff(Duration::from_secs(8)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_config(&loader.load().await, region)
    }

    /// Clients from an SDK configuration made elsewhere (tests, embedding programs).
    pub fn from_config(conf: &aws_config::SdkConfig, region: &str) -> Self {
        let emulator = conf.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(emulator)
            .build();
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            route53: aws_sdk_route53::Client::new(conf),
            sts: aws_sdk_sts::Client::new(conf),
            ecr: aws_sdk_ecr::Client::new(conf),
            ecs: aws_sdk_ecs::Client::new(conf),
            region: region.to_string(),
        }
    }

    /// The account the credentials belong to.
    pub async fn account(&self) -> Result<String> {
        let me = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("sts:GetCallerIdentity", "the caller", e))?;
        Ok(me.account().unwrap_or_default().to_string())
    }
}

/// The AWS partition of a region, for ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
