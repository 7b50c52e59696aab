//! Raw config → model: pick the environment, map the format's raw types into a draft, then
//! check every value and apply defaults. All problems of a run are collected and reported
//! together, each pointing at the value that caused it.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::{ConfigDiagnostic, ConfigErrors, Diagnostics, Place, RawApp, closest};
use crate::model::draft::{self, AppDraft, DatabaseDraft, Field, Pairs, SecretPairs, ServiceDraft};
use crate::model::validate as v;
use crate::model::{
    App, Autoscaling, Bus, Cluster, ContainerInsights, DEFAULT_EXOCOM_VERSION, Database,
    DatabaseVariables, Environment, ImageSource, MAX_LISTENER_PRIORITY, NatGateways, Origin,
    OutboundRule, SecretRef, Service, ServiceKind, listener_priority,
};
use crate::model::{capacity, instance_types};

/// Variables exo-deploy sets in every service as Exosphere did: an app that sets them too is
/// told its value is not used.
const SET_AS_EXOSPHERE_DID: [&str; 3] = ["ROLE", "EXOCOM_HOST", "EXOCOM_PORT"];

/// Variables exo-deploy sets in every service.
pub const RESERVED_VARIABLES: [&str; 4] = [
    "ROLE",
    "EXOCOM_HOST",
    "EXOCOM_PORT",
    "EXO_DEPLOY_SERVICE_COMMIT",
];

/// Longest app name: a DNS label (`<env>.<app>.internal` names the private namespace). Names
/// AWS limits more (the load balancer, the state bucket, databases, IAM roles) are shortened
/// with a hash of the whole.
pub const MAX_APP_NAME: usize = 63;
/// Longest environment name.
pub const MAX_ENV_NAME: usize = 16;
/// Longest role: a DNS label in the private namespace, with room for resource suffixes.
pub const MAX_ROLE: usize = 40;

/// Resolves `raw` for the environment `env` (or the only one there is). What would stop the
/// app's other environments is reported too, as warnings (they are not being deployed).
pub fn resolve(raw: &RawApp, env: Option<&str>) -> Result<App, ConfigErrors> {
    let draft = draft_of(raw, env)?;
    let (names, name) = (draft.env_names.clone(), draft.env_name.value.clone());
    let chosen = Resolver::default().app(draft);
    let known: HashSet<(String, String)> = match &chosen {
        Ok(app) => app
            .warnings
            .iter()
            .map(|d| (d.location(), d.message.clone()))
            .collect(),
        Err(e) => e
            .diagnostics
            .iter()
            .chain(&e.warnings)
            .map(|d| (d.location(), d.message.clone()))
            .collect(),
    };
    let mut others = Vec::new();
    for other in names.iter().filter(|n| n.value != name) {
        let Err(e) = resolve_one(raw, Some(&other.value)) else {
            continue;
        };
        for d in e.diagnostics {
            if known.contains(&(d.location(), d.message.clone())) {
                continue;
            }
            let mut w = d.clone();
            w.severity = crate::config::diagnostic::Severity::Warning;
            w.message = format!(
                "environment `{}` (not deployed now) would not deploy: {}",
                other.value, d.message
            );
            others.push(w);
        }
    }
    match chosen {
        Ok(mut app) => {
            app.warnings.extend(others);
            Ok(app)
        }
        Err(mut e) => {
            e.warnings.extend(others);
            Err(e)
        }
    }
}

fn draft_of(raw: &RawApp, env: Option<&str>) -> Result<AppDraft, ConfigErrors> {
    let select = |names: &[Field<String>], place: &Place| select_env(names, place, env);
    match raw {
        RawApp::ExoDeploy(l) => draft::from_exo_deploy(l, &select, &unknown_env),
        RawApp::ExosphereEarly(l) => draft::from_exosphere_early(l, &select),
        RawApp::Exosphere(l) => draft::from_exosphere(l, &select, &unknown_env),
    }
}

fn resolve_one(raw: &RawApp, env: Option<&str>) -> Result<App, ConfigErrors> {
    Resolver::default().app(draft_of(raw, env)?)
}

/// The state bucket's name when the config names none: globally unique through the account
/// id, and stable across runs. At most 63 characters (S3's limit): a longer `<app>-<env>` keeps
/// its start and gets a short hash of the whole.
pub fn default_state_bucket(account_id: &str, app: &str, env: &str) -> String {
    let room = 63 - account_id.len() - "--terraform".len();
    format!(
        "{account_id}-{}-terraform",
        crate::model::shortened(format!("{app}-{env}"), room)
    )
}

fn select_env(
    names: &[Field<String>],
    place: &Place,
    wanted: Option<&str>,
) -> Result<usize, ConfigErrors> {
    let listed = names
        .iter()
        .map(|n| format!("`{}`", n.value))
        .collect::<Vec<_>>()
        .join(", ");
    match (wanted, names.len()) {
        (_, 0) => Err(
            ConfigDiagnostic::at(place.clone(), "no environments are defined", "empty")
                .help("add one, e.g. `production`, with its region and domain (see docs/config.md)")
                .into(),
        ),
        (None, 1) => Ok(0),
        (None, _) => Err(ConfigDiagnostic::at(
            place.clone(),
            format!(
                "this app has {} environments; say which one to use",
                names.len()
            ),
            "defined here",
        )
        .help(format!("pass `-e NAME` with one of {listed}"))
        .into()),
        (Some(w), _) => names.iter().position(|n| n.value == w).ok_or_else(|| {
            let hint = closest(w, names.iter().map(|n| n.value.as_str()))
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            ConfigDiagnostic::at(
                place.clone(),
                format!("there is no environment `{w}`"),
                "defined here",
            )
            .help(format!("{hint}the environments are {listed}"))
            .into()
        }),
    }
}

fn unknown_env(name: &Field<String>, envs: &[Field<String>]) -> ConfigDiagnostic {
    let hint = closest(&name.value, envs.iter().map(|n| n.value.as_str()))
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    let listed = envs
        .iter()
        .map(|n| format!("`{}`", n.value))
        .collect::<Vec<_>>()
        .join(", ");
    ConfigDiagnostic::at(
        name.place.clone(),
        format!(
            "environment `{}` is not defined in application.yml",
            name.value
        ),
        "unknown environment",
    )
    .help(format!("{hint}the environments are {listed}"))
}

#[derive(Default)]
struct Resolver {
    diags: Diagnostics,
    /// The most rounds a cluster needs to start every new task of a deploy.
    rounds: u32,
}

impl Resolver {
    fn error(
        &mut self,
        place: &Place,
        message: impl Into<String>,
        label: &str,
        help: impl Into<String>,
    ) {
        self.diags
            .push(ConfigDiagnostic::at(place.clone(), message, label).help(help));
    }

    /// Runs a value check, reporting its failure at the value.
    fn check(
        &mut self,
        field: &Field<String>,
        what: &str,
        rule: fn(&str) -> Result<(), String>,
    ) -> bool {
        match rule(&field.value) {
            Ok(()) => true,
            Err(why) => {
                self.error(
                    &field.place,
                    format!("invalid {what} `{}`", field.value),
                    "here",
                    why,
                );
                false
            }
        }
    }

    fn checked(
        &mut self,
        field: &Option<Field<String>>,
        what: &str,
        rule: fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        let f = field.as_ref()?;
        self.check(f, what, rule).then(|| f.value.clone())
    }

    /// Outbound rules as written, each checked where it is.
    fn outbound(&mut self, rules: &[Field<String>]) -> Vec<OutboundRule> {
        rules
            .iter()
            .filter_map(|f| match v::outbound_rule(&f.value) {
                Ok(rule) => Some(rule),
                Err(why) => {
                    self.error(
                        &f.place,
                        format!("invalid outbound rule `{}`", f.value),
                        "here",
                        why,
                    );
                    None
                }
            })
            .collect()
    }

    fn in_range(&mut self, field: &Field<u32>, what: &str, min: u32, max: u32) -> u32 {
        if !(min..=max).contains(&field.value) {
            self.error(
                &field.place,
                format!("{what} {} is out of range", field.value),
                "here",
                format!("use a value from {min} to {max}"),
            );
        }
        field.value
    }

    fn app(mut self, d: AppDraft) -> Result<App, ConfigErrors> {
        for p in &d.problems {
            self.diags.push(p.clone());
        }
        self.check(&d.name, "app name", |s| v::dns_label(s, MAX_APP_NAME));
        self.check(&d.env_name, "environment name", |s| {
            v::dns_label(s, MAX_ENV_NAME)
        });
        if let Some(kind) = &d.bus_kind
            && kind.value != "exocom"
        {
            self.error(
                &kind.place,
                format!("unsupported bus `{}`", kind.value),
                "here",
                "exo-deploy deploys the `exocom` bus",
            );
        }
        let env = self.environment(&d);
        let services = self.services(&d, &env);
        let databases = self.databases(&d, &services);
        self.capacity(&d, &env, &services);
        self.load_balancer_fits(&d, &env, &services);
        let origins = d
            .origins()
            .into_iter()
            .map(|(key, value, place)| Origin {
                key,
                value,
                origin: place.to_string(),
            })
            .collect();
        let warnings = self.diags.warnings();
        self.diags.finish(App {
            name: d.name.value.clone(),
            version: d.version.map(|v| v.value).unwrap_or_else(|| "0.0.0".into()),
            format: d.format,
            dir: d.dir.clone(),
            bus: Bus {
                version: d
                    .bus_version
                    .map(|v| v.value)
                    .unwrap_or_else(|| DEFAULT_EXOCOM_VERSION.into()),
            },
            env,
            environments: d.env_names.iter().map(|n| n.value.clone()).collect(),
            services,
            databases,
            origins,
            warnings,
            rollout_rounds: self.rounds.max(1),
        })
    }

    fn environment(&mut self, d: &AppDraft) -> Environment {
        let e = &d.env;
        let at = &d.env_name.place;
        let region = match &e.region {
            Some(r) => {
                self.check(r, "region", v::region);
                r.value.clone()
            }
            None if d.undeployable => String::new(),
            None => {
                self.error(
                    at,
                    format!("environment `{}` has no region", d.env_name.value),
                    "this environment",
                    format!(
                        "add `{}`, e.g. `region: us-east-1`",
                        d.format.env_key("region")
                    ),
                );
                String::new()
            }
        };
        let domain = e.domain.as_ref().and_then(|dm| {
            self.check(dm, "domain", v::hostname)
                .then(|| dm.value.trim_end_matches('.').to_ascii_lowercase())
        });
        let public = self.cluster(
            e.public_cluster_size.as_ref(),
            e.public_cluster_instances.as_ref(),
        );
        let private = self.cluster(
            e.private_cluster_size.as_ref(),
            e.private_cluster_instances.as_ref(),
        );
        let nat_gateways = match &e.nat_gateways {
            None => NatGateways::PerAz,
            Some(n) => match n.value.as_str() {
                "single" => NatGateways::Single,
                "per-az" => NatGateways::PerAz,
                other => {
                    let hint = closest(other, ["single", "per-az"])
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                    self.error(
                        &n.place,
                        format!("unknown nat-gateways `{other}`"),
                        "here",
                        format!("{hint}use `single` or `per-az`"),
                    );
                    NatGateways::Single
                }
            },
        };
        let log_retention_days = match &e.log_retention_days {
            None => 365,
            Some(f) => {
                if !v::LOG_RETENTION_DAYS.contains(&f.value) {
                    let allowed = v::LOG_RETENTION_DAYS.map(|d| d.to_string()).join(", ");
                    self.error(
                        &f.place,
                        format!("CloudWatch cannot keep logs for {} days", f.value),
                        "here",
                        format!("use one of {allowed}"),
                    );
                }
                f.value
            }
        };
        let account_id = self.checked(&e.account_id, "account id", v::account_id);
        let mut state_bucket = self.checked(
            &e.remote_state_store,
            "remote-state-store bucket name",
            v::bucket_name,
        );
        if state_bucket.is_none()
            && let Some(account) = &account_id
        {
            let name = default_state_bucket(account, &d.name.value, &d.env_name.value);
            if v::bucket_name(&name).is_ok() {
                state_bucket = Some(name);
            } else {
                self.error(
                    at,
                    format!("the default state bucket name `{name}` is not a valid bucket name"),
                    "this environment",
                    "set `remote-state-store` to a bucket name of at most 63 characters",
                );
            }
        }
        Environment {
            name: d.env_name.value.clone(),
            region,
            account_id,
            domain,
            ssl_certificate_arn: self.checked(
                &e.ssl_certificate_arn,
                "certificate ARN",
                v::certificate_arn,
            ),
            state_bucket,
            registry: self.checked(&e.registry, "registry", v::registry),
            state_kms_key: self.checked(&e.remote_state_kms_key, "KMS key", v::kms_key),
            hosted_zone_id: self
                .checked(&e.hosted_zone_id, "hosted zone id", v::hosted_zone_id)
                .map(|z| z.trim_start_matches("/hostedzone/").to_string()),
            public_cluster: public,
            private_cluster: private,
            availability_zones: e
                .availability_zones
                .as_ref()
                .map_or(2, |f| self.in_range(f, "availability-zones", 2, 6)),
            nat_gateways,
            vpc_cidr: self
                .checked(&e.vpc_cidr, "VPC CIDR", v::vpc_cidr)
                .unwrap_or_else(|| "10.0.0.0/16".into()),
            log_retention_days,
            outbound: e.outbound.as_ref().map(|rules| self.outbound(rules)),
            secrets_kms_key: self.checked(&e.secrets_kms_key, "secrets KMS key", v::kms_key_arn),
            exocom_image: self.checked(&e.exocom_image, "ExoCom image", v::image_reference),
            registry_credentials: self.registry_credentials(&e.registry_credentials),
            eni_trunking: e.eni_trunking.as_ref().is_some_and(|f| f.value),
            flow_logs: e.flow_logs.as_ref().is_none_or(|f| f.value),
            container_insights: self.container_insights(e.container_insights.as_ref()),
            detailed_monitoring: e.detailed_monitoring.as_ref().is_none_or(|f| f.value),
            ecs_exec: e.ecs_exec.as_ref().is_some_and(|f| f.value),
            vpc_endpoints: e.vpc_endpoints.as_ref().is_some_and(|f| f.value),
            deletion_protection: e.deletion_protection.as_ref().map_or(
                matches!(d.env_name.value.as_str(), "production" | "prod"),
                |f| f.value,
            ),
            final_snapshot: e.final_snapshot.as_ref().map_or(
                matches!(d.env_name.value.as_str(), "production" | "prod"),
                |f| f.value,
            ),
            keep_releases: e
                .keep_releases
                .as_ref()
                .map_or(10, |f| self.in_range(f, "keep-releases", 1, 1000)),
            role_arn: self.checked(&e.role_arn, "role ARN", v::role_arn),
            profile: self.checked(&e.profile, "profile", v::profile),
            notify: e
                .notify
                .iter()
                .flatten()
                .filter_map(|(url, secret)| {
                    // a url that is itself a secret is written as a reference to it
                    let url = if v::secret_reference_like(&url.value) {
                        self.whole_secret_ref(url)
                            .map(crate::model::WebhookUrl::Secret)
                    } else {
                        self.check(url, "webhook url", v::webhook_url)
                            .then(|| crate::model::WebhookUrl::Written(url.value.clone()))
                    };
                    let secret = match secret {
                        Some(s) => Some(self.whole_secret_ref(s)?),
                        None => None,
                    };
                    Some(crate::model::Webhook { url: url?, secret })
                })
                .collect(),
        }
    }

    /// The databases of `remote.dependencies` (the app's and the services'): only `rds`, each
    /// id once (a service may declare the app's again, with the same settings).
    fn databases(&mut self, d: &AppDraft, services: &[Service]) -> Vec<Database> {
        let mut out: Vec<(Database, &DatabaseDraft)> = Vec::new();
        for draft in &d.databases {
            let Some(db) = self.database(draft, services) else {
                continue;
            };
            match out.iter_mut().find(|(o, _)| o.id == db.id) {
                None => out.push((db, draft)),
                Some((known, _)) => {
                    let same = Database {
                        clients: known.clients.clone(),
                        ..db.clone()
                    } == *known;
                    if same {
                        for c in db.clients {
                            if !known.clients.contains(&c) {
                                known.clients.push(c);
                            }
                        }
                        known.clients.sort();
                    } else {
                        self.error(
                            &draft.id.place,
                            format!("the database `{}` is declared again with other settings", db.id),
                            "here",
                            "declare it once (in application.yml for every service, or in one service.yml), or give the other one another name",
                        );
                    }
                }
            }
        }
        // two databases telling one service the same variable would overwrite each other
        for s in services {
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for (db, draft) in out.iter().filter(|(db, _)| db.clients.contains(&s.role)) {
                let v = &db.variables;
                for name in [&v.host, &v.port, &v.db_name, &v.username, &v.password] {
                    if let Some(other) = seen.insert(name, &db.id)
                        && other != db.id
                    {
                        self.error(
                            &draft.id.place,
                            format!("the databases `{other}` and `{}` both give `{}` the variable `{name}`", db.id, s.role),
                            "here",
                            "name one database's variables otherwise with `service-env-var-names`",
                        );
                    }
                }
            }
        }
        out.into_iter().map(|(db, _)| db).collect()
    }

    fn database(&mut self, d: &DatabaseDraft, services: &[Service]) -> Option<Database> {
        let id = &d.id;
        match &d.kind {
            Some(k) if k.value == "rds" => {}
            Some(k) => {
                self.error(
                    &k.place,
                    format!(
                        "unsupported dependency type `{}` of `{}`",
                        k.value, id.value
                    ),
                    "here",
                    "exo-deploy deploys `exocom` (the message bus) and `rds` (a database)",
                );
                return None;
            }
            None => {
                self.error(
                    &id.place,
                    format!("the dependency `{}` has no type", id.value),
                    "here",
                    "add `type: rds` for a database (`exocom` is the message bus)",
                );
                return None;
            }
        }
        let id_ok = self.check(id, "database name", |s| v::dns_label(s, 20));
        let required = |this: &mut Self, f: &Option<Field<String>>, key: &str, example: &str| {
            if f.is_none() {
                this.error(
                    &id.place,
                    format!("the database `{}` has no `{key}`", id.value),
                    "this database",
                    format!("add `template-config: {{{key}: {example}}}`"),
                );
            }
            f.as_ref().map(|f| f.value.clone())
        };
        let engine = required(self, &d.engine, "engine", "postgres");
        let engine_version = required(self, &d.engine_version, "engine-version", "\"16\"");
        let port = match engine.as_deref() {
            Some("postgres") => 5432,
            Some("mysql" | "mariadb") => 3306,
            Some(other) => {
                if let Some(f) = &d.engine {
                    self.error(
                        &f.place,
                        format!("unsupported database engine `{other}`"),
                        "here",
                        "use `postgres`, `mysql` or `mariadb`",
                    );
                }
                0
            }
            None => 0,
        };
        let allocated_storage = d.allocated_storage.as_ref().map_or(20, |f| {
            self.in_range(f, "allocated-storage (GiB)", 20, 65536)
        });
        let instance_class = d.instance_class.as_ref().map_or_else(
            || "db.t3.micro".to_string(),
            |f| {
                if !f.value.starts_with("db.") {
                    self.error(
                        &f.place,
                        format!("invalid instance class `{}`", f.value),
                        "here",
                        "RDS instance classes start with `db.`, like `db.t3.micro`",
                    );
                }
                f.value.clone()
            },
        );
        let storage_type = d.storage_type.as_ref().map_or_else(
            || "gp3".to_string(),
            |f| {
                if !["gp3", "gp2", "io1", "io2", "standard"].contains(&f.value.as_str()) {
                    self.error(
                        &f.place,
                        format!("unknown storage type `{}`", f.value),
                        "here",
                        "use `gp3`, `gp2`, `io1`, `io2` or `standard`",
                    );
                }
                f.value.clone()
            },
        );
        let identifier =
            |this: &mut Self, f: &Option<Field<String>>, what: &str, default: String| match f {
                None => default,
                Some(f) => {
                    this.check(f, what, v::database_identifier);
                    f.value.clone()
                }
            };
        let db_name = identifier(
            self,
            &d.db_name,
            "database name (`db-name`)",
            id.value.replace('-', "_"),
        );
        let username = identifier(self, &d.username, "user name", "app".to_string());
        // the variables: DEP_HOST… unless `service-env-var-names` names them
        if let Some(f) = &d.password_secret_name {
            self.check(
                f,
                "variable name for the password (`password-secret-name`)",
                v::env_var_name,
            );
        }
        let prefix = id.value.to_ascii_uppercase().replace('-', "_");
        let mut variables = DatabaseVariables {
            host: format!("{prefix}_HOST"),
            port: format!("{prefix}_PORT"),
            db_name: format!("{prefix}_DB_NAME"),
            username: format!("{prefix}_USERNAME"),
            password: d
                .password_secret_name
                .as_ref()
                .map_or_else(|| format!("{prefix}_PASSWORD"), |f| f.value.clone()),
        };
        for (what, name) in &d.variables {
            if !self.check(name, "environment variable name", v::env_var_name) {
                continue;
            }
            let slot = match what.value.as_str() {
                "host" => &mut variables.host,
                "port" => &mut variables.port,
                "db-name" => &mut variables.db_name,
                "username" => &mut variables.username,
                "password" => &mut variables.password,
                other => {
                    let hint = closest(other, ["host", "port", "db-name", "username", "password"])
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                    self.error(&what.place, format!("`{other}` is not something a database tells its services"), "here", format!("{hint}name variables for `host`, `port`, `db-name`, `username` or `password`"));
                    continue;
                }
            };
            *slot = name.value.clone();
        }
        let clients: Vec<String> = match &d.client {
            Some(role) => vec![role.clone()],
            None => services.iter().map(|s| s.role.clone()).collect(),
        };
        // a variable of the same name set by the service itself would be silently replaced
        for s in services.iter().filter(|s| clients.contains(&s.role)) {
            for name in [
                &variables.host,
                &variables.port,
                &variables.db_name,
                &variables.username,
                &variables.password,
            ] {
                if s.environment.contains_key(name) || s.secrets.contains_key(name) {
                    self.error(&id.place, format!("`{}` sets `{name}`, which the database `{}` gives it", s.role, id.value), "this database", "rename the service's variable, or name the database's with `service-env-var-names`");
                }
            }
        }
        let (Some(engine), Some(engine_version), true) =
            (engine, engine_version, id_ok && port != 0)
        else {
            return None;
        };
        Some(Database {
            id: id.value.clone(),
            engine,
            engine_version,
            allocated_storage,
            instance_class,
            storage_type,
            db_name,
            username,
            port,
            clients,
            variables,
        })
    }

    /// `container-insights`: `enhanced`, `enabled` (the default) or `disabled`.
    fn container_insights(&mut self, f: Option<&Field<String>>) -> ContainerInsights {
        let Some(f) = f else {
            return ContainerInsights::Enabled;
        };
        match ContainerInsights::NAMES.iter().position(|n| *n == f.value) {
            Some(0) => ContainerInsights::Enhanced,
            Some(2) => ContainerInsights::Disabled,
            Some(_) => ContainerInsights::Enabled,
            None => {
                let hint = closest(&f.value, ContainerInsights::NAMES)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                self.error(
                    &f.place,
                    format!("unknown container-insights `{}`", f.value),
                    "here",
                    format!("{hint}use `enhanced`, `enabled` or `disabled`"),
                );
                ContainerInsights::Enabled
            }
        }
    }

    /// `registry-credentials`: registry host → the Secrets Manager secret tasks pull with.
    fn registry_credentials(
        &mut self,
        entries: &[(Field<String>, Field<String>)],
    ) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        for (host, secret) in entries {
            let ok_host = self.check(host, "registry host", v::registry_host);
            let ok_secret =
                self.check(secret, "pull credentials secret", v::secrets_manager_secret);
            if ok_host && ok_secret {
                found.insert(
                    crate::model::image::canonical_host(&host.value).to_string(),
                    secret.value.clone(),
                );
            }
        }
        found
    }

    /// What the load balancer needs of the environment, when there is one: its certificate in
    /// the environment's region, and subnets of at least /27 (exo-deploy cuts the VPC into 16).
    fn load_balancer_fits(&mut self, d: &AppDraft, env: &Environment, services: &[Service]) {
        if !services.iter().any(|s| s.kind == ServiceKind::Public) {
            return;
        }
        if let (Some(arn), Some(field)) = (&env.ssl_certificate_arn, &d.env.ssl_certificate_arn)
            && let Some(region) = arn.split(':').nth(3)
            && !env.region.is_empty()
            && region != env.region
        {
            self.error(
                &field.place,
                format!(
                    "the certificate is in {region}, and the load balancer in {}",
                    env.region
                ),
                "here",
                format!(
                    "a load balancer uses certificates of its own region: request or import one in {} (ACM)",
                    env.region
                ),
            );
        }
        if let Some(field) = &d.env.vpc_cidr
            && let Some(prefix) = env
                .vpc_cidr
                .split_once('/')
                .and_then(|(_, p)| p.parse::<u8>().ok())
            && prefix > 23
        {
            self.error(
                &field.place,
                format!(
                    "a /{prefix} VPC gives /{} subnets, and the load balancer needs at least /27",
                    prefix + 4
                ),
                "here",
                "use a VPC of /23 or larger (a smaller prefix), e.g. `10.0.0.0/23`",
            );
        }
    }

    /// Every task fits an instance of its cluster, and every cluster holds its services while
    /// they all deploy at once (see [`capacity`]).
    fn capacity(&mut self, d: &AppDraft, env: &Environment, services: &[Service]) {
        if let Some(flag) = d.env.eni_trunking.as_ref().filter(|f| f.value) {
            let has_public = services.iter().any(|s| s.kind == ServiceKind::Public);
            let clusters = [
                Some(&env.private_cluster),
                has_public.then_some(&env.public_cluster),
            ];
            let can_trunk = clusters.into_iter().flatten().any(|c| {
                instance_types::lookup(&c.instance_type).is_some_and(|t| t.trunk_tasks.is_some())
            });
            if !can_trunk {
                self.error(
                    &flag.place,
                    "ENI trunking is on, and no cluster's instance type can use it",
                    "here",
                    "burstable types (t3, t3a, t4g) cannot trunk: choose another `private-cluster-size`/`public-cluster-size` (an m5.large holds 10 tasks with trunking), or remove `eni-trunking`",
                );
            }
        }
        for (name, cluster, size, instances) in [
            (
                "public",
                &env.public_cluster,
                &d.env.public_cluster_size,
                &d.env.public_cluster_instances,
            ),
            (
                "private",
                &env.private_cluster,
                &d.env.private_cluster_size,
                &d.env.private_cluster_instances,
            ),
        ] {
            let Some(it) = instance_types::lookup(&cluster.instance_type) else {
                continue; // an unknown type is reported where it is written
            };
            let verdict = capacity::assess(name, cluster, &it, services, env.eni_trunking);
            for big in verdict.too_large {
                let draft = d.services.iter().find(|x| x.role.value == big.role);
                let written = draft.and_then(|x| {
                    if big.cpu {
                        x.cpu.clone()
                    } else {
                        x.memory.clone()
                    }
                });
                let Some(place) = written
                    .map(|f| f.place)
                    .or_else(|| draft.map(|x| x.role.place.clone()))
                else {
                    continue;
                };
                self.error(&place, big.message, "here", big.help);
            }
            let place = instances
                .as_ref()
                .map(|(_, max)| &max.place)
                .or(size.as_ref().map(|s| &s.place))
                .unwrap_or(&d.env_name.place)
                .clone();
            if let Some(short) = verdict.shortfall {
                self.error(&place, short.message, "this cluster", short.help);
            } else if let Some(crowd) = verdict.crowding {
                self.rounds = self.rounds.max(crowd.rounds);
                self.diags.push(
                    ConfigDiagnostic::warning(place, crowd.message, "this cluster")
                        .help(crowd.help),
                );
            }
        }
    }

    fn cluster(
        &mut self,
        size: Option<&Field<String>>,
        instances: Option<&(Field<u32>, Field<u32>)>,
    ) -> Cluster {
        let instance_type = size.and_then(|s| {
            if !self.check(s, "instance type", v::instance_type) {
                return None;
            }
            if instance_types::lookup(&s.value).is_none() {
                if instance_types::family_known(&s.value) {
                    // the table holds every size of its families: this one AWS does not sell
                    self.error(
                        &s.place,
                        format!("there is no instance type `{}`", s.value),
                        "here",
                        format!(
                            "its family comes in {}",
                            instance_types::sizes_of(&s.value).join(", ")
                        ),
                    );
                } else {
                    // a family the table lacks may be newer than it: EC2 decides at preflight
                    let typo = instance_types::closest(&s.value)
                        .map(|near| format!("if you meant `{near}`, write that; otherwise "))
                        .unwrap_or_default();
                    self.diags.push(
                        ConfigDiagnostic::note(
                            s.place.clone(),
                            format!(
                                "the instance type `{}` is not in exo-deploy's table: the deploy's preflight asks EC2 for it and checks the cluster's capacity with what EC2 says",
                                s.value
                            ),
                            "not in the table",
                        )
                        .help(format!("{typo}a dry run cannot ask EC2, so this cluster's capacity is checked when deploying")),
                    );
                }
            }
            Some(s.value.clone())
        });
        let (min, max) = match instances {
            // room for a SpaceTweet-sized app to deploy: 6 × t3.small hold 12 tasks
            None => (1, 6),
            Some((min, max)) => {
                let lo = self.in_range(min, "cluster min", 0, 1000);
                let hi = self.in_range(max, "cluster max", 1, 1000);
                if lo > hi {
                    self.error(
                        &min.place,
                        format!("min {lo} is above max {hi}"),
                        "here",
                        "make min at most max",
                    );
                }
                (lo, hi)
            }
        };
        Cluster {
            instance_type: instance_type.unwrap_or_else(|| "t3.small".into()),
            min,
            max,
        }
    }

    fn services(&mut self, d: &AppDraft, env: &Environment) -> Vec<Service> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut urls: HashMap<String, &Field<String>> = HashMap::new();
        let mut out = Vec::new();
        if d.services.is_empty() {
            self.error(
                &Place::file(&d.app_file),
                "the app has no services",
                "",
                "add at least one under `services`",
            );
        }
        for s in &d.services {
            if seen.contains(s.role.value.as_str()) {
                self.error(
                    &s.role.place,
                    format!("two services have the role `{}`", s.role.value),
                    "second one",
                    "rename one of them: roles are unique in an app",
                );
                continue;
            }
            seen.insert(&s.role.value);
            if let Some(url) = &s.url {
                let key = url.value.trim_end_matches('.').to_ascii_lowercase();
                if let Some(first) = urls.get(&key) {
                    let other = d
                        .services
                        .iter()
                        .find(|o| o.url.as_ref().is_some_and(|u| std::ptr::eq(u, *first)))
                        .map(|o| o.role.value.clone())
                        .unwrap_or_default();
                    self.error(
                        &url.place,
                        format!(
                            "the url `{}` is already used by service `{other}`",
                            url.value
                        ),
                        "duplicate url",
                        "give each public service its own url",
                    );
                } else {
                    urls.insert(key, url);
                }
            }
            if let Some(svc) = self.service(d, env, s) {
                out.push(svc);
            }
        }
        out.sort_by(|a, b| a.role.cmp(&b.role));
        self.priorities(d, &out);
        out
    }

    /// Two public services may not share a listener rule priority.
    fn priorities(&mut self, d: &AppDraft, services: &[Service]) {
        let mut taken: BTreeMap<u32, &Service> = BTreeMap::new();
        for s in services {
            let Some(p) = s.priority else { continue };
            let Some(first) = taken.get(&p) else {
                taken.insert(p, s);
                continue;
            };
            let draft = |role: &str| d.services.iter().find(|x| x.role.value == role);
            let (Some(this), Some(other)) = (draft(&s.role), draft(&first.role)) else {
                continue;
            };
            let how = |x: &ServiceDraft| {
                if x.priority.is_some() {
                    "set by its `priority`"
                } else {
                    "derived from its role"
                }
            };
            let key = d.format.service_settings_key("priority");
            let place = this
                .priority
                .as_ref()
                .map_or_else(|| this.role.place.clone(), |f| f.place.clone());
            self.error(
                &place,
                format!(
                    "public services `{}` and `{}` would share the load balancer rule priority {p} ({} for `{}`, {} for `{}`)",
                    first.role,
                    s.role,
                    how(other),
                    first.role,
                    how(this),
                    s.role
                ),
                "same priority",
                format!(
                    "set `{key}` in `{}`'s service.yml to a free number from 1 to {MAX_LISTENER_PRIORITY}; it must never change once deployed",
                    s.role
                ),
            );
        }
    }

    fn service(&mut self, d: &AppDraft, env: &Environment, s: &ServiceDraft) -> Option<Service> {
        let mut role_ok = self.check(&s.role, "role", |r| v::dns_label(r, MAX_ROLE));
        if s.role.value == crate::model::EXOCOM_ROLE {
            self.error(
                &s.role.place,
                "the role `exocom` is taken by the message bus exo-deploy runs",
                "reserved",
                "rename the service",
            );
            role_ok = false;
        }
        // a service.yml that could not be read was reported where it was read (the loader):
        // what it would have said cannot be checked
        let unread = s.file.is_none()
            && (s.location.is_some()
                || (d.format != crate::model::Format::ExoDeploy && s.docker_image.is_some()));
        if unread {
            return None;
        }
        let kind = match &s.kind {
            Ok(k) => Some(*k),
            Err(Some(bad)) => {
                let hint = closest(&bad.value, ServiceKind::NAMES)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                self.error(
                    &bad.place,
                    format!("unknown service type `{}`", bad.value),
                    "here",
                    format!("{hint}use `public`, `private` or `worker`"),
                );
                None
            }
            Err(None) => {
                let help = if s.file.is_some() {
                    "add `type: public`, `type: private` or `type: worker` to its service.yml"
                } else {
                    "give it a `location` whose service.yml says `type: public|private|worker`"
                };
                self.error(
                    &s.place(),
                    format!("service `{}` has no type", s.role.value),
                    "",
                    help,
                );
                None
            }
        };
        // every other check of the service still runs when its image cannot be known
        let image = self.image(d.format, s);
        let kind = kind?;
        let port = s
            .port
            .as_ref()
            .map(|p| self.in_range(p, "port", 1, 65535) as u16);
        let url = s.url.as_ref().and_then(|u| {
            self.check(u, "url", v::hostname)
                .then(|| u.value.trim_end_matches('.').to_ascii_lowercase())
        });
        if kind == ServiceKind::Public && !d.undeployable {
            let port_key = d.format.port_key();
            if s.port.is_none() {
                self.error(
                    &s.place(),
                    format!("public service `{}` has no port", s.role.value),
                    "",
                    format!("set `{port_key}` to the port the container listens on"),
                );
            }
            let url_key = d.format.url_key(&env.name);
            match (&url, &env.domain) {
                (None, _) if s.url.is_none() => self.error(
                    &s.place(),
                    format!("public service `{}` has no url", s.role.value),
                    "",
                    format!("set `{url_key}` to the host name it answers at"),
                ),
                (Some(u), Some(domain)) if !v::within_domain(u, domain) => {
                    if let Some(f) = &s.url {
                        self.error(
                            &f.place,
                            format!("`{u}` is not within the environment's domain `{domain}`"),
                            "outside the hosted zone",
                            format!("use `{domain}` or a name below it, like `api.{domain}`"),
                        );
                    }
                }
                (Some(_), None) => self.error(
                    &d.env_name.place,
                    format!(
                        "environment `{}` has no domain, but public services need one",
                        env.name
                    ),
                    "this environment",
                    format!(
                        "add `{}: example.com` to the environment",
                        d.format.env_key("url")
                    ),
                ),
                _ => {}
            }
        } else if let Some(u) = &s.url {
            self.error(&u.place, format!("{kind} service `{}` has a url, but only public services are reachable from the internet", s.role.value), "not used", "remove it, or make the service public");
        }
        let priority = match (&s.priority, kind) {
            (Some(p), ServiceKind::Public) => {
                Some(self.in_range(p, "listener rule priority", 1, MAX_LISTENER_PRIORITY))
            }
            (None, ServiceKind::Public) => Some(listener_priority(&s.role.value)),
            (Some(p), _) => {
                self.error(
                    &p.place,
                    format!(
                        "{kind} service `{}` has a priority, but only public services have load balancer rules",
                        s.role.value
                    ),
                    "not used",
                    "remove it, or make the service public",
                );
                None
            }
            (None, _) => None,
        };
        let health_check = s
            .health_check
            .as_ref()
            .and_then(|h| {
                self.check(h, "health check", v::health_check_path)
                    .then(|| h.value.clone())
            })
            .unwrap_or_else(|| "/".into());
        // ECS gives a task at least 128 CPU units; a container may have fewer (Exosphere's
        // documented default was 100): it keeps them, inside a task of 128
        let container_cpu = s.cpu.as_ref().map(|c| self.in_range(c, "cpu", 1, 16384));
        let cpu = container_cpu.map_or(256, |c| c.max(crate::model::MIN_TASK_CPU));
        if let (Some(f), Some(c)) = (&s.cpu, container_cpu)
            && c < crate::model::MIN_TASK_CPU
        {
            self.diags.push(
                ConfigDiagnostic::note(
                    f.place.clone(),
                    format!(
                        "the container of `{}` gets {c} CPU units, its task {} (the least ECS gives a task)",
                        s.role.value,
                        crate::model::MIN_TASK_CPU
                    ),
                    "rounded up for the task",
                )
                .help(format!(
                    "write `cpu: {}` to say so yourself",
                    crate::model::MIN_TASK_CPU
                )),
            );
        }
        let memory = s
            .memory
            .as_ref()
            .map_or(512, |m| self.in_range(m, "memory (MiB)", 64, 122_880));
        let autoscaling = s.autoscaling.as_ref().map(|a| {
            let (min, max, target) = (&a.min, &a.max, &a.cpu_target);
            let lo = self.in_range(min, "autoscaling min", 0, 1000);
            let hi = self.in_range(max, "autoscaling max", 1, 1000);
            if lo > hi {
                self.error(
                    &min.place,
                    format!("autoscaling min {lo} is above max {hi}"),
                    "here",
                    "make min at most max",
                );
            }
            let cpu_target = target
                .as_ref()
                .map_or(70, |t| self.in_range(t, "cpu-target (percent)", 1, 100));
            Autoscaling {
                min: lo,
                max: hi,
                cpu_target,
            }
        });
        let desired_count = match (&s.desired_count, &autoscaling) {
            (Some(c), Some(a)) => {
                let n = self.in_range(c, "desired-count", 0, 1000);
                if n < a.min || n > a.max {
                    self.error(
                        &c.place,
                        format!(
                            "desired-count {n} is outside the autoscaling range {}–{}",
                            a.min, a.max
                        ),
                        "here",
                        "pick a count inside the range, or leave it out to start at the minimum",
                    );
                }
                n
            }
            (Some(c), None) => self.in_range(c, "desired-count", 0, 1000),
            (None, Some(a)) => a.min.max(1),
            (None, None) => 1,
        };
        // the service's own rules, else the environment's
        let outbound = match &s.outbound {
            Some(rules) => Some(self.outbound(rules)),
            None => env.outbound.clone(),
        };
        let environment = self.variables(&d.env.environment_variables, &s.environment_variables);
        let secrets = self.secrets(d, &d.env.secrets, &s.secrets);
        for key in secrets.keys() {
            if let Some((f, _)) = s
                .environment_variables
                .iter()
                .chain(&d.env.environment_variables)
                .find(|(k, _)| &k.value == key)
            {
                self.error(
                    &f.place,
                    format!("`{key}` is both an environment variable and a secret"),
                    "here",
                    "keep one: a container cannot have both",
                );
            }
        }
        let messages = |list: &[Field<String>], this: &mut Self| -> Vec<String> {
            list.iter()
                .filter(|m| {
                    let ok = !m.value.trim().is_empty();
                    if !ok {
                        this.error(
                            &m.place,
                            "empty message name",
                            "here",
                            "name the message, like `users.create`",
                        );
                    }
                    ok
                })
                .map(|m| m.value.clone())
                .collect()
        };
        let sends = messages(&s.sends, self);
        let receives = messages(&s.receives, self);
        let translations = s
            .translations
            .iter()
            .map(|(public, internal)| crate::model::Translation {
                public: public.value.clone(),
                internal: internal.value.clone(),
            })
            .collect();
        if let Some(ns) = &s.namespace {
            let bus = Bus {
                version: d
                    .bus_version
                    .as_ref()
                    .map_or_else(|| DEFAULT_EXOCOM_VERSION.into(), |v| v.value.clone()),
            };
            if bus.version_at_least(0, 23) {
                self.diags.push(
                    ConfigDiagnostic::warning(
                        ns.place.clone(),
                        format!(
                            "ExoCom {} has no namespaces: `{}` sends and receives its messages by the names it uses",
                            bus.version, s.role.value
                        ),
                        "not passed to ExoCom",
                    )
                    .help(format!(
                        "only the LiveScript ExoCom (to 0.22) read `namespace`; to rename the messages of `{}`, give it a `message-translation` of public and internal names, which ExoCom 0.23+ reads, or pin the bus to 0.22",
                        s.role.value
                    )),
                );
            }
        }
        let image = image.filter(|_| role_ok)?;
        Some(Service {
            role: s.role.value.clone(),
            kind,
            image,
            port,
            url,
            health_check,
            health_check_grace_period: s.health_check_grace_period.as_ref().map_or(60, |f| {
                self.in_range(f, "health-check-grace-period (seconds)", 0, 7200)
            }),
            priority,
            cpu,
            memory,
            desired_count,
            autoscaling,
            outbound,
            environment,
            secrets,
            sends,
            receives,
            namespace: s.namespace.as_ref().map(|n| n.value.clone()),
            translations,
            container_cpu: container_cpu.filter(|c| *c != cpu),
        })
    }

    /// Where the service's image comes from. A folder with a Dockerfile is built (also when
    /// an image is named: it names where the build is pushed, as Exosphere read it); an image
    /// without a folder to build is used as it is.
    fn image(&mut self, format: crate::model::Format, s: &ServiceDraft) -> Option<ImageSource> {
        let dockerfile = s.dir.as_ref().and_then(|dir| {
            crate::model::deploy_dockerfiles(format)
                .into_iter()
                .find(|f| dir.join(f).is_file())
        });
        let buildable = s
            .dir
            .as_ref()
            .filter(|_| s.location.is_some() && dockerfile.is_some());
        let dockerfile = dockerfile.unwrap_or_default().to_string();
        if let Some(img) = &s.docker_image {
            if !self.check(img, "image reference", v::image_reference) {
                return None;
            }
            let Some(dir) = buildable else {
                return Some(ImageSource::Prebuilt {
                    image: img.value.clone(),
                });
            };
            let tagged = crate::model::image::ImageRef::parse(&img.value)
                .is_some_and(|r| r.tag.is_some() || r.digest.is_some());
            if tagged {
                let name = img.value.split('@').next().unwrap_or_default();
                let name = name
                    .rsplit_once(':')
                    .filter(|(_, t)| !t.contains('/'))
                    .map_or(name, |(n, _)| n);
                self.error(
                    &img.place,
                    format!("`{}` names a tag, and exo-deploy chooses the tags of the images it builds", img.value),
                    "here",
                    format!("`{}` is built from `location` and pushed under this name: write it without the tag, like `{name}`", s.role.value),
                );
                return None;
            }
            return Some(ImageSource::Build {
                context: dir.clone(),
                dockerfile,
                repository: Some(img.value.clone()),
            });
        }
        match (&s.location, &s.dir) {
            (Some(loc), Some(dir)) => {
                if buildable.is_some() {
                    Some(ImageSource::Build {
                        context: dir.clone(),
                        dockerfile,
                        repository: None,
                    })
                } else {
                    let dev_only = dir.join("Dockerfile.dev").is_file();
                    let (message, help) = if dev_only {
                        (
                            format!(
                                "service `{}` has only a Dockerfile.dev in `{}`, which Exosphere used to run it locally, never to deploy it",
                                s.role.value, loc.value
                            ),
                            "add the Dockerfile it is deployed from: `Dockerfile` (or `Dockerfile.prod`, as Exosphere named it), or name an existing image with `docker-image`",
                        )
                    } else {
                        (
                            format!(
                                "service `{}` has no Dockerfile in `{}`",
                                s.role.value, loc.value
                            ),
                            "add a Dockerfile (or a Dockerfile.prod) to build it, or name an existing image with `docker-image`",
                        )
                    };
                    self.error(&loc.place, message, "no Dockerfile here", help);
                    None
                }
            }
            // a location that could not be loaded was reported by the loader
            (Some(_), None) => None,
            (None, _) => {
                self.error(&s.role.place, format!("service `{}` has neither `location` nor `docker-image`", s.role.value), "this service", "add `location: ./folder` (with a Dockerfile and service.yml) or `docker-image: org/name:tag`");
                None
            }
        }
    }

    fn variables(&mut self, env_wide: &Pairs, own: &Pairs) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, val) in env_wide.iter().chain(own) {
            if SET_AS_EXOSPHERE_DID.contains(&k.value.as_str()) {
                // Exosphere set these too, and from 0.33.3 on asked apps to set EXOCOM_HOST
                // themselves (`ex@v0.33.3:remote-dependency-templates/exocom/README.md`)
                self.diags.push(
                    ConfigDiagnostic::note(
                        k.place.clone(),
                        format!("`{}` is set by exo-deploy: this value is not used", k.value),
                        "set by exo-deploy",
                    )
                    .help("ROLE, EXOCOM_HOST and EXOCOM_PORT tell a service who it is and where ExoCom listens, as Exosphere told it; you may remove the line"),
                );
                continue;
            }
            if RESERVED_VARIABLES.contains(&k.value.as_str()) {
                self.error(&k.place, format!("`{}` is set by exo-deploy", k.value), "reserved", "rename the variable: EXO_DEPLOY_SERVICE_COMMIT tells a service which commit it runs");
                continue;
            }
            if self.check(k, "environment variable name", v::env_var_name) {
                out.insert(k.value.clone(), val.value.clone());
            }
        }
        out
    }

    fn secrets(
        &mut self,
        d: &AppDraft,
        env_wide: &SecretPairs,
        own: &SecretPairs,
    ) -> BTreeMap<String, SecretRef> {
        let mut out = BTreeMap::new();
        for (k, reference) in env_wide.iter().chain(own) {
            if !self.check(k, "secret name", v::env_var_name) {
                continue;
            }
            let parsed = match reference {
                None => Some(SecretRef::Ssm(format!(
                    "/{}/{}/{}",
                    d.name.value, d.env_name.value, k.value
                ))),
                Some(r) => self.secret_ref(r),
            };
            if let Some(p) = parsed {
                out.insert(k.value.clone(), p);
            }
        }
        out
    }

    fn secret_ref(&mut self, r: &Field<String>) -> Option<SecretRef> {
        let s = r.value.as_str();
        let parsed = if let Some(name) = s.strip_prefix("ssm:") {
            (name.starts_with('/') && name.len() > 1).then(|| SecretRef::Ssm(name.to_string()))
        } else if let Some(name) = s.strip_prefix("secretsmanager:") {
            if name.contains(':') {
                self.error(
                    &r.place,
                    "a Secrets Manager name cannot select a JSON key",
                    "here",
                    "to read one key of a JSON secret, write the secret's full ARN with the key: `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:KEY::`",
                );
                return None;
            }
            (!name.is_empty()).then(|| SecretRef::SecretsManager(name.to_string()))
        } else if s.starts_with("arn:aws") && s.contains(":ssm:") && s.contains(":parameter/") {
            Some(SecretRef::Ssm(s.to_string()))
        } else if s.starts_with("arn:aws")
            && s.contains(":secretsmanager:")
            && s.split(':').nth(5) == Some("secret")
            && s.split(':').nth(6).is_some_and(|n| !n.is_empty())
        {
            // `…:secret:NAME-AbCdEf`, optionally `:JSON-KEY:VERSION-STAGE:VERSION-ID`
            Some(SecretRef::SecretsManager(s.to_string()))
        } else {
            None
        };
        if parsed.is_none() {
            self.error(
                &r.place,
                "a secret must be a reference to where its value is stored, not a value",
                "not a reference",
                "write `ssm:/path/to/parameter`, `secretsmanager:secret-name` or an ARN, and keep the value in that store",
            );
        }
        parsed
    }

    /// A secret exo-deploy reads itself (a webhook's signing key or url): the whole value, as
    /// Secrets Manager's GetSecretValue takes no JSON key (ECS resolves keys only for tasks).
    fn whole_secret_ref(&mut self, r: &Field<String>) -> Option<SecretRef> {
        let parsed = self.secret_ref(r)?;
        if let SecretRef::SecretsManager(arn) = &parsed
            && arn.starts_with("arn:")
            && arn.split(':').nth(7).is_some_and(|key| !key.is_empty())
        {
            self.error(
                &r.place,
                "exo-deploy reads this secret itself, and can only read a whole secret, not one key of a JSON secret",
                "a JSON key",
                "keep the value alone in a secret of its own and write its ARN without the key (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf`) or `secretsmanager:NAME`",
            );
            return None;
        }
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_are_recognised() {
        let file = crate::config::SourceFile::new("s.yml".into(), "s.yml".into(), "x".into());
        let field = |s: &str| Field {
            value: s.to_string(),
            place: Place::file(&file),
        };
        let mut r = Resolver::default();
        assert_eq!(
            r.secret_ref(&field("ssm:/app/db")),
            Some(SecretRef::Ssm("/app/db".into()))
        );
        assert_eq!(
            r.secret_ref(&field("secretsmanager:prod/db")),
            Some(SecretRef::SecretsManager("prod/db".into()))
        );
        assert_eq!(
            r.secret_ref(&field(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
            )),
            Some(SecretRef::SecretsManager(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf".into()
            ))
        );
        // one key of a JSON secret, by its full ARN
        let keyed = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::";
        assert_eq!(
            r.secret_ref(&field(keyed)),
            Some(SecretRef::SecretsManager(keyed.into()))
        );
        assert!(r.diags.is_empty());
        assert_eq!(r.secret_ref(&field("hunter2")), None);
        assert!(!r.diags.is_empty(), "a plain value must be refused");
        let mut r = Resolver::default();
        assert_eq!(
            r.secret_ref(&field("secretsmanager:prod/db:password::")),
            None
        );
        assert_eq!(
            r.secret_ref(&field("arn:aws:secretsmanager:us-east-1:123456789012:db")),
            None,
            "an ARN that names no secret"
        );
        let errors = r.diags.finish(()).expect_err("both refused");
        assert_eq!(errors.diagnostics.len(), 2);
        assert!(
            errors.diagnostics[0]
                .message
                .contains("cannot select a JSON key")
        );
    }
}
