//! The Docker Engine, through bollard: connect (honouring DOCKER_HOST), build from a context
//! tar, and push with credentials, reporting progress as it streams in; read one file out of
//! an image without running it.

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptionsBuilder, PushImageOptionsBuilder};
use futures_util::StreamExt;

/// What talking to the Docker Engine can meet; the push stage adds which service it was.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DockerError {
    #[error("cannot reach the Docker daemon at {tried}: {detail}")]
    #[diagnostic(help("start Docker, or point DOCKER_HOST at a running daemon"))]
    Unreachable { tried: String, detail: String },
    /// A build failed: the last lines of its output.
    #[error("the build failed:\n{0}")]
    Build(String),
    /// The registry refused the credentials.
    #[error("the registry refused the credentials: {0}")]
    Unauthorized(String),
    /// The engine could not reach the registry.
    #[error("cannot reach the registry: {0}")]
    RegistryUnreachable(String),
    /// A push failed otherwise.
    #[error("the push failed: {0}")]
    Push(String),
    /// The image is neither on the engine nor in its registry.
    #[error("the image {0} was not found, here or in its registry")]
    NoSuchImage(String),
    /// The engine could not pull, create, or copy from a container.
    #[error("the Docker Engine failed for {image}: {detail}")]
    Engine { image: String, detail: String },
}

/// Result of a Docker Engine call.
pub type Result<T, E = DockerError> = std::result::Result<T, E>;

/// Connects to the daemon and checks it answers.
pub async fn connect() -> Result<Docker> {
    let tried =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
    let unreachable = |detail: String| DockerError::Unreachable {
        tried: tried.clone(),
        detail,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(docker)
}

/// Progress of one service, as the engine reports it.
#[derive(Debug, Clone)]
pub enum Event {
    BuildStep(String),
    Layer { done: usize, reused: usize },
    Bytes(u64),
}

/// Builds `image` (name:tag) for `platform` (`linux/amd64`, `linux/arm64`) from a context
/// tar; the last lines of output explain a failure.
pub async fn build(
    docker: &Docker,
    tar: Vec<u8>,
    image: &str,
    dockerfile: &str,
    platform: &str,
    labels: &std::collections::BTreeMap<String, String>,
    on: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    let labels: std::collections::HashMap<&String, &String> = labels.iter().collect();
    let options = BuildImageOptionsBuilder::default()
        .dockerfile(dockerfile)
        .t(image)
        .platform(platform)
        .labels(&labels)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let failed = DockerError::Build;
        match item {
            Ok(info) => {
                if let Some(line) = info
                    .stream
                    .as_deref()
                    .map(str::trim_end)
                    .filter(|l| !l.is_empty())
                {
                    if line.starts_with("Step ") {
                        on(Event::BuildStep(line.to_string()));
                    }
                    tail.push(line.to_string());
                    if tail.len() > 30 {
                        tail.remove(0);
                    }
                }
                if let Some(err) = info.error_detail {
                    tail.push(err.message.unwrap_or_default());
                    return Err(failed(tail.join("\n")));
                }
            }
            Err(e) => {
                tail.push(e.to_string());
                return Err(failed(tail.join("\n")));
            }
        }
    }
    Ok(())
}

/// What a push transferred.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PushStats {
    pub layers_pushed: usize,
    pub layers_reused: usize,
}

/// One image to push: `name:tag` to `registry`, with a user name and password when the
/// registry wants them.
pub struct Upload<'a> {
    pub registry: &'a str,
    pub name: &'a str,
    pub tag: &'a str,
    pub login: Option<(&'a str, &'a str)>,
}

impl std::fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the password never reaches a log
        f.debug_struct("Upload")
            .field("registry", &self.registry)
            .field("name", &self.name)
            .field("tag", &self.tag)
            .field("user", &self.login.map(|(user, _)| user))
            .finish()
    }
}

/// Pushes `name:tag` with its credentials.
pub async fn push(
    docker: &Docker,
    up: &Upload<'_>,
    on: &(dyn Fn(Event) + Sync),
) -> Result<PushStats> {
    let Upload {
        registry,
        name,
        tag,
        login,
    } = *up;
    let credentials = login.map(|(username, password)| DockerCredentials {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    });
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(name, Some(options), credentials);
    let mut stats = PushStats::default();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| classify(e.to_string()))?;
        if let Some(err) = info.error_detail {
            return Err(classify(err.message.unwrap_or_default()));
        }
        match info.status.as_deref() {
            Some("Pushed") => stats.layers_pushed += 1,
            Some("Layer already exists") => stats.layers_reused += 1,
            Some(s) if s.starts_with("Mounted from") => stats.layers_reused += 1,
            Some("Pushing") => {
                if let Some(current) = info.progress_detail.and_then(|p| p.current) {
                    on(Event::Bytes(current.max(0) as u64));
                }
                continue;
            }
            _ => continue,
        }
        on(Event::Layer {
            done: stats.layers_pushed,
            reused: stats.layers_reused,
        });
    }
    Ok(stats)
}

fn classify(detail: String) -> DockerError {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("denied")
        || lower.contains("no basic auth")
    {
        DockerError::Unauthorized(detail)
    } else if lower.contains("connection refused")
        || lower.contains("no such host")
        || lower.contains("i/o timeout")
        || lower.contains("dial tcp")
    {
        DockerError::RegistryUnreachable(detail)
    } else {
        DockerError::Push(detail)
    }
}

/// One file read out of an image.
#[derive(Debug, Clone)]
pub struct ImageFile {
    /// The image's digest in its registry (`sha256:…`), when the engine knows one.
    pub digest: Option<String>,
    /// The file's text, `None` when the image has no such file.
    pub text: Option<String>,
}

/// Reads `file` (relative to the image's working directory) out of `image`, pulling the image
/// first when `pull` (with `login` for its registry) or when the engine lacks it. The image
/// never runs: a container is created with a command that is never started (an image `FROM
/// scratch` may have none), copied from, and removed.
pub async fn read_from_image(
    docker: &Docker,
    image: &str,
    file: &str,
    pull: bool,
    login: Option<(&str, &str, &str)>,
) -> Result<ImageFile> {
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::{
        CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
        RemoveContainerOptionsBuilder,
    };
    let engine = |detail: String| DockerError::Engine {
        image: image.to_string(),
        detail,
    };
    let present = docker.inspect_image(image).await.is_ok();
    if pull || !present {
        let credentials = login.map(|(registry, username, password)| DockerCredentials {
            username: Some(username.to_string()),
            password: Some(password.to_string()),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        });
        // without a tag or digest the Engine API would pull every tag of the name
        let untagged = crate::model::image::ImageRef::parse(image)
            .is_some_and(|r| r.tag.is_none() && r.digest.is_none());
        let mut options = CreateImageOptionsBuilder::default().from_image(image);
        if untagged {
            options = options.tag("latest");
        }
        let options = options.build();
        let mut stream = docker.create_image(Some(options), None, credentials);
        while let Some(item) = stream.next().await {
            let failed = match item {
                Ok(info) => info.error_detail.and_then(|e| e.message),
                Err(e) => Some(e.to_string()),
            };
            if let Some(detail) = failed {
                // a run that reads the tag again never falls back to an older local copy
                let lower = detail.to_ascii_lowercase();
                return Err(
                    if lower.contains("not found")
                        || lower.contains("does not exist")
                        || lower.contains("manifest unknown")
                    {
                        DockerError::NoSuchImage(image.to_string())
                    } else {
                        classify(detail)
                    },
                );
            }
        }
    }
    let inspected = docker
        .inspect_image(image)
        .await
        .map_err(|_| DockerError::NoSuchImage(image.to_string()))?;
    let digest = inspected
        .repo_digests
        .unwrap_or_default()
        .iter()
        .find_map(|d| d.split_once('@').map(|(_, digest)| digest.to_string()));
    let workdir = inspected
        .config
        .and_then(|c| c.working_dir)
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_string());
    let path = format!("{}/{file}", workdir.trim_end_matches('/'));
    let created = docker
        .create_container(
            None,
            ContainerCreateBody {
                image: Some(image.to_string()),
                // never started: any command will do
                cmd: Some(vec!["exo-deploy-reads-only".to_string()]),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| engine(e.to_string()))?;
    let mut archive = Vec::new();
    let mut stream = docker.download_from_container(
        &created.id,
        Some(
            DownloadFromContainerOptionsBuilder::default()
                .path(&path)
                .build(),
        ),
    );
    let mut missing = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(e) => {
                missing = e.to_string().contains("404")
                    || e.to_string().to_ascii_lowercase().contains("no such file");
                if !missing {
                    let _ = docker
                        .remove_container(
                            &created.id,
                            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                        )
                        .await;
                    return Err(engine(e.to_string()));
                }
                break;
            }
        }
    }
    let _ = docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    if missing {
        return Ok(ImageFile { digest, text: None });
    }
    let mut tar = tar::Archive::new(archive.as_slice());
    let entries = tar.entries().map_err(|e| engine(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| engine(e.to_string()))?;
        if entry.header().entry_type().is_file() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text)
                .map_err(|e| engine(format!("{path} is not UTF-8 text: {e}")))?;
            return Ok(ImageFile {
                digest,
                text: Some(text),
            });
        }
    }
    Ok(ImageFile { digest, text: None })
}
