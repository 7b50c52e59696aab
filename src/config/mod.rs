//! Stage 1 of the pipeline: read `application.yml` and every service's `service.yml` as
//! written, in either Exosphere generation, into raw types that mirror the YAML. Nothing is
//! defaulted or cross-checked here; that is the model's job. Every problem found while reading
//! (unreadable files, YAML errors, misspelt keys, missing service folders) is collected so one
//! run reports them all.

pub mod common;
pub mod diagnostic;
pub mod exo_deploy;
pub mod exosphere;
pub mod external;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_saphyr::Spanned;

pub use diagnostic::{ConfigDiagnostic, ConfigErrors, Diagnostics, Place, SourceFile, closest};
pub use external::ExternalServices;

/// The file every app has at its root.
pub const APP_FILE: &str = "application.yml";
/// The file in each service's folder.
pub const SERVICE_FILE: &str = "service.yml";

/// An app as written on disk, in the format it was written in.
#[derive(Debug)]
pub enum RawApp {
    /// The original exo-deploy format.
    ExoDeploy(Loaded<exo_deploy::AppFile, exo_deploy::ServiceFile>),
    /// The Exosphere format.
    Exosphere(Loaded<exosphere::AppFile, exosphere::ServiceFile>),
}

/// `application.yml` and the service files it points at.
#[derive(Debug)]
pub struct Loaded<A, S> {
    /// The app directory, as given.
    pub dir: PathBuf,
    /// The parsed application.yml.
    pub app: A,
    /// Its text, for diagnostics.
    pub app_file: SourceFile,
    /// Each service with a `location`, by role: its folder and parsed service.yml.
    pub services: BTreeMap<String, LoadedService<S>>,
    /// Problems with single services (a missing folder, a service.yml that does not parse):
    /// reported together with whatever else resolution finds.
    pub problems: Vec<ConfigDiagnostic>,
}

/// One service's folder and its parsed service.yml.
#[derive(Debug)]
pub struct LoadedService<S> {
    /// The service's folder; `None` for a service that is only an image.
    pub dir: Option<PathBuf>,
    /// The parsed service.yml.
    pub service: S,
    /// Its text, for diagnostics.
    pub file: SourceFile,
}

/// Reads the app in `dir`: application.yml, then each service's service.yml (no image is
/// read: see [`load_with`]).
pub fn load(dir: &Path) -> Result<RawApp, ConfigErrors> {
    load_with(dir, &external::NoImages)
}

/// Reads the app in `dir`, the service.yml of services that are only an image through
/// `images`.
pub fn load_with(dir: &Path, images: &dyn ExternalServices) -> Result<RawApp, ConfigErrors> {
    let app_file = read_source(dir, Path::new(APP_FILE))?;
    let keys: BTreeMap<String, IgnoredAny> =
        serde_saphyr::from_str(&app_file.text).map_err(|e| yaml_error(&app_file, &e))?;
    if keys.contains_key("environments") {
        let app: exo_deploy::AppFile = parse(&app_file)?;
        let refs = app.services.value.public.0.iter();
        let refs = refs
            .chain(&app.services.value.private.0)
            .chain(&app.services.value.worker.0);
        let locations = refs.filter_map(|(role, r)| r.location.as_ref().map(|l| (role, l)));
        let (services, problems) = load_services(dir, &app_file, locations);
        Ok(RawApp::ExoDeploy(Loaded {
            dir: dir.to_path_buf(),
            app,
            app_file,
            services,
            problems,
        }))
    } else if keys.contains_key("remote") {
        let app: exosphere::AppFile = parse(&app_file)?;
        let locations = app
            .services
            .value
            .0
            .iter()
            .filter_map(|(role, r)| r.location.as_ref().map(|l| (role, l)));
        let (mut services, mut problems) = load_services(dir, &app_file, locations);
        let external = app.services.value.0.iter().filter_map(|(role, r)| {
            match (&r.location, &r.docker_image) {
                (None, Some(image)) => Some((role, image)),
                _ => None,
            }
        });
        for (role, image) in external {
            let place = Place::at(&app_file, &image.referenced);
            match images.service_file(&role.value, &image.value) {
                Ok(external) => {
                    // the image's name stands where a file's path would
                    let file = SourceFile::new(
                        PathBuf::from(&image.value),
                        image.value.clone(),
                        external.text,
                    );
                    match parse::<exosphere::ServiceFile>(&file) {
                        Ok(service) => {
                            services.insert(
                                role.value.clone(),
                                LoadedService {
                                    dir: None,
                                    service,
                                    file,
                                },
                            );
                        }
                        Err(e) => problems.extend(e.diagnostics),
                    }
                }
                Err(why) if why.skipped => {}
                Err(why) => problems
                    .push(ConfigDiagnostic::at(place, why.message, "this image").help(why.help)),
            }
        }
        Ok(RawApp::Exosphere(Loaded {
            dir: dir.to_path_buf(),
            app,
            app_file,
            services,
            problems,
        }))
    } else {
        Err(ConfigDiagnostic::at(
            Place::file(&app_file),
            "found neither `environments` (the original exo-deploy format) nor `remote` (the Exosphere format)",
            "",
        )
        .help("add the deployment settings: see docs/config.md for both formats side by side")
        .into())
    }
}

fn load_services<'a, S: DeserializeOwned>(
    dir: &Path,
    app_file: &SourceFile,
    locations: impl Iterator<Item = (&'a Spanned<String>, &'a Spanned<String>)>,
) -> (BTreeMap<String, LoadedService<S>>, Vec<ConfigDiagnostic>) {
    let mut diags = Vec::new();
    let mut services = BTreeMap::new();
    for (role, location) in locations {
        let service_dir = clean_join(dir, &location.value);
        let place = Place::at(app_file, &location.referenced);
        if !service_dir.is_dir() {
            diags.push(
                ConfigDiagnostic::at(
                    place,
                    format!(
                        "the folder `{}` of service `{}` does not exist",
                        location.value, role.value
                    ),
                    "no such folder",
                )
                .help("`location` is a path relative to the folder of application.yml"),
            );
            continue;
        }
        let rel = Path::new(&location.value).join(SERVICE_FILE);
        let file = match read_source(dir, &rel) {
            Ok(f) => f,
            Err(_) => {
                diags.push(
                    ConfigDiagnostic::at(
                        place,
                        format!(
                            "service `{}` has no readable {SERVICE_FILE} in `{}`",
                            role.value, location.value
                        ),
                        "this folder",
                    )
                    .help(format!(
                        "create {} describing the service (see docs/config.md)",
                        rel.display()
                    )),
                );
                continue;
            }
        };
        match parse::<S>(&file) {
            Ok(service) => {
                services.insert(
                    role.value.clone(),
                    LoadedService {
                        dir: Some(service_dir),
                        service,
                        file,
                    },
                );
            }
            Err(e) => diags.extend(e.diagnostics),
        }
    }
    (services, diags)
}

/// `dir/rel` without `.` components, so paths read well in messages and plans.
fn clean_join(dir: &Path, rel: &str) -> PathBuf {
    let mut out = dir.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn read_source(dir: &Path, rel: &Path) -> Result<SourceFile, ConfigErrors> {
    let path = dir.join(rel);
    let name = rel.to_string_lossy().trim_start_matches("./").to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(SourceFile::new(path, name, text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel == Path::new(APP_FILE) => {
            Err(ConfigDiagnostic::for_path(path, "no application.yml here")
                .help("run exo-deploy in the app's folder, or pass it with `-C DIR`")
                .into())
        }
        Err(e) => {
            Err(ConfigDiagnostic::for_path(path, format!("cannot read this file: {e}")).into())
        }
    }
}

/// Parses one file, turning serde-saphyr's error into a diagnostic with a "did you mean" hint.
pub fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, ConfigErrors> {
    serde_saphyr::from_str(&file.text).map_err(|e| yaml_error(file, &e).into())
}

fn yaml_error(file: &SourceFile, err: &serde_saphyr::Error) -> ConfigDiagnostic {
    let text = err.without_snippet().to_string();
    let message = match text.rfind(" at line ") {
        Some(i) if text[i..].contains(", column ") => text[..i].to_string(),
        _ => text,
    };
    let place = match err.location() {
        Some(loc) if loc.line() > 0 => Place::at(file, &loc),
        _ => Place::file(file),
    };
    let (message, help) = explain_unknown_key(&message);
    let d = ConfigDiagnostic::at(place, message, "here");
    match help {
        Some(h) => d.help(h),
        None => d,
    }
}

/// Serde says "unknown field `x`, expected one of a, b": say it in our words, with the
/// closest key as a suggestion.
fn explain_unknown_key(message: &str) -> (String, Option<String>) {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return (message.to_string(), None);
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return (message.to_string(), None);
    };
    let expected = expected.trim_start_matches(", ");
    let candidates: Vec<&str> = if let Some(list) = expected.strip_prefix("expected one of ") {
        list.split(", ").map(|s| s.trim_matches('`')).collect()
    } else if let Some(one) = expected.strip_prefix("expected ") {
        vec![one.trim_matches('`')]
    } else {
        Vec::new()
    };
    let help = match closest(key, candidates.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None if candidates.is_empty() => "remove it: no keys are allowed here".to_string(),
        None => format!("the keys allowed here are: {}", candidates.join(", ")),
    };
    (format!("unknown key `{key}`"), Some(help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_gets_a_suggestion() {
        let (msg, help) =
            explain_unknown_key("unknown field `locaton`, expected one of location, docker-image");
        assert_eq!(msg, "unknown key `locaton`");
        assert_eq!(help.as_deref(), Some("did you mean `location`?"));
    }

    #[test]
    fn unknown_key_far_from_all_lists_them() {
        let (_, help) =
            explain_unknown_key("unknown field `zzz`, expected one of location, docker-image");
        assert_eq!(
            help.as_deref(),
            Some("the keys allowed here are: location, docker-image")
        );
    }

    #[test]
    fn other_messages_pass_through() {
        assert_eq!(explain_unknown_key("invalid u16").0, "invalid u16");
    }
}
