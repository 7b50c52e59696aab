//! Images exo-deploy does not build (prebuilt services, ExoCom) against real registries on
//! loopback: pinned by digest, asked the way tasks will pull them (preflight's refusal of the
//! others is in `preflight.rs`).

use exo_deploy::push::PushError;
use exo_deploy::push::credentials::Creds;
use exo_deploy::push::resolve::{Access, pin};

use crate::moto::block_on;
use crate::registry::{Registry, require_docker};

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    block_on(f)
}

#[test]
fn an_image_is_pinned_to_the_digest_its_registry_serves_asked_as_tasks_pull_it() {
    require_docker();
    let open = Registry::start();
    let digest = open.push_scratch("mirror/exocom:0.27.0", None);
    let image = format!("{}/mirror/exocom:0.27.0", open.host);
    let pinned = run(pin("exocom", &image, Access::Anonymous, None)).expect("pinned");
    assert_eq!(pinned.reference, format!("{image}@{digest}"));
    assert_eq!(pinned.note, None);

    // a tag the registry does not have
    let missing = format!("{}/mirror/exocom:9.9.9", open.host);
    let err = run(pin("exocom", &missing, Access::Anonymous, None)).expect_err("no such tag");
    assert!(matches!(err, PushError::ImageNotFound { .. }), "{err:?}");

    // a registry that wants a login: refused anonymously, with the fix
    let closed = Registry::start_with_auth("puller", "s3cret");
    let digest = closed.push_scratch("acme/search:2.11.0", Some(("puller", "s3cret")));
    let image = format!("{}/acme/search:2.11.0", closed.host);
    let err = run(pin("search", &image, Access::Anonymous, None)).expect_err("anonymous");
    assert!(matches!(err, PushError::NotAnonymous { .. }), "{err:?}");
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(
        help.contains(&format!(
            "registry-credentials: {{{}: <the secret's ARN>}}",
            closed.host
        )),
        "{help}"
    );

    // with pull credentials configured: asked with the local login, pinned
    let login = Creds {
        username: "puller".into(),
        password: "s3cret".into(),
    };
    let pinned = run(pin("search", &image, Access::Credentials, Some(login))).expect("pinned");
    assert_eq!(pinned.reference, format!("{image}@{digest}"));
    // without a local login the tag is deployed as written, and the run says why
    let unpinned = run(pin("search", &image, Access::Credentials, None)).expect("unpinned");
    assert_eq!(unpinned.reference, image);
    assert!(
        unpinned
            .note
            .as_deref()
            .is_some_and(|n| n.contains("`docker login` has none here")),
        "{unpinned:?}"
    );

    // a registry that does not answer
    let mut gone = Registry::start();
    let image = format!("{}/mirror/exocom:0.27.0", gone.host);
    gone.stop();
    let err = run(pin("exocom", &image, Access::Anonymous, None)).expect_err("unreachable");
    assert!(matches!(err, PushError::ImageUnreachable { .. }), "{err:?}");
}
