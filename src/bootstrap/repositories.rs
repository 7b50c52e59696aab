//! The image repositories (ECR) exo-deploy created for an app: removed by `--nuke` when they
//! carry our tags for this app and environment; others are reported and left alone.

use super::error::Result;
use super::zone::Removal;
use crate::adapters::aws::Aws;
use crate::adapters::aws::classify;
use crate::model::tags;

/// Deletes this app/env's managed repositories, with their images.
pub async fn delete(aws: &Aws, app: &str, env: &str) -> Result<Vec<Removal>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .ecr
            .describe_repositories()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("ecr:DescribeRepositories", "the account's repositories", e))?;
        for repo in page.repositories() {
            let (Some(name), Some(arn)) = (repo.repository_name(), repo.repository_arn()) else {
                continue;
            };
            let tags = aws
                .ecr
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| classify("ecr:ListTagsForResource", name, e))?;
            if !tags::is_managed_for(tags.tags().iter().map(|t| (t.key(), t.value())), app, env) {
                continue;
            }
            aws.ecr
                .delete_repository()
                .repository_name(name)
                .force(true)
                .send()
                .await
                .map_err(|e| classify("ecr:DeleteRepository", name, e))?;
            out.push(Removal {
                what: format!("image repository {name}"),
                deleted: true,
                note: "deleted with its images".into(),
            });
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}
