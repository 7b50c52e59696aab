//! One diagnostic type for everything wrong with an app's configuration, whether serde-saphyr
//! could not read a file or the model found a value it cannot accept. Each points at a file,
//! line and column and carries a help text saying how to fix it; a run collects all of them and
//! reports them together as [`ConfigErrors`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde_saphyr::Location;

/// A config file as read from disk, shared by every diagnostic that points into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where the file is on disk.
    pub path: PathBuf,
    /// The name shown to users: the path relative to the app directory.
    pub name: String,
    /// The file's text.
    pub text: Arc<String>,
    source: Arc<NamedSource<Arc<String>>>,
}

impl SourceFile {
    /// A file read from `path`, shown to users as `name`.
    pub fn new(path: PathBuf, name: String, text: String) -> Self {
        let text = Arc::new(text);
        let source = Arc::new(NamedSource::new(&name, Arc::clone(&text)));
        SourceFile {
            path,
            name,
            text,
            source,
        }
    }
}

/// A place in a [`SourceFile`]: the span of a YAML node.
#[derive(Debug, Clone)]
pub struct Place {
    file: SourceFile,
    span: Option<(usize, usize)>,
    line: u64,
    column: u64,
}

impl Place {
    /// The place of a YAML node, from the location serde-saphyr recorded for it.
    pub fn at(file: &SourceFile, location: &Location) -> Self {
        let span = location.span();
        let offset = span
            .byte_offset()
            .map(|o| o as usize)
            .or_else(|| offset_of(&file.text, location.line(), location.column()));
        let len = span.byte_len().map(|l| l as usize).unwrap_or(0);
        Place {
            file: file.clone(),
            span: offset.map(|o| (o.min(file.text.len()), len)),
            line: location.line(),
            column: location.column(),
        }
    }

    /// The whole file, when no finer place is known (a missing key, an empty file).
    pub fn file(file: &SourceFile) -> Self {
        Place {
            file: file.clone(),
            span: None,
            line: 0,
            column: 0,
        }
    }
}

impl std::fmt::Display for Place {
    /// `file:line:column`, as `git config --show-origin` and compilers say it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file.name)
        } else {
            write!(f, "{}:{}:{}", self.file.name, self.line, self.column)
        }
    }
}

/// The byte offset of a 1-based line and column (in characters), when the text has them.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line as usize - 1)
        .map(str::len)
        .sum();
    let rest = text.get(start..)?;
    let col = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(rest.len(), |(i, _)| i);
    Some(start + col)
}

/// How much a diagnostic matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// The run stops: the config cannot be deployed as written.
    #[default]
    Error,
    /// The run goes on, but something written will not do what its author may expect (a key
    /// exo-deploy reads differently or not at all, an environment not being deployed that
    /// would not deploy).
    Warning,
    /// The run goes on and does what was written, in a way worth knowing (a value adjusted to
    /// what AWS accepts, a variable exo-deploy sets itself).
    Note,
}

/// One thing wrong with the configuration, or worth a word about.
#[derive(Debug, Clone)]
pub struct ConfigDiagnostic {
    /// What is wrong, as one sentence.
    pub message: String,
    /// The short text under the caret.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where it is; `None` for problems with no file (a missing `application.yml`).
    pub place: Option<Place>,
    /// The file path when there is no place with text to show.
    pub path: Option<PathBuf>,
    /// Whether it stops the run.
    pub severity: Severity,
}

impl ConfigDiagnostic {
    /// A diagnostic at a place in a file.
    pub fn at(place: Place, message: impl Into<String>, label: impl Into<String>) -> Self {
        ConfigDiagnostic {
            message: message.into(),
            label: label.into(),
            help: None,
            place: Some(place),
            path: None,
            severity: Severity::Error,
        }
    }

    /// A warning at a place in a file: the run goes on.
    pub fn warning(place: Place, message: impl Into<String>, label: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Warning,
            ..Self::at(place, message, label)
        }
    }

    /// A note at a place in a file: the run goes on and does what was written.
    pub fn note(place: Place, message: impl Into<String>, label: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Note,
            ..Self::at(place, message, label)
        }
    }

    /// Whether it stops the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `error`, `warning` or `note`, for `--json`.
    pub fn severity_name(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    /// A diagnostic about a path that could not be read at all.
    pub fn for_path(path: PathBuf, message: impl Into<String>) -> Self {
        ConfigDiagnostic {
            message: message.into(),
            label: String::new(),
            help: None,
            place: None,
            path: Some(path),
            severity: Severity::Error,
        }
    }

    /// Adds how to fix it.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column` (or the file alone) for plain-text and JSON output.
    pub fn location(&self) -> String {
        match (&self.place, &self.path) {
            (Some(p), _) if p.line > 0 => format!("{}:{}:{}", p.file.name, p.line, p.column),
            (Some(p), _) => p.file.name.clone(),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => String::new(),
        }
    }

    /// The file name, line and column as separate values, for `--json`.
    pub fn position(&self) -> (Option<String>, Option<u64>, Option<u64>) {
        match &self.place {
            Some(p) if p.line > 0 => (Some(p.file.name.clone()), Some(p.line), Some(p.column)),
            Some(p) => (Some(p.file.name.clone()), None, None),
            None => (
                self.path.as_ref().map(|p| p.display().to_string()),
                None,
                None,
            ),
        }
    }
}

impl ConfigDiagnostic {
    /// `file:line:column: message`, for one-line output.
    pub fn one_line(&self) -> String {
        match self.location() {
            loc if loc.is_empty() => self.message.clone(),
            loc => format!("{loc}: {}", self.message),
        }
    }
}

/// The message alone when a snippet shows the place, else with the place in front.
impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.place.as_ref().is_some_and(|p| p.span.is_some()) {
            f.write_str(&self.message)
        } else {
            f.write_str(&self.one_line())
        }
    }
}

impl std::error::Error for ConfigDiagnostic {}

impl Diagnostic for ConfigDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.place
            .as_ref()
            .filter(|p| p.span.is_some())
            .map(|p| &p.file.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.place.as_ref()?.span?;
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label,
            SourceSpan::new(offset.into(), len),
        ))))
    }
}

/// Every problem found in one run, reported together.
#[derive(Debug, thiserror::Error)]
#[error("the app's configuration has {}", count(.diagnostics.len()))]
pub struct ConfigErrors {
    /// The problems, in file order.
    pub diagnostics: Vec<ConfigDiagnostic>,
    /// The warnings and notes found beside them, shown with them.
    pub warnings: Vec<ConfigDiagnostic>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 error".to_string()
    } else {
        format!("{n} errors")
    }
}

impl Diagnostic for ConfigErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("exo_deploy::config"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "fix the errors above and run again; docs/config.md describes every key",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.diagnostics
                .iter()
                .chain(&self.warnings)
                .map(|d| d as &dyn Diagnostic),
        ))
    }
}

impl From<ConfigDiagnostic> for ConfigErrors {
    fn from(d: ConfigDiagnostic) -> Self {
        ConfigErrors {
            diagnostics: vec![d],
            warnings: Vec::new(),
        }
    }
}

impl ConfigErrors {
    /// Every diagnostic of the list, errors first.
    pub fn new(all: Vec<ConfigDiagnostic>) -> Self {
        let (diagnostics, warnings) = all.into_iter().partition(ConfigDiagnostic::is_error);
        ConfigErrors {
            diagnostics,
            warnings,
        }
    }
}

/// Collects diagnostics while resolving, so a run reports all of them together.
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<ConfigDiagnostic>,
}

impl Diagnostics {
    /// Records one problem, once: the same message at the same place (a variable every
    /// service inherits, say) is said once.
    pub fn push(&mut self, d: ConfigDiagnostic) {
        let known = self
            .list
            .iter()
            .any(|k| k.message == d.message && k.location() == d.location());
        if !known {
            self.list.push(d);
        }
    }

    /// True when no error was recorded (warnings and notes do not count).
    pub fn is_empty(&self) -> bool {
        !self.list.iter().any(ConfigDiagnostic::is_error)
    }

    /// The warnings and notes recorded so far.
    pub fn warnings(&self) -> Vec<ConfigDiagnostic> {
        self.list
            .iter()
            .filter(|d| !d.is_error())
            .cloned()
            .collect()
    }

    /// `Ok(value)` when no error was recorded, else every recorded problem (with the
    /// warnings and notes, shown beside them).
    pub fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors::new(self.list))
        }
    }

    /// Moves another collection's problems into this one.
    pub fn extend(&mut self, other: ConfigErrors) {
        self.list.extend(other.diagnostics);
        self.list.extend(other.warnings);
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_typos_and_nothing_for_strangers() {
        let keys = ["location", "docker-image", "namespace"];
        assert_eq!(closest("locaton", keys), Some("location"));
        assert_eq!(closest("docker_image", keys), Some("docker-image"));
        assert_eq!(closest("zzz", keys), None);
    }
}
