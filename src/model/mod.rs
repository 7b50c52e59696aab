//! Stage 2: the resolved model, which is what the rest of exo-deploy believes about an app.
//! Both config generations resolve into these types; defaults, inheritance (environment-wide
//! variables and secrets flow into every service) and all cross-field checks happen in
//! [`resolve`], and nowhere else.

pub mod capacity;
mod draft;
pub mod image;
pub mod instance_types;
mod resolve;
pub mod tags;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use resolve::{default_state_bucket, resolve};

/// Default ExoCom version when the config names none.
pub const DEFAULT_EXOCOM_VERSION: &str = "0.27.0";
/// The role ExoCom runs under, beside the app's services (so no service may take it).
pub const EXOCOM_ROLE: &str = "exocom";
/// The port ExoCom listens on, passed to services as `EXOCOM_PORT`.
pub const EXOCOM_PORT: u16 = 3100;
/// CPU units and memory (MiB) of the ExoCom task.
pub const EXOCOM_CPU: u32 = 256;
pub const EXOCOM_MEMORY: u32 = 512;
/// How many tasks, in percent of its count, a service may run during its deployment (the
/// ecs-service module's default); ExoCom runs at most 100%.
pub const DEPLOY_MAX_PERCENT: u32 = 200;

impl App {
    /// The clusters (`public`, `private`) whose instance type exo-deploy's table lacks: their
    /// capacity is checked against what EC2 says of it, in preflight.
    pub fn clusters_beyond_the_table(&self) -> Vec<(&'static str, &Cluster)> {
        let public = self.has_public_services();
        [
            ("public", &self.env.public_cluster, public),
            ("private", &self.env.private_cluster, true),
        ]
        .into_iter()
        .filter(|(_, c, used)| *used && instance_types::lookup(&c.instance_type).is_none())
        .map(|(name, c, _)| (name, c))
        .collect()
    }
}

/// The least CPU units ECS gives a task (a container may have fewer).
pub const MIN_TASK_CPU: u32 = 128;

/// The Dockerfiles a service of an app in `format` is built from for deploying, in order. The
/// Exosphere formats: `Dockerfile.prod`, which Exosphere 0.24+ built deploy images from
/// (`ex@v0.26.0:src/docker/composebuilder/production.go`, `ex@v0.37.0:
/// src/docker/composebuilder/service_builder.go`), else `Dockerfile` (0.23's one). The original
/// exo-deploy format: `Dockerfile`, else `Dockerfile.prod`. `Dockerfile.dev` never: Exosphere
/// ran services locally from it.
pub fn deploy_dockerfiles(format: Format) -> [&'static str; 2] {
    match format {
        Format::ExoDeploy => ["Dockerfile", "Dockerfile.prod"],
        Format::ExosphereProduction | Format::ExosphereRemote | Format::Exosphere => {
            ["Dockerfile.prod", "Dockerfile"]
        }
    }
}

/// `name` when it has at most `max` characters (names here are ASCII), else its start and a
/// short hash of the whole, so that two long names never meet.
pub fn shortened(name: String, max: usize) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= max {
        return name;
    }
    let hash: String = Sha256::digest(name.as_bytes())[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{hash}", name[..max - 7].trim_end_matches('-'))
}

/// An app, resolved for one environment.
#[derive(Debug, Clone, Serialize)]
pub struct App {
    /// The app's name: a lowercase DNS label.
    pub name: String,
    /// `version` from application.yml, or `0.0.0`.
    pub version: String,
    /// Which config generation it was written in.
    pub format: Format,
    /// The app folder.
    pub dir: PathBuf,
    /// The ExoCom message bus.
    pub bus: Bus,
    /// The environment being deployed.
    pub env: Environment,
    /// Every environment's name, in file order.
    pub environments: Vec<String>,
    /// The services, sorted by role.
    pub services: Vec<Service>,
    /// The databases the services use, by id.
    pub databases: Vec<Database>,
    /// Every value the config writes for this environment (after `extends` and
    /// per-environment overrides) and where: `exo-deploy config --show-origin`.
    #[serde(skip)]
    pub origins: Vec<Origin>,
    /// What the config says that runs, but not as its author may expect (warnings), or in a way
    /// worth knowing (notes): shown before anything is done.
    #[serde(skip)]
    pub warnings: Vec<crate::config::ConfigDiagnostic>,
    /// How many rounds ECS needs to start every service's new tasks when a deploy changes
    /// them all (1: at once); the rollout wait allows its timeout for each.
    pub rollout_rounds: u32,
}

/// A webhook of `notify`: the release record (or the failed step) is posted to `url` as JSON,
/// signed with HMAC-SHA256 under the secret's value when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    pub url: WebhookUrl,
    pub secret: Option<SecretRef>,
}

/// Where a webhook is posted: a url written in the config, or a secret holding the url (a
/// Slack-style url is its own secret, and then stays out of the repository too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum WebhookUrl {
    /// Shown (config output, release records) by its host only: a webhook's path may be its
    /// secret.
    Written(#[serde(serialize_with = "host_only")] String),
    /// Read when a notification is sent; shown by the reference.
    Secret(SecretRef),
}

impl WebhookUrl {
    /// How logs show it before it is read: the host of a written url, or the reference.
    pub fn shown(&self) -> String {
        match self {
            WebhookUrl::Written(url) => webhook_host(url),
            WebhookUrl::Secret(SecretRef::Ssm(name)) => format!("ssm:{name}"),
            WebhookUrl::Secret(SecretRef::SecretsManager(name)) => {
                format!("secretsmanager:{name}")
            }
        }
    }
}

fn host_only<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&webhook_host(url))
}

/// A webhook url as logs, config output and records show it: scheme and host only
/// (Slack-style urls hold their secret in the path).
pub fn webhook_host(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    format!("{scheme}://{host}/…")
}

/// A database (`remote.dependencies` of `type: rds`): an RDS instance in the private subnets
/// whose master password RDS manages in Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Database {
    /// The dependency's name: a lowercase DNS label.
    pub id: String,
    /// `postgres`, `mysql` or `mariadb`.
    pub engine: String,
    pub engine_version: String,
    /// GiB.
    pub allocated_storage: u32,
    pub instance_class: String,
    pub storage_type: String,
    pub db_name: String,
    pub username: String,
    pub port: u16,
    /// The services that use it (and only they may connect), by role.
    pub clients: Vec<String>,
    /// The variables its services are told the connection in.
    pub variables: DatabaseVariables,
}

/// The names of the variables a database's services get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseVariables {
    pub host: String,
    pub port: String,
    pub db_name: String,
    pub username: String,
    /// A secret: the password from the secret RDS manages.
    pub password: String,
}

/// One value as written, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The key as users write it (`region`, `services.web.cpu`).
    pub key: String,
    pub value: String,
    /// `file:line:column`.
    pub origin: String,
}

impl App {
    /// Where the environment's Terraform state lives in the state bucket.
    pub fn state_key(&self) -> String {
        format!("{}/{}/terraform.tfstate", self.name, self.env.name)
    }

    /// Whether the app has public services: then it has a load balancer, a public cluster and
    /// DNS records.
    pub fn has_public_services(&self) -> bool {
        self.services_of(ServiceKind::Public).next().is_some()
    }

    /// The domain whose hosted zone the app needs: its public services' records live there.
    /// `None` for apps without public services (or without a domain).
    pub fn hosted_zone_domain(&self) -> Option<&str> {
        self.env
            .domain
            .as_deref()
            .filter(|_| self.has_public_services())
    }

    /// The ExoCom image: the environment's `exocom-image` (a mirror), else the bus version's
    /// image on Docker Hub.
    pub fn exocom_image(&self) -> String {
        self.env
            .exocom_image
            .clone()
            .unwrap_or_else(|| format!("originate/exocom:{}", self.bus.version))
    }

    /// The services of one kind, in role order.
    pub fn services_of(&self, kind: ServiceKind) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.kind == kind)
    }
}

/// The config generation an app was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The original exo-deploy format (`environments`, grouped services).
    ExoDeploy,
    /// Exosphere 0.23–0.31: one environment, its settings in `production:`.
    ExosphereProduction,
    /// Exosphere 0.32–0.34: one environment, its settings in `remote:`.
    ExosphereRemote,
    /// The Exosphere format (`remote.environments`, flat services).
    Exosphere,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::ExoDeploy => "original exo-deploy format",
            Format::ExosphereProduction => "Exosphere 0.23–0.31 format",
            Format::ExosphereRemote => "Exosphere 0.32–0.34 format",
            Format::Exosphere => "Exosphere format",
        })
    }
}

impl Format {
    /// Where an environment's `key` (`region`, `account-id`, …) is written, for help texts.
    pub fn env_key(self, key: &str) -> String {
        match self {
            Format::ExoDeploy if key == "url" => "domain".into(),
            Format::ExoDeploy => format!("providers.aws.{key}"),
            Format::ExosphereProduction => format!("production.{key}"),
            Format::ExosphereRemote => format!("remote.{key}"),
            Format::Exosphere => key.to_string(),
        }
    }

    /// Where a service's container port is written in its service.yml.
    pub fn port_key(self) -> &'static str {
        match self {
            Format::ExoDeploy => "production.aws.public-port",
            _ => "production.port",
        }
    }

    /// Where a public service's url is written in its service.yml.
    pub fn url_key(self, env: &str) -> String {
        match self {
            Format::ExoDeploy | Format::ExosphereProduction => "production.url".into(),
            Format::ExosphereRemote => "remote.url".into(),
            Format::Exosphere => format!("remote.environments.{env}.url"),
        }
    }

    /// Where a service's exo-deploy settings (`priority`, `desired-count`, …) are written.
    pub fn service_settings_key(self, key: &str) -> String {
        match self {
            Format::ExoDeploy | Format::ExosphereProduction => format!("production.{key}"),
            Format::ExosphereRemote | Format::Exosphere => format!("remote.{key}"),
        }
    }

    /// The smallest deployment block of application.yml, for an app that has none.
    pub fn minimal_block(self, public: bool) -> String {
        let url = |indent: &str, key: &str| {
            if public {
                format!(
                    "{indent}{key}: example.com         # the domain the public services' urls are in\n"
                )
            } else {
                String::new()
            }
        };
        match self {
            Format::ExoDeploy => format!(
                "environments:\n  production:\n{}    providers:\n      aws:\n        region: us-east-1\n",
                url("    ", "domain")
            ),
            Format::ExosphereProduction => {
                format!("production:\n{}  region: us-east-1\n", url("  ", "url"))
            }
            Format::ExosphereRemote => {
                format!("remote:\n{}  region: us-east-1\n", url("  ", "url"))
            }
            Format::Exosphere => format!(
                "remote:\n  environments:\n    production:\n{}      region: us-east-1\n",
                url("      ", "url")
            ),
        }
    }
}

/// The ExoCom message bus.
#[derive(Debug, Clone, Serialize)]
pub struct Bus {
    /// The ExoCom image tag.
    pub version: String,
}

impl Bus {
    /// Whether the version is `major.minor` or later; a tag that is not a version counts as
    /// the newest.
    pub fn version_at_least(&self, major: u64, minor: u64) -> bool {
        let mut parts = self.version.trim_start_matches('v').split('.');
        let (Some(Ok(ma)), Some(Ok(mi))) = (
            parts.next().map(str::parse::<u64>),
            parts.next().map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u64>()
            }),
        ) else {
            return true;
        };
        (ma, mi) >= (major, minor)
    }
}

/// One deployment environment's settings.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// The environment's name: a lowercase DNS label.
    pub name: String,
    /// The AWS region.
    pub region: String,
    /// The AWS account the environment must be deployed to, when the config names one.
    pub account_id: Option<String>,
    /// The DNS zone the app's urls live in; `None` for apps without public services.
    pub domain: Option<String>,
    /// An ACM certificate for HTTPS on the load balancer.
    pub ssl_certificate_arn: Option<String>,
    /// The S3 bucket for Terraform state, when configured (else derived at bootstrap).
    pub state_bucket: Option<String>,
    /// A KMS key for the state bucket's default encryption (SSE-S3 when `None`).
    pub state_kms_key: Option<String>,
    /// A hosted zone to use, when several share the domain's name.
    pub hosted_zone_id: Option<String>,
    /// Where images are pushed (`host[/namespace]`); the account's ECR registry when `None`.
    pub registry: Option<String>,
    /// The cluster public services run on.
    pub public_cluster: Cluster,
    /// The cluster private services, workers and ExoCom run on.
    pub private_cluster: Cluster,
    /// How many availability zones the VPC spans.
    pub availability_zones: u32,
    /// NAT gateways: one shared, or one per availability zone.
    pub nat_gateways: NatGateways,
    /// The VPC's CIDR block.
    pub vpc_cidr: String,
    /// How long container logs are kept.
    pub log_retention_days: u32,
    /// The outbound traffic services may send beyond the VPC: `None` for all of it, else only
    /// these rules (each service may set its own).
    pub outbound: Option<Vec<OutboundRule>>,
    /// The customer-managed KMS key the app's secrets are encrypted with, when they are: the
    /// execution roles may decrypt with it, through Secrets Manager and SSM only.
    pub secrets_kms_key: Option<String>,
    /// The ExoCom image to run instead of `originate/exocom:<version>` from Docker Hub: a
    /// mirror in the app's own registry, best pinned by digest.
    pub exocom_image: Option<String>,
    /// Pull credentials for images in private registries other than ECR: registry host →
    /// the Secrets Manager secret (ARN) holding `{"username", "password"}`.
    pub registry_credentials: BTreeMap<String, String>,
    /// The account uses ENI trunking (`awsvpcTrunking`) for the clusters' instances: more
    /// tasks per instance. An account setting exo-deploy verifies and never changes.
    pub eni_trunking: bool,
    /// VPC flow logs of all traffic, kept `log_retention_days`.
    pub flow_logs: bool,
    /// CloudWatch Container Insights on the clusters.
    pub container_insights: ContainerInsights,
    /// One-minute EC2 metrics for the clusters' instances.
    pub detailed_monitoring: bool,
    /// ECS Exec in the services' tasks (`exo-deploy exec`), with the task-role permissions it
    /// needs; off unless asked for.
    pub ecs_exec: bool,
    /// Interface endpoints for ECR and CloudWatch Logs, so that image pulls and logs stay off
    /// the NAT (the free S3 gateway endpoint is always there).
    pub vpc_endpoints: bool,
    /// Databases refuse deletion and leave a final snapshot (default: on for an environment
    /// named `production` or `prod`).
    pub deletion_protection: bool,
    /// A database deleted after all leaves a final snapshot (default: on for an environment
    /// named `production` or `prod`, so that turning protection off to tear down keeps one).
    pub final_snapshot: bool,
    /// How many of the environment's last releases keep their images in the ECR repositories
    /// exo-deploy creates (for `rollback` and `promote`).
    pub keep_releases: u32,
    /// The IAM role exo-deploy (and Terraform) assume for this environment, when it deploys
    /// with other credentials than the caller's (another account, say).
    pub role_arn: Option<String>,
    /// The AWS profile this environment deploys with, when not the default chain's.
    pub profile: Option<String>,
    /// Webhooks told of each release and each failed deploy.
    pub notify: Vec<Webhook>,
}

impl Environment {
    /// Whose credentials the environment deploys with.
    pub fn access(&self) -> crate::adapters::aws::Access {
        crate::adapters::aws::Access {
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
        }
    }
}

/// CloudWatch Container Insights on a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerInsights {
    /// Task- and container-level metrics too.
    Enhanced,
    /// Cluster- and service-level metrics.
    Enabled,
    Disabled,
}

impl ContainerInsights {
    /// The names users write, which are also ECS's setting values.
    pub const NAMES: [&'static str; 3] = ["enhanced", "enabled", "disabled"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// One kind of outbound traffic a service may send: a protocol, a port range and a
/// destination. Traffic inside the VPC (ExoCom, private services) is always allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboundRule {
    /// `tcp` or `udp`.
    pub protocol: String,
    pub from_port: u16,
    pub to_port: u16,
    /// The destination, `0.0.0.0/0` unless one is written.
    pub cidr: String,
}

/// An ECS cluster's Auto Scaling group.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cluster {
    /// The EC2 instance type.
    pub instance_type: String,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
}

impl Cluster {
    /// The CPU architecture of its instances: the table's, else by AWS's naming (preflight
    /// checks that guess against what EC2 says of the type).
    pub fn arch(&self) -> instance_types::Arch {
        instance_types::lookup(&self.instance_type).map_or_else(
            || instance_types::arch_by_name(&self.instance_type),
            |t| t.arch,
        )
    }
}

/// How NAT gateways are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatGateways {
    /// One NAT gateway shared by all private subnets (cheaper).
    Single,
    /// One per availability zone (survives the loss of a zone).
    PerAz,
}

/// What a service is for, which decides how it is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// Reached from the internet through the load balancer at its url.
    Public,
    /// Reached inside the VPC only, at `<role>.<app>.internal`.
    Private,
    /// Reached by nobody: talks over ExoCom only.
    Worker,
}

impl ServiceKind {
    /// The names users write.
    pub const NAMES: [&'static str; 3] = ["public", "private", "worker"];

    /// Parses a user-written kind.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(ServiceKind::Public),
            "private" => Some(ServiceKind::Private),
            "worker" => Some(ServiceKind::Worker),
            _ => None,
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::NAMES[*self as usize])
    }
}

impl Environment {
    /// The cluster services of `kind` run on: public ones on the public cluster, the rest
    /// (with ExoCom) on the private one.
    pub fn cluster_of(&self, kind: ServiceKind) -> &Cluster {
        match kind {
            ServiceKind::Public => &self.public_cluster,
            ServiceKind::Private | ServiceKind::Worker => &self.private_cluster,
        }
    }
}

/// One service of the app.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// The service's role: a lowercase DNS label, unique in the app.
    pub role: String,
    /// Public, private or worker.
    pub kind: ServiceKind,
    /// Where its image comes from.
    pub image: ImageSource,
    /// The container port, for public and private services that listen.
    pub port: Option<u16>,
    /// The public host name, for public services.
    pub url: Option<String>,
    /// The path the load balancer checks.
    pub health_check: String,
    /// Seconds after a task starts during which failing load balancer health checks are
    /// ignored (public services).
    pub health_check_grace_period: u32,
    /// The load balancer listener rule's priority, for public services: the config's
    /// `priority`, else [`listener_priority`] of the role.
    pub priority: Option<u32>,
    /// CPU units (1024 = one vCPU) of its task.
    pub cpu: u32,
    /// The container's own CPU units, when fewer than its task's (at least
    /// [`MIN_TASK_CPU`]).
    pub container_cpu: Option<u32>,
    /// Memory in MiB.
    pub memory: u32,
    /// Tasks to run (the autoscaling minimum when autoscaling is on).
    pub desired_count: u32,
    /// Target tracking on CPU, when configured.
    pub autoscaling: Option<Autoscaling>,
    /// Outbound traffic beyond the VPC: `None` for all of it, else only these rules (the
    /// service's own, else the environment's).
    pub outbound: Option<Vec<OutboundRule>>,
    /// Plain environment variables, environment-wide ones first overridden by the service's.
    pub environment: BTreeMap<String, String>,
    /// Secrets as references, never values.
    pub secrets: BTreeMap<String, SecretRef>,
    /// ExoCom messages the service sends.
    pub sends: Vec<String>,
    /// ExoCom messages the service receives.
    pub receives: Vec<String>,
    /// The ExoCom namespace (original format).
    pub namespace: Option<String>,
    /// ExoCom message translations: the service's own names for messages the others know
    /// under another.
    pub translations: Vec<Translation>,
}

/// One ExoCom message translation: the service sends and receives `internal` for the message
/// everyone else knows as `public`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Translation {
    pub public: String,
    pub internal: String,
}

/// Highest priority an application load balancer's listener rule may have.
pub const MAX_LISTENER_PRIORITY: u32 = 50_000;

/// The listener rule priority of a public service with role `role`, when its config sets none:
/// a pure function of the role (the first four bytes of its SHA-256, onto 1–50,000), so adding
/// or removing another service never moves a rule. Two roles that meet are a config error.
pub fn listener_priority(role: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(role.as_bytes());
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) % MAX_LISTENER_PRIORITY + 1
}

/// Where a service's image comes from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ImageSource {
    /// Built from a Dockerfile in the service folder and pushed.
    Build {
        /// The build context.
        context: PathBuf,
        /// The Dockerfile in it ([`deploy_dockerfiles`]: `Dockerfile.prod` first for an
        /// Exosphere app, as Exosphere 0.24+ built deploy images from it).
        dockerfile: String,
        /// The repository to push to, when the config names the image (`docker_image` beside
        /// `location`): under the configured registry, or on its own host when it names one.
        /// Else `<app>-<role>`.
        #[serde(skip_serializing_if = "Option::is_none")]
        repository: Option<String>,
    },
    /// An image that already exists in a registry, used as is.
    Prebuilt {
        /// The image reference.
        image: String,
    },
}

/// ECS service autoscaling on average CPU.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Autoscaling {
    /// Fewest tasks.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
    /// Target average CPU utilisation, percent.
    pub cpu_target: u32,
}

/// Where a secret's value lives. exo-deploy only ever handles the reference.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "store", content = "name")]
pub enum SecretRef {
    /// An SSM Parameter Store parameter name (starting with `/`) or ARN.
    Ssm(String),
    /// A Secrets Manager secret name or ARN.
    SecretsManager(String),
}
