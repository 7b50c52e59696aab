//! The commands that operate what is deployed, as the executor runs their steps: `logs`.

use std::time::Duration;

use serde_json::json;

use super::Run;
use crate::Error;
use crate::bootstrap::{self, Cloud};
use crate::model::EXOCOM_ROLE;
use crate::operate::logs::{self, LogEvent, Printer, Tail};

/// How often `logs --follow` asks CloudWatch again.
pub const FOLLOW_POLL: Duration = Duration::from_secs(2);

impl Run<'_> {
    /// The roles `asked` names (all, with ExoCom, when none), each checked.
    pub(super) fn log_roles(&self, asked: &[String]) -> Result<Vec<String>, Error> {
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

    /// `restart`: a new deployment of each of `services` (checked first, all of them).
    pub(super) async fn restart(
        &self,
        cloud: &impl Cloud,
        services: &[String],
    ) -> Result<(), Error> {
        let roles = self.log_roles(services)?;
        let clusters = super::rollout::services_by_cluster(self.app);
        for role in &roles {
            let Some((cluster, _)) = clusters.iter().find(|(_, names)| names.contains(role)) else {
                continue;
            };
            cloud.force_new_deployment(cluster, role).await?;
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
        let roles = self.log_roles(asked)?;
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
        let first = ask(start).await?;
        let shown = tail.fresh(first, start);
        printer.learn(&shown);
        for e in &shown {
            self.reporter.log_line(e, &printer);
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
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            let from = tail.next_start(start);
            match ask(from).await {
                Ok(batch) => {
                    let fresh = tail.fresh(batch, from);
                    printer.learn(&fresh);
                    for e in &fresh {
                        self.reporter.log_line(e, &printer);
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
                    tokio::time::sleep(FOLLOW_POLL * 2).await;
                }
            }
        }
    }
}
