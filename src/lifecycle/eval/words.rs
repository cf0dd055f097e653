//! The evaluator's reasons in plain words: why an image is kept, expired or archived,
//! which rule and filter decided, how old it is and how to keep it (retag hints), with
//! version-aware tag ordering for the examples given.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn verdict_reason(
    rules: &[Rule],
    images: &[ImageDetail],
    pass: &Pass,
    i: usize,
    decision: Decision,
    guarded_by: &[String],
    also_marked_by: &[i64],
    now: DateTime<Utc>,
) -> String {
    let img = &images[i];
    match decision {
        Decision::LeftOut => match &img.image_status {
            ImageStatus::Activating => "a restore from archive is in progress (ACTIVATING), so it \
                                        is left out of this evaluation; the result may change once \
                                        the restore completes"
                .to_owned(),
            other => format!(
                "its imageStatus {other:?} is unknown, so it is left out of this evaluation"
            ),
        },
        Decision::Unowned => {
            let class = img
                .image_status
                .storage_class()
                .map_or("", StorageClass::as_policy_str);
            if img.tags.is_empty() {
                format!(
                    "no rule of storage class {class} selects untagged images, so the policy never \
                     touches it"
                )
            } else {
                format!(
                    "its tags ({}) match no rule of storage class {class}, so the policy never \
                     touches it",
                    tag_list(&img.tags)
                )
            }
        }
        Decision::Act { .. } | Decision::Kept | Decision::Guarded => {
            let Some(r) = pass.owner[i] else {
                return String::new();
            };
            let rule = &rules[r];
            let view = &pass.views[r];
            let mut text = format!(
                "{} {}; {}",
                rule.label(),
                rule_sentence(rule),
                image_clause(rule, view, images, i, now)
            );
            match decision {
                Decision::Act { .. } if retag_hint(rule, view, img) => {
                    if let Some(clause) = newer_looking_tag(view, img) {
                        text.push_str(&clause);
                    }
                    text.push_str(" — adding a tag does not change imagePushedAt");
                }
                Decision::Guarded => {
                    let participle = match rule.action {
                        Action::Expire => "expired",
                        Action::Transition { .. } => "archived",
                    };
                    let lists = match guarded_by {
                        [one] => format!("the manifest list {one} still exists and references it"),
                        more => format!(
                            "the manifest lists {} still exist and reference it",
                            join_and(more)
                        ),
                    };
                    text.push_str(&format!(
                        ", but {lists}, so it cannot be {participle} while {} there",
                        if guarded_by.len() == 1 {
                            "that list is"
                        } else {
                            "any of them is"
                        }
                    ));
                }
                _ => {}
            }
            if !matches!(decision, Decision::Act { .. }) && !also_marked_by.is_empty() {
                let lower: Vec<String> = also_marked_by
                    .iter()
                    .filter_map(|p| rules.iter().find(|x| x.rule_priority == *p))
                    .map(|x| format!("{} would {} it", x.label(), x.action.infinitive()))
                    .collect();
                text.push_str(&format!(
                    "; {}, but an image belongs to the first rule whose tags it matches, {}, and \
                     only that rule may act on it",
                    lower.join(" and "),
                    rule.label()
                ));
            }
            text
        }
    }
}

/// What a rule does, in words: "keeps the 5 most recently pushed images tagged `tag*` and
/// expires the others".
pub(super) fn rule_sentence(rule: &Rule) -> String {
    let verb = rule.action.verb();
    let n = rule.count_number;
    match rule.count_type {
        CountType::ImageCountMoreThan => match n {
            0 => format!("{verb} every {}", filter_phrase(rule, false)),
            1 => format!(
                "keeps the most recently pushed {} and {verb} the others",
                filter_phrase(rule, false)
            ),
            _ => format!(
                "keeps the {n} most recently pushed {} and {verb} the others",
                filter_phrase(rule, true)
            ),
        },
        CountType::SinceImagePushed => {
            format!(
                "{verb} {} pushed more than {} ago",
                filter_phrase(rule, true),
                days(n)
            )
        }
        CountType::SinceImagePulled => {
            format!(
                "{verb} {} not pulled for more than {}",
                filter_phrase(rule, true),
                days(n)
            )
        }
        CountType::SinceImageTransitioned => {
            format!(
                "{verb} {} archived more than {} ago",
                filter_phrase(rule, true),
                days(n)
            )
        }
    }
}

/// The images a rule selects, in words.
pub(super) fn filter_phrase(rule: &Rule, plural: bool) -> String {
    let noun = if plural { "images" } else { "image" };
    // "images archived more than N days ago" already says they are archived.
    let class = match (rule.storage_class, rule.count_type) {
        (StorageClass::Archive, CountType::SinceImageTransitioned)
        | (StorageClass::Standard, _) => "",
        (StorageClass::Archive, _) => "archived ",
    };
    match rule.tag_status {
        TagStatus::Any => format!("{class}{noun}"),
        TagStatus::Untagged => format!("untagged {class}{noun}"),
        TagStatus::Tagged => {
            let items: Vec<String> = rule
                .tag_prefixes
                .iter()
                .map(|p| format!("`{p}*`"))
                .chain(rule.tag_patterns.iter().map(|q| format!("`{q}`")))
                .collect();
            match items.as_slice() {
                [] => format!("tagged {class}{noun}"),
                [one] => format!("{class}{noun} tagged {one}"),
                _ => format!("{class}{noun} with tags matching {}", join_and(&items)),
            }
        }
    }
}

/// How the image stands with the rule, in words.
pub(super) fn image_clause(
    rule: &Rule,
    view: &RuleView,
    images: &[ImageDetail],
    i: usize,
    now: DateTime<Utc>,
) -> String {
    let img = &images[i];
    let (t, basis) = reference_time(rule, img);
    let Some(t) = t else {
        return "this digest has no lastArchivedAt, so the rule cannot age it".to_owned();
    };
    let marked = view.marked[i];
    match rule.count_type {
        CountType::ImageCountMoreThan => {
            let when = match basis {
                TimeBasis::Restored => format!(
                    "was restored from archive on {} (a restore counts as a new push)",
                    date(t)
                ),
                _ => format!("was pushed {}", date(t)),
            };
            let newer = view.newer[i].unwrap_or(0);
            let rank = view.rank[i].unwrap_or(0);
            let same_instant = view.same_instant[i];
            let mut text = if marked {
                format!("this digest {when} and {}", newer_ones(newer))
            } else {
                let remaining = u64::try_from(rank)
                    .ok()
                    .and_then(|k| rule.count_number.checked_add(1)?.checked_sub(k))
                    .unwrap_or(0);
                format!(
                    "this digest {when} and ranks {rank} of {} by push time; {} would push it out",
                    view.window,
                    plural(remaining, "more matching push", "more matching pushes")
                )
            };
            if same_instant > 0 {
                text.push_str(&format!(
                    " ({} at the same instant)",
                    plural(
                        u64::try_from(same_instant).unwrap_or(u64::MAX),
                        "other image was pushed",
                        "other images were pushed"
                    )
                ));
            }
            text
        }
        _ => {
            let stamp = format!("{} ({})", date(t), ago(now, t));
            let mut text = match basis {
                TimeBasis::Pushed => format!("this digest was pushed {stamp}"),
                TimeBasis::Restored if rule.count_type == CountType::SinceImagePushed => {
                    format!(
                        "this digest was restored from archive on {stamp}, which counts as a new \
                         push"
                    )
                }
                TimeBasis::Restored | TimeBasis::RestoredNotPulled => {
                    format!(
                        "this digest was restored from archive on {stamp} and not pulled since, so \
                         the restore time counts"
                    )
                }
                TimeBasis::Pulled => format!("this digest was last pulled {stamp}"),
                TimeBasis::NeverPulled => {
                    format!("this digest was never pulled, so its push time {stamp} counts")
                }
                TimeBasis::Archived => format!("this digest was archived {stamp}"),
                TimeBasis::Missing => "this digest has no timestamp for this rule".to_owned(),
            };
            if !marked {
                if let Some(deadline) = plus_days(t, rule.count_number) {
                    text.push_str(&format!("; it qualifies after {}", moment(deadline)));
                }
            }
            text
        }
    }
}

/// Whether to add "adding a tag does not change imagePushedAt": for rules that go by push
/// time, when the image carries several tags, or a tag that sorts newer than a tag of an
/// image the rule keeps (the seed case: `tag-9` on an old digest).
pub(super) fn retag_hint(rule: &Rule, view: &RuleView, img: &ImageDetail) -> bool {
    if !matches!(
        rule.count_type,
        CountType::ImageCountMoreThan | CountType::SinceImagePushed
    ) {
        return false;
    }
    img.tags.len() > 1
        || img.tags.iter().any(|t| {
            view.lowest_kept_tag
                .get(stem(t))
                .is_some_and(|u| natural_cmp(t, u) == Ordering::Greater)
        })
}

/// ", although its tag `t` is newer than theirs" when an acted-on image
/// carries a tag that sorts (in [`natural_cmp`] order) after the tags of the
/// same stem on the images the rule keeps — all of them, or some ("than some
/// of theirs"); `None` otherwise.
pub(super) fn newer_looking_tag(view: &RuleView, img: &ImageDetail) -> Option<String> {
    let mut best: Option<(&str, bool)> = None;
    for tag in &img.tags {
        let stem = stem(tag);
        let Some(low) = view.lowest_kept_tag.get(stem) else {
            continue;
        };
        if natural_cmp(tag, low) != Ordering::Greater {
            continue;
        }
        let above_all = view
            .highest_kept_tag
            .get(stem)
            .is_some_and(|high| natural_cmp(tag, high) == Ordering::Greater);
        if best.is_none_or(|(_, all)| above_all && !all) {
            best = Some((tag, above_all));
        }
    }
    best.map(|(tag, all)| {
        let than = if all { "theirs" } else { "some of theirs" };
        format!(", although its tag `{tag}` is newer than {than}")
    })
}

/// For each tag stem, the lowest (`Less`) or highest (`Greater`) tag, in
/// [`natural_cmp`] order, among the images the rule identifies but does not
/// mark: an acted-on image with a higher tag "looks newer" than an image
/// that is kept.
pub(super) fn kept_tags(
    view: &RuleView,
    images: &[ImageDetail],
    keep: Ordering,
) -> BTreeMap<String, String> {
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    for (j, img) in images.iter().enumerate() {
        if !view.identified[j] || view.marked[j] {
            continue;
        }
        for tag in &img.tags {
            match chosen.get_mut(stem(tag)) {
                Some(current) if natural_cmp(tag, current) == keep => tag.clone_into(current),
                Some(_) => {}
                None => {
                    chosen.insert(stem(tag).to_owned(), tag.clone());
                }
            }
        }
    }
    chosen
}

/// The part of a tag before its first digit (`tag-` of `tag-9`).
pub(super) fn stem(tag: &str) -> &str {
    let end = tag.find(|c: char| c.is_ascii_digit()).unwrap_or(tag.len());
    &tag[..end]
}

/// Compares tags the way people read versions: digit runs by value (`tag-10` > `tag-9`).
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let xd = x.starts_with(|c: char| c.is_ascii_digit());
        let yd = y.starts_with(|c: char| c.is_ascii_digit());
        let (xc, xr) = split_run(x, xd);
        let (yc, yr) = split_run(y, yd);
        let ord = if xd && yd {
            let (xt, yt) = (xc.trim_start_matches('0'), yc.trim_start_matches('0'));
            xt.len().cmp(&yt.len()).then(xt.cmp(yt))
        } else {
            xc.cmp(yc)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        x = xr;
        y = yr;
    }
}

pub(super) fn split_run(s: &str, digits: bool) -> (&str, &str) {
    let end = s
        .find(|c: char| c.is_ascii_digit() != digits)
        .unwrap_or(s.len());
    s.split_at(end)
}

pub(super) fn days(n: u64) -> String {
    plural(n, "day", "days")
}

pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub(super) fn newer_ones(n: usize) -> String {
    match n {
        0 => "no newer one exists".to_owned(),
        1 => "1 newer one exists".to_owned(),
        n => format!("{n} newer ones exist"),
    }
}

pub(super) fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub(super) fn moment(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = now.signed_duration_since(t).num_seconds();
    if secs < 0 {
        "in the future".to_owned()
    } else if secs >= SECS_PER_DAY {
        format!(
            "{} ago",
            days(u64::try_from(secs / SECS_PER_DAY).unwrap_or(0))
        )
    } else if secs >= 3600 {
        format!(
            "{} ago",
            plural(u64::try_from(secs / 3600).unwrap_or(0), "hour", "hours")
        )
    } else {
        "less than an hour ago".to_owned()
    }
}

pub(super) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(super) fn tag_list(tags: &[String]) -> String {
    tags.iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_reads_versions() {
        assert_eq!(natural_cmp("tag-10", "tag-9"), Ordering::Greater);
        assert_eq!(natural_cmp("v1.2.10", "v1.2.9"), Ordering::Greater);
        assert_eq!(natural_cmp("v01", "v1"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "ab"), Ordering::Less);
        assert_eq!(stem("tag-9"), "tag-");
        assert_eq!(stem("latest"), "latest");
    }
}
