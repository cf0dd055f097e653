//! Amazon EventBridge and EventBridge Scheduler through the SDK: the ECS
//! task definitions that rules (every event bus, `ListRules`,
//! `ListTargetsByRule`) and schedules (`ListSchedules`, `GetSchedule`) start
//! as standalone tasks. The caller reads each task definition's images.

use std::time::Duration;

use super::Failure;

/// One ECS task a rule or schedule starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTask {
    /// `eventbridge` (a rule) or `scheduler` (a schedule): the in-use source.
    pub source: &'static str,
    /// `EventBridge rule NAME (bus B)` or `EventBridge Scheduler schedule GROUP/NAME`.
    pub owner: String,
    /// The rule or schedule name.
    pub name: String,
    /// `EcsParameters.taskDefinitionArn` (an ARN, or a family with or without revision).
    pub task_definition: String,
}

/// Every ECS task the EventBridge rules and Scheduler schedules of `region`
/// (else the chain's) start.
pub async fn scheduled_tasks(
    region: Option<&str>,
    profile: Option<&str>,
    timeout: Duration,
) -> Result<Vec<ScheduledTask>, String> {
    let base = super::regional_config(profile, region).await?;
    let region = base.region().map(ToString::to_string).unwrap_or_default();
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&base)
            .retry_config(super::retries())
            .timeout_config(super::timeouts(&base, timeout))
            .build(),
    );
    let scheduler = aws_sdk_scheduler::Client::from_conf(
        aws_sdk_scheduler::config::Builder::from(&base)
            .retry_config(super::retries())
            .timeout_config(super::timeouts(&base, timeout))
            .build(),
    );
    let mut out = rule_tasks(&events, &region).await?;
    out.extend(schedule_tasks(&scheduler, &region).await?);
    Ok(out)
}

async fn rule_tasks(
    client: &aws_sdk_eventbridge::Client,
    region: &str,
) -> Result<Vec<ScheduledTask>, String> {
    let words = |permission: &str, f: Failure| {
        f.words(permission, &format!("the EventBridge rules of {region}"))
    };
    let mut buses = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_event_buses()
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| words("events:ListEventBuses", Failure::of(&e)))?;
        buses.extend(
            page.event_buses()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned)),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    if buses.is_empty() {
        buses.push("default".to_owned());
    }
    let mut out = Vec::new();
    for bus in &buses {
        let mut rules = Vec::new();
        let mut next = None;
        loop {
            let page = client
                .list_rules()
                .event_bus_name(bus)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| words("events:ListRules", Failure::of(&e)))?;
            rules.extend(
                page.rules()
                    .iter()
                    .filter_map(|r| r.name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        for rule in rules {
            let mut next = None;
            loop {
                let page = client
                    .list_targets_by_rule()
                    .rule(&rule)
                    .event_bus_name(bus)
                    .set_next_token(next)
                    .send()
                    .await
                    .map_err(|e| words("events:ListTargetsByRule", Failure::of(&e)))?;
                for target in page.targets() {
                    if let Some(td) = target.ecs_parameters().map(|p| p.task_definition_arn()) {
                        out.push(ScheduledTask {
                            source: "eventbridge",
                            owner: format!("EventBridge rule {rule} (bus {bus})"),
                            name: rule.clone(),
                            task_definition: td.to_owned(),
                        });
                    }
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                    _ => break,
                }
            }
        }
    }
    Ok(out)
}

async fn schedule_tasks(
    client: &aws_sdk_scheduler::Client,
    region: &str,
) -> Result<Vec<ScheduledTask>, String> {
    let words = |permission: &str, f: Failure| {
        f.words(
            permission,
            &format!("the EventBridge Scheduler schedules of {region}"),
        )
    };
    let mut schedules = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_schedules()
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| words("scheduler:ListSchedules", Failure::of(&e)))?;
        for s in page.schedules() {
            if let Some(name) = s.name() {
                schedules.push((
                    s.group_name().unwrap_or("default").to_owned(),
                    name.to_owned(),
                ));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    let mut out = Vec::new();
    for (group, name) in schedules {
        let schedule = client
            .get_schedule()
            .name(&name)
            .group_name(&group)
            .send()
            .await
            .map_err(|e| words("scheduler:GetSchedule", Failure::of(&e)))?;
        let td = schedule
            .target()
            .and_then(|t| t.ecs_parameters())
            .map(|p| p.task_definition_arn());
        if let Some(td) = td {
            out.push(ScheduledTask {
                source: "scheduler",
                owner: format!("EventBridge Scheduler schedule {group}/{name}"),
                name: name.clone(),
                task_definition: td.to_owned(),
            });
        }
    }
    Ok(out)
}
