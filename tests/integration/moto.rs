//! A real AWS API stand-in: moto's server on a free loopback port, one per test so tests run in
//! parallel, stopped when dropped. A missing `moto_server` fails the test, saying how to install it.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

pub struct Moto {
    pub url: String,
    pub port: u16,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// A server with moto's own settings, e.g. `MOTO_ACCOUNT_ID` or
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES`.
    pub fn start_with(settings: &[(&str, &str)]) -> Moto {
        Self::launch("moto_server", settings)
    }

    /// moto's server through `shared/tools/moto-tls`: bucket policies are evaluated as AWS does
    /// for HTTPS requests, so the hardened state bucket's TLS-only Deny does not refuse
    /// Terraform's and the SDK's plain-HTTP requests (moto applies every Deny whatever its
    /// condition). It must run with the Python that has moto.
    pub fn start_tls(settings: &[(&str, &str)]) -> Moto {
        let tool = crate::harness::shared_tool("moto-tls/moto-server-tls");
        Self::launch_with("python3", &[tool.to_str().expect("utf-8 path")], settings)
    }

    fn launch(program: &str, settings: &[(&str, &str)]) -> Moto {
        Self::launch_with(program, &[], settings)
    }

    fn launch_with(program: &str, first: &[&str], settings: &[(&str, &str)]) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(program)
            .args(first)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e}): install moto's server with `pip install 'moto[server]'` (.ci/run does)"));
        let moto = Moto {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// SDK configuration for reading back what exo-deploy did.
    pub async fn config(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .endpoint_url(&self.url)
            .load()
            .await
    }

    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = self.config(region).await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        )
    }

    pub async fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.config("us-east-1").await)
    }

    /// Adds `name` `kind` `value` to the hosted zone `zone`, as someone else than exo-deploy
    /// would.
    pub async fn add_record(
        &self,
        zone: &str,
        name: &str,
        kind: aws_sdk_route53::types::RrType,
        value: &str,
    ) {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
        };
        let set = ResourceRecordSet::builder()
            .name(name)
            .r#type(kind)
            .ttl(300)
            .resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .expect("record"),
            )
            .build()
            .expect("record set");
        let change = Change::builder()
            .action(ChangeAction::Create)
            .resource_record_set(set)
            .build()
            .expect("change");
        self.route53()
            .await
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(change)
                    .build()
                    .expect("batch"),
            )
            .send()
            .await
            .expect("add a record by hand");
    }

    pub async fn ecr(&self, region: &str) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.config(region).await)
    }

    pub async fn ecs(&self, region: &str) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.config(region).await)
    }

    /// One call of a JSON-protocol AWS API (ACM, Cloud Map, ...) straight to moto, for the
    /// services whose SDK crates this suite does without: moto checks no signature, and takes
    /// the region from the credential scope.
    pub fn json_call(
        &self,
        service: &str,
        region: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let body = body.to_string();
        let answer = self.raw(
            "POST",
            "/",
            service,
            region,
            &[
                ("X-Amz-Target", target),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            &body,
        );
        let (status, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "{target} failed: {answer}"
        );
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {body}"))
    }

    /// One call of a query-protocol AWS API (Elastic Load Balancing) straight to moto; the XML
    /// answer as text.
    pub fn query_call(&self, service: &str, region: &str, query: &str) -> String {
        let answer = self.raw("GET", &format!("/?{query}"), service, region, &[], "");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{query} failed: {answer}"
        );
        answer
    }

    /// moto advances a task's status on every DescribeTasks (RUNNING, DEACTIVATING, STOPPING,
    /// …); ECS keeps a healthy task RUNNING. This holds moto's tasks RUNNING for 1000 reads.
    pub fn hold_tasks_running(&self) {
        let body = r#"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000}}"#;
        let answer = self.raw(
            "POST",
            "/moto-api/state-manager/set-transition",
            "ecs",
            "us-east-1",
            &[("Content-Type", "application/json")],
            body,
        );
        assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
    }

    /// Starts one EC2 instance of `instance_type` from image `ami` and gives its id (EC2 through
    /// its query API: this suite builds no EC2 SDK).
    pub fn ec2_instance(&self, region: &str, instance_type: &str, ami: &str) -> String {
        let answer = self.query_call(
            "ec2",
            region,
            &format!("Action=RunInstances&Version=2016-11-15&ImageId={ami}&MinCount=1&MaxCount=1&InstanceType={instance_type}"),
        );
        xml_value(&answer, "instanceId")
    }

    /// The id of the default VPC moto gives a region.
    pub fn default_vpc(&self, region: &str) -> String {
        let answer = self.query_call(
            "ec2",
            region,
            "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=isDefault&Filter.1.Value.1=true",
        );
        xml_value(&answer, "vpcId")
    }

    fn raw(
        &self,
        method: &str,
        path: &str,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> String {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    }

    /// Makes a bucket as another AWS account would (moto takes the account from a header).
    pub fn create_bucket_in_other_account(&self, bucket: &str, account: &str) {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-moto-account-id: {account}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "moto did not create the bucket: {answer}"
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs async test code.
/// The text of the first `<tag>` element of an XML answer.
fn xml_value(answer: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    answer
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{tag}>")))
        .map(|(value, _)| value.trim().to_string())
        .unwrap_or_else(|| panic!("no <{tag}> in {answer}"))
}

pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Registers the task definition `family` with one container, `name`, running `image` (256 CPU
/// units, 256 MiB), as a deploy leaves one in ECS.
pub async fn register_task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    name: &str,
    image: &str,
) {
    ecs.register_task_definition()
        .family(family)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name(name)
                .image(image)
                .cpu(256)
                .memory(256)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
}

/// The one EC2 call exo-deploy signs itself (DescribeInstanceTypes, for an instance type newer
/// than its table), against moto's EC2: a type moto knows, and one it does not.
#[test]
fn ec2_describes_an_instance_type_through_the_signed_query_call() {
    let moto = Moto::start();
    block_on(async {
        let conf = moto.config("us-east-1").await;
        let it = exo_deploy::adapters::ec2::describe_instance_type(&conf, "us-east-1", "m8g.large")
            .await
            .expect("EC2 answers")
            .expect("a type EC2 knows");
        assert_eq!(
            (it.interfaces, it.vcpus, it.memory_mib, it.arch),
            (3, 2, 8192, exo_deploy::model::instance_types::Arch::Arm64),
            "as AWS describes an m8g.large"
        );
        let none =
            exo_deploy::adapters::ec2::describe_instance_type(&conf, "us-east-1", "z99.large")
                .await
                .expect("EC2 answers");
        assert_eq!(none, None, "no such type");
    });
}
