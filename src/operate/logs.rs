//! `exo-deploy logs`: the services' CloudWatch Logs, merged in time order and prefixed with
//! their service (and task, when a service has several). With `--follow`, CloudWatch is asked
//! again every few seconds from a little before the newest event seen, since events can arrive
//! late with earlier timestamps; event ids seen are remembered for that window, so every event
//! prints exactly once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::adapters::aws::{Aws, AwsError, classify};

/// How far behind the newest event a follow asks again: CloudWatch can take this long to make
/// an event searchable.
pub const LATE_WINDOW_MS: i64 = 120_000;

/// One log line of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    /// The service's role (`exocom` for the bus).
    pub service: String,
    /// The task's id (the log stream's last part).
    pub task: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
    /// CloudWatch's id of the event: what makes it print once.
    #[serde(skip)]
    pub id: String,
}

/// The log group of a service (as the ecs-service module names it).
pub fn group(app: &str, env: &str, role: &str) -> String {
    format!("/exo-deploy/{app}-{env}/{role}")
}

/// `--since`: `30s`, `10m`, `2h`, `1d`, or an RFC 3339 time; milliseconds since the epoch.
pub fn since(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    let unit = |c: char| match c {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    };
    if let Some(last) = text.chars().last()
        && let Some(ms) = unit(last)
        && let Ok(n) = text[..text.len() - 1].parse::<i64>()
        && n >= 0
        && let Some(back) = n.checked_mul(ms)
    {
        return Ok(now_ms.saturating_sub(back));
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            format!(
                "`{text}` is not a time: write a duration such as `30s`, `10m`, `2h` or `1d`, or a time such as `2026-11-23T10:00:00Z`"
            )
        })
}

/// The events of `group` (of `service`) from `start_ms` on, matching `filter` (CloudWatch's
/// filter pattern syntax), every page.
pub async fn fetch(
    aws: &Aws,
    service: &str,
    group: &str,
    start_ms: i64,
    filter: Option<&str>,
) -> Result<Vec<LogEvent>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_filter_pattern(filter.map(str::to_string))
            .set_next_token(token)
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            // a service that has logged nothing yet has no group: no events
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(out);
            }
            Err(e) => return Err(classify("logs:FilterLogEvents", group, e)),
        };
        out.extend(page.events().iter().map(|e| {
            LogEvent {
                service: service.to_string(),
                task: e
                    .log_stream_name()
                    .and_then(|s| s.rsplit('/').next())
                    .unwrap_or_default()
                    .to_string(),
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().trim_end().to_string(),
                id: e.event_id().unwrap_or_default().to_string(),
            }
        }));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// What a follow has printed: the ids seen since the window before the last question.
#[derive(Debug, Default)]
pub struct Tail {
    seen: HashMap<String, i64>,
}

impl Tail {
    /// Where the next question starts: a window before the last question (`polled`, the
    /// clock), never before `start`. Events stamped further back than the window are not
    /// asked for again.
    pub fn next_start(&self, start: i64, polled: i64) -> i64 {
        (polled - LATE_WINDOW_MS).max(start)
    }

    /// The events of `batch` not printed yet, in time order; remembers them.
    pub fn fresh(&mut self, mut batch: Vec<LogEvent>, start: i64) -> Vec<LogEvent> {
        // ids older than the window are never asked for again
        self.seen.retain(|_, t| *t >= start);
        sort(&mut batch);
        batch.retain(|e| {
            if self.seen.contains_key(&e.id) {
                return false;
            }
            self.seen.insert(e.id.clone(), e.timestamp);
            true
        });
        batch
    }
}

/// Time order; events of the same millisecond by service, then as CloudWatch gave them (a
/// stable sort: a stack trace logged in one millisecond keeps its lines' order).
pub fn sort(events: &mut [LogEvent]) {
    events.sort_by(|a, b| (a.timestamp, &a.service).cmp(&(b.timestamp, &b.service)));
}

/// How lines are shown: a prefix per service (with the task when it has several), coloured
/// on a terminal.
#[derive(Debug, Default)]
pub struct Printer {
    pub colour: bool,
    /// The services, for their colour and the prefix's width.
    pub services: Vec<String>,
    /// Tasks seen per service.
    tasks: BTreeMap<String, BTreeSet<String>>,
}

const COLOURS: [&str; 6] = ["36", "33", "35", "32", "34", "31"];

impl Printer {
    pub fn new(services: Vec<String>, colour: bool) -> Self {
        Printer {
            colour,
            services,
            tasks: BTreeMap::new(),
        }
    }

    /// Notes the tasks of `events`, so that prefixes name the task once a service has several.
    pub fn learn(&mut self, events: &[LogEvent]) {
        for e in events {
            self.tasks
                .entry(e.service.clone())
                .or_default()
                .insert(e.task.clone());
        }
    }

    /// One event as a line.
    pub fn line(&self, e: &LogEvent) -> String {
        let several = self.tasks.get(&e.service).is_some_and(|t| t.len() > 1);
        let who = if several {
            format!(
                "{}/{}",
                e.service,
                e.task.chars().take(8).collect::<String>()
            )
        } else {
            e.service.clone()
        };
        // one column for every service: a service with several tasks names them
        let width = self
            .services
            .iter()
            .map(|s| {
                let tasks = self.tasks.get(s).map_or(0, BTreeSet::len);
                s.len() + if tasks > 1 { 9 } else { 0 }
            })
            .max()
            .unwrap_or(0);
        let prefix = format!("{who:<width$} |");
        if !self.colour {
            return format!("{prefix} {}", e.message);
        }
        let index = self
            .services
            .iter()
            .position(|s| *s == e.service)
            .unwrap_or(0);
        format!(
            "\x1b[{}m{prefix}\x1b[0m {}",
            COLOURS[index % COLOURS.len()],
            e.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(service: &str, id: &str, timestamp: i64) -> LogEvent {
        LogEvent {
            service: service.into(),
            task: "0123456789abcdef".into(),
            timestamp,
            message: format!("{service} {id}"),
            id: id.into(),
        }
    }

    #[test]
    fn since_takes_durations_and_times() {
        let now = 1_000_000_000;
        assert_eq!(since("10m", now), Ok(now - 600_000));
        assert_eq!(since("2h", now), Ok(now - 7_200_000));
        assert_eq!(since("30s", now), Ok(now - 30_000));
        assert_eq!(
            since("2026-11-23T10:00:00Z", now),
            Ok("2026-11-23T10:00:00Z"
                .parse::<jiff::Timestamp>()
                .expect("time")
                .as_millisecond())
        );
        assert!(
            since("yesterday", now)
                .expect_err("not a time")
                .contains("`10m`")
        );
    }

    #[test]
    fn a_follow_prints_each_event_once_even_when_it_arrives_late() {
        let mut tail = Tail::default();
        let start = 0;
        let first = tail.fresh(
            vec![event("web", "b", 2_000), event("api", "a", 1_000)],
            start,
        );
        assert_eq!(
            first.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"],
            "time order across services"
        );
        // the next question overlaps: what was printed is not printed again, and an event
        // that arrived late with an older timestamp is
        let next = tail.next_start(start, 1_000 + LATE_WINDOW_MS);
        assert_eq!(next, 1_000, "a window before the last question");
        let second = tail.fresh(
            vec![
                event("api", "a", 1_000),
                event("web", "late", 1_500),
                event("web", "b", 2_000),
                event("web", "c", 3_000),
            ],
            next,
        );
        assert_eq!(
            second.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["late", "c"]
        );
        assert!(
            tail.fresh(
                vec![event("web", "c", 3_000)],
                tail.next_start(start, 3_000)
            )
            .is_empty()
        );
        // ids older than the window are forgotten: it never asks for them again
        let later = 10_000 + LATE_WINDOW_MS;
        assert!(
            tail.fresh(Vec::new(), tail.next_start(start, later))
                .is_empty()
        );
        assert!(tail.seen.is_empty(), "{:?}", tail.seen);
    }

    #[test]
    fn prefixes_name_the_task_once_a_service_has_several() {
        let mut p = Printer::new(vec!["web".into(), "exocom".into()], false);
        let one = event("web", "a", 1);
        p.learn(std::slice::from_ref(&one));
        assert_eq!(p.line(&one), "web    | web a");
        let mut other = event("web", "b", 2);
        other.task = "fedcba9876543210".into();
        p.learn(std::slice::from_ref(&other));
        assert_eq!(p.line(&other), "web/fedcba98 | web b");
        assert_eq!(p.line(&event("exocom", "c", 3)), "exocom       | exocom c");
        let coloured = Printer::new(vec!["web".into()], true);
        assert!(coloured.line(&one).starts_with("\x1b[36m"));
    }
}
