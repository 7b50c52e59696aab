//! What the registry API (OCI distribution) is asked beyond a tag's digest, through
//! oci-client: an image's config (its labels: whose content a tag holds) and copying an image
//! by digest from one registry to another (promotion), blob by blob, registry to registry,
//! without pulling anything into the local Docker Engine. The copy keeps the manifest's bytes,
//! so the digest is the same on both sides.

use futures_util::TryStreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::credentials::Creds;
use super::target::{RegistryKind, Target};
use crate::model::instance_types::Arch;

const MANIFEST_TYPES: [&str; 4] = [
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
];

/// The label holding the hash of the build context an image was built from.
pub const CONTENT_LABEL: &str = "dev.exo-deploy.content-hash";

/// One registry, with the login to use there.
pub struct Oci {
    client: Client,
    auth: RegistryAuth,
    /// `host[:port]` as image names write it (`docker.io` for Docker Hub).
    host: String,
}

impl std::fmt::Debug for Oci {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Oci {{ host: {:?} }}", self.host)
    }
}

/// What copying one image did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    /// Blobs (layers and configs) sent.
    pub blobs_copied: usize,
    /// Blobs the destination already had (or mounted from a repository of its own).
    pub blobs_present: usize,
}

/// Why a registry question failed, for the caller to turn into its own error.
#[derive(Debug)]
pub struct Failed(pub String);

fn failed(e: impl std::fmt::Display) -> Failed {
    Failed(e.to_string())
}

impl Oci {
    /// A client for `target`'s registry, logged in with `creds` when given.
    pub fn new(target: &Target, creds: Option<&Creds>) -> Oci {
        let base = target.api_base();
        let protocol = if base.starts_with("http://") {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            read_timeout: Some(std::time::Duration::from_secs(60)),
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            ..Default::default()
        });
        let auth = creds.map_or(RegistryAuth::Anonymous, |c| {
            RegistryAuth::Basic(c.username.clone(), c.password.clone())
        });
        let host = if target.kind == RegistryKind::DockerHub {
            "docker.io".to_string()
        } else {
            target.host.clone()
        };
        Oci { client, auth, host }
    }

    fn reference(&self, repo: &str, tag_or_digest: &str) -> Reference {
        if tag_or_digest.starts_with("sha256:") {
            Reference::with_digest(self.host.clone(), repo.into(), tag_or_digest.into())
        } else {
            Reference::with_tag(self.host.clone(), repo.into(), tag_or_digest.into())
        }
    }

    /// The config of `repo:tag` for `arch` (the matching entry of an index), `None` when the
    /// registry has no such tag.
    pub async fn config(
        &self,
        repo: &str,
        tag: &str,
        arch: Arch,
    ) -> Result<Option<serde_json::Value>, Failed> {
        let image = self.reference(repo, tag);
        let (raw, _) = match self
            .client
            .pull_manifest_raw(&image, &self.auth, &MANIFEST_TYPES)
            .await
        {
            Ok(found) => found,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(failed(e)),
        };
        let manifest: serde_json::Value = serde_json::from_slice(&raw).map_err(failed)?;
        let manifest = match manifest["manifests"].as_array() {
            Some(entries) => {
                let wanted = arch.platform().trim_start_matches("linux/");
                let Some(entry) = entries.iter().find(|m| {
                    m["platform"]["architecture"] == wanted && m["platform"]["os"] == "linux"
                }) else {
                    return Ok(None);
                };
                let digest = entry["digest"].as_str().unwrap_or_default();
                let (raw, _) = self
                    .client
                    .pull_manifest_raw(&self.reference(repo, digest), &self.auth, &MANIFEST_TYPES)
                    .await
                    .map_err(failed)?;
                serde_json::from_slice(&raw).map_err(failed)?
            }
            None => manifest,
        };
        let Some(config) = manifest["config"]["digest"].as_str() else {
            return Err(Failed("the manifest names no config".into()));
        };
        let mut body = Vec::new();
        self.client
            .pull_blob(&image, config, &mut body)
            .await
            .map_err(failed)?;
        serde_json::from_slice(&body).map(Some).map_err(failed)
    }

    /// Copies `from_repo@digest` of `from` into `to_repo` here, tagged `tag`: every blob this
    /// registry lacks is streamed across, then the manifest (the same bytes, so the same
    /// digest), the entries of an index first.
    pub async fn copy_from(
        &self,
        from: &Oci,
        from_repo: &str,
        digest: &str,
        to_repo: &str,
        tag: &str,
    ) -> Result<Copied, Failed> {
        let source = from.reference(from_repo, digest);
        from.client
            .auth(&source, &from.auth, RegistryOperation::Pull)
            .await
            .map_err(failed)?;
        let target = self.reference(to_repo, tag);
        self.client
            .auth(&target, &self.auth, RegistryOperation::Push)
            .await
            .map_err(failed)?;
        let mut copied = Copied::default();
        let (raw, media_type) = self
            .copy_manifest(from, from_repo, digest, to_repo, &mut copied)
            .await?;
        let pushed = self.reference(to_repo, tag);
        self.client
            .push_manifest_raw(&pushed, raw, media_type.parse().map_err(failed)?)
            .await
            .map_err(failed)?;
        Ok(copied)
    }

    /// Copies the blobs of the manifest `digest` (and, for an index, of its entries, each
    /// pushed by digest) and returns its bytes and media type.
    async fn copy_manifest(
        &self,
        from: &Oci,
        from_repo: &str,
        digest: &str,
        to_repo: &str,
        copied: &mut Copied,
    ) -> Result<(Vec<u8>, String), Failed> {
        let source = from.reference(from_repo, digest);
        let (raw, found) = from
            .client
            .pull_manifest_raw(&source, &from.auth, &MANIFEST_TYPES)
            .await
            .map_err(failed)?;
        if found != digest {
            return Err(Failed(format!(
                "{from_repo}@{digest} answered with a manifest of digest {found}"
            )));
        }
        let manifest: serde_json::Value = serde_json::from_slice(&raw).map_err(failed)?;
        let media_type = manifest["mediaType"]
            .as_str()
            .unwrap_or(if manifest["manifests"].is_array() {
                OCI_IMAGE_INDEX_MEDIA_TYPE
            } else {
                OCI_IMAGE_MEDIA_TYPE
            })
            .to_string();
        if let Some(entries) = manifest["manifests"].as_array() {
            for entry in entries {
                let child = entry["digest"].as_str().unwrap_or_default().to_string();
                let (bytes, kind) =
                    Box::pin(self.copy_manifest(from, from_repo, &child, to_repo, copied)).await?;
                self.client
                    .push_manifest_raw(
                        &self.reference(to_repo, &child),
                        bytes,
                        kind.parse().map_err(failed)?,
                    )
                    .await
                    .map_err(failed)?;
            }
            return Ok((raw.to_vec(), media_type));
        }
        let blobs = std::iter::once(&manifest["config"])
            .chain(manifest["layers"].as_array().into_iter().flatten())
            .filter_map(|b| Some((b["digest"].as_str()?.to_string(), b["size"].as_u64())));
        let target = self.reference(to_repo, digest);
        for (blob, size) in blobs {
            if self
                .client
                .blob_exists(&target, &blob)
                .await
                .map_err(failed)?
            {
                copied.blobs_present += 1;
                continue;
            }
            let descriptor = oci_client::manifest::OciDescriptor {
                digest: blob.clone(),
                size: size.and_then(|s| i64::try_from(s).ok()).unwrap_or_default(),
                ..Default::default()
            };
            let stream = from
                .client
                .pull_blob_stream(&source, &descriptor)
                .await
                .map_err(failed)?;
            let body = stream
                .stream
                .map_err(oci_client::errors::OciDistributionError::from);
            self.client
                .push_blob_stream(&target, body, &blob, size)
                .await
                .map_err(failed)?;
            copied.blobs_copied += 1;
        }
        Ok((raw.to_vec(), media_type))
    }
}

fn not_found(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::ImageManifestNotFoundError(_) => true,
        E::ServerError { code, .. } => *code == 404,
        E::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            matches!(
                x.code,
                oci_client::errors::OciErrorCode::ManifestUnknown
                    | oci_client::errors::OciErrorCode::NameUnknown
            )
        }),
        _ => false,
    }
}
