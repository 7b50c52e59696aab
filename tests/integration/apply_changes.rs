//! The changes users make, each applied in place on moto from the applied state of the
//! previous step, and each step's saved plan read for what AWS would do. moto accepts things
//! AWS refuses (a second listener on a port, a second ECS service of the same name), so a green
//! apply is not the proof here: the plan is. Two chains, each in its own thread and moto.

use std::collections::BTreeMap;

use crate::apply::{Deployment, import_certificate};
use crate::moto::Moto;
use crate::terraform_moto::{Change, Plan};

fn moto_for_apply() -> Moto {
    Moto::start_tls(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
        ("MOTO_ACCOUNT_ID", "123456789012"),
    ])
}

fn kinds(plan: &Plan, kind: &str, action: &str) -> Vec<String> {
    plan.of_type(kind)
        .into_iter()
        .filter(|c| c.actions.iter().any(|a| a == action))
        .map(|c| c.address)
        .collect()
}

/// No ECS service is created or deleted except those of `added`/`removed` roles; the others
/// are at most updated in place.
#[track_caller]
fn services_only_updated(plan: &Plan, added: &[&str], removed: &[&str], step: &str) {
    for Change {
        address, actions, ..
    } in plan.of_type("aws_ecs_service")
    {
        let role_of =
            |r: &&str| address.starts_with(&format!("module.service_{}.", r.replace('-', "_")));
        let ok = match actions.as_slice() {
            [a] if a == "update" => true,
            [a] if a == "create" => added.iter().any(role_of),
            [a] if a == "delete" => removed.iter().any(role_of),
            _ => false,
        };
        assert!(
            ok,
            "{step}: {address} would be {actions:?}; services must be updated in place:\n{}",
            plan.describe()
        );
    }
}

/// The port-80 listener is never created or deleted.
#[track_caller]
fn port_80_listener_kept(plan: &Plan, step: &str) {
    for c in plan.of_type("aws_lb_listener") {
        if c.address.ends_with("aws_lb_listener.http") {
            assert_eq!(
                c.actions,
                ["update"],
                "{step}: the port-80 listener is updated in place, never replaced:\n{}",
                plan.describe()
            );
        }
    }
}

/// The listener rules of `untouched` roles do not change at all.
#[track_caller]
fn rules_untouched(plan: &Plan, untouched: &[&str], step: &str) {
    for c in plan.of_type("aws_lb_listener_rule") {
        for role in untouched {
            assert!(
                !c.address
                    .starts_with(&format!("module.service_{}.", role.replace('-', "_"))),
                "{step}: the rule of untouched `{role}` would change ({:?}):\n{}",
                c.actions,
                plan.describe()
            );
        }
    }
}

/// The host rules move to the other listener new-before-old: no host is left without a rule.
#[track_caller]
fn rules_move_without_a_gap(plan: &Plan, step: &str) {
    let rules = plan.of_type("aws_lb_listener_rule");
    assert!(!rules.is_empty(), "{step}: the rules move listener");
    for c in rules {
        assert_eq!(
            c.actions,
            ["create", "delete"],
            "{step}: {} must be created before the old one is deleted:\n{}",
            c.address,
            plan.describe()
        );
    }
}

/// Adding, changing and removing a public service (SpaceTweet, original format).
fn services_come_and_go() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let moto = moto_for_apply();
    let d = Deployment::prepare(dir.path(), "spacetweet", "production", &moto);
    d.plan();
    d.ws.apply_plan();

    // 1. add a public service
    let admin = d.app_dir.join("admin");
    std::fs::create_dir_all(&admin).expect("mkdir admin");
    std::fs::write(admin.join("Dockerfile"), "FROM scratch\n").expect("Dockerfile");
    std::fs::write(
        admin.join("service.yml"),
        "type: space-tweet-admin\nproduction:\n  url: admin.spacetweet.io\n  aws:\n    public-port: 4000\n",
    )
    .expect("service.yml");
    d.edit("application.yml", |t| {
        t.replace(
            "  public:\n    web:\n      location: ./web-server\n",
            "  public:\n    web:\n      location: ./web-server\n    admin:\n      location: ./admin\n",
        )
    });
    d.rerender(&BTreeMap::new());
    let plan = d.plan();
    let step = "add a public service";
    services_only_updated(&plan, &["admin"], &[], step);
    assert_eq!(
        kinds(&plan, "aws_ecs_service", "create"),
        ["module.service_admin.aws_ecs_service.this"],
        "{step}"
    );
    port_80_listener_kept(&plan, step);
    rules_untouched(&plan, &["web"], step);
    assert_eq!(
        kinds(&plan, "aws_lb_listener_rule", "create"),
        ["module.service_admin.aws_lb_listener_rule.this[0]"],
        "{step}"
    );
    d.ws.apply_plan();
    crate::apply::assert_deployed(&moto, &d.current_model(), d.zone_id());

    // 2. a new image for one service
    d.rerender(&BTreeMap::from([("web", 1)]));
    let plan = d.plan();
    let step = "change a service's image digest";
    services_only_updated(&plan, &[], &[], step);
    assert_eq!(
        kinds(&plan, "aws_ecs_service", "update"),
        ["module.service_web.aws_ecs_service.this"],
        "{step}: only web's service changes"
    );
    rules_untouched(&plan, &["web", "admin"], step);
    port_80_listener_kept(&plan, step);
    d.ws.apply_plan();

    // 3. remove the public service again
    d.edit("application.yml", |t| {
        t.replace("    admin:\n      location: ./admin\n", "")
    });
    d.rerender(&BTreeMap::from([("web", 1)]));
    let plan = d.plan();
    let step = "remove a public service";
    services_only_updated(&plan, &[], &["admin"], step);
    assert_eq!(
        kinds(&plan, "aws_ecs_service", "delete"),
        ["module.service_admin.aws_ecs_service.this"],
        "{step}"
    );
    rules_untouched(&plan, &["web"], step);
    port_80_listener_kept(&plan, step);
    d.ws.apply_plan();
    d.ws.destroy();
    assert!(d.ws.state().is_empty(), "destroy leaves an empty state");
}

/// HTTPS and autoscaling switched on and off (the minimal app, Exosphere format).
fn switches_flip() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let moto = moto_for_apply();
    let d = Deployment::prepare(dir.path(), "minimal", "production", &moto);
    d.plan();
    d.ws.apply_plan();
    let region = d.model.env.region.clone();
    let domain = d.model.env.domain.clone().expect("domain");
    let certificate = import_certificate(&moto, &region, &domain, dir.path());

    let https_on = |t: String| {
        t.replace(
            "      region: us-east-1\n",
            &format!("      region: us-east-1\n      ssl-certificate-arn: {certificate}\n"),
        )
    };
    type Edit<'a> = Box<dyn Fn(&Deployment) + 'a>;
    let steps: [(&str, Edit<'_>); 4] = [
        (
            "switch HTTPS on",
            Box::new(|d: &Deployment| d.edit("application.yml", https_on)),
        ),
        (
            "switch autoscaling on",
            Box::new(|d: &Deployment| {
                d.edit("web/service.yml", |t| {
                    format!("{t}  autoscaling:\n    min: 1\n    max: 4\n")
                })
            }),
        ),
        (
            "switch autoscaling off",
            Box::new(|d: &Deployment| {
                d.edit("web/service.yml", |t| {
                    t.replace("  autoscaling:\n    min: 1\n    max: 4\n", "")
                })
            }),
        ),
        (
            "switch HTTPS off",
            Box::new(|d: &Deployment| {
                d.edit("application.yml", |t| {
                    t.lines()
                        .filter(|l| !l.contains("ssl-certificate-arn"))
                        .map(|l| format!("{l}\n"))
                        .collect()
                })
            }),
        ),
    ];
    for (step, change) in &steps {
        change(&d);
        d.rerender(&BTreeMap::new());
        let plan = d.plan();
        services_only_updated(&plan, &[], &[], step);
        port_80_listener_kept(&plan, step);
        match *step {
            "switch HTTPS on" => {
                assert_eq!(
                    kinds(&plan, "aws_lb_listener", "create"),
                    ["module.load_balancer.aws_lb_listener.https[0]"],
                    "{step}"
                );
                assert_eq!(
                    kinds(&plan, "aws_lb_listener", "update"),
                    ["module.load_balancer.aws_lb_listener.http"],
                    "{step}: port 80 turns into the redirect in place"
                );
                rules_move_without_a_gap(&plan, step);
            }
            "switch HTTPS off" => {
                assert_eq!(
                    kinds(&plan, "aws_lb_listener", "delete"),
                    ["module.load_balancer.aws_lb_listener.https[0]"],
                    "{step}"
                );
                rules_move_without_a_gap(&plan, step);
            }
            "switch autoscaling on" => {
                assert_eq!(
                    kinds(&plan, "aws_appautoscaling_policy", "create"),
                    ["module.service_web.aws_appautoscaling_policy.cpu[0]"],
                    "{step}"
                );
                rules_untouched(&plan, &["web"], step);
            }
            _ => {
                assert_eq!(
                    kinds(&plan, "aws_appautoscaling_policy", "delete"),
                    ["module.service_web.aws_appautoscaling_policy.cpu[0]"],
                    "{step}"
                );
                rules_untouched(&plan, &["web"], step);
            }
        }
        d.ws.apply_plan();
    }
    d.ws.destroy();
    assert!(d.ws.state().is_empty(), "destroy leaves an empty state");
}

#[test]
fn changes_users_make_apply_in_place() {
    let results: Vec<std::thread::Result<()>> = std::thread::scope(|s| {
        let a = s.spawn(services_come_and_go);
        let b = s.spawn(switches_flip);
        vec![a.join(), b.join()]
    });
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 0, "{failed} change chains failed (see above)");
}
