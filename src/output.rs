//! What users see: human text on stderr, or with `--json` one JSON object per event on stdout
//! (so pipelines can parse stdout while people read stderr).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::Error;
use crate::model::{App, ImageSource, ServiceKind};
use crate::plan::Step;

/// Where events go.
#[derive(Debug, Clone)]
pub struct Reporter {
    json: bool,
    /// Events and lines kept instead of printed (tests of the orchestration).
    recorded: Option<Arc<Mutex<Recorded>>>,
}

/// What a recording reporter kept.
#[derive(Debug, Default)]
pub struct Recorded {
    pub events: Vec<Value>,
    pub lines: Vec<String>,
}

impl Reporter {
    pub fn new(json: bool) -> Self {
        Reporter {
            json,
            recorded: None,
        }
    }

    /// A reporter that keeps everything instead of printing it.
    pub fn recording() -> (Self, Arc<Mutex<Recorded>>) {
        let store = Arc::new(Mutex::new(Recorded::default()));
        (
            Reporter {
                json: true,
                recorded: Some(Arc::clone(&store)),
            },
            store,
        )
    }

    /// One machine-readable event (a no-op without `--json`).
    pub fn event(&self, event: &str, mut fields: Value) {
        if !self.json {
            return;
        }
        if let Value::Object(map) = &mut fields {
            map.insert("event".into(), json!(event));
        }
        if let Some(store) = &self.recorded {
            if let Ok(mut s) = store.lock() {
                s.events.push(fields);
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{fields}");
    }

    /// A line for people (always on stderr).
    pub fn say(&self, text: &str) {
        if let Some(store) = &self.recorded {
            if let Ok(mut s) = store.lock() {
                s.lines.push(text.to_string());
            }
            return;
        }
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// The app's resolved configuration, as YAML on stdout (it is the command's output), or
    /// with `show_origin` every written value and where it comes from, one per line.
    pub fn config(&self, app: &App, show_origin: bool) {
        self.event(
            "config",
            if show_origin {
                json!({ "origins": app.origins })
            } else {
                json!({ "config": app })
            },
        );
        if self.json {
            return;
        }
        let text = if show_origin {
            let width = app
                .origins
                .iter()
                .map(|o| o.origin.len())
                .max()
                .unwrap_or(0);
            app.origins
                .iter()
                .map(|o| format!("{:<width$}  {}={}\n", o.origin, o.key, o.value))
                .collect::<String>()
        } else {
            serde_saphyr::to_string(app).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
        };
        if let Some(store) = &self.recorded {
            if let Ok(mut s) = store.lock() {
                s.lines.push(text);
            }
            return;
        }
        let _ = write!(std::io::stdout().lock(), "{text}");
    }

    /// The resolved app, as a summary.
    pub fn app(&self, app: &App) {
        let env = &app.env;
        self.event(
            "app",
            json!({ "app": app.name, "version": app.version, "format": app.format, "env": env.name,
            "region": env.region, "services": app.services, "databases": app.databases }),
        );
        let mut text = format!(
            "{} {} ({}), environment `{}` in {}\n",
            app.name,
            app.version,
            app.format,
            env.name,
            if env.region.is_empty() {
                "?"
            } else {
                &env.region
            }
        );
        let width = app
            .services
            .iter()
            .map(|s| s.role.len())
            .max()
            .unwrap_or(0)
            .max(6);
        text.push_str("  services:\n");
        let scheme = if env.ssl_certificate_arn.is_some() {
            "https"
        } else {
            "http"
        };
        for s in &app.services {
            let reach = match s.kind {
                ServiceKind::Public => format!(
                    "{scheme}://{} → :{}",
                    s.url.as_deref().unwrap_or("?"),
                    s.port.unwrap_or(0)
                ),
                ServiceKind::Private => format!(
                    "{}.{}{}",
                    s.role,
                    crate::render::private_domain(app),
                    s.port.map(|p| format!(":{p}")).unwrap_or_default()
                ),
                ServiceKind::Worker => "over ExoCom only".to_string(),
            };
            let image = match &s.image {
                ImageSource::Build {
                    context,
                    dockerfile,
                    ..
                } if dockerfile != "Dockerfile" => {
                    format!("build {} from {dockerfile}", relative(app, context))
                }
                ImageSource::Build { context, .. } => format!("build {}", relative(app, context)),
                ImageSource::Prebuilt { image } => format!("image {image}"),
            };
            let count = match &s.autoscaling {
                Some(a) => format!("{}–{} tasks at {}% CPU", a.min, a.max, a.cpu_target),
                None => format!(
                    "{} task{}",
                    s.desired_count,
                    if s.desired_count == 1 { "" } else { "s" }
                ),
            };
            text.push_str(&format!(
                "    {:<width$}  {:<7}  {reach}\n    {:<width$}           {image}; {} CPU units, {} MiB; {count}\n",
                s.role, s.kind.to_string(), "", s.cpu, s.memory
            ));
        }
        text.push_str(&format!(
            "  bus: ExoCom {} at exocom.{}\n",
            app.bus.version,
            crate::render::private_domain(app)
        ));
        if !app.databases.is_empty() {
            text.push_str("  databases:\n");
            for d in &app.databases {
                text.push_str(&format!(
                    "    {}: RDS {} {}, {}, {} GiB {}; database `{}`, for {}\n",
                    d.id,
                    d.engine,
                    d.engine_version,
                    d.instance_class,
                    d.allocated_storage,
                    d.storage_type,
                    d.db_name,
                    d.clients.join(", ")
                ));
            }
        }
        if app.has_public_services() {
            let c = &env.public_cluster;
            text.push_str(&format!(
                "  public cluster: {} × {}–{}\n",
                c.instance_type, c.min, c.max
            ));
        }
        let c = &env.private_cluster;
        text.push_str(&format!(
            "  private cluster: {} × {}–{}\n",
            c.instance_type, c.min, c.max
        ));
        text.push_str(&format!(
            "  network: {} over {} availability zones, {} NAT gateway{}",
            env.vpc_cidr,
            env.availability_zones,
            if env.nat_gateways == crate::model::NatGateways::PerAz {
                "one"
            } else {
                "a shared"
            },
            if env.nat_gateways == crate::model::NatGateways::PerAz {
                " per zone"
            } else {
                ""
            }
        ));
        self.say(&text);
    }

    /// The plan's steps.
    pub fn plan(&self, steps: &[Step], dry_run: bool) {
        self.event("plan", json!({ "dry_run": dry_run, "steps": steps }));
        let reads = steps
            .iter()
            .any(|s| matches!(s.inner(), Step::ShowOverrides));
        let mut text = String::from(match (dry_run, reads) {
            (true, true) => {
                "plan (dry run: only rendering, the post-render hook and a read-only look at the scale overrides in effect run):\n"
            }
            (true, false) => "plan (dry run: only rendering and the post-render hook run):\n",
            (false, _) => "plan:\n",
        });
        for (i, step) in steps.iter().enumerate() {
            text.push_str(&format!("  {:>2}. {step}\n", i + 1));
        }
        self.say(text.trim_end());
    }

    /// The state bucket, as found or made.
    pub fn state_bucket(&self, account: &str, b: &crate::bootstrap::BucketOutcome) {
        self.event("state-bucket", json!({ "account": account, "bucket": b }));
        let mut text = format!("account {account}\nstate bucket {}: ", b.name);
        if b.created {
            text.push_str("created; ");
        }
        if b.changed.is_empty() {
            text.push_str(&format!(
                "already as it should be ({})",
                b.unchanged.join(", ")
            ));
        } else {
            text.push_str(&format!("set {}", b.changed.join(", ")));
            if !b.unchanged.is_empty() {
                text.push_str(&format!("; already right: {}", b.unchanged.join(", ")));
            }
        }
        self.say(&text);
    }

    /// The hosted zone, with its delegation, or the NS records to add.
    pub fn hosted_zone(&self, z: &crate::bootstrap::ZoneOutcome) {
        use crate::bootstrap::Delegation;
        self.event("hosted-zone", json!({ "zone": z }));
        let mut text = format!(
            "hosted zone {} ({}): {}\n  name servers: {}",
            z.id,
            z.domain,
            if z.created { "created" } else { "found" },
            z.name_servers.join(", "),
        );
        let records = z
            .name_servers
            .iter()
            .map(|ns| format!("\n    {}. NS {ns}", z.domain))
            .collect::<String>();
        match &z.delegation {
            Delegation::InParent {
                parent,
                zone_id,
                created,
            } => text.push_str(&format!(
                "\n  delegated from the zone of {parent} ({zone_id}){}",
                if *created { ": NS records added" } else { "" }
            )),
            Delegation::Conflicting {
                parent,
                zone_id,
                name_servers,
            } => text.push_str(&format!(
                "\n  warning: the zone of {parent} ({zone_id}) delegates {} to other name servers ({}), and exo-deploy never overwrites records it did not create: replace them with{records}\n  or the urls will not resolve to this zone",
                z.domain,
                name_servers.join(", ")
            )),
            Delegation::Hidden {
                parent,
                zone_id,
                records: hidden,
            } => text.push_str(&format!(
                "\n  warning: not delegated from the zone of {parent} ({zone_id}): it holds records at or below {} that NS records there would hide ({}), and exo-deploy never takes over records it did not create; move or delete them and run again, or add{records}\n  yourself",
                z.domain,
                hidden.join("; ")
            )),
            Delegation::SeveralParents { parent } => text.push_str(&format!(
                "\n  warning: several hosted zones of this account are named {parent}, and exo-deploy cannot tell which one serves it: add to that one{records}",
            )),
            Delegation::Elsewhere => text.push_str(&format!(
                "\n  the zone above {} is not in this account: unless done already, add these records where it is served (its registrar or DNS provider), or the urls will not resolve:{records}",
                z.domain
            )),
        }
        self.say(&text);
    }

    /// An image exo-deploy does not build, as it will run.
    pub fn pinned(&self, r: &crate::push::resolve::Resolved) {
        self.event("image", json!({ "role": r.role, "image": r.image, "reference": r.reference, "status": if r.note.is_some() { "unpinned" } else { "pinned" }, "note": r.note }));
        match &r.note {
            None => {
                let digest = r.reference.rsplit_once('@').map_or("", |(_, d)| d);
                self.say(&format!("{}: {} pinned to {digest}", r.role, r.image));
            }
            Some(note) => self.say(&format!("{}: {} ({note})", r.role, r.image)),
        }
    }

    /// The databases' snapshots nuke leaves.
    pub fn database_snapshots(&self, kept: &[String]) {
        self.event("database-snapshots", json!({ "kept": kept }));
        if kept.is_empty() {
            self.say("no database snapshots are left");
        } else {
            self.say(&format!(
                "database snapshots kept (nuke never deletes them; delete with `aws rds delete-db-snapshot` when no longer needed):\n  {}",
                kept.join("\n  ")
            ));
        }
    }

    /// Each service's image after a push.
    pub fn pushed(&self, pushed: &[crate::push::Pushed]) {
        for p in pushed {
            self.event("image", json!(p));
            self.say(&format!("{}: {}", p.role, crate::push::push_summary(p)));
        }
        if pushed.is_empty() {
            self.say("no service has a folder to build: nothing to push");
        }
    }

    /// What a plan would change, in total and per module (one per service).
    pub fn plan_summary(&self, s: &crate::terraform::PlanSummary) {
        self.event("plan-summary", json!({ "changes": true, "add": s.add, "change": s.change, "destroy": s.destroy, "by_module": s.by_module }));
        let mut text = format!(
            "terraform plan: {} to add, {} to change, {} to destroy",
            s.add, s.change, s.destroy
        );
        for (module, (a, c, d)) in &s.by_module {
            text.push_str(&format!("\n  {module:<24} +{a} ~{c} -{d}"));
        }
        self.say(&text);
    }

    /// A release that was just recorded, with the public urls.
    pub fn released(&self, r: &crate::release::Release) {
        self.event("release", json!(r));
        let mut text = format!(
            "released {} ({} {}) in {:.0} s",
            r.id, r.app, r.version, r.duration_seconds
        );
        for (role, url) in r.urls() {
            text.push_str(&format!("\n  {role}: {url}"));
        }
        self.say(&text);
    }

    /// The releases of an environment, newest first.
    pub fn history(&self, releases: &[crate::release::Release]) {
        if releases.is_empty() {
            self.say("no releases yet");
        }
        for r in releases {
            self.event("release", json!(r));
            let commit = r.commit.as_deref().map_or_else(
                || "no git".to_string(),
                |c| {
                    // a record is read back from S3: never slice it by bytes
                    format!(
                        "{}{}",
                        c.chars().take(12).collect::<String>(),
                        if r.dirty { " (dirty)" } else { "" }
                    )
                },
            );
            let note = match (&r.rollback_of, &r.promoted_from) {
                (Some(o), _) => format!("  rollback to {o}"),
                (None, Some(p)) => format!("  promoted from {p}"),
                (None, None) => String::new(),
            };
            self.say(&format!(
                "{}  {}  v{}  {}  {}  {:.0} s{note}",
                r.id, r.deployed_at, r.version, commit, r.deployed_by, r.duration_seconds
            ));
        }
    }

    /// One webhook delivery (`notify`), by the webhook's host only: its path may be a secret.
    pub fn notification(&self, host: &str, event: &str, result: Result<(), &str>) {
        match result {
            Ok(()) => {
                self.event(
                    "notified",
                    json!({ "webhook": host, "notification": event }),
                );
                self.say(&format!("notified {host} of the {event}"));
            }
            Err(why) => {
                self.event(
                    "notification-failed",
                    json!({ "webhook": host, "notification": event, "message": why }),
                );
                self.say(&format!(
                    "warning: the {event} notification to {host} failed: {why} (the run's outcome stands)"
                ));
            }
        }
    }

    /// The images a promotion copied, or found in place.
    pub fn copied(&self, copied: &[crate::push::copy::Copied]) {
        for c in copied {
            self.event("image-copied", json!(c));
            self.say(&match c.status {
                "present" => format!(
                    "{}: {} (already there, nothing copied)",
                    c.role, c.reference
                ),
                _ => format!(
                    "{}: copied {} to {} ({} blobs sent, {} already there)",
                    c.role, c.from, c.reference, c.blobs_copied, c.blobs_present
                ),
            });
        }
    }

    /// One log event, on stdout: a prefixed line, or with `--json` one object.
    pub fn log_line(
        &self,
        e: &crate::operate::logs::LogEvent,
        printer: &crate::operate::logs::Printer,
    ) -> std::io::Result<()> {
        let text = if self.json {
            let at = jiff::Timestamp::from_millisecond(e.timestamp)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            json!({ "event": "log", "service": e.service, "task": e.task, "timestamp": at, "message": e.message })
                .to_string()
        } else {
            printer.line(e)
        };
        if let Some(store) = &self.recorded {
            if let Ok(mut s) = store.lock() {
                s.lines.push(text);
            }
            return Ok(());
        }
        writeln!(std::io::stdout().lock(), "{text}")
    }

    /// The scale overrides in effect, as every deploy shows them.
    pub fn overrides(
        &self,
        app: &crate::model::App,
        found: &std::collections::BTreeMap<String, crate::release::ScaleOverride>,
    ) {
        for (role, o) in found {
            let service = app.services.iter().find(|s| &s.role == role);
            let autoscales = service.map(|s| s.autoscaling.is_some());
            let applies = o.applies(autoscales);
            self.event(
                "scale-override",
                json!({ "override": o, "applied": applies }),
            );
            let said = service
                .filter(|s| s.autoscaling.is_none())
                .map_or_else(String::new, |s| {
                    format!(" (its config says {})", s.desired_count)
                });
            let what = match (o.desired, o.stopped_from, o.range) {
                (Some(0), Some(from), _) => {
                    format!("stopped (it ran {from}; `exo-deploy start {role}`)")
                }
                (Some(n), _, _) => format!("runs {n} tasks{said}"),
                (None, _, Some(r)) => format!(
                    "autoscales between {} and {} tasks{}",
                    r.min,
                    r.max,
                    service.and_then(|s| s.autoscaling.as_ref()).map_or_else(
                        String::new,
                        |a| format!(" (its config says {} to {})", a.min, a.max)
                    )
                ),
                (None, _, None) => continue,
            };
            if applies {
                self.say(&format!(
                    "scale override in effect: {role} {what}, set by {} at {}; a deploy keeps it until `exo-deploy scale {role} --reset`",
                    o.set_by, o.set_at
                ));
            } else {
                let why = match autoscales {
                    None => "the config has no such service any more",
                    Some(true) => "it autoscales now",
                    Some(false) => "it no longer autoscales",
                };
                self.say(&format!(
                    "scale override not applied: {role} {what}, set by {} at {}, but {why}; `exo-deploy scale {role} --reset` ends it",
                    o.set_by, o.set_at
                ));
            }
        }
    }

    /// A channel just set.
    pub fn channel_set(&self, entry: &crate::release::ChannelEntry) {
        self.event("channel", json!(entry));
        self.say(&format!(
            "channel `{}` of {} now points to release {} (set by {})",
            entry.channel, entry.env, entry.release, entry.set_by
        ));
    }

    /// Every channel of an environment.
    pub fn channels(&self, env: &str, channels: &[crate::release::Channel]) {
        if channels.is_empty() {
            self.say(&format!(
                "{env} has no channels yet: `exo-deploy channel set NAME RELEASE` makes one"
            ));
        }
        let width = channels
            .iter()
            .map(|c| c.current.channel.len())
            .max()
            .unwrap_or(0);
        for c in channels {
            self.event("channel", json!(c));
            let before = match c.earlier.first() {
                Some(e) => format!(
                    " (before: {}; {} earlier entr{})",
                    e.release,
                    c.earlier.len(),
                    if c.earlier.len() == 1 { "y" } else { "ies" }
                ),
                None => String::new(),
            };
            self.say(&format!(
                "{:<width$}  {}  since {} by {}{before}",
                c.current.channel, c.current.release, c.current.set_at, c.current.set_by
            ));
        }
    }

    /// One release, whole: `--json` gives the record as stored.
    pub fn show_release(&self, r: &crate::release::Release) {
        self.event("release", json!(r));
        let short = |c: &str| c.chars().take(12).collect::<String>();
        let mut text = format!("release {} of {} ({})", r.id, r.app, r.env);
        text.push_str(&format!(
            "\n  deployed {} by {} in {:.0} s, version {}",
            r.deployed_at, r.deployed_by, r.duration_seconds, r.version
        ));
        text.push_str(&match &r.commit {
            Some(c) => format!(
                "\n  app commit {}{}",
                short(c),
                if r.dirty {
                    " (uncommitted changes)"
                } else {
                    ""
                }
            ),
            None => "\n  app commit: none (not a git repository)".into(),
        });
        if let Some(o) = &r.rollback_of {
            text.push_str(&format!("\n  a rollback to release {o}"));
        }
        if let Some(p) = &r.promoted_from {
            text.push_str(&format!("\n  promoted from {p}"));
        }
        text.push_str("\n  services:");
        let width = r.images.keys().map(String::len).max().unwrap_or(0);
        for (role, image) in &r.images {
            text.push_str(&format!("\n    {role:<width$}  {image}"));
            let Some(s) = r.services.get(role) else {
                continue;
            };
            let mut about = Vec::new();
            if let Some(tag) = &s.tag {
                about.push(format!("tag {tag}"));
            }
            if let Some(c) = &s.commit {
                about.push(format!(
                    "commit {}{}",
                    short(c),
                    if s.dirty {
                        " (uncommitted changes)"
                    } else {
                        ""
                    }
                ));
            }
            if !about.is_empty() {
                text.push_str(&format!("\n    {:<width$}  {}", "", about.join(", ")));
            }
        }
        let urls = r.urls();
        if !urls.is_empty() {
            text.push_str("\n  urls:");
            for (role, url) in urls {
                text.push_str(&format!("\n    {role}: {url}"));
            }
        }
        if !r.config.is_null() {
            text.push_str("\n  config: recorded whole (`--json` prints it)");
        }
        self.say(&text);
    }

    /// What is deployed.
    pub fn status(&self, status: &crate::release::Status) {
        self.event("status", json!(status));
        let mut text = match &status.release {
            Some(r) => format!(
                "{} ({}): release {} of {}, by {}",
                status.app, status.env, r.id, r.deployed_at, r.deployed_by
            ),
            None => format!("{} ({}): nothing deployed yet", status.app, status.env),
        };
        for (role, url) in status.urls.iter().flatten() {
            text.push_str(&format!("\n  {role}: {url}"));
        }
        for s in &status.services {
            text.push_str(&format!(
                "\n  {:<20} {} of {} tasks running ({})",
                s.service, s.running, s.desired, s.status
            ));
        }
        self.say(&text);
    }

    /// What runs: a table of the services, their details where something needs a look, and a
    /// table of the clusters' instances (`--json`: all of it).
    pub fn ps(&self, ps: &crate::operate::ps::Ps) {
        self.event("ps", json!(ps));
        self.say(&ps_text(ps));
    }

    /// What nuke removed and what it left alone.
    pub fn removed(&self, removed: &[crate::bootstrap::Removal]) {
        for r in removed {
            self.event("removed", json!(r));
            self.say(&format!("{}: {}", r.what, r.note));
        }
    }

    /// The config's warnings and notes: what runs, but not as its author may expect, or in a
    /// way worth knowing. Each at its place, with its help; `--json`: one `warning` or `note`
    /// event each.
    pub fn config_warnings(&self, warnings: &[crate::config::ConfigDiagnostic]) {
        for d in warnings {
            if self.json {
                let (file, line, column) = d.position();
                self.event(
                    d.severity_name(),
                    json!({ "kind": "config", "file": file, "line": line, "column": column,
                    "message": d.message, "help": d.help }),
                );
            }
            self.say(&format!(
                "{}\n",
                format!("{:?}", miette::Report::new(d.clone())).trim_end()
            ));
        }
    }

    /// A finished error.
    pub fn error(&self, error: &Error) {
        if let Error::Config(errors) = error {
            self.config_warnings(&errors.warnings);
        }
        if self.json {
            match error {
                Error::Config(errors) => {
                    for d in &errors.diagnostics {
                        let (file, line, column) = d.position();
                        self.event(
                            "error",
                            json!({ "kind": "config", "file": file, "line": line, "column": column,
                            "message": d.message, "help": d.help }),
                        );
                    }
                }
                other => self.event(
                    "error",
                    json!({ "kind": other.kind(), "message": other.to_string(), "help": other.help() }),
                ),
            }
        }
        match error {
            Error::Config(e) => {
                for d in &e.diagnostics {
                    self.say(&format!(
                        "{}\n",
                        format!("{:?}", miette::Report::new(d.clone())).trim_end()
                    ));
                }
                let them = if e.diagnostics.len() == 1 {
                    "it"
                } else {
                    "them"
                };
                self.say(&format!(
                    "error: {e}; fix {them} and run again (docs/config.md describes every key)"
                ));
            }
            other => {
                let help = other
                    .help()
                    .map(|h| format!("\n  help: {h}"))
                    .unwrap_or_default();
                self.say(&format!("error: {other}{help}"));
            }
        }
    }
}

/// `ps`, as people read it.
pub fn ps_text(ps: &crate::operate::ps::Ps) -> String {
    use crate::operate::ps::Provenance;
    let mut text = format!(
        "{} ({}): {}",
        ps.app,
        ps.env,
        ps.last_release
            .as_ref()
            .map_or("no release recorded".to_string(), |r| format!(
                "last release {r}"
            ))
    );
    let mut rows = vec![
        ["SERVICE", "TASKS", "DEPLOYMENT", "TARGETS", "IMAGE"]
            .map(String::from)
            .to_vec(),
    ];
    let mut details = Vec::new();
    for s in &ps.services {
        let mut tasks = format!("{}/{} running", s.running, s.desired);
        if s.pending > 0 {
            tasks.push_str(&format!(", {} pending", s.pending));
        }
        let deployment = match &s.deployment {
            Some(d) => match d.state.as_str() {
                "COMPLETED" => "completed".to_string(),
                "IN_PROGRESS" => format!("in progress ({}/{})", d.running, d.desired),
                "FAILED" => "failed, rolled back".to_string(),
                other => other.to_lowercase(),
            },
            None => "-".to_string(),
        } + &if s.older_deployments > 0 {
            format!(" (+{} older)", s.older_deployments)
        } else {
            String::new()
        } + if s.failed_deployment.is_some() {
            ", one rolled back"
        } else {
            ""
        };
        let mut health: std::collections::BTreeMap<&str, usize> = Default::default();
        for t in &s.targets {
            *health.entry(t.state.as_str()).or_default() += 1;
        }
        let targets = if health.is_empty() {
            "-".to_string()
        } else {
            health
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let image = if s.digests.is_empty() {
            "-".to_string()
        } else {
            s.digests
                .iter()
                .map(|d| {
                    let of = match &d.release {
                        Provenance::LastRelease { release } => format!("release {release}"),
                        Provenance::EarlierRelease { release, .. } => {
                            format!("release {release} (not the last)")
                        }
                        Provenance::Unknown => format!("{} (no release)", short_digest(&d.digest)),
                    };
                    if s.digests.len() > 1 {
                        format!("{} × {of}", d.tasks)
                    } else {
                        of
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        rows.push(vec![s.service.clone(), tasks, deployment, targets, image]);
        // what needs a look: targets not healthy, a deployment's reason, the newest events
        let mut lines = Vec::new();
        if let Some(d) = &s.deployment
            && d.state != "COMPLETED"
            && !d.reason.is_empty()
        {
            lines.push(format!("deployment: {}", d.reason));
        }
        if let Some(d) = &s.failed_deployment {
            lines.push(format!(
                "rolled back: the deployment of {} failed: {}",
                d.task_definition, d.reason
            ));
        }
        let ids: Vec<&String> = s.digests.iter().flat_map(|d| &d.task_ids).collect();
        if !ids.is_empty() {
            let more = ids.len().saturating_sub(5);
            lines.push(format!(
                "tasks: {}{}",
                ids.iter()
                    .take(5)
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if more > 0 {
                    format!(" and {more} more (`--json` lists all)")
                } else {
                    String::new()
                }
            ));
        }
        lines.extend(s.notes.iter().cloned());
        for t in s.targets.iter().filter(|t| t.state != "healthy") {
            let port = t.port.map(|p| format!(":{p}")).unwrap_or_default();
            let why = t
                .description
                .as_ref()
                .or(t.reason.as_ref())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            lines.push(format!("target {}{port}: {}{why}", t.id, t.state));
        }
        for e in s.events.iter().take(3) {
            lines.push(format!("{}  {}", e.at.as_deref().unwrap_or("?"), e.message));
        }
        if !lines.is_empty() {
            details.push(format!("  {}:\n    {}", s.service, lines.join("\n    ")));
        }
    }
    if rows.len() > 1 {
        text.push('\n');
        text.push_str(&table(&rows));
    }
    for n in &ps.not_deployed {
        text.push_str(&format!("\n  {n}: not deployed"));
    }
    if !details.is_empty() {
        text.push_str("\n\n");
        text.push_str(&details.join("\n"));
    }
    let mut rows = vec![
        [
            "CLUSTER",
            "INSTANCE",
            "EC2",
            "TYPE",
            "AMI",
            "STATUS",
            "TASKS",
            "CPU RESERVED",
            "MEMORY RESERVED",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut empty = Vec::new();
    for c in &ps.clusters {
        if c.instances.is_empty() {
            empty.push(&c.cluster);
        }
        for i in &c.instances {
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            let status = if i.agent_connected {
                i.status.to_lowercase()
            } else {
                format!("{}, agent disconnected", i.status.to_lowercase())
            };
            rows.push(vec![
                c.cluster.clone(),
                i.id.clone(),
                dash(&i.ec2_instance_id),
                dash(&i.instance_type),
                dash(&i.ami),
                status,
                if i.pending_tasks > 0 {
                    format!("{} (+{} pending)", i.running_tasks, i.pending_tasks)
                } else {
                    i.running_tasks.to_string()
                },
                format!("{}/{}", i.cpu.used(), i.cpu.registered),
                format!("{}/{} MiB", i.memory.used(), i.memory.registered),
            ]);
        }
    }
    text.push_str("\n\n");
    if rows.len() > 1 {
        text.push_str(&table(&rows));
    }
    for c in empty {
        text.push_str(&format!("\n  {c}: no container instances registered"));
    }
    text.trim_end().to_string()
}

/// `sha256:0123456789ab`: enough of a digest to tell images apart.
fn short_digest(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// Rows as columns aligned on their widest cell, two spaces apart, each line indented by two.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            format!("  {}", line.join("  ").trim_end())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn relative(app: &App, path: &std::path::Path) -> String {
    let rel = path
        .strip_prefix(&app.dir)
        .unwrap_or(path)
        .display()
        .to_string();
    if rel.is_empty() {
        ".".into()
    } else {
        format!("{}/", rel.trim_start_matches("./").trim_end_matches('/'))
    }
}

/// Sets up miette's report style: colours only on a terminal and without `NO_COLOR`.
pub fn install_report_style() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new()
            .terminal_links(false)
            .force_graphical(true);
        let opts = if color {
            opts
        } else {
            opts.color(false)
                .unicode(true)
                .width(100)
                .graphical_theme(miette::GraphicalTheme::unicode_nocolor())
        };
        Box::new(opts.build())
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_shows_any_commit_text_read_back_from_a_record() {
        // a record is JSON from S3: a commit that is not ASCII must not panic the listing
        let (reporter, recorded) = Reporter::recording();
        let release: crate::release::Release = serde_json::from_value(json!({
            "id": "20261123T000000000Z-x", "app": "a", "env": "e", "version": "1",
            "deployed_at": "2026-11-23T00:00:00Z", "commit": "ééééééééééééééé", "dirty": true,
            "images": {}, "outputs": null, "deployed_by": "user:x", "duration_seconds": 1.0
        }))
        .expect("a record");
        reporter.history(&[release]);
        let lines = recorded.lock().expect("recorded").lines.clone();
        assert!(lines[0].contains("éééééééééééé (dirty)"), "{lines:?}");
    }
}
