//! The real reader of `service.yml` files inside images (see [`crate::config::external`]):
//! the Docker Engine creates a container it never starts and copies the file out of the
//! image's working directory, pulling the image with the registry login `push` uses. What
//! is read is cached by image digest under `<app>/.exo-deploy/external/`, so that a dry run
//! needs no Docker once a real run has read the image; a real deploy reads the tag again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::adapters::docker::{self, DockerError, ImageFile};
use crate::config::SERVICE_FILE;
use crate::config::external::{External, ExternalServices, Unreadable};
use crate::model::image::ImageRef;
use crate::push::Target;
use crate::push::credentials;

/// Reads images' service.yml through the Docker Engine, with a cache.
#[derive(Debug)]
pub struct ImageServices {
    app_dir: PathBuf,
    cache: PathBuf,
    /// Read the image again (pulling its tag) even when the cache has it.
    refresh: bool,
    /// The command goes on without a service whose image cannot be read (teardown, status,
    /// history, terraform): it needs the state, not what the service would deploy.
    lenient: bool,
    notes: Mutex<Vec<String>>,
}

const INDEX: &str = "index.json";

impl ImageServices {
    /// For the app in `app_dir`; `refresh` for runs that deploy, `lenient` for those that can
    /// go on without a service.
    pub fn new(app_dir: &std::path::Path, refresh: bool, lenient: bool) -> Self {
        ImageServices {
            app_dir: app_dir.to_path_buf(),
            cache: crate::workdir::path(app_dir).join("external"),
            refresh,
            lenient,
            notes: Mutex::new(Vec::new()),
        }
    }

    /// One line per image read, saying where from.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn note(&self, line: String) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(line);
        }
    }

    fn index(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.cache.join(INDEX))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    fn cached_file(&self, digest: &str) -> PathBuf {
        self.cache.join(format!("{}.yml", digest.replace(':', "-")))
    }

    fn cached(&self, image: &str) -> Option<External> {
        let digest = self.index().get(image)?.clone();
        let text = std::fs::read_to_string(self.cached_file(&digest)).ok()?;
        Some(External {
            text,
            digest: Some(digest),
            from_cache: true,
        })
    }

    /// Keeps what was read; a cache that cannot be written only costs a later read.
    fn remember(&self, image: &str, digest: &str, text: &str) {
        let _ = crate::workdir::ensure(&self.app_dir);
        let _ = std::fs::create_dir_all(&self.cache);
        if std::fs::write(self.cached_file(digest), text).is_ok() {
            let mut index = self.index();
            index.insert(image.to_string(), digest.to_string());
            if let Ok(json) = serde_json::to_string_pretty(&index) {
                let _ = std::fs::write(self.cache.join(INDEX), json + "\n");
            }
        }
    }

    fn read(&self, image: &str) -> Result<ImageFile, DockerError> {
        let host = ImageRef::parse(image).map(|r| r.host).unwrap_or_default();
        let target = Target::parse(&host);
        // a helper that fails is as good as no login here: the pull says what is missing
        let creds = credentials::from_docker_config(&target)
            .ok()
            .and_then(|f| f.creds);
        let server = target.config_key();
        let work = async {
            let engine = docker::connect().await?;
            let login = creds
                .as_ref()
                .map(|c| (server.as_str(), c.username.as_str(), c.password.as_str()));
            docker::read_from_image(&engine, image, SERVICE_FILE, self.refresh, login).await
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DockerError::Engine {
                image: image.into(),
                detail: format!("cannot start the async runtime: {e}"),
            })?
            .block_on(work)
    }
}

impl ImageServices {
    /// A lenient command goes on without the service, and says so.
    fn skip(&self, role: &str, why: Unreadable) -> Unreadable {
        if !self.lenient {
            return why;
        }
        self.note(format!(
            "{role}: going on without it, its {SERVICE_FILE} could not be read ({})",
            why.message
        ));
        Unreadable {
            skipped: true,
            ..why
        }
    }
}

impl ExternalServices for ImageServices {
    fn service_file(&self, role: &str, image: &str) -> Result<External, Unreadable> {
        if !self.refresh
            && let Some(cached) = self.cached(image)
        {
            self.note(format!(
                "{role}: {SERVICE_FILE} of {image} from cache ({})",
                cached.digest.as_deref().unwrap_or_default()
            ));
            return Ok(cached);
        }
        let read = self.read(image).map_err(|e| self.skip(role, match e {
            DockerError::Unreachable { tried, .. } => Unreadable {
                message: format!(
                    "`{role}` is the image {image}, whose {SERVICE_FILE} exo-deploy reads through the Docker Engine, and none answers at {tried} (nothing is cached from an earlier run)"
                ),
                help: "start Docker, or point DOCKER_HOST at a running daemon; once a run has read the image, a dry run reads it from the cache".into(),
                skipped: false,
            },
            DockerError::NoSuchImage(_) => Unreadable {
                message: format!("the image {image} of `{role}` was not found, on the Docker Engine or in its registry"),
                help: "check its name and tag; for a private registry, `docker login` to it".into(),
                skipped: false,
            },
            other => Unreadable {
                message: format!("cannot read the {SERVICE_FILE} of `{role}` from {image}: {other}"),
                help: "check the image and the Docker Engine, then run again".into(),
                skipped: false,
            },
        }))?;
        let Some(text) = read.text else {
            return Err(self.skip(
                role,
                Unreadable {
                skipped: false,
                message: format!(
                    "the image {image} of `{role}` has no {SERVICE_FILE} in its working directory"
                ),
                help: format!(
                    "Exosphere reads a service's {SERVICE_FILE} from its image: add it there (`COPY {SERVICE_FILE} .` after `WORKDIR`), or give the service a `location` with its {SERVICE_FILE}"
                ),
                },
            ));
        };
        let digest = read.digest;
        if let Some(d) = &digest {
            self.remember(image, d, &text);
        }
        self.note(format!(
            "{role}: {SERVICE_FILE} read from the image {image}{}",
            digest
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
        Ok(External {
            text,
            digest,
            from_cache: false,
        })
    }
}
