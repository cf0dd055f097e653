//! A described task definition as the ECS API sent it, and the
//! `RegisterTaskDefinition` input made from it (pure, no I/O).
//!
//! The rule of this module: never map the task definition through typed
//! structs. The raw `DescribeTaskDefinition` answer is kept as an
//! order-preserving [`Json`]; the register input is that same document
//! with the read-only fields removed, the images replaced and the tags
//! added, so every field ECS knows today or adds tomorrow is carried over.

use super::json::Json;

/// Fields `DescribeTaskDefinition` returns that `RegisterTaskDefinition` does not accept.
pub const READ_ONLY_FIELDS: [&str; 8] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
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
                })
            })
            .collect()
    }

    /// The `RegisterTaskDefinition` input: the task definition without its
    /// read-only fields, with `images` (container index → new image) put in
    /// place, and the tags (when there are any) appended as `tags`.
    pub fn register_input(&self, images: &[(usize, String)]) -> Json {
        let mut input = self.task_definition.clone();
        input.remove_keys(&READ_ONLY_FIELDS);
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
        if !self.tags.is_empty() {
            input.set("tags", Json::Array(self.tags.clone()));
        }
        input
    }
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
        "containerDefinitions":[{"name":"app","image":"nginx:1.27","cpu":0},{"name":"side","image":"busybox@sha256:00"},{"name":"noimage"}],
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
                    image: "nginx:1.27".into()
                },
                ContainerImage {
                    index: 1,
                    name: "side".into(),
                    image: "busybox@sha256:00".into()
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
            r#"{"containerDefinitions":[{"name":"app","image":"nginx:1.27@sha256:ab","cpu":0},{"name":"side","image":"busybox@sha256:00"},{"name":"noimage"}],"family":"web","networkMode":"bridge","cpu":"256","tags":[{"key":"team","value":"a"}]}"#
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
