//! The commands that operate what is deployed, as the executor runs their steps: `logs`,
//! `restart`, `scale` (`stop`, `start`), `ps` and `exec`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::Run;
use crate::Error;
use crate::bootstrap::{self, Cloud};
use crate::model::{EXOCOM_ROLE, ServiceKind, capacity};
use crate::operate::logs::{self, LogEvent, Printer, Tail};
use crate::operate::{exec, ps};
use crate::release;
use crate::settings::ScaleTo;

/// How often `logs --follow` asks CloudWatch again.
pub const FOLLOW_POLL: Duration = Duration::from_secs(2);

impl Run<'_> {
    /// The roles `asked` names (all, with ExoCom, when none), each checked.
    pub(super) fn roles(&self, asked: &[String]) -> Result<Vec<String>, Error> {
        let all: Vec<String> = self
            .app
            .services
            .iter()
            .map(|s| s.role.clone())
            .chain(std::iter::once(EXOCOM_ROLE.to_string()))
            .collect();
        if asked.is_empty() {
            return Ok(all);
        }
        for role in asked {
            if !all.contains(role) {
                let closest = all
                    .iter()
                    .min_by_key(|r| strsim::levenshtein(r, role))
                    .filter(|r| strsim::levenshtein(r, role) <= 2)
                    .map(|r| format!(" (did you mean `{r}`?)"))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "{} has no service `{role}`{closest}; its services: {}",
                    self.app.name,
                    all.join(", ")
                )));
            }
        }
        Ok(asked.to_vec())
    }

    /// The ECS cluster that runs `role` (a role the config has).
    fn cluster_of(&self, role: &str) -> Result<String, Error> {
        super::rollout::services_by_cluster(self.app)
            .into_iter()
            .find(|(_, names)| names.iter().any(|n| n == role))
            .map(|(cluster, _)| cluster)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "no cluster runs `{role}`; this is a bug in exo-deploy"
                ))
            })
    }

    /// `restart`: a new deployment of each of `services` (checked first, all of them).
    pub(super) async fn restart(
        &self,
        cloud: &impl Cloud,
        services: &[String],
    ) -> Result<(), Error> {
        let roles = self.roles(services)?;
        // every one deployed, before the first is restarted
        let mut missing = Vec::new();
        for role in &roles {
            let cluster = self.cluster_of(role)?;
            // ECS describes a deleted service as INACTIVE (DRAINING while it goes) for a while
            if !cloud
                .service_counts(&cluster, std::slice::from_ref(role))
                .await?
                .iter()
                .any(|c| c.status == "ACTIVE")
            {
                missing.push(role.clone());
            }
        }
        if !missing.is_empty() {
            return Err(Error::Usage(format!(
                "{} not deployed in {} ({}): nothing was restarted; deploy first",
                missing.join(", "),
                self.app.name,
                self.app.env.name
            )));
        }
        for role in &roles {
            let cluster = self.cluster_of(role)?;
            cloud.force_new_deployment(&cluster, role).await?;
            self.reporter
                .event("restarted", json!({ "service": role, "cluster": cluster }));
            self.reporter
                .say(&format!("{role}: a new deployment replaces its tasks"));
        }
        let say = |line: &str| self.reporter.say(line);
        super::rollout::wait_for(
            cloud,
            self.app,
            Some(&roles),
            self.settings.rollout_timeout,
            self.settings.rollout_poll,
            &say,
        )
        .await
    }

    /// `logs`: the services' events since `since`, merged in time order; with `follow`, new
    /// ones as they come until Ctrl-C.
    pub(super) async fn logs(
        &self,
        cloud: &impl Cloud,
        asked: &[String],
        follow: bool,
        since: &str,
        filter: Option<&str>,
    ) -> Result<(), Error> {
        let roles = self.roles(asked)?;
        bootstrap::checked_account(cloud, self.app).await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let start = logs::since(since, now).map_err(Error::Usage)?;
        let groups: Vec<(String, String)> = roles
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    logs::group(&self.app.name, &self.app.env.name, r),
                )
            })
            .collect();
        let colour = !self.settings.json
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        let mut printer = Printer::new(roles.clone(), colour);
        let mut tail = Tail::default();
        let ask = |from: i64| {
            let groups = &groups;
            async move {
                let mut batch: Vec<LogEvent> = Vec::new();
                for (role, group) in groups {
                    batch.extend(cloud.log_events(role, group, from, filter).await?);
                }
                Ok::<_, Error>(batch)
            }
        };
        // one listener for the whole command: a Ctrl-C during a fetch is not lost
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        let first = tokio::select! {
            _ = &mut interrupted => return Ok(()),
            batch = ask(start) => batch?,
        };
        let shown = tail.fresh(first, start);
        printer.learn(&shown);
        for e in &shown {
            // a reader that went away (`| head`) ends the command
            if self.reporter.log_line(e, &printer).is_err() {
                return Ok(());
            }
        }
        if !follow {
            if shown.is_empty() {
                self.reporter.say(&format!(
                    "no log events of {} since {since}",
                    roles.join(", ")
                ));
            }
            return Ok(());
        }
        self.reporter.say("following; Ctrl-C stops");
        let mut polled = now;
        loop {
            tokio::select! {
                _ = &mut interrupted => return Ok(()),
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            let from = tail.next_start(start, polled);
            polled = jiff::Timestamp::now().as_millisecond();
            let batch = tokio::select! {
                _ = &mut interrupted => return Ok(()),
                batch = ask(from) => batch,
            };
            match batch {
                Ok(batch) => {
                    let fresh = tail.fresh(batch, from);
                    printer.learn(&fresh);
                    for e in &fresh {
                        if self.reporter.log_line(e, &printer).is_err() {
                            return Ok(());
                        }
                    }
                }
                // throttled or briefly unreachable: said, and asked again at the next poll
                Err(e) => {
                    self.reporter.event(
                        "warning",
                        json!({ "step": "show-logs", "message": e.to_string() }),
                    );
                    self.reporter
                        .say(&format!("warning: {e}; asking again in a moment"));
                    tokio::select! {
                        _ = &mut interrupted => return Ok(()),
                        _ = tokio::time::sleep(FOLLOW_POLL * 2) => {}
                    }
                }
            }
        }
    }
}

impl Run<'_> {
    /// The scale overrides of the environment in effect, by service.
    pub(super) async fn overrides(
        &self,
        cloud: &impl Cloud,
    ) -> Result<BTreeMap<String, release::ScaleOverride>, Error> {
        let entries: Vec<release::ScaleOverride> = self
            .records(cloud, &release::override_prefix(&self.app.env.name))
            .await?;
        Ok(release::overrides_in_effect(&entries))
    }

    /// `scale`, `stop`, `start`: checks the count, sets it on the ECS service, records the
    /// override.
    pub(super) async fn scale(
        &self,
        cloud: &impl Cloud,
        bucket: &str,
        role: &str,
        to: ScaleTo,
    ) -> Result<(), Error> {
        if role == EXOCOM_ROLE {
            return Err(Error::Usage(
                "ExoCom runs one broker, which services find by name: it is not scaled (`restart exocom` replaces it)".into(),
            ));
        }
        if let Err(unknown) = self.roles(&[role.to_string()]) {
            // the override of a service the config no longer has can still be ended
            if to == ScaleTo::Reset && self.overrides(cloud).await?.contains_key(role) {
                let entry = self
                    .record_override(cloud, bucket, role, None, None, None)
                    .await?;
                self.reporter
                    .event("scaled", json!({ "service": role, "override": entry }));
                self.reporter.say(&format!(
                    "{role}: its override is ended (the config has no such service any more; nothing ran to scale)"
                ));
                return Ok(());
            }
            return Err(unknown);
        }
        let Some(service) = self.app.services.iter().find(|s| s.role == role) else {
            return Err(Error::Internal(format!(
                "no service `{role}`; this is a bug in exo-deploy"
            )));
        };
        let cluster = &self.cluster_of(role)?;
        let in_effect = self.overrides(cloud).await?;
        let current = cloud
            .service_counts(cluster, &[role.to_string()])
            .await?
            .iter()
            .find(|c| c.status == "ACTIVE")
            .map(|c| u32::try_from(c.desired).unwrap_or(0));
        let Some(current) = current else {
            return Err(Error::Usage(format!(
                "`{role}` is not deployed in {} ({}): deploy it first",
                self.app.name, self.app.env.name
            )));
        };
        match (&service.autoscaling, to) {
            (Some(_), ScaleTo::Reset | ScaleTo::Range { .. }) | (None, _) => {}
            (Some(a), ScaleTo::Stop | ScaleTo::Start) => {
                return Err(Error::Usage(format!(
                    "`{role}` autoscales between {} and {} tasks: its scaler would start it again (nothing was changed); `exo-deploy scale {role} --min 0 --max 0` stops it, and `exo-deploy scale {role} --reset` brings its range back",
                    a.min, a.max
                )));
            }
            (Some(a), _) => {
                return Err(Error::Usage(format!(
                    "`{role}` autoscales: its scaler sets its count within its range ({} to {} tasks) and would undo a count set by hand (nothing was changed); `exo-deploy scale {role} --min A --max B` changes the range",
                    a.min, a.max
                )));
            }
        }
        if service.autoscaling.is_some() {
            return self
                .scale_range(cloud, bucket, service, current, to, &in_effect)
                .await;
        }
        let configured = service.desired_count;
        let (desired, stopped_from, count) = match to {
            ScaleTo::Count(n) => {
                self.fits(service, n, &in_effect)?;
                // the config's own count ends an override
                ((n != configured).then_some(n), None, n)
            }
            ScaleTo::Range { .. } => {
                return Err(Error::Usage(format!(
                    "`{role}` does not autoscale, so it has no range (nothing was changed): `exo-deploy scale {role} N` sets its count; `autoscaling` in its config lets it scale with its load"
                )));
            }
            ScaleTo::Reset => (None, None, configured),
            ScaleTo::Stop if current == 0 => {
                return Err(Error::Usage(format!("`{role}` is stopped already")));
            }
            ScaleTo::Stop => (Some(0), Some(current), 0),
            ScaleTo::Start => {
                let Some(from) = in_effect.get(role).and_then(|o| o.stopped_from) else {
                    return Err(Error::Usage(format!(
                        "`{role}` was not stopped with `exo-deploy stop` (it runs {current} tasks); `exo-deploy scale {role} N` sets a count"
                    )));
                };
                // back to the count before, if the cluster still holds it: an override
                // still, unless it is the config's
                self.fits(service, from, &in_effect)?;
                let desired = (from != configured).then_some(from);
                (desired, None, from)
            }
        };
        cloud.set_desired_count(cluster, role, count).await?;
        let entry = self
            .record_override(cloud, bucket, role, desired, stopped_from, None)
            .await?;
        self.reporter.event(
            "scaled",
            json!({ "service": role, "from": current, "to": count, "override": entry }),
        );
        self.reporter.say(&match (to, desired) {
            (ScaleTo::Stop, _) => format!("{role}: stopped ({current} → 0 tasks); `exo-deploy start {role}` brings {current} back"),
            (_, None) => format!("{role}: {current} → {count} tasks, as its config says; no override is in effect"),
            (_, Some(_)) => format!("{role}: {current} → {count} tasks; every deploy shows this override until `exo-deploy scale {role} --reset`"),
        });
        Ok(())
    }

    /// Writes a scale override entry (never overwriting one).
    async fn record_override(
        &self,
        cloud: &impl Cloud,
        bucket: &str,
        role: &str,
        desired: Option<u32>,
        stopped_from: Option<u32>,
        range: Option<release::ScaleRange>,
    ) -> Result<release::ScaleOverride, Error> {
        let now = jiff::Timestamp::now();
        let entry = release::ScaleOverride {
            service: role.to_string(),
            env: self.app.env.name.clone(),
            desired,
            stopped_from,
            range,
            set_by: release::deployed_by(),
            set_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        let body = serde_json::to_vec_pretty(&entry).map_err(|e| Error::Internal(e.to_string()))?;
        let key = format!(
            "{}{}-{role}.json",
            release::override_prefix(&self.app.env.name),
            release::stamp(now)
        );
        cloud.put_new(bucket, &key, body).await?;
        Ok(entry)
    }

    /// `scale SERVICE --min A --max B` (and `--reset`) of an autoscaled service: registers the
    /// range with Application Auto Scaling, which moves the count into it, and records it.
    async fn scale_range(
        &self,
        cloud: &impl Cloud,
        bucket: &str,
        service: &crate::model::Service,
        current: u32,
        to: ScaleTo,
        in_effect: &BTreeMap<String, release::ScaleOverride>,
    ) -> Result<(), Error> {
        let role = &service.role;
        let Some(configured) = &service.autoscaling else {
            return Err(Error::Internal(format!(
                "a range for `{role}`, which does not autoscale; this is a bug in exo-deploy"
            )));
        };
        let (min, max, range) = match to {
            ScaleTo::Range { min, max } => {
                if min > max {
                    return Err(Error::Usage(format!(
                        "--min {min} is more than --max {max}: the range of `{role}` goes from the fewest tasks to the most"
                    )));
                }
                self.fits_count(service, max, in_effect)?;
                let ours = min == configured.min && max == configured.max;
                (
                    min,
                    max,
                    (!ours).then_some(release::ScaleRange { min, max }),
                )
            }
            ScaleTo::Reset => (configured.min, configured.max, None),
            _ => {
                return Err(Error::Internal(
                    "a count for an autoscaled service; this is a bug in exo-deploy".into(),
                ));
            }
        };
        let cluster = &self.cluster_of(role)?;
        cloud.set_scaling_range(cluster, role, min, max).await?;
        let entry = self
            .record_override(cloud, bucket, role, None, None, range)
            .await?;
        self.reporter.event(
            "scaled",
            json!({ "service": role, "from": current, "min": min, "max": max, "override": entry }),
        );
        self.reporter.say(&match range {
            Some(_) if max == 0 => format!("{role}: stopped (its range is 0 to 0; it ran {current}); `exo-deploy scale {role} --reset` brings its config's range back, and every deploy shows this override until then"),
            None => format!("{role}: autoscales between {min} and {max} tasks, as its config says; no override is in effect (it runs {current} now)"),
            Some(_) => format!("{role}: autoscales between {min} and {max} tasks (it runs {current} now; Application Auto Scaling moves it into the range); every deploy shows this override until `exo-deploy scale {role} --reset`"),
        });
        Ok(())
    }

    /// Whether `service` may run `n` tasks: within its autoscaling range, and with room in its
    /// cluster while it deploys, beside the other services' overrides `in_effect`.
    fn fits(
        &self,
        service: &crate::model::Service,
        n: u32,
        in_effect: &BTreeMap<String, release::ScaleOverride>,
    ) -> Result<(), Error> {
        if let Some(a) = &service.autoscaling
            && !(a.min..=a.max).contains(&n)
        {
            return Err(Error::Usage(format!(
                "`{}` autoscales between {} and {} tasks: {n} is outside that range (change `autoscaling` in its config, and deploy, to go beyond it)",
                service.role, a.min, a.max
            )));
        }
        self.fits_count(service, n, in_effect)
    }

    /// Whether `service`'s cluster has room for `n` of its tasks while it deploys, with every
    /// other service as the config and the overrides `in_effect` have it (a deploy renders
    /// them all: each override that fits alone may not fit beside another).
    fn fits_count(
        &self,
        service: &crate::model::Service,
        n: u32,
        in_effect: &BTreeMap<String, release::ScaleOverride>,
    ) -> Result<(), Error> {
        let role = &service.role;
        let (mut counts, mut ranges) = release::applied_overrides(self.app, in_effect);
        counts.remove(role);
        ranges.remove(role);
        let mut services = capacity::overridden(&self.app.services, &counts, &ranges);
        for s in services.iter_mut().filter(|s| &s.role == role) {
            s.desired_count = n;
            s.autoscaling = None;
        }
        let cluster = if service.kind == ServiceKind::Public {
            "public"
        } else {
            "private"
        };
        let Some((name, short)) = capacity::shortfalls(&self.app.env, &services)
            .into_iter()
            .find(|(name, _)| *name == cluster)
        else {
            return Ok(());
        };
        let others = overrides_listed(&self.app.services, &counts, &ranges, |s| {
            (s.kind == ServiceKind::Public) == (name == "public")
        });
        let beside = if others.is_empty() {
            String::new()
        } else {
            format!(" beside the overrides in effect ({others})")
        };
        Err(Error::Usage(format!(
            "the {name} cluster cannot hold {n} tasks of `{role}` while it deploys{beside}: its services would need {}; {} (nothing was changed)",
            short.need, short.help
        )))
    }

    /// Before a deploy renders the overrides in effect (`counts`, `ranges`: those that apply):
    /// whether the clusters hold them beside the config's other services. A config changed
    /// since an override was set (a smaller cluster, more tasks elsewhere) may not; a deploy
    /// then stops before anything is pushed or changed, and a dry run says so.
    pub(super) fn overrides_fit(
        &self,
        counts: &BTreeMap<String, u32>,
        ranges: &BTreeMap<String, (u32, u32)>,
    ) -> Result<(), Error> {
        if counts.is_empty() && ranges.is_empty() {
            return Ok(());
        }
        let services = capacity::overridden(&self.app.services, counts, ranges);
        // what the config alone cannot hold is the config check's to report
        let config_short: Vec<&str> = capacity::shortfalls(&self.app.env, &self.app.services)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let shorts: Vec<String> = capacity::shortfalls(&self.app.env, &services)
            .into_iter()
            .filter(|(name, _)| !config_short.contains(name))
            .filter_map(|(name, short)| {
                let listed = overrides_listed(&self.app.services, counts, ranges, |s| {
                    (s.kind == ServiceKind::Public) == (name == "public")
                });
                (!listed.is_empty())
                    .then(|| format!("{} (with the overrides {listed})", short.message))
            })
            .collect();
        if shorts.is_empty() {
            return Ok(());
        }
        let message = format!(
            "the scale overrides in effect no longer fit beside the config: {}; end one with `exo-deploy scale SERVICE --reset` (or set a smaller count or range), or give the cluster more room",
            shorts.join("; ")
        );
        if self.settings.dry_run {
            self.reporter
                .say(&format!("(dry run) a deploy would stop here: {message}"));
            return Ok(());
        }
        Err(Error::Usage(message))
    }
}

impl Run<'_> {
    /// `ps`: every service of the environment as it runs, each running digest traced to its
    /// release, and every cluster's instances.
    pub(super) async fn ps(&self, cloud: &impl Cloud) -> Result<ps::Ps, Error> {
        let releases = self.history(cloud).await?;
        let mut services = Vec::new();
        let mut not_deployed = Vec::new();
        let mut clusters = Vec::new();
        for (cluster, names) in super::rollout::services_by_cluster(self.app) {
            let mut found = cloud.service_states(&cluster, &names).await?;
            for s in &mut found {
                ps::trace(s, &releases);
            }
            // a deleted service stays described as INACTIVE for a while
            found.retain(|s| s.status != "INACTIVE");
            not_deployed.extend(
                names
                    .iter()
                    .filter(|n| !found.iter().any(|s| &&s.service == n))
                    .cloned(),
            );
            services.extend(found);
            clusters.push(cloud.cluster_state(&cluster).await?);
        }
        Ok(ps::Ps {
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            last_release: releases.first().map(|r| r.id.clone()),
            services,
            not_deployed,
            clusters,
        })
    }

    /// `exec`: a session in a running task of `service`, carried by the Session Manager
    /// plugin until it ends. What can be checked here is, before any session opens: the
    /// plugin, the environment's switch, the task.
    pub(super) async fn exec(
        &self,
        cloud: &impl Cloud,
        service: &str,
        wanted: Option<&str>,
        command: &[String],
    ) -> Result<(), Error> {
        self.roles(&[service.to_string()])?;
        if !self.app.env.ecs_exec {
            return Err(exec::ExecError::NotEnabled {
                env: format!("{} ({})", self.app.name, self.app.env.name),
            }
            .into());
        }
        let plugin = exec::plugin_version()?;
        bootstrap::checked_account(cloud, self.app).await?;
        let cluster = self.cluster_of(service)?;
        let Some(task) = cloud.exec_task(&cluster, service, wanted).await? else {
            return Err(exec::ExecError::NoTask {
                service: service.to_string(),
                task: wanted.map(str::to_string),
            }
            .into());
        };
        // the ECS agent in the task opens the session over HTTPS to Session Manager
        let open_https = |rules: &Option<Vec<crate::model::OutboundRule>>| match rules {
            None => true,
            Some(rules) => rules.iter().any(|r| {
                r.protocol == "tcp"
                    && r.from_port <= 443
                    && 443 <= r.to_port
                    && r.cidr == "0.0.0.0/0"
            }),
        };
        let reaches = service != EXOCOM_ROLE
            && self
                .app
                .services
                .iter()
                .find(|s| s.role == service)
                .is_some_and(|s| open_https(&s.outbound));
        if !reaches && !self.app.env.vpc_endpoints {
            self.reporter.say(&format!(
                "warning: `{service}` may send outbound traffic only inside the VPC or to its listed destinations, and the environment has no Session Manager endpoint: the session may never connect (set `vpc-endpoints: true`, or allow `443` in its `outbound`)"
            ));
        }
        let command = exec::command_line(command);
        let session = cloud
            .open_session(&cluster, service, &task, &command)
            .await?;
        self.reporter.event(
            "exec",
            json!({ "service": service, "task": task.id, "command": command, "session": session.session_id }),
        );
        self.reporter.say(&format!(
            "{service}: session {} in task {} runs `{command}` (Session Manager plugin {plugin}); it ends with the command, or with `exit`",
            session.session_id, task.id
        ));
        let region = &self.app.env.region;
        let (args, env) = exec::plugin_invocation(
            &session,
            region,
            self.app.env.profile.as_deref(),
            &cluster,
            &task,
            &exec::ecs_endpoint(region, self.settings.endpoint_url.as_deref()),
        );
        Ok(exec::attach(exec::PLUGIN, &args, env).await?)
    }
}

/// The overrides of `counts` and `ranges` of the services `which` selects, as a deploy would
/// render them ("web 6 tasks, api 2 to 12 tasks").
fn overrides_listed(
    services: &[crate::model::Service],
    counts: &BTreeMap<String, u32>,
    ranges: &BTreeMap<String, (u32, u32)>,
    which: impl Fn(&crate::model::Service) -> bool,
) -> String {
    services
        .iter()
        .filter(|s| which(s))
        .filter_map(
            |s| match (&s.autoscaling, counts.get(&s.role), ranges.get(&s.role)) {
                (None, Some(n), _) => Some(format!("{} {n} tasks", s.role)),
                (Some(_), _, Some((min, max))) => Some(format!("{} {min} to {max} tasks", s.role)),
                _ => None,
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}
