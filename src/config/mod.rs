//! Stage 1 of the pipeline: read `application.yml` and every service's `service.yml` as
//! written, in either Exosphere generation, into raw types that mirror the YAML. Nothing is
//! defaulted or cross-checked here; that is the model's job. Every problem found while reading
//! (unreadable files, YAML errors, misspelt keys, missing service folders) is collected so one
//! run reports them all.

pub mod common;
pub mod diagnostic;
pub mod exo_deploy;
pub mod exosphere;
pub mod exosphere_early;
pub mod external;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
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
    /// The original exo-deploy format (2016–17; 0.22's `dependencies` list too).
    ExoDeploy(Loaded<exo_deploy::AppFile, exo_deploy::ServiceFile>),
    /// Exosphere 0.23–0.34: one deployed environment in `production:` or `remote:`.
    ExosphereEarly(Box<Loaded<exosphere_early::AppFile, exosphere_early::ServiceFile>>),
    /// The Exosphere format (0.35+, `remote.environments`).
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

/// What application.yml's top-level keys say about its generation, read before the file is
/// read as one: `environments` (the original exo-deploy format), `remote.environments` (the
/// final Exosphere format), `production` or a `remote` without environments (Exosphere
/// 0.23–0.34). Without any of those the app has no deployment settings; `bus` and grouped
/// services then tell its generation, for the help.
#[derive(Debug, Deserialize)]
struct Probe {
    environments: Option<IgnoredAny>,
    remote: Option<Option<RemoteProbe>>,
    production: Option<IgnoredAny>,
    bus: Option<IgnoredAny>,
    dependencies: Option<IgnoredAny>,
    services: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct RemoteProbe {
    environments: Option<IgnoredAny>,
}

/// Top-level `dependencies` as a list: `{type, version}` entries are exo-deploy 0.22's bus,
/// `{name, version}` ones Exosphere 0.23–0.25's dependencies.
#[derive(Debug, Deserialize)]
struct DependenciesProbe {
    dependencies: Vec<BTreeMap<String, IgnoredAny>>,
}

/// The services of an app that has no deployment block, only for telling its generation.
#[derive(Debug, Deserialize)]
struct GroupsProbe {
    services: BTreeMap<String, IgnoredAny>,
}

/// Which raw shape an application.yml is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    ExoDeploy,
    ExosphereEarly,
    Exosphere,
}

impl Probe {
    fn shape(&self, text: &str) -> Shape {
        match (&self.environments, &self.remote, &self.production) {
            (Some(_), _, _) => Shape::ExoDeploy,
            (
                _,
                Some(Some(RemoteProbe {
                    environments: Some(_),
                })),
                _,
            ) => Shape::Exosphere,
            (_, Some(_), _) | (_, _, Some(_)) => Shape::ExosphereEarly,
            // no deployment settings: the generation the rest of the file is written in
            _ if self.bus.is_some() => Shape::ExoDeploy,
            _ if self.dependencies.is_some()
                && serde_saphyr::from_str::<DependenciesProbe>(text).is_ok_and(|d| {
                    d.dependencies
                        .iter()
                        .any(|entry| entry.contains_key("type"))
                }) =>
            {
                Shape::ExoDeploy
            }
            _ => {
                let grouped = self.services.is_some()
                    && serde_saphyr::from_str::<GroupsProbe>(text).is_ok_and(|g| {
                        !g.services.is_empty()
                            && g.services
                                .keys()
                                .all(|k| exosphere_early::GROUPS.contains(&k.as_str()))
                    });
                if grouped {
                    Shape::ExosphereEarly
                } else {
                    Shape::Exosphere
                }
            }
        }
    }
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
    let probe: Probe =
        serde_saphyr::from_str(&app_file.text).map_err(|e| yaml_error(&app_file, &e))?;
    match probe.shape(&app_file.text) {
        Shape::ExoDeploy => {
            let app: exo_deploy::AppFile = parse_app::<_, exo_deploy::ServiceFile>(dir, &app_file)?;
            let groups = &app.services.value;
            let refs = groups
                .public
                .0
                .iter()
                .chain(&groups.private.0)
                .chain(&groups.worker.0);
            let locations = refs.filter_map(|(role, r)| r.location.as_ref().map(|l| (role, l)));
            let (services, problems) = load_services(dir, &app_file, locations);
            Ok(RawApp::ExoDeploy(Loaded {
                dir: dir.to_path_buf(),
                app,
                app_file,
                services,
                problems,
            }))
        }
        Shape::ExosphereEarly => {
            let app: exosphere_early::AppFile =
                parse_app::<_, exosphere_early::ServiceFile>(dir, &app_file)?;
            let refs: Vec<_> = app
                .services
                .value
                .groups
                .iter()
                .flat_map(|(_, g)| &g.0)
                .chain(&app.services.value.flat.0)
                .collect();
            let locations = refs
                .iter()
                .filter_map(|(role, r)| r.location.as_ref().map(|l| (role, l)));
            let (mut services, mut problems) = load_services(dir, &app_file, locations);
            let external =
                refs.iter()
                    .filter_map(|(role, r)| match (&r.location, &r.docker_image) {
                        (None, Some(image)) => Some((role, image)),
                        _ => None,
                    });
            load_external(images, &app_file, external, &mut services, &mut problems);
            Ok(RawApp::ExosphereEarly(Box::new(Loaded {
                dir: dir.to_path_buf(),
                app,
                app_file,
                services,
                problems,
            })))
        }
        Shape::Exosphere => {
            let app: exosphere::AppFile = parse_app::<_, exosphere::ServiceFile>(dir, &app_file)?;
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
            load_external(images, &app_file, external, &mut services, &mut problems);
            Ok(RawApp::Exosphere(Loaded {
                dir: dir.to_path_buf(),
                app,
                app_file,
                services,
                problems,
            }))
        }
    }
}

/// Reads application.yml as `A`. When it cannot be read so, the services' own files are still
/// read (their folders found as far as the file says), so one run reports the problems of
/// every file together.
fn parse_app<A: DeserializeOwned, S: DeserializeOwned>(
    dir: &Path,
    app_file: &SourceFile,
) -> Result<A, ConfigErrors> {
    parse::<A>(app_file).map_err(|mut errors| {
        #[derive(Deserialize)]
        struct Services {
            services: Option<BTreeMap<String, Option<serde_json::Value>>>,
        }
        let Ok(Services {
            services: Some(services),
        }) = serde_saphyr::from_str(&app_file.text)
        else {
            return errors;
        };
        let location = |v: &serde_json::Value| v.get("location")?.as_str().map(str::to_string);
        let mut folders = Vec::new();
        for (key, value) in &services {
            let Some(value) = value else { continue };
            match location(value) {
                Some(l) => folders.push((key.clone(), l)),
                None if exosphere_early::GROUPS.contains(&key.as_str()) => {
                    for (role, v) in value.as_object().into_iter().flatten() {
                        if let Some(l) = location(v) {
                            folders.push((role.clone(), l));
                        }
                    }
                }
                None => {}
            }
        }
        for (_, location) in folders {
            let rel = Path::new(&location).join(SERVICE_FILE);
            if let Ok(file) = read_source(dir, &rel)
                && let Err(e) = parse::<S>(&file)
            {
                errors.diagnostics.extend(e.diagnostics);
            }
        }
        errors
    })
}

/// Reads the service.yml of each service that is only an image, out of the image.
fn load_external<'a, S: DeserializeOwned>(
    images: &dyn ExternalServices,
    app_file: &SourceFile,
    external: impl Iterator<Item = (&'a Spanned<String>, &'a Spanned<String>)>,
    services: &mut BTreeMap<String, LoadedService<S>>,
    problems: &mut Vec<ConfigDiagnostic>,
) {
    for (role, image) in external {
        let place = Place::at(app_file, &image.referenced);
        match images.service_file(&role.value, &image.value) {
            Ok(external) => {
                // the image's name stands where a file's path would
                let file = SourceFile::new(
                    PathBuf::from(&image.value),
                    image.value.clone(),
                    external.text,
                );
                match parse::<S>(&file) {
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
            Err(why) => {
                problems.push(ConfigDiagnostic::at(place, why.message, "this image").help(why.help))
            }
        }
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
    let (message, help) = match help {
        Some(h) => (message, h),
        None => explain_shape(&message),
    };
    ConfigDiagnostic::at(place, message, "here").help(help)
}

/// A YAML shape serde refused, in our words, always with what to write instead.
fn explain_shape(message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        return (
            format!("`{key}` is missing here"),
            format!("add `{key}:` with its value (docs/config.md describes it)"),
        );
    }
    let lower = message.to_ascii_lowercase();
    let help = if lower.contains("mapping") || lower.contains("a map") || lower.contains("struct") {
        "write a mapping here: `key: value` lines indented under this key, or nothing at all"
    } else if lower.contains("sequence") || lower.contains("a list") {
        "write a list here: one `- item` line per entry"
    } else if lower.contains("integer") || lower.contains("u32") || lower.contains("u16") {
        "write a whole number here"
    } else if lower.contains("boolean") || lower.contains("bool") {
        "write `true` or `false` here"
    } else if lower.starts_with("invalid ") || lower.contains("expected ") {
        "check this value's shape against docs/config.md"
    } else {
        // the YAML parser's own words (an unclosed bracket, a stray `:`)
        "this is not valid YAML here: check the brackets, quotes and indentation on this line and the lines above it"
    };
    (message.to_string(), help.to_string())
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

    #[test]
    fn an_app_without_deployment_settings_is_read_in_its_generation() {
        let shape = |text: &str| {
            serde_saphyr::from_str::<Probe>(text)
                .expect("probe")
                .shape(text)
        };
        // exo-deploy 0.22's bus, before it had environments
        assert_eq!(
            shape(
                "name: a\ndependencies:\n  - type: exocom\n    version: 0.21.8\nservices:\n  public:\n    web:\n      location: ./web\n"
            ),
            Shape::ExoDeploy
        );
        // Exosphere 0.23-0.25's dependencies, by name
        assert_eq!(
            shape(
                "name: a\ndependencies:\n  - name: exocom\n    version: 0.22.1\nservices:\n  public:\n    web:\n      location: ./web\n"
            ),
            Shape::ExosphereEarly
        );
        assert_eq!(
            shape("name: a\nservices:\n  web:\n    location: ./web\n"),
            Shape::Exosphere
        );
        assert_eq!(
            shape(
                "name: a\nbus:\n  type: exocom\nservices:\n  public:\n    web:\n      location: ./web\n"
            ),
            Shape::ExoDeploy
        );
    }
}
