//! Raw building blocks shared by both config generations: scalars read as text, maps that keep
//! their keys' source positions, secret references, and the Copilot-style service settings
//! (desired count, autoscaling) that exo-deploy adds to both formats.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML scalar read as text: `version: 0.22` and `version: "0.22"` both give `0.22`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping whose keys keep their source position, in file order (`null` reads as empty).
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    out.push((key, map.next_value::<V>()?));
                }
                Ok(Entries(out))
            }
        }
        // any: an empty value (`default:`) reads as no entries, as Exosphere read it
        d.deserialize_any(Vis(PhantomData))
    }
}

/// Secrets as users write them: a list of names (each read from SSM Parameter Store at
/// `/<app>/<env>/<NAME>`), or a map from name to a reference (`ssm:/path`,
/// `secretsmanager:name`, or an ARN). Never values.
#[derive(Debug, Default)]
pub struct Secrets(pub Vec<(Spanned<String>, Option<Spanned<String>>)>);

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Secrets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of secret names, or a map from name to `ssm:/path` or `secretsmanager:name`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Secrets, E> {
                Ok(Secrets::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Secrets, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<Spanned<String>>()? {
                    out.push((name, None));
                }
                Ok(Secrets(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secrets, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    out.push((name, Some(map.next_value::<Spanned<String>>()?)));
                }
                Ok(Secrets(out))
            }
        }
        d.deserialize_any(Vis)
    }
}

/// `autoscaling: {min, max, cpu-target}` on a service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Autoscaling {
    pub min: Spanned<u32>,
    pub max: Spanned<u32>,
    pub cpu_target: Option<Spanned<u32>>,
}

/// One webhook of `notify`: where releases and failures are posted, and the secret their
/// HMAC signature is made with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: Spanned<String>,
    pub secret: Option<Spanned<String>>,
}

/// `{min, max}` instances of a cluster's Auto Scaling group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instances {
    pub min: Spanned<u32>,
    pub max: Spanned<u32>,
}

/// The messages a service sends and receives on the ExoCom bus.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    #[serde(default)]
    pub sends: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub receives: Option<Vec<Spanned<String>>>,
}

/// The environment-level settings that exo-deploy adds to both formats (next to the region).
/// Kept as one list so the two formats cannot drift apart; see docs/config.md.
macro_rules! aws_environment_settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $($field)*
            pub region: Option<Spanned<String>>,
            pub account_id: Option<Spanned<crate::config::common::Scalar>>,
            pub ssl_certificate_arn: Option<Spanned<String>>,
            pub remote_state_store: Option<Spanned<String>>,
            pub remote_state_kms_key: Option<Spanned<String>>,
            pub hosted_zone_id: Option<Spanned<String>>,
            pub registry: Option<Spanned<String>>,
            pub public_cluster_size: Option<Spanned<String>>,
            pub private_cluster_size: Option<Spanned<String>>,
            pub public_cluster_instances: Option<crate::config::common::Instances>,
            pub private_cluster_instances: Option<crate::config::common::Instances>,
            pub availability_zones: Option<Spanned<u32>>,
            pub nat_gateways: Option<Spanned<String>>,
            pub vpc_cidr: Option<Spanned<String>>,
            pub log_retention_days: Option<Spanned<u32>>,
            pub outbound: Option<Vec<Spanned<String>>>,
            pub secrets_kms_key: Option<Spanned<String>>,
            pub exocom_image: Option<Spanned<String>>,
            pub registry_credentials: Option<crate::config::common::Entries<Spanned<String>>>,
            pub eni_trunking: Option<Spanned<bool>>,
            pub flow_logs: Option<Spanned<bool>>,
            pub container_insights: Option<Spanned<String>>,
            pub detailed_monitoring: Option<Spanned<bool>>,
            pub ecs_exec: Option<Spanned<bool>>,
            pub vpc_endpoints: Option<Spanned<bool>>,
            pub deletion_protection: Option<Spanned<bool>>,
            pub final_snapshot: Option<Spanned<bool>>,
            pub keep_releases: Option<Spanned<u32>>,
            pub role_arn: Option<Spanned<String>>,
            pub profile: Option<Spanned<String>>,
            pub notify: Option<Vec<crate::config::common::Webhook>>,
        }
    };
}
pub(crate) use aws_environment_settings;

/// The service-level settings exo-deploy adds to both formats.
macro_rules! service_deploy_settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $($field)*
            pub desired_count: Option<Spanned<u32>>,
            pub priority: Option<Spanned<u32>>,
            pub autoscaling: Option<crate::config::common::Autoscaling>,
            pub outbound: Option<Vec<Spanned<String>>>,
            pub health_check_grace_period: Option<Spanned<u32>>,
            #[serde(default)]
            pub environment_variables: crate::config::common::Entries<Spanned<crate::config::common::Scalar>>,
            #[serde(default)]
            pub secrets: crate::config::common::Secrets,
        }
    };
}
pub(crate) use service_deploy_settings;
