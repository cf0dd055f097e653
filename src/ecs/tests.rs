//! `ecs images` logic against a fake [`EcsApi`]: pagination, chunking, every
//! deployment, running digests. moto cannot exercise these (it ignores
//! pagination and the 10-service limit, adds no deployment on UpdateService,
//! and has no `imageDigest`), so they are tested here.

use super::*;
use crate::aws::ecs::{DaemonInfo, RevisionInfo, TaskInfo};
use std::cell::{Cell, RefCell};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn arn(family_rev: &str) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family_rev}")
}

#[derive(Default)]
struct Fake {
    services: Vec<ServiceInfo>,
    /// Tasks and the service they belong to.
    tasks: Vec<TaskInfo>,
    /// The ARNs (`task/N`) of the tasks that stopped.
    stopped: Vec<String>,
    definitions: HashMap<String, TaskDefinitionImages>,
    /// Service deployment ARN → the revision ARNs it names.
    deployments: HashMap<String, Vec<String>>,
    revisions: Vec<RevisionInfo>,
    /// The cluster's capacity providers, and whether one of them is a
    /// Managed Instances one.
    capacity: Vec<String>,
    managed_instances: bool,
    daemons: Vec<DaemonInfo>,
    /// Daemon deployment ARN → the revision ARNs it names.
    daemon_deployments: HashMap<String, Vec<String>>,
    daemon_revisions: Vec<RevisionInfo>,
    page_size: usize,
    calls: RefCell<Vec<String>>,
    /// Services ListServices names that DescribeServices no longer finds
    /// (deleted in between).
    ghosts: Vec<String>,
    /// ListTasks ignores the service filter, as moto does.
    unfiltered: bool,
    /// DescribeTaskDefinition yields once, and the fake counts the calls
    /// in flight together.
    yielding: bool,
    in_flight: Cell<usize>,
    most_in_flight: Cell<usize>,
}

/// Pending once, then ready: lets the other calls of a batch start.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl Fake {
    fn log(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }

    fn calls(&self, prefix: &str) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .cloned()
            .collect()
    }

    fn page(&self, items: Vec<String>, next: Option<String>) -> Page {
        let start: usize = next
            .map(|t| t.trim_start_matches("tok").parse().unwrap())
            .unwrap_or(0);
        let end = (start + self.page_size).min(items.len());
        Page {
            items: items[start..end].to_vec(),
            next: (end < items.len()).then(|| format!("tok{end}")),
        }
    }

    fn task_arns(&self, service: Option<&str>) -> Vec<String> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                service.is_none_or(|s| t.group.as_deref() == Some(&format!("service:{s}")))
            })
            .map(|(i, _)| format!("task/{i}"))
            .collect()
    }

    fn add_definition(&mut self, family_rev: &str, containers: &[(&str, &str)]) {
        let td = TaskDefinitionImages {
            arn: arn(family_rev),
            containers: containers
                .iter()
                .map(|(n, i)| (n.to_string(), i.to_string()))
                .collect(),
            platform: None,
        };
        self.definitions.insert(family_rev.to_string(), td.clone());
        self.definitions.insert(arn(family_rev), td);
    }
}

impl EcsApi for Fake {
    async fn list_services(&self, _cluster: &str, next: Option<String>) -> Result<Page, EcsError> {
        self.log(format!("ListServices {next:?}"));
        let names = self
            .services
            .iter()
            .map(|s| format!("arn:svc/{}", s.name))
            .chain(self.ghosts.iter().map(|g| format!("arn:svc/{g}")))
            .collect();
        Ok(self.page(names, next))
    }

    async fn describe_services(
        &self,
        _cluster: &str,
        names: &[String],
    ) -> Result<(Vec<ServiceInfo>, Vec<String>), EcsError> {
        assert!(
            names.len() <= DESCRIBE_SERVICES_MAX,
            "{} services in one call",
            names.len()
        );
        self.log(format!("DescribeServices {}", names.len()));
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for name in names {
            let short = name.trim_start_matches("arn:svc/");
            match self.services.iter().find(|s| s.name == short) {
                Some(s) => found.push(s.clone()),
                None => missing.push(format!("{name} (MISSING)")),
            }
        }
        Ok((found, missing))
    }

    async fn list_tasks(
        &self,
        _cluster: &str,
        service: Option<&str>,
        stopped: bool,
        next: Option<String>,
    ) -> Result<Page, EcsError> {
        if stopped {
            self.log(format!("ListStoppedTasks {service:?} {next:?}"));
            let service = if self.unfiltered { None } else { service };
            let arns = self
                .task_arns(service)
                .into_iter()
                .filter(|a| self.stopped.contains(a))
                .collect();
            return Ok(self.page(arns, next));
        }
        self.log(format!("ListTasks {service:?} {next:?}"));
        let service = if self.unfiltered { None } else { service };
        let arns = self
            .task_arns(service)
            .into_iter()
            .filter(|a| !self.stopped.contains(a))
            .collect();
        Ok(self.page(arns, next))
    }

    async fn describe_tasks(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskInfo>, EcsError> {
        assert!(
            arns.len() <= DESCRIBE_TASKS_MAX,
            "{} tasks in one call",
            arns.len()
        );
        self.log(format!("DescribeTasks {}", arns.len()));
        Ok(arns
            .iter()
            .map(|a| self.tasks[a.trim_start_matches("task/").parse::<usize>().unwrap()].clone())
            .collect())
    }

    async fn task_definition(&self, name: &str) -> Result<TaskDefinitionImages, EcsError> {
        self.log(format!("DescribeTaskDefinition {name}"));
        if self.yielding {
            self.in_flight.set(self.in_flight.get() + 1);
            self.most_in_flight
                .set(self.most_in_flight.get().max(self.in_flight.get()));
            YieldOnce(false).await;
            self.in_flight.set(self.in_flight.get() - 1);
        }
        self.definitions.get(name).cloned().ok_or_else(|| {
            EcsError::new(
                "DescribeTaskDefinition",
                EcsErrorKind::NotFound,
                format!("task definition {name} not found"),
            )
        })
    }

    async fn deployment_revisions(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError> {
        assert!(
            arns.len() <= DESCRIBE_REVISIONS_MAX,
            "{} deployments",
            arns.len()
        );
        self.log(format!("DescribeServiceDeployments {}", arns.len()));
        Ok(arns
            .iter()
            .flat_map(|a| self.deployments.get(a).cloned().unwrap_or_default())
            .collect())
    }

    async fn service_revisions(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError> {
        assert!(
            arns.len() <= DESCRIBE_REVISIONS_MAX,
            "{} revisions",
            arns.len()
        );
        self.log(format!("DescribeServiceRevisions {}", arns.len()));
        // Like ECS, a revision that is gone is a failure, not an answer.
        Ok(self
            .revisions
            .iter()
            .filter(|r| arns.contains(&r.arn))
            .cloned()
            .collect())
    }

    async fn cluster_capacity(&self, cluster: &str) -> Result<(String, Vec<String>), EcsError> {
        self.log("DescribeClusters".into());
        let arn = format!("arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}");
        Ok((arn, self.capacity.clone()))
    }

    async fn has_managed_instances(
        &self,
        _cluster: &str,
        names: &[String],
    ) -> Result<bool, EcsError> {
        self.log(format!("DescribeCapacityProviders {}", names.join(",")));
        Ok(self.managed_instances)
    }

    async fn list_daemons(
        &self,
        cluster_arn: &str,
        next: Option<String>,
    ) -> Result<Page, EcsError> {
        assert!(cluster_arn.starts_with("arn:aws:ecs:"), "{cluster_arn}");
        self.log(format!("ListDaemons {next:?}"));
        let arns = self.daemons.iter().map(|d| d.arn.clone()).collect();
        Ok(self.page(arns, next))
    }

    async fn describe_daemon(&self, arn: &str) -> Result<DaemonInfo, EcsError> {
        self.log(format!("DescribeDaemon {arn}"));
        Ok(self.daemons.iter().find(|d| d.arn == arn).cloned().unwrap())
    }

    async fn daemon_deployment_revisions(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError> {
        assert!(arns.len() <= DESCRIBE_REVISIONS_MAX);
        self.log(format!("DescribeDaemonDeployments {}", arns.len()));
        Ok(arns
            .iter()
            .flat_map(|a| self.daemon_deployments.get(a).cloned().unwrap_or_default())
            .collect())
    }

    async fn daemon_revisions(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError> {
        assert!(arns.len() <= DESCRIBE_REVISIONS_MAX);
        self.log(format!("DescribeDaemonRevisions {}", arns.len()));
        Ok(self
            .daemon_revisions
            .iter()
            .filter(|r| arns.contains(&r.arn))
            .cloned()
            .collect())
    }
}

fn service(name: &str, deployments: &[&str]) -> ServiceInfo {
    ServiceInfo {
        name: name.to_string(),
        task_definition: deployments.first().map(|d| arn(d)),
        deployments: deployments.iter().map(|d| arn(d)).collect(),
        ..ServiceInfo::default()
    }
}

fn task(group: Option<&str>, td: &str, containers: &[(&str, &str, Option<&str>)]) -> TaskInfo {
    TaskInfo {
        task_definition: arn(td),
        group: group.map(str::to_string),
        containers: containers
            .iter()
            .map(|(n, i, d)| (n.to_string(), i.to_string(), d.map(str::to_string)))
            .collect(),
        cpu_architecture: None,
    }
}

fn run(fake: &Fake, services: &[&str]) -> Result<Vec<InUseImage>, EcsError> {
    let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    futures::executor::block_on(list_images_with(fake, "prod", &services))
}

fn row(
    service: &str,
    td: &str,
    container: &str,
    image: &str,
    digest: Option<&str>,
    source: ImageSource,
) -> InUseImage {
    InUseImage {
        service: service.into(),
        task_definition: arn(td),
        container: container.into(),
        ..InUseImage::new("prod", source, image, digest.map(str::to_string))
    }
}

#[test]
fn every_page_of_services_is_described_ten_at_a_time() {
    let mut fake = Fake {
        page_size: 5,
        ..Fake::default()
    };
    fake.add_definition("app:1", &[("app", "nginx:1.27")]);
    fake.services = (0..23)
        .map(|i| service(&format!("s{i:02}"), &["app:1"]))
        .collect();
    let rows = run(&fake, &[]).unwrap();
    assert_eq!(fake.calls("ListServices").len(), 5, "{:?}", fake.calls(""));
    assert_eq!(
        fake.calls("DescribeServices"),
        [
            "DescribeServices 10",
            "DescribeServices 10",
            "DescribeServices 3"
        ]
    );
    let names: HashSet<&str> = rows.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(names.len(), 23);
    // One DescribeTaskDefinition per task definition, not per service.
    assert_eq!(fake.calls("DescribeTaskDefinition").len(), 1);
}

#[test]
fn every_deployment_counts_not_only_primary() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:2", &[("app", "shop/web:2.0"), ("proxy", "envoy:1.30")]);
    fake.add_definition("web:1", &[("app", "shop/web:1.9"), ("proxy", "envoy:1.30")]);
    // PRIMARY (web:2) and ACTIVE (web:1), a rolling deployment in progress.
    fake.services = vec![service("web", &["web:2", "web:1"])];
    let rows = run(&fake, &[]).unwrap();
    let dep = ImageSource::Deployment;
    assert_eq!(
        rows,
        vec![
            row("web", "web:2", "app", "shop/web:2.0", None, dep),
            row("web", "web:2", "proxy", "envoy:1.30", None, dep),
            row("web", "web:1", "app", "shop/web:1.9", None, dep),
            row("web", "web:1", "proxy", "envoy:1.30", None, dep),
        ]
    );
}

#[test]
fn service_task_definition_given_by_name_is_resolved_not_parsed() {
    // moto's UpdateService stores "web:2" as passed and adds no deployment.
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "web:1")]);
    fake.add_definition("web:2", &[("app", "web:2")]);
    fake.services = vec![ServiceInfo {
        name: "web".into(),
        task_definition: Some("web:2".into()),
        deployments: vec![arn("web:1")],
        ..ServiceInfo::default()
    }];
    let rows = run(&fake, &[]).unwrap();
    let tds: Vec<&str> = rows.iter().map(|r| r.task_definition.as_str()).collect();
    assert_eq!(tds, [arn("web:1"), arn("web:2")]);
    assert_eq!(
        fake.calls("DescribeTaskDefinition"),
        [
            format!("DescribeTaskDefinition {}", arn("web:1")),
            "DescribeTaskDefinition web:2".to_string()
        ]
    );
}

#[test]
fn running_digest_wins_over_the_written_one() {
    let mut fake = Fake {
        page_size: 2,
        ..Fake::default()
    };
    fake.tasks = vec![
        // The tag was resolved when the task started; it now runs D2 although D1 is written.
        task(
            Some("service:web"),
            "web:3",
            &[("app", &format!("shop/web:2.0@{D1}"), Some(D2))],
        ),
        // No imageDigest (as moto): the written digest, else null.
        task(
            Some("service:web"),
            "web:3",
            &[("side", &format!("busybox:1@{D1}"), None)],
        ),
        task(None, "batch:7", &[("job", "shop/batch:nightly", None)]),
        task(
            Some("family:batch"),
            "batch:7",
            &[("job", "shop/batch:nightly", Some(D1))],
        ),
    ];
    let rows = run(&fake, &[]).unwrap();
    let t = ImageSource::Task;
    assert_eq!(
        rows,
        vec![
            row(
                "web",
                "web:3",
                "app",
                &format!("shop/web:2.0@{D1}"),
                Some(D2),
                t
            ),
            row(
                "web",
                "web:3",
                "side",
                &format!("busybox:1@{D1}"),
                Some(D1),
                t
            ),
            row("-", "batch:7", "job", "shop/batch:nightly", None, t),
            row("-", "batch:7", "job", "shop/batch:nightly", Some(D1), t),
        ]
    );
    // Two pages of ListTasks (page size 2), one DescribeTasks per page's chunk.
    assert_eq!(fake.calls("ListTasks").len(), 2);
}

#[test]
fn many_tasks_are_described_a_hundred_at_a_time_and_duplicates_collapse() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.tasks = (0..250)
        .map(|_| {
            task(
                Some("service:web"),
                "web:3",
                &[("app", "shop/web:2.0", Some(D1))],
            )
        })
        .collect();
    let rows = run(&fake, &[]).unwrap();
    assert_eq!(
        fake.calls("DescribeTasks"),
        ["DescribeTasks 100", "DescribeTasks 100", "DescribeTasks 50"]
    );
    assert_eq!(fake.calls("ListTasks").len(), 3);
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// A service deleted between ListServices and DescribeServices is not an
/// error when listing a whole cluster (it would fail every run on a busy one).
#[test]
fn a_service_deleted_while_listing_is_passed_over() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "web:1")]);
    fake.services = vec![service("web", &["web:1"])];
    fake.ghosts = vec!["gone".to_string()];
    let rows = futures::executor::block_on(list_images_with(&fake, "prod", &[])).unwrap();
    assert_eq!(
        rows,
        [row(
            "web",
            "web:1",
            "app",
            "web:1",
            None,
            ImageSource::Deployment
        )]
    );
}

#[test]
fn named_services_limit_services_and_tasks() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "web:1")]);
    fake.add_definition("api:1", &[("app", "api:1")]);
    fake.services = vec![service("web", &["web:1"]), service("api", &["api:1"])];
    fake.tasks = vec![
        task(Some("service:web"), "web:1", &[("app", "web:1", Some(D1))]),
        task(Some("service:api"), "api:1", &[("app", "api:1", Some(D2))]),
        task(None, "api:1", &[("app", "api:1", Some(D2))]),
    ];
    let rows = run(&fake, &["web"]).unwrap();
    assert!(fake.calls("ListServices").is_empty());
    assert_eq!(fake.calls("ListTasks"), ["ListTasks Some(\"web\") None"]);
    assert!(rows.iter().all(|r| r.service == "web"), "{rows:?}");
    assert_eq!(rows.len(), 2);

    // A service named by its ARN: ListTasks gets the name it filters on.
    fake.calls.borrow_mut().clear();
    let by_arn = run(&fake, &["arn:svc/web"]).unwrap();
    assert_eq!(fake.calls("ListTasks"), ["ListTasks Some(\"web\") None"]);
    assert_eq!(by_arn, rows);

    let err = run(&fake, &["web", "nope"]).unwrap_err();
    assert_eq!(err.kind, EcsErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        "ecs:DescribeServices: not found in cluster prod: nope (MISSING)"
    );
}

#[test]
fn a_task_definition_that_cannot_be_described_is_an_error_naming_it() {
    let fake = Fake {
        page_size: 100,
        services: vec![service("web", &["gone:1"])],
        ..Fake::default()
    };
    let err = run(&fake, &[]).unwrap_err();
    assert!(err.to_string().contains(&arn("gone:1")), "{err}");
}

#[test]
fn a_repeated_page_token_ends_the_loop() {
    let calls = RefCell::new(0);
    let items = futures::executor::block_on(all_pages(|_| {
        *calls.borrow_mut() += 1;
        async {
            Ok(Page {
                items: vec!["x".into()],
                next: Some("same".into()),
            })
        }
    }))
    .unwrap();
    assert_eq!(items.len(), 2);
}

#[test]
fn in_use_json_is_the_contract() {
    let r = row(
        "web",
        "web:3",
        "app",
        "nginx:1.27",
        None,
        ImageSource::Deployment,
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"cluster": "prod", "service": "web", "taskDefinition": arn("web:3"),
            "container": "app", "image": "nginx:1.27", "digest": null, "source": "deployment"})
    );
    let back: InUseImage = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    let doc: ImagesDocument = serde_json::from_str(
        r#"{"version":1,"command":"ecs images","cluster":"prod","images":[{"cluster":"prod","service":"-","taskDefinition":"t","container":"c","image":"i","digest":"sha256:x","source":"task"}]}"#,
    )
    .unwrap();
    assert_eq!(doc.images[0].source, ImageSource::Task);
}

#[test]
fn tasks_of_other_services_are_dropped_when_the_filter_is_ignored() {
    // moto's ListTasks ignores serviceName; AWS filters. Either way only web's tasks count.
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "web:1")]);
    fake.services = vec![service("web", &["web:1"])];
    fake.tasks = vec![
        task(Some("service:web"), "web:1", &[("app", "web:1", Some(D1))]),
        task(Some("service:api"), "api:1", &[("app", "api:1", Some(D2))]),
        task(Some("family:batch"), "batch:1", &[("job", "batch:1", None)]),
    ];
    fake.unfiltered = true;
    let api = fake;
    let services = vec!["arn:aws:ecs:us-east-1:1:service/prod/web".to_string()];
    let rows = futures::executor::block_on(list_images_with(&api, "prod", &services));
    // The ARN is not a known service name in the fake: DescribeServices says MISSING.
    assert!(rows.is_err());
    let rows =
        futures::executor::block_on(list_images_with(&api, "prod", &["web".to_string()])).unwrap();
    let tasks: Vec<&InUseImage> = rows
        .iter()
        .filter(|r| r.source == ImageSource::Task)
        .collect();
    assert_eq!(tasks.len(), 1, "{rows:?}");
    assert_eq!(tasks[0].digest.as_deref(), Some(D1));
}

/// Task definitions are described several at a time (each once), not one
/// after another: the fake counts how many calls are in flight together.
#[test]
fn task_definitions_are_described_concurrently_and_once() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    let mut services = Vec::new();
    for i in 0..30 {
        let td = format!("svc{i}:1");
        fake.add_definition(&td, &[("app", &format!("svc{i}:1.0"))]);
        // Two services share each task definition: still one call for it.
        services.push(service(&format!("a{i}"), &[&td]));
        services.push(service(&format!("b{i}"), &[&td]));
    }
    fake.services = services;
    fake.yielding = true;
    let rows = futures::executor::block_on(list_images_with(&fake, "prod", &[])).unwrap();
    assert_eq!(rows.len(), 60);
    assert_eq!(fake.calls("DescribeTaskDefinition").len(), 30);
    let most = fake.most_in_flight.get();
    assert!(
        most > 1 && most <= DESCRIBE_CONCURRENCY,
        "in flight at most: {most}"
    );
}

fn revision_arn(service: &str, id: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:service-revision/prod/{service}/{id}")
}

#[test]
fn service_revisions_bring_the_resolved_digests_and_the_rollback_target() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:2", &[("app", "shop/web:1.1")]);
    let mut web = service("web", &["web:2"]);
    web.revisions = vec![revision_arn("web", 2)];
    web.current_deployment = Some("deployment/web/2".into());
    fake.services = vec![web];
    // The current deployment replaced revision 1 (where a rollback goes)
    // with revision 2 (running); both are described once.
    fake.deployments.insert(
        "deployment/web/2".into(),
        vec![revision_arn("web", 1), revision_arn("web", 2)],
    );
    let revision = |id: u32, td: &str, digest: &str| RevisionInfo {
        arn: revision_arn("web", id),
        service_arn: None,
        task_definition: Some(arn(td)),
        containers: vec![("app".into(), "shop/web:1.1".into(), Some(digest.into()))],
        cpu_architecture: None,
    };
    fake.revisions = vec![revision(1, "web:1", D1), revision(2, "web:2", D2)];
    let rows = run(&fake, &[]).unwrap();
    let mut revisions: Vec<(&str, Option<&str>, Option<&str>)> = rows
        .iter()
        .filter(|r| r.source == ImageSource::Revision)
        .map(|r| {
            (
                r.task_definition.as_str(),
                r.digest.as_deref(),
                r.service_revision.as_deref(),
            )
        })
        .collect();
    revisions.sort();
    let (r1, r2) = (revision_arn("web", 1), revision_arn("web", 2));
    let (td1, td2) = (arn("web:1"), arn("web:2"));
    assert_eq!(
        revisions,
        [
            (td1.as_str(), Some(D1), Some(r1.as_str())),
            (td2.as_str(), Some(D2), Some(r2.as_str())),
        ]
    );
    assert!(rows.iter().all(|r| r.service == "web"));
    assert!(
        !rows.iter().any(|r| r.source == ImageSource::Deployment),
        "the deployment's tag-only row gives way to its revision's digest: {rows:?}"
    );
    assert_eq!(
        fake.calls("DescribeServiceDeployments"),
        ["DescribeServiceDeployments 1"]
    );
    assert_eq!(
        fake.calls("DescribeServiceRevisions"),
        ["DescribeServiceRevisions 2"]
    );
    // The in-use label names the revision.
    let entries = crate::in_use::entries_from_ecs_rows(
        &rows
            .iter()
            .map(crate::in_use::EcsImageRow::from)
            .collect::<Vec<_>>(),
    );
    let last = entries
        .iter()
        .find(|e| e.digest.as_deref() == Some(D1))
        .unwrap();
    assert_eq!(
        last.label,
        "service web revision 1 container app (cluster prod)"
    );
    assert_eq!(last.origin.source, "ecs-revision");
    assert_eq!(last.origin.service_revision.as_deref(), Some(r1.as_str()));
}

#[test]
fn a_service_without_revisions_costs_no_revision_call() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "shop/web:1")]);
    fake.services = vec![service("web", &["web:1"])];
    run(&fake, &[]).unwrap();
    assert!(fake
        .calls("DescribeService")
        .iter()
        .all(|c| c.starts_with("DescribeServices")));
}

#[test]
fn many_deployments_and_revisions_go_twenty_at_a_time() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("s:1", &[("app", "shop/s:1")]);
    for i in 0..25 {
        let name = format!("s{i}");
        let mut s = service(&name, &["s:1"]);
        s.current_deployment = Some(format!("deployment/{name}"));
        fake.deployments
            .insert(format!("deployment/{name}"), vec![revision_arn(&name, 1)]);
        fake.revisions.push(RevisionInfo {
            arn: revision_arn(&name, 1),
            service_arn: None,
            task_definition: Some(arn("s:1")),
            containers: vec![("app".into(), "shop/s:1".into(), Some(D1.into()))],
            cpu_architecture: None,
        });
        fake.services.push(s);
    }
    let rows = run(&fake, &[]).unwrap();
    assert_eq!(
        fake.calls("DescribeServiceDeployments"),
        [
            "DescribeServiceDeployments 20",
            "DescribeServiceDeployments 5"
        ]
    );
    assert_eq!(
        fake.calls("DescribeServiceRevisions"),
        ["DescribeServiceRevisions 20", "DescribeServiceRevisions 5"]
    );
    let services: HashSet<&str> = rows
        .iter()
        .filter(|r| r.source == ImageSource::Revision)
        .map(|r| r.service.as_str())
        .collect();
    assert_eq!(
        services.len(),
        25,
        "each revision is its service's (read from the ARN)"
    );
}

#[test]
fn recently_stopped_tasks_count_with_their_digest() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "shop/web:1")]);
    fake.services = vec![service("web", &["web:1"])];
    fake.tasks = vec![
        task(
            Some("service:web"),
            "web:1",
            &[("app", "shop/web:1", Some(D1))],
        ),
        task(
            Some("service:web"),
            "web:1",
            &[("app", "shop/web:1", Some(D2))],
        ),
    ];
    fake.stopped = vec!["task/1".into()];
    let rows = run(&fake, &[]).unwrap();
    let tasks: Vec<(ImageSource, Option<&str>)> = rows
        .iter()
        .filter(|r| r.source != ImageSource::Deployment)
        .map(|r| (r.source, r.digest.as_deref()))
        .collect();
    assert_eq!(
        tasks,
        [
            (ImageSource::Task, Some(D1)),
            (ImageSource::StoppedTask, Some(D2))
        ]
    );
    assert_eq!(fake.calls("ListStoppedTasks").len(), 1);
}

#[test]
fn source_names_are_the_json_names() {
    for source in ImageSource::ALL {
        assert_eq!(serde_json::to_value(source).unwrap(), source.name());
    }
}

fn daemon_revision_arn(daemon: &str, id: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:daemon-revision/prod/{daemon}/{id}")
}

fn daemon_revision(daemon: &str, id: u32, image: &str, digest: &str) -> RevisionInfo {
    RevisionInfo {
        arn: daemon_revision_arn(daemon, id),
        service_arn: Some(format!(
            "arn:aws:ecs:us-east-1:123456789012:daemon/prod/{daemon}"
        )),
        task_definition: Some(format!(
            "arn:aws:ecs:us-east-1:123456789012:daemon-task-definition/{daemon}:{id}"
        )),
        containers: vec![("agent".into(), image.into(), Some(digest.into()))],
        cpu_architecture: None,
    }
}

#[test]
fn managed_daemons_bring_their_revisions_and_the_rollback_target() {
    let mut fake = Fake {
        page_size: 1,
        capacity: vec!["FARGATE".into(), "mi".into()],
        managed_instances: true,
        ..Fake::default()
    };
    let daemon = |name: &str, revisions: &[u32], deployment: Option<&str>| DaemonInfo {
        arn: format!("arn:aws:ecs:us-east-1:123456789012:daemon/prod/{name}"),
        revisions: revisions
            .iter()
            .map(|id| daemon_revision_arn(name, *id))
            .collect(),
        deployment: deployment.map(str::to_string),
    };
    // `logs` is mid-deployment from revision 1 to 2; its rollback target
    // is revision 1 too (described once). `metrics` has one revision.
    fake.daemons = vec![
        daemon("logs", &[2], Some("daemon-deployment/logs/2")),
        daemon("metrics", &[5], None),
    ];
    fake.daemon_deployments.insert(
        "daemon-deployment/logs/2".into(),
        vec![
            daemon_revision_arn("logs", 1),
            daemon_revision_arn("logs", 2),
            daemon_revision_arn("logs", 1),
        ],
    );
    fake.daemon_revisions = vec![
        daemon_revision("logs", 1, "fluent-bit:4.0", D1),
        daemon_revision("logs", 2, "fluent-bit:4.1", D2),
        daemon_revision("metrics", 5, "agent:7", D1),
    ];
    let rows = run(&fake, &[]).unwrap();
    let daemons: Vec<(Option<&str>, &str, Option<&str>, &str)> = rows
        .iter()
        .filter(|r| r.source == ImageSource::Daemon)
        .map(|r| {
            (
                r.daemon.as_deref(),
                r.image.as_str(),
                r.digest.as_deref(),
                r.daemon_revision
                    .as_deref()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        daemons,
        [
            (Some("logs"), "fluent-bit:4.0", Some(D1), "1"),
            (Some("logs"), "fluent-bit:4.1", Some(D2), "2"),
            (Some("metrics"), "agent:7", Some(D1), "5"),
        ]
    );
    assert!(rows
        .iter()
        .filter(|r| r.source == ImageSource::Daemon)
        .all(|r| r.service == "-" && r.task_definition.contains(":daemon-task-definition/")));
    // Only the provider that is not ECS's own is described; both pages of
    // ListDaemons are read; the three revisions go in one call.
    assert_eq!(
        fake.calls("DescribeCapacityProviders"),
        ["DescribeCapacityProviders mi"]
    );
    assert_eq!(fake.calls("ListDaemons").len(), 2);
    assert_eq!(
        fake.calls("DescribeDaemonDeployments"),
        ["DescribeDaemonDeployments 1"]
    );
    assert_eq!(
        fake.calls("DescribeDaemonRevisions"),
        ["DescribeDaemonRevisions 3"]
    );
}

#[test]
fn daemons_are_asked_for_only_where_managed_instances_can_run_them() {
    // Fargate only: not even DescribeCapacityProviders.
    let fake = Fake {
        page_size: 100,
        capacity: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
        ..Fake::default()
    };
    run(&fake, &[]).unwrap();
    assert_eq!(fake.calls("DescribeClusters").len(), 1);
    assert!(fake.calls("DescribeCapacityProviders").is_empty());
    assert!(fake.calls("ListDaemons").is_empty());
    // An Auto Scaling group provider: described, no Managed Instances.
    let fake = Fake {
        page_size: 100,
        capacity: vec!["asg".into()],
        ..Fake::default()
    };
    run(&fake, &[]).unwrap();
    assert_eq!(fake.calls("DescribeCapacityProviders").len(), 1);
    assert!(fake.calls("ListDaemons").is_empty());
    // Named services: daemons belong to the cluster, not to them.
    let mut fake = Fake {
        page_size: 100,
        capacity: vec!["mi".into()],
        managed_instances: true,
        ..Fake::default()
    };
    fake.add_definition("web:1", &[("app", "shop/web:1")]);
    fake.services = vec![service("web", &["web:1"])];
    run(&fake, &["web"]).unwrap();
    assert!(fake.calls("DescribeClusters").is_empty());
    assert!(fake.calls("ListDaemons").is_empty());
}

#[test]
fn rows_carry_the_platform_ecs_runs_them_on() {
    let mut fake = Fake {
        page_size: 100,
        ..Fake::default()
    };
    fake.add_definition("web:2", &[("app", "shop/web:2")]);
    let arm = crate::locate::task_platform(Some("ARM64"), Some("LINUX"), true);
    for key in ["web:2".to_string(), arn("web:2")] {
        fake.definitions.get_mut(&key).unwrap().platform = arm.clone();
    }
    let mut web = service("web", &["web:2"]);
    web.revisions = vec![revision_arn("web", 2)];
    fake.services = vec![web];
    // ECS runs revision 2 on X86_64 although the task definition says ARM64.
    fake.revisions = vec![RevisionInfo {
        arn: revision_arn("web", 2),
        service_arn: None,
        task_definition: Some(arn("web:2")),
        containers: vec![("app".into(), "shop/web:2".into(), Some(D2.into()))],
        cpu_architecture: Some("X86_64".into()),
    }];
    let mut running = task(
        Some("service:web"),
        "web:2",
        &[("app", "shop/web:2", Some(D2))],
    );
    running.cpu_architecture = Some("arm64".into());
    fake.tasks = vec![running];
    let rows = run(&fake, &[]).unwrap();
    let platform = |source: ImageSource| {
        let row = rows.iter().find(|r| r.source == source).unwrap();
        let p = row.platform.clone().unwrap();
        (p.os.unwrap(), p.architectures.join(","), p.source)
    };
    assert_eq!(
        platform(ImageSource::Revision),
        (
            "linux".into(),
            "amd64".into(),
            "service revision overrides.runtimePlatform.cpuArchitecture X86_64".into()
        )
    );
    assert_eq!(
        platform(ImageSource::Task),
        (
            "linux".into(),
            "arm64".into(),
            "the running task's attribute ecs.cpu-architecture arm64".into()
        )
    );
    // The deployment row gives way to the revision's (it has the digest).
    assert!(rows.iter().all(|r| r.source != ImageSource::Deployment));
    // A task definition without runtimePlatform, not Fargate: unknown.
    assert_eq!(crate::locate::task_platform(None, None, false), None);
}
