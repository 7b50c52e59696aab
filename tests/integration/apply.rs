//! The promise the tool makes, kept on moto: every fixture's Terraform, exactly as `exo-deploy
//! render --endpoint-url` writes it, applies in one `terraform apply` from an empty state, a
//! second plan has nothing to do, and it destroys to an empty state; the changes users make
//! apply in place. With terraform >= 1.10 and hashicorp/aws 5.x (see `terraform_moto`, which
//! also names the moto quirks handled in the test copy).
//!
//! moto's waiters sleep (a load balancer about a minute, each Route53 change about 30 s), so
//! these tests wait rather than compute: each app gets its own moto server and its own thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::harness::{copy_dir, repo};
use crate::moto::{Moto, block_on};
use crate::terraform_moto::{Plan, Workspace};

/// One app copy, resolved for one environment, rendered and loaded into a workspace.
pub struct Deployment {
    pub app_dir: PathBuf,
    endpoint: String,
    pub env: String,
    pub model: exo_deploy::model::App,
    pub out: PathBuf,
    pub ws: Workspace,
    zone_id: Option<String>,
}

/// The resolved model of an app folder for `env`.
pub fn model(app: &Path, env: &str) -> exo_deploy::model::App {
    let raw = exo_deploy::config::load(app).expect("fixture loads");
    exo_deploy::model::resolve(&raw, Some(env)).expect("fixture resolves")
}

/// A self-signed certificate for `domain`, imported into moto's ACM in `region`: its ARN.
pub fn import_certificate(moto: &Moto, region: &str, domain: &str, dir: &Path) -> String {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
        ])
        .arg(format!("/CN={domain}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{domain},DNS:*.{domain}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): apt-get install openssl (.ci/run does)")
        });
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    use base64::Engine;
    let b64 = |p: &Path| {
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).expect("read pem"))
    };
    let answer = moto.json_call(
        "acm",
        region,
        "CertificateManager.ImportCertificate",
        &json!({ "Certificate": b64(&cert), "PrivateKey": b64(&key) }),
    );
    answer["CertificateArn"]
        .as_str()
        .expect("CertificateArn")
        .to_string()
}

/// A hosted zone in moto, as `exo-deploy bootstrap` would find it: its id.
pub fn create_zone(moto: &Moto, domain: &str) -> String {
    block_on(async {
        let r53 = moto.route53().await;
        let zone = r53
            .create_hosted_zone()
            .name(domain)
            .caller_reference(format!("apply-test-{domain}"))
            .send()
            .await
            .expect("create zone");
        zone.hosted_zone()
            .expect("zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    })
}

/// Renders an app folder with the real CLI, for the AWS emulator at `endpoint`.
pub fn render(app: &Path, env: &str, out: &Path, endpoint: &str) {
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_exo-deploy"))
        .arg("-C")
        .arg(app)
        .args(["render", "-e", env, "--endpoint-url", endpoint, "--out"])
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .expect("run exo-deploy render");
    assert!(
        result.status.success(),
        "exo-deploy render failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// A stand-in image reference by digest for a service that would be pushed (moto runs no
/// containers, but the reference has the shape a push gives).
pub fn digest_of(role: &str, generation: u32) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(format!("{role}-{generation}").as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("127.0.0.1:5000/apply-test/{role}@sha256:{hex}")
}

impl Deployment {
    /// Copies `fixtures/<fixture>` into `root`, prepares moto for it (certificate, zone) and
    /// renders it.
    pub fn prepare(root: &Path, fixture: &str, env: &str, moto: &Moto) -> Deployment {
        let app_dir = root.join("app");
        copy_dir(&repo().join("fixtures").join(fixture), &app_dir);
        let mut model = model(&app_dir, env);
        if let Some(arn) = model.env.ssl_certificate_arn.clone() {
            let domain = model.env.domain.clone().expect("https needs a domain");
            let ours = import_certificate(moto, &model.env.region, &domain, root);
            let file = app_dir.join("application.yml");
            let text = std::fs::read_to_string(&file).expect("application.yml");
            std::fs::write(&file, text.replace(&arn, &ours)).expect("write application.yml");
            model = self::model(&app_dir, env);
        }
        let zone_id = model.env.domain.as_deref().map(|d| create_zone(moto, d));
        let out = root.join("rendered");
        render(&app_dir, env, &out, &moto.url);
        let ws = Workspace::new(root, moto, &format!("{}-{env}-state", model.name));
        let d = Deployment {
            app_dir,
            endpoint: moto.url.clone(),
            env: env.to_string(),
            model,
            out,
            ws,
            zone_id,
        };
        d.load(&BTreeMap::new());
        d.ws.init();
        d
    }

    /// Loads the rendered directory into the workspace, each pushed image at its generation in
    /// `generations` (0 when not listed).
    pub fn load(&self, generations: &BTreeMap<&str, u32>) {
        let text = std::fs::read_to_string(self.out.join("terraform.tfvars.json")).expect("tfvars");
        let mut tfvars: serde_json::Value = serde_json::from_str(&text).expect("tfvars JSON");
        let images = tfvars["images"].as_object_mut().expect("images");
        for (role, image) in images.iter_mut() {
            if image.as_str().is_some_and(str::is_empty) {
                let generation = generations.get(role.as_str()).copied().unwrap_or(0);
                *image = json!(digest_of(role, generation));
            }
        }
        if let Some(zone) = &self.zone_id {
            tfvars["hosted_zone_id"] = json!(zone);
        }
        self.ws.load(&self.out, &tfvars);
    }

    /// Re-renders after the app folder changed, loads the result and runs `terraform init`
    /// (as every deploy does: an added service is a new module to install).
    pub fn rerender(&self, generations: &BTreeMap<&str, u32>) {
        render(&self.app_dir, &self.env, &self.out, &self.endpoint);
        self.load(generations);
        self.ws.init();
    }

    /// Edits a file of the app folder.
    pub fn edit(&self, file: &str, edit: impl FnOnce(String) -> String) {
        let path = self.app_dir.join(file);
        let text = std::fs::read_to_string(&path).expect("read file to edit");
        std::fs::write(&path, edit(text)).expect("write edited file");
    }

    /// The model of the app folder as it is now (after edits).
    pub fn current_model(&self) -> exo_deploy::model::App {
        model(&self.app_dir, &self.env)
    }

    pub fn zone_id(&self) -> Option<&str> {
        self.zone_id.as_deref()
    }

    pub fn plan(&self) -> Plan {
        self.ws.plan()
    }

    /// The name prefix of everything this deployment creates.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.model.name, self.model.env.name)
    }
}

/// What was created, read back through the AWS APIs (not the state file).
pub fn assert_deployed(moto: &Moto, app: &exo_deploy::model::App, zone_id: Option<&str>) {
    use exo_deploy::model::ServiceKind;
    let region = app.env.region.as_str();
    let prefix = format!("{}-{}", app.name, app.env.name);
    let has_public = app.services_of(ServiceKind::Public).next().is_some();
    block_on(async {
        let ecs = moto.ecs(region).await;
        for (cluster, roles) in [
            (
                "public",
                app.services_of(ServiceKind::Public)
                    .map(|s| s.role.clone())
                    .collect::<Vec<_>>(),
            ),
            (
                "private",
                app.services
                    .iter()
                    .filter(|s| s.kind != ServiceKind::Public)
                    .map(|s| s.role.clone())
                    .chain(["exocom".to_string()])
                    .collect(),
            ),
        ] {
            if cluster == "public" && !has_public {
                continue;
            }
            let name = format!("{prefix}-{cluster}");
            let found = ecs
                .describe_clusters()
                .clusters(&name)
                .send()
                .await
                .expect("describe clusters");
            let c = found
                .clusters()
                .first()
                .unwrap_or_else(|| panic!("{prefix}: cluster {name} missing"));
            assert_eq!(c.status(), Some("ACTIVE"), "{name}");
            assert_eq!(
                c.capacity_providers(),
                std::slice::from_ref(&name),
                "{name}: its capacity provider is associated"
            );
            let listed = ecs
                .list_services()
                .cluster(&name)
                .send()
                .await
                .expect("list services");
            let mut names: Vec<String> = listed
                .service_arns()
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
                .collect();
            names.sort();
            let mut want = roles.clone();
            want.sort();
            assert_eq!(names, want, "{name}: one ECS service per app service");
        }
    });
    let public: Vec<_> = app.services_of(ServiceKind::Public).collect();
    if has_public {
        // one host rule per public url, at the service's priority, on the one listener
        let lbs = moto.query_call(
            "elasticloadbalancing",
            region,
            "Action=DescribeLoadBalancers&Version=2015-12-01",
        );
        let arn = members(&lbs, "LoadBalancers")
            .into_iter()
            .map(|m| child(&m, "LoadBalancerArn"))
            .find(|a| a.contains(&format!("/{}/", lb_name(&prefix))))
            .unwrap_or_else(|| panic!("{prefix}: no load balancer in {lbs}"));
        let listeners = moto.query_call(
            "elasticloadbalancing",
            region,
            &format!("Action=DescribeListeners&Version=2015-12-01&LoadBalancerArn={arn}"),
        );
        let listeners: Vec<(String, String)> = members(&listeners, "Listeners")
            .into_iter()
            .map(|m| (child(&m, "Port"), child(&m, "ListenerArn")))
            .collect();
        let https = app.env.ssl_certificate_arn.is_some();
        let mut ports: Vec<&str> = listeners.iter().map(|(p, _)| p.as_str()).collect();
        ports.sort_unstable();
        let want: &[&str] = if https { &["443", "80"] } else { &["80"] };
        assert_eq!(ports, want, "{prefix}: one listener per port");
        let rules_port = if https { "443" } else { "80" };
        let (_, rules_listener) = listeners
            .iter()
            .find(|(p, _)| p == rules_port)
            .expect("listener");
        let rules = moto.query_call(
            "elasticloadbalancing",
            region,
            &format!("Action=DescribeRules&Version=2015-12-01&ListenerArn={rules_listener}"),
        );
        let rules: Vec<(String, Vec<String>)> = members(&rules, "Rules")
            .into_iter()
            .map(|m| {
                let doc = roxmltree::Document::parse(&m).expect("rule XML");
                let hosts = doc
                    .descendants()
                    .filter(|n| n.has_tag_name("Values"))
                    .flat_map(|v| v.children().filter_map(|c| c.text().map(str::to_string)))
                    .collect();
                (child(&m, "Priority"), hosts)
            })
            .collect();
        for s in &public {
            let url = s.url.as_deref().expect("public url");
            let priority = s.priority.expect("priority").to_string();
            assert!(
                rules
                    .iter()
                    .any(|(p, hosts)| *p == priority && hosts.iter().any(|h| h == url)),
                "{prefix}: no host rule for {url} at priority {priority}: {rules:?}"
            );
        }
        // an alias record per url, in the app's zone
        block_on(async {
            let r53 = moto.route53().await;
            let records = r53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id.expect("zone"))
                .send()
                .await
                .expect("list records");
            for s in &public {
                let url = format!("{}.", s.url.as_deref().expect("url"));
                assert!(
                    records
                        .resource_record_sets()
                        .iter()
                        .any(|r| r.name() == url
                            && r.r#type().as_str() == "A"
                            && r.alias_target().is_some()),
                    "{prefix}: no alias record for {url}"
                );
            }
        });
    }
    // Cloud Map names for ExoCom and every private service
    let namespaces = moto.json_call(
        "servicediscovery",
        region,
        "Route53AutoNaming_v20170314.ListNamespaces",
        &json!({}),
    );
    let private_domain = exo_deploy::render::private_domain(app);
    let namespace = namespaces["Namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["Name"] == json!(private_domain))
        .unwrap_or_else(|| panic!("{prefix}: no namespace {private_domain}: {namespaces}"));
    let services = moto.json_call(
        "servicediscovery",
        region,
        "Route53AutoNaming_v20170314.ListServices",
        &json!({ "Filters": [{ "Name": "NAMESPACE_ID", "Values": [namespace["Id"]] }] }),
    );
    let mut names: Vec<String> = services["Services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    let mut want: Vec<String> = app
        .services_of(ServiceKind::Private)
        .map(|s| s.role.clone())
        .chain(["exocom".to_string()])
        .collect();
    want.sort();
    assert_eq!(names, want, "{prefix}: Cloud Map names");
}

fn lb_name(prefix: &str) -> String {
    prefix
        .chars()
        .take(32)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// The `member` elements of the list `list` in a query-protocol answer, each as XML text.
fn members(answer: &str, list: &str) -> Vec<String> {
    let xml = answer.split_once("\r\n\r\n").map_or(answer, |(_, b)| b);
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML ({e}): {xml}"));
    doc.descendants()
        .filter(|n| n.has_tag_name(list))
        .flat_map(|l| l.children().filter(|c| c.has_tag_name("member")))
        .map(|m| xml[m.range()].to_string())
        .collect()
}

/// The text of the direct child `name` of a member (not of its nested elements).
fn child(member: &str, name: &str) -> String {
    let doc = roxmltree::Document::parse(member).unwrap_or_else(|e| panic!("not XML ({e})"));
    doc.root_element()
        .children()
        .find(|c| c.has_tag_name(name))
        .and_then(|c| c.text())
        .unwrap_or_else(|| panic!("no {name} in {member}"))
        .to_string()
}

/// What one app's apply and destroy measured.
#[derive(Debug)]
struct Measured {
    what: String,
    resources: usize,
    apply: Duration,
    destroy: Duration,
}

/// The apps of one moto account: each environment of `fixture` in `envs`, side by side.
fn apply_and_destroy(fixture: &str, envs: &[&str]) -> Vec<Measured> {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let first = model(&repo().join("fixtures").join(fixture), envs[0]);
    let account = first
        .env
        .account_id
        .clone()
        .unwrap_or_else(|| "123456789012".into());
    let moto = Moto::start_tls(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
        ("MOTO_ACCOUNT_ID", &account),
    ]);
    let deployments: Vec<Deployment> = envs
        .iter()
        .map(|env| Deployment::prepare(&dir.path().join(env), fixture, env, &moto))
        .collect();
    // Side by side: every environment is planned and applied into the same account before any
    // is destroyed, so a name two environments share would fail here.
    let applied: Vec<(usize, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = deployments
            .iter()
            .map(|d| {
                s.spawn(|| {
                    let plan = d.plan();
                    let creates = plan.changes();
                    assert!(
                        creates.iter().all(|c| c.actions == ["create"]),
                        "{}: a first plan only creates:\n{}",
                        d.prefix(),
                        plan.describe()
                    );
                    (creates.len(), d.ws.apply_plan())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("apply thread"))
            .collect()
    });
    for d in &deployments {
        assert_deployed(&moto, &d.model, d.zone_id.as_deref());
        let again = d.plan();
        assert!(
            again.changes().is_empty(),
            "{}: after the apply, a new plan has nothing to do:\n{}",
            d.prefix(),
            again.describe()
        );
    }
    let measured: Vec<Measured> = std::thread::scope(|s| {
        let handles: Vec<_> = deployments
            .iter()
            .zip(applied)
            .map(|(d, (resources, apply))| {
                s.spawn(move || {
                    let destroy = d.ws.destroy();
                    assert_eq!(
                        d.ws.state(),
                        Vec::<String>::new(),
                        "{}: destroy leaves an empty state",
                        d.prefix()
                    );
                    Measured {
                        what: format!("{fixture}/{}", d.env),
                        resources,
                        apply,
                        destroy,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("destroy thread"))
            .collect()
    });
    block_on(async {
        // ECS lists a deleted cluster as INACTIVE for a while (moto too): none may be ACTIVE
        for d in &deployments {
            let ecs = moto.ecs(&d.model.env.region).await;
            let listed = ecs.list_clusters().send().await.expect("list clusters");
            let ours: Vec<String> = listed
                .cluster_arns()
                .iter()
                .filter(|a| a.contains(&d.prefix()))
                .cloned()
                .collect();
            if ours.is_empty() {
                continue;
            }
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(ours))
                .send()
                .await
                .expect("describe clusters");
            for c in described.clusters() {
                assert_eq!(
                    c.status(),
                    Some("INACTIVE"),
                    "{}: cluster {:?} is left after destroy",
                    d.prefix(),
                    c.cluster_name()
                );
            }
        }
    });
    measured
}

#[test]
fn every_fixture_applies_in_one_apply_and_destroys_to_an_empty_state() {
    // Every fixture and environment under fixtures/ (the valid ones), each app in its own moto
    // account and thread; the environments of one app side by side in one account.
    let mut apps: Vec<(String, Vec<&str>)> = Vec::new();
    for (fixture, env) in crate::VALID_FIXTURES {
        match apps.iter_mut().find(|(f, _)| f == fixture) {
            Some((_, envs)) => envs.push(env),
            None => apps.push((fixture.to_string(), vec![env])),
        }
    }
    // and the SpaceTweets deployed with Exosphere, as their authors wrote them
    for deployed in crate::corpus::DEPLOYED {
        apps.push((format!("corpus/{deployed}"), vec!["production"]));
    }
    let fixtures_dir: Vec<String> = std::fs::read_dir(repo().join("fixtures"))
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "invalid" && n != "corpus")
        .collect();
    for f in &fixtures_dir {
        assert!(
            apps.iter().any(|(a, _)| a == f),
            "fixtures/{f} is not in VALID_FIXTURES: every valid fixture must be applied"
        );
    }
    let results: Vec<std::thread::Result<Vec<Measured>>> = std::thread::scope(|s| {
        let handles: Vec<_> = apps
            .iter()
            .map(|(fixture, envs)| s.spawn(move || apply_and_destroy(fixture, envs)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut failed = 0;
    for r in results {
        match r {
            Ok(measured) => {
                for m in measured {
                    eprintln!(
                        "applied {}: {} resources, apply {:.0} s, destroy {:.0} s",
                        m.what,
                        m.resources,
                        m.apply.as_secs_f64(),
                        m.destroy.as_secs_f64()
                    );
                }
            }
            Err(_) => failed += 1,
        }
    }
    assert_eq!(
        failed, 0,
        "{failed} apps failed to apply or destroy (see above)"
    );
}
