//! The order AWS needs, asserted on the rendered Terraform itself: moto creates an ECS service
//! whose capacity provider is not associated with its cluster yet (AWS refuses it), so a green
//! apply on moto proves no order.
//!
//! The rendered files are parsed with hcl-rs into a reference graph over every module:
//! resources, data sources, locals, variables and outputs, with `depends_on` and the module
//! calls' arguments as edges. Terraform creates a resource after everything it reaches in this
//! graph and destroys it before them, so "A reaches B" is the edge the tests list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::VALID_FIXTURES;
use crate::terraform_checks::rendered;

/// Every node (`module.network/aws_route.private_nat`, `module.network/output.vpc_id`, …) and
/// the nodes it references directly.
#[derive(Debug, Default)]
pub struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn references(text: &str, module: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(
        r"\b(data\.[a-z0-9_]+\.[a-z0-9_]+|module\.[a-z0-9_]+\.[a-z0-9_]+|var\.[a-z0-9_]+|local\.[a-z0-9_]+|aws_[a-z0-9_]+\.[a-z0-9_]+)",
    )
    .expect("regex");
    re.find_iter(text)
        .map(|m| {
            let r = m.as_str();
            match r.strip_prefix("module.") {
                // module.c.o: the output o of the child module c
                Some(rest) => {
                    let (child, output) = rest.split_once('.').expect("module.c.o");
                    format!("{module}module.{child}/output.{output}")
                }
                None => format!("{module}{r}"),
            }
        })
        .collect()
}

fn text_of(body: &hcl::Body) -> String {
    hcl::format::to_string(body).expect("format HCL")
}

fn text_of_expr(expr: &hcl::Expression) -> String {
    hcl::format::to_string(expr).expect("format HCL expression")
}

impl Graph {
    /// The graph of the rendered directory `dir` (the root module and the modules it calls).
    pub fn of(dir: &Path) -> Graph {
        let mut g = Graph::default();
        g.module(dir, "");
        g
    }

    fn add(&mut self, node: String, refs: BTreeSet<String>) {
        self.edges.entry(node).or_default().extend(refs);
    }

    fn module(&mut self, dir: &Path, prefix: &str) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("read module folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "tf"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read .tf");
            let body: hcl::Body = hcl::parse(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            for block in body.blocks() {
                let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
                match (block.identifier(), labels.as_slice()) {
                    ("resource", [kind, name]) => {
                        let refs = references(&text_of(block.body()), prefix);
                        self.add(format!("{prefix}{kind}.{name}"), refs);
                    }
                    ("data", [kind, name]) => {
                        let refs = references(&text_of(block.body()), prefix);
                        self.add(format!("{prefix}data.{kind}.{name}"), refs);
                    }
                    ("output", [name]) => {
                        let refs = references(&text_of(block.body()), prefix);
                        self.add(format!("{prefix}output.{name}"), refs);
                    }
                    ("locals", []) => {
                        for attr in block.body().attributes() {
                            let refs = references(&text_of_expr(attr.expr()), prefix);
                            self.add(format!("{prefix}local.{}", attr.key()), refs);
                        }
                    }
                    ("module", [name]) => {
                        let child = format!("{prefix}module.{name}/");
                        let mut source = None;
                        for attr in block.body().attributes() {
                            match attr.key() {
                                "source" => source = Some(text_of_expr(attr.expr())),
                                "depends_on" | "count" | "for_each" | "providers" => {
                                    panic!("module {name}: {} is not modelled here", attr.key())
                                }
                                key => {
                                    let refs = references(&text_of_expr(attr.expr()), prefix);
                                    self.add(format!("{child}var.{key}"), refs);
                                }
                            }
                        }
                        let source = source.expect("module source");
                        let source = source.trim_matches('"');
                        self.module(&dir.join(source), &child);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Every node `from` reaches.
    pub fn reach(&self, from: &str) -> BTreeSet<String> {
        assert!(self.edges.contains_key(from), "no node {from} in the graph");
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for next in self.edges.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    }

    /// The nodes whose name matches `pattern` (`*` for one module name).
    pub fn nodes(&self, pattern: &str) -> Vec<String> {
        let re = regex::Regex::new(&format!(
            "^{}$",
            regex::escape(pattern).replace(r"\*", "[a-z0-9_]+")
        ))
        .expect("pattern");
        self.edges
            .keys()
            .filter(|k| re.is_match(k))
            .cloned()
            .collect()
    }

    /// Panics unless `from` reaches `to`: `to` is created before `from` and destroyed after it.
    #[track_caller]
    pub fn assert_after(&self, from: &str, to: &str, why: &str) {
        assert!(
            self.edges.contains_key(to),
            "no node {to} in the graph ({why})"
        );
        assert!(
            self.reach(from).contains(to),
            "{from} must come after {to}: {why}"
        );
    }
}

/// The cluster module a service module runs on, from its `cluster_arn` argument.
fn cluster_of(g: &Graph, service_module: &str) -> String {
    let refs = &g.edges[&format!("{service_module}/var.cluster_arn")];
    refs.iter()
        .find_map(|r| r.strip_suffix("/output.cluster_arn").map(str::to_string))
        .unwrap_or_else(|| panic!("{service_module}: cluster_arn names no cluster module"))
}

#[test]
fn the_order_aws_needs_is_explicit_on_create_and_on_destroy() {
    for (fixture, env) in VALID_FIXTURES {
        let (_keep, out) = rendered(fixture, env);
        let g = Graph::of(&out);
        let services = g.nodes("module.*/aws_ecs_service.this");
        assert!(
            services.len() >= 2,
            "{fixture}: one ECS service per app service plus ExoCom, found {services:?}"
        );
        let clusters = g.nodes("module.*/aws_autoscaling_group.this");
        assert!(!clusters.is_empty(), "{fixture}: no cluster");
        for service in &services {
            let module = service.trim_end_matches("/aws_ecs_service.this");
            let cluster = cluster_of(&g, module);
            g.assert_after(
                service,
                &format!("{cluster}/aws_ecs_cluster_capacity_providers.this"),
                "ECS refuses a service whose capacity provider is not associated with its cluster",
            );
            for rule in [
                "aws_vpc_security_group_ingress_rule.from_load_balancer",
                "aws_vpc_security_group_ingress_rule.from_vpc",
                "aws_vpc_security_group_egress_rule.all",
                "aws_vpc_security_group_egress_rule.listed",
                "aws_vpc_security_group_egress_rule.vpc",
            ] {
                g.assert_after(
                    service,
                    &format!("{module}/{rule}"),
                    "tasks start with their security group's rules in place",
                );
            }
            for policy in [
                "aws_iam_role_policy_attachment.execution",
                "aws_iam_role_policy.secrets",
            ] {
                g.assert_after(
                    service,
                    &format!("{module}/{policy}"),
                    "tasks pull, log and read secrets with the execution role's policies",
                );
            }
        }
        let private_network = [
            "module.network/aws_nat_gateway.this",
            "module.network/aws_route.private_nat",
            "module.network/aws_route_table_association.private",
        ];
        for user in services.iter().chain(&clusters) {
            for n in private_network {
                g.assert_after(
                    user,
                    n,
                    "instances and tasks reach ECR and AWS through NAT: on destroy, NAT and the private routes must outlive them",
                );
            }
        }
        for asg in &clusters {
            let module = asg.trim_end_matches("/aws_autoscaling_group.this");
            for policy in [
                "aws_iam_role_policy_attachment.ecs_agent",
                "aws_iam_role_policy_attachment.ssm",
            ] {
                g.assert_after(
                    asg,
                    &format!("{module}/{policy}"),
                    "instances register with ECS through their role's policies",
                );
            }
        }
        let lbs = g.nodes("module.load_balancer/aws_lb.this");
        for lb in &lbs {
            for n in [
                "module.network/aws_internet_gateway.this",
                "module.network/aws_route.public_internet",
                "module.network/aws_route_table_association.public",
            ] {
                g.assert_after(
                    lb,
                    n,
                    "an internet-facing load balancer needs the internet gateway and public routes",
                );
            }
        }
        assert_eq!(
            lbs.len(),
            1,
            "{fixture}/{env}: every fixture has public services"
        );
    }
}

#[test]
fn the_graph_reader_sees_edges_through_module_outputs_and_depends_on() {
    // The reader itself, on a small hand-written configuration: an edge through a module
    // output's depends_on, one through a local, and none where there is none.
    let dir = tempfile::TempDir::new().expect("temp dir");
    let child = dir.path().join("modules/child");
    std::fs::create_dir_all(&child).expect("mkdir");
    std::fs::write(
        dir.path().join("main.tf"),
        "module \"child\" {\n  source = \"./modules/child\"\n  x      = aws_vpc.this.id\n}\n\nresource \"aws_vpc\" \"this\" {}\n\nresource \"aws_lb\" \"this\" {\n  subnets = module.child.ids\n}\n\nresource \"aws_eip\" \"alone\" {}\n",
    )
    .expect("write");
    std::fs::write(
        child.join("main.tf"),
        "locals {\n  x = var.x\n}\n\nresource \"aws_subnet\" \"this\" {\n  vpc_id = local.x\n}\n\nresource \"aws_route\" \"this\" {}\n\noutput \"ids\" {\n  value      = aws_subnet.this[*].id\n  depends_on = [aws_route.this]\n}\n",
    )
    .expect("write");
    let g = Graph::of(dir.path());
    g.assert_after("aws_lb.this", "module.child/aws_route.this", "depends_on");
    g.assert_after("aws_lb.this", "aws_vpc.this", "through var and local");
    assert!(!g.reach("aws_lb.this").contains("aws_eip.alone"));
    assert!(g.reach("aws_eip.alone").is_empty());
}
