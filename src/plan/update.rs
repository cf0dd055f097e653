//! What `pin --update` says about a moved tag (which platforms changed, the
//! revision and build time annotated), and when `--settle` leaves a fresh
//! multi-platform index for a later run. Pure: descriptions in, words out.

use crate::media::ManifestFacts;
use crate::resolve::Description;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// `linux/amd64 and linux/arm64 changed, linux/riscv64 added, 1 unchanged;
/// revision 3f2a1c9, created 2026-12-01T10:00:00Z`: what differs between
/// the manifest a reference was pinned to (`old`, when it could be read)
/// and the one its tag points at now.
pub fn explain(old: Option<&Description>, new: &Description) -> String {
    let mut parts = Vec::new();
    match (old.map(|d| &d.facts), &new.facts) {
        (Some(ManifestFacts::Index { .. }), ManifestFacts::Index { .. }) => {
            let before = platforms(old.map(|d| &d.facts));
            let after = platforms(Some(&new.facts));
            let mut changed = Vec::new();
            let mut added = Vec::new();
            let mut same = 0;
            for (platform, digest) in &after {
                match before.get(platform) {
                    None => added.push(platform.as_str()),
                    Some(d) if d != digest => changed.push(platform.as_str()),
                    Some(_) => same += 1,
                }
            }
            let removed: Vec<&str> = before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(String::as_str)
                .collect();
            for (list, verb) in [
                (&changed, "changed"),
                (&added, "added"),
                (&removed, "removed"),
            ] {
                if !list.is_empty() {
                    parts.push(format!("{} {verb}", and_list(list)));
                }
            }
            if same > 0 {
                parts.push(format!("{same} unchanged"));
            }
            if changed.is_empty() && added.is_empty() && removed.is_empty() {
                parts.push("the same platform manifests in a new index".to_string());
            }
        }
        (Some(ManifestFacts::Image { .. }), ManifestFacts::Index { .. }) => {
            let after: Vec<String> = platforms(Some(&new.facts)).into_keys().collect();
            parts.push(format!(
                "now a multi-platform index ({}), was a single image",
                after.join(", ")
            ));
        }
        (Some(ManifestFacts::Index { children }), ManifestFacts::Image { .. }) => {
            parts.push(format!(
                "now a single image, was an index of {} manifests",
                children.len()
            ));
        }
        (Some(ManifestFacts::Image { .. }), ManifestFacts::Image { .. }) => {
            parts.push("a new image".to_string());
        }
        (None, ManifestFacts::Index { .. }) => {
            let after: Vec<String> = platforms(Some(&new.facts)).into_keys().collect();
            parts.push(format!(
                "a multi-platform index ({}); the old manifest could not be read",
                after.join(", ")
            ));
        }
        (None, ManifestFacts::Image { .. }) => {
            parts.push("a single image; the old manifest could not be read".to_string());
        }
    }
    let mut text = parts.join(", ");
    let mut provenance = Vec::new();
    if let Some(revision) = &new.provenance.revision {
        provenance.push(format!("revision {revision}"));
    }
    if let Some(created) = &new.provenance.created {
        provenance.push(format!("created {created}"));
    }
    if !provenance.is_empty() {
        text.push_str("; ");
        text.push_str(&provenance.join(", "));
    }
    text
}

/// Platform (`linux/arm64/v8`) → child digest of an index, attestation
/// manifests (`unknown/unknown`) left out.
fn platforms(facts: Option<&ManifestFacts>) -> BTreeMap<String, String> {
    let Some(ManifestFacts::Index { children }) = facts else {
        return BTreeMap::new();
    };
    children
        .iter()
        .filter_map(|c| {
            let p = c.platform.as_ref().filter(|p| p.os != "unknown")?;
            Some((p.to_string(), c.digest.clone()))
        })
        .collect()
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Why a multi-platform index should wait (`--settle`): its newest
/// platform manifest was built less than `settle` before `now`. `None` for
/// an image, an index whose build times are unknown, or a settled one.
pub fn settling(new: &Description, settle: chrono::Duration, now: DateTime<Utc>) -> Option<String> {
    if !matches!(new.facts, ManifestFacts::Index { .. }) {
        return None;
    }
    let mut newest: Option<(DateTime<Utc>, String)> = None;
    for (platform, created) in &new.built {
        let Some(at) = created
            .as_deref()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc))
        else {
            continue;
        };
        let name = platform
            .as_ref()
            .map_or("the image".into(), |p| p.to_string());
        if newest.as_ref().is_none_or(|(t, _)| at > *t) {
            newest = Some((at, name));
        }
    }
    let (at, platform) = newest?;
    let age = now.signed_duration_since(at);
    if age >= settle {
        return None;
    }
    Some(format!(
        "its newest platform manifest ({platform}) was built {} ago, less than --settle {}: other architectures may still be on their way",
        human(age),
        human(settle)
    ))
}

/// `2h 5m`, `40m`, `3d 4h`, `12s`.
pub fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Reads `--settle`: a number with a unit, `90s`, `30m`, `6h`, `2d`.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: s, m, h or d (e.g. 6h)"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a number with a unit (e.g. 6h)"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use s, m, h or d"
            ))
        }
    };
    Ok(chrono::Duration::seconds(n.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Child, Platform, Provenance};

    fn platform(s: &str) -> Option<Platform> {
        Some(s.parse().unwrap())
    }

    fn index(children: &[(&str, &str)]) -> Description {
        Description {
            facts: ManifestFacts::Index {
                children: children
                    .iter()
                    .map(|(p, d)| Child {
                        digest: format!("sha256:{d}"),
                        platform: platform(p),
                    })
                    .collect(),
            },
            provenance: Provenance::default(),
            built: Vec::new(),
        }
    }

    #[test]
    fn explains_platform_changes_and_provenance() {
        let old = index(&[
            ("linux/amd64", "a1"),
            ("linux/arm64", "b1"),
            ("linux/s390x", "c1"),
        ]);
        let mut new = index(&[
            ("linux/amd64", "a2"),
            ("linux/arm64", "b2"),
            ("linux/s390x", "c1"),
            ("linux/riscv64", "d1"),
            ("unknown/unknown", "e1"),
        ]);
        new.provenance = Provenance {
            revision: Some("3f2a1c9".into()),
            created: Some("2026-12-01T10:00:00Z".into()),
        };
        assert_eq!(
            explain(Some(&old), &new),
            "linux/amd64 and linux/arm64 changed, linux/riscv64 added, 1 unchanged; revision 3f2a1c9, created 2026-12-01T10:00:00Z"
        );
        let shrunk = index(&[("linux/amd64", "a1")]);
        assert_eq!(
            explain(Some(&old), &shrunk),
            "linux/arm64 and linux/s390x removed, 1 unchanged"
        );
        let image = Description {
            facts: ManifestFacts::Image {
                platform: None,
                config: None,
            },
            provenance: Provenance::default(),
            built: Vec::new(),
        };
        assert_eq!(
            explain(Some(&image), &old),
            "now a multi-platform index (linux/amd64, linux/arm64, linux/s390x), was a single image"
        );
        assert_eq!(explain(Some(&image), &image), "a new image");
    }

    #[test]
    fn settle_waits_for_a_young_index_only() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut new = index(&[("linux/amd64", "a"), ("linux/arm64", "b")]);
        new.built = vec![
            (platform("linux/amd64"), Some("2026-12-05T02:00:00Z".into())),
            (platform("linux/arm64"), Some("2026-12-05T10:30:00Z".into())),
        ];
        let six = parse_duration("6h").unwrap();
        let why = settling(&new, six, now).unwrap();
        assert_eq!(
            why,
            "its newest platform manifest (linux/arm64) was built 1h 30m ago, less than --settle 6h: other architectures may still be on their way"
        );
        assert!(settling(&new, parse_duration("90m").unwrap(), now).is_none());
        new.built = vec![(platform("linux/amd64"), None)];
        assert!(
            settling(&new, six, now).is_none(),
            "unknown build times do not wait"
        );
        assert_eq!(parse_duration("2d").unwrap().num_hours(), 48);
        assert!(parse_duration("6").is_err());
        assert!(parse_duration("6w").unwrap_err().contains("unknown unit"));
    }
}
