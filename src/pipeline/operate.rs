//! The commands that operate what is deployed, as the executor runs their steps: `logs`.

use std::time::Duration;

use serde_json::json;

use super::Run;
use crate::Error;
use crate::bootstrap::{self, Cloud};
use crate::model::EXOCOM_ROLE;
use crate::operate::logs::{self, LogEvent, Printer, Tail};
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
                        json!({ "step": "logs", "message": e.to_string() }),
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
    ) -> Result<std::collections::BTreeMap<String, release::ScaleOverride>, Error> {
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
        self.roles(&[role.to_string()])?;
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
            .first()
            .map(|c| u32::try_from(c.desired).unwrap_or(0));
        let Some(current) = current else {
            return Err(Error::Usage(format!(
                "`{role}` is not deployed in {} ({}): deploy it first",
                self.app.name, self.app.env.name
            )));
        };
        if service.autoscaling.is_some() && to != ScaleTo::Reset {
            return Err(Error::Usage(format!(
                "`{role}` autoscales: its scaler sets its count within the range its config gives, and would undo a count set by hand (nothing was changed); change `autoscaling` in its config and deploy"
            )));
        }
        let configured = service.desired_count;
        let (desired, stopped_from, count) = match to {
            ScaleTo::Count(n) => {
                self.fits(service, n)?;
                // the config's own count ends an override
                ((n != configured).then_some(n), None, n)
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
                // back to the count before: an override still, unless it is the config's
                let desired = (from != configured).then_some(from);
                (desired, None, from)
            }
        };
        cloud.set_desired_count(cluster, role, count).await?;
        let now = jiff::Timestamp::now();
        let entry = release::ScaleOverride {
            service: role.to_string(),
            env: self.app.env.name.clone(),
            desired,
            stopped_from,
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

    /// Whether `service` may run `n` tasks: within its autoscaling range, and with room in its
    /// cluster while it deploys (the capacity check of the config).
    fn fits(&self, service: &crate::model::Service, n: u32) -> Result<(), Error> {
        if let Some(a) = &service.autoscaling
            && !(a.min..=a.max).contains(&n)
        {
            return Err(Error::Usage(format!(
                "`{}` autoscales between {} and {} tasks: {n} is outside that range (change `autoscaling` in its config, and deploy, to go beyond it)",
                service.role, a.min, a.max
            )));
        }
        let mut services = self.app.services.clone();
        for s in &mut services {
            if s.role == service.role {
                s.desired_count = n;
                s.autoscaling = None;
            }
        }
        let public = service.kind == crate::model::ServiceKind::Public;
        let cluster = self.app.env.cluster_of(service.kind);
        let name = if public { "public" } else { "private" };
        let demands = crate::model::capacity::demands(&services, public);
        let Some(it) = crate::model::instance_types::lookup(&cluster.instance_type) else {
            return Ok(());
        };
        match crate::model::capacity::check(name, cluster, &it, &demands, self.app.env.eni_trunking)
        {
            None => Ok(()),
            Some(short) => Err(Error::Usage(format!(
                "the {name} cluster cannot hold {n} tasks of `{}` while it deploys: {}; {}",
                service.role, short.message, short.help
            ))),
        }
    }
}
