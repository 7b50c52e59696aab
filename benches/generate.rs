//! Writes a generated app for benchmarks: `n` services of the later format, a third each public
//! (with a url and autoscaling), private and worker, each with a service.yml, a Dockerfile,
//! an environment variable, a secret and ExoCom messages.

use std::path::Path;

pub fn generate_app(dir: &Path, n: usize) {
    let mut app = String::from(
        // clusters that hold them all deploying at once: 334 public services autoscaled to 4
        // tasks and 666 private and worker ones, at 7 awsvpc tasks per m5.8xlarge
        "name: bench\nremote:\n  environments:\n    production:\n      url: bench.example.com\n      region: us-east-1\n      account-id: '123456789012'\n      public-cluster-size: m5.8xlarge\n      public-cluster-instances: {min: 1, max: 400}\n      private-cluster-size: m5.8xlarge\n      private-cluster-instances: {min: 1, max: 200}\nservices:\n",
    );
    for i in 0..n {
        let role = format!("svc-{i:04}");
        app.push_str(&format!("  {role}:\n    location: ./{role}\n"));
        let svc = dir.join(&role);
        std::fs::create_dir_all(&svc).expect("mkdir");
        std::fs::write(svc.join("Dockerfile"), "FROM scratch\nCOPY hello.txt /\n").expect("write");
        let kind = ["public", "private", "worker"][i % 3];
        let public = if kind == "public" {
            format!(
                "  autoscaling: {{min: 1, max: 4}}\n  environments:\n    production:\n      url: {role}.bench.example.com\n"
            )
        } else {
            String::new()
        };
        let yml = format!(
            "type: {kind}\nproduction:\n  port: 8080\n  health-check: /health\nremote:\n  cpu: 256\n  memory: 512\n{public}  environment-variables:\n    INDEX: '{i}'\n  secrets:\n    - DB_PASSWORD\ndependency-data:\n  exocom:\n    sends: [{role}.done]\n    receives: [{role}.start]\n"
        );
        std::fs::write(svc.join("service.yml"), yml).expect("write");
    }
    std::fs::write(dir.join("application.yml"), app).expect("write");
}
