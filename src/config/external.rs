//! Services that live only as an image (`docker-image` without `location`, the Exosphere
//! format): their `service.yml` is inside the image, in its working directory, as Exosphere
//! read it. The config stage only asks for the text; how it is read (the Docker Engine, a
//! cache) is the caller's ([`ExternalServices`]), so loading stays free of I/O beyond files.

/// Reads the `service.yml` of images.
pub trait ExternalServices {
    /// The `service.yml` in `image` (of service `role`).
    fn service_file(&self, role: &str, image: &str) -> Result<External, Unreadable>;
}

/// A `service.yml` read out of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    pub text: String,
    /// The image's digest, when known.
    pub digest: Option<String>,
    /// Read from the cache of an earlier run rather than from the image.
    pub from_cache: bool,
}

/// Why an image's `service.yml` could not be read: said at the `docker-image` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub message: String,
    pub help: String,
    /// The command can go on without the service (a teardown, `status`): the reader said so
    /// where it reports, and no error is raised.
    pub skipped: bool,
}

/// For callers that read no images (tests of the config alone, fixtures without external
/// services): every image is unreadable.
#[derive(Debug, Clone, Copy)]
pub struct NoImages;

impl ExternalServices for NoImages {
    fn service_file(&self, _: &str, image: &str) -> Result<External, Unreadable> {
        Err(Unreadable {
            message: format!("the service.yml inside `{image}` was not read"),
            help: "exo-deploy reads it through the Docker Engine when it runs".into(),
            skipped: false,
        })
    }
}
