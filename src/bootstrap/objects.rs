//! Objects in the state bucket besides Terraform's state: release records, written only when
//! their key is free and read back for `history`, `rollback` and `status`.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

use super::error::Result;
use crate::adapters::aws::Aws;
use crate::adapters::aws::{AwsError, classify};

/// Writes `body` at `key` unless an object already has that key (S3 conditional write).
pub async fn put_new(aws: &Aws, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
    match aws
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .if_none_match("*")
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.code() == Some("PreconditionFailed")
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 412) =>
        {
            Err(AwsError::Api {
                operation: "s3:PutObject",
                target: format!("s3://{bucket}/{key}"),
                message: "a record with this name exists already; records are never overwritten"
                    .into(),
            }
            .into())
        }
        Err(e) => Err(classify("s3:PutObject", &format!("s3://{bucket}/{key}"), e).into()),
    }
}

/// Every key under `prefix`.
pub async fn list(aws: &Aws, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = match aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(keys),
            Err(e) => return Err(classify("s3:ListBucket", bucket, e).into()),
        };
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(keys),
        }
    }
}

/// The object at `key`, or `None`.
pub async fn get(aws: &Aws, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
    match aws.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => {
            let bytes = o.body.collect().await.map_err(|e| AwsError::Api {
                operation: "s3:GetObject",
                target: key.into(),
                message: e.to_string(),
            })?;
            Ok(Some(bytes.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(classify("s3:GetObject", &format!("s3://{bucket}/{key}"), e).into()),
    }
}

/// Desired and running task counts of one ECS service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceCount {
    pub service: String,
    pub desired: i32,
    pub running: i32,
    pub status: String,
}

/// `ecs:DescribeServices` for `services` in `cluster`, ten at a time as the API takes them;
/// a cluster that does not exist (yet, or any more) has no services.
pub(crate) async fn describe_services(
    aws: &Aws,
    cluster: &str,
    services: &[String],
) -> Result<Vec<aws_sdk_ecs::types::Service>> {
    let mut out = Vec::new();
    for chunk in services.chunks(10) {
        match aws
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
        {
            Ok(answer) => out.extend(answer.services().iter().cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_cluster_not_found_exception()) =>
            {
                return Ok(out);
            }
            Err(e) => return Err(classify("ecs:DescribeServices", cluster, e).into()),
        }
    }
    Ok(out)
}

/// The counts of `services` in `cluster` (missing ones are left out).
pub async fn service_counts(
    aws: &Aws,
    cluster: &str,
    services: &[String],
) -> Result<Vec<ServiceCount>> {
    Ok(describe_services(aws, cluster, services)
        .await?
        .iter()
        .map(|s| ServiceCount {
            service: s.service_name().unwrap_or_default().to_string(),
            desired: s.desired_count(),
            running: s.running_count(),
            status: s.status().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Starts a new deployment of `service` in `cluster` with its current task definition (new
/// tasks replace the running ones, as a deploy's would).
pub async fn force_new_deployment(aws: &Aws, cluster: &str, service: &str) -> Result<()> {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .force_new_deployment(true)
        .send()
        .await
        .map_err(|e| crate::adapters::aws::classify("ecs:UpdateService", service, e))?;
    Ok(())
}

/// Sets how many tasks `service` in `cluster` runs.
pub async fn set_desired_count(aws: &Aws, cluster: &str, service: &str, count: u32) -> Result<()> {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(i32::try_from(count).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| crate::adapters::aws::classify("ecs:UpdateService", service, e))?;
    Ok(())
}

/// Where one ECS service's newest deployment stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rollout {
    pub service: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED` (the circuit breaker rolled it back).
    pub state: String,
    pub reason: String,
    pub desired: i32,
    pub running: i32,
    pub failed_tasks: i32,
    /// The service's newest events, newest first.
    pub events: Vec<String>,
}

/// The newest (primary) deployment of each of `services` in `cluster`.
pub async fn rollouts(aws: &Aws, cluster: &str, services: &[String]) -> Result<Vec<Rollout>> {
    Ok(describe_services(aws, cluster, services)
        .await?
        .iter()
        .map(|s| {
            let primary = s
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"));
            Rollout {
                service: s.service_name().unwrap_or_default().to_string(),
                // a service without ECS deployments (another controller) has nothing to wait for
                state: primary
                    .and_then(|d| d.rollout_state())
                    .map_or("COMPLETED".to_string(), |r| r.as_str().to_string()),
                reason: primary
                    .and_then(|d| d.rollout_state_reason())
                    .unwrap_or_default()
                    .to_string(),
                desired: primary.map_or(s.desired_count(), |d| d.desired_count()),
                running: primary.map_or(s.running_count(), |d| d.running_count()),
                failed_tasks: primary.map_or(0, |d| d.failed_tasks()),
                events: s
                    .events()
                    .iter()
                    .take(5)
                    .filter_map(|e| e.message().map(str::to_string))
                    .collect(),
            }
        })
        .collect())
}

/// Whether new container instances of the account get ENI trunking: the account default of
/// `awsvpcTrunking` (the roles exo-deploy creates have no setting of their own).
pub async fn eni_trunking(aws: &Aws, account: &str) -> Result<bool> {
    let partition = if aws.region.starts_with("cn-") {
        "aws-cn"
    } else if aws.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let out = aws
        .ecs
        .list_account_settings()
        .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
        .principal_arn(format!("arn:{partition}:iam::{account}:root"))
        .effective_settings(true)
        .send()
        .await
        .map_err(|e| classify("ecs:ListAccountSettings", "awsvpcTrunking", e))?;
    Ok(out
        .settings()
        .iter()
        .any(|s| matches!(s.value(), Some("enabled" | "on"))))
}

/// The RDS snapshots (manual, final and automated) of databases whose identifiers start with
/// one of `names` followed by `-`: what nuke leaves, and says so.
pub async fn database_snapshots(aws: &Aws, names: &[String]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = aws
            .rds
            .describe_db_snapshots()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| classify("rds:DescribeDBSnapshots", "the databases' snapshots", e))?;
        for s in page.db_snapshots() {
            let ours = |id: Option<&str>| {
                id.is_some_and(|id| names.iter().any(|n| id.starts_with(&format!("{n}-"))))
            };
            if ours(s.db_instance_identifier()) || ours(s.db_snapshot_identifier()) {
                found.push(s.db_snapshot_identifier().unwrap_or_default().to_string());
            }
        }
        marker = page.marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    found.sort();
    Ok(found)
}
