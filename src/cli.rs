//! Command-line definitions (clap derive). Parsing only; the work happens
//! in [`crate::commands`].

use crate::report::{Color, Format};
use crate::resolve::Platform;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  clean: nothing to do, or done
  1  findings: unpinned references (check), changes needed (pin --check), a pinned
     digest gone (verify), an in-use image the lifecycle policy would delete (lifecycle)
  2  errors: a file did not parse, a reference did not resolve, an AWS call failed,
     bad usage";

const PIN_EXAMPLES: &str = "\
Examples:
  imgpin pin                        diff for the current directory
  imgpin pin --write deploy/        rewrite files in place
  imgpin pin --check                CI: exit 1 if anything is unpinned
  imgpin pin --update --write       refresh pins whose tag moved (says what changed)
  imgpin pin --update --settle 6h   ... but leave a multi-arch index built < 6 h ago
  imgpin pin --platform linux/arm64 pin one platform's manifest

Exit codes:
  0  clean: nothing to do, or done
  1  changes needed (--check)
  2  errors: a file did not parse, a reference did not resolve, bad usage";

const CHECK_EXAMPLES: &str = "\
Examples:
  imgpin check                      every deploy file under .
  imgpin check k8s/ compose.yaml    these paths only
  imgpin check --format github      annotations on a pull request

Exit codes:
  0  every literal reference carries a digest
  1  unpinned references (or, with --strict, unchecked templated values)
  2  errors: a file did not parse, an invalid reference, bad usage";

const VERIFY_EXAMPLES: &str = "\
Examples:
  imgpin verify                     every pinned digest under . still exists
  imgpin verify --format github     CI gate with pull-request annotations
  imgpin verify --strict            also fail when a pinned tag has moved
  imgpin verify --ecs-cluster prod  also the digests the prod cluster runs
  imgpin verify --in-use in-use.json
                                    also the images of `imgpin ecs images --format json`

Exit codes:
  0  every pinned digest exists
  1  a digest is gone, pins disagree, unpinned references (or moved tags with --strict)
  2  errors: a registry could not be reached, a file did not parse, bad usage";

const LIFECYCLE_EXAMPLES: &str = "\
Examples:
  imgpin lifecycle deploy/          will the live ECR policies delete what deploy/ uses?
  imgpin lifecycle --policy new.json deploy/
                                    the same with a policy change, before PutLifecyclePolicy
  imgpin lifecycle --at 2026-12-01  as of a later date (CI: warn before it happens)
  imgpin lifecycle --ecs-cluster prod deploy/
                                    also what the prod cluster's services and tasks run
  imgpin lifecycle --policy policy.json --images describe-images.json \\
      --in-use sha256:… --in-use ecs-images.json
                                    offline: saved `aws ecr describe-images` output
  imgpin lifecycle --format sarif   one SARIF result per at-risk use (code scanning)
  imgpin lifecycle protect deploy/ --tag-prefix keep- --apply
                                    tag every in-use digest keep-<digest> and print the rule

--in-use takes a digest (sha256:…), an image reference, ecs:CLUSTER (as --ecs-cluster),
or a JSON file: the document `imgpin in-use --format json` prints (every source in
one), an array of references/digests, the document `imgpin ecs images --format json`
prints, or `kubectl get pods -A -o json` (the digest each container's node pulled,
status.containerStatuses[].imageID). --lambda and --batch read Lambda functions and
AWS Batch job definitions live.
References with a tag only are checked through the digest the tag points at now
(from the same DescribeImages answer), and the output says so.

Exit codes:
  0  no in-use image is expired, archived or at risk
  1  an in-use image would be expired or archived, is at risk (next pass, tie at a
     count boundary) or is archived already
  2  errors: invalid --policy file, unreadable --images/--in-use, an AWS call failed";

const IN_USE_EXAMPLES: &str = "\
Examples:
  imgpin in-use deploy/ --all-clusters --region us-east-1 --region eu-west-1 \\
      --lambda --batch --scheduled --format json > in-use.json
                                    every image in use: files, every ECS cluster,
                                    Lambda functions, Batch job definitions and the
                                    tasks EventBridge rules and schedules start
  imgpin lifecycle --in-use in-use.json
                                    evaluate the policies against that set
  imgpin in-use --no-files --ecs-cluster prod
                                    a table: source, where, image, digest

The JSON document (docs/in-use.schema.json) lists one entry per use: its label, the
image as written, the digest in use (null when unknown), and where it comes from
(source, account, region, cluster, service, function, …). --in-use FILE reads it back.
A source that cannot be read is an error (exit 2) and the document says
\"complete\": false; --in-use refuses such a document, because an image missing from
it would count as unused.

Exit codes:
  0  every source was read
  2  a source could not be read (an AWS call failed, an unreadable --in-use value)";

const PROTECT_EXAMPLES: &str = "\
Examples:
  imgpin lifecycle protect deploy/              dry run: which digests would be tagged
  imgpin lifecycle protect deploy/ --apply      add keep-<12 hex of the digest> tags
  imgpin lifecycle protect --in-use ecs.json --tag-prefix pinned- --apply

Each in-use digest gets the tag <prefix><first 12 hex digits of the digest>, added with
BatchGetImage (manifest and media type) and PutImage of the same manifest: no layer is
pushed, the digest and imagePushedAt do not change. Then the policy is checked: without a
rule that keeps the prefix, the rule to add at the top priority is printed (and the whole
proposed policy); with one, the evaluator checks that it keeps every protected image.

Exit codes:
  0  done (or, without --apply, nothing failed); the rule keeps every protected image
     or was printed
  1  the policy's rule for the prefix would still expire or archive a protected image
  2  errors: an AWS call failed, invalid --policy file, unreadable --in-use";

/// Pin container image references to digests, and keep them safe after pinning.
///
/// imgpin finds image references in ECS task definitions, CodePipeline
/// image files, Docker Compose, Kubernetes YAML, CloudFormation templates,
/// Dockerfiles and CI workflows, resolves each tag to its digest through the
/// registry (the ECR API for ECR), and rewrites `nginx:1.27` as
/// `nginx:1.27@sha256:…`, keeping your tag and every other byte of the file.
/// Then `verify` proves pinned digests still exist, and `lifecycle` warns
/// before an ECR lifecycle policy deletes an image that is still deployed.
#[derive(Debug, Parser)]
#[command(name = "imgpin", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Read settings from FILE instead of the first .imgpin.toml found in
    /// the working directory or a parent.
    #[arg(long, global = true, value_name = "FILE", env = "IMGPIN_CONFIG")]
    pub config: Option<PathBuf>,

    /// Read no settings file.
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
}

/// The subcommands.
// Parsed once per run; boxing the larger argument structs buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pin image references to digests: show a diff, or write with --write.
    ///
    /// Every literal reference without a digest is resolved through its
    /// registry (once per unique reference, concurrently) and rewritten as
    /// `name:tag@sha256:…`. A reference without a tag is pinned as
    /// `name:latest@sha256:…`. References that already carry a digest are left
    /// alone unless --update is given. Templated values (`${TAG}`,
    /// `{{ .Values.image }}`) are reported and never rewritten.
    #[command(after_help = EXIT_CODES, after_long_help = PIN_EXAMPLES)]
    Pin(PinArgs),
    /// Offline: list literal references not pinned to a digest (exit 1 if any).
    ///
    /// Fast and network-free, for pre-commit hooks. Templated values cannot be
    /// checked; they are listed as notes, and fail the check with --strict.
    #[command(after_help = EXIT_CODES, after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Prove every pinned digest still exists in its registry; report moved tags.
    ///
    /// Each `name@sha256:…` and `name:tag@sha256:…` is checked with a HEAD on the
    /// manifest by digest (BatchGetImage by digest for ECR, batched). A digest
    /// that is gone is a problem (exit 1): deploying it fails with `manifest
    /// unknown`. Where the reference also has a tag, a tag that now points
    /// elsewhere is a warning (a problem with --strict). The same `name:tag`
    /// pinned to different digests in different places is a problem. Unpinned
    /// references are reported as `check` does, unless --pinned-only. A registry
    /// that cannot be reached is an error (exit 2).
    #[command(after_help = EXIT_CODES, after_long_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Simulate ECR lifecycle policies against the images in use; protect them.
    ///
    /// Collects the in-use Amazon ECR images (references in the files under
    /// PATH, and --in-use values), groups them by repository, reads each
    /// repository's lifecycle policy (GetLifecyclePolicy, or --policy FILE)
    /// and image list (DescribeImages, every page), evaluates the policy
    /// locally and reports every in-use image it would expire or archive: where
    /// it is used, the rule, and why in plain words. Children of an in-use
    /// multi-arch index count as in use. Nothing is changed in AWS.
    #[command(after_long_help = LIFECYCLE_EXAMPLES)]
    Lifecycle(LifecycleArgs),
    /// Live Amazon ECS: pin a registered task definition, list the images a cluster runs.
    #[command(after_help = EXIT_CODES)]
    Ecs(EcsArgs),
    /// Gather every image in use, from every source, into one document.
    ///
    /// The files under PATH, --in-use values, live ECS clusters (services,
    /// deployments, running tasks), Lambda functions and AWS Batch job
    /// definitions: one entry per use, saying where it comes from. `lifecycle`,
    /// `lifecycle protect` and `verify` read the JSON form with --in-use FILE.
    #[command(after_long_help = IN_USE_EXAMPLES)]
    InUse(InUseCommandArgs),
    /// Print the table of every file format imgpin reads: which files,
    /// where in them images are found, and what is left alone and why.
    ///
    /// The table is Markdown (the README shows the same one); --json prints
    /// it as a JSON array of {name, files, images, skipped}.
    Formats(FormatsArgs),
    /// Print a shell completion script: bash, zsh, fish or powershell.
    ///
    /// bash: `imgpin completions bash > ~/.local/share/bash-completion/completions/imgpin`;
    /// zsh: `imgpin completions zsh > "${fpath[1]}/_imgpin"`;
    /// fish: `imgpin completions fish > ~/.config/fish/completions/imgpin.fish`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), generated from this help:
    /// `imgpin man > /usr/local/share/man/man1/imgpin.1`.
    Man,
    /// Print the effective settings and where each came from: the
    /// .imgpin.toml in use (file:line), the command line, or the default.
    ///
    /// Takes the same file and registry flags as `pin`, to show what they
    /// change. Lists (exclude, include, ignore, insecure-registries,
    /// ca-files, helm-values) add the command line's to the file's; single
    /// values (platform, jobs) from the command line replace the file's.
    #[command(after_long_help = CONFIG_HELP)]
    Config(ConfigArgs),
}

const CONFIG_HELP: &str = "\
A settings file (.imgpin.toml, found by walking up from the working directory;
--config FILE or IMGPIN_CONFIG to name one, --no-config to read none):

  exclude = [\"vendor/**\", \"testdata/**\"]   # as --exclude
  include = [\"*.yaml.tmpl\"]                 # also read these names (as --include)
  ignore = [\"localhost:5000/**\"]            # leave these references alone (as --ignore)
  platform = \"linux/arm64\"                  # as --platform
  jobs = 16                                 # as --jobs
  insecure-registries = [\"registry.lan:5000\"]
  ca-files = [\"certs/internal-ca.pem\"]      # relative to the file
  helm-values = [\"charts/web/values-prod.yaml\"]

  [registries.\"docker.io\"]
  mirror = \"mirror.lan:5000\"                # ask this pull-through cache instead
  rate = 20                                 # at most 20 requests a second
  jobs = 8                                  # at most 8 requests at once

An unknown key or a wrong type is an error at its file:line:col (exit 2).
Docker Hub, ghcr.io, quay.io, gcr.io, registry.k8s.io, public.ecr.aws,
mcr.microsoft.com, nvcr.io and registry.gitlab.com get a rate of 50 requests a
second unless their section sets one.";

/// Arguments of `imgpin config`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `imgpin completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `imgpin formats`.
#[derive(Debug, Clone, Args)]
pub struct FormatsArgs {
    /// Print the table as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

const ECS_PIN_EXAMPLES: &str = "\
Examples:
  imgpin ecs pin --task-definition web > web.json
                                    pin the latest ACTIVE revision of family web; the
                                    diff goes to stderr, the JSON to stdout
  aws ecs register-task-definition --cli-input-json file://web.json
                                    register it yourself (the JSON is accepted as is)
  imgpin ecs pin --task-definition web:42 --register
                                    register the pinned revision; prints its ARN
  imgpin ecs pin --task-definition arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42 \\
      --output web.json             write the JSON to a file (atomically)

With --register, stdout is the ARN to deploy: the new revision's, or the
described revision's when every image was already pinned (nothing is registered).
The region comes from --region, else from an ARN given to --task-definition,
else from the AWS chain (AWS_REGION, the profile).

Exit codes:
  0  done: pinned (and registered), or nothing to pin
  2  errors: task definition not found, access denied, an image did not resolve
     (then nothing is printed, written or registered), bad usage";

const ECS_IMAGES_EXAMPLES: &str = "\
Examples:
  imgpin ecs images --cluster prod                  every service and running task
  imgpin ecs images --cluster prod --service web --service api
  imgpin ecs images --cluster prod --format json > in-use.json
                                                    the in-use list lifecycle reads

Rows come from every deployment of each service (PRIMARY and the ones still
draining) and from every running task. DIGEST is the digest the task really
runs (DescribeTasks imageDigest) when known, else the digest written in the
reference, else `-` (null in JSON).

Exit codes:
  0  listed
  2  errors: cluster or service not found, access denied, bad usage";

/// Arguments of `imgpin ecs`.
#[derive(Debug, Clone, Args)]
pub struct EcsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EcsCommand,
}

/// The `ecs` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum EcsCommand {
    /// Pin every image of a registered task definition; print JSON for
    /// `aws ecs register-task-definition --cli-input-json`, or --register it.
    ///
    /// DescribeTaskDefinition (with tags), then every containerDefinitions[].image
    /// without a digest is resolved (ECR through the ECR API, other registries
    /// through the registry API) and written as `name:tag@sha256:…`. The JSON
    /// keeps every field in ECS's order, without the read-only ones
    /// (taskDefinitionArn, revision, status, requiresAttributes, compatibilities,
    /// registeredAt, registeredBy, deregisteredAt, deleteRequestedAt), with the
    /// tags as `tags` (AWS-reserved `aws:` tags left out).
    #[command(after_help = EXIT_CODES, after_long_help = ECS_PIN_EXAMPLES)]
    Pin(EcsPinArgs),
    /// List the images a cluster's services and running tasks use.
    #[command(after_help = EXIT_CODES, after_long_help = ECS_IMAGES_EXAMPLES)]
    Images(EcsImagesArgs),
}

/// Arguments of `imgpin ecs pin`.
#[derive(Debug, Clone, Args)]
pub struct EcsPinArgs {
    /// The task definition: a family (its latest ACTIVE revision), family:revision, or an ARN.
    #[arg(long, value_name = "FAMILY[:REVISION]|ARN")]
    pub task_definition: String,

    /// Register the pinned task definition as a new revision and print its ARN.
    #[arg(long)]
    pub register: bool,

    /// Write the JSON to FILE (atomically) instead of stdout.
    #[arg(long = "output", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Also re-resolve the tag of pinned images and replace the digest where the tag has moved.
    #[arg(long)]
    pub update: bool,

    /// AWS region of the task definition (default: the ARN's region, else the AWS chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Registry access (--aws-profile is also used for ECS).
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `imgpin lifecycle`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LifecycleArgs {
    /// `protect`, or nothing to evaluate.
    #[command(subcommand)]
    pub command: Option<LifecycleCommand>,

    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Where the in-use images come from, and which policy.
    #[command(flatten)]
    pub source: LifecycleSource,

    /// Offline: evaluate this saved `aws ecr describe-images` output (one
    /// repository; needs --policy; no ECR call is made). Images may carry a
    /// "manifests": ["sha256:…"] list of an index's children.
    #[arg(long, value_name = "FILE", requires = "policy")]
    pub images: Option<PathBuf>,

    /// Evaluate as of this time instead of now: RFC 3339
    /// (2026-12-01T08:00:00Z) or a date (2026-12-01, midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::lifecycle::parse_at)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,

    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `imgpin ecs images`.
#[derive(Debug, Clone, Args)]
pub struct EcsImagesArgs {
    /// The cluster name or ARN.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,

    /// Only these services (repeatable) and their tasks [default: every service and every task].
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub service: Vec<String>,

    /// AWS region (default: a cluster ARN's region, else the AWS chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile (default: the AWS default credential chain).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Seconds to wait for an ECS answer.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The subcommands of `imgpin lifecycle`.
#[derive(Debug, Clone, Subcommand)]
pub enum LifecycleCommand {
    /// Tag every in-use digest with a protecting tag; print or check the keep rule.
    ///
    /// Dry run by default: prints what it would tag. With --apply, adds the tags
    /// through PutImage of the existing manifest (never pushing layers).
    #[command(after_long_help = PROTECT_EXAMPLES)]
    Protect(ProtectArgs),
}

/// Arguments of `imgpin lifecycle protect`.
#[derive(Debug, Clone, Args)]
pub struct ProtectArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Where the in-use images come from, and which policy.
    #[command(flatten)]
    pub source: LifecycleSource,

    /// The protecting tag is this prefix followed by the first 12 hex digits of the digest.
    #[arg(long, value_name = "PREFIX", default_value = "keep-")]
    pub tag_prefix: String,

    /// Add the tags (PutImage). Without it, nothing is written.
    #[arg(long)]
    pub apply: bool,

    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// In-use images and the policy, shared by `lifecycle` and `lifecycle protect`.
#[derive(Debug, Clone, Args)]
pub struct LifecycleSource {
    /// Images in use outside the files.
    #[command(flatten)]
    pub in_use: InUseArgs,

    /// Evaluate this lifecycle policy file instead of each repository's live
    /// policy; it is validated as AWS validates it (errors point at the rule).
    /// The output of `aws ecr get-lifecycle-policy` is accepted too.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// Images in use outside the files scanned, for `lifecycle` and `verify`.
#[derive(Debug, Clone, Args)]
pub struct InUseArgs {
    /// An image in use (repeatable): a digest (sha256:…), an image reference,
    /// ecs:CLUSTER (as --ecs-cluster), or a JSON file (`-` for standard
    /// input): the document `imgpin in-use --format json` prints, an array
    /// of references/digests (what `ecrm scan` writes), the output of
    /// `imgpin ecs images --format json`, or of `kubectl get pods -A -o json`
    /// (or `-o yaml`, in a .yaml file; each container with the digest its
    /// node pulled).
    #[arg(long, value_name = "REF|DIGEST|FILE", visible_alias = "in-use-from")]
    pub in_use: Vec<String>,

    /// Every image this ECS cluster's services deploy (all deployments) and
    /// its running tasks run, with the digest they really run, is in use too
    /// (repeatable; a name or an ARN). `--in-use ecs:NAME` is the same.
    #[arg(long, value_name = "NAME")]
    pub ecs_cluster: Vec<String>,

    /// Every cluster of the account is in use too (`ListClusters`), in each
    /// --region (default: the AWS chain's region).
    #[arg(long)]
    pub all_clusters: bool,

    /// Every container-image Lambda function is in use too, each published
    /// version and $LATEST, with the digest Lambda resolved
    /// (`ListFunctions`, `GetFunction` → `Code.ResolvedImageUri`), in each --region.
    #[arg(long)]
    pub lambda: bool,

    /// The latest active revision of every AWS Batch job definition is in use
    /// too: each container's image (`DescribeJobDefinitions`), in each --region.
    #[arg(long)]
    pub batch: bool,

    /// The task definitions EventBridge rules (every event bus) and
    /// EventBridge Scheduler schedules start as ECS tasks are in use too:
    /// their images (`ListRules`, `ListTargetsByRule`, `ListSchedules`,
    /// `GetSchedule`, `DescribeTaskDefinition`), in each --region.
    #[arg(long)]
    pub scheduled: bool,

    /// AWS region of the --ecs-cluster and --all-clusters clusters, --lambda,
    /// --batch and --scheduled (repeatable: a cluster name is looked for in each; default:
    /// a cluster ARN's region, else the AWS chain's).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
}

/// Arguments of `imgpin in-use`.
#[derive(Debug, Clone, Args)]
pub struct InUseCommandArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Leave the files out: only --in-use values and the live sources.
    #[arg(long)]
    pub no_files: bool,

    /// Where else images are in use.
    #[command(flatten)]
    pub in_use: InUseArgs,

    /// AWS profile (default: the AWS default credential chain).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Seconds to wait for an AWS answer.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    /// Output: a table in text format, the document in JSON.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How to reach AWS.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// AWS profile (default: the AWS default credential chain).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Seconds to wait for an AWS answer.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    /// How many repositories are read at once.
    #[arg(short, long, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
}

/// Arguments of `imgpin verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// A tag that moved since pinning is a problem (exit 1), not a warning.
    #[arg(long)]
    pub strict: bool,

    /// Do not report references that carry no digest.
    #[arg(long)]
    pub pinned_only: bool,

    /// Images in use outside the files: their digests must exist too (a
    /// rollback or a new task of a deleted digest fails with `manifest unknown`).
    #[command(flatten)]
    pub in_use: InUseArgs,

    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which files to read.
#[derive(Debug, Clone, Args)]
pub struct WalkArgs {
    /// Files or directories to scan [default: .]. Directories are walked
    /// recursively, honouring .gitignore and .ignore; .git is never entered.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Leave out paths matching this glob (repeatable), e.g. 'vendor/**' or '*.json'.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Pass over files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::scan::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,

    /// Read this file as Helm chart values (repeatable): image blocks
    /// {registry, repository, tag, digest} at any depth are pinned through
    /// their digest or tag. values*.yaml beside a Chart.yaml are read so
    /// without this.
    #[arg(long, value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,

    /// Treat references marked `# imgpin: ignore` (or `// imgpin: ignore`,
    /// after the value or alone on the line above), or matching an ignore
    /// pattern, like any other, to audit them. Without it they are left
    /// alone and counted as ignored.
    #[arg(long)]
    pub no_ignore: bool,

    /// Also read files matching this glob (repeatable), whatever their
    /// names, e.g. '*.yaml.tmpl': the syntax comes from the content (JSON,
    /// Dockerfile, else YAML).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Leave references matching this pattern alone (repeatable), as an
    /// `imgpin: ignore` comment does: `*` matches any characters, tried on
    /// the reference as written and as docker.io/library/nginx:1.27.
    #[arg(long, value_name = "PATTERN")]
    pub ignore: Vec<String>,
}

/// How to show results.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// When to use colour (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,

    /// Only errors and problems; no notes, no summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also show already pinned references and where credentials came from.
    #[arg(short, long)]
    pub verbose: bool,

    /// Also write the findings as a SARIF 2.1.0 log to FILE, whatever
    /// --format is (one run: annotations and a code-scanning upload).
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<PathBuf>,

    /// Also append a Markdown summary to FILE: the summary line, the
    /// references pinned per file (old → new) and every finding. In GitHub
    /// Actions: --summary-file "$GITHUB_STEP_SUMMARY".
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,

    /// Also append step outputs to FILE as name=value lines: changed (files
    /// changed, or that would change), findings (problems and errors),
    /// unpinned (references left without a digest), sarif-file. In GitHub
    /// Actions: --github-output "$GITHUB_OUTPUT".
    #[arg(long, value_name = "FILE")]
    pub github_output: Option<PathBuf>,
}

/// How to reach registries.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Pin this platform's manifest (os/arch[/variant], e.g. linux/arm64)
    /// instead of the multi-platform index the tag points at; a tag that
    /// serves a single image of another platform is an error. With verify:
    /// pins to this platform's child manifest are intended, not drift.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<Platform>,

    /// How many registry requests run at once [default: 32] (32 measured
    /// faster than 16 over a 10 ms link in scripts/bench.sh; over HTTP/2
    /// they share one connection).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Allow plain HTTP for this registry host (repeatable). localhost and
    /// 127.0.0.1 are always allowed; HTTPS is tried first.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,

    /// Trust this extra CA certificate (PEM; repeatable). SSL_CERT_FILE is also read.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Vec<PathBuf>,

    /// AWS profile for Amazon ECR references (default: the AWS default
    /// credential chain: environment, profile and SSO, web identity,
    /// container and instance metadata).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Seconds one reference may take at a registry, every attempt and
    /// retry wait included; a hung registry never holds a run longer.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    /// Seconds one request may take (connect and answer), at most --timeout.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub request_timeout: u64,

    /// Never pin from a HEAD answer: GET every manifest and pin the sha256
    /// of its bytes, checked against Docker-Content-Digest. For registries
    /// or caches not trusted to answer HEAD honestly; Docker Hub counts
    /// each GET as a pull.
    #[arg(long)]
    pub paranoid: bool,

    /// Per-registry settings (mirror, rate, concurrency) from `.imgpin.toml`.
    #[arg(skip)]
    pub registries: std::collections::BTreeMap<String, crate::resolve::RegistrySettings>,
}

/// Arguments of `imgpin pin`.
#[derive(Debug, Clone, Args)]
pub struct PinArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Rewrite files in place (atomically) instead of printing a diff.
    #[arg(short, long, conflicts_with = "check")]
    pub write: bool,

    /// Write nothing; exit 1 if any reference would change (for CI).
    #[arg(long)]
    pub check: bool,

    /// Also re-resolve the tag of pinned references and replace the digest
    /// where the tag has moved. Each update says which platforms changed
    /// and the new image's revision and build time (it reads the old and
    /// the new manifest: two GETs per moved tag).
    #[arg(long)]
    pub update: bool,

    /// Leave a multi-platform index for a later run while its newest
    /// platform manifest is younger than DURATION (30m, 6h, 2d): multi-arch
    /// tags move once per architecture as each one is pushed, and a
    /// scheduled pin would open a pull request for each. Reads each
    /// platform's config for its build time.
    #[arg(long, value_name = "DURATION", value_parser = crate::plan::update::parse_duration)]
    pub settle: Option<chrono::Duration>,

    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `imgpin check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Which files.
    #[command(flatten)]
    pub walk: WalkArgs,

    /// Also fail on values that cannot be checked (templated, empty).
    #[arg(long)]
    pub strict: bool,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl WalkArgs {
    /// The walk options these arguments describe.
    pub fn options(&self) -> crate::scan::WalkOptions {
        crate::scan::WalkOptions {
            paths: self.paths.clone(),
            exclude: self.exclude.clone(),
            max_file_size: self.max_file_size,
            helm_values: self.helm_values.clone(),
            no_ignore: self.no_ignore,
            include: self.include.clone(),
            ignore: self.ignore.clone(),
            read_only: false,
        }
    }

    /// [`WalkArgs::options`] for a run that writes nothing.
    pub fn read_only_options(&self) -> crate::scan::WalkOptions {
        crate::scan::WalkOptions {
            read_only: true,
            ..self.options()
        }
    }

    /// Add the settings file's lists before the command line's.
    pub fn merge(&mut self, config: &crate::config::Config) {
        prepend(&mut self.exclude, &config.exclude.value);
        prepend(&mut self.include, &config.include.value);
        prepend(&mut self.ignore, &config.ignore.value);
        prepend(&mut self.helm_values, &config.helm_values.value);
    }
}

/// `file` then `cli`, in `cli`.
fn prepend<T: Clone>(cli: &mut Vec<T>, file: &[T]) {
    let mut all = file.to_vec();
    all.append(cli);
    *cli = all;
}

impl OutputArgs {
    /// A printer on stdout/stderr for these arguments.
    pub fn printer(&self) -> crate::report::Printer {
        crate::report::Printer::stdio(self.format, self.color, self.quiet, self.verbose).with_files(
            crate::report::ReportFiles {
                sarif: self.sarif_file.clone(),
                summary: self.summary_file.clone(),
                outputs: self.github_output.clone(),
            },
        )
    }
}

impl RegistryArgs {
    /// Take the settings file's values where the command line gave none;
    /// add its lists before the command line's.
    pub fn merge(&mut self, config: &crate::config::Config) {
        if self.platform.is_none() {
            self.platform = config.platform.value.clone();
        }
        if self.jobs.is_none() {
            self.jobs = config.jobs.value;
        }
        prepend(
            &mut self.insecure_registry,
            &config.insecure_registries.value,
        );
        prepend(&mut self.ca_file, &config.ca_files.value);
        self.registries = config.registries.value.clone();
    }

    /// The registry options these arguments describe.
    pub fn options(&self) -> crate::resolve::RegistryOptions {
        crate::resolve::RegistryOptions {
            platform: self.platform.clone(),
            jobs: self.jobs.unwrap_or(DEFAULT_JOBS),
            insecure_registries: self.insecure_registry.clone(),
            ca_files: self.ca_file.clone(),
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            request_timeout: std::time::Duration::from_secs(
                self.request_timeout.clamp(1, self.timeout.max(1)),
            ),
            paranoid: self.paranoid,
            registries: self.registries.clone(),
        }
    }
}

/// Registry requests at once without --jobs or `jobs` in the settings file.
pub const DEFAULT_JOBS: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lifecycle_paths_and_protect_parse() {
        let cli =
            Cli::try_parse_from(["imgpin", "lifecycle", "k8s", "--at", "2026-12-01"]).unwrap();
        let Command::Lifecycle(args) = cli.command else {
            panic!("not lifecycle")
        };
        assert!(args.command.is_none());
        assert_eq!(args.walk.paths, [PathBuf::from("k8s")]);
        assert!(args.at.is_some());
        let cli =
            Cli::try_parse_from(["imgpin", "lifecycle", "protect", "k8s", "--apply"]).unwrap();
        let Command::Lifecycle(args) = cli.command else {
            panic!("not lifecycle")
        };
        let Some(LifecycleCommand::Protect(p)) = args.command else {
            panic!("not protect")
        };
        assert!(p.apply);
        assert_eq!(p.tag_prefix, "keep-");
        assert!(Cli::try_parse_from(["imgpin", "lifecycle", "--images", "i.json"]).is_err());
        assert!(Cli::try_parse_from(["imgpin", "lifecycle", "--at", "soon"]).is_err());
    }

    #[test]
    fn write_and_check_conflict() {
        assert!(Cli::try_parse_from(["imgpin", "pin", "--write", "--check"]).is_err());
    }
}
