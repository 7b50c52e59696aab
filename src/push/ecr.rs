//! Amazon ECR: a registry token from `GetAuthorizationToken`, and repositories created on
//! demand with scan on push, immutable tags, a lifecycle policy keeping the last images, and
//! exo-deploy's tags (so `--nuke` can find them).

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Tag};

use super::credentials::{Creds, decode_basic};
use crate::adapters::aws::Aws;
use crate::adapters::aws::{AwsError, classify};
use crate::model::tags;

/// How many images a repository keeps.
pub const KEEP_IMAGES: u32 = 30;

/// A login for the account's registry.
pub async fn login(aws: &Aws) -> Result<Creds, AwsError> {
    let out = aws
        .ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| classify("ecr:GetAuthorizationToken", "the registry", e))?;
    out.authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .and_then(decode_basic)
        .ok_or_else(|| AwsError::Api {
            operation: "ecr:GetAuthorizationToken",
            target: "the registry".into(),
            message: "the answer holds no token".into(),
        })
}

/// Makes sure `repo` exists; returns true when it was created.
pub async fn ensure_repository(
    aws: &Aws,
    repo: &str,
    app: &str,
    env: &str,
) -> Result<bool, AwsError> {
    match aws
        .ecr
        .describe_repositories()
        .repository_names(repo)
        .send()
        .await
    {
        Ok(_) => return Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) => {}
        Err(e) => return Err(classify("ecr:DescribeRepositories", repo, e)),
    }
    let tag_list = tags::managed(app, env)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>();
    let tag_list = tag_list.map_err(|e| AwsError::Api {
        operation: "ecr:CreateRepository",
        target: repo.into(),
        message: e.to_string(),
    })?;
    aws.ecr
        .create_repository()
        .repository_name(repo)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .set_tags(Some(tag_list))
        .send()
        .await
        .map_err(|e| classify("ecr:CreateRepository", repo, e))?;
    let policy = serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the last {KEEP_IMAGES} images"),
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES },
            "action": { "type": "expire" }
        }]
    });
    aws.ecr
        .put_lifecycle_policy()
        .repository_name(repo)
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .map_err(|e| classify("ecr:PutLifecyclePolicy", repo, e))?;
    Ok(true)
}
