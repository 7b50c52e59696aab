//! The Exosphere format (0.35 and later, its last): `remote.environments`, a flat `services`
//! map, and a `service.yml` whose `type` is `public`, `private` or `worker`. What Exosphere's
//! Go code read (Originate/exosphere master, `src/types/*.go`) is read here; keys it dropped
//! along the way (`description`, `version`, `author`, `templates`) and keys that only mattered
//! to `exo run` (`local`, `development`, `shared-directories`) are accepted and ignored.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::common::{Entries, Scalar, Secrets, aws_environment_settings, service_deploy_settings};

/// `application.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppFile {
    pub name: Spanned<String>,
    pub version: Option<Spanned<Scalar>>,
    /// None: an app without deployment settings (reported as such).
    pub remote: Option<Spanned<Remote>>,
    pub services: Spanned<Entries<ServiceRef>>,
    pub description: Option<IgnoredAny>,
    pub author: Option<IgnoredAny>,
    pub templates: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub shared_directories: Option<IgnoredAny>,
}

/// `remote`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    #[serde(default)]
    pub dependencies: Entries<Dependency>,
    pub environments: Spanned<Entries<Environment>>,
}

/// `remote.dependencies.<id>`; `exocom` is the bus.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dependency {
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub template_config: Option<TemplateConfig>,
}

/// `remote.dependencies.<id>.template-config`: ExoCom's version, or a database's settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TemplateConfig {
    pub version: Option<Spanned<Scalar>>,
    pub engine: Option<Spanned<String>>,
    pub engine_version: Option<Spanned<Scalar>>,
    pub allocated_storage: Option<Spanned<u32>>,
    pub instance_class: Option<Spanned<String>>,
    pub storage_type: Option<Spanned<String>>,
    pub db_name: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    /// The variable the password is given in (Exosphere kept the password in a secret of
    /// this name; RDS manages it here).
    pub password_secret_name: Option<Spanned<String>>,
    /// The variables services get, by what they hold: `host`, `port`, `db-name`,
    /// `username`, `password`.
    #[serde(default)]
    pub service_env_var_names: Entries<Spanned<String>>,
}

aws_environment_settings! {
    /// `remote.environments.<env>`.
    pub struct Environment {
        /// Another environment whose settings this one starts from **(exo-deploy)**.
        pub extends: Option<Spanned<String>>,
        pub url: Option<Spanned<String>>,
        #[serde(default)]
        pub environment_variables: Entries<Spanned<Scalar>>,
        /// The name before 0.35 (`environment-variables` since): Exosphere 0.35+ ignored it;
        /// read as `environment-variables`, with a warning.
        pub environment: Option<Spanned<Entries<Spanned<Scalar>>>>,
        #[serde(default)]
        pub secrets: Secrets,
    }
}

/// `services.<role>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceRef {
    pub location: Option<Spanned<String>>,
    pub docker_image: Option<Spanned<String>>,
    /// What ExoCom needs to know of the service: its message `translations`.
    #[serde(default)]
    pub dependency_data: super::exosphere_early::AppDependencyData,
    /// The original format's ExoCom namespace and image spelling, which the Go tool ignored.
    pub namespace: Option<IgnoredAny>,
    #[serde(rename = "docker_image")]
    pub docker_image_underscored: Option<IgnoredAny>,
    pub silent: Option<IgnoredAny>,
}

/// A service's `service.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceFile {
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub production: Option<Production>,
    pub remote: Option<RemoteService>,
    #[serde(default)]
    pub dependency_data: DependencyData,
    pub description: Option<IgnoredAny>,
    pub author: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub startup: Option<IgnoredAny>,
    pub setup: Option<IgnoredAny>,
    pub tests: Option<IgnoredAny>,
    pub docker: Option<IgnoredAny>,
    pub restart: Option<IgnoredAny>,
    pub user_data: Option<IgnoredAny>,
    /// Some 2016 example apps name the service here.
    pub name: Option<IgnoredAny>,
    /// To 0.32: ExoCom's messages (`dependency-data.exocom` since).
    #[serde(default)]
    pub messages: super::common::Messages,
}

/// `production` in service.yml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Production {
    pub port: Option<Spanned<u32>>,
    pub health_check: Option<Spanned<String>>,
}

service_deploy_settings! {
    /// `remote` in service.yml.
    pub struct RemoteService {
        pub cpu: Option<Spanned<u32>>,
        pub memory: Option<Spanned<u32>>,
        /// Databases this service uses (the app's `remote.dependencies` are every service's).
        #[serde(default)]
        pub dependencies: Entries<Dependency>,
        #[serde(default)]
        pub environments: Entries<ServiceEnvironment>,
    }
}

service_deploy_settings! {
    /// `remote.environments.<env>` in service.yml: the url, and any of `remote`'s settings
    /// for that environment.
    pub struct ServiceEnvironment {
        pub url: Option<Spanned<String>>,
        pub cpu: Option<Spanned<u32>>,
        pub memory: Option<Spanned<u32>>,
    }
}

/// `dependency-data`: what each remote dependency needs from this service. Only ExoCom's
/// entry is read; the others belong to their templates.
#[derive(Debug, Default, Deserialize)]
pub struct DependencyData {
    #[serde(default)]
    pub exocom: Option<super::exosphere_early::ExocomData>,
}
