//! Stage 5: every service's image, built from its folder and pushed, before Terraform
//! references it by digest. Runs through the Docker Engine API (bollard), several services at
//! once (bounded), each with its own progress bar. What the registry already has under the
//! content-derived tag is neither built nor pushed again: a no-op redeploy transfers nothing.

pub mod context;
pub mod copy;
pub mod credentials;
pub mod ecr;
pub mod error;
pub mod oci;
pub mod registry;
pub mod resolve;
pub mod tag;
pub mod target;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

pub use error::{PushError, Result};
pub use target::{RegistryKind, Target};

use crate::adapters::docker::{self, DockerError};
use crate::adapters::git;
use crate::model::instance_types::Arch;
use crate::model::{App, ImageSource};
use credentials::{Creds, Found};

/// How a push run is asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    /// Push under this tag instead of the content-derived one.
    pub tag: Option<String>,
    /// Push under `tag` even when the registry has it with other content.
    pub force_tag: bool,
    /// Services built and pushed at once.
    pub concurrency: usize,
    /// Draw progress bars (a terminal, and not `--json`).
    pub bars: bool,
    /// The AWS clients, for an ECR target (its login token and repositories).
    pub aws: Option<crate::adapters::aws::Aws>,
}

/// What happened to one service's image.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub role: String,
    /// `host/repository:tag`.
    pub image: String,
    /// `host/repository@sha256:…`: what Terraform runs.
    pub reference: String,
    pub digest: String,
    /// The tag pushed under.
    pub tag: String,
    /// The commit that last changed the service's folder, when it is in git.
    pub commit: Option<String>,
    /// Whether the folder had uncommitted changes.
    pub dirty: bool,
    /// `pushed`, or `unchanged` when the registry already had it.
    pub status: &'static str,
    #[serde(flatten)]
    pub stats: docker::PushStats,
}

/// Builds and pushes the images of the services `roles` names (those with a folder to build).
pub async fn push(app: &App, roles: &[String], req: &Request) -> Result<Vec<Pushed>> {
    let aws = req.aws.as_ref();
    let services: Vec<(String, std::path::PathBuf)> = app
        .services
        .iter()
        .filter(|s| roles.contains(&s.role))
        .filter_map(|s| match &s.image {
            ImageSource::Build { context, .. } => Some((s.role.clone(), context.clone())),
            ImageSource::Prebuilt { .. } => None,
        })
        .collect();
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let (creds, looked_up) = match (req.target.kind, aws) {
        (RegistryKind::Ecr, Some(aws)) => (
            Some(ecr::login(aws).await?),
            "an ECR authorization token (GetAuthorizationToken)".to_string(),
        ),
        _ => {
            let Found { creds, looked_up } = credentials::from_docker_config(&req.target)?;
            (creds, looked_up)
        }
    };
    let docker = docker::connect().await?;
    let registry = registry::Registry::new(req.target.api_base(), creds.clone());
    let multi = MultiProgress::with_draw_target(if req.bars {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let shared = Arc::new(Shared {
        app: app.clone(),
        req: req.clone(),
        creds,
        looked_up,
        docker,
        registry,
        multi,
        aws: aws.cloned(),
    });
    let total = services.len();
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let work = futures_util::stream::iter(services)
        .map(|(role, dir)| {
            let shared = Arc::clone(&shared);
            let finished = Arc::clone(&finished);
            async move {
                let result = shared.one(&role, &dir).await;
                if result.is_ok() {
                    finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                result
            }
        })
        .buffer_unordered(req.concurrency.max(1))
        .collect::<Vec<_>>();
    let results = tokio::select! {
        results = work => results,
        _ = tokio::signal::ctrl_c() => {
            return Err(PushError::Interrupted { done: finished.load(std::sync::atomic::Ordering::SeqCst), total });
        }
    };
    let mut pushed = Vec::new();
    for r in results {
        pushed.push(r?);
    }
    pushed.sort_by(|a, b| a.role.cmp(&b.role));
    Ok(pushed)
}

struct Shared {
    app: App,
    req: Request,
    creds: Option<Creds>,
    looked_up: String,
    docker: bollard::Docker,
    registry: registry::Registry,
    multi: MultiProgress,
    aws: Option<crate::adapters::aws::Aws>,
}

impl Shared {
    async fn one(&self, role: &str, dir: &std::path::Path) -> Result<Pushed> {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>14.bold} {spinner} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(role.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        let result = self.run(role, dir, &bar).await;
        match &result {
            Ok(p) => bar.finish_with_message(push_summary(p)),
            Err(_) => bar.finish_with_message("failed"),
        }
        result
    }

    /// Where `role`'s image goes: the run's registry under `<app>-<role>`, or the name the
    /// config gives it (under the run's registry, or on its own host when it names one), with
    /// the registry client and login for that host.
    async fn destination(&self, role: &str) -> Result<(Target, String, Dest)> {
        let (target, repo) = destination(&self.app, role, &self.req.target);
        if target == self.req.target {
            return Ok((target, repo, Dest::Run));
        }
        let Found { creds, looked_up } = credentials::from_docker_config(&target)?;
        let registry = registry::Registry::new(target.api_base(), creds.clone());
        Ok((
            target,
            repo,
            Dest::Own {
                registry,
                creds,
                looked_up,
            },
        ))
    }

    async fn run(&self, role: &str, dir: &std::path::Path, bar: &ProgressBar) -> Result<Pushed> {
        let (target, repo, dest) = self.destination(role).await?;
        let target = &target;
        let name = format!("{}/{repo}", target.host);
        let (registry, creds, looked_up) = match &dest {
            Dest::Run => (&self.registry, &self.creds, &self.looked_up),
            Dest::Own {
                registry,
                creds,
                looked_up,
            } => (registry, creds, looked_up),
        };
        let lookup = |tag: String| {
            let repo = repo.clone();
            async move { lookup(registry, &target.host, looked_up, role, &repo, &tag).await }
        };
        bar.set_message("reading the build context");
        let dockerfile = self
            .app
            .services
            .iter()
            .find(|s| s.role == role)
            .and_then(|s| match &s.image {
                ImageSource::Build { dockerfile, .. } => Some(dockerfile.clone()),
                ImageSource::Prebuilt { .. } => None,
            })
            .unwrap_or_else(|| "Dockerfile".to_string());
        let dir_for_read = dir.to_path_buf();
        let dockerfile_for_read = dockerfile.clone();
        let ctx =
            tokio::task::spawn_blocking(move || context::read(&dir_for_read, &dockerfile_for_read))
                .await
                .map_err(|e| PushError::Context {
                    role: role.into(),
                    detail: e.to_string(),
                })?
                .map_err(|e| PushError::Context {
                    role: role.into(),
                    detail: e.to_string(),
                })?;
        // built for the architecture of the instances the service runs on
        let arch = self
            .app
            .services
            .iter()
            .find(|s| s.role == role)
            .map_or(Arch::X86_64, |s| self.app.env.cluster_of(s.kind).arch());
        // a derived tag names the architecture when it is not x86_64, so that moving a
        // service to Graviton never finds the x86 image "already in the registry"
        let tag = self.req.tag.clone().unwrap_or_else(|| {
            let tag = tag::for_folder(dir, &ctx.hash);
            match arch {
                Arch::X86_64 => tag,
                Arch::Arm64 => format!("{tag}-arm64"),
            }
        });
        let image = format!("{name}:{tag}");
        let source = git::folder_commit(dir);
        let labels = labels(role, &ctx.hash, source.as_ref(), git::source(dir));
        let (commit, dirty) = source
            .as_ref()
            .map_or((None, false), |s| (Some(s.commit.clone()), s.dirty));
        let pushed = |digest: String, status, stats| Pushed {
            role: role.into(),
            reference: format!("{name}@{digest}"),
            image: image.clone(),
            digest,
            tag: tag.clone(),
            commit: commit.clone(),
            dirty,
            status,
            stats,
        };
        if target.kind == RegistryKind::Ecr
            && matches!(dest, Dest::Run)
            && let Some(aws) = &self.aws
        {
            ecr::ensure_repository(aws, &repo, &self.app.name, &self.app.env.name).await?;
        }
        bar.set_message(format!("checking {image}"));
        if let Some(digest) = lookup(tag.clone()).await? {
            // a derived tag names its content; a given one is checked against the image's label
            let same = match &self.req.tag {
                None => Ok(()),
                Some(_) => {
                    let oci = oci::Oci::new(target, creds.as_ref());
                    same_content(&oci, &repo, &tag, &ctx.hash, arch)
                        .await
                        .map_err(|detail| PushError::PushFailed {
                            role: role.into(),
                            detail: format!("cannot read the config of {image}: {detail}"),
                        })?
                }
            };
            match same {
                Ok(()) => return Ok(pushed(digest, "unchanged", Default::default())),
                Err(_) if self.req.force_tag => {
                    bar.set_message(format!("--force-tag: moving {image}"));
                }
                Err(why) => {
                    return Err(PushError::TagTaken {
                        role: role.into(),
                        image,
                        why,
                    });
                }
            }
        }
        bar.set_message(format!("building {image}"));
        let on = |e: docker::Event| match e {
            docker::Event::BuildStep(step) => bar.set_message(format!("building: {step}")),
            docker::Event::Layer { done, reused } => bar.set_message(format!(
                "pushing: {done} layers sent, {reused} already there"
            )),
            docker::Event::Bytes(n) => {
                bar.set_message(format!("pushing: {}", indicatif::HumanBytes(n)))
            }
        };
        docker::build(
            &self.docker,
            ctx.tar,
            &image,
            &dockerfile,
            arch.platform(),
            &labels,
            &on,
        )
        .await
        .map_err(|e| match e {
            DockerError::Build(output) => PushError::BuildFailed {
                role: role.into(),
                context: dir.display().to_string(),
                output,
            },
            other => other.into(),
        })?;
        bar.set_message(format!("pushing {image}"));
        let upload = docker::Upload {
            registry: &target.host,
            name: &name,
            tag: &tag,
            login: creds
                .as_ref()
                .map(|c| (c.username.as_str(), c.password.as_str())),
        };
        let stats = docker::push(&self.docker, &upload, &on)
            .await
            .map_err(|e| match e {
                DockerError::Unauthorized(detail) => PushError::AuthFailed {
                    role: role.into(),
                    registry: target.host.clone(),
                    looked_up: looked_up.clone(),
                    detail,
                },
                DockerError::RegistryUnreachable(detail) => PushError::RegistryUnreachable {
                    registry: target.host.clone(),
                    detail,
                },
                DockerError::Push(detail) => PushError::PushFailed {
                    role: role.into(),
                    detail,
                },
                other => other.into(),
            })?;
        let digest = lookup(tag.clone())
            .await?
            .ok_or_else(|| PushError::PushFailed {
                role: role.into(),
                detail: format!("the registry does not show {image} after the push"),
            })?;
        Ok(pushed(digest, "pushed", stats))
    }
}

/// The labels every image exo-deploy builds carries: the OCI provenance labels (the commit
/// that last changed the folder, the repository it comes from without credentials, and the
/// commit's time as `created`, so that a rebuild of the same commit is the same image) and
/// the hash of its build context, which tells whether a tag holds a folder's content.
pub fn labels(
    role: &str,
    hash: &str,
    source: Option<&git::FolderCommit>,
    url: Option<String>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (oci::CONTENT_LABEL.to_string(), hash.to_string()),
        (
            "org.opencontainers.image.title".to_string(),
            role.to_string(),
        ),
    ]);
    if let Some(s) = source {
        labels.insert("org.opencontainers.image.revision".into(), s.commit.clone());
        labels.insert("org.opencontainers.image.created".into(), s.time.clone());
    }
    if let Some(url) = url {
        labels.insert("org.opencontainers.image.source".into(), url);
    }
    labels
}

/// Whether `repo:tag` holds an image built from a context hashing to `hash` for `arch`: the
/// inner `Err` says why not; the outer one, that the registry could not tell (never taken for
/// "other content", which `--force-tag` would overwrite).
async fn same_content(
    oci: &oci::Oci,
    repo: &str,
    tag: &str,
    hash: &str,
    arch: Arch,
) -> std::result::Result<std::result::Result<(), String>, String> {
    let config = match oci.config(repo, tag, arch).await {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(Err(format!("it has no image for {}", arch.platform()))),
        Err(oci::Failed(e)) => return Err(e),
    };
    Ok(
        match config["config"]["Labels"][oci::CONTENT_LABEL].as_str() {
            Some(h) if h == hash => Ok(()),
            Some(h) => Err(format!(
                "it was built from content {}, the folder hashes to {}",
                &h[..h.len().min(12)],
                &hash[..hash.len().min(12)]
            )),
            None => Err(format!(
                "it carries no {} label: exo-deploy did not build it",
                oci::CONTENT_LABEL
            )),
        },
    )
}

/// Where the image of `role` goes, given the run's registry `run`: the run's registry under
/// `<app>-<role>`, or the name the config gives it (under the run's registry, or on its own
/// host when it names one). The registry, and the repository there.
pub fn destination(app: &App, role: &str, run: &Target) -> (Target, String) {
    let named = app
        .services
        .iter()
        .find(|s| s.role == role)
        .and_then(|s| match &s.image {
            ImageSource::Build { repository, .. } => repository.clone(),
            ImageSource::Prebuilt { .. } => None,
        });
    let Some(named) = named else {
        return (run.clone(), run.repository(&app.name, role));
    };
    let (first, rest) = named.split_once('/').unwrap_or(("", named.as_str()));
    let own_host = crate::model::image::is_host(first);
    if !own_host || Target::parse(first).host == run.host {
        let repo = if own_host {
            rest.to_string()
        } else if run.namespace.is_empty() {
            named.clone()
        } else {
            format!("{}/{named}", run.namespace)
        };
        return (run.clone(), repo);
    }
    (Target::parse(first), rest.to_string())
}

/// Where one image is pushed: the run's registry, or a host the config names for it.
enum Dest {
    Run,
    Own {
        registry: registry::Registry,
        creds: Option<Creds>,
        looked_up: String,
    },
}

/// The digest `registry` (at `host`) has for `repo:tag`.
async fn lookup(
    registry: &registry::Registry,
    host: &str,
    looked_up: &str,
    role: &str,
    repo: &str,
    tag: &str,
) -> Result<Option<String>> {
    let host = host.to_string();
    registry.digest(repo, tag).await.map_err(|p| match p {
        registry::Problem::Unauthorized(detail) => PushError::AuthFailed {
            role: role.into(),
            registry: host,
            looked_up: looked_up.into(),
            detail,
        },
        registry::Problem::Unreachable(detail) => PushError::RegistryUnreachable {
            registry: host,
            detail,
        },
        registry::Problem::Other(detail) => PushError::PushFailed {
            role: role.into(),
            detail,
        },
    })
}

/// One line for a finished service.
pub fn push_summary(p: &Pushed) -> String {
    match p.status {
        "unchanged" => format!(
            "unchanged {} (already in the registry, nothing sent)",
            p.image
        ),
        _ => format!(
            "pushed {} ({} layers sent, {} already there) {}",
            p.image,
            p.stats.layers_pushed,
            p.stats.layers_reused,
            &p.digest[..p.digest.len().min(19)]
        ),
    }
}

/// Checks that the registry answers and accepts the credentials, without pushing anything.
pub async fn check_login(target: &Target, aws: Option<&crate::adapters::aws::Aws>) -> Result<()> {
    let (creds, looked_up) = match (target.kind, aws) {
        (RegistryKind::Ecr, Some(aws)) => (
            Some(ecr::login(aws).await?),
            "an ECR authorization token".to_string(),
        ),
        _ => {
            let Found { creds, looked_up } = credentials::from_docker_config(target)?;
            (creds, looked_up)
        }
    };
    let registry = registry::Registry::new(target.api_base(), creds);
    let probe = target.repository("exo-deploy", "preflight");
    match registry.digest(&probe, "preflight").await {
        Ok(_) => Ok(()),
        Err(registry::Problem::Unauthorized(detail)) => Err(PushError::AuthFailed {
            role: "preflight".into(),
            registry: target.host.clone(),
            looked_up,
            detail,
        }),
        Err(registry::Problem::Unreachable(detail)) => Err(PushError::RegistryUnreachable {
            registry: target.host.clone(),
            detail,
        }),
        Err(registry::Problem::Other(_)) => Ok(()),
    }
}
