//! A described task definition as the ECS API sent it, and the
//! `RegisterTaskDefinition` input made from it (pure, no I/O).
//!
//! The rule of this module: never map the task definition through typed
//! structs. The raw `DescribeTaskDefinition` answer is kept as an
//! order-preserving [`Json`]; the register input is that same document
//! with the read-only fields removed, the images replaced and the tags
//! added, so every field ECS knows today or adds tomorrow is carried over.

use super::json::Json;

/// Fields `DescribeTaskDefinition` returns that `RegisterTaskDefinition` does
/// not accept (the ECS API reference's `TaskDefinition` members that are not
/// `RegisterTaskDefinition` request members; `deleteRequestedAt` appears once
/// `DeleteTaskDefinitions` was called).
pub const READ_ONLY_FIELDS: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The members of the `RegisterTaskDefinition` request (ECS API reference,
/// aws-sdk-ecs 1.157). A described field in neither this list nor
/// [`READ_ONLY_FIELDS`] is newer than imgpin: it is kept, and reported.
pub const REGISTER_FIELDS: [&str; 18] = [
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// One `DescribeTaskDefinition` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedTaskDefinition {
    /// `taskDefinitionArn`.
    pub arn: String,
    /// `family`.
    pub family: String,
    /// `revision`.
    pub revision: i64,
    /// The `taskDefinition` object as sent.
    pub task_definition: Json,
    /// The `tags` array as sent (empty when there are none).
    pub tags: Vec<Json>,
}

/// One container's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    /// Position in `containerDefinitions`.
    pub index: usize,
    /// The container's `name`.
    pub name: String,
    /// The `image` as written.
    pub image: String,
    /// `versionConsistency: "disabled"`: ECS resolves a tag at every launch.
    pub tag_per_launch: bool,
}

impl DescribedTaskDefinition {
    /// Parse the body of a `DescribeTaskDefinition` answer.
    pub fn parse(body: &[u8]) -> Result<DescribedTaskDefinition, String> {
        let answer: Json = serde_json::from_slice(body)
            .map_err(|e| format!("DescribeTaskDefinition answer is not JSON: {e}"))?;
        let task_definition = answer
            .get("taskDefinition")
            .cloned()
            .ok_or("DescribeTaskDefinition answer has no taskDefinition")?;
        let text = |key: &str| {
            task_definition
                .get(key)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("DescribeTaskDefinition answer has no {key}"))
        };
        let arn = text("taskDefinitionArn")?;
        let family = text("family")?;
        let revision = task_definition
            .get("revision")
            .and_then(Json::as_i64)
            .ok_or("DescribeTaskDefinition answer has no revision")?;
        let tags = answer
            .get("tags")
            .and_then(Json::as_array)
            .map(<[Json]>::to_vec)
            .unwrap_or_default();
        Ok(DescribedTaskDefinition {
            arn,
            family,
            revision,
            task_definition,
            tags,
        })
    }

    /// `family:revision`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }

    /// Every container's image, in order (containers without an image are left out).
    pub fn images(&self) -> Vec<ContainerImage> {
        containers(&self.task_definition)
            .iter()
            .enumerate()
            .filter_map(|(index, c)| {
                Some(ContainerImage {
                    index,
                    name: c
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string(),
                    image: c.get("image").and_then(Json::as_str)?.to_string(),
                    tag_per_launch: c
                        .get("versionConsistency")
                        .and_then(Json::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case("disabled")),
                })
            })
            .collect()
    }

    /// The top-level fields of the task definition that are neither
    /// `RegisterTaskDefinition` parameters nor known read-only fields: ECS
    /// added them after imgpin was built. They are kept in the register
    /// input; the caller should say so.
    pub fn unknown_fields(&self) -> Vec<String> {
        match &self.task_definition {
            Json::Object(members) => members
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| !READ_ONLY_FIELDS.contains(k) && !REGISTER_FIELDS.contains(k))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The `RegisterTaskDefinition` input: the task definition without its
    /// read-only fields, with `images` (container index → new image) put in
    /// place, and the tags (when there are any) appended as `tags`.
    ///
    /// `"enableFaultInjection": false` (ECS's default, which
    /// `DescribeTaskDefinition` sends for every task definition) is left out
    /// too, so AWS CLIs and tools older than that parameter accept the input;
    /// `true` is kept.
    pub fn register_input(&self, images: &[(usize, String)]) -> Json {
        let mut input = self.task_definition.clone();
        input.remove_keys(&READ_ONLY_FIELDS);
        if input.get("enableFaultInjection") == Some(&Json::Bool(false)) {
            input.remove_keys(&["enableFaultInjection"]);
        }
        if let Some(list) = input
            .get_mut("containerDefinitions")
            .and_then(Json::as_array_mut)
        {
            for (index, image) in images {
                if let Some(container) = list.get_mut(*index) {
                    container.set("image", Json::String(image.clone()));
                }
            }
        }
        let tags: Vec<Json> = self
            .tags
            .iter()
            .filter(|t| !is_reserved_tag(t))
            .cloned()
            .collect();
        if !tags.is_empty() {
            input.set("tags", Json::Array(tags));
        }
        input
    }

    /// The keys of the tags left out of the register input: those with the
    /// `aws:` prefix (any case), which the ECS API reference reserves for AWS
    /// use: tags you register must not carry it (Service Catalog, for one,
    /// puts such tags on what it provisions).
    pub fn reserved_tags(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter(|t| is_reserved_tag(t))
            .filter_map(|t| t.get("key").and_then(Json::as_str).map(str::to_string))
            .collect()
    }
}

fn is_reserved_tag(tag: &Json) -> bool {
    tag.get("key")
        .and_then(Json::as_str)
        .is_some_and(|k| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")))
}

fn containers(task_definition: &Json) -> &[Json] {
    task_definition
        .get("containerDefinitions")
        .and_then(Json::as_array)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:us-east-1:1:task-definition/web:3",
        "containerDefinitions":[{"name":"app","image":"nginx:1.27","cpu":0,"versionConsistency":"disabled"},{"name":"side","image":"busybox@sha256:00"},{"name":"noimage"}],
        "family":"web","revision":3,"status":"ACTIVE","requiresAttributes":[{"name":"x"}],"compatibilities":["EC2"],
        "networkMode":"bridge","registeredAt":"2024-01-01T00:00:00Z","registeredBy":"arn:aws:iam::1:root","cpu":"256"},
        "tags":[{"key":"team","value":"a"}]}"#;

    #[test]
    fn parses_the_answer() {
        let td = DescribedTaskDefinition::parse(ANSWER.as_bytes()).unwrap();
        assert_eq!(td.label(), "web:3");
        assert_eq!(td.arn, "arn:aws:ecs:us-east-1:1:task-definition/web:3");
        assert_eq!(
            td.images(),
            vec![
                ContainerImage {
                    index: 0,
                    name: "app".into(),
                    image: "nginx:1.27".into(),
                    tag_per_launch: true,
                },
                ContainerImage {
                    index: 1,
                    name: "side".into(),
                    image: "busybox@sha256:00".into(),
                    tag_per_launch: false,
                },
            ]
        );
    }

    #[test]
    fn register_input_drops_read_only_fields_keeps_order_and_adds_tags() {
        let td = DescribedTaskDefinition::parse(ANSWER.as_bytes()).unwrap();
        let input = td.register_input(&[(0, "nginx:1.27@sha256:ab".into())]);
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"containerDefinitions":[{"name":"app","image":"nginx:1.27@sha256:ab","cpu":0,"versionConsistency":"disabled"},{"name":"side","image":"busybox@sha256:00"},{"name":"noimage"}],"family":"web","networkMode":"bridge","cpu":"256","tags":[{"key":"team","value":"a"}]}"#
        );
    }

    #[test]
    fn no_tags_means_no_tags_field() {
        let answer = r#"{"taskDefinition":{"taskDefinitionArn":"a","family":"f","revision":1,"containerDefinitions":[]},"tags":[]}"#;
        let td = DescribedTaskDefinition::parse(answer.as_bytes()).unwrap();
        assert_eq!(
            serde_json::to_string(&td.register_input(&[])).unwrap(),
            r#"{"family":"f","containerDefinitions":[]}"#
        );
    }

    /// A `DescribeTaskDefinition` answer with every field ECS returns today,
    /// shaped as a real Fargate service with a FireLens sidecar.
    const FULL_ANSWER: &str = r#"{"taskDefinition":{
        "taskDefinitionArn":"arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:7",
        "containerDefinitions":[
          {"name":"app","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4","cpu":0,
           "portMappings":[{"containerPort":8080,"hostPort":8080,"protocol":"tcp","name":"http","appProtocol":"http"}],
           "essential":true,"environment":[{"name":"MODE","value":"prod"}],
           "environmentFiles":[{"value":"arn:aws:s3:::cfg/app.env","type":"s3"}],
           "mountPoints":[{"sourceVolume":"data","containerPath":"/data","readOnly":false}],"volumesFrom":[],
           "secrets":[{"name":"DB_PASSWORD","valueFrom":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::"}],
           "dependsOn":[{"containerName":"log_router","condition":"START"}],
           "ulimits":[{"name":"nofile","softLimit":65536,"hardLimit":65536}],
           "logConfiguration":{"logDriver":"awsfirelens","options":{"Name":"cloudwatch_logs","region":"eu-west-1"},
             "secretOptions":[{"name":"apikey","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/key"}]},
           "healthCheck":{"command":["CMD-SHELL","curl -f http://localhost:8080/ || exit 1"],"interval":30,"timeout":5,"retries":3,"startPeriod":10},
           "systemControls":[],"restartPolicy":{"enabled":true,"ignoredExitCodes":[0],"restartAttemptPeriod":60},
           "versionConsistency":"enabled"},
          {"name":"log_router","image":"public.ecr.aws/aws-observability/aws-for-fluent-bit:stable","cpu":0,"memoryReservation":50,
           "portMappings":[],"essential":true,"environment":[],"mountPoints":[],"volumesFrom":[],"user":"0",
           "firelensConfiguration":{"type":"fluentbit","options":{"enable-ecs-log-metadata":"true"}},"systemControls":[]}],
        "family":"shop","taskRoleArn":"arn:aws:iam::123456789012:role/shop-task",
        "executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole","networkMode":"awsvpc","revision":7,
        "volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-0123","rootDirectory":"/","transitEncryption":"ENABLED"}}],
        "status":"ACTIVE",
        "requiresAttributes":[{"name":"com.amazonaws.ecs.capability.logging-driver.awsfirelens"},{"name":"ecs.capability.secrets.asm.environment-variables"}],
        "placementConstraints":[],"compatibilities":["EC2","FARGATE"],
        "runtimePlatform":{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"},
        "requiresCompatibilities":["FARGATE"],"cpu":"512","memory":"1024",
        "inferenceAccelerators":[],"pidMode":"task","ipcMode":"none",
        "proxyConfiguration":{"type":"APPMESH","containerName":"envoy","properties":[{"name":"AppPorts","value":"8080"}]},
        "registeredAt":1732000000.123,"deregisteredAt":1732100000.5,"deleteRequestedAt":1732200000.25,
        "registeredBy":"arn:aws:sts::123456789012:assumed-role/deploy/ci",
        "ephemeralStorage":{"sizeInGiB":30},"enableFaultInjection":false},
      "tags":[{"key":"team","value":"platform"}]}"#;

    #[test]
    fn register_input_has_only_register_task_definition_parameters() {
        let td = DescribedTaskDefinition::parse(FULL_ANSWER.as_bytes()).unwrap();
        assert!(td.unknown_fields().is_empty(), "{:?}", td.unknown_fields());
        let input = td.register_input(&[]);
        let Json::Object(members) = &input else {
            panic!("not an object")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "containerDefinitions",
                "family",
                "taskRoleArn",
                "executionRoleArn",
                "networkMode",
                "volumes",
                "placementConstraints",
                "runtimePlatform",
                "requiresCompatibilities",
                "cpu",
                "memory",
                "inferenceAccelerators",
                "pidMode",
                "ipcMode",
                "proxyConfiguration",
                "ephemeralStorage",
                "tags"
            ]
        );
        for key in &keys {
            assert!(REGISTER_FIELDS.contains(key), "{key}");
        }
        // Every block the register input keeps is the described one, unchanged.
        let described = &td.task_definition;
        for key in keys.iter().filter(|k| **k != "tags") {
            assert_eq!(input.get(key), described.get(key), "{key}");
        }
    }

    #[test]
    fn reserved_aws_tags_are_left_out() {
        let answer = FULL_ANSWER.replace(
            r#""tags":[{"key":"team","value":"platform"}]"#,
            r#""tags":[{"key":"AWS:servicecatalog:productArn","value":"x"},{"key":"team","value":"platform"},{"key":"aws:x","value":"y"},{"key":"awsome","value":"z"}]"#,
        );
        let td = DescribedTaskDefinition::parse(answer.as_bytes()).unwrap();
        assert_eq!(
            td.reserved_tags(),
            ["AWS:servicecatalog:productArn", "aws:x"]
        );
        assert_eq!(
            serde_json::to_string(td.register_input(&[]).get("tags").unwrap()).unwrap(),
            r#"[{"key":"team","value":"platform"},{"key":"awsome","value":"z"}]"#
        );
        let only_reserved = FULL_ANSWER.replace(
            r#""tags":[{"key":"team","value":"platform"}]"#,
            r#""tags":[{"key":"aws:x","value":"y"}]"#,
        );
        let td = DescribedTaskDefinition::parse(only_reserved.as_bytes()).unwrap();
        assert!(td.register_input(&[]).get("tags").is_none());
    }

    #[test]
    fn fault_injection_is_kept_when_enabled() {
        let answer = FULL_ANSWER.replace(
            r#""enableFaultInjection":false"#,
            r#""enableFaultInjection":true"#,
        );
        let td = DescribedTaskDefinition::parse(answer.as_bytes()).unwrap();
        assert_eq!(
            td.register_input(&[]).get("enableFaultInjection"),
            Some(&Json::Bool(true))
        );
    }

    #[test]
    fn a_field_newer_than_imgpin_is_kept_and_named() {
        let answer = FULL_ANSWER.replace(
            r#""family":"shop","#,
            r#""family":"shop","futureSetting":{"x":1},"#,
        );
        let td = DescribedTaskDefinition::parse(answer.as_bytes()).unwrap();
        assert_eq!(td.unknown_fields(), ["futureSetting"]);
        assert!(td.register_input(&[]).get("futureSetting").is_some());
    }

    #[test]
    fn bad_answers_are_errors_not_panics() {
        for bad in ["", "[]", "{}", r#"{"taskDefinition":{"family":"f"}}"#] {
            assert!(
                DescribedTaskDefinition::parse(bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }
}
