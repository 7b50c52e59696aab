//! Stage 7: Terraform, run inside a container pinned by digest (or a local binary), on the
//! rendered directory. AWS credentials are resolved on the host and passed as environment
//! variables only. Output streams live, dimmed and prefixed, and is kept per run in
//! `<out>/logs/`. Ctrl-C sends SIGINT so Terraform can release its state lock; a second Ctrl-C
//! stops it hard.

mod container;
pub mod error;
mod local;
pub mod summary;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use error::{Result, TerraformError};
pub use summary::PlanSummary;

/// The Terraform image: 1.13.3, pinned by the digest published in public pinned
/// configurations of `hashicorp/terraform:1.13.3`.
pub const DEFAULT_IMAGE: &str = "hashicorp/terraform:1.13.3@sha256:dfb1889a8ee74ada3ddacc48f89b8a0d69f3e114de3d8a2ce15f6a8d3dbfdbe2";

/// Where the rendered directory is mounted in the container.
pub const WORKDIR: &str = "/workspace";
/// Where the provider plugin cache is mounted in the container.
pub const PLUGIN_CACHE: &str = "/plugin-cache";

/// How Terraform runs.
#[derive(Debug, Clone)]
pub enum Engine {
    /// In a container of `image`, through the Docker Engine.
    Container {
        docker: bollard::Docker,
        image: String,
    },
    /// The `terraform` binary at this path.
    Local(PathBuf),
}

impl Engine {
    /// The container engine unless `local` is asked for, or no daemon answers and a local
    /// `terraform` exists.
    pub async fn choose(local: bool, image: &str) -> Result<Engine> {
        let local_binary = which::which("terraform").ok();
        if local {
            let binary = local_binary.ok_or(TerraformError::NoLocalTerraform)?;
            return Ok(Engine::Local(new_enough(binary).await?));
        }
        match crate::adapters::docker::connect().await {
            Ok(docker) => Ok(Engine::Container {
                docker,
                image: image.to_string(),
            }),
            Err(e) => match local_binary {
                Some(binary) => Ok(Engine::Local(new_enough(binary).await?)),
                None => Err(TerraformError::NoEngine {
                    docker: e.to_string(),
                }),
            },
        }
    }

    /// One line saying which Terraform is used.
    pub fn describe(&self) -> String {
        match self {
            Engine::Container { image, .. } => format!("terraform runs in a container of {image}"),
            Engine::Local(path) => format!("terraform runs from {}", path.display()),
        }
    }
}

/// The oldest terraform the rendered Terraform runs on (its `required_version`).
pub const MIN_VERSION: (u64, u64) = (1, 10);

/// `binary`, when it is at least [`MIN_VERSION`] (or says no version exo-deploy can read: then
/// Terraform's own `required_version` check speaks).
async fn new_enough(binary: PathBuf) -> Result<PathBuf> {
    let out = tokio::process::Command::new(&binary)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let version = out
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v["terraform_version"].as_str().map(str::to_string));
    let Some(version) = version else {
        return Ok(binary);
    };
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_VERSION {
        return Err(TerraformError::TooOld {
            path: binary.display().to_string(),
            version,
        });
    }
    Ok(binary)
}

/// Runs Terraform commands in one rendered directory.
#[derive(Debug, Clone)]
pub struct Runner {
    pub engine: Engine,
    pub dir: PathBuf,
    /// Names the container: `exo-deploy-<app>-<env>`.
    pub name: String,
    /// Variables for Terraform: credentials and the TF_* switches. Never printed.
    pub env: Vec<(String, String)>,
    pub plugin_cache: PathBuf,
    /// Echo output to stderr as it comes.
    pub echo: bool,
}

/// What one Terraform command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: i64,
    pub output: String,
    pub log: PathBuf,
}

/// Where output goes: the log file, and stderr when echoing.
pub(crate) struct Sink {
    log: Mutex<std::fs::File>,
    text: Mutex<String>,
    pending: Mutex<String>,
    echo: bool,
    dim: bool,
}

impl Sink {
    pub(crate) fn write(&self, chunk: &[u8]) {
        let chunk = String::from_utf8_lossy(chunk);
        if let Ok(mut log) = self.log.lock() {
            let _ = log.write_all(chunk.as_bytes());
        }
        if let Ok(mut text) = self.text.lock() {
            text.push_str(&chunk);
        }
        if !self.echo {
            return;
        }
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.push_str(&chunk);
        while let Some(i) = pending.find('\n') {
            let line: String = pending.drain(..=i).collect();
            let line = line.trim_end();
            let mut err = std::io::stderr().lock();
            let _ = if self.dim {
                writeln!(err, "\x1b[2m  │ {line}\x1b[0m")
            } else {
                writeln!(err, "  │ {line}")
            };
        }
    }
}

impl Runner {
    /// Standard variables for unattended runs, plus the host's AWS credentials (resolved by
    /// aws-config: environment, profile, SSO, instance role) when there are any.
    pub async fn environment(
        region: &str,
        endpoint_url: Option<&str>,
        access: &crate::adapters::aws::Access,
    ) -> Vec<(String, String)> {
        use aws_credential_types::provider::ProvideCredentials;
        let mut env = vec![
            ("TF_IN_AUTOMATION".to_string(), "1".to_string()),
            ("TF_INPUT".to_string(), "0".to_string()),
            ("CHECKPOINT_DISABLE".to_string(), "1".to_string()),
            ("AWS_REGION".to_string(), region.to_string()),
        ];
        // the credentials exo-deploy deploys with (the environment's profile and role too)
        let conf = crate::adapters::aws::sdk_config(region, endpoint_url, access).await;
        if let Some(provider) = conf.credentials_provider()
            && let Ok(creds) = provider.provide_credentials().await
        {
            env.push((
                "AWS_ACCESS_KEY_ID".into(),
                creds.access_key_id().to_string(),
            ));
            env.push((
                "AWS_SECRET_ACCESS_KEY".into(),
                creds.secret_access_key().to_string(),
            ));
            if let Some(token) = creds.session_token() {
                env.push(("AWS_SESSION_TOKEN".into(), token.to_string()));
            }
        }
        env
    }

    /// Runs `terraform ARGS` and returns its exit code and output (a non-zero code is not an
    /// error here: `plan -detailed-exitcode` uses them).
    pub async fn run(&self, args: &[String]) -> Result<Outcome> {
        if !self.dir.is_dir() {
            return Err(TerraformError::NoDirectory(self.dir.display().to_string()));
        }
        let logs = self.dir.join("logs");
        std::fs::create_dir_all(&logs)
            .map_err(|e| TerraformError::Io(format!("cannot create {}: {e}", logs.display())))?;
        std::fs::create_dir_all(&self.plugin_cache).map_err(|e| {
            TerraformError::Io(format!(
                "cannot create {}: {e}",
                self.plugin_cache.display()
            ))
        })?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let command = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .cloned()
            .unwrap_or_else(|| "terraform".into());
        let log = logs.join(format!("{stamp}-{command}.log"));
        let file = std::fs::File::create(&log)
            .map_err(|e| TerraformError::Io(format!("cannot write {}: {e}", log.display())))?;
        let sink = Arc::new(Sink {
            log: Mutex::new(file),
            text: Mutex::new(String::new()),
            pending: Mutex::new(String::new()),
            echo: self.echo,
            dim: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        });
        // The plugin cache is not safe for concurrent writers: one `init` at a time.
        let _guard = if command == "init" {
            Some(lock_cache(&self.plugin_cache).await?)
        } else {
            None
        };
        let code = match &self.engine {
            Engine::Container { docker, image } => {
                container::run(self, docker, image, args, &sink).await?
            }
            Engine::Local(binary) => local::run(self, binary, args, &sink).await?,
        };
        let output = sink.text.lock().map(|t| t.clone()).unwrap_or_default();
        Ok(Outcome { code, output, log })
    }

    /// Runs a command that must succeed.
    pub async fn must(&self, args: &[&str]) -> Result<Outcome> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let out = self.run(&args).await?;
        if out.code != 0 {
            return Err(failed(&args, &out));
        }
        Ok(out)
    }

    /// `init`, passing the state bucket when the backend block leaves it out.
    pub async fn init(&self, bucket: Option<&str>) -> Result<Outcome> {
        let mut args = vec!["init", "-input=false", "-no-color"];
        let flag = bucket.map(|b| format!("-backend-config=bucket={b}"));
        if let Some(f) = &flag {
            args.push(f);
        }
        self.must(&args).await
    }

    /// `plan -out=tfplan -detailed-exitcode`: `None` when nothing would change.
    pub async fn plan(&self, destroy: bool) -> Result<Option<PlanSummary>> {
        let mut args: Vec<String> = [
            "plan",
            "-input=false",
            "-no-color",
            "-out=tfplan",
            "-detailed-exitcode",
        ]
        .map(String::from)
        .to_vec();
        if destroy {
            args.push("-destroy".into());
        }
        let out = self.run(&args).await?;
        match out.code {
            0 => Ok(None),
            2 => Ok(Some(summary::parse(&out.output))),
            _ => Err(failed(&args, &out)),
        }
    }

    /// `apply` of the saved plan.
    pub async fn apply(&self) -> Result<Outcome> {
        self.must(&["apply", "-input=false", "-no-color", "tfplan"])
            .await
    }
}

fn failed(args: &[String], out: &Outcome) -> TerraformError {
    TerraformError::Failed {
        command: args.join(" "),
        code: out.code,
        errors: summary::error_lines(&out.output),
        log: out.log.display().to_string(),
    }
}

/// Holds an exclusive lock on the plugin cache until dropped.
async fn lock_cache(cache: &Path) -> Result<std::fs::File> {
    let path = cache.join(".exo-deploy.lock");
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| TerraformError::Io(e.to_string()))?
    .map_err(|e| TerraformError::Io(format!("cannot lock the plugin cache: {e}")))
}

/// `~/.cache/exo-deploy/plugins`, or `TF_PLUGIN_CACHE_DIR`.
pub fn default_plugin_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("TF_PLUGIN_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("exo-deploy/plugins")
}
