//! Images exo-deploy does not build (prebuilt services, ExoCom) are pinned by digest before
//! anything changes, as pushed ones are: a tag moved later cannot change what a task runs,
//! and a redeploy of the same config runs the same bytes. Asking the registry for the digest
//! is also the check that tasks will be able to pull the image: without pull credentials in
//! the config, the question is asked anonymously, as ECS will pull.

use serde::Serialize;

use super::credentials::{self, Creds};
use super::error::{PushError, Result};
use super::registry::{Problem, Registry};
use super::target::{RegistryKind, Target};
use crate::adapters::aws::Aws;
use crate::model::image::ImageRef;

/// An image as a deploy will run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub role: String,
    /// As written in the config.
    pub image: String,
    /// What Terraform runs: `name[:tag]@sha256:…`, or the reference as written when it could
    /// not be pinned (see `note`).
    pub reference: String,
    /// Why it is not pinned, when it is not.
    pub note: Option<String>,
}

/// How an image's registry is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Tasks pull it anonymously: so is the question asked.
    Anonymous,
    /// The config names pull credentials for its registry (held in Secrets Manager, which
    /// exo-deploy never reads): the digest is asked with the local Docker login, if any.
    Credentials,
}

/// The login to ask `image`'s registry with: an ECR token for ECR (from `aws`), the local
/// Docker login for a registry with configured pull credentials, none otherwise.
pub async fn login(image: &str, access: Access, aws: Option<&Aws>) -> Result<Option<Creds>> {
    let Some(r) = ImageRef::parse(image) else {
        return Ok(None);
    };
    let target = Target::parse(&r.host);
    Ok(match (target.kind, access, aws) {
        (RegistryKind::Ecr, _, Some(aws)) => Some(super::ecr::login(aws).await?),
        (_, Access::Credentials, _) => credentials::from_docker_config(&target)?.creds,
        _ => None,
    })
}

/// Pins `image` (of service `role`) to its digest, asking its registry with `creds` (see
/// [`login`]).
pub async fn pin(
    role: &str,
    image: &str,
    access: Access,
    creds: Option<Creds>,
) -> Result<Resolved> {
    let Some(r) = ImageRef::parse(image) else {
        return Err(PushError::BadReference {
            role: role.into(),
            image: image.into(),
        });
    };
    let target = Target::parse(&r.host);
    let has_creds = creds.is_some();
    let registry = Registry::new(target.api_base(), creds);
    let done = |reference: String, note: Option<String>| Resolved {
        role: role.into(),
        image: image.into(),
        reference,
        note,
    };
    match registry.digest(&r.path, r.reference()).await {
        Ok(Some(digest)) => Ok(done(ImageRef::pinned(image, &digest), None)),
        Ok(None) => Err(PushError::ImageNotFound {
            role: role.into(),
            image: image.into(),
            registry: target.host,
        }),
        Err(Problem::Unauthorized(_)) if access == Access::Credentials => Ok(done(
            image.into(),
            Some(format!(
                "not pinned: {} wants a login to tell its digest{}; tasks pull it with the configured registry credentials",
                target.host,
                if has_creds {
                    " and refused the local one"
                } else {
                    ", and `docker login` has none here"
                }
            )),
        )),
        Err(Problem::Unauthorized(detail)) if target.kind == RegistryKind::Ecr => {
            Err(PushError::AuthFailed {
                role: role.into(),
                registry: target.host,
                looked_up: "an ECR authorization token".into(),
                detail,
            })
        }
        Err(Problem::Unauthorized(_)) => Err(PushError::NotAnonymous {
            role: role.into(),
            image: image.into(),
            registry: target.host,
        }),
        Err(Problem::Unreachable(detail)) => Err(PushError::ImageUnreachable {
            role: role.into(),
            image: image.into(),
            registry: target.host,
            detail,
        }),
        Err(Problem::Other(detail)) => Err(PushError::ImageUnreachable {
            role: role.into(),
            image: image.into(),
            registry: target.host,
            detail,
        }),
    }
}
