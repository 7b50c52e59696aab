//! The original exo-deploy format (2016–18): top-level `environments`, services grouped into
//! `public`/`private`/`worker`, AWS settings under `providers.aws`, and a `service.yml` whose
//! `type` names the image while the group gives the kind.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::common::{
    Entries, Messages, Scalar, Secrets, aws_environment_settings, service_deploy_settings,
};

/// `application.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppFile {
    pub name: Spanned<String>,
    pub version: Option<Spanned<Scalar>>,
    pub bus: Option<Bus>,
    pub environments: Spanned<Entries<Environment>>,
    pub services: Spanned<ServiceGroups>,
    pub description: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
    pub dependencies: Option<IgnoredAny>,
}

/// `bus: {type: exocom, version}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bus {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub version: Spanned<Scalar>,
}

/// `environments.<env>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Environment {
    /// Another environment whose settings this one starts from **(exo-deploy)**.
    pub extends: Option<Spanned<String>>,
    pub domain: Option<Spanned<String>>,
    pub providers: Option<Spanned<Providers>>,
    #[serde(default)]
    pub environment_variables: Entries<Spanned<Scalar>>,
    #[serde(default)]
    pub secrets: Secrets,
}

/// `providers`: only AWS is deployable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Providers {
    pub aws: Option<AwsSettings>,
}

aws_environment_settings! {
    /// `environments.<env>.providers.aws`.
    pub struct AwsSettings {}
}

/// `services.{public,private,worker}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceGroups {
    #[serde(default)]
    pub public: Entries<ServiceRef>,
    #[serde(default)]
    pub private: Entries<ServiceRef>,
    #[serde(default)]
    pub worker: Entries<ServiceRef>,
}

/// `services.<group>.<role>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRef {
    pub location: Option<Spanned<String>>,
    pub docker_image: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
}

/// A service's `service.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceFile {
    /// The image's name in this format (the group in application.yml gives the kind).
    #[serde(rename = "type")]
    pub image_name: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub messages: Messages,
    pub production: Option<Production>,
    /// Per-environment overrides of `production` **(exo-deploy)**.
    #[serde(default)]
    pub environments: Entries<Production>,
    pub author: Option<IgnoredAny>,
    pub description: Option<IgnoredAny>,
    pub setup: Option<IgnoredAny>,
    pub startup: Option<IgnoredAny>,
    pub docker: Option<IgnoredAny>,
    pub dependencies: Option<IgnoredAny>,
    pub tests: Option<IgnoredAny>,
    pub restart: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
}

service_deploy_settings! {
    /// `production` in service.yml.
    pub struct Production {
        pub url: Option<Spanned<String>>,
        pub health_check: Option<Spanned<String>>,
        pub aws: Option<AwsService>,
    }
}

/// `production.aws` in service.yml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AwsService {
    pub cpu: Option<Spanned<u32>>,
    pub memory: Option<Spanned<u32>>,
    pub public_port: Option<Spanned<u32>>,
}
