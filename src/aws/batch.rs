//! AWS Batch through the SDK: the latest `ACTIVE` revision of every job
//! definition of a Region (`DescribeJobDefinitions`, every page) and the
//! image of each container it starts (`containerProperties`, multi-node
//! ranges, `ecsProperties` task containers, `eksProperties` pod containers),
//! as in-use entries. A tag is resolved when a job starts: the entry has a
//! digest only where the definition pins one.

use std::collections::BTreeMap;

use aws_sdk_batch::types::JobDefinition;

use super::Failure;
use crate::in_use::{InUseEntry, Origin};
use crate::reference::ImageRef;

/// The images of the latest active revision of every job definition in the
/// client's Region, labelled `Batch job definition NAME:REV container C (REGION)`.
pub async fn in_use(client: &aws_sdk_batch::Client) -> Result<Vec<InUseEntry>, String> {
    let region = client
        .config()
        .region()
        .map_or_else(String::new, ToString::to_string);
    let all: Vec<JobDefinition> = super::every_page(|next| {
        let sent = client
            .describe_job_definitions()
            .status("ACTIVE")
            .max_results(100)
            .set_next_token(next)
            .send();
        let region = region.as_str();
        async move {
            let out = sent.await.map_err(|e| {
                Failure::of(&e).words(
                    "batch:DescribeJobDefinitions",
                    &format!("the Batch job definitions of {region}"),
                )
            })?;
            let page = out.job_definitions().to_vec();
            Ok::<_, String>((page, out.next_token().map(str::to_owned)))
        }
    })
    .await?;
    let mut latest: BTreeMap<String, JobDefinition> = BTreeMap::new();
    for jd in all {
        let Some(name) = jd.job_definition_name().map(str::to_owned) else {
            continue;
        };
        if latest
            .get(&name)
            .is_none_or(|kept| jd.revision() > kept.revision())
        {
            latest.insert(name, jd);
        }
    }
    let mut out = Vec::new();
    for (name, jd) in &latest {
        let shown = match jd.revision() {
            Some(r) => format!("{name}:{r}"),
            None => name.clone(),
        };
        for (container, image) in images(jd) {
            let label = match &container {
                Some(c) => format!("Batch job definition {shown} container {c} ({region})"),
                None => format!("Batch job definition {shown} ({region})"),
            };
            let reference = ImageRef::parse(&image)
                .map_err(|e| format!("{label}: image {image:?} is not an image reference: {e}"))?;
            let mut origin = Origin {
                job_definition: Some(shown.clone()),
                container,
                region: Some(region.clone()),
                ..Origin::of("batch")
            };
            if let Some(arn) = jd.job_definition_arn() {
                origin = origin.with_arn(arn);
            }
            out.push(InUseEntry {
                label,
                place: None,
                digest: reference.digest().map(ToString::to_string),
                reference: Some(reference),
                origin,
                platform: None,
            });
        }
    }
    Ok(out)
}

/// Every (container name, image) a job definition starts.
fn images(jd: &JobDefinition) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut push = |name: Option<String>, image: Option<&str>| {
        if let Some(image) = image.map(str::trim).filter(|i| !i.is_empty()) {
            out.push((name, image.to_owned()));
        }
    };
    if let Some(c) = jd.container_properties() {
        push(None, c.image());
    }
    if let Some(nodes) = jd.node_properties() {
        for range in nodes.node_range_properties() {
            let target = range.target_nodes().map(|t| format!("nodes {t}"));
            push(target, range.container().and_then(|c| c.image()));
        }
    }
    if let Some(ecs) = jd.ecs_properties() {
        for task in ecs.task_properties() {
            for c in task.containers() {
                push(c.name().map(str::to_owned), c.image());
            }
        }
    }
    if let Some(pod) = jd.eks_properties().and_then(|e| e.pod_properties()) {
        for c in pod.init_containers().iter().chain(pod.containers()) {
            push(c.name().map(str::to_owned), c.image());
        }
    }
    out
}
