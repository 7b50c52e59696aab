//! Promotion's half of the push stage: the images another environment's release ran, copied
//! into this environment's registry by digest, registry to registry (see [`super::oci`]),
//! with nothing built and nothing pulled into the local Docker Engine. An image already in
//! place (the same registry and repository, or the digest already there) is used as it is.

use serde::Serialize;

use super::credentials::{self, Creds};
use super::error::{PushError, Result};
use super::oci::Oci;
use super::registry::Registry;
use super::target::{RegistryKind, Target};
use crate::adapters::aws::Aws;
use crate::model::App;
use crate::model::image::ImageRef;

/// Where promoted images go, and the AWS clients for ECR on either side.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    /// This environment's registry.
    pub target: Target,
    /// This environment's AWS clients, for an ECR target.
    pub aws: Option<Aws>,
    /// The promoted environment's AWS clients, for images in its ECR.
    pub source_aws: Option<Aws>,
}

/// What happened to one promoted image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copied {
    pub role: String,
    /// The image as the release recorded it.
    pub from: String,
    /// Where this environment runs it from, by the same digest.
    pub reference: String,
    /// `copied`, or `present` when it was already there.
    pub status: &'static str,
    pub blobs_copied: usize,
    pub blobs_present: usize,
}

/// The login for `target`: an ECR token with `aws` for ECR, the Docker config's otherwise.
async fn login(target: &Target, aws: Option<&Aws>) -> Result<Option<Creds>> {
    match (target.kind, aws) {
        (RegistryKind::Ecr, Some(aws)) => Ok(Some(super::ecr::login(aws).await?)),
        _ => Ok(credentials::from_docker_config(target)?.creds),
    }
}

/// Copies each `(role, image, tag)` into this environment's registry (see the module doc).
pub async fn copy(
    app: &App,
    wanted: &[(String, String, Option<String>)],
    req: &CopyRequest,
) -> Result<Vec<Copied>> {
    let mut out = Vec::new();
    for (role, from, tag) in wanted {
        let bad = || PushError::BadReference {
            role: role.clone(),
            image: from.clone(),
        };
        let source = ImageRef::parse(from).ok_or_else(bad)?;
        let digest = source.digest.clone().ok_or_else(bad)?;
        let (to, repo) = super::destination(app, role, &req.target);
        let reference = format!("{}/{repo}@{digest}", to.host);
        let done = |status, blobs_copied, blobs_present| Copied {
            role: role.clone(),
            from: from.clone(),
            reference: reference.clone(),
            status,
            blobs_copied,
            blobs_present,
        };
        let source_target = Target::parse(&source.host);
        if source_target.host == to.host && source.path == repo {
            out.push(done("present", 0, 0));
            continue;
        }
        let failed = |detail: String| PushError::CopyFailed {
            role: role.clone(),
            from: from.clone(),
            to: format!("{}/{repo}", to.host),
            detail,
        };
        let to_aws = (to.kind == RegistryKind::Ecr)
            .then_some(req.aws.as_ref())
            .flatten();
        if let Some(aws) = to_aws {
            super::ecr::ensure_repository(aws, &repo, &app.name, &app.env.name).await?;
        }
        let to_creds = login(&to, to_aws).await?;
        let registry = Registry::new(to.api_base(), to_creds.clone());
        let there = registry
            .digest(&repo, &digest)
            .await
            .map_err(|p| failed(format!("{p:?}")))?;
        if there.is_some() {
            out.push(done("present", 0, 0));
            continue;
        }
        let from_aws = req.source_aws.as_ref().or(req.aws.as_ref());
        let from_creds = login(&source_target, from_aws).await?;
        // the release's tag, unless the destination holds it for other bytes (its own build
        // of the same commit, say): a tag never silently moves, and ECR's cannot
        let by_digest = {
            let hex: String = digest
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect();
            format!("sha256-{hex}")
        };
        let tag = match tag {
            Some(t) => {
                let held = registry
                    .digest(&repo, t)
                    .await
                    .map_err(|p| failed(format!("{p:?}")))?;
                match held {
                    Some(d) if d != digest => by_digest,
                    _ => t.clone(),
                }
            }
            None => by_digest,
        };
        let copied = Oci::new(&to, to_creds.as_ref())
            .copy_from(
                &Oci::new(&source_target, from_creds.as_ref()),
                &source.path,
                &digest,
                &repo,
                &tag,
            )
            .await
            .map_err(|e| failed(e.0))?;
        out.push(done("copied", copied.blobs_copied, copied.blobs_present));
    }
    Ok(out)
}
