//! ECR registry replication as the lifecycle sees it: the rules of
//! `DescribeRegistry`'s `replicationConfiguration`, and what a rule with
//! `deleteReplication.enabled` means for an evaluation: an expiry in the
//! source repository deletes the replicas too, so the source's policy is
//! evaluated against the uses of every destination the rule feeds
//! ([`fold_replicas`]). Destinations' own policies still act locally. Pure.

use serde_json::Value as Json;

use super::repos::RepoGroup;
use crate::in_use::InUseEntry;
use crate::reference::ecr::{EcrHost, Repo};

/// One registry's replication rules (`DescribeRegistry` in one Region).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replication {
    /// The registry (account) the answer is for.
    pub registry_id: String,
    /// The Region it was asked in: the source Region of its rules.
    pub region: String,
    /// The rules, in order.
    pub rules: Vec<ReplicationRule>,
}

/// One replication rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationRule {
    /// Where images are replicated to: (Region, registry id).
    pub destinations: Vec<(String, String)>,
    /// `PREFIX_MATCH` repository filters; none means every repository.
    pub prefixes: Vec<String>,
    /// `deleteReplication.enabled`: deletions in the source are replicated.
    pub delete_replication: bool,
}

impl ReplicationRule {
    /// Whether the rule replicates `repository`.
    pub fn matches(&self, repository: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| repository.starts_with(p))
    }
}

/// Reads a `DescribeRegistry` answer body asked in `region`. Unknown fields
/// are ignored; a filter type other than `PREFIX_MATCH` is an error (its
/// meaning is unknown, so a rule could feed a destination unnoticed).
pub fn parse_describe_registry(body: &[u8], region: &str) -> Result<Replication, String> {
    let answer: Json =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let registry_id = answer
        .get("registryId")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut out = Replication {
        registry_id,
        region: region.to_owned(),
        rules: Vec::new(),
    };
    let rules = answer
        .get("replicationConfiguration")
        .and_then(|c| c.get("rules"))
        .and_then(Json::as_array);
    for (n, rule) in rules.into_iter().flatten().enumerate() {
        let mut parsed = ReplicationRule::default();
        for d in rule
            .get("destinations")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| d.get(k).and_then(Json::as_str).map(str::to_owned);
            if let (Some(r), Some(id)) = (field("region"), field("registryId")) {
                parsed.destinations.push((r, id));
            }
        }
        for f in rule
            .get("repositoryFilters")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let kind = f
                .get("filterType")
                .and_then(Json::as_str)
                .unwrap_or("PREFIX_MATCH");
            if kind != "PREFIX_MATCH" {
                return Err(format!(
                    "replication rule {} has a repository filter of type {kind:?}, which this imgpin does not know",
                    n + 1
                ));
            }
            if let Some(prefix) = f.get("filter").and_then(Json::as_str) {
                parsed.prefixes.push(prefix.to_owned());
            }
        }
        parsed.delete_replication = rule
            .get("deleteReplication")
            .and_then(|d| d.get("enabled"))
            .and_then(Json::as_bool)
            .unwrap_or(false);
        out.rules.push(parsed);
    }
    Ok(out)
}

/// The groups with every delete-replicated destination's uses added to its
/// source repository's group (made when the source has no use of its own),
/// labelled so that a finding says which replica would lose a running image.
/// Groups stay sorted by (account, Region, repository).
pub fn fold_replicas(mut groups: Vec<RepoGroup>, registries: &[Replication]) -> Vec<RepoGroup> {
    let mut added: Vec<(Repo, Vec<InUseEntry>)> = Vec::new();
    for source in registries {
        for rule in source.rules.iter().filter(|r| r.delete_replication) {
            for (region, registry) in &rule.destinations {
                for group in &groups {
                    let repo = &group.repo;
                    if repo.host.account != *registry
                        || repo.host.region != *region
                        || !rule.matches(&repo.repository)
                    {
                        continue;
                    }
                    let target = Repo {
                        host: EcrHost {
                            account: source.registry_id.clone(),
                            region: source.region.clone(),
                            fips: false,
                            dual_stack: false,
                        },
                        repository: repo.repository.clone(),
                    };
                    let entries = group
                        .entries
                        .iter()
                        .map(|e| InUseEntry {
                            label: format!(
                                "{}, through the replica in {region} (account {registry}; delete replication from {})",
                                e.label, source.region
                            ),
                            ..e.clone()
                        })
                        .collect();
                    added.push((target, entries));
                }
            }
        }
    }
    for (repo, entries) in added {
        let same = |g: &&mut RepoGroup| {
            g.repo.host.account == repo.host.account
                && g.repo.host.region == repo.host.region
                && g.repo.repository == repo.repository
        };
        match groups.iter_mut().find(same) {
            Some(group) => group.entries.extend(entries),
            None => groups.push(RepoGroup { repo, entries }),
        }
    }
    let key = |g: &RepoGroup| {
        let r = &g.repo;
        (
            r.host.account.clone(),
            r.host.region.clone(),
            r.repository.clone(),
        )
    };
    groups.sort_by_cached_key(key);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::group_by_repository;

    const ACCOUNT: &str = "111122223333";

    fn group_of(region: &str, repo: &str, label: &str) -> Vec<RepoGroup> {
        let mut entry = crate::in_use::parse_in_use(&format!(
            "{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}:1"
        ))
        .unwrap()
        .remove(0);
        entry.label = label.to_owned();
        group_by_repository(vec![entry]).groups
    }

    fn registry(delete: bool, filters: &str) -> Replication {
        let body = format!(
            r#"{{"registryId":"{ACCOUNT}","replicationConfiguration":{{"rules":[{{
                "destinations":[{{"region":"eu-west-1","registryId":"{ACCOUNT}"}}],
                "repositoryFilters":{filters},
                "deleteReplication":{{"enabled":{delete}}}}}]}}}}"#
        );
        parse_describe_registry(body.as_bytes(), "us-east-1").unwrap()
    }

    #[test]
    fn a_replica_in_use_counts_in_its_source_when_deletes_replicate() {
        let groups = group_of("eu-west-1", "team/api", "service web (cluster eu)");
        let folded = fold_replicas(groups, &[registry(true, "[]")]);
        assert_eq!(folded.len(), 2, "the source group is made: {folded:?}");
        let source = folded
            .iter()
            .find(|g| g.repo.host.region == "us-east-1")
            .unwrap();
        assert_eq!(source.repo.repository, "team/api");
        assert_eq!(
            source.entries[0].label,
            format!("service web (cluster eu), through the replica in eu-west-1 (account {ACCOUNT}; delete replication from us-east-1)")
        );
        assert_eq!(folded[0].repo.host.region, "eu-west-1", "sorted by Region");
    }

    #[test]
    fn without_delete_replication_or_outside_the_filters_nothing_is_added() {
        let groups = group_of("eu-west-1", "team/api", "web");
        assert_eq!(
            fold_replicas(groups.clone(), &[registry(false, "[]")]),
            groups
        );
        let other = r#"[{"filter":"shop/","filterType":"PREFIX_MATCH"}]"#;
        assert_eq!(
            fold_replicas(groups.clone(), &[registry(true, other)]),
            groups
        );
        let team = r#"[{"filter":"team/","filterType":"PREFIX_MATCH"}]"#;
        assert_eq!(fold_replicas(groups, &[registry(true, team)]).len(), 2);
    }

    #[test]
    fn the_answer_is_read_with_unknown_fields_and_odd_filters_refused() {
        let none = parse_describe_registry(br#"{"registryId":"1"}"#, "us-east-1").unwrap();
        assert!(none.rules.is_empty());
        let odd = br#"{"registryId":"1","replicationConfiguration":{"rules":[{"destinations":[],
            "repositoryFilters":[{"filter":"a","filterType":"REGEX"}]}]}}"#;
        assert!(parse_describe_registry(odd, "us-east-1")
            .unwrap_err()
            .contains("\"REGEX\""));
        assert!(parse_describe_registry(b"<html>", "us-east-1").is_err());
        let plain = registry(false, "[]");
        assert_eq!(
            plain.rules[0].destinations,
            [("eu-west-1".to_owned(), ACCOUNT.to_owned())]
        );
    }
}
