//! Snapshots of every rendered file for every example app, and what users rely on in them.

use crate::VALID_FIXTURES;
use crate::harness::{Test, combined};

fn render(fixture: &str, env: &str) -> (crate::harness::Output, String) {
    let test = Test::new().app(fixture);
    let out_dir = test.path().join("out");
    let out = test
        .args([
            "render",
            "-e",
            env,
            "--out",
            out_dir.to_str().expect("utf-8 path"),
        ])
        .run();
    out.code(0);
    let text = combined(&out_dir);
    (out, text)
}

/// The part of a combined render under `modules/` (our embedded modules, the same for every
/// app), and the rest (the app's own root files).
fn split_modules(text: &str) -> (String, String) {
    let mut modules = String::new();
    let mut own = String::new();
    for part in text.split_inclusive_headers() {
        if part.starts_with("==== modules/") {
            modules.push_str(part);
        } else {
            own.push_str(part);
        }
    }
    (modules, own)
}

trait Headers {
    fn split_inclusive_headers(&self) -> Vec<&str>;
}

impl Headers for str {
    /// The `==== path ====` sections of a combined render.
    fn split_inclusive_headers(&self) -> Vec<&str> {
        let mut starts: Vec<usize> = self.match_indices("==== ").map(|(i, _)| i).collect();
        starts.retain(|&i| i == 0 || self.as_bytes()[i - 1] == b'\n');
        starts.push(self.len());
        starts.windows(2).map(|w| &self[w[0]..w[1]]).collect()
    }
}

#[test]
fn every_fixture_renders_as_snapshotted() {
    // Each app's own files per fixture; the embedded modules once (they must be identical in
    // every app).
    let mut modules_seen: Option<String> = None;
    for (fixture, env) in VALID_FIXTURES {
        let (_, text) = render(fixture, env);
        let (modules, own) = split_modules(&text);
        insta::assert_snapshot!(format!("render__{fixture}__{env}"), own);
        match &modules_seen {
            None => modules_seen = Some(modules),
            Some(first) => assert_eq!(
                first, &modules,
                "{fixture}/{env}: the embedded modules differ between apps"
            ),
        }
    }
    insta::assert_snapshot!("render__modules", modules_seen.expect("fixtures"));
}

#[test]
fn rendering_twice_gives_the_same_bytes() {
    let (_, first) = render("spacetweet", "production");
    let (_, second) = render("spacetweet", "production");
    assert_eq!(first, second);
}

#[test]
fn rerender_replaces_stale_files_but_keeps_terraform_state_dirs() {
    let test = Test::new().app("minimal");
    let out = test.path().join("out");
    std::fs::create_dir_all(out.join(".terraform")).expect("mkdir");
    std::fs::write(out.join(".terraform/keep"), "x").expect("write");
    std::fs::write(out.join("stale.tf"), "# from an older render").expect("write");
    std::fs::create_dir_all(out.join("modules/removed-module")).expect("mkdir");
    std::fs::write(out.join("modules/removed-module/main.tf"), "").expect("write");
    let result = test
        .args(["render", "--out", out.to_str().expect("utf-8")])
        .run();
    result.code(0);
    assert!(
        out.join("main.tf").exists(),
        "the output is still there to inspect"
    );
    assert!(
        !out.join("stale.tf").exists(),
        "a .tf file the render did not write must go"
    );
    assert!(
        !out.join("modules/removed-module").exists(),
        "modules are replaced as a whole"
    );
    assert!(
        out.join(".terraform/keep").exists(),
        "terraform's own folder is left alone"
    );
    assert!(out.join("main.tf").exists());
}

#[test]
fn default_output_is_under_the_app() {
    let out = Test::new().app("minimal").args(["render"]).run();
    out.code(0);
    assert!(out.app.join(".exo-deploy/production/main.tf").is_file());
    assert!(
        out.app
            .join(".exo-deploy/production/modules/ecs-service/main.tf")
            .is_file()
    );
}

#[test]
fn user_values_cannot_inject_terraform_interpolation() {
    let (_, text) = render("https-autoscaling", "production");
    assert!(
        text.contains(r#""GREETING"    = "price: $${5} and 100%%{discount} \"quoted\"""#),
        "{text}"
    );
    assert!(!text.contains("\"price: ${5}"));
}

#[test]
fn secrets_are_rendered_as_references_only() {
    let (_, text) = render("https-autoscaling", "production");
    assert!(
        text.contains(r#""STRIPE_KEY"  = { store = "secretsmanager", name = "shop/stripe" }"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"name = "arn:aws:ssm:eu-central-1:210987654321:parameter/shop/db-password""#
        )
    );
    let (_, text) = render("spacetweet", "production");
    // a bare secret name reads the SSM parameter /<app>/<env>/<NAME>
    assert!(
        text.contains(
            r#""MONGODB_URI" = { store = "ssm", name = "/space-tweet/production/MONGODB_URI" }"#
        ),
        "{text}"
    );
}

#[test]
fn images_not_pushed_yet_are_empty_and_prebuilt_ones_are_kept() {
    let (_, text) = render("https-autoscaling", "production");
    let tfvars = text
        .split("==== terraform.tfvars.json ====\n")
        .nth(1)
        .expect("tfvars rendered");
    let tfvars: serde_json::Value =
        serde_json::from_str(tfvars.split("====").next().expect("text")).expect("json");
    assert_eq!(tfvars["images"]["api"], "");
    assert_eq!(
        tfvars["images"]["search"],
        "docker.io/opensearchproject/opensearch:2.11.0"
    );
    assert_eq!(tfvars["images"]["exocom"], "originate/exocom:0.27.0");
    assert_eq!(tfvars["hosted_zone_id"], "Z0123456789ABCDEFGHIJ");
}

#[test]
fn backend_uses_the_state_bucket_and_native_locking() {
    let (_, text) = render("spacetweet", "production");
    assert!(text.contains(r#"bucket       = "123456789012-space-tweet-production-terraform""#));
    assert!(text.contains(r#"key          = "space-tweet/production/terraform.tfstate""#));
    assert!(text.contains("use_lockfile = true"));
    // without an account id the bucket is passed at init
    let (_, text) = render("minimal", "production");
    assert!(!text.contains("bucket       ="));
    assert!(text.contains("-backend-config=bucket="));
}

#[test]
fn an_emulator_endpoint_reaches_the_provider_and_the_backend_and_nothing_else() {
    let url = "http://127.0.0.1:4566";
    let main = rendered_file(
        Test::new().app("minimal").args(["--endpoint-url", url]),
        "main.tf",
    );
    let provider = &main[..main.find("\nlocals {").expect("locals")];
    assert!(provider.contains("s3_use_path_style = true"), "{provider}");
    // every AWS service the Terraform calls, so none of its calls reaches the real AWS
    for (service, _) in exo_deploy::render::ENDPOINT_SERVICE_PREFIXES {
        assert!(
            provider.contains(&format!("    {service:<16} = \"{url}\"")),
            "{service} missing:\n{provider}"
        );
    }
    let backend = rendered_file(
        Test::new().app("minimal").env("AWS_ENDPOINT_URL", url),
        "backend.tf",
    );
    assert!(backend.contains("use_path_style = true"), "{backend}");
    assert!(backend.contains(&format!("s3  = \"{url}\"")), "{backend}");
    assert!(backend.contains(&format!("sts = \"{url}\"")), "{backend}");
    // without one (an empty AWS_ENDPOINT_URL is none), nothing of it is rendered
    let plain = rendered_file(
        Test::new().app("minimal").env("AWS_ENDPOINT_URL", ""),
        "main.tf",
    );
    assert!(
        !plain.contains("endpoints {") && !plain.contains("path_style"),
        "{plain}"
    );
    // a url with credentials is refused: it would be written into the files
    Test::new()
        .app("minimal")
        .args([
            "render",
            "--endpoint-url",
            "http://key:secret@127.0.0.1:4566",
        ])
        .run()
        .code(2)
        .stderr_contains("the url holds credentials");
    // the variable is read as the flag is: a query refused, a trailing slash dropped
    Test::new()
        .app("minimal")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/?x=1")
        .args(["render"])
        .run()
        .code(2)
        .stderr_contains("has a query or a fragment");
    let slashed = rendered_file(
        Test::new()
            .app("minimal")
            .env("AWS_ENDPOINT_URL", &format!("{url}/")),
        "backend.tf",
    );
    assert!(slashed.contains(&format!("s3  = \"{url}\"")), "{slashed}");
}

#[test]
fn both_formats_of_the_same_app_render_the_same_infrastructure() {
    let (_, original) = render("spacetweet", "production");
    let (_, later) = render("spacetweet-exosphere", "production");
    let module_calls = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("module \""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(module_calls(&original), module_calls(&later));
    assert!(original.contains("original exo-deploy format"));
    assert!(later.contains("Exosphere format"));
}

/// The body of `module "NAME" { … }` in a rendered main.tf.
fn module_block<'a>(main_tf: &'a str, name: &str) -> &'a str {
    let start = main_tf
        .find(&format!("module \"{name}\" {{"))
        .unwrap_or_else(|| panic!("no module {name} in\n{main_tf}"));
    let end = main_tf[start..].find("\n}\n").expect("module end") + start;
    &main_tf[start..end]
}

/// `file` of what `exo-deploy render` writes for `test`'s app.
fn rendered_file(test: Test, file: &str) -> String {
    let out_dir = test.path().join("out");
    // the output keeps the test's folder alive until the file is read
    let out = test
        .args(["render", "--out", out_dir.to_str().expect("utf-8 path")])
        .run();
    out.code(0);
    std::fs::read_to_string(out_dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn rendered_main(fixture: &str) -> String {
    rendered_file(Test::new().app(fixture), "main.tf")
}

/// `terraform-modules/<module>/<file>`, as embedded in the binary.
fn module_source(module: &str, file: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("terraform-modules")
            .join(module)
            .join(file),
    )
    .unwrap_or_else(|e| panic!("{module}/{file}: {e}"))
}

#[test]
fn services_may_send_anything_outbound_unless_the_config_lists_rules() {
    // no `outbound`: the module's default (null) keeps its all-traffic egress rule
    let spacetweet = rendered_main("spacetweet");
    assert!(!module_block(&spacetweet, "service_web").contains("outbound"));
    let modules = module_source("ecs-service", "main.tf");
    let all = modules
        .split("resource \"aws_vpc_security_group_egress_rule\" \"all\" {")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("the all-traffic rule");
    assert!(
        all.contains("count = var.outbound == null ? 1 : 0"),
        "{all}"
    );
    assert!(all.contains("ip_protocol       = \"-1\""), "{all}");
    assert!(
        !all.contains("from_port"),
        "all traffic takes no ports in aws 6"
    );

    // a service's own list replaces the environment's; the others get the environment's
    let shop = rendered_main("https-autoscaling");
    let api = module_block(&shop, "service_api");
    assert!(api.contains(
        "{ protocol = \"tcp\", from_port = 6379, to_port = 6380, cidr = \"10.30.0.0/16\" },"
    ));
    assert!(!api.contains("10.20.0.0/16"), "{api}");
    let search = module_block(&shop, "service_search");
    for rule in [
        "{ protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\" },",
        "{ protocol = \"tcp\", from_port = 5432, to_port = 5432, cidr = \"10.20.0.0/16\" },",
        "{ protocol = \"udp\", from_port = 53, to_port = 53, cidr = \"0.0.0.0/0\" },",
    ] {
        assert!(search.contains(rule), "{rule} missing in\n{search}");
    }
    // ExoCom stays inside the VPC whatever the config says
    for main_tf in [&spacetweet, &shop] {
        assert!(module_block(main_tf, "exocom").contains("outbound = []"));
    }
}

#[test]
fn exocom_never_runs_two_brokers_and_load_balanced_services_get_a_grace_period() {
    let shop = rendered_main("https-autoscaling");
    let exocom = module_block(&shop, "exocom");
    assert!(
        exocom.contains("minimum_healthy_percent = 0")
            && exocom.contains("maximum_percent         = 100"),
        "{exocom}"
    );
    assert!(module_block(&shop, "service_api").contains("health_check_grace_period = 120"));
    let spacetweet = rendered_main("spacetweet");
    assert!(module_block(&spacetweet, "service_web").contains("health_check_grace_period = 60"));
    assert!(!module_block(&spacetweet, "service_users").contains("health_check_grace_period"));
    let modules = module_source("ecs-service", "main.tf");
    for line in [
        "deployment_minimum_healthy_percent = var.deployment.minimum_healthy_percent",
        "deployment_maximum_percent         = var.deployment.maximum_percent",
        "health_check_grace_period_seconds  = var.public ? var.health_check_grace_period : null",
        // tasks cannot read the instance metadata: the region comes in their environment
        "AWS_REGION         = data.aws_region.current.id",
        "environment  = [for k in sort(keys(local.environment))",
    ] {
        assert!(
            modules.contains(line),
            "{line} missing in the ecs-service module"
        );
    }
    // the capacity check counts deployments at the module's default maximum
    assert!(
        module_source("ecs-service", "variables.tf").contains(&format!(
            "maximum_percent         = {}",
            exo_deploy::model::DEPLOY_MAX_PERCENT
        )),
        "the ecs-service module's default maximum_percent is DEPLOY_MAX_PERCENT"
    );
}

#[test]
fn graviton_clusters_get_the_arm64_ami_and_their_tasks_the_arm64_runtime_platform() {
    let test = Test::new().app("spacetweet").edit("application.yml", |t| {
        t.replace(
            "private-cluster-size: t3.medium",
            "private-cluster-size: t4g.medium",
        )
    });
    let main_tf = rendered_file(test, "main.tf");
    assert!(module_block(&main_tf, "public_cluster").contains("architecture        = \"x86_64\""));
    assert!(module_block(&main_tf, "private_cluster").contains("architecture        = \"arm64\""));
    for (module, arch) in [
        ("service_web", "x86_64"),
        ("service_users", "arm64"),
        ("service_notifier", "arm64"),
        ("exocom", "arm64"),
    ] {
        assert!(
            module_block(&main_tf, module)
                .contains(&format!("architecture           = \"{arch}\"")),
            "{module} runs on {arch}"
        );
    }
    // the modules turn it into the AMI and the task's runtime platform; the moto translation
    // drops runtime_platform (aws 3.39 lacks it), so it is asserted here
    let cluster = module_source("ecs-cluster", "main.tf");
    assert!(cluster.contains(
        "var.architecture == \"arm64\" ? \"/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id\""
    ));
    let service = module_source("ecs-service", "main.tf");
    assert!(service.contains(
        "cpu_architecture        = var.architecture == \"arm64\" ? \"ARM64\" : \"X86_64\""
    ));
    assert!(service.contains("operating_system_family = \"LINUX\""));
}

#[test]
fn an_instance_refresh_can_finish_and_drains_tasks_first() {
    // aws 3.39 lacks these arguments, so the moto copy drops them: asserted here
    let cluster = module_source("ecs-cluster", "main.tf");
    for line in [
        "scale_in_protected_instances = \"Refresh\"",
        "min_healthy_percentage       = 100",
        "max_healthy_percentage       = 200",
        "managed_draining               = \"ENABLED\"",
        "protect_from_scale_in = true",
    ] {
        assert!(
            cluster.contains(line),
            "{line} missing in the ecs-cluster module"
        );
    }
}

#[test]
fn secrets_by_arn_with_a_json_key_and_under_a_customer_key_can_be_read_by_the_task() {
    let shop = rendered_main("https-autoscaling");
    let api = module_block(&shop, "service_api");
    assert!(api.contains(
        "= { store = \"secretsmanager\", name = \"arn:aws:secretsmanager:eu-central-1:210987654321:secret:shop/db-Xy12Ab:username::\" }"
    ), "{api}");
    assert!(api.contains(
        "secrets_kms_key_arn = \"arn:aws:kms:eu-central-1:210987654321:key/7f3c2a1e-5b4d-4e6f-8a9b-0c1d2e3f4a5b\""
    ), "{api}");
    // a service without secrets is granted none (search's KMS grant is for its pull login)
    let search = module_block(&shop, "service_search");
    assert!(!search.contains("secrets = {"), "{search}");
    let service = module_source("ecs-service", "main.tf");
    for line in [
        // IAM gets the secret's ARN without the JSON key, and with or without its suffix
        "[join(\":\", slice(split(\":\", s.name), 0, 7)), \"${join(\":\", slice(split(\":\", s.name), 0, 7))}-??????\"] :",
        "Action    = [\"kms:Decrypt\"]",
        "Condition = { StringEquals = { \"kms:ViaService\" = [\"secretsmanager.${data.aws_region.current.id}.amazonaws.com\", \"ssm.${data.aws_region.current.id}.amazonaws.com\"] } }",
    ] {
        assert!(
            service.contains(line),
            "{line} missing in the ecs-service module"
        );
    }
}

#[test]
fn exocom_can_run_from_a_mirror_pinned_by_digest() {
    let mirror = format!(
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/mirror/exocom@sha256:{}",
        "ab".repeat(32)
    );
    let test = Test::new().app("spacetweet").edit("application.yml", |t| {
        t.replace(
            "        region: us-west-2\n",
            &format!("        region: us-west-2\n        exocom-image: {mirror}\n"),
        )
    });
    let tfvars: serde_json::Value =
        serde_json::from_str(&rendered_file(test, "terraform.tfvars.json")).expect("json");
    assert_eq!(tfvars["images"]["exocom"], mirror.as_str());
    // without it, the bus version's image on Docker Hub
    let (_, text) = render("spacetweet", "production");
    assert!(
        text.contains("\"exocom\": \"originate/exocom:0.27.0\""),
        "{text}"
    );
}

#[test]
fn images_from_a_private_registry_are_pulled_with_credentials_from_secrets_manager() {
    // https-autoscaling: `registry-credentials: {docker.io: …}`; the search image and ExoCom
    // come from Docker Hub, api is pushed to the account's ECR
    let shop = rendered_main("https-autoscaling");
    let login = "repository_credentials = \"arn:aws:secretsmanager:eu-central-1:210987654321:secret:dockerhub-pull-Qx7Yz1\"";
    for module in ["service_search", "exocom"] {
        let block = module_block(&shop, module);
        assert!(block.contains(login), "{module}: {block}");
        // a login under the customer-managed key: the execution role may decrypt it
        assert!(block.contains("secrets_kms_key_arn"), "{module}: {block}");
    }
    assert!(
        !module_block(&shop, "service_api").contains("repository_credentials"),
        "ECR images are pulled with the execution role"
    );
    let service = module_source("ecs-service", "main.tf");
    for line in [
        "repositoryCredentials = { credentialsParameter = var.repository_credentials }",
        "readable_secrets   = concat(local.secrets_arns, local.pull_secret_arns, local.linked_secret_arns)",
        // an ARN with or without the random suffix Secrets Manager appends
        "[join(\":\", slice(split(\":\", var.repository_credentials), 0, 7)), \"${join(\":\", slice(split(\":\", var.repository_credentials), 0, 7))}-??????\"] :",
        "count = length(var.secrets) > 0 || length(var.linked_secrets) > 0 || var.repository_credentials != null ? 1 : 0",
        "length(local.readable_secrets) > 0 ? [{ Effect = \"Allow\", Action = [\"secretsmanager:GetSecretValue\"], Resource = local.readable_secrets }] : [],",
    ] {
        assert!(
            service.contains(line),
            "{line} missing in the ecs-service module"
        );
    }
    // without the setting, no service has pull credentials
    assert!(!rendered_main("spacetweet").contains("repository_credentials"));
}

#[test]
fn the_costly_extras_are_switchable_per_environment_with_safe_defaults() {
    // production keeps the defaults: flow logs, Container Insights, one-minute metrics, no
    // interface endpoints
    let production = rendered_file(
        Test::new()
            .app("spacetweet-exosphere")
            .args(["-e", "production"]),
        "main.tf",
    );
    let network = module_block(&production, "network");
    assert!(
        network.contains("flow_logs               = true"),
        "{network}"
    );
    assert!(
        network.contains("vpc_endpoints           = false"),
        "{network}"
    );
    let cluster = module_block(&production, "private_cluster");
    assert!(
        cluster.contains("container_insights  = \"enabled\""),
        "{cluster}"
    );
    assert!(cluster.contains("detailed_monitoring = true"), "{cluster}");
    // staging turns them off
    let staging = rendered_file(
        Test::new()
            .app("spacetweet-exosphere")
            .args(["-e", "staging"]),
        "main.tf",
    );
    assert!(module_block(&staging, "network").contains("flow_logs               = false"));
    for module in ["public_cluster", "private_cluster"] {
        let cluster = module_block(&staging, module);
        assert!(
            cluster.contains("container_insights  = \"disabled\""),
            "{cluster}"
        );
        assert!(cluster.contains("detailed_monitoring = false"), "{cluster}");
    }
    // https-autoscaling asks for the interface endpoints and enhanced insights
    let shop = rendered_main("https-autoscaling");
    assert!(module_block(&shop, "network").contains("vpc_endpoints           = true"));
    // and ECS Exec: every service, ExoCom included, and Session Manager's endpoint, which its
    // restricted outbound traffic needs; off by default
    assert!(module_block(&shop, "network").contains("ssm_messages_endpoint   = true"));
    for service in ["service_api", "service_search", "exocom"] {
        assert!(
            module_block(&shop, service).contains("enable_execute_command = true"),
            "{service}"
        );
    }
    let hello = rendered_main("minimal");
    assert!(!hello.contains("enable_execute_command") && !hello.contains("ssm_messages_endpoint"));
    assert!(module_block(&shop, "public_cluster").contains("container_insights  = \"enhanced\""));
    let network = module_source("network", "main.tf");
    for line in [
        // the S3 gateway endpoint costs nothing and is always there
        "resource \"aws_vpc_endpoint\" \"s3\" {",
        "route_table_ids   = aws_route_table.private[*].id",
        "interface_endpoints = var.vpc_endpoints ? toset(concat([\"ecr.api\", \"ecr.dkr\", \"logs\"], var.ssm_messages_endpoint ? [\"ssmmessages\"] : [])) : toset([])",
        "private_dns_enabled = true",
        // flow logs already deployed stay in place when they became switchable; terraform
        // 1.0 on moto lacks `moved`, so the moto copy drops these blocks: asserted here
        "from = aws_flow_log.this\n  to   = aws_flow_log.this[0]",
        "from = aws_cloudwatch_log_group.flow_logs\n  to   = aws_cloudwatch_log_group.flow_logs[0]",
    ] {
        assert!(
            network.contains(line),
            "{line} missing in the network module"
        );
    }
}

#[test]
fn a_database_dependency_is_an_rds_instance_with_a_managed_password_its_services_alone_reach() {
    let production = rendered_file(
        Test::new().app("bookshop").args(["-e", "production"]),
        "main.tf",
    );
    let db = module_block(&production, "database_postgres");
    for line in [
        "engine              = \"postgres\"",
        "engine_version      = \"16\"",
        "instance_class      = \"db.t3.micro\"",
        "db_name             = \"books\"",
        "username            = \"bookshop\"",
        "port                = 5432",
        // production protects it, and keeps a final snapshot
        "deletion_protection = true",
        "final_snapshot      = true",
        "\"api\" = module.service_api.security_group_id",
    ] {
        assert!(db.contains(line), "{line} missing in\n{db}");
    }
    let api = module_block(&production, "service_api");
    for line in [
        "\"POSTGRES_HOST\"     = module.database_postgres.address",
        "\"POSTGRES_PORT\"     = tostring(module.database_postgres.port)",
        "\"POSTGRES_DB_NAME\"  = \"books\"",
        "\"POSTGRES_USERNAME\" = \"bookshop\"",
        // `password-secret-name` names the password's variable, read from RDS's secret
        "\"DB_PASSWORD\" = \"${module.database_postgres.password_secret_arn}:password::\"",
    ] {
        assert!(api.contains(line), "{line} missing in\n{api}");
    }
    // staging does not protect it
    let staging = rendered_file(
        Test::new().app("bookshop").args(["-e", "staging"]),
        "main.tf",
    );
    let staging_db = module_block(&staging, "database_postgres");
    assert!(
        staging_db.contains("deletion_protection = false"),
        "{staging_db}"
    );
    assert!(
        staging_db.contains("final_snapshot      = false"),
        "{staging_db}"
    );
    // aws 3.39 lacks the managed password: the moto copy substitutes one, so it is asserted here
    let module = module_source("database", "main.tf");
    for line in [
        "manage_master_user_password = true",
        "storage_encrypted                   = true",
        "publicly_accessible    = false",
        "skip_final_snapshot       = !var.final_snapshot",
        "final_snapshot_identifier = var.final_snapshot ? \"${var.name}-final\" : null",
        "referenced_security_group_id = each.value",
    ] {
        assert!(
            module.contains(line),
            "{line} missing in the database module"
        );
    }
    assert!(
        !module
            .lines()
            .any(|l| l.trim_start().starts_with("password ") || l.contains("master_password")),
        "no password is ever written"
    );
    let outputs = module_source("database", "outputs.tf");
    assert!(outputs.contains("aws_db_instance.this.master_user_secret[0].secret_arn"));
    // the execution role may read the managed secret (the ARN without its JSON key)
    let service = module_source("ecs-service", "main.tf");
    assert!(service.contains(
        "linked_secret_arns = [for k, v in var.linked_secrets : join(\":\", slice(split(\":\", v), 0, 7))]"
    ));
}
