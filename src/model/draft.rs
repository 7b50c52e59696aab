//! The halfway point of resolution: both config generations are mapped, field by field, into
//! one draft shape that still carries every value's place in its file. The shared validator in
//! `resolve.rs` then turns a draft into the model, so each rule is written once.

use std::path::PathBuf;

use serde_saphyr::Spanned;

use crate::config::common::{Autoscaling as RawAutoscaling, Entries, Instances, Scalar, Secrets};
use crate::config::{
    ConfigDiagnostic, ConfigErrors, Loaded, Place, SourceFile, exo_deploy, exosphere,
    exosphere_early,
};
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
    /// The app has no deployment settings at all (reported once, with the block to add):
    /// what an environment lacks then goes without saying.
    pub undeployable: bool,
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
    /// ExoCom message translations: `(public, internal)`.
    pub translations: Vec<(Field<String>, Field<String>)>,
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
            translations: Vec::new(),
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

fn translations(
    file: &SourceFile,
    list: &[exosphere_early::Translation],
) -> Vec<(Field<String>, Field<String>)> {
    list.iter()
        .map(|t| (Field::of(file, &t.public), Field::of(file, &t.internal)))
        .collect()
}

/// A number Exosphere read as text (`cpu: '128'`, `port: 80`): the number, or a problem at it.
fn number(
    file: &SourceFile,
    s: &Option<Spanned<Scalar>>,
    what: &str,
    problems: &mut Vec<ConfigDiagnostic>,
) -> Option<Field<u32>> {
    let s = s.as_ref()?;
    match s.value.0.trim().parse::<u32>() {
        Ok(n) => Some(Field {
            value: n,
            place: Place::at(file, &s.referenced),
        }),
        Err(_) => {
            problems.push(
                ConfigDiagnostic::at(
                    Place::at(file, &s.referenced),
                    format!("{what} `{}` is not a whole number", s.value.0),
                    "here",
                )
                .help(format!("write the {what} as a number, like `{what}: 256`")),
            );
            None
        }
    }
}

/// The one problem of an app without deployment settings, with the block to add in its own
/// format.
fn undeployable(f: &SourceFile, format: Format, public: bool, where_: &str) -> ConfigDiagnostic {
    ConfigDiagnostic::at(
        Place::file(f),
        format!("the app has no deployment settings ({where_})"),
        "",
    )
    .help(format!(
        "add them to application.yml, at least:\n\n{}\n(each service also needs its size and, when public, its url and port in its service.yml; docs/config.md has every key)",
        format.minimal_block(public)
    ))
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

/// The original exo-deploy format's draft for the selected environment. The environment
/// `local` only ever configured `exo run` and is not one to deploy.
pub fn from_exo_deploy(
    l: &Loaded<exo_deploy::AppFile, exo_deploy::ServiceFile>,
    select: EnvSelector<'_>,
    unknown_env: UnknownEnv<'_>,
) -> Result<AppDraft, ConfigErrors> {
    let f = &l.app_file;
    let a = &l.app;
    let mut problems = l.problems.clone();
    let written: Vec<(&Spanned<String>, Option<&exo_deploy::Environment>)> = a
        .environments
        .iter()
        .flat_map(|e| &e.value.0)
        .filter(|(name, _)| name.value != "local")
        .map(|(name, e)| (name, e.as_ref()))
        .collect();
    let undeployable_app = written.is_empty();
    let (env_names, envs_place) = if undeployable_app {
        // nothing to deploy: the services are still checked, under the one environment
        // the original exo-deploy deployed
        let place = a
            .environments
            .as_ref()
            .map_or_else(|| Place::file(f), |e| Place::at(f, &e.referenced));
        (
            vec![Field {
                value: "production".to_string(),
                place: place.clone(),
            }],
            place,
        )
    } else {
        let place = a
            .environments
            .as_ref()
            .map_or_else(|| Place::file(f), |e| Place::at(f, &e.referenced));
        (
            written.iter().map(|(k, _)| Field::of(f, k)).collect(),
            place,
        )
    };
    let index = select(&env_names, &envs_place)?;
    let extends: Vec<_> = written
        .iter()
        .map(|(_, e)| e.and_then(|e| opt(f, &e.extends)))
        .collect();
    let order = if undeployable_app {
        Vec::new()
    } else {
        chain(&env_names, &extends, index, &mut problems)
    };
    let mut env = EnvDraft::default();
    for &i in &order {
        let Some(raw_env) = written[i].1 else {
            continue;
        };
        merge(&mut env.domain, opt(f, &raw_env.url));
        merge(&mut env.domain, opt(f, &raw_env.domain));
        merge(&mut env.region, opt(f, &raw_env.region));
        if let Some(p) = &raw_env.provider
            && p.value != "aws"
        {
            problems.push(
                ConfigDiagnostic::at(
                    Place::at(f, &p.referenced),
                    format!("unsupported provider `{}`", p.value),
                    "here",
                )
                .help("exo-deploy deploys to AWS: write `provider: aws`, or leave it out"),
            );
        }
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
            d.docker_image = opt(f, &r.docker_image).or_else(|| opt(f, &r.docker_image_dashed));
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
                if let Some(command) = s.startup.as_ref().and_then(|st| st.command.as_ref()) {
                    problems.push(
                        ConfigDiagnostic::warning(
                            Place::at(sf, &command.referenced),
                            "`startup.command` is not the container's command here: the image's own CMD runs",
                            "not run",
                        )
                        .help("the original exo-deploy ran this command in the container; put it in the Dockerfile as `CMD`"),
                    );
                }
                for dep in &s.dependencies.0 {
                    if dep.value == "mongo" {
                        problems.push(
                            ConfigDiagnostic::warning(
                                Place::at(sf, &dep.referenced),
                                "`dependencies.mongo` does not give the container MONGODB_USER and MONGODB_PW here",
                                "not passed on",
                            )
                            .help("the original exo-deploy copied them from the deployer's shell; declare them as `secrets` of the service (docs/config.md)"),
                        );
                    }
                }
            }
            services.push(d);
        }
    }
    let bus_dependency = a
        .dependencies
        .iter()
        .flatten()
        .find(|d| d.kind.value == "exocom" || d.kind.value == "nats");
    if undeployable_app {
        let public = !groups.public.0.is_empty();
        let what = match &a.environments {
            Some(_) => "`environments` has none to deploy",
            None => "no `environments`",
        };
        problems.push(undeployable(f, Format::ExoDeploy, public, what));
    }
    Ok(AppDraft {
        format: Format::ExoDeploy,
        dir: l.dir.clone(),
        app_file: f.clone(),
        name: free_text_name(f, &a.name, &mut problems),
        version: a.version.as_ref().map(|v| text(f, v)),
        bus_kind: a
            .bus
            .as_ref()
            .map(|b| Field::of(f, &b.kind))
            .or_else(|| bus_dependency.map(|d| Field::of(f, &d.kind))),
        bus_version: a.bus.as_ref().map(|b| text(f, &b.version)).or_else(|| {
            bus_dependency
                .and_then(|d| d.version.as_ref())
                .map(|v| text(f, v))
        }),
        env_name: env_names[index].clone(),
        env_names,
        env,
        services,
        databases: Vec::new(),
        problems,
        undeployable: undeployable_app,
    })
}

/// The original format's app `name`, which was free text (Exosphere's example apps are called
/// "Example application"; the LiveScript exo-deploy only prefixed Terraform names with it): a
/// name that is not a DNS label is used as its lowercase, hyphenated form, with a note.
fn free_text_name(
    f: &SourceFile,
    name: &Spanned<String>,
    problems: &mut Vec<ConfigDiagnostic>,
) -> Field<String> {
    let written = Field::of(f, name);
    if crate::model::validate::dns_label(&written.value, crate::model::resolve::MAX_APP_NAME)
        .is_ok()
    {
        return written;
    }
    let mut slug = String::new();
    for c in written.value.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if crate::model::validate::dns_label(&slug, crate::model::resolve::MAX_APP_NAME).is_err() {
        return written;
    }
    problems.push(
        ConfigDiagnostic::note(
            written.place.clone(),
            format!(
                "the app `{}` is `{slug}` in the names of what exo-deploy creates",
                written.value
            ),
            "free text",
        )
        .help(format!(
            "write `name: {slug}` to say so yourself (later Exosphere versions asked for lowercase letters, digits and hyphens)"
        )),
    );
    Field {
        value: slug,
        place: written.place,
    }
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
    let mut problems = l.problems.clone();
    let Some(remote) = a.remote.as_ref().map(|r| &r.value) else {
        // no deployment settings: the services are still checked, under `production`
        return undeployable_exosphere(l, select, problems);
    };
    let env_names: Vec<Field<String>> = remote
        .environments
        .value
        .0
        .iter()
        .map(|(k, _)| Field::of(f, k))
        .collect();
    let envs_place = Place::at(f, &remote.environments.referenced);
    let index = select(&env_names, &envs_place)?;
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
        if let Some(old) = &raw_env.environment {
            problems.push(
                ConfigDiagnostic::warning(
                    Place::at(f, &old.referenced),
                    "`environment` was renamed `environment-variables` in Exosphere 0.35, which ignored it: exo-deploy reads it as `environment-variables`",
                    "read as environment-variables",
                )
                .help("rename it `environment-variables`"),
            );
            layer(
                &mut env.environment_variables,
                &mut env.secrets,
                pairs(f, &old.value),
                Vec::new(),
            );
        }
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
        if let Some(x) = &r.dependency_data.exocom {
            d.translations = translations(f, &x.translations);
        }
        if let Some(loaded) = l.services.get(&role.value) {
            let sf = &loaded.file;
            let s = &loaded.service;
            d.dir = loaded.dir.clone();
            d.file = Some(sf.clone());
            d.kind = match &s.kind {
                Some(k) => ServiceKind::parse(&k.value).ok_or_else(|| Some(Field::of(sf, k))),
                None => Err(None),
            };
            d.sends = names(sf, &s.messages.sends);
            d.receives = names(sf, &s.messages.receives);
            if let Some(first) = d.sends.first().or(d.receives.first()) {
                // Exosphere 0.33+ read ExoCom's messages only from `dependency-data.exocom`
                problems.push(
                    ConfigDiagnostic::note(
                        first.place.clone(),
                        format!(
                            "`messages` is how Exosphere to 0.32 listed the messages of `{}`: exo-deploy routes them, Exosphere 0.33 and later did not read them",
                            role.value
                        ),
                        "the older spelling",
                    )
                    .help("to keep the app as the later Exosphere read it, move them to `dependency-data: {exocom: {sends: [...], receives: [...]}}`"),
                );
            }
            if let Some(x) = &s.dependency_data.exocom {
                d.sends.extend(names(sf, &x.sends));
                d.receives.extend(names(sf, &x.receives));
                d.translations.extend(translations(sf, &x.translations));
            }
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
        refuse_secrets_from_image(&mut d, &role.value, &mut problems);
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
        undeployable: false,
    })
}

/// The draft of an Exosphere-format app without `remote`: its services, checked under the
/// environment `production`, and the one problem saying what to add.
fn undeployable_exosphere(
    l: &Loaded<exosphere::AppFile, exosphere::ServiceFile>,
    select: EnvSelector<'_>,
    mut problems: Vec<ConfigDiagnostic>,
) -> Result<AppDraft, ConfigErrors> {
    let f = &l.app_file;
    let a = &l.app;
    let env_names = vec![Field {
        value: "production".to_string(),
        place: Place::file(f),
    }];
    let index = select(&env_names, &Place::file(f))?;
    let mut services = Vec::new();
    for (role, r) in &a.services.value.0 {
        let mut d = ServiceDraft::new(Field::of(f, role), Err(None));
        d.location = opt(f, &r.location);
        d.docker_image = opt(f, &r.docker_image);
        if let Some(loaded) = l.services.get(&role.value) {
            let sf = &loaded.file;
            d.dir = loaded.dir.clone();
            d.file = Some(sf.clone());
            d.kind = match &loaded.service.kind {
                Some(k) => ServiceKind::parse(&k.value).ok_or_else(|| Some(Field::of(sf, k))),
                None => Err(None),
            };
        }
        services.push(d);
    }
    let public = services
        .iter()
        .any(|s| matches!(s.kind, Ok(ServiceKind::Public)));
    problems.push(undeployable(f, Format::Exosphere, public, "no `remote`"));
    Ok(AppDraft {
        format: Format::Exosphere,
        dir: l.dir.clone(),
        app_file: f.clone(),
        name: Field::of(f, &a.name),
        version: a.version.as_ref().map(|v| text(f, v)),
        bus_kind: None,
        bus_version: None,
        env_name: env_names[index].clone(),
        env_names,
        env: EnvDraft::default(),
        services,
        databases: Vec::new(),
        problems,
        undeployable: true,
    })
}

/// A database among Exosphere 0.23–0.34's dependencies, as written: 0.26–0.31's list entry
/// named after its engine with its settings under `config.rds`
/// (`ex@v0.30.0:src/types/production_dependency_config.go`, `rds_config.go`), or 0.33.3's map
/// entry of `type: rds` with a flat `template-config`
/// (`ex@v0.33.3:remote-dependency-templates/rds/requirements.yml`). `None` for anything else.
fn early_database(
    f: &SourceFile,
    d: &exosphere_early::Dependency,
    client: Option<&str>,
    problems: &mut Vec<ConfigDiagnostic>,
) -> Option<DatabaseDraft> {
    let engine_named = matches!(d.id.value.as_str(), "postgres" | "mysql");
    let listed = d.version.is_some() || d.kind.as_ref().is_some_and(|k| k.value == d.id.value);
    let (kind, c, engine, engine_version) = if listed {
        // a list entry: its name is its engine, its settings are under `config.rds`
        if !engine_named {
            return None;
        }
        let rds = d.config.as_ref().and_then(|c| c.rds.as_deref());
        (
            Some(Field {
                value: "rds".to_string(),
                place: Place::at(f, &d.id.referenced),
            }),
            rds,
            Some(Field::of(f, &d.id)),
            d.version.as_ref().map(|v| text(f, v)),
        )
    } else {
        let c = d.config.as_ref();
        (
            opt(f, &d.kind),
            c,
            c.and_then(|c| opt(f, &c.engine)),
            c.and_then(|c| c.engine_version.as_ref().map(|v| text(f, v))),
        )
    };
    if listed && c.is_none() {
        return None;
    }
    let mut variables: Vec<(Field<String>, Field<String>)> = c
        .map(|c| {
            c.service_env_var_names
                .0
                .iter()
                .map(|(k, v)| (Field::of(f, k), Field::of(f, v)))
                .collect()
        })
        .unwrap_or_default();
    if let Some(c) = c {
        for (what, name) in [
            ("db-name", &c.service_env_var_db_name),
            ("username", &c.service_env_var_username),
            ("password", &c.service_env_var_password),
        ] {
            if let Some(name) = name {
                variables.push((
                    Field {
                        value: what.to_string(),
                        place: Place::at(f, &name.referenced),
                    },
                    Field::of(f, name),
                ));
            }
        }
    }
    Some(DatabaseDraft {
        id: Field::of(f, &d.id),
        kind,
        engine,
        engine_version,
        allocated_storage: c
            .and_then(|c| number(f, &c.allocated_storage, "allocated-storage", problems)),
        instance_class: c.and_then(|c| opt(f, &c.instance_class)),
        storage_type: c.and_then(|c| opt(f, &c.storage_type)),
        db_name: c.and_then(|c| opt(f, &c.db_name)),
        username: c.and_then(|c| opt(f, &c.username)),
        password_secret_name: c.and_then(|c| opt(f, &c.password_secret_name)),
        variables,
        client: client.map(str::to_string),
    })
}

/// A deployed dependency exo-deploy does not provide: said, since Exosphere would have
/// deployed (or tried to deploy) it.
fn not_deployed(f: &SourceFile, d: &exosphere_early::Dependency) -> ConfigDiagnostic {
    ConfigDiagnostic::warning(
        Place::at(f, &d.id.referenced),
        format!(
            "the dependency `{}` is not deployed: exo-deploy deploys ExoCom (`exocom`) and RDS databases (`postgres`, `mysql`, `type: rds`)",
            d.id.value
        ),
        "not deployed",
    )
    .help("run it elsewhere and give its services its address as an environment variable or a secret")
}

/// Exosphere 0.23–0.34's draft: one environment, `production`, from `production:`
/// (0.23–0.31) or `remote:` (0.32–0.34).
pub fn from_exosphere_early(
    l: &Loaded<exosphere_early::AppFile, exosphere_early::ServiceFile>,
    select: EnvSelector<'_>,
) -> Result<AppDraft, ConfigErrors> {
    let f = &l.app_file;
    let a = &l.app;
    let mut problems = l.problems.clone();
    let (block, format) = match (&a.remote, &a.production) {
        (Some(remote), production) => {
            if let Some(p) = production {
                problems.push(
                    ConfigDiagnostic::warning(
                        Place::at(f, &p.referenced),
                        "`production` is not read: the deployment is `remote` (Exosphere 0.32+ read only that)",
                        "not read",
                    )
                    .help("move what it says into `remote`, then remove it"),
                );
            }
            (Some(remote), Format::ExosphereRemote)
        }
        (None, Some(production)) => (Some(production), Format::ExosphereProduction),
        (None, None) if a.local.is_some() => (None, Format::ExosphereRemote),
        (None, None) => (None, Format::ExosphereProduction),
    };
    let env_place = block.map_or_else(|| Place::file(f), |b| Place::at(f, &b.referenced));
    // Exosphere deployed one environment, which its Terraform called `production`
    // (`ex@v0.30.0:src/terraform/templates/aws.tf`: `env = "production"`)
    let env_names = vec![Field {
        value: "production".to_string(),
        place: env_place.clone(),
    }];
    let index = select(&env_names, &env_place)?;
    let mut env = EnvDraft::default();
    let mut databases = Vec::new();
    let mut bus_version = None;
    let top = a.dependencies.iter().flat_map(|d| &d.0);
    for d in top {
        // 0.23–0.25: local and deployed alike; only ExoCom's version matters here
        if d.is_exocom() {
            bus_version = d.exocom_version().map(|v| text(f, v));
        }
    }
    if let Some(b) = block {
        let b = &b.value;
        merge(&mut env.domain, opt(f, &b.url));
        fill_env!(f, b, &mut env);
        layer(
            &mut env.environment_variables,
            &mut env.secrets,
            pairs(f, &b.environment),
            secrets(f, &b.secrets),
        );
        for d in &b.dependencies.0 {
            if d.is_exocom() {
                merge(&mut bus_version, d.exocom_version().map(|v| text(f, v)));
            } else if let Some(db) = early_database(f, d, None, &mut problems) {
                databases.push(db);
            } else {
                problems.push(not_deployed(f, d));
            }
        }
    }
    let deployable = block.is_some_and(|b| {
        let b = &b.value;
        b.url.is_some() || b.region.is_some() || b.account_id.is_some()
    });

    let groups = &a.services.value.groups;
    let grouped = !groups.is_empty();
    let entries: Vec<(
        Option<ServiceKind>,
        &Spanned<String>,
        &exosphere_early::ServiceRef,
    )> = if grouped {
        groups
            .iter()
            .flat_map(|(g, e)| {
                let kind = ServiceKind::parse(&g.value);
                e.0.iter().map(move |(role, r)| (kind, role, r))
            })
            .collect()
    } else {
        a.services
            .value
            .flat
            .0
            .iter()
            .map(|(role, r)| (None, role, r))
            .collect()
    };
    let mut services = Vec::new();
    for (kind, role, r) in entries {
        let mut d = ServiceDraft::new(Field::of(f, role), kind.ok_or(None));
        d.location = opt(f, &r.location);
        d.docker_image = opt(f, &r.docker_image);
        d.translations = translations(f, r.message_translation.as_deref().unwrap_or_default());
        if let Some(x) = &r.dependency_data.exocom {
            d.translations.extend(translations(f, &x.translations));
        }
        if let Some(loaded) = l.services.get(&role.value) {
            let sf = &loaded.file;
            let s = &loaded.service;
            d.dir = loaded.dir.clone();
            d.file = Some(sf.clone());
            if !grouped {
                // 0.31+: the service.yml's `type` is the kind (to 0.30 it named the image)
                d.kind = match &s.kind {
                    Some(k) => ServiceKind::parse(&k.value).ok_or_else(|| Some(Field::of(sf, k))),
                    None => Err(None),
                };
            }
            d.sends = names(sf, &s.messages.sends);
            d.receives = names(sf, &s.messages.receives);
            if let Some(x) = &s.dependency_data.exocom {
                d.sends.extend(names(sf, &x.sends));
                d.receives.extend(names(sf, &x.receives));
                d.translations.extend(translations(sf, &x.translations));
            }
            if let Some(e) = &s.environment {
                layer(
                    &mut d.environment_variables,
                    &mut d.secrets,
                    pairs(sf, &e.default),
                    secrets(sf, &e.secrets),
                );
                let deployed = pairs(sf, &e.production)
                    .into_iter()
                    .chain(pairs(sf, &e.remote));
                layer(
                    &mut d.environment_variables,
                    &mut d.secrets,
                    deployed.collect(),
                    Vec::new(),
                );
            }
            let from_image = loaded.dir.is_none();
            let mut service_deps = Vec::new();
            if let Some(p) = &s.production {
                merge(&mut d.url, opt(sf, &p.url));
                merge(&mut d.cpu, number(sf, &p.cpu, "cpu", &mut problems));
                merge(
                    &mut d.memory,
                    number(sf, &p.memory, "memory", &mut problems),
                );
                merge(
                    &mut d.port,
                    number(sf, &p.public_port, "public-port", &mut problems),
                );
                merge(&mut d.port, number(sf, &p.port, "port", &mut problems));
                merge(&mut d.health_check, opt(sf, &p.health_check));
                fill_service!(sf, p, &mut d);
                service_deps.extend(&p.dependencies.0);
            }
            if let Some(r) = &s.remote {
                merge(&mut d.url, opt(sf, &r.url));
                merge(&mut d.cpu, number(sf, &r.cpu, "cpu", &mut problems));
                merge(
                    &mut d.memory,
                    number(sf, &r.memory, "memory", &mut problems),
                );
                merge(&mut d.health_check, opt(sf, &r.health_check));
                fill_service!(sf, r, &mut d);
                layer(
                    &mut d.environment_variables,
                    &mut d.secrets,
                    pairs(sf, &r.environment),
                    Vec::new(),
                );
                service_deps.extend(&r.dependencies.0);
            }
            for dep in service_deps {
                if dep.is_exocom() {
                    continue;
                }
                if from_image {
                    problems.push(from_image_problem(sf, &dep.id, &role.value, "a database"));
                } else if let Some(db) = early_database(sf, dep, Some(&role.value), &mut problems) {
                    databases.push(db);
                } else {
                    problems.push(not_deployed(sf, dep));
                }
            }
        }
        refuse_secrets_from_image(&mut d, &role.value, &mut problems);
        services.push(d);
    }
    if !deployable {
        let public = services
            .iter()
            .any(|s| matches!(s.kind, Ok(ServiceKind::Public)));
        let what = match block {
            Some(_) => format!(
                "its `{}` block gives no url, region or account",
                if format == Format::ExosphereRemote {
                    "remote"
                } else {
                    "production"
                }
            ),
            None => "no `production` or `remote` block".to_string(),
        };
        problems.push(undeployable(f, format, public, &what));
    }
    Ok(AppDraft {
        format,
        dir: l.dir.clone(),
        app_file: f.clone(),
        name: Field::of(f, &a.name),
        version: a.version.as_ref().map(|v| text(f, v)),
        bus_kind: None,
        bus_version,
        env_name: env_names[index].clone(),
        env_names,
        env,
        services,
        databases,
        problems,
        undeployable: !deployable,
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

/// A service.yml inside an image was written by the image's author: the secrets it names are
/// dropped and refused, so an image cannot choose which of the account's secrets it receives.
fn refuse_secrets_from_image(
    d: &mut ServiceDraft,
    role: &str,
    problems: &mut Vec<crate::config::ConfigDiagnostic>,
) {
    if d.dir.is_some() || d.file.is_none() || d.location.is_some() {
        return;
    }
    let named: Vec<_> = d.secrets.drain(..).collect();
    if let (Some((first, _)), Some(sf)) = (named.first(), &d.file) {
        problems.push(
            crate::config::ConfigDiagnostic::at(
                first.place.clone(),
                format!(
                    "the service.yml inside the image of `{}` names secrets ({})",
                    role,
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

/// Each generation's keys, read as Exosphere's own code read them (the source each rule follows
/// is named per test; `ex` is Originate/exosphere). Apps are written to a temporary folder and
/// go through the loader and the resolver, as users' apps do.
#[cfg(test)]
mod tests {
    use crate::config::ConfigErrors;
    use crate::model::{App, ImageSource, ServiceKind};

    /// Writes `files` (path → text) into a temporary app folder; a path ending in `/` is an
    /// empty folder, `Dockerfile*` files get a `FROM scratch`.
    fn app_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<App, ConfigErrors>) {
        let dir = tempfile::TempDir::new().expect("temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        let raw = crate::config::load(dir.path());
        let app = raw.and_then(|r| crate::model::resolve(&r, Some("production")));
        (dir, app)
    }

    fn messages(e: &ConfigErrors) -> Vec<String> {
        e.diagnostics.iter().map(|d| d.message.clone()).collect()
    }

    #[track_caller]
    fn resolved(files: &[(&str, &str)]) -> (tempfile::TempDir, App) {
        let (dir, app) = app_with(files);
        let app = app.unwrap_or_else(|e| panic!("resolves: {:?}", messages(&e)));
        (dir, app)
    }

    const DOCKERFILE: &str = "FROM scratch\n";

    #[test]
    fn exosphere_0_30_reads_production_blocks_and_services_grouped_by_kind() {
        // ex@v0.30.0:src/types/app_config.go (`Production`, `Services{Public,Private,Worker}`),
        // app_production_config.go (url, region, account-id, ssl-certificate-arn),
        // service_production_config.go (url, cpu, memory, port, health-check) and
        // service_config.go (`environment.{default,production,secrets}`)
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                "name: shop\nversion: 0.0.1\ndevelopment:\n  dependencies:\n    - name: mongo\n      version: 3.4.0\nproduction:\n  url: shop.example.com\n  region: us-west-2\n  account-id: 123456789012\n  dependencies:\n    - name: exocom\n      version: 0.26.3\nservices:\n  public:\n    web:\n      location: ./web\n      docker_image: originate/web\n  worker:\n    orders:\n      location: ./orders\n      message-translation:\n        - public: orders create\n          internal: create\n",
            ),
            (
                "web/service.yml",
                "type: shop-web\nauthor: me\nstartup:\n  online-text: up\nmessages:\n  sends: [orders create]\nenvironment:\n  default:\n  development:\n    DEBUG: '1'\n  production:\n    MODE: prod\n  secrets:\n    - API_KEY\nproduction:\n  url: shop.example.com\n  cpu: 128\n  memory: 256\n  public-port: 3000\n  health-check: /health\nuser-data:\n  anything: here\n",
            ),
            ("web/Dockerfile.prod", DOCKERFILE),
            ("web/Dockerfile.dev", DOCKERFILE),
            (
                "orders/service.yml",
                "type: orders\nmessages:\n  receives: [create]\nproduction:\n  cpu: '256'\n  memory: 512\n",
            ),
            ("orders/Dockerfile", DOCKERFILE),
        ]);
        assert_eq!(app.format, crate::model::Format::ExosphereProduction);
        assert_eq!(app.env.name, "production");
        assert_eq!(app.env.region, "us-west-2");
        assert_eq!(app.env.domain.as_deref(), Some("shop.example.com"));
        assert_eq!(app.bus.version, "0.26.3");
        let web = app.services.iter().find(|s| s.role == "web").expect("web");
        assert_eq!(web.kind, ServiceKind::Public);
        assert_eq!((web.port, web.cpu, web.memory), (Some(3000), 128, 256));
        assert_eq!(web.health_check, "/health");
        assert_eq!(
            web.environment.get("MODE").map(String::as_str),
            Some("prod")
        );
        assert!(
            !web.environment.contains_key("DEBUG"),
            "development is local"
        );
        assert!(web.secrets.contains_key("API_KEY"));
        // the Go tool built deploy images from Dockerfile.prod (ex@v0.26.0:
        // src/docker/composebuilder/production.go), and ignored `docker_image`
        assert!(matches!(
            &web.image,
            ImageSource::Build { dockerfile, repository: None, .. } if dockerfile == "Dockerfile.prod"
        ));
        let orders = app
            .services
            .iter()
            .find(|s| s.role == "orders")
            .expect("orders");
        assert_eq!((orders.kind, orders.cpu), (ServiceKind::Worker, 256));
        assert_eq!(orders.translations.len(), 1);
        assert_eq!(orders.translations[0].public, "orders create");
    }

    #[test]
    fn an_exosphere_app_is_built_from_dockerfile_prod_before_dockerfile() {
        // a folder with both: Exosphere 0.24+ deployed Dockerfile.prod (ex@v0.37.0:
        // src/docker/composebuilder/service_builder.go); the original exo-deploy, Dockerfile
        let both = |app: &'static str, service: &'static str| {
            let (_dir, app) = resolved(&[
                ("application.yml", app),
                ("web/service.yml", service),
                ("web/Dockerfile", DOCKERFILE),
                ("web/Dockerfile.prod", DOCKERFILE),
            ]);
            match &app.services[0].image {
                ImageSource::Build { dockerfile, .. } => dockerfile.clone(),
                other => panic!("built: {other:?}"),
            }
        };
        assert_eq!(
            both(
                "name: shop\nremote:\n  environments:\n    production:\n      region: us-east-1\nservices:\n  web:\n    location: ./web\n",
                "type: worker\n",
            ),
            "Dockerfile.prod"
        );
        assert_eq!(
            both(
                "name: shop\nbus:\n  type: exocom\n  version: 0.27.0\nenvironments:\n  production:\n    providers:\n      aws:\n        region: us-east-1\nservices:\n  worker:\n    web:\n      location: ./web\n",
                "type: web\n",
            ),
            "Dockerfile"
        );
    }

    #[test]
    fn exosphere_0_33_reads_a_remote_block_and_dependency_data() {
        // ex@v0.33.3:src/types/app_remote_config.go (remote.{url, region, account-id,
        // ssl-certificate-arn, environment, secrets}), service_remote_config.go (remote.{url,
        // cpu, memory, environment, secrets}), service_production_config.go (production.{port,
        // health-check}), service_config.go (`type: public|worker`, `dependency-data`) and
        // remote_dependency.go (`template-config`, 0.33.0–0.33.2's `config`)
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                "name: shop\nlocal:\n  dependencies:\n    exocom:\n      image: originate/exocom:0.27.0\nremote:\n  url: shop.example.com\n  region: eu-west-1\n  environment:\n    APP_WIDE: 'yes'\n  secrets: [SHARED]\n  dependencies:\n    exocom:\n      type: exocom\n      config:\n        version: 0.27.0\nservices:\n  web:\n    location: ./web\n  users:\n    location: ./users\n    dependency-data:\n      exocom:\n        translations:\n          - public: users create\n            internal: mongo create\n",
            ),
            (
                "web/service.yml",
                "type: public\ndependency-data:\n  exocom:\n    sends: [users create]\nlocal:\n  port: 3000\nproduction:\n  port: 3000\n  health-check: /\nremote:\n  url: www.shop.example.com\n  cpu: 100\n  memory: 128\n  environment:\n    OWN: value\n",
            ),
            ("web/Dockerfile.prod", DOCKERFILE),
            (
                "users/service.yml",
                "type: worker\ndependency-data:\n  exocom:\n    receives: [mongo create]\nremote:\n  cpu: 128\n  memory: 256\n  secrets: [DB_PASSWORD]\n",
            ),
            ("users/Dockerfile", DOCKERFILE),
        ]);
        assert_eq!(app.format, crate::model::Format::ExosphereRemote);
        assert_eq!(app.bus.version, "0.27.0", "0.33.0–0.33.2 wrote `config:`");
        let web = app.services.iter().find(|s| s.role == "web").expect("web");
        assert_eq!(web.url.as_deref(), Some("www.shop.example.com"));
        // cpu 100, Exosphere's documented default: the container keeps it, the task gets 128
        assert_eq!((web.cpu, web.container_cpu), (128, Some(100)));
        assert_eq!(
            web.environment.get("APP_WIDE").map(String::as_str),
            Some("yes")
        );
        assert_eq!(
            web.environment.get("OWN").map(String::as_str),
            Some("value")
        );
        assert!(web.secrets.contains_key("SHARED"));
        assert_eq!(web.sends, ["users create"]);
        let users = app
            .services
            .iter()
            .find(|s| s.role == "users")
            .expect("users");
        assert_eq!(users.kind, ServiceKind::Worker);
        assert!(users.secrets.contains_key("DB_PASSWORD"));
        assert_eq!(
            (
                users.translations[0].public.as_str(),
                users.translations[0].internal.as_str()
            ),
            ("users create", "mongo create")
        );
        let notes: Vec<&str> = app.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("the container of `web` gets 100 CPU units, its task 128")),
            "{notes:?}"
        );
    }

    #[test]
    fn the_original_format_reads_what_the_livescript_exo_deploy_read() {
        // ex@d0c185dbd:exo-deploy/src/dockerized/deployers/aws-deployer.ls (only
        // `environments.production`; `local` configured exo-run) and
        // ex@v0.22.1:website/config_files/application_yml.md (`staging: {url, provider,
        // region}`); 0.22 turned `bus` into `dependencies: [{type, version}]`
        // (ex@v0.22.1:exosphere-shared/src/application-dependency/index.ls)
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                "name: Space Tweet\ndependencies:\n  - type: exocom\n    version: 0.22.1\nenvironments:\n  local:\n  production:\n    domain: spacetweet.io\n    providers:\n      aws:\n        region: us-west-2\n  staging:\n    url: staging.spacetweet.io\n    provider: aws\n    region: us-east-1\nservices:\n  public:\n    web:\n      location: ./web\n      docker-image: originate/web\n",
            ),
            (
                "web/service.yml",
                "type: web\nauthor: originate\nsetup: yarn\nstartup:\n  command: node server.js\n  online-text: up\ndependencies:\n  mongo:\n    dev:\n      image: mongo\nproduction:\n  url: spacetweet.io\n  aws:\n    cpu: 128\n    memory: 256\n    essential: true\n    public-port: 3000\n",
            ),
            ("web/Dockerfile", DOCKERFILE),
        ]);
        assert_eq!(app.name, "space-tweet", "a free-text name, as a DNS label");
        assert_eq!(
            app.environments,
            ["production", "staging"],
            "`local` is not deployed"
        );
        assert_eq!(app.bus.version, "0.22.1");
        let warnings: Vec<&str> = app.warnings.iter().map(|w| w.message.as_str()).collect();
        for expected in [
            "the app `Space Tweet` is `space-tweet` in the names of what exo-deploy creates",
            "`startup.command` is not the container's command here: the image's own CMD runs",
            "`dependencies.mongo` does not give the container MONGODB_USER and MONGODB_PW here",
        ] {
            assert!(warnings.contains(&expected), "{expected:?} in {warnings:?}");
        }
    }

    #[test]
    fn only_the_deployed_environment_must_be_complete_the_others_get_warnings() {
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                "name: shop\nremote:\n  environments:\n    production:\n      url: shop.example.com\n      region: us-east-1\n    qa:\n      url: qa.example.com\nservices:\n  web:\n    location: ./web\n",
            ),
            (
                "web/service.yml",
                "type: public\nproduction:\n  port: 80\nremote:\n  environments:\n    production:\n      url: shop.example.com\n",
            ),
            ("web/Dockerfile", DOCKERFILE),
        ]);
        let warnings: Vec<&str> = app.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("environment `qa` (not deployed now) would not deploy: environment `qa` has no region")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_folder_with_only_a_dockerfile_dev_is_an_error_saying_what_it_was_for() {
        let (_dir, app) = app_with(&[
            (
                "application.yml",
                "name: shop\nremote:\n  environments:\n    production:\n      region: us-east-1\nservices:\n  jobs:\n    location: ./jobs\n",
            ),
            ("jobs/service.yml", "type: worker\n"),
            ("jobs/Dockerfile.dev", DOCKERFILE),
        ]);
        let errors = messages(&app.expect_err("refused"));
        assert_eq!(
            errors,
            [
                "service `jobs` has only a Dockerfile.dev in `./jobs`, which Exosphere used to run it locally, never to deploy it"
            ]
        );
    }

    #[test]
    fn variables_exosphere_set_are_noted_and_not_used() {
        // from 0.33.3 apps had to set EXOCOM_HOST themselves
        // (ex@v0.33.3:remote-dependency-templates/exocom/README.md)
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                "name: shop\nremote:\n  environments:\n    production:\n      region: us-east-1\n      environment-variables:\n        EXOCOM_HOST: exocom.production-shop.local\nservices:\n  jobs:\n    location: ./jobs\n",
            ),
            ("jobs/service.yml", "type: worker\n"),
            ("jobs/Dockerfile", DOCKERFILE),
        ]);
        assert!(!app.services[0].environment.contains_key("EXOCOM_HOST"));
        assert_eq!(app.warnings.len(), 1, "said once, not once per service");
        assert_eq!(
            app.warnings[0].message,
            "`EXOCOM_HOST` is set by exo-deploy: this value is not used"
        );
    }

    #[test]
    fn a_long_app_name_is_accepted_and_aws_limited_names_are_shortened() {
        let name = "app-with-external-docker-images"; // 31 characters, an Exosphere fixture's
        let (_dir, app) = resolved(&[
            (
                "application.yml",
                &format!(
                    "name: {name}\nremote:\n  environments:\n    production:\n      region: us-east-1\n      account-id: '123456789012'\nservices:\n  jobs:\n    location: ./jobs\n"
                ),
            ),
            ("jobs/service.yml", "type: worker\n"),
            ("jobs/Dockerfile", DOCKERFILE),
        ]);
        assert_eq!(app.name, name);
        let bucket = app.env.state_bucket.clone().expect("default bucket");
        assert!(bucket.len() <= 63, "{bucket}");
        assert!(
            crate::model::validate::bucket_name(&bucket).is_ok(),
            "{bucket}"
        );
        assert_eq!(
            bucket, "123456789012-app-with-external-docker-images-p-03edb8-terraform",
            "the start of `<app>-<env>` and a hash of the whole"
        );
    }

    #[test]
    fn an_app_without_deployment_settings_is_told_the_block_in_its_own_format() {
        for (app_yml, want) in [
            (
                "name: old\nbus:\n  type: exocom\n  version: 0.21.8\nservices:\n  worker:\n    jobs:\n      location: ./jobs\n",
                "environments:\n  production:\n    providers:\n      aws:\n        region: us-east-1\n",
            ),
            (
                "name: mid\nservices:\n  worker:\n    jobs:\n      location: ./jobs\n",
                "production:\n  region: us-east-1\n",
            ),
            (
                "name: late\nservices:\n  jobs:\n    location: ./jobs\n",
                "remote:\n  environments:\n    production:\n      region: us-east-1\n",
            ),
        ] {
            let (_dir, app) = app_with(&[
                ("application.yml", app_yml),
                ("jobs/service.yml", "type: worker\n"),
                ("jobs/Dockerfile", DOCKERFILE),
            ]);
            let e = app.expect_err("no deployment settings");
            assert_eq!(e.diagnostics.len(), 1, "{:?}", messages(&e));
            let help = e.diagnostics[0].help.clone().unwrap_or_default();
            assert!(help.contains(want), "{app_yml}: {help}");
        }
    }
}
