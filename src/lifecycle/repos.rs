//! Grouping in-use entries by ECR repository (account, Region, name) and
//! resolving each entry to the digest it uses in a repository's image list.
//! Pure.

use std::collections::BTreeMap;

use crate::in_use::InUseEntry;
use crate::lifecycle::ImageDetail;
use crate::reference::ecr::{parse_ecr_host, Repo};
use crate::report::{Code, Finding, Severity};

/// The in-use entries of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoGroup {
    /// The repository.
    pub repo: Repo,
    /// Its entries.
    pub entries: Vec<InUseEntry>,
}

impl RepoGroup {
    /// An error about the whole repository (a failed ECR call), placed where the
    /// repository is first used and naming the other uses, so that the user finds the
    /// file, service or `--in-use` value that leads to it.
    pub fn failure(&self, message: String) -> Finding {
        let Some(first) = self.entries.first() else {
            return Finding::new(Code::AwsError, Severity::Error, message)
                .location(self.repo.to_string());
        };
        let others: Vec<&str> = self
            .entries
            .iter()
            .skip(1)
            .map(|e| e.label.as_str())
            .filter(|l| *l != first.label)
            .collect();
        let message = match others.len() {
            0 => message,
            1..=3 => format!("{message} (also used by {})", others.join(", ")),
            n => format!(
                "{message} (also used by {} and {} more)",
                others[..3].join(", "),
                n - 3
            ),
        };
        first.finding(Code::AwsError, Severity::Error, message)
    }
}

/// What [`group_by_repository`] sorts entries into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouped {
    /// ECR references, per (account, region, repository), sorted.
    pub groups: Vec<RepoGroup>,
    /// Bare digests: they apply to every repository that holds them.
    pub bare: Vec<InUseEntry>,
    /// References to other registries: no lifecycle policy applies.
    pub foreign: Vec<InUseEntry>,
}

/// Groups entries by ECR repository (account, region, repository name); the first host
/// spelling seen for a repository is the one its calls use.
pub fn group_by_repository(entries: Vec<InUseEntry>) -> Grouped {
    let mut groups: BTreeMap<(String, String, String), RepoGroup> = BTreeMap::new();
    let mut out = Grouped::default();
    for entry in entries {
        let Some(reference) = &entry.reference else {
            out.bare.push(entry);
            continue;
        };
        let Some(host) = parse_ecr_host(reference.domain()) else {
            out.foreign.push(entry);
            continue;
        };
        let key = (
            host.account.clone(),
            host.region.clone(),
            reference.repository().to_owned(),
        );
        let repository = reference.repository().to_owned();
        groups
            .entry(key)
            .or_insert_with(|| RepoGroup {
                repo: Repo { host, repository },
                entries: Vec::new(),
            })
            .entries
            .push(entry);
    }
    out.groups = groups.into_values().collect();
    out
}

/// One entry resolved against a repository's image list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The entry.
    pub entry: InUseEntry,
    /// The digest checked: the entry's own, or the one its tag points at in the snapshot.
    pub digest: Option<String>,
    /// Set when the entry named a tag only: that tag (resolved, or not found when
    /// `digest` is `None`).
    pub tag: Option<String>,
    /// A bare digest, which only concerns repositories that hold it.
    pub bare: bool,
}

/// Resolves each entry to the digest it uses; tag-only references go through the same
/// image list the policy is evaluated on (`latest` when no tag is written).
pub fn resolve_uses(entries: &[InUseEntry], images: &[ImageDetail]) -> Vec<Use> {
    entries
        .iter()
        .map(|entry| {
            if let Some(d) = &entry.digest {
                return Use {
                    entry: entry.clone(),
                    digest: Some(d.clone()),
                    tag: None,
                    bare: entry.reference.is_none(),
                };
            }
            let tag = entry
                .reference
                .as_ref()
                .map_or("latest", |r| r.tag_or_latest())
                .to_owned();
            let digest = images
                .iter()
                .find(|i| i.tags.contains(&tag))
                .map(|i| i.digest.clone());
            Use {
                entry: entry.clone(),
                digest,
                tag: Some(tag),
                bare: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::*;

    #[test]
    fn grouping_by_account_region_and_repository() {
        let entries = vec![
            entry(&format!("{HOST}/api:1")),
            entry(&format!("{HOST}/api:2")),
            entry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"),
            entry(&format!("{HOST}/team/web:1")),
            entry("nginx:1.27"),
            entry(D1),
        ];
        let g = group_by_repository(entries);
        let names: Vec<String> = g
            .groups
            .iter()
            .map(|g| {
                format!(
                    "{}/{}:{}",
                    g.repo.host.region,
                    g.repo.repository,
                    g.entries.len()
                )
            })
            .collect();
        assert_eq!(
            names,
            ["eu-west-1/api:1", "us-east-1/api:2", "us-east-1/team/web:1"]
        );
        assert_eq!(g.bare.len(), 1);
        assert_eq!(g.foreign.len(), 1);
    }

    #[test]
    fn tags_resolve_through_the_snapshot() {
        let uses = resolve_uses(
            &[
                entry(&format!("{HOST}/api:v1")),
                entry(&format!("{HOST}/api")),
                entry(&format!("{HOST}/api:gone")),
                entry(&format!("{HOST}/api:v9@{D3}")),
            ],
            &images(),
        );
        assert_eq!(uses[0].digest.as_deref(), Some(D1));
        assert_eq!(uses[0].tag.as_deref(), Some("v1"));
        assert_eq!(uses[1].digest.as_deref(), Some(D2));
        assert_eq!(uses[1].tag.as_deref(), Some("latest"));
        assert_eq!(uses[2].digest, None);
        assert_eq!(uses[3].digest.as_deref(), Some(D3));
        assert_eq!(uses[3].tag, None);
    }
}
