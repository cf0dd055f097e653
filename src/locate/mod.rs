//! Finds every container image reference in a deploy file and returns the
//! byte span of each one's text.
//!
//! Rule: **locators never re-serialise.** A file is parsed only to find image
//! strings; the result is a list of [`Occurrence`]s whose spans point into the
//! original bytes (inside the quotes of a quoted string), and the editor
//! splices new text into those spans. Comments, quoting, key order, CRLF, a
//! BOM and the final newline are therefore never touched.
//!
//! The file name chooses the syntax (`.json` → JSON, `.yaml`/`.yml` →
//! YAML, `.tf` → HCL, Dockerfile names; anything else is not a candidate); where a CI system or dev
//! containers read a fixed path, the place decides the format (`place.rs`);
//! otherwise the format is recognised by content: ECS task definitions (`ecs.rs`), CodePipeline image files
//! (`codepipeline.rs`), Docker Compose (`compose.rs`) and Kubernetes
//! manifests (`kubernetes.rs`). Both parsers (`json.rs`, `yaml/`, with its fast path `yaml/fast.rs`) build the
//! same span-annotated tree (`tree.rs`); `classify.rs` decides which values are
//! literal references and which are skipped, and why.

mod ci;
mod classify;
mod cloudformation;
mod codepipeline;
mod compose;
mod dockerfile;
mod ecs;
pub mod formats;
mod guard;
mod helm;
mod inline_ignore;
pub(crate) mod json;
mod kubernetes;
mod kustomize;
mod lines;
mod pipelines;
mod place;
mod terraform;
pub(crate) mod tree;
mod yaml;

pub(crate) use ecs::task_platform;
pub use helm::is_values_name;
pub use inline_ignore::is_ignored;
pub use lines::LineCursor;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;
use std::path::Path;

use tree::Node;

/// Which kind of deploy file a locator recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// An ECS task definition (`register-task-definition` input or
    /// `describe-task-definition` output).
    EcsTaskDefinition,
    /// CodePipeline's `imagedefinitions.json` (ECS standard deploy).
    CodePipelineImageDefinitions,
    /// CodePipeline's `imageDetail.json` (ECS blue/green deploy).
    CodePipelineImageDetail,
    /// A Docker Compose file.
    Compose,
    /// One or more Kubernetes manifests.
    Kubernetes,
    /// An AWS CloudFormation / SAM template with ECS, Batch or Lambda images.
    CloudFormation,
    /// A Dockerfile or Containerfile.
    Dockerfile,
    /// A GitHub Actions workflow or Docker container action.
    GithubActions,
    /// A GitLab CI file.
    GitlabCi,
    /// A CircleCI configuration.
    CircleCi,
    /// A Bitbucket Pipelines file (`bitbucket-pipelines.yml`).
    BitbucketPipelines,
    /// A Drone or Woodpecker CI pipeline (`.drone.yml`, `.woodpecker.yml`).
    Drone,
    /// A Google Cloud Build configuration (`cloudbuild.yaml`).
    CloudBuild,
    /// A dev container configuration (`.devcontainer/devcontainer.json`).
    DevContainer,
    /// A Kustomization's `images:` (`kustomization.yaml`).
    Kustomize,
    /// A Helm chart's values file (`values.yaml` beside `Chart.yaml`).
    HelmValues,
    /// Terraform configuration (`*.tf`).
    Terraform,
}

impl Format {
    /// Stable short name: `ecs-task-definition`, `imagedefinitions`,
    /// `imagedetail`, `compose`, `kubernetes`, `cloudformation`,
    /// `github-actions`, `gitlab-ci`, `circleci`, `bitbucket-pipelines`,
    /// `drone`, `cloudbuild`, `devcontainer`, `kustomize`, `helm-values`,
    /// `terraform` or `dockerfile`.
    pub const fn name(&self) -> &'static str {
        match self {
            Format::EcsTaskDefinition => "ecs-task-definition",
            Format::CodePipelineImageDefinitions => "imagedefinitions",
            Format::CodePipelineImageDetail => "imagedetail",
            Format::Compose => "compose",
            Format::Kubernetes => "kubernetes",
            Format::CloudFormation => "cloudformation",
            Format::Dockerfile => "dockerfile",
            Format::GithubActions => "github-actions",
            Format::GitlabCi => "gitlab-ci",
            Format::CircleCi => "circleci",
            Format::BitbucketPipelines => "bitbucket-pipelines",
            Format::Drone => "drone",
            Format::CloudBuild => "cloudbuild",
            Format::DevContainer => "devcontainer",
            Format::Kustomize => "kustomize",
            Format::HelmValues => "helm-values",
            Format::Terraform => "terraform",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One image string found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Byte span in the original file bytes (a BOM counts in offsets). For a
    /// literal value, exactly the value's text (inside the quotes). For a
    /// mapping or sequence where a string was expected, an empty span at its
    /// start.
    pub span: Range<usize>,
    /// The value (for literal values with [`Splice::Reference`], equal to
    /// `&bytes[span]`; for the other splices, the reference the fields
    /// spell, e.g. `newName:newTag@digest` of a Kustomize image).
    pub text: String,
    /// Where, in the file's own terms: `services.web.image`,
    /// `containerDefinitions[1].image`,
    /// `spec.template.spec.initContainers[0].image`; prefixed with
    /// `document N: ` from the second YAML document on.
    pub location: String,
    /// `None` for a literal value to pin; otherwise why it is left alone.
    pub skip: Option<SkipReason>,
    /// The platform the surrounding definition says this image runs on
    /// (ECS `runtimePlatform`, a Kubernetes `kubernetes.io/arch` node
    /// selector or affinity, a Compose `platform`), when it says one.
    pub platform: Option<Box<DeclaredPlatform>>,
    /// How a pin is written into the span.
    pub splice: Splice,
    /// Where to point the user when it is not the span's start: the tag
    /// after which a `digest:` field is inserted.
    pub shown_at: Option<usize>,
    /// ECS `versionConsistency: "disabled"` on the container: ECS resolves
    /// a tag again at every task launch instead of once per deployment.
    pub tag_per_launch: bool,
}

/// How a pin is written: most files hold the reference in one string;
/// Kustomize and Helm values spell it in fields, and the digest goes into
/// its own field or after the tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Splice {
    /// The span is the reference; it becomes the pinned reference.
    #[default]
    Reference,
    /// The span is where the digest goes (a `digest:` value, or an empty
    /// span where a `digest:` field is inserted); it becomes
    /// `before + digest`.
    Digest {
        /// Text before the digest: empty for a value, `"\n    digest: "`
        /// for an insertion.
        before: String,
    },
    /// The span is a tag value (Helm's `tag:`); it becomes `tag@digest`.
    Tag {
        /// The tag, without any digest it carried.
        tag: String,
    },
}

impl Occurrence {
    /// The text that replaces [`Occurrence::span`] to pin `r` (the parsed
    /// [`Occurrence::text`]) to `digest`.
    pub fn pinned_text(
        &self,
        r: &crate::reference::ImageRef,
        digest: &crate::digest::Digest,
    ) -> String {
        match &self.splice {
            Splice::Reference => r.pinned_text(digest),
            Splice::Digest { before } => format!("{before}{digest}"),
            Splice::Tag { tag } => format!("{tag}@{digest}"),
        }
    }
}

/// A platform a deployment file (or a live ECS task definition) requires
/// of its images. Its JSON form is part of the `ecs images` and `imgpin
/// in-use` documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DeclaredPlatform {
    /// Operating system in OCI terms (`linux`, `windows`), when declared.
    pub os: Option<String>,
    /// CPU architectures in OCI terms (`amd64`, `arm64`); the image must
    /// serve each of them (a pod may land on any node the selector allows).
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Where it is declared, as written: `runtimePlatform.cpuArchitecture ARM64`.
    pub source: String,
}

impl DeclaredPlatform {
    /// One CPU architecture (any spelling: `X86_64`, `arm64`) on `os`
    /// (linux when none is known), declared by `source`.
    pub(crate) fn of_arch(os: Option<String>, arch: &str, source: String) -> DeclaredPlatform {
        DeclaredPlatform {
            os: os.or_else(|| Some("linux".to_owned())),
            architectures: vec![normalize_arch(arch)],
            source,
        }
    }

    /// From a Compose / `docker --platform` value, `os[/arch[/variant]]`.
    pub(crate) fn from_platform_string(value: &str, source: String) -> Option<DeclaredPlatform> {
        let mut parts = value.trim().split('/');
        let os = parts.next().filter(|s| !s.is_empty())?.to_ascii_lowercase();
        let architectures = parts
            .next()
            .map(|a| vec![normalize_arch(a)])
            .unwrap_or_default();
        Some(DeclaredPlatform {
            os: Some(os),
            architectures,
            source,
        })
    }
}

/// An architecture name in OCI terms: ECS's `X86_64` and `ARM64`, and the
/// common aliases `x86_64`, `aarch64`, are mapped to `amd64` and `arm64`.
pub(crate) fn normalize_arch(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "x86_64" | "x86-64" | "x64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        _ => lower,
    }
}

/// Why a value where an image belongs is not a literal reference to pin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The value contains an interpolation or template marker, given as
    /// written (e.g. `${TAG}`, `{{ .Values.tag }}`).
    Templated(String),
    /// The value is empty or blank.
    Empty,
    /// The value is a number, boolean, null, mapping or sequence.
    NotAString,
    /// The raw text differs from the value: escapes, folded or multi-line
    /// text, block scalars.
    EscapedOrMultiline,
    /// A match pattern, not a reference: the value has a wildcard (`*`,
    /// `?`), an alternation (`|`) or a leading negation (`!`), as policy
    /// engines write them (Kyverno's `image: "!*:latest"`). No reference
    /// contains these characters.
    Pattern,
    /// The name a Compose service with `build:` gives the image it builds
    /// (the service's path, e.g. `services.api`): pinning it would write a
    /// digest into a build target.
    BuildOutput(String),
    /// A Helm values `tag` that YAML reads as a number (`2.0` renders as
    /// `2`): the tag the chart uses is not the one written.
    NumericTag(String),
    /// An `imgpin: ignore` comment on the value's line or the line above.
    Ignored,
    /// An `ignore` pattern (`.imgpin.toml`, `--ignore`) matches the reference.
    IgnoredBy(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Templated(marker) => write!(f, "templated value ({marker})"),
            SkipReason::Empty => f.write_str("empty value"),
            SkipReason::NotAString => f.write_str("not a string"),
            SkipReason::EscapedOrMultiline => f.write_str("escaped or multi-line string"),
            SkipReason::Pattern => {
                f.write_str("a match pattern (wildcard, `|` or `!`), not a reference")
            }
            SkipReason::Ignored => f.write_str("an `imgpin: ignore` comment leaves it alone"),
            SkipReason::IgnoredBy(pattern) => {
                write!(f, "the ignore pattern {pattern:?} leaves it alone")
            }
            SkipReason::NumericTag(tag) => write!(
                f,
                "the tag {tag} is a number to YAML (Helm may render 2.0 as 2): quote it to pin"
            ),
            SkipReason::BuildOutput(service) => write!(
                f,
                "the name {service} gives the image it builds (it has `build:`), not an image it pulls"
            ),
        }
    }
}

/// What a file contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The recognised format.
    pub format: Format,
    /// Image strings sorted by span start, one per span.
    pub occurrences: Vec<Occurrence>,
    /// A file-level remark, e.g. that the file is a template and was not
    /// parsed.
    pub note: Option<String>,
}

/// A candidate file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocateError {
    /// Byte offset of the problem in the original bytes (see [`line_col`]).
    pub offset: usize,
    /// What is wrong, without the place (the caller adds `path:line:col`).
    pub message: String,
}

/// The note for a YAML file that does not parse and looks like a template.
const TEMPLATE_NOTE: &str = "looks like a Helm/Go template; not parsed";

/// The syntax a file name implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Json,
    Yaml,
    Dockerfile,
    Hcl,
}

fn syntax_of(file_name: &Path) -> Option<Syntax> {
    if file_name
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(dockerfile::is_dockerfile_name)
    {
        return Some(Syntax::Dockerfile);
    }
    let ext = file_name.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(Syntax::Json),
        "yaml" | "yml" => Some(Syntax::Yaml),
        "tf" => Some(Syntax::Hcl),
        _ => None,
    }
}

/// Whether a file of this name can hold a deploy file at all: `.json`,
/// `.yaml`, `.yml` or `.tf` (any case), or a Dockerfile name (`Dockerfile`,
/// `Containerfile`, `Dockerfile.*`, `*.Dockerfile`). Lets a walker skip reading other files;
/// [`locate`] applies the same rule.
pub fn is_candidate_name(file_name: &Path) -> bool {
    syntax_of(file_name).is_some()
}

/// Cheap prefilter: every format names its images with a key containing
/// `image` or `Image` (`image`, `imageUri`, `ImageURI`), except GitHub
/// workflows (`container:`, `docker://`) and GitLab jobs that only list
/// `services`.
fn mentions_image(bytes: &[u8]) -> bool {
    // memchr's searchers (SIMD): one pass each, most files stop at the first.
    [
        &b"image"[..],
        b"Image",
        b"services",
        b"container",
        b"docker://",
    ]
    .iter()
    .any(|needle| memchr::memmem::find(bytes, needle).is_some())
}

/// A Kustomization or another Kubernetes object (`apiVersion` and `kind`):
/// what such a document is wherever it lies.
fn object_format(root: &Node) -> Option<Format> {
    if kustomize::detect(root) {
        Some(Format::Kustomize)
    } else if kubernetes::detect(root) {
        Some(Format::Kubernetes)
    } else {
        None
    }
}

/// The format of one JSON value or YAML document, if it is one we know.
fn detect(root: &Node, syntax: Syntax) -> Option<Format> {
    if let Some(format) = object_format(root) {
        Some(format)
    } else if ecs::detect(root) {
        Some(Format::EcsTaskDefinition)
    } else if cloudformation::detect(root) {
        Some(Format::CloudFormation)
    } else if syntax == Syntax::Yaml && compose::detect(root) {
        Some(Format::Compose)
    } else if syntax == Syntax::Yaml && ci::detect_circleci(root) {
        Some(Format::CircleCi)
    } else if syntax == Syntax::Yaml && ci::detect_github(root) {
        Some(Format::GithubActions)
    } else if syntax == Syntax::Yaml && ci::detect_gitlab(root) {
        Some(Format::GitlabCi)
    } else if syntax == Syntax::Json && codepipeline::detect_image_definitions(root) {
        Some(Format::CodePipelineImageDefinitions)
    } else if syntax == Syntax::Json && codepipeline::detect_image_detail(root) {
        Some(Format::CodePipelineImageDetail)
    } else {
        None
    }
}

/// The occurrences of one document already recognised as `format`.
fn collect(root: &Node, format: Format, text: &str) -> Vec<Occurrence> {
    match format {
        Format::Kustomize => kustomize::collect(root, text),
        Format::HelmValues => helm::collect(root),
        Format::EcsTaskDefinition => ecs::collect(root),
        Format::CodePipelineImageDefinitions => codepipeline::collect_image_definitions(root),
        Format::CodePipelineImageDetail => codepipeline::collect_image_detail(root),
        Format::Compose => compose::collect(root),
        Format::Kubernetes => kubernetes::collect(root),
        Format::CloudFormation => cloudformation::collect(root),
        Format::GithubActions => ci::collect_github(root),
        Format::GitlabCi => ci::collect_gitlab(root),
        Format::CircleCi => ci::collect_circleci(root),
        Format::BitbucketPipelines => pipelines::collect_bitbucket(root),
        Format::Drone => pipelines::collect_drone(root),
        Format::CloudBuild => pipelines::collect_cloudbuild(root),
        Format::DevContainer => pipelines::collect_devcontainer(root),
        // Dockerfiles and Terraform have no tree; `locate` reads them.
        Format::Dockerfile | Format::Terraform => Vec::new(),
    }
}

/// Bytes of one file → what it contains.
///
/// `Ok(None)`: not a deploy file we know (wrong extension, no mention of an
/// image, or content of no known format). Bytes that are not UTF-8 (a
/// Latin-1 comment) read as `?`, so the rest of the file is still located. A YAML file that does not
/// parse but contains `{{` is taken for a Helm/Go template: the result is
/// `Ok(Some(..))` with format [`Format::Kubernetes`], no occurrences and a
/// [`Located::note`] saying so. Any other parse failure of a candidate file is
/// an error with its byte offset.
///
/// In a multi-document YAML file the first document of a known format decides
/// the format; documents of that format contribute occurrences, the others
/// (a Service, an empty document) are skipped quietly.
pub fn locate(file_name: &Path, bytes: &[u8]) -> Result<Option<Located>, LocateError> {
    locate_as(file_name, bytes, None)
}

/// The documents of a YAML stream as JSON values (mappings as objects,
/// strings as strings, null as null, other scalars as their text), for
/// reading YAML inputs that are not deploy files (`kubectl … -o yaml` given
/// to `--in-use`). The parse error carries its line and column.
pub fn yaml_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    fn json(node: &tree::Node) -> serde_json::Value {
        match node {
            tree::Node::Map { entries, .. } => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), json(v)))
                    .collect(),
            ),
            tree::Node::Seq { items, .. } => {
                serde_json::Value::Array(items.iter().map(json).collect())
            }
            tree::Node::Scalar(s)
                if !s.is_string
                    && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL") =>
            {
                serde_json::Value::Null
            }
            tree::Node::Scalar(s) => serde_json::Value::String(s.value.to_string()),
        }
    }
    let mut documents = Vec::new();
    yaml::each_document(text, &mut |d| documents.push(json(&d))).map_err(|e| {
        let (line, col) = line_col(text.as_bytes(), e.offset);
        format!("{line}:{col}: {}", e.message)
    })?;
    Ok(documents)
}

/// [`locate`], with the format decided by the caller when it knows more
/// than the name: a Helm chart's values file (the scanner sees the
/// `Chart.yaml` beside it, or `--helm-values` names it).
pub fn locate_as(
    file_name: &Path,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<Option<Located>, LocateError> {
    let Some(syntax) = syntax_of(file_name) else {
        return Ok(None);
    };
    locate_syntax(file_name, bytes, format, syntax)
}

/// [`locate_as`] for a file read although imgpin does not know its name
/// (`include` in `.imgpin.toml`): the syntax comes from the name when
/// imgpin knows it, else from the content: JSON when it starts with `{` or
/// `[`, a Dockerfile when its first instruction is `FROM` (or a `# syntax=`
/// directive comes first), YAML otherwise.
pub fn locate_included(
    file_name: &Path,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<Option<Located>, LocateError> {
    let syntax = syntax_of(file_name).unwrap_or_else(|| sniff_syntax(bytes));
    locate_syntax(file_name, bytes, format, syntax)
}

fn sniff_syntax(bytes: &[u8]) -> Syntax {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with(['{', '[']) {
        return Syntax::Json;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && (!l.starts_with('#') || l.contains("syntax=")));
    match first {
        Some(l) if l.starts_with('#') => Syntax::Dockerfile,
        Some(l) if l.len() > 5 && l[..5].eq_ignore_ascii_case("from ") => Syntax::Dockerfile,
        _ => Syntax::Yaml,
    }
}

fn locate_syntax(
    file_name: &Path,
    bytes: &[u8],
    format: Option<Format>,
    syntax: Syntax,
) -> Result<Option<Located>, LocateError> {
    let sanitized;
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            sanitized = ascii_placeholders(bytes);
            sanitized.as_str()
        }
    };
    if syntax == Syntax::Dockerfile {
        return Ok(Some(Located {
            format: Format::Dockerfile,
            occurrences: dockerfile::collect(text),
            note: None,
        }));
    }
    // A file whose place decides its format is always parsed (Cloud Build
    // names its images `name:`); others must mention an image key.
    let placed = format.or_else(|| place::format_of(file_name));
    if placed.is_none() && !mentions_image(bytes) {
        return Ok(None);
    }
    if syntax == Syntax::Hcl {
        return Ok(Some(Located {
            format: Format::Terraform,
            occurrences: terraform::collect(text)?,
            note: None,
        }));
    }
    // A placed file is its place's format, every document of it; a
    // Kubernetes object there (a manifest kept under `.github/`) is still one.
    let detect = |d: &Node| match placed {
        Some(format) => object_format(d).or(Some(format)),
        None => detect(d, syntax),
    };
    // Documents are taken one at a time, as the parser completes them: the
    // first of a known format decides the file's, and those of that format
    // contribute occurrences.
    let mut format = None;
    let mut occurrences = Vec::new();
    let mut index = 0;
    let mut take = |document: Node| {
        let found = detect(&document);
        format = format.or(found);
        if let Some(found) = found.filter(|f| Some(*f) == format) {
            let prefix = if index > 0 {
                format!("document {}: ", index + 1)
            } else {
                String::new()
            };
            occurrences.extend(collect(&document, found, text).into_iter().map(|mut o| {
                o.location.insert_str(0, &prefix);
                o
            }));
        }
        index += 1;
    };
    match syntax {
        Syntax::Json => take(json::parse(text)?),
        Syntax::Yaml => match yaml::each_document(text, &mut take) {
            Ok(()) => {}
            Err(_) if text.contains("{{") => {
                return Ok(Some(Located {
                    format: Format::Kubernetes,
                    occurrences: Vec::new(),
                    note: Some(TEMPLATE_NOTE.to_owned()),
                }))
            }
            Err(e) => return Err(e),
        },
        Syntax::Dockerfile | Syntax::Hcl => {}
    }
    let Some(format) = format else {
        return Ok(None);
    };
    // Aliases and merged templates repeat the anchor's span: keep the first
    // occurrence found for each span (the stable sort keeps discovery order),
    // except that a build output wins: a template a building service merges
    // is never pinned, whoever else uses it.
    let key = |o: &Occurrence| {
        let pulled = !matches!(o.skip, Some(SkipReason::BuildOutput(_)));
        (o.span.start, o.span.end, pulled)
    };
    // Mostly in order already (documents come in order): then no sort, and
    // none of the stable sort's scratch buffer (half the occurrences: 8 MB
    // for a stream of 20,000 Deployments).
    if !occurrences.is_sorted_by_key(key) {
        occurrences.sort_by_key(key);
    }
    occurrences.dedup_by(|a, b| a.span == b.span);
    Ok(Some(Located {
        format,
        occurrences,
        note: None,
    }))
}

/// `bytes` as text of the same length, each byte of an invalid UTF-8
/// sequence replaced by `?`: a file with a Latin-1 comment (`# Café`) is
/// still read, every offset stays an offset into the original bytes, and a
/// value that held such a byte reads as a pattern (`?`) and is never
/// rewritten.
fn ascii_placeholders(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len()).max(1);
                out.extend(std::iter::repeat_n('?', bad));
                rest = &after[bad..];
            }
        }
    }
    out
}

/// 1-based line and 1-based column (in characters) of a byte offset, for
/// messages. Lines end at `\n`; a UTF-8 BOM at the start of the file is not
/// counted as a column. Offsets past the end are clamped.
pub fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    LineCursor::new().line_col(bytes, offset)
}
