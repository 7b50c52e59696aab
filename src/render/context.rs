//! The template contexts: plain serializable structs built from the model, one field per thing
//! a template shows. Templates never see the model itself, so the model can change shape
//! without silently changing the Terraform.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Inputs;
use super::hcl::aligned_keys;
use crate::model::image::ImageRef;
use crate::model::instance_types::Arch;
use crate::model::{
    App, EXOCOM_PORT, EXOCOM_ROLE, Environment, NatGateways, OutboundRule, SecretRef, Service,
    ServiceKind,
};

/// The private DNS namespace of an app's environment: ExoCom and private services are found
/// at `<role>.<namespace>`.
pub fn private_domain(app: &App) -> String {
    format!("{}.{}.internal", app.env.name, app.name)
}

/// The hashicorp/aws provider's endpoint names (the same in 5.x and 6.x) of every AWS service
/// the rendered Terraform calls, by the resource-type prefixes that call it: an emulator given
/// with `--endpoint-url` gets all of them, so no call goes to the real AWS.
pub const ENDPOINT_SERVICE_PREFIXES: [(&str, &[&str]); 17] = [
    ("appautoscaling", &["aws_appautoscaling_"]),
    ("autoscaling", &["aws_autoscaling_"]),
    (
        "cloudwatch",
        &["aws_cloudwatch_metric_", "aws_cloudwatch_dashboard"],
    ),
    (
        "ec2",
        &[
            "aws_vpc",
            "aws_subnet",
            "aws_route",
            "aws_internet_gateway",
            "aws_nat_gateway",
            "aws_eip",
            "aws_security_group",
            "aws_default_security_group",
            "aws_launch_template",
            "aws_flow_log",
            "aws_availability_zones",
            "aws_vpc_endpoint",
        ],
    ),
    ("ecs", &["aws_ecs_"]),
    ("elbv2", &["aws_lb"]),
    ("events", &["aws_cloudwatch_event_"]),
    ("iam", &["aws_iam_"]),
    ("kms", &["aws_kms_"]),
    ("logs", &["aws_cloudwatch_log_"]),
    ("rds", &["aws_db_"]),
    ("route53", &["aws_route53_"]),
    ("s3", &["aws_s3_"]),
    ("secretsmanager", &["aws_secretsmanager_"]),
    ("servicediscovery", &["aws_service_discovery_"]),
    ("ssm", &["aws_ssm_"]),
    // the provider's own account lookup, and data sources that need no service of their own
    (
        "sts",
        &["aws_caller_identity", "aws_partition", "aws_region"],
    ),
];

#[derive(Debug, Serialize)]
pub struct Root {
    header: String,
    region: String,
    /// An emulator's endpoint (`--endpoint-url`): the provider and the backend use it.
    endpoint: Option<String>,
    /// The provider's endpoint name of every AWS service the Terraform uses, padded for
    /// aligned lines.
    endpoint_services: Vec<String>,
    account_id: Option<String>,
    prefix: String,
    tags: BTreeMap<String, String>,
    private_domain: String,
    domain: Option<String>,
    vpc_cidr: String,
    availability_zones: u32,
    nat_per_az: bool,
    log_retention_days: u32,
    flow_logs: bool,
    vpc_endpoints: bool,
    /// ECS Exec in every service (`ecs-exec`).
    ecs_exec: bool,
    container_insights: &'static str,
    detailed_monitoring: bool,
    /// The KMS key of the secrets, for services that have secrets.
    secrets_kms_key: Option<String>,
    bucket: Option<String>,
    key: String,
    has_public: bool,
    clusters: Vec<ClusterCtx>,
    load_balancer: Option<LoadBalancerCtx>,
    services: Vec<ServiceCtx>,
    databases: Vec<DatabaseCtx>,
    deletion_protection: bool,
    final_snapshot: bool,
    urls: BTreeMap<String, String>,
    private_hosts: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct ClusterCtx {
    module: &'static str,
    suffix: &'static str,
    instance_type: String,
    /// `x86_64` or `arm64`: which ECS-optimised AMI.
    architecture: &'static str,
    min: u32,
    max: u32,
}

#[derive(Debug, Serialize)]
struct LoadBalancerCtx {
    name: String,
    certificate_arn: Option<String>,
}

#[derive(Debug, Serialize)]
struct ServiceCtx {
    module: String,
    comment: String,
    role: String,
    /// The role as a quoted key, padded for aligned map lines.
    role_key: String,
    cluster: &'static str,
    public: bool,
    discoverable: bool,
    port: Option<u16>,
    host: Option<String>,
    health_check: String,
    priority: Option<u32>,
    cpu: u32,
    /// The container's CPU units when fewer than the task's.
    container_cpu: Option<u32>,
    memory: u32,
    desired_count: u32,
    autoscaling: Option<crate::model::Autoscaling>,
    health_check_grace_period: u32,
    /// Whether outbound traffic is restricted to `outbound` (else all is allowed).
    restricted: bool,
    outbound: Vec<OutboundRule>,
    /// ExoCom: never two brokers at once, even during its own deployment.
    single_instance: bool,
    /// `x86_64` or `arm64`, the architecture of its cluster's instances.
    architecture: &'static str,
    environment: BTreeMap<String, String>,
    secrets: Vec<SecretCtx>,
    /// The Secrets Manager secret ECS pulls the image with, for a private registry.
    repository_credentials: Option<String>,
    /// What the databases it uses tell it, by variable.
    linked_environment: Vec<Entry>,
    linked_secrets: Vec<Entry>,
}

#[derive(Debug, Serialize)]
struct DatabaseCtx {
    module: String,
    /// The name its resources are prefixed with ([`database_name`]).
    name: String,
    id: String,
    engine: String,
    engine_version: String,
    instance_class: String,
    allocated_storage: u32,
    storage_type: String,
    port: u16,
    db_name: String,
    username: String,
    /// The services that may connect: aligned quoted role → their security group.
    clients: Vec<Entry>,
    /// Their roles, for the comment.
    client_names: String,
}

/// One line of an HCL object: an aligned, quoted key and an HCL expression.
#[derive(Debug, Serialize)]
struct Entry {
    key: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct SecretCtx {
    key: String,
    store: &'static str,
    name: String,
}

impl Root {
    pub fn new(app: &App, inputs: &Inputs) -> Self {
        let env = &app.env;
        let prefix = format!("{}-{}", app.name, env.name);
        let has_public = app.has_public_services();
        let mut clusters = Vec::new();
        if has_public {
            clusters.push(ClusterCtx::new(
                "public_cluster",
                "public",
                &env.public_cluster,
            ));
        }
        clusters.push(ClusterCtx::new(
            "private_cluster",
            "private",
            &env.private_cluster,
        ));
        let namespace = private_domain(app);
        let scheme = if env.ssl_certificate_arn.is_some() {
            "https"
        } else {
            "http"
        };

        let mut services = vec![exocom(app, &namespace)];
        for s in &app.services {
            services.push(ServiceCtx::new(s, env, &namespace));
        }
        let keys = aligned_keys(services.iter().map(|s| s.role.as_str()));
        let images = super::images(app, inputs);
        for (s, key) in services.iter_mut().zip(keys) {
            s.role_key = key;
            // a scale override (`scale`, `stop`) is the count a deploy keeps: the range
            // Application Auto Scaling registers would otherwise move the service back
            if let Some(n) = inputs.scale.get(&s.role)
                && s.autoscaling.is_none()
            {
                s.desired_count = *n;
            }
            // and a range override (`scale --min --max`) the range it keeps
            if let (Some((min, max)), Some(a)) =
                (inputs.scale_ranges.get(&s.role), s.autoscaling.as_mut())
            {
                a.min = *min;
                a.max = *max;
            }
            s.repository_credentials = images
                .get(&s.role)
                .and_then(|image| pull_credentials(app, &s.role, image))
                .cloned();
        }
        let database_module = |id: &str| format!("database_{}", id.replace('-', "_"));
        for s in services.iter_mut() {
            let mut env = Vec::new();
            let mut secrets = Vec::new();
            for d in app.databases.iter().filter(|d| d.clients.contains(&s.role)) {
                let m = database_module(&d.id);
                let v = &d.variables;
                env.push((v.host.clone(), format!("module.{m}.address")));
                env.push((v.port.clone(), format!("tostring(module.{m}.port)")));
                env.push((v.db_name.clone(), super::hcl::quote(&d.db_name)));
                env.push((v.username.clone(), super::hcl::quote(&d.username)));
                secrets.push((
                    v.password.clone(),
                    format!("\"${{module.{m}.password_secret_arn}}:password::\""),
                ));
            }
            let align = |pairs: Vec<(String, String)>| {
                let keys = aligned_keys(pairs.iter().map(|(k, _)| k.as_str()));
                keys.into_iter()
                    .zip(pairs)
                    .map(|(key, (_, value))| Entry { key, value })
                    .collect()
            };
            s.linked_environment = align(env);
            s.linked_secrets = align(secrets);
        }
        let databases = app
            .databases
            .iter()
            .map(|d| DatabaseCtx {
                module: database_module(&d.id),
                name: database_name(&prefix, &d.id),
                id: d.id.clone(),
                engine: d.engine.clone(),
                engine_version: d.engine_version.clone(),
                instance_class: d.instance_class.clone(),
                allocated_storage: d.allocated_storage,
                storage_type: d.storage_type.clone(),
                port: d.port,
                db_name: d.db_name.clone(),
                username: d.username.clone(),
                clients: aligned_keys(d.clients.iter().map(String::as_str))
                    .into_iter()
                    .zip(&d.clients)
                    .map(|(key, role)| Entry {
                        key,
                        value: format!("module.{}.security_group_id", module_name(role)),
                    })
                    .collect(),
                client_names: d.clients.join(", "),
            })
            .collect();
        let urls = app
            .services_of(ServiceKind::Public)
            .filter_map(|s| Some((s.role.clone(), format!("{scheme}://{}", s.url.as_ref()?))))
            .collect();
        let private_hosts = services
            .iter()
            .filter(|s| s.discoverable)
            .map(|s| (s.role.clone(), format!("{}.{namespace}", s.role)))
            .collect();
        Root {
            header: format!(
                "# Generated by exo-deploy from {}'s application.yml ({}), environment `{}`.\n# Edits are overwritten on the next render: change the config instead.\n",
                app.name, app.format, env.name
            ),
            region: env.region.clone(),
            endpoint: inputs.endpoint_url.clone(),
            endpoint_services: padded(ENDPOINT_SERVICE_PREFIXES.iter().map(|(name, _)| *name)),
            account_id: env.account_id.clone(),
            tags: crate::model::tags::managed(&app.name, &env.name),
            private_domain: namespace,
            domain: env.domain.clone(),
            vpc_cidr: env.vpc_cidr.clone(),
            availability_zones: env.availability_zones,
            nat_per_az: env.nat_gateways == NatGateways::PerAz,
            log_retention_days: env.log_retention_days,
            flow_logs: env.flow_logs,
            vpc_endpoints: env.vpc_endpoints,
            ecs_exec: env.ecs_exec,
            container_insights: env.container_insights.name(),
            detailed_monitoring: env.detailed_monitoring,
            secrets_kms_key: env.secrets_kms_key.clone(),
            bucket: inputs
                .state_bucket
                .clone()
                .or_else(|| env.state_bucket.clone()),
            key: app.state_key(),
            has_public,
            clusters,
            load_balancer: has_public.then(|| LoadBalancerCtx {
                name: load_balancer_name(&prefix),
                certificate_arn: env.ssl_certificate_arn.clone(),
            }),
            prefix,
            services,
            databases,
            deletion_protection: env.deletion_protection,
            final_snapshot: env.final_snapshot,
            urls,
            private_hosts,
        }
    }
}

impl ClusterCtx {
    fn new(module: &'static str, suffix: &'static str, c: &crate::model::Cluster) -> Self {
        ClusterCtx {
            module,
            suffix,
            instance_type: c.instance_type.clone(),
            architecture: arch_name(c.arch()),
            min: c.min,
            max: c.max,
        }
    }
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Arm64 => "arm64",
    }
}

fn module_name(role: &str) -> String {
    format!("service_{}", role.replace('-', "_"))
}

/// The variable ExoCom reads its routes from, and their JSON, in the shape its version reads
/// (Originate/exocom): `SERVICE_DATA`, a map by role with `translations` (0.27+,
/// `go/exocom/src/exocom/parse_service_data.go`); `SERVICE_ROUTES`, a list with
/// `messageTranslations` (0.23–0.26, `parse_service_routes.go`); `SERVICE_ROUTES`, a list with
/// the original format's `namespace` (the LiveScript ExoCom, to 0.22).
pub fn exocom_routes(app: &App) -> (&'static str, String) {
    #[derive(Serialize)]
    struct Translation<'a> {
        public: &'a str,
        internal: &'a str,
    }
    fn translations(s: &Service) -> Vec<Translation<'_>> {
        s.translations
            .iter()
            .map(|t| Translation {
                public: &t.public,
                internal: &t.internal,
            })
            .collect()
    }
    let json = if app.bus.version_at_least(0, 27) {
        #[derive(Serialize)]
        struct Data<'a> {
            receives: &'a [String],
            sends: &'a [String],
            translations: Vec<Translation<'a>>,
        }
        let data: BTreeMap<&str, Data<'_>> = app
            .services
            .iter()
            .map(|s| {
                (
                    s.role.as_str(),
                    Data {
                        receives: &s.receives,
                        sends: &s.sends,
                        translations: translations(s),
                    },
                )
            })
            .collect();
        return (
            "SERVICE_DATA",
            serde_json::to_string(&data).unwrap_or_else(|_| "{}".to_string()),
        );
    } else {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Route<'a> {
            role: &'a str,
            receives: &'a [String],
            sends: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            namespace: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            message_translations: Option<Vec<Translation<'a>>>,
        }
        let go = app.bus.version_at_least(0, 23);
        let routes: Vec<Route<'_>> = app
            .services
            .iter()
            .map(|s| Route {
                role: &s.role,
                receives: &s.receives,
                sends: &s.sends,
                namespace: s.namespace.as_deref().filter(|_| !go),
                message_translations: go.then(|| translations(s)),
            })
            .collect();
        serde_json::to_string(&routes).unwrap_or_else(|_| "[]".to_string())
    };
    ("SERVICE_ROUTES", json)
}

/// ExoCom runs like a private service, with the routes of every service's messages.
fn exocom(app: &App, namespace: &str) -> ServiceCtx {
    let (routes_variable, routes) = exocom_routes(app);
    ServiceCtx {
        module: EXOCOM_ROLE.to_string(),
        comment: format!(
            "ExoCom {}: the message bus, at {EXOCOM_ROLE}.{namespace}:{EXOCOM_PORT}",
            app.bus.version
        ),
        role: EXOCOM_ROLE.to_string(),
        role_key: String::new(),
        cluster: "private_cluster",
        public: false,
        discoverable: true,
        port: Some(EXOCOM_PORT),
        host: None,
        health_check: "/".into(),
        priority: None,
        cpu: crate::model::EXOCOM_CPU,
        container_cpu: None,
        memory: crate::model::EXOCOM_MEMORY,
        desired_count: 1,
        autoscaling: None,
        health_check_grace_period: 0,
        // ExoCom talks to the services inside the VPC only
        restricted: true,
        outbound: Vec::new(),
        single_instance: true,
        architecture: arch_name(app.env.private_cluster.arch()),
        environment: BTreeMap::from([
            ("PORT".to_string(), EXOCOM_PORT.to_string()),
            ("ROLE".to_string(), EXOCOM_ROLE.to_string()),
            (routes_variable.to_string(), routes),
        ]),
        secrets: Vec::new(),
        repository_credentials: None,
        linked_environment: Vec::new(),
        linked_secrets: Vec::new(),
    }
}

impl ServiceCtx {
    fn new(s: &Service, env: &Environment, namespace: &str) -> Self {
        let mut environment = s.environment.clone();
        environment.insert("ROLE".into(), s.role.clone());
        environment.insert("EXOCOM_HOST".into(), format!("{EXOCOM_ROLE}.{namespace}"));
        environment.insert("EXOCOM_PORT".into(), EXOCOM_PORT.to_string());
        let keys = aligned_keys(s.secrets.keys().map(String::as_str));
        let secrets = keys
            .into_iter()
            .zip(&s.secrets)
            .map(|(key, (_, r))| match r {
                SecretRef::Ssm(name) => SecretCtx {
                    key,
                    store: "ssm",
                    name: name.clone(),
                },
                SecretRef::SecretsManager(name) => SecretCtx {
                    key,
                    store: "secretsmanager",
                    name: name.clone(),
                },
            })
            .collect();
        let public = s.kind == ServiceKind::Public;
        let (cluster, comment) = match s.kind {
            ServiceKind::Public => (
                "public_cluster",
                format!("{}: public, at {}", s.role, s.url.as_deref().unwrap_or("")),
            ),
            ServiceKind::Private => (
                "private_cluster",
                format!("{}: private, at {}.{namespace}", s.role, s.role),
            ),
            ServiceKind::Worker => (
                "private_cluster",
                format!("{}: worker, reached over ExoCom only", s.role),
            ),
        };
        ServiceCtx {
            module: module_name(&s.role),
            comment,
            role: s.role.clone(),
            role_key: String::new(),
            cluster,
            public,
            discoverable: s.kind == ServiceKind::Private,
            port: s.port,
            host: s.url.clone(),
            health_check: s.health_check.clone(),
            priority: s.priority,
            cpu: s.cpu,
            container_cpu: s.container_cpu,
            memory: s.memory,
            desired_count: s.desired_count,
            autoscaling: s.autoscaling.clone(),
            health_check_grace_period: s.health_check_grace_period,
            restricted: s.outbound.is_some(),
            outbound: s.outbound.clone().unwrap_or_default(),
            single_instance: false,
            architecture: arch_name(env.cluster_of(s.kind).arch()),
            environment,
            secrets,
            repository_credentials: None,
            linked_environment: Vec::new(),
            linked_secrets: Vec::new(),
        }
    }
}

/// The secret ECS pulls `role`'s image with: the environment's `registry-credentials` entry
/// for the image's registry (for an image not pushed yet, the registry it will be pushed to).
fn pull_credentials<'a>(app: &'a App, role: &str, image: &str) -> Option<&'a String> {
    let creds = &app.env.registry_credentials;
    if creds.is_empty() {
        return None;
    }
    let host = match ImageRef::parse(image) {
        Some(r) if !image.is_empty() => r.host,
        _ => {
            let building = app.services.iter().any(|s| {
                s.role == role && matches!(s.image, crate::model::ImageSource::Build { .. })
            });
            let registry = app.env.registry.as_deref().filter(|_| building)?;
            ImageRef::parse(&format!("{}/x", registry.trim_end_matches('/')))?.host
        }
    };
    creds.get(&host)
}

/// The name a database's resources start with: `<app>-<env>-<id>`, at most 36 characters so
/// that RDS's identifier (this, `-`, and the provider's 26-character unique suffix) stays
/// within 63; a longer one keeps its start and a short hash of the whole, as load balancer
/// names do. Its final snapshot is `<name>-final`.
pub fn database_name(prefix: &str, id: &str) -> String {
    crate::model::shortened(format!("{prefix}-{id}"), 36)
}

/// The load balancer's name for `<app>-<env>`: AWS wants at most 32 letters, digits and
/// hyphens, no hyphen at either end, not `internal-` in front, and unique in the account and
/// region. A longer name keeps its start and gets a short hash of the whole, so environments
/// whose names share their first 32 characters never collide.
pub fn load_balancer_name(prefix: &str) -> String {
    let base = if prefix.starts_with("internal-") {
        format!("exo-{prefix}")
    } else {
        prefix.to_string()
    };
    crate::model::shortened(base, 32)
}

/// Names padded to the longest, for `name = value` lines aligned as `terraform fmt` aligns them.
fn padded<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let width = names.clone().map(str::len).max().unwrap_or(0);
    names.map(|n| format!("{n:width$}")).collect()
}

#[cfg(test)]
mod tests {
    use super::load_balancer_name;

    #[test]
    fn exocom_gets_its_routes_in_the_shape_its_version_reads() {
        // Originate/exocom: 0.27 reads SERVICE_DATA, a map by role with `translations`
        // (go/exocom/src/exocom/parse_service_data.go); 0.23–0.26 SERVICE_ROUTES, a list with
        // `messageTranslations` (parse_service_routes.go); the LiveScript ExoCom to 0.22
        // SERVICE_ROUTES with the original format's `namespace` (exocom-server/src/cli.ls)
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacetweet");
        let raw = crate::config::load(&dir).expect("fixture loads");
        let mut app = crate::model::resolve(&raw, None).expect("fixture resolves");
        app.services.retain(|s| s.role == "users");
        app.services[0].sends = vec!["users.created".into()];
        app.services[0].receives = vec!["users.create".into()];
        app.services[0].namespace = Some("mongo".into());
        app.services[0].translations = vec![crate::model::Translation {
            public: "users create".into(),
            internal: "mongo create".into(),
        }];
        app.bus.version = "0.27.0".into();
        assert_eq!(
            super::exocom_routes(&app),
            (
                "SERVICE_DATA",
                r#"{"users":{"receives":["users.create"],"sends":["users.created"],"translations":[{"public":"users create","internal":"mongo create"}]}}"#.to_string()
            )
        );
        app.bus.version = "0.26.3".into();
        assert_eq!(
            super::exocom_routes(&app),
            (
                "SERVICE_ROUTES",
                r#"[{"role":"users","receives":["users.create"],"sends":["users.created"],"messageTranslations":[{"public":"users create","internal":"mongo create"}]}]"#.to_string()
            )
        );
        app.bus.version = "0.21.3".into();
        assert_eq!(
            super::exocom_routes(&app),
            (
                "SERVICE_ROUTES",
                r#"[{"role":"users","receives":["users.create"],"sends":["users.created"],"namespace":"mongo"}]"#.to_string()
            )
        );
        // a tag that is not a version is taken as the newest
        app.bus.version = "latest".into();
        assert_eq!(super::exocom_routes(&app).0, "SERVICE_DATA");
    }

    #[test]
    fn an_emulator_endpoint_covers_every_aws_resource_type_the_modules_use() {
        use super::ENDPOINT_SERVICE_PREFIXES;
        fn files<'a>(dir: &'a include_dir::Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
            out.extend(dir.files());
            for sub in dir.dirs() {
                files(sub, out);
            }
        }
        let mut all = Vec::new();
        files(&crate::render::MODULES, &mut all);
        let mut uncovered = Vec::new();
        let mut checked = 0;
        for file in all {
            let text = file.contents_utf8().expect("utf-8 module");
            for line in text.lines() {
                let Some(rest) = line
                    .strip_prefix("resource \"")
                    .or_else(|| line.strip_prefix("data \""))
                else {
                    continue;
                };
                let kind = rest.split('"').next().unwrap_or_default();
                checked += 1;
                let covered = ENDPOINT_SERVICE_PREFIXES
                    .iter()
                    .any(|(_, prefixes)| prefixes.iter().any(|p| kind.starts_with(p)));
                if kind.starts_with("aws_") && !covered {
                    uncovered.push(kind.to_string());
                }
            }
        }
        assert!(
            checked > 50,
            "only {checked} resource blocks found in the modules"
        );
        assert!(
            uncovered.is_empty(),
            "no emulator endpoint for {uncovered:?}: add their service to ENDPOINT_SERVICE_PREFIXES"
        );
    }

    #[test]
    fn database_names_leave_room_for_rds_identifiers_and_stay_apart() {
        use super::database_name;
        assert_eq!(
            database_name("bookshop-staging", "postgres"),
            "bookshop-staging-postgres"
        );
        let long = "a-twenty-eight-character-app-production";
        let (one, two) = (database_name(long, "orders"), database_name(long, "ledger"));
        assert_ne!(one, two);
        for name in [one, two] {
            assert!(name.len() <= 36, "{name}");
            assert!(!name.ends_with('-') && !name.contains("--"), "{name}");
        }
    }

    #[test]
    fn load_balancer_names_always_satisfy_aws_and_never_collide_between_environments() {
        assert_eq!(
            load_balancer_name("space-tweet-production"),
            "space-tweet-production"
        );
        assert_eq!(
            load_balancer_name("internal-tools-production"),
            "exo-internal-tools-production"
        );
        let long = "a-twenty-eight-character-app";
        let (one, two) = (
            load_balancer_name(&format!("{long}-production-east")),
            load_balancer_name(&format!("{long}-production-west")),
        );
        assert_ne!(one, two, "same first 32 characters, different names");
        for name in [one, two, load_balancer_name(&format!("{long}-x"))] {
            assert!(name.len() <= 32, "{name}");
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
            assert!(!name.starts_with("internal-"), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{name}"
            );
        }
    }
}
