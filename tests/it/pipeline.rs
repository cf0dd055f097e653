//! The pin pipeline offline: fixture tree → scan → map-backed resolver →
//! plan → edit, checked byte for byte, and run twice for idempotence.

use imgpin::commands::pin::{run_with, Mode};
use imgpin::plan::PinOptions;
use imgpin::report::{Format, Printer, Status};
use imgpin::resolve::StaticResolver;
use imgpin::scan::{scan, WalkOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

pub fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// Run `pin` over `dir` offline and return (status, stdout, stderr).
pub fn pin(
    dir: &Path,
    resolver: &StaticResolver,
    options: PinOptions,
    mode: Mode,
) -> (Status, String, String) {
    let (out, err) = (Buf::default(), Buf::default());
    let mut printer = Printer::new(
        Format::Text,
        (false, false),
        false,
        false,
        Box::new(out.clone()),
        Box::new(err.clone()),
    );
    let scanned = scan(&WalkOptions {
        paths: vec![dir.to_path_buf()],
        max_file_size: 10 << 20,
        ..WalkOptions::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime
        .block_on(run_with(scanned, resolver, options, mode, &mut printer))
        .unwrap();
    (status, out.text(), err.text())
}

fn resolver() -> StaticResolver {
    let (a, b, c) = (digest('a'), digest('b'), digest('c'));
    StaticResolver::new([
        ("localhost:5000/shop/api:1.4", a.as_str()),
        ("localhost:5000/shop/envoy:v1.31", b.as_str()),
        ("localhost:5000/shop/web:2.0", c.as_str()),
        ("localhost:5000/shop/migrate:latest", a.as_str()),
    ])
    .unwrap()
}

fn copy_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    copy_dir(&src, dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn example_tree_is_pinned_byte_exactly_and_idempotently() {
    let dir = copy_example();
    let before = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();

    let (status, diff, _) = pin(dir.path(), &resolver(), PinOptions::default(), Mode::Diff);
    assert_eq!(status, Status::Clean);
    assert!(
        diff.contains(&format!(
            "+          image: localhost:5000/shop/api:1.4@{}\n",
            digest('a')
        )),
        "{diff}"
    );
    // Diff mode writes nothing.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        before
    );

    let (status, _, err) = pin(dir.path(), &resolver(), PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Clean, "{err}");
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    let expected = before
        .replace(
            "image: localhost:5000/shop/web:2.0   #",
            &format!("image: localhost:5000/shop/web:2.0@{}   #", digest('c')),
        )
        .replace(
            "'localhost:5000/shop/migrate'",
            &format!("'localhost:5000/shop/migrate:latest@{}'", digest('a')),
        );
    assert_eq!(after, expected);

    let (status, diff, err) = pin(
        dir.path(),
        &resolver(),
        PinOptions {
            update: false,
            check: true,
        },
        Mode::Check,
    );
    assert_eq!(
        status,
        Status::Clean,
        "second run must change nothing: {diff}{err}"
    );
    assert_eq!(diff, "");
}

#[test]
fn check_mode_fails_when_something_would_change() {
    let dir = copy_example();
    let (status, diff, _) = pin(
        dir.path(),
        &resolver(),
        PinOptions {
            update: false,
            check: true,
        },
        Mode::Check,
    );
    assert_eq!(status, Status::Findings);
    assert!(diff.contains("@sha256:"), "{diff}");
}

#[test]
fn a_failed_reference_leaves_its_file_untouched_and_others_are_pinned() {
    let dir = copy_example();
    let partial =
        StaticResolver::new([("localhost:5000/shop/web:2.0", digest('c').as_str())]).unwrap();
    let task = dir.path().join("ecs/task-definition.json");
    let before = std::fs::read(&task).unwrap();
    let (status, _, err) = pin(dir.path(), &partial, PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Error);
    assert_eq!(
        std::fs::read(&task).unwrap(),
        before,
        "file with a failure must be untouched"
    );
    assert!(err.contains("ecs/task-definition.json:11:17:"), "{err}");
    assert!(
        err.contains("localhost:5000/shop/api:1.4: manifest unknown"),
        "{err}"
    );
    // compose.yaml's web image resolved, but migrate did not: untouched too.
    // The Kubernetes file failed entirely. Nothing written anywhere.
    let compose = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/compose.yaml"),
    )
    .unwrap();
    assert_eq!(compose, original);
    assert!(
        err.contains("left unchanged: 1 reference(s) in this file failed"),
        "{err}"
    );
}

#[test]
fn update_replaces_a_moved_digest_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yml");
    let old = format!(
        "services:\n  a:\n    image: localhost:5000/x:1@{}\n  b:\n    image: localhost:5000/y@{}\n",
        digest('a'),
        digest('b')
    );
    std::fs::write(&file, &old).unwrap();
    let moved = StaticResolver::new([("localhost:5000/x:1", digest('d').as_str())]).unwrap();
    let (status, _, _) = pin(dir.path(), &moved, PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Clean);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        old,
        "without --update pins are never touched"
    );
    let (status, _, err) = pin(
        dir.path(),
        &moved,
        PinOptions {
            update: true,
            check: false,
        },
        Mode::Write,
    );
    assert_eq!(status, Status::Clean, "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        old.replace(
            &format!("x:1@{}", digest('a')),
            &format!("x:1@{}", digest('d'))
        )
    );
    // The digest-only reference is said to be not updatable (a warning, shown).
    assert!(
        err.contains(&format!(
            "compose.yml:5:12: warning: localhost:5000/y@{} is pinned by digest only; no tag to follow, not updatable",
            digest('b')
        )),
        "{err}"
    );
}

#[test]
fn crlf_bom_and_missing_final_newline_survive_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.prod.yml");
    let original = "\u{feff}# prod\r\nservices:\r\n  web:\r\n    image: \"localhost:5000/shop/web:2.0\" # é\r\n  api:\r\n    image: localhost:5000/shop/api:1.4";
    std::fs::write(&file, original).unwrap();
    let (status, _, err) = pin(dir.path(), &resolver(), PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Clean, "{err}");
    let expected = original
        .replace("web:2.0\"", &format!("web:2.0@{}\"", digest('c')))
        .replace("api:1.4", &format!("api:1.4@{}", digest('a')));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
}

/// A platform team's tree in one go: a Dockerfile whose `RUN` quotes a `<<`
/// and has a blank line inside a continuation (both once hid every later
/// stage), a Compose service that builds (its `image` is the build's tag and
/// must stay as written) with a `docker-image://` build context, a composite
/// action with a `docker://` step, and a multi-node Batch job definition.
/// Every image is pinned byte-exactly, nothing else moves, a second run is
/// clean.
#[test]
fn platform_tree_with_dockerfile_compose_build_composite_action_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let files: [(&str, String); 4] = [
        (
            "Dockerfile",
            "# syntax=localhost:5000/shop/web:2.0\r\nFROM localhost:5000/shop/api:1.4 AS build\r\nRUN echo 'x<<END' && \\\r\n\r\n    echo done\r\nFROM localhost:5000/shop/web:2.0\r\nCOPY --chown=app:app --from=build /out /app\r\nCOPY --from=localhost:5000/shop/envoy:v1.31 /usr/local/bin/envoy /bin/".to_string(),
        ),
        (
            "compose.yaml",
            "services:\n  api:\n    build:\n      context: .\n      additional_contexts:\n        base: docker-image://localhost:5000/shop/web:2.0\n    image: localhost:5000/shop/api:dev\n  db:\n    image: localhost:5000/shop/migrate\n".to_string(),
        ),
        (
            "action.yml",
            "name: lint\nruns:\n  using: composite\n  steps:\n    - uses: docker://localhost:5000/shop/envoy:v1.31\n    - run: echo é\n      shell: bash\n".to_string(),
        ),
        (
            "batch.yaml",
            "Resources:\n  Job:\n    Type: AWS::Batch::JobDefinition\n    Properties:\n      NodeProperties:\n        NodeRangeProperties:\n          - TargetNodes: \"0:\"\n            Container:\n              Image: localhost:5000/shop/api:1.4\n".to_string(),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let (status, _, err) = pin(dir.path(), &resolver(), PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Clean, "{err}");
    let (a, b, c) = (digest('a'), digest('b'), digest('c'));
    let expected = [
        files[0]
            .1
            .replace("api:1.4 AS", &format!("api:1.4@{a} AS"))
            .replace("web:2.0\r\n", &format!("web:2.0@{c}\r\n"))
            .replace("envoy:v1.31 ", &format!("envoy:v1.31@{b} ")),
        files[1]
            .1
            .replace("web:2.0\n", &format!("web:2.0@{c}\n"))
            .replace("migrate\n", &format!("migrate:latest@{a}\n")),
        files[2]
            .1
            .replace("envoy:v1.31\n", &format!("envoy:v1.31@{b}\n")),
        files[3].1.replace("api:1.4\n", &format!("api:1.4@{a}\n")),
    ];
    for ((name, _), want) in files.iter().zip(expected) {
        let got = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(got, want, "{name}");
    }
    let (status, diff, err) = pin(
        dir.path(),
        &resolver(),
        PinOptions {
            update: false,
            check: true,
        },
        Mode::Check,
    );
    assert_eq!(status, Status::Clean, "second run: {diff}{err}");
    assert_eq!(diff, "");
}

/// A Latin-1 comment (not UTF-8) once made the whole file invisible; now
/// its images are pinned and every other byte is kept as it was.
#[test]
fn a_file_with_latin1_comments_is_pinned_byte_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Dockerfile");
    let original: &[u8] = b"# \xc9tape de build \xe0 part\nFROM localhost:5000/shop/api:1.4 AS build\nFROM localhost:5000/shop/web:2.0\n";
    std::fs::write(&file, original).unwrap();
    let (status, _, err) = pin(dir.path(), &resolver(), PinOptions::default(), Mode::Write);
    assert_eq!(status, Status::Clean, "{err}");
    let mut expected = b"# \xc9tape de build \xe0 part\n".to_vec();
    expected.extend_from_slice(
        format!(
            "FROM localhost:5000/shop/api:1.4@{} AS build\nFROM localhost:5000/shop/web:2.0@{}\n",
            digest('a'),
            digest('c')
        )
        .as_bytes(),
    );
    assert_eq!(std::fs::read(&file).unwrap(), expected);
}

/// Files are written side by side, a batch at a time: every file of a
/// tree bigger than a batch is pinned, and a file that changed after it
/// was read fails alone, reported at that file, in file order.
#[test]
fn writes_side_by_side_keep_each_file_its_own_result() {
    let dir = tempfile::tempdir().unwrap();
    let text = "services:\n  a:\n    image: localhost:5000/shop/api:1.4\n";
    for i in 0..150 {
        std::fs::write(dir.path().join(format!("f{i:03}.yaml")), text).unwrap();
    }
    let scanned = scan(&WalkOptions {
        paths: vec![dir.path().to_path_buf()],
        ..WalkOptions::default()
    })
    .unwrap();
    // Edited by someone else between the scan and the write.
    let edited = format!("{text}# edited\n");
    std::fs::write(dir.path().join("f100.yaml"), &edited).unwrap();
    let (out, err) = (Buf::default(), Buf::default());
    let mut printer = Printer::new(
        Format::Text,
        (false, false),
        false,
        false,
        Box::new(out.clone()),
        Box::new(err.clone()),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime
        .block_on(run_with(
            scanned,
            &resolver(),
            PinOptions::default(),
            Mode::Write,
            &mut printer,
        ))
        .unwrap();
    assert_eq!(status, Status::Error);
    let pinned = format!("image: localhost:5000/shop/api:1.4@{}", digest('a'));
    for i in (0..150).filter(|i| *i != 100) {
        let now = std::fs::read_to_string(dir.path().join(format!("f{i:03}.yaml"))).unwrap();
        assert!(now.contains(&pinned), "f{i:03}.yaml: {now}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f100.yaml")).unwrap(),
        edited
    );
    let err = err.text();
    let errors: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("f100.yaml"), "{err}");
    assert!(err.contains("149 files written"), "{err}");
}
