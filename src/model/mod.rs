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
    /// The Exosphere format (`remote`, flat services).
    Exosphere,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::ExoDeploy => "original exo-deploy format",
            Format::Exosphere => "Exosphere format",
        })
    }
}

/// The ExoCom message bus.
#[derive(Debug, Clone, Serialize)]
pub struct Bus {
    /// The ExoCom image tag.
    pub version: String,
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
    /// The CPU architecture of its instances (x86_64 for a type exo-deploy does not know,
    /// which the config check refuses anyway).
    pub fn arch(&self) -> instance_types::Arch {
        instance_types::lookup(&self.instance_type).map_or(instance_types::Arch::X86_64, |t| t.arch)
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
    /// CPU units (1024 = one vCPU).
    pub cpu: u32,
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
