//! `imgpin lifecycle protect`: tag every in-use image of a repository with a
//! protecting tag (`PutImage` of its own manifest, no layer pushed) and check
//! that a keep rule holds every image carrying it, proposing one when the
//! policy has none. The edits and checks are [`crate::lifecycle::protect`].

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{json, Map, Value as Json};

use super::{fetch_all, group_with_files, live_ecr, policy_file, sources, with_replicas};
use crate::aws::ecr::PutOutcome;
use crate::cli::ProtectArgs;
use crate::commands::count;
use crate::commands::in_use;
use crate::lifecycle::protect::{check_keep_rule, check_tag_prefix, protect_tag, tag_conflict};
use crate::lifecycle::repository::short;
use crate::lifecycle::{live_policy_source, resolve_uses};
use crate::lifecycle::{ImageDetail, Use};
use crate::report::{Code, Finding, Printer, Severity, Status};

/// `imgpin lifecycle protect`.
pub async fn run(args: &ProtectArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let now = Utc::now();
    let prefix = args.tag_prefix.as_str();
    let mut repos_doc = Vec::new();
    let finish = |printer: &mut Printer, repos_doc: Vec<Json>, counts: (usize, usize, usize)| {
        let (tagged, would, already) = counts;
        let line = if args.apply {
            format!(
                "{} tagged, {already} already protected",
                count(tagged, "image")
            )
        } else {
            format!(
                "dry run: {} would be tagged, {already} already protected (add --apply)",
                count(would, "image")
            )
        };
        let mut doc = Map::new();
        doc.insert("tagPrefix".into(), prefix.into());
        doc.insert("apply".into(), args.apply.into());
        doc.insert("repositories".into(), Json::Array(repos_doc));
        doc.insert(
            "summary".into(),
            json!({"tagged": tagged, "wouldTag": would, "alreadyProtected": already}),
        );
        printer.finish_document("lifecycle protect", &line, doc)?;
        anyhow::Ok(printer.status())
    };
    if let Err(message) = check_tag_prefix(prefix) {
        printer.finding(Finding::new(Code::InUseInvalid, Severity::Error, message))?;
        return finish(printer, repos_doc, (0, 0, 0));
    }
    let Ok(file_policy) = policy_file(&args.source, printer)? else {
        return finish(printer, repos_doc, (0, 0, 0));
    };
    let entries = in_use::collect(&sources(&args.source, &args.aws), printer).await?;
    let grouped = group_with_files(&args.walk, entries, printer)?;
    let live = live_ecr(&args.aws);
    let grouped = with_replicas(&live, grouped, &args.source.in_use.region, printer).await?;
    let mut counts = (0, 0, 0);
    let fetched_all = fetch_all(&live, grouped.groups, file_policy.is_none(), args.aws.jobs).await;
    for (mut group, fetched) in fetched_all {
        let repo = group.repo.clone();
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                printer.finding(group.failure(e.to_string()))?;
                continue;
            }
        };
        let mut findings = Vec::new();
        let source = match &file_policy {
            Some(s) => Some(s.clone()),
            None => live_policy_source(&repo, fetched.policy.clone(), &mut findings),
        };
        printer.findings(findings)?;
        group.entries.extend(grouped.bare.iter().cloned());
        let uses = resolve_uses(&group.entries, &fetched.list.images);
        let in_repo: BTreeMap<&str, &ImageDetail> = fetched
            .list
            .images
            .iter()
            .map(|i| (i.digest.as_str(), i))
            .collect();
        // digest → where it is used
        let mut wanted: BTreeMap<String, Vec<&Use>> = BTreeMap::new();
        for u in &uses {
            match &u.digest {
                Some(d) if in_repo.contains_key(d.as_str()) => {
                    if let Some(tag) = &u.tag {
                        printer.finding(u.entry.finding(
                            Code::LifecycleTagResolved,
                            Severity::Note,
                            format!(
                                "{}: no digest written; protecting {} that tag {tag} points at now",
                                u.entry.written(),
                                short(d)
                            ),
                        ))?;
                    }
                    wanted.entry(d.clone()).or_default().push(u)
                }
                Some(_) if u.bare => {}
                _ => printer.finding(u.entry.finding(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    format!("{} is not in {repo}: nothing to protect", u.entry.written()),
                ))?,
            }
        }
        let mut protected_doc = Vec::new();
        let mut protected_digests = BTreeMap::new();
        let need_fetch: Vec<String> = wanted
            .keys()
            .filter(|d| {
                let tag = protect_tag(prefix, d);
                !in_repo[d.as_str()].tags.contains(&tag)
            })
            .cloned()
            .collect();
        let manifests = if args.apply && !need_fetch.is_empty() {
            match live.manifests(&repo, &need_fetch).await {
                Ok(m) => m,
                Err(e) => {
                    printer.finding(group.failure(e.to_string()))?;
                    continue;
                }
            }
        } else {
            BTreeMap::new()
        };
        let mut mutability = None;
        for (digest, users) in &wanted {
            let tag = protect_tag(prefix, digest);
            let first = users[0];
            let labels: Vec<String> = users.iter().map(|u| u.entry.label.clone()).collect();
            // The tag on another image: PutImage would move it (or fail, immutable).
            let holder = fetched
                .list
                .images
                .iter()
                .find(|i| i.digest != *digest && i.tags.contains(&tag));
            let status = if let Some(other) = holder {
                if mutability.is_none() {
                    mutability = Some(live.tag_mutability(&repo).await.ok());
                }
                let known = mutability.as_ref().and_then(Option::as_ref);
                let message = tag_conflict(&repo, digest, &tag, &other.digest, known);
                printer.finding(
                    first
                        .entry
                        .finding(Code::ProtectTag, Severity::Error, message),
                )?;
                "failed"
            } else if in_repo[digest.as_str()].tags.contains(&tag) {
                counts.2 += 1;
                "already-protected"
            } else if !args.apply {
                counts.1 += 1;
                "would-tag"
            } else {
                match manifests.get(digest) {
                    Some(Ok(fetched_manifest)) => {
                        match live.put_tag(&repo, digest, &tag, fetched_manifest).await {
                            Ok(PutOutcome::Tagged) => {
                                counts.0 += 1;
                                "tagged"
                            }
                            Ok(PutOutcome::AlreadyTagged) => {
                                counts.2 += 1;
                                "already-protected"
                            }
                            Err(e) => {
                                printer.finding(first.entry.finding(
                                    Code::AwsError,
                                    Severity::Error,
                                    e.to_string(),
                                ))?;
                                "failed"
                            }
                        }
                    }
                    Some(Err(reason)) => {
                        printer.finding(first.entry.finding(
                            Code::AwsError,
                            Severity::Error,
                            format!(
                                "ECR BatchGetImage for {repo} could not get {digest}: {reason}"
                            ),
                        ))?;
                        "failed"
                    }
                    None => {
                        printer.finding(first.entry.finding(
                            Code::AwsError,
                            Severity::Error,
                            format!(
                                "ECR BatchGetImage for {repo} returned no manifest for {digest}"
                            ),
                        ))?;
                        "failed"
                    }
                }
            };
            if status != "failed" {
                protected_digests.insert(digest.clone(), first.entry.clone());
            }
            let message = match status {
                "tagged" => format!("{repo}: tagged {} as {tag}", short(digest)),
                "would-tag" => format!("{repo}: would tag {} as {tag} (dry run)", short(digest)),
                "already-protected" => {
                    format!("{repo}: {} already carries {tag}", short(digest))
                }
                _ => String::new(),
            };
            if !message.is_empty() {
                printer.finding(
                    first
                        .entry
                        .finding(Code::ProtectTag, Severity::Note, message),
                )?;
            }
            protected_doc.push(json!({
                "digest": digest, "tag": tag, "status": status, "usedBy": labels,
            }));
        }
        let mut rule_findings = Vec::new();
        let rule_doc = check_keep_rule(
            &repo,
            prefix,
            source.as_ref(),
            &fetched.list.images,
            &protected_digests,
            now,
            &mut rule_findings,
        );
        printer.findings(rule_findings)?;
        let mut doc = Map::new();
        doc.insert("repository".into(), repo.repository.clone().into());
        doc.insert("registryId".into(), repo.host.account.clone().into());
        doc.insert("region".into(), repo.host.region.clone().into());
        if let Some(s) = &source {
            s.describe(&mut doc);
        }
        doc.insert("protected".into(), Json::Array(protected_doc));
        doc.insert("rule".into(), rule_doc);
        repos_doc.push(Json::Object(doc));
    }
    finish(printer, repos_doc, counts)
}
