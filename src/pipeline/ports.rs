//! The narrow interfaces the executor drives, beside [`crate::bootstrap::Cloud`]: pushing
//! images, running Terraform and running the app's hooks. The real implementations are here;
//! recording ones, in the pipeline's tests, check the orchestration alone.

use std::future::Future;
use std::path::PathBuf;

use tokio::sync::OnceCell;

use crate::adapters::aws::Aws;
use crate::hooks::{Hook, Hooks};
use crate::model::App;
use crate::output::Reporter;
use crate::push::ecr::TaggedImage;
use crate::push::resolve::Resolved;
use crate::push::{self, Pushed};
use crate::terraform::{self, PlanSummary};
use crate::{Error, PreflightProblem};

/// Builds and pushes the app's images.
pub trait ImagePusher {
    /// Preflight: with `docker`, the Docker Engine answers; with `registry`, the registry
    /// accepts the credentials. `account` is the AWS account preflight found, for ECR.
    fn check(
        &self,
        account: Option<&str>,
        docker: bool,
        registry: bool,
    ) -> impl Future<Output = Vec<PreflightProblem>> + Send;
    /// Copies each `(role, image, tag)` of a promoted release into this environment's
    /// registry, by digest, where it is not already.
    fn copy(
        &self,
        app: &App,
        images: &[(String, String, Option<String>)],
        account: Option<&str>,
    ) -> impl Future<Output = Result<Vec<push::copy::Copied>, Error>> + Send;
    /// Builds and pushes the images of `roles`, a few at once.
    fn push(
        &self,
        app: &App,
        roles: &[String],
        account: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Pushed>, Error>> + Send;
    /// Pins each `(role, image)` exo-deploy does not build to its digest, asking its registry
    /// as tasks will pull it (anonymously, unless the config names pull credentials for it).
    fn resolve(
        &self,
        app: &App,
        images: &[(String, String)],
        account: Option<&str>,
    ) -> impl Future<Output = Vec<Result<Resolved, Error>>> + Send;
    /// Whether each `(role, image)` a release recorded (by digest) is still in its registry:
    /// an error for each that is not, or that could not be asked.
    fn exists(
        &self,
        app: &App,
        images: &[(String, String)],
    ) -> impl Future<Output = Vec<Result<(), Error>>> + Send;
    /// Tags the ECR images of the releases to keep, and removes the other release tags of
    /// `env` from `repositories` (see [`push::ecr::keep_released`]).
    fn keep_released(
        &self,
        keep: &[TaggedImage],
        repositories: &[String],
        env: &str,
    ) -> impl Future<Output = push::ecr::Kept> + Send;
}

/// Runs Terraform in the rendered directory.
pub trait TerraformRunner {
    /// Preflight: a Terraform engine is available.
    fn check(&self) -> impl Future<Output = Result<(), Error>> + Send;
    fn init(&self, bucket: Option<&str>) -> impl Future<Output = Result<(), Error>> + Send;
    /// `None` when nothing would change.
    fn plan(&self) -> impl Future<Output = Result<Option<PlanSummary>, Error>> + Send;
    fn apply(&self) -> impl Future<Output = Result<(), Error>> + Send;
    fn destroy(&self) -> impl Future<Output = Result<(), Error>> + Send;
    /// `terraform output -json`.
    fn outputs(&self) -> impl Future<Output = Result<serde_json::Value, Error>> + Send;
    /// Any command (`exo-deploy terraform -- ARGS`), which must succeed.
    fn command(&self, args: &[String]) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Runs the app's hooks, streaming their output to `say`.
pub trait HookRunner {
    fn run(
        &self,
        hook: Hook,
        extra: &[(&str, &str)],
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<(), Error>;
}

impl HookRunner for Hooks {
    fn run(
        &self,
        hook: Hook,
        extra: &[(&str, &str)],
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<(), Error> {
        // the plan listed the hook because its file was there: one gone since is an error
        match Hooks::run(self, hook, extra, say)? {
            true => Ok(()),
            false => Err(Error::Hook(crate::hooks::HookError::Missing {
                hook,
                path: self.dir.join(hook.name()),
            })),
        }
    }
}

/// The real pusher: the Docker Engine and a registry, the account's ECR unless one is named.
#[derive(Debug)]
pub struct Pusher<'a> {
    pub aws: &'a Aws,
    /// The promoted environment's AWS clients (`promote`), for its ECR.
    pub source_aws: Option<&'a Aws>,
    /// `--registry`, else the environment's `registry`; `None` for the account's ECR.
    pub registry: Option<String>,
    pub region: String,
    pub tag: Option<String>,
    /// `--force-tag`.
    pub force_tag: bool,
    pub concurrency: usize,
    /// Draw progress bars (a terminal, and not `--json`).
    pub bars: bool,
}

impl Pusher<'_> {
    async fn target(&self, account: Option<&str>) -> Result<push::Target, Error> {
        if let Some(r) = &self.registry {
            return Ok(push::Target::parse(r));
        }
        let account = match account {
            Some(a) => a.to_string(),
            None => self.aws.account().await?,
        };
        Ok(push::Target::ecr(&account, &self.region))
    }

    fn ecr<'b>(&'b self, target: &push::Target) -> Option<&'b Aws> {
        (target.kind == push::RegistryKind::Ecr).then_some(self.aws)
    }
}

impl ImagePusher for Pusher<'_> {
    async fn check(
        &self,
        account: Option<&str>,
        docker: bool,
        registry: bool,
    ) -> Vec<PreflightProblem> {
        let mut problems = Vec::new();
        if docker && let Err(e) = crate::adapters::docker::connect().await {
            problems.push(PreflightProblem::of("Docker", &e));
        }
        // without an account (AWS failed, already reported) the ECR registry is unknown
        let target = match (&self.registry, account) {
            (None, None) => None,
            _ => self.target(account).await.ok(),
        };
        if registry
            && let Some(t) = target
            && let Err(e) = push::check_login(&t, self.ecr(&t)).await
        {
            problems.push(PreflightProblem::of("registry", &e));
        }
        problems
    }

    async fn push(
        &self,
        app: &App,
        roles: &[String],
        account: Option<&str>,
    ) -> Result<Vec<Pushed>, Error> {
        let target = self.target(account).await?;
        let request = push::Request {
            aws: self.ecr(&target).cloned(),
            target,
            tag: self.tag.clone(),
            force_tag: self.force_tag,
            concurrency: self.concurrency,
            bars: self.bars,
        };
        Ok(push::push(app, roles, &request).await?)
    }

    async fn resolve(
        &self,
        app: &App,
        images: &[(String, String)],
        _: Option<&str>,
    ) -> Vec<Result<Resolved, Error>> {
        use crate::model::image::{ImageRef, is_ecr};
        use push::resolve::{Access, login, pin};
        let one = |role: &str, image: &str| {
            let host = ImageRef::parse(image).map(|r| r.host).unwrap_or_default();
            let access = if app.env.registry_credentials.contains_key(&host) {
                Access::Credentials
            } else {
                Access::Anonymous
            };
            let aws = is_ecr(&host).then_some(self.aws);
            let (role, image) = (role.to_string(), image.to_string());
            async move {
                let creds = login(&image, access, aws).await?;
                Ok(pin(&role, &image, access, creds).await?)
            }
        };
        futures_util::future::join_all(images.iter().map(|(r, i)| one(r, i))).await
    }

    async fn copy(
        &self,
        app: &App,
        images: &[(String, String, Option<String>)],
        account: Option<&str>,
    ) -> Result<Vec<push::copy::Copied>, Error> {
        let target = self.target(account).await?;
        let request = push::copy::CopyRequest {
            aws: self.ecr(&target).cloned(),
            source_aws: self.source_aws.cloned(),
            target,
        };
        Ok(push::copy::copy(app, images, &request).await?)
    }

    async fn exists(&self, app: &App, images: &[(String, String)]) -> Vec<Result<(), Error>> {
        use crate::model::image::ImageRef;
        let one = |role: &str, image: &str| {
            let (role, image) = (role.to_string(), image.to_string());
            async move {
                let gone = || {
                    Err(Error::Push(push::PushError::ReleasedImageGone {
                        role: role.clone(),
                        image: image.clone(),
                    }))
                };
                let parsed = ImageRef::parse(&image);
                // ECR answers through its API (as moto's does), asked with the clients of its
                // region: the promoted environment's, else this one's
                if let Some(r) = &parsed
                    && let Some(digest) = &r.digest
                    && let Some((account, region)) = crate::model::image::ecr_registry(&r.host)
                    && let Some(aws) = self
                        .source_aws
                        .filter(|a| a.region == region)
                        .or(Some(self.aws).filter(|a| a.region == region))
                {
                    return match push::ecr::has_image(aws, account, &r.path, digest).await {
                        Ok(true) => Ok(()),
                        Ok(false) => gone(),
                        Err(e) => Err(e.into()),
                    };
                }
                let wanted = [(role.clone(), image.clone())];
                match self.resolve(app, &wanted, None).await.pop() {
                    Some(Ok(_)) => Ok(()),
                    Some(Err(Error::Push(push::PushError::ImageNotFound { .. }))) => gone(),
                    Some(Err(e)) => Err(e),
                    None => Ok(()),
                }
            }
        };
        futures_util::future::join_all(images.iter().map(|(r, i)| one(r, i))).await
    }

    async fn keep_released(
        &self,
        keep: &[TaggedImage],
        repositories: &[String],
        env: &str,
    ) -> push::ecr::Kept {
        push::ecr::keep_released(self.aws, keep, repositories, env).await
    }
}

/// The real Terraform runner, whose engine (the Docker Engine or a local binary) is chosen
/// when first needed: a teardown with nothing deployed needs no Terraform at all.
#[derive(Debug)]
pub struct LazyRunner<'a> {
    /// `--local-terraform`.
    pub local: bool,
    /// The Terraform image, for the container engine.
    pub image: String,
    /// The rendered directory.
    pub dir: PathBuf,
    /// The container's name.
    pub name: String,
    pub region: String,
    /// An emulator's endpoint, for the credentials' own calls (assuming a role).
    pub endpoint_url: Option<String>,
    /// The environment's profile and role.
    pub access: crate::adapters::aws::Access,
    pub reporter: &'a Reporter,
    chosen: OnceCell<terraform::Runner>,
}

impl<'a> LazyRunner<'a> {
    pub fn new(run: &super::Run<'a>) -> Self {
        LazyRunner {
            local: run.settings.local_terraform,
            image: run.settings.terraform_image.clone(),
            dir: run.out.to_path_buf(),
            name: format!("exo-deploy-{}-{}", run.app.name, run.app.env.name),
            region: run.app.env.region.clone(),
            endpoint_url: run.settings.endpoint_url.clone(),
            access: run.app.env.access(),
            reporter: run.reporter,
            chosen: OnceCell::new(),
        }
    }

    async fn runner(&self) -> Result<&terraform::Runner, Error> {
        self.chosen
            .get_or_try_init(|| async {
                let engine = terraform::Engine::choose(self.local, &self.image).await?;
                self.reporter.say(&engine.describe());
                Ok::<_, Error>(terraform::Runner {
                    engine,
                    dir: self.dir.clone(),
                    name: self.name.clone(),
                    env: terraform::Runner::environment(
                        &self.region,
                        self.endpoint_url.as_deref(),
                        &self.access,
                    )
                    .await,
                    plugin_cache: terraform::default_plugin_cache(),
                    echo: true,
                })
            })
            .await
    }
}

impl TerraformRunner for LazyRunner<'_> {
    async fn check(&self) -> Result<(), Error> {
        terraform::Engine::choose(self.local, &self.image).await?;
        Ok(())
    }
    async fn init(&self, bucket: Option<&str>) -> Result<(), Error> {
        self.runner().await?.init(bucket).await?;
        Ok(())
    }
    async fn plan(&self) -> Result<Option<PlanSummary>, Error> {
        Ok(self.runner().await?.plan(false).await?)
    }
    async fn apply(&self) -> Result<(), Error> {
        self.runner().await?.apply().await?;
        Ok(())
    }
    async fn destroy(&self) -> Result<(), Error> {
        self.runner()
            .await?
            .must(&["destroy", "-auto-approve", "-input=false", "-no-color"])
            .await?;
        Ok(())
    }
    async fn outputs(&self) -> Result<serde_json::Value, Error> {
        let quiet = terraform::Runner {
            echo: false,
            ..self.runner().await?.clone()
        };
        let out = quiet.must(&["output", "-json", "-no-color"]).await?;
        Ok(serde_json::from_str(&out.output).unwrap_or(serde_json::Value::Null))
    }
    async fn command(&self, args: &[String]) -> Result<(), Error> {
        let outcome = self.runner().await?.run(args).await?;
        if outcome.code != 0 {
            return Err(Error::Terraform(terraform::TerraformError::Failed {
                command: args.join(" "),
                code: outcome.code,
                errors: terraform::summary::error_lines(&outcome.output),
                log: outcome.log.display().to_string(),
            }));
        }
        Ok(())
    }
}
