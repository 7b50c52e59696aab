//! Exosphere 0.23–0.34 (the Go tool, August–December 2017), between the original exo-deploy
//! format and the final one: one deployed environment, `production`, whose settings sit in a
//! `production:` block (0.23–0.31) or a `remote:` block without `environments` (0.32–0.34);
//! services grouped into `public`/`private`/`worker` in application.yml (to 0.30), or a flat
//! map whose service.yml says `type: public|worker` (0.31+).
//!
//! What Exosphere's own code read is read here, keys it never read for deploying are accepted
//! and ignored (`description`, `author`, `startup`, `tests`, `development`, `local`, `docker`,
//! `user-data`, …). Sources: Originate/exosphere `src/types/*.go` at v0.23.0.alpha.5, v0.24.0,
//! v0.26.0, v0.30.0, v0.31.0, v0.32.0, v0.33.3 and v0.34.0 (`AppConfig`, `ServiceConfig`,
//! `ServiceProductionConfig`, `ServiceRemoteConfig`, `AppRemoteConfig`, `RemoteDependency`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
    /// 0.23–0.25: every dependency, run locally and deployed.
    pub dependencies: Option<Dependencies>,
    /// 0.23–0.31: the deployment.
    pub production: Option<Spanned<Deploy>>,
    /// 0.32–0.34: the deployment.
    pub remote: Option<Spanned<Deploy>>,
    pub services: Spanned<Services>,
    pub description: Option<IgnoredAny>,
    pub author: Option<IgnoredAny>,
    pub templates: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
}

aws_environment_settings! {
    /// `production` (0.23–0.31) or `remote` (0.32–0.34) in application.yml: the app's url (its
    /// hosted zone), region, account, certificate and remote dependencies.
    pub struct Deploy {
        pub url: Option<Spanned<String>>,
        #[serde(default)]
        pub dependencies: Dependencies,
        /// 0.33.3: variables of every service.
        #[serde(default)]
        pub environment: Entries<Spanned<Scalar>>,
        /// 0.33.3: secrets of every service.
        #[serde(default)]
        pub secrets: Secrets,
    }
}

/// Dependencies, as a list `[{name, version, config}]` (0.23–0.32) or a map by id
/// `{<id>: {type, config | template-config}}` (0.33+).
#[derive(Debug, Default)]
pub struct Dependencies(pub Vec<Dependency>);

/// One dependency, in either shape.
#[derive(Debug)]
pub struct Dependency {
    /// The list entry's `name`, or the map's key.
    pub id: Spanned<String>,
    /// `type` (0.33+); a list entry's name is its type.
    pub kind: Option<Spanned<String>>,
    /// `version` (list entries; ExoCom's image tag, a database's engine version).
    pub version: Option<Spanned<Scalar>>,
    /// `config` (0.26–0.33.2) or `template-config` (0.33.3+).
    pub config: Option<DependencyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ListDependency {
    name: Spanned<String>,
    version: Option<Spanned<Scalar>>,
    config: Option<DependencyConfig>,
    /// Local log silencing (to 0.28).
    #[serde(rename = "silent")]
    _silent: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct MapDependency {
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    config: Option<DependencyConfig>,
    template_config: Option<DependencyConfig>,
}

/// A dependency's settings: ExoCom's `version`, a database's (flat in `template-config`, under
/// `rds` in 0.26–0.31's `config`), and what only mattered locally.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DependencyConfig {
    pub version: Option<Spanned<Scalar>>,
    pub rds: Option<Box<DependencyConfig>>,
    pub engine: Option<Spanned<String>>,
    pub engine_version: Option<Spanned<Scalar>>,
    pub allocated_storage: Option<Spanned<Scalar>>,
    pub instance_class: Option<Spanned<String>>,
    pub storage_type: Option<Spanned<String>>,
    pub db_name: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password_secret_name: Option<Spanned<String>>,
    /// 0.26–0.31: `{db-name, username, password}` → variable names.
    #[serde(default)]
    pub service_env_var_names: Entries<Spanned<String>>,
    /// 0.33.3's flat spelling of the same.
    pub service_env_var_db_name: Option<Spanned<String>>,
    pub service_env_var_username: Option<Spanned<String>>,
    pub service_env_var_password: Option<Spanned<String>>,
    /// Local only (`exo run`).
    pub ports: Option<IgnoredAny>,
    pub volumes: Option<IgnoredAny>,
    pub online_text: Option<IgnoredAny>,
    pub dependency_environment: Option<IgnoredAny>,
    pub service_environment: Option<IgnoredAny>,
    pub persist: Option<IgnoredAny>,
    pub external_in_production: Option<IgnoredAny>,
}

impl<'de> Deserialize<'de> for Dependencies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Dependencies;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of `{name, version}` or a map of dependencies by id")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Dependencies, E> {
                Ok(Dependencies::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dependencies, A::Error> {
                let mut out = Vec::new();
                while let Some(d) = seq.next_element::<ListDependency>()? {
                    out.push(Dependency {
                        kind: Some(d.name.clone()),
                        id: d.name,
                        version: d.version,
                        config: d.config,
                    });
                }
                Ok(Dependencies(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dependencies, A::Error> {
                let mut out = Vec::new();
                while let Some(id) = map.next_key::<Spanned<String>>()? {
                    let d = map.next_value::<Option<MapDependency>>()?;
                    let (kind, config) = match d {
                        Some(d) => (d.kind, d.template_config.or(d.config)),
                        None => (None, None),
                    };
                    out.push(Dependency {
                        id,
                        kind,
                        version: None,
                        config,
                    });
                }
                Ok(Dependencies(out))
            }
        }
        d.deserialize_any(Vis)
    }
}

impl Dependency {
    /// Whether it is the bus.
    pub fn is_exocom(&self) -> bool {
        self.id.value == "exocom" || self.kind.as_ref().is_some_and(|k| k.value == "exocom")
    }

    /// ExoCom's image tag: the entry's `version`, else its config's.
    pub fn exocom_version(&self) -> Option<&Spanned<Scalar>> {
        self.version
            .as_ref()
            .or_else(|| self.config.as_ref()?.version.as_ref())
    }
}

/// `services`: grouped by kind into `public`, `private` and `worker` (to 0.30), or one map of
/// services whose service.yml says its `type` (0.31+). A service named like a group cannot be
/// told from it; Exosphere had none.
#[derive(Debug, Default)]
pub struct Services {
    /// `(group, its services)`, in file order.
    pub groups: Vec<(Spanned<String>, Entries<ServiceRef>)>,
    /// Services outside any group.
    pub flat: Entries<ServiceRef>,
}

/// The groups of `services` to 0.30.
pub const GROUPS: [&str; 3] = ["public", "private", "worker"];

impl<'de> Deserialize<'de> for Services {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Services;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of services, or of the groups public, private and worker")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Services, E> {
                Ok(Services::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Services, A::Error> {
                let mut out = Services::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if GROUPS.contains(&key.value.as_str()) {
                        let group = map.next_value::<Entries<Option<ServiceRef>>>()?;
                        let group = group
                            .0
                            .into_iter()
                            .map(|(role, r)| (role, r.unwrap_or_default()))
                            .collect();
                        out.groups.push((key, Entries(group)));
                    } else {
                        let service = map.next_value::<Option<ServiceRef>>()?;
                        out.flat.0.push((key, service.unwrap_or_default()));
                    }
                }
                if !out.groups.is_empty() && !out.flat.0.is_empty() {
                    return Err(de::Error::custom(
                        "`services` mixes the groups public, private and worker (Exosphere 0.23–0.30) with services outside them (0.31+): put every service into a group, or none",
                    ));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Vis)
    }
}

/// `services.<role>` (or `services.<group>.<role>`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceRef {
    pub location: Option<Spanned<String>>,
    pub docker_image: Option<Spanned<String>>,
    /// The original exo-deploy spelling, which the Go tool ignored (the folder is built).
    #[serde(rename = "docker_image")]
    pub docker_image_underscored: Option<Spanned<String>>,
    /// ExoCom message translations (0.26–0.32).
    pub message_translation: Option<Vec<Translation>>,
    /// 0.33+: what each dependency needs to know of this service; ExoCom's `translations`.
    #[serde(default)]
    pub dependency_data: AppDependencyData,
    pub namespace: Option<IgnoredAny>,
    pub silent: Option<IgnoredAny>,
}

/// `services.<role>.dependency-data` in application.yml (0.33+).
#[derive(Debug, Default, Deserialize)]
pub struct AppDependencyData {
    #[serde(default)]
    pub exocom: Option<AppExocomData>,
}

/// What ExoCom needs to know of a service, from application.yml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppExocomData {
    #[serde(default)]
    pub translations: Vec<Translation>,
}

/// One ExoCom message translation: the service sends and receives `internal` under the
/// `public` name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub public: Spanned<String>,
    pub internal: Spanned<String>,
}

/// A service's `service.yml`, any version from 0.23 to 0.34.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceFile {
    /// A free name to 0.30 (the group in application.yml gives the kind); `public` or
    /// `worker` from 0.31.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// To 0.32.
    #[serde(default)]
    pub messages: Messages,
    /// 0.33+: ExoCom's `sends`/`receives` (and `translations`).
    #[serde(default)]
    pub dependency_data: ServiceDependencyData,
    /// To 0.32: `{default, development|local, production|remote, secrets}`.
    pub environment: Option<EnvironmentBlock>,
    pub production: Option<Production>,
    pub remote: Option<Remote>,
    pub description: Option<IgnoredAny>,
    pub author: Option<IgnoredAny>,
    pub startup: Option<IgnoredAny>,
    pub restart: Option<IgnoredAny>,
    pub tests: Option<IgnoredAny>,
    pub setup: Option<IgnoredAny>,
    pub docker: Option<IgnoredAny>,
    pub dependencies: Option<IgnoredAny>,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
    pub user_data: Option<IgnoredAny>,
}

/// `dependency-data` in service.yml.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceDependencyData {
    #[serde(default)]
    pub exocom: Option<ExocomData>,
}

/// ExoCom's entry of a service's `dependency-data`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExocomData {
    pub sends: Option<Vec<Spanned<String>>>,
    pub receives: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub translations: Vec<Translation>,
}

/// `environment` in service.yml (to 0.32).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentBlock {
    #[serde(default)]
    pub default: Entries<Spanned<Scalar>>,
    #[serde(default)]
    pub production: Entries<Spanned<Scalar>>,
    #[serde(default)]
    pub remote: Entries<Spanned<Scalar>>,
    #[serde(default)]
    pub secrets: Secrets,
    pub development: Option<IgnoredAny>,
    pub local: Option<IgnoredAny>,
}

service_deploy_settings! {
    /// `production` in service.yml: the url, size, port and health check to 0.31; the port
    /// and health check from 0.33.
    pub struct Production {
        pub url: Option<Spanned<String>>,
        pub cpu: Option<Spanned<Scalar>>,
        pub memory: Option<Spanned<Scalar>>,
        /// To 0.29.
        pub public_port: Option<Spanned<Scalar>>,
        /// 0.30+.
        pub port: Option<Spanned<Scalar>>,
        pub health_check: Option<Spanned<String>>,
        #[serde(default)]
        pub dependencies: Dependencies,
    }
}

service_deploy_settings! {
    /// `remote` in service.yml (0.32–0.34): url, size, variables and secrets.
    pub struct Remote {
        pub url: Option<Spanned<String>>,
        pub cpu: Option<Spanned<Scalar>>,
        pub memory: Option<Spanned<Scalar>>,
        /// 0.32 only.
        pub health_check: Option<Spanned<String>>,
        #[serde(default)]
        pub dependencies: Dependencies,
        #[serde(default)]
        pub environment: Entries<Spanned<Scalar>>,
    }
}
