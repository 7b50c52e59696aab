//! Amazon ECR: a registry token from `GetAuthorizationToken`, and repositories created on
//! demand with scan on push, immutable tags, a lifecycle policy, and exo-deploy's tags (so
//! `--nuke` can find them). The policy expires old images but never one tagged `release-…`:
//! after each release, the images of the environment's last `keep-releases` releases carry
//! such a tag (`release-<env>-<release id>`), and the tags of older releases are removed, so
//! that `rollback` and `promote` always find the images of recent releases.

use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, ImageTagMutability, Tag};

use super::credentials::{Creds, decode_basic};
use crate::adapters::aws::Aws;
use crate::adapters::aws::{AwsError, classify};
use crate::model::tags;

/// How many images a repository keeps, besides those of recent releases.
pub const KEEP_IMAGES: u32 = 30;

/// The tag prefix that protects an image from expiring.
pub const RELEASE_TAG_PREFIX: &str = "release-";

/// The tag that keeps an image of release `id` of `env`.
pub fn release_tag(env: &str, id: &str) -> String {
    format!("{RELEASE_TAG_PREFIX}{env}-{id}")
}

/// The lifecycle policy of every repository exo-deploy creates. An image that matches the
/// tagging of a rule is never expired by a rule of lower priority (ECR's documented rule
/// evaluation), so images tagged `release-…` escape the second rule; the first never
/// expires anything in practice, as only the last releases' images carry such a tag.
pub fn lifecycle_policy() -> serde_json::Value {
    serde_json::json!({
        "rules": [
            {
                "rulePriority": 1,
                "description": "images of the environments' last releases (tagged release-*) are kept",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [RELEASE_TAG_PREFIX],
                    "countType": "imageCountMoreThan",
                    "countNumber": 10000
                },
                "action": { "type": "expire" }
            },
            {
                "rulePriority": 2,
                "description": format!("otherwise keep the last {KEEP_IMAGES} images"),
                "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES },
                "action": { "type": "expire" }
            }
        ]
    })
}

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

/// Makes sure `repo` exists with exo-deploy's lifecycle policy (set again on every push, so
/// repositories made by earlier versions get the one that keeps released images); returns
/// true when it was created.
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
        Ok(found) => {
            // only on a repository exo-deploy created for this app and environment: others
            // keep the policy their owners gave them
            let arn = found
                .repositories()
                .first()
                .and_then(|r| r.repository_arn())
                .unwrap_or_default()
                .to_string();
            let tags = aws
                .ecr
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(|e| classify("ecr:ListTagsForResource", repo, e))?;
            if tags::is_managed_for(tags.tags().iter().map(|t| (t.key(), t.value())), app, env) {
                put_policy(aws, repo).await?;
            }
            return Ok(false);
        }
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
    put_policy(aws, repo).await?;
    Ok(true)
}

async fn put_policy(aws: &Aws, repo: &str) -> Result<(), AwsError> {
    aws.ecr
        .put_lifecycle_policy()
        .repository_name(repo)
        .lifecycle_policy_text(lifecycle_policy().to_string())
        .send()
        .await
        .map_err(|e| classify("ecr:PutLifecyclePolicy", repo, e))?;
    Ok(())
}

/// One image in an ECR repository and one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedImage {
    pub repository: String,
    pub digest: String,
    pub tag: String,
}

/// Whether the repository (of registry `account`) still has the image `digest`.
pub async fn has_image(
    aws: &Aws,
    account: &str,
    repository: &str,
    digest: &str,
) -> Result<bool, AwsError> {
    let id = ImageIdentifier::builder().image_digest(digest).build();
    match aws
        .ecr
        .describe_images()
        .registry_id(account)
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await
    {
        Ok(found) => Ok(!found.image_details().is_empty()),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_image_not_found_exception() || s.is_repository_not_found_exception()
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(classify("ecr:DescribeImages", repository, e)),
    }
}

/// Whether `tag` is a release tag of `env` (`release-<env>-<release id>`), and not one of
/// another environment whose name starts the same way.
pub fn is_release_tag_of(tag: &str, env: &str) -> bool {
    let Some(id) = tag.strip_prefix(&release_tag(env, "")) else {
        return false;
    };
    // ids start `YYYYMMDDTHHMMSSmmmZ-`
    let b = id.as_bytes();
    b.len() > 20
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..18].iter().all(u8::is_ascii_digit)
        && b[18] == b'Z'
        && b[19] == b'-'
}

/// What keeping the released images did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    pub tagged: usize,
    pub untagged: usize,
    /// What could not be done, image by image.
    pub problems: Vec<String>,
}

/// Tags each image of `keep` (skipping images already gone), then removes from
/// `repositories` every release tag of `env` that `keep` does not hold (never an image's last
/// tag). Each image on its own: one that fails is reported, the others go on.
pub async fn keep_released(
    aws: &Aws,
    keep: &[TaggedImage],
    repositories: &[String],
    env: &str,
) -> Kept {
    let mut out = Kept::default();
    for image in keep {
        match add_tag(aws, image).await {
            Ok(true) => out.tagged += 1,
            Ok(false) => {}
            Err(e) => out
                .problems
                .push(format!("{}@{}: {e}", image.repository, image.digest)),
        }
    }
    let kept: std::collections::BTreeSet<&str> = keep.iter().map(|i| i.tag.as_str()).collect();
    for repo in repositories {
        let found = match tagged_with(aws, repo, RELEASE_TAG_PREFIX).await {
            Ok(f) => f,
            Err(e) => {
                out.problems.push(format!("{repo}: {e}"));
                continue;
            }
        };
        for (image, tags) in found {
            if tags <= 1 || kept.contains(image.tag.as_str()) || !is_release_tag_of(&image.tag, env)
            {
                continue;
            }
            match remove_tag(aws, &image).await {
                Ok(()) => out.untagged += 1,
                Err(e) => out.problems.push(format!("{repo}:{}: {e}", image.tag)),
            }
        }
    }
    out
}

/// Adds `image.tag` to the image (its manifest put again under the new tag: the digest stays);
/// `false` when the repository no longer has the image. A tag already there is fine: a re-run
/// finishes the work.
pub async fn add_tag(aws: &Aws, image: &TaggedImage) -> Result<bool, AwsError> {
    let id = ImageIdentifier::builder()
        .image_digest(&image.digest)
        .build();
    let got = aws
        .ecr
        .batch_get_image()
        .repository_name(&image.repository)
        .image_ids(id)
        .send()
        .await
        .map_err(|e| classify("ecr:BatchGetImage", &image.repository, e))?;
    if !got.failures().is_empty() && got.images().is_empty() {
        return Ok(false);
    }
    let Some(found) = got.images().first() else {
        return Ok(false);
    };
    let mut put = aws
        .ecr
        .put_image()
        .repository_name(&image.repository)
        .image_manifest(found.image_manifest().unwrap_or_default())
        .image_tag(&image.tag)
        .image_digest(&image.digest);
    if let Some(kind) = found.image_manifest_media_type() {
        put = put.image_manifest_media_type(kind);
    }
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_image_already_exists_exception() || s.is_image_tag_already_exists_exception()
            }) =>
        {
            Ok(true)
        }
        Err(e) => Err(classify("ecr:PutImage", &image.repository, e)),
    }
}

/// The images of `repository` carrying a tag that starts with `prefix`: one entry per tag,
/// with how many tags its image has.
pub async fn tagged_with(
    aws: &Aws,
    repository: &str,
    prefix: &str,
) -> Result<Vec<(TaggedImage, usize)>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = match aws
            .ecr
            .describe_images()
            .repository_name(repository)
            .filter(
                aws_sdk_ecr::types::DescribeImagesFilter::builder()
                    .tag_status(aws_sdk_ecr::types::TagStatus::Tagged)
                    .build(),
            )
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                return Ok(out);
            }
            Err(e) => return Err(classify("ecr:DescribeImages", repository, e)),
        };
        for image in page.image_details() {
            let digest = image.image_digest().unwrap_or_default();
            for tag in image.image_tags().iter().filter(|t| t.starts_with(prefix)) {
                out.push((
                    TaggedImage {
                        repository: repository.into(),
                        digest: digest.into(),
                        tag: tag.clone(),
                    },
                    image.image_tags().len(),
                ));
            }
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}

/// Removes `image.tag` from its image, unless it is the image's only tag (removing the last
/// tag would delete the image); a tag already gone is fine.
pub async fn remove_tag(aws: &Aws, image: &TaggedImage) -> Result<(), AwsError> {
    let id = ImageIdentifier::builder().image_tag(&image.tag).build();
    let found = match aws
        .ecr
        .describe_images()
        .repository_name(&image.repository)
        .image_ids(id.clone())
        .send()
        .await
    {
        Ok(found) => found,
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_image_not_found_exception() || s.is_repository_not_found_exception()
            }) =>
        {
            return Ok(());
        }
        Err(e) => return Err(classify("ecr:DescribeImages", &image.repository, e)),
    };
    let only = found
        .image_details()
        .first()
        .is_none_or(|d| d.image_tags().len() <= 1);
    if only {
        return Ok(());
    }
    aws.ecr
        .batch_delete_image()
        .repository_name(&image.repository)
        .image_ids(id)
        .send()
        .await
        .map_err(|e| classify("ecr:BatchDeleteImage", &image.repository, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_tags_belong_to_their_environment_only() {
        let id = "20261123T000001000Z-0123456789ab";
        assert!(is_release_tag_of(&release_tag("prod", id), "prod"));
        assert!(!is_release_tag_of(&release_tag("prod-eu", id), "prod"));
        assert!(!is_release_tag_of(&release_tag("prod", id), "prod-eu"));
        assert!(!is_release_tag_of("release-prod-latest", "prod"));
        assert!(!is_release_tag_of("git-0123", "prod"));
    }
}
