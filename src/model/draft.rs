//! The halfway point of resolution: both config generations are mapped, field by field, into
//! one draft shape that still carries every value's place in its file. The shared validator in
//! `resolve.rs` then turns a draft into the model, so each rule is written once.

use std::path::PathBuf;

use serde_saphyr::Spanned;

use crate::config::common::{Autoscaling as RawAutoscaling, Entries, Instances, Scalar, Secrets};
use crate::config::{ConfigErrors, Loaded, Place, SourceFile, exo_deploy, exosphere};
use crate::model::{Format, ServiceKind};

/// A value and where it was written.
#[derive(Debug, Clone)]
pub struct Field<T> {
    pub value: T,
    pub place: Place,
}

impl<T: Clone> Field<T> {
    pub fn of(file: &SourceFile, s: &Spanned<T>) -> Self {
        Field {
            value: s.value.clone(),
            place: Place::at(file, &s.referenced),
        }
    }
}

fn text(file: &SourceFile, s: &Spanned<Scalar>) -> Field<String> {
    Field {
        value: s.value.0.clone(),
        place: Place::at(file, &s.referenced),
    }
}

fn opt<T: Clone>(file: &SourceFile, s: &Option<Spanned<T>>) -> Option<Field<T>> {
    s.as_ref().map(|s| Field::of(file, s))
}

/// Sets `slot` when a later source (a more specific environment or file) writes the value.
fn merge<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

/// Adds a more specific layer's variables and secrets (an environment that extends another, a
/// per-environment override): a name it defines replaces the earlier definition of either
/// kind, so a variable can become a secret and back.
fn layer(vars: &mut Pairs, secrets: &mut SecretPairs, new_vars: Pairs, new_secrets: SecretPairs) {
    vars.retain(|(k, _)| !new_secrets.iter().any(|(s, _)| s.value == k.value));
    secrets.retain(|(k, _)| !new_vars.iter().any(|(v, _)| v.value == k.value));
    vars.extend(new_vars);
    secrets.extend(new_secrets);
}

/// Name/value pairs with their places.
pub type Pairs = Vec<(Field<String>, Field<String>)>;
/// Secret names with their optional references.
pub type SecretPairs = Vec<(Field<String>, Option<Field<String>>)>;

fn pairs(file: &SourceFile, e: &Entries<Spanned<Scalar>>) -> Pairs {
    e.0.iter()
        .map(|(k, v)| (Field::of(file, k), text(file, v)))
        .collect()
}

fn secrets(file: &SourceFile, s: &Secrets) -> SecretPairs {
    s.0.iter()
        .map(|(k, v)| (Field::of(file, k), opt(file, v)))
        .collect()
}

#[derive(Debug)]
pub struct AppDraft {
    pub format: Format,
    pub dir: PathBuf,
    pub app_file: SourceFile,
    pub name: Field<String>,
    pub version: Option<Field<String>>,
    pub bus_kind: Option<Field<String>>,
    pub bus_version: Option<Field<String>>,
    /// Every environment's name, and the place of the `environments` mapping.
    pub env_names: Vec<Field<String>>,
    /// The selected environment's name.
    pub env_name: Field<String>,
    pub env: EnvDraft,
    pub services: Vec<ServiceDraft>,
    /// `remote.dependencies` other than ExoCom, the app's and each service's.
    pub databases: Vec<DatabaseDraft>,
    /// Problems already found while loading and drafting.
    pub problems: Vec<crate::config::ConfigDiagnostic>,
}

#[derive(Debug, Default)]
pub struct EnvDraft {
    pub domain: Option<Field<String>>,
    pub region: Option<Field<String>>,
    pub account_id: Option<Field<String>>,
    pub ssl_certificate_arn: Option<Field<String>>,
    pub remote_state_store: Option<Field<String>>,
    pub remote_state_kms_key: Option<Field<String>>,
    pub hosted_zone_id: Option<Field<String>>,
    pub registry: Option<Field<String>>,
    pub public_cluster_size: Option<Field<String>>,
    pub private_cluster_size: Option<Field<String>>,
    pub public_cluster_instances: Option<(Field<u32>, Field<u32>)>,
    pub private_cluster_instances: Option<(Field<u32>, Field<u32>)>,
    pub availability_zones: Option<Field<u32>>,
    pub nat_gateways: Option<Field<String>>,
    pub vpc_cidr: Option<Field<String>>,
    pub log_retention_days: Option<Field<u32>>,
    /// Outbound rules, when the environment restricts outbound traffic.
    pub outbound: Option<Vec<Field<String>>>,
    pub secrets_kms_key: Option<Field<String>>,
    pub exocom_image: Option<Field<String>>,
    /// Pull credentials by registry host: the Secrets Manager secret that holds them.
    pub registry_credentials: Vec<(Field<String>, Field<String>)>,
    pub eni_trunking: Option<Field<bool>>,
    pub flow_logs: Option<Field<bool>>,
    pub container_insights: Option<Field<String>>,
    pub detailed_monitoring: Option<Field<bool>>,
    pub ecs_exec: Option<Field<bool>>,
    pub vpc_endpoints: Option<Field<bool>>,
    pub deletion_protection: Option<Field<bool>>,
    pub final_snapshot: Option<Field<bool>>,
    pub keep_releases: Option<Field<u32>>,
    pub role_arn: Option<Field<String>>,
    pub profile: Option<Field<String>>,
    /// Webhooks: url, and the secret reference signatures are made with.
    pub notify: Option<Vec<WebhookDraft>>,
    pub environment_variables: Pairs,
    pub secrets: SecretPairs,
}

/// A webhook of `notify`, as written: its url, and the secret its signatures are made with.
pub type WebhookDraft = (Field<String>, Option<Field<String>>);

/// A dependency other than ExoCom, as written.
#[derive(Debug, Clone)]
pub struct DatabaseDraft {
    pub id: Field<String>,
    pub kind: Option<Field<String>>,
    pub engine: Option<Field<String>>,
    pub engine_version: Option<Field<String>>,
    pub allocated_storage: Option<Field<u32>>,
    pub instance_class: Option<Field<String>>,
    pub storage_type: Option<Field<String>>,
    pub db_name: Option<Field<String>>,
    pub username: Option<Field<String>>,
    pub password_secret_name: Option<Field<String>>,
    /// `service-env-var-names`: what a variable holds → its name.
    pub variables: Vec<(Field<String>, Field<String>)>,
    /// The service whose service.yml declares it; `None` for the app's (every service's).
    pub client: Option<String>,
}

fn database(
    f: &SourceFile,
    id: &Spanned<String>,
    d: &exosphere::Dependency,
    client: Option<&str>,
) -> DatabaseDraft {
    let t = d.template_config.as_ref();
    DatabaseDraft {
        id: Field::of(f, id),
        kind: opt(f, &d.kind),
        engine: t.and_then(|t| opt(f, &t.engine)),
        engine_version: t.and_then(|t| t.engine_version.as_ref().map(|v| text(f, v))),
        allocated_storage: t.and_then(|t| opt(f, &t.allocated_storage)),
        instance_class: t.and_then(|t| opt(f, &t.instance_class)),
        storage_type: t.and_then(|t| opt(f, &t.storage_type)),
        db_name: t.and_then(|t| opt(f, &t.db_name)),
        username: t.and_then(|t| opt(f, &t.username)),
        password_secret_name: t.and_then(|t| opt(f, &t.password_secret_name)),
        variables: t
            .map(|t| {
                t.service_env_var_names
                    .0
                    .iter()
                    .map(|(k, v)| (Field::of(f, k), Field::of(f, v)))
                    .collect()
            })
            .unwrap_or_default(),
        client: client.map(str::to_string),
    }
}

/// A service.yml read out of an image declaring what only the app's own config may.
fn from_image_problem(
    sf: &SourceFile,
    id: &Spanned<String>,
    role: &str,
    what: &str,
) -> crate::config::ConfigDiagnostic {
    crate::config::ConfigDiagnostic::at(
        Place::at(sf, &id.referenced),
        format!("the service.yml inside the image of `{role}` declares {what} (`{}`)", id.value),
        "here",
    )
    .help(format!(
        "what {} says must not choose the account's databases or secrets: declare it in application.yml's `remote.dependencies`, or give the service a `location` with a service.yml of your own",
        sf.name
    ))
}

/// Whether a `remote.dependencies` entry is the bus.
fn is_exocom(id: &Spanned<String>, d: &exosphere::Dependency) -> bool {
    id.value == "exocom" || d.kind.as_ref().is_some_and(|k| k.value == "exocom")
}

#[derive(Debug)]
pub struct ServiceDraft {
    pub role: Field<String>,
    /// The kind, or where an unknown kind was written.
    pub kind: Result<ServiceKind, Option<Field<String>>>,
    pub dir: Option<PathBuf>,
    pub location: Option<Field<String>>,
    pub docker_image: Option<Field<String>>,
    pub namespace: Option<Field<String>>,
    /// The service.yml, when it has one.
    pub file: Option<SourceFile>,
    pub port: Option<Field<u32>>,
    pub url: Option<Field<String>>,
    pub health_check: Option<Field<String>>,
    pub cpu: Option<Field<u32>>,
    pub memory: Option<Field<u32>>,
    pub desired_count: Option<Field<u32>>,
    /// The listener rule priority, when the config sets one.
    pub priority: Option<Field<u32>>,
    pub autoscaling: Option<AutoscalingDraft>,
    /// Outbound rules, when the service restricts its outbound traffic itself.
    pub outbound: Option<Vec<Field<String>>>,
    pub health_check_grace_period: Option<Field<u32>>,
    pub environment_variables: Pairs,
    pub secrets: SecretPairs,
    pub sends: Vec<Field<String>>,
    pub receives: Vec<Field<String>>,
}

impl ServiceDraft {
    fn new(role: Field<String>, kind: Result<ServiceKind, Option<Field<String>>>) -> Self {
        ServiceDraft {
            role,
            kind,
            dir: None,
            location: None,
            docker_image: None,
            namespace: None,
            file: None,
            port: None,
            url: None,
            health_check: None,
            cpu: None,
            memory: None,
            desired_count: None,
            priority: None,
            outbound: None,
            health_check_grace_period: None,
            autoscaling: None,
            environment_variables: Vec::new(),
            secrets: Vec::new(),
            sends: Vec::new(),
            receives: Vec::new(),
        }
    }

    /// The place to point at for a problem with the service as a whole.
    pub fn place(&self) -> Place {
        match &self.file {
            Some(f) => Place::file(f),
            None => self.role.place.clone(),
        }
    }
}

fn instances(file: &SourceFile, i: &Option<Instances>) -> Option<(Field<u32>, Field<u32>)> {
    i.as_ref()
        .map(|i| (Field::of(file, &i.min), Field::of(file, &i.max)))
}

/// `autoscaling` with places.
#[derive(Debug)]
pub struct AutoscalingDraft {
    pub min: Field<u32>,
    pub max: Field<u32>,
    pub cpu_target: Option<Field<u32>>,
}

fn autoscaling(file: &SourceFile, a: &Option<RawAutoscaling>) -> Option<AutoscalingDraft> {
    a.as_ref().map(|a| AutoscalingDraft {
        min: Field::of(file, &a.min),
        max: Field::of(file, &a.max),
        cpu_target: opt(file, &a.cpu_target),
    })
}

fn names(file: &SourceFile, v: &Option<Vec<Spanned<String>>>) -> Vec<Field<String>> {
    v.iter().flatten().map(|s| Field::of(file, s)).collect()
}

/// Fills the environment settings shared by both formats (one macro declares them for both).
macro_rules! fill_env {
    ($file:expr, $src:expr, $env:expr) => {{
        let (f, s, e) = ($file, $src, $env);
        merge(&mut e.region, opt(f, &s.region));
        merge(&mut e.account_id, s.account_id.as_ref().map(|a| text(f, a)));
        merge(&mut e.ssl_certificate_arn, opt(f, &s.ssl_certificate_arn));
        merge(&mut e.remote_state_store, opt(f, &s.remote_state_store));
        merge(&mut e.remote_state_kms_key, opt(f, &s.remote_state_kms_key));
        merge(&mut e.hosted_zone_id, opt(f, &s.hosted_zone_id));
        merge(&mut e.registry, opt(f, &s.registry));
        merge(&mut e.public_cluster_size, opt(f, &s.public_cluster_size));
        merge(&mut e.private_cluster_size, opt(f, &s.private_cluster_size));
        merge(
            &mut e.public_cluster_instances,
            instances(f, &s.public_cluster_instances),
        );
        merge(
            &mut e.private_cluster_instances,
            instances(f, &s.private_cluster_instances),
        );
        merge(&mut e.availability_zones, opt(f, &s.availability_zones));
        merge(&mut e.nat_gateways, opt(f, &s.nat_gateways));
        merge(&mut e.vpc_cidr, opt(f, &s.vpc_cidr));
        merge(&mut e.log_retention_days, opt(f, &s.log_retention_days));
        merge(
            &mut e.outbound,
            s.outbound.as_ref().map(|_| names(f, &s.outbound)),
        );
        merge(&mut e.secrets_kms_key, opt(f, &s.secrets_kms_key));
        merge(&mut e.exocom_image, opt(f, &s.exocom_image));
        e.registry_credentials.extend(
            s.registry_credentials
                .iter()
                .flat_map(|c| c.0.iter())
                .map(|(k, v)| (Field::of(f, k), Field::of(f, v))),
        );
        merge(&mut e.eni_trunking, opt(f, &s.eni_trunking));
        merge(&mut e.flow_logs, opt(f, &s.flow_logs));
        merge(&mut e.container_insights, opt(f, &s.container_insights));
        merge(&mut e.detailed_monitoring, opt(f, &s.detailed_monitoring));
        merge(&mut e.ecs_exec, opt(f, &s.ecs_exec));
        merge(&mut e.vpc_endpoints, opt(f, &s.vpc_endpoints));
        merge(&mut e.deletion_protection, opt(f, &s.deletion_protection));
        merge(&mut e.final_snapshot, opt(f, &s.final_snapshot));
        merge(&mut e.keep_releases, opt(f, &s.keep_releases));
        merge(&mut e.role_arn, opt(f, &s.role_arn));
        merge(&mut e.profile, opt(f, &s.profile));
        merge(
            &mut e.notify,
            s.notify.as_ref().map(|hooks| {
                hooks
                    .iter()
                    .map(|h| (Field::of(f, &h.url), opt(f, &h.secret)))
                    .collect()
            }),
        );
    }};
}

/// Fills the service settings shared by both formats.
macro_rules! fill_service {
    ($file:expr, $src:expr, $svc:expr) => {{
        let (f, s, d) = ($file, $src, $svc);
        merge(&mut d.desired_count, opt(f, &s.desired_count));
        merge(&mut d.priority, opt(f, &s.priority));
        merge(&mut d.autoscaling, autoscaling(f, &s.autoscaling));
        merge(
            &mut d.health_check_grace_period,
            opt(f, &s.health_check_grace_period),
        );
        if s.outbound.is_some() {
            d.outbound = Some(names(f, &s.outbound));
        }
        layer(
            &mut d.environment_variables,
            &mut d.secrets,
            pairs(f, &s.environment_variables),
            secrets(f, &s.secrets),
        );
    }};
}

type EnvSelector<'a> = &'a dyn Fn(&[Field<String>], &Place) -> Result<usize, ConfigErrors>;
/// Makes the diagnostic for a service.yml naming an environment application.yml lacks.
pub type UnknownEnv<'a> =
    &'a dyn Fn(&Field<String>, &[Field<String>]) -> crate::config::ConfigDiagnostic;

/// The original exo-deploy format's draft for the selected environment.
pub fn from_exo_deploy(
    l: &Loaded<exo_deploy::AppFile, exo_deploy::ServiceFile>,
    select: EnvSelector<'_>,
    unknown_env: UnknownEnv<'_>,
) -> Result<AppDraft, ConfigErrors> {
    let f = &l.app_file;
    let a = &l.app;
    let env_names: Vec<Field<String>> = a
        .environments
        .value
        .0
        .iter()
        .map(|(k, _)| Field::of(f, k))
        .collect();
    let envs_place = Place::at(f, &a.environments.referenced);
    let index = select(&env_names, &envs_place)?;
    let mut problems = l.problems.clone();
    let extends: Vec<_> = a
        .environments
        .value
        .0
        .iter()
        .map(|(_, e)| opt(f, &e.extends))
        .collect();
    let order = chain(&env_names, &extends, index, &mut problems);
    let mut env = EnvDraft::default();
    for &i in &order {
        let (_, raw_env) = &a.environments.value.0[i];
        merge(&mut env.domain, opt(f, &raw_env.domain));
        if let Some(aws) = raw_env
            .providers
            .as_ref()
            .and_then(|p| p.value.aws.as_ref())
        {
            fill_env!(f, aws, &mut env);
        }
        layer(
            &mut env.environment_variables,
            &mut env.secrets,
            pairs(f, &raw_env.environment_variables),
            secrets(f, &raw_env.secrets),
        );
    }

    let groups = &a.services.value;
    let grouped = [
        (ServiceKind::Public, &groups.public),
        (ServiceKind::Private, &groups.private),
        (ServiceKind::Worker, &groups.worker),
    ];
    let mut services = Vec::new();
    for (kind, entries) in grouped {
        for (role, r) in &entries.0 {
            let mut d = ServiceDraft::new(Field::of(f, role), Ok(kind));
            d.location = opt(f, &r.location);
            d.docker_image = opt(f, &r.docker_image);
            d.namespace = opt(f, &r.namespace);
            if let Some(loaded) = l.services.get(&role.value) {
                let sf = &loaded.file;
                let s = &loaded.service;
                d.dir = loaded.dir.clone();
                d.file = Some(sf.clone());
                d.sends = names(sf, &s.messages.sends);
                d.receives = names(sf, &s.messages.receives);
                if let Some(p) = &s.production {
                    fill_production(sf, p, &mut d);
                }
                // `environments.<env>` overrides `production`, along the environment's chain
                for &i in &order {
                    for (name, over) in &s.environments.0 {
                        if name.value == env_names[i].value {
                            fill_production(sf, over, &mut d);
                        }
                    }
                }
                for (name, _) in &s.environments.0 {
                    if !env_names.iter().any(|n| n.value == name.value) {
                        problems.push(unknown_env(&Field::of(sf, name), &env_names));
                    }
                }
            }
            services.push(d);
        }
    }
    Ok(AppDraft {
        format: Format::ExoDeploy,
        dir: l.dir.clone(),
        app_file: f.clone(),
        name: Field::of(f, &a.name),
        version: a.version.as_ref().map(|v| text(f, v)),
        bus_kind: a.bus.as_ref().map(|b| Field::of(f, &b.kind)),
        bus_version: a.bus.as_ref().map(|b| text(f, &b.version)),
        env_name: env_names[index].clone(),
        env_names,
        env,
        services,
        databases: Vec::new(),
        problems,
    })
}

/// `production` (or an environment's override of it) in an original-format service.yml.
fn fill_production(sf: &SourceFile, p: &exo_deploy::Production, d: &mut ServiceDraft) {
    merge(&mut d.url, opt(sf, &p.url));
    merge(&mut d.health_check, opt(sf, &p.health_check));
    if let Some(aws) = &p.aws {
        merge(&mut d.cpu, opt(sf, &aws.cpu));
        merge(&mut d.memory, opt(sf, &aws.memory));
        merge(&mut d.port, opt(sf, &aws.public_port));
    }
    fill_service!(sf, p, d);
}

/// The environments `index` builds on through `extends`, the farthest first and `index` last.
/// A name no environment has, or environments extending each other in a circle, are reported
/// at the `extends` that says so; the chain stops there.
fn chain(
    names: &[Field<String>],
    extends: &[Option<Field<String>>],
    index: usize,
    problems: &mut Vec<crate::config::ConfigDiagnostic>,
) -> Vec<usize> {
    use crate::config::ConfigDiagnostic;
    let mut order = vec![index];
    let mut at = index;
    while let Some(parent) = &extends[at] {
        match names.iter().position(|n| n.value == parent.value) {
            None => {
                let hint =
                    crate::config::closest(&parent.value, names.iter().map(|n| n.value.as_str()))
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                let known = names
                    .iter()
                    .map(|n| n.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                problems.push(
                    ConfigDiagnostic::at(
                        parent.place.clone(),
                        format!(
                            "environment `{}` extends `{}`, which is not an environment of the app",
                            names[at].value, parent.value
                        ),
                        "no such environment",
                    )
                    .help(format!("{hint}the environments are {known}")),
                );
                break;
            }
            Some(p) if order.contains(&p) => {
                let circle = order
                    .iter()
                    .chain(std::iter::once(&p))
                    .map(|&i| names[i].value.as_str())
                    .collect::<Vec<_>>()
                    .join(" → ");
                problems.push(
                    ConfigDiagnostic::at(
                        parent.place.clone(),
                        format!("environments extend each other in a circle: {circle}"),
                        "closes the circle",
                    )
                    .help("remove one of these `extends`: an environment starts from one that does not lead back to it"),
                );
                break;
            }
            Some(p) => {
                order.push(p);
                at = p;
            }
        }
    }
    order.reverse();
    order
}

/// The Exosphere format's draft for the selected environment.
pub fn from_exosphere(
    l: &Loaded<exosphere::AppFile, exosphere::ServiceFile>,
    select: EnvSelector<'_>,
    unknown_env: UnknownEnv<'_>,
) -> Result<AppDraft, ConfigErrors> {
    let f = &l.app_file;
    let a = &l.app;
    let remote = &a.remote.value;
    let env_names: Vec<Field<String>> = remote
        .environments
        .value
        .0
        .iter()
        .map(|(k, _)| Field::of(f, k))
        .collect();
    let envs_place = Place::at(f, &remote.environments.referenced);
    let index = select(&env_names, &envs_place)?;
    let mut problems = l.problems.clone();
    let mut databases: Vec<DatabaseDraft> = remote
        .dependencies
        .0
        .iter()
        .filter(|(id, d)| !is_exocom(id, d))
        .map(|(id, d)| database(f, id, d, None))
        .collect();
    let extends: Vec<_> = remote
        .environments
        .value
        .0
        .iter()
        .map(|(_, e)| opt(f, &e.extends))
        .collect();
    let order = chain(&env_names, &extends, index, &mut problems);
    let mut env = EnvDraft::default();
    for &i in &order {
        let (_, raw_env) = &remote.environments.value.0[i];
        merge(&mut env.domain, opt(f, &raw_env.url));
        fill_env!(f, raw_env, &mut env);
        layer(
            &mut env.environment_variables,
            &mut env.secrets,
            pairs(f, &raw_env.environment_variables),
            secrets(f, &raw_env.secrets),
        );
    }

    let mut services = Vec::new();
    for (role, r) in &a.services.value.0 {
        let mut d = ServiceDraft::new(Field::of(f, role), Err(None));
        d.location = opt(f, &r.location);
        d.docker_image = opt(f, &r.docker_image);
        if let Some(loaded) = l.services.get(&role.value) {
            let sf = &loaded.file;
            let s = &loaded.service;
            d.dir = loaded.dir.clone();
            d.file = Some(sf.clone());
            d.kind = match &s.kind {
                Some(k) => ServiceKind::parse(&k.value).ok_or_else(|| Some(Field::of(sf, k))),
                None => Err(None),
            };
            d.sends = names(sf, &s.dependency_data.exocom.sends);
            d.receives = names(sf, &s.dependency_data.exocom.receives);
            if let Some(p) = &s.production {
                d.port = opt(sf, &p.port);
                d.health_check = opt(sf, &p.health_check);
            }
            // a service.yml inside an image was written by the image's author: it may not choose
            // which of the account's secrets or databases its container gets
            let from_image = loaded.dir.is_none();
            if let Some(remote) = &s.remote {
                for (id, dep) in remote
                    .dependencies
                    .0
                    .iter()
                    .filter(|(id, dep)| !is_exocom(id, dep))
                {
                    if from_image {
                        problems.push(from_image_problem(sf, id, &role.value, "a database"));
                    } else {
                        databases.push(database(sf, id, dep, Some(&role.value)));
                    }
                }
                merge(&mut d.cpu, opt(sf, &remote.cpu));
                merge(&mut d.memory, opt(sf, &remote.memory));
                fill_service!(sf, remote, &mut d);
                // `remote.environments.<env>`, along the environment's chain
                for &i in &order {
                    for (name, per_env) in &remote.environments.0 {
                        if name.value == env_names[i].value {
                            merge(&mut d.url, opt(sf, &per_env.url));
                            merge(&mut d.cpu, opt(sf, &per_env.cpu));
                            merge(&mut d.memory, opt(sf, &per_env.memory));
                            fill_service!(sf, per_env, &mut d);
                        }
                    }
                }
                for (name, _) in &remote.environments.0 {
                    if !env_names.iter().any(|n| n.value == name.value) {
                        problems.push(unknown_env(&Field::of(sf, name), &env_names));
                    }
                }
            }
        }
        if d.dir.is_none() && d.file.is_some() && d.location.is_none() {
            let named: Vec<_> = d.secrets.drain(..).collect();
            if let (Some((first, _)), Some(sf)) = (named.first(), &d.file) {
                problems.push(
                    crate::config::ConfigDiagnostic::at(
                        first.place.clone(),
                        format!(
                            "the service.yml inside the image of `{}` names secrets ({})",
                            role.value,
                            named.iter().map(|(k, _)| k.value.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        "here",
                    )
                    .help(format!(
                        "what {} says must not choose which of your secrets its container gets: give the service a `location` with a service.yml of your own",
                        sf.name
                    )),
                );
            }
        }
        services.push(d);
    }
    Ok(AppDraft {
        format: Format::Exosphere,
        dir: l.dir.clone(),
        app_file: f.clone(),
        name: Field::of(f, &a.name),
        version: a.version.as_ref().map(|v| text(f, v)),
        bus_kind: remote
            .dependencies
            .0
            .iter()
            .find(|(k, _)| k.value == "exocom")
            .and_then(|(_, d)| opt(f, &d.kind)),
        bus_version: remote
            .dependencies
            .0
            .iter()
            .find(|(k, d)| {
                k.value == "exocom" || d.kind.as_ref().is_some_and(|t| t.value == "exocom")
            })
            .and_then(|(_, d)| {
                d.template_config
                    .as_ref()?
                    .version
                    .as_ref()
                    .map(|v| text(f, v))
            }),
        env_name: env_names[index].clone(),
        env_names,
        env,
        services,
        databases,
        problems,
    })
}

/// One value as written, after inheritance: its key as users write it, its text and where it
/// was written (`exo-deploy config --show-origin`).
pub type Origin = (String, String, Place);

/// Pushes `(prefix + key, value, place)` for each written field.
macro_rules! written {
    ($out:expr, $prefix:expr, $($key:literal => $field:expr),* $(,)?) => {{
        $(
            if let Some(f) = &$field {
                $out.push((format!("{}{}", $prefix, $key), f.value.to_string(), f.place.clone()));
            }
        )*
    }};
}

fn pairs_written(out: &mut Vec<Origin>, prefix: &str, pairs: &Pairs) {
    // a later entry (a more specific environment) wins, as resolution has it
    let mut seen = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        seen.insert(k.value.clone(), (v.value.clone(), v.place.clone()));
    }
    for (k, (v, place)) in seen {
        out.push((format!("{prefix}{k}"), v, place));
    }
}

fn secrets_written(out: &mut Vec<Origin>, prefix: &str, secrets: &SecretPairs) {
    let mut seen = std::collections::BTreeMap::new();
    for (k, r) in secrets {
        let (text, place) = match r {
            Some(r) => (r.value.clone(), r.place.clone()),
            None => ("(the default SSM parameter)".to_string(), k.place.clone()),
        };
        seen.insert(k.value.clone(), (text, place));
    }
    for (k, (v, place)) in seen {
        out.push((format!("{prefix}{k}"), v, place));
    }
}

fn list_written(out: &mut Vec<Origin>, key: String, list: &Option<Vec<Field<String>>>) {
    if let Some(rules) = list {
        for r in rules {
            out.push((key.clone(), r.value.clone(), r.place.clone()));
        }
    }
}

impl AppDraft {
    /// Every value written for the selected environment, after `extends` and per-environment
    /// overrides, with where it was written; keys not listed take their defaults.
    pub fn origins(&self) -> Vec<Origin> {
        let mut out = Vec::new();
        let e = &self.env;
        written!(out, "",
            "region" => e.region,
            "account-id" => e.account_id,
            "domain" => e.domain,
            "ssl-certificate-arn" => e.ssl_certificate_arn,
            "remote-state-store" => e.remote_state_store,
            "remote-state-kms-key" => e.remote_state_kms_key,
            "hosted-zone-id" => e.hosted_zone_id,
            "registry" => e.registry,
            "public-cluster-size" => e.public_cluster_size,
            "private-cluster-size" => e.private_cluster_size,
            "availability-zones" => e.availability_zones,
            "nat-gateways" => e.nat_gateways,
            "vpc-cidr" => e.vpc_cidr,
            "log-retention-days" => e.log_retention_days,
            "secrets-kms-key" => e.secrets_kms_key,
            "exocom-image" => e.exocom_image,
            "eni-trunking" => e.eni_trunking,
            "flow-logs" => e.flow_logs,
            "container-insights" => e.container_insights,
            "detailed-monitoring" => e.detailed_monitoring,
            "ecs-exec" => e.ecs_exec,
            "vpc-endpoints" => e.vpc_endpoints,
            "deletion-protection" => e.deletion_protection,
            "final-snapshot" => e.final_snapshot,
            "keep-releases" => e.keep_releases,
            "role-arn" => e.role_arn,
            "profile" => e.profile,
        );
        for (i, (url, secret)) in e.notify.iter().flatten().enumerate() {
            // by host only: a webhook's path may be its secret (a reference as written)
            let shown = if super::validate::secret_reference_like(&url.value) {
                url.value.clone()
            } else {
                super::webhook_host(&url.value)
            };
            out.push((format!("notify.{i}.url"), shown, url.place.clone()));
            if let Some(s) = secret {
                out.push((
                    format!("notify.{i}.secret"),
                    s.value.clone(),
                    s.place.clone(),
                ));
            }
        }
        for (name, instances) in [
            ("public-cluster-instances", &e.public_cluster_instances),
            ("private-cluster-instances", &e.private_cluster_instances),
        ] {
            if let Some((min, max)) = instances {
                out.push((
                    format!("{name}.min"),
                    min.value.to_string(),
                    min.place.clone(),
                ));
                out.push((
                    format!("{name}.max"),
                    max.value.to_string(),
                    max.place.clone(),
                ));
            }
        }
        list_written(&mut out, "outbound".into(), &e.outbound);
        // a more specific environment's entry for a host wins, as resolution has it
        let mut hosts = std::collections::BTreeMap::new();
        for (host, secret) in &e.registry_credentials {
            hosts.insert(host.value.clone(), secret);
        }
        for (host, secret) in hosts {
            out.push((
                format!("registry-credentials.{host}"),
                secret.value.clone(),
                secret.place.clone(),
            ));
        }
        pairs_written(&mut out, "environment-variables.", &e.environment_variables);
        secrets_written(&mut out, "secrets.", &e.secrets);
        for s in &self.services {
            let p = format!("services.{}.", s.role.value);
            written!(out, p,
                "location" => s.location,
                "docker-image" => s.docker_image,
                "namespace" => s.namespace,
                "url" => s.url,
                "port" => s.port,
                "health-check" => s.health_check,
                "cpu" => s.cpu,
                "memory" => s.memory,
                "desired-count" => s.desired_count,
                "priority" => s.priority,
                "health-check-grace-period" => s.health_check_grace_period,
            );
            if let Some(a) = &s.autoscaling {
                out.push((
                    format!("{p}autoscaling.min"),
                    a.min.value.to_string(),
                    a.min.place.clone(),
                ));
                out.push((
                    format!("{p}autoscaling.max"),
                    a.max.value.to_string(),
                    a.max.place.clone(),
                ));
                written!(out, p, "autoscaling.cpu-target" => a.cpu_target);
            }
            list_written(&mut out, format!("{p}outbound"), &s.outbound);
            pairs_written(
                &mut out,
                &format!("{p}environment-variables."),
                &s.environment_variables,
            );
            secrets_written(&mut out, &format!("{p}secrets."), &s.secrets);
        }
        out
    }
}
