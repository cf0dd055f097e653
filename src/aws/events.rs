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

/// Every ECS task the EventBridge rules and Scheduler schedules of the
/// Region `base` names start.
pub async fn scheduled_tasks(
    base: &aws_config::SdkConfig,
    timeout: Duration,
) -> Result<Vec<ScheduledTask>, String> {
    let region = base.region().map(ToString::to_string).unwrap_or_default();
    let events = super::client_of!(aws_sdk_eventbridge, base, timeout);
    let scheduler = super::client_of!(aws_sdk_scheduler, base, timeout);
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
    let mut buses = super::every_page(|next| {
        let sent = client.list_event_buses().set_next_token(next).send();
        async move {
            let page = sent
                .await
                .map_err(|e| words("events:ListEventBuses", Failure::of(&e)))?;
            let names = page
                .event_buses()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned));
            Ok::<_, String>((names.collect(), page.next_token().map(str::to_owned)))
        }
    })
    .await?;
    if buses.is_empty() {
        buses.push("default".to_owned());
    }
    let mut out = Vec::new();
    for bus in &buses {
        let rules: Vec<String> = super::every_page(|next| {
            let sent = client
                .list_rules()
                .event_bus_name(bus)
                .set_next_token(next)
                .send();
            async move {
                let page = sent
                    .await
                    .map_err(|e| words("events:ListRules", Failure::of(&e)))?;
                let names = page
                    .rules()
                    .iter()
                    .filter_map(|r| r.name().map(str::to_owned));
                Ok::<_, String>((names.collect(), page.next_token().map(str::to_owned)))
            }
        })
        .await?;
        for rule in rules {
            let definitions: Vec<String> = super::every_page(|next| {
                let sent = client
                    .list_targets_by_rule()
                    .rule(&rule)
                    .event_bus_name(bus)
                    .set_next_token(next)
                    .send();
                async move {
                    let page = sent
                        .await
                        .map_err(|e| words("events:ListTargetsByRule", Failure::of(&e)))?;
                    let tds = page
                        .targets()
                        .iter()
                        .filter_map(|t| t.ecs_parameters())
                        .map(|p| p.task_definition_arn().to_owned());
                    Ok::<_, String>((tds.collect(), page.next_token().map(str::to_owned)))
                }
            })
            .await?;
            out.extend(definitions.into_iter().map(|td| ScheduledTask {
                source: "eventbridge",
                owner: format!("EventBridge rule {rule} (bus {bus})"),
                name: rule.clone(),
                task_definition: td,
            }));
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
    let schedules: Vec<(String, String)> = super::every_page(|next| {
        let sent = client.list_schedules().set_next_token(next).send();
        async move {
            let page = sent
                .await
                .map_err(|e| words("scheduler:ListSchedules", Failure::of(&e)))?;
            let found = page.schedules().iter().filter_map(|s| {
                let group = s.group_name().unwrap_or("default").to_owned();
                Some((group, s.name()?.to_owned()))
            });
            Ok::<_, String>((found.collect(), page.next_token().map(str::to_owned)))
        }
    })
    .await?;
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
