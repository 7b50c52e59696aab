//! The original exo-deploy format (2016–18): top-level `environments`, services grouped into
//! `public`/`private`/`worker`, AWS settings under `providers.aws`, and a `service.yml` whose
//! `type` names the image while the group gives the kind. Exosphere 0.22 replaced `bus` with a
//! `dependencies` list and left exo-deploy as it was, so that is read here too.
//!
//! What the LiveScript exo-deploy read (Originate/exosphere d0c185dbd, `exo-deploy/src/`,
//! identical at v0.22.1) is read here; keys only other commands read (`setup`, `startup`'s
//! `online-text`, `docker`, `tests`, `restart`, the `local` environment) are accepted and
//! ignored.

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
    /// None: an app without deployment settings (reported as such). An environment written
    /// empty (`local:`) is `None` too.
    pub environments: Option<Spanned<Entries<Option<Environment>>>>,
    pub services: Spanned<ServiceGroups>,
    /// 0.22: `[{type: exocom, version}]`, the bus.
    pub dependencies: Option<Vec<BusDependency>>,
    pub description: Option<IgnoredAny>,
    pub author: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
}

/// An entry of 0.22's `dependencies` (`type: exocom` or `nats`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusDependency {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub version: Option<Spanned<Scalar>>,
    pub dev: Option<IgnoredAny>,
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
    /// The documented shape of an environment besides `production` (Exosphere's
    /// `application_yml.md` at v0.22.1): `url` is its domain, `provider` must be `aws`, and
    /// `region` is `providers.aws.region`.
    pub url: Option<Spanned<String>>,
    pub provider: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
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
    /// 0.22's spelling.
    #[serde(rename = "docker-image")]
    pub docker_image_dashed: Option<Spanned<String>>,
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
    /// `command` was the container's command; `online-text` only mattered to `exo run`.
    pub startup: Option<Startup>,
    /// The service's dependencies by name; `mongo` made exo-deploy pass the deployer's
    /// `MONGODB_USER` and `MONGODB_PW` to the container.
    #[serde(default)]
    pub dependencies: DependencyNames,
    pub author: Option<IgnoredAny>,
    /// Some example apps name the service here instead of `type`.
    pub name: Option<IgnoredAny>,
    pub description: Option<IgnoredAny>,
    pub setup: Option<IgnoredAny>,
    pub docker: Option<IgnoredAny>,
    pub tests: Option<IgnoredAny>,
    pub restart: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
    pub user_data: Option<IgnoredAny>,
}

/// `startup` in service.yml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Startup {
    pub command: Option<Spanned<String>>,
    pub online_text: Option<IgnoredAny>,
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
    /// Never read by exo-deploy (every container it deployed was essential).
    pub essential: Option<IgnoredAny>,
}

/// A service's dependencies, by name: a map by name (the original exo-deploy read its keys),
/// or a list of `{name, version}` (as Exosphere's later generations wrote them).
#[derive(Debug, Default)]
pub struct DependencyNames(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for DependencyNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        #[derive(Deserialize)]
        struct Named {
            name: Spanned<String>,
            #[serde(flatten)]
            _rest: std::collections::BTreeMap<String, IgnoredAny>,
        }
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = DependencyNames;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of dependencies by name, or a list of `{name, version}`")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<DependencyNames, E> {
                Ok(DependencyNames::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DependencyNames, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    map.next_value::<IgnoredAny>()?;
                    out.push(name);
                }
                Ok(DependencyNames(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DependencyNames, A::Error> {
                let mut out = Vec::new();
                while let Some(d) = seq.next_element::<Named>()? {
                    out.push(d.name);
                }
                Ok(DependencyNames(out))
            }
        }
        d.deserialize_any(Vis)
    }
}
