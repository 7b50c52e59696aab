//! The Terraform image for tests: no image can be pulled here, so one is built `FROM scratch`
//! with the machine's terraform >= 1.10 (the version exo-deploy requires; see
//! `terraform_moto::terraform`) and Debian's static busybox as `/bin/sh` and `sleep` for
//! local-exec. The tests' configurations use Terraform's built-in `terraform_data`, so the
//! image needs no provider. Built once per test run.

use std::process::Command;
use std::sync::OnceLock;

use crate::terraform_moto;

/// The image's name, tagged with the terraform version it holds.
pub fn name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("exo-deploy-test-terraform:{}", terraform_moto::version()))
}

/// Builds the image once.
pub fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        crate::registry::require_docker();
        let ctx = tempfile::TempDir::new().expect("context");
        let d = ctx.path();
        std::fs::copy(terraform_moto::terraform(), d.join("terraform")).expect("copy terraform");
        assert!(
            std::path::Path::new("/bin/busybox").is_file(),
            "/bin/busybox missing: apt-get install busybox-static (.ci/run does)"
        );
        std::fs::copy("/bin/busybox", d.join("busybox")).expect("copy busybox");
        std::fs::write(
            d.join("Dockerfile"),
            "FROM scratch\nCOPY terraform /bin/terraform\nCOPY busybox /bin/sh\nCOPY busybox /bin/sleep\nWORKDIR /tmp\nENV PATH=/bin\nENTRYPOINT [\"/bin/terraform\"]\n",
        )
        .expect("Dockerfile");
        let out = Command::new("docker")
            .args(["build", "-q", "-t", name()])
            .arg(d)
            .output()
            .expect("docker build");
        assert!(
            out.status.success(),
            "building the test image failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    name()
}
