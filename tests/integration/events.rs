//! The `--json` event stream is an interface (docs/events.md): every event of a run is held to
//! `docs/events.schema.json`, and a run's step events to its plan: each step reported once, by
//! the id the plan gave it, in order; after a failure, none.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::harness::{Output, Test, repo};

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("docs/events.schema.json"))
            .expect("docs/events.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a JSON Schema")
    })
}

/// Every stdout line of `out` is an event the schema allows, and the step events account for
/// the plan's steps: each place once, by its id, in order (a failed run: those it reached).
#[track_caller]
pub fn check(out: &Output) {
    let events = out.events();
    for e in &events {
        let errors: Vec<String> = validator().iter_errors(e).map(|x| x.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{e} is not an event docs/events.schema.json allows: {errors:?}"
        );
    }
    let Some(plan) = events.iter().find(|e| e["event"] == "plan") else {
        return;
    };
    let planned: Vec<String> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(id_of)
        .collect();
    let mut reported: BTreeMap<u64, String> = BTreeMap::new();
    let mut order = Vec::new();
    let mut failed = false;
    for e in &events {
        let kind = e["event"].as_str().unwrap_or_default();
        if !matches!(
            kind,
            "step-finished" | "step-failed" | "step-skipped" | "step-answered"
        ) {
            continue;
        }
        failed |= kind == "step-failed";
        for i in e["indexes"].as_array().expect("indexes") {
            let i = i.as_u64().expect("an index");
            let id = e["step"].as_str().expect("step").to_string();
            assert_eq!(
                planned.get(i as usize - 1),
                Some(&id),
                "step {i} is `{}` in the plan and `{id}` in the run: {e}",
                planned
                    .get(i as usize - 1)
                    .map_or("missing", String::as_str)
            );
            assert!(
                reported.insert(i, kind.into()).is_none(),
                "step {i} reported twice"
            );
            order.push(i);
        }
    }
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "steps reported out of order: {order:?}"
    );
    if out.code == 0 {
        let missing: Vec<usize> = (1..=planned.len())
            .filter(|i| !reported.contains_key(&(*i as u64)))
            .collect();
        assert!(
            missing.is_empty(),
            "a successful run reports every planned step; not {missing:?} of {planned:?}"
        );
    } else if failed {
        let last = order.last().copied().unwrap_or(0);
        assert_eq!(
            reported.get(&last).map(String::as_str),
            Some("step-failed"),
            "a failed run stops at its failing step"
        );
    }
}

/// A planned step's id: its own, or under conditions the id of the step they guard.
fn id_of(step: &serde_json::Value) -> String {
    match step["step"].as_str() {
        Some("when") => id_of(&step["then"]),
        Some(id) => id.to_string(),
        None => panic!("a planned step without an id: {step}"),
    }
}

#[test]
fn dry_runs_report_every_planned_step_by_its_id_and_every_event_is_documented() {
    for (fixture, env) in crate::VALID_FIXTURES {
        for args in [
            vec!["--dry-run", "--json", "-e", env],
            vec!["--teardown", "--dry-run", "--json", "-e", env],
            vec!["--nuke", "--dry-run", "--json", "-e", env],
        ] {
            let out = Test::new().app(fixture).args(&args).run();
            out.code(0);
            check(&out);
            let events = out.events();
            let skipped = events
                .iter()
                .filter(|e| e["event"] == "step-skipped" && e["condition"] == "dry-run")
                .count();
            assert!(
                skipped > 0,
                "{fixture} {args:?}: a dry run skips what it does not do"
            );
        }
    }
}

#[test]
fn a_config_error_is_one_documented_event_at_its_place() {
    let out = Test::new()
        .app("invalid/typos")
        .args(["--dry-run", "--json"])
        .run();
    out.code(2);
    check(&out);
    let errors: Vec<serde_json::Value> = out
        .events()
        .into_iter()
        .filter(|e| e["event"] == "error")
        .collect();
    assert!(
        errors
            .iter()
            .all(|e| e["kind"] == "config" && e["file"].is_string() && e["line"].is_u64()),
        "{errors:?}"
    );
}

#[test]
fn an_unanswerable_confirmation_is_refused_before_any_step() {
    // no terminal, no --yes: refused before anything runs, as one usage error
    let out = Test::new()
        .app("minimal")
        .args(["--json"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .run();
    out.code(2);
    check(&out);
    assert!(
        !out.events().iter().any(|e| e["event"] == "step-started"),
        "{}",
        out.stdout
    );
}
