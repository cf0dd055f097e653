//! `kubectl get pods -A -o json` as an in-use source: every container of
//! every pod (init and ephemeral ones too), with the digest the node pulled
//! (`status.*containerStatuses[].imageID`), labelled `pod NS/NAME container C`.

use super::{InUseEntry, Origin};
use crate::reference::ImageRef;
use serde_json::Value as Json;

/// Whether `doc` is a Pod or a List of objects whose kinds are Pods
/// (`kubectl get pods -o json` prints a `List`).
pub fn is_pods(doc: &Json) -> bool {
    match doc.get("kind").and_then(Json::as_str) {
        Some("Pod") => true,
        Some("List" | "PodList") => {
            doc.get("items")
                .and_then(Json::as_array)
                .is_some_and(|items| {
                    items.iter().all(|i| {
                        i.get("kind")
                            .and_then(Json::as_str)
                            .is_none_or(|k| k == "Pod")
                    })
                })
        }
        _ => false,
    }
}

/// The digest a container status's `imageID` names: `…@sha256:<hex>` (with
/// or without a `docker-pullable://` prefix). A bare `sha256:` is the image
/// *config* ID a local runtime reports (not a manifest digest): `None`.
fn pulled_digest(image_id: &str) -> Option<String> {
    let (_, digest) = image_id.rsplit_once('@')?;
    crate::digest::Digest::parse(digest)
        .ok()
        .map(|d| d.to_string())
}

/// Where a container of pod `name` (`namespace/name`) comes from.
fn origin(name: &str, container: &str) -> Origin {
    Origin {
        pod: Some(name.to_owned()),
        container: Some(container.to_owned()),
        ..Origin::of("kubernetes")
    }
}

/// The in-use entries of a Pod or a List of Pods, in the document's order.
pub fn entries(doc: &Json, shown: &str) -> Result<Vec<InUseEntry>, String> {
    let pods: Vec<&Json> = match doc.get("items").and_then(Json::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![doc],
    };
    let mut out = Vec::new();
    for (n, pod) in pods.iter().enumerate() {
        let meta = pod.get("metadata");
        let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Json::as_str);
        let name = format!(
            "{}/{}",
            field("namespace").unwrap_or("default"),
            field("name").unwrap_or("?")
        );
        let mut seen = 0;
        for key in [
            "initContainerStatuses",
            "containerStatuses",
            "ephemeralContainerStatuses",
        ] {
            let statuses = pod
                .get("status")
                .and_then(|s| s.get(key))
                .and_then(Json::as_array);
            for status in statuses.into_iter().flatten() {
                let text = |k: &str| status.get(k).and_then(Json::as_str);
                let container = text("name").unwrap_or("?");
                let reference = text("image").and_then(|i| ImageRef::parse(i).ok());
                let digest = text("imageID")
                    .and_then(pulled_digest)
                    .or_else(|| reference.as_ref()?.digest().map(ToString::to_string));
                if reference.is_none() && digest.is_none() {
                    return Err(format!(
                        "{shown}: items[{}] pod {name} container {container}: neither \"image\" nor \"imageID\" names an image",
                        n + 1
                    ));
                }
                out.push(InUseEntry {
                    label: format!("pod {name} container {container} (kubectl)"),
                    place: None,
                    reference,
                    digest,
                    origin: origin(&name, container),
                    platform: None,
                });
                seen += 1;
            }
        }
        // A pod not yet scheduled has no statuses: its spec names the images.
        if seen == 0 {
            for key in ["initContainers", "containers", "ephemeralContainers"] {
                let specs = pod
                    .get("spec")
                    .and_then(|s| s.get(key))
                    .and_then(Json::as_array);
                for spec in specs.into_iter().flatten() {
                    let container = spec.get("name").and_then(Json::as_str).unwrap_or("?");
                    let Some(reference) = spec
                        .get("image")
                        .and_then(Json::as_str)
                        .and_then(|i| ImageRef::parse(i).ok())
                    else {
                        continue;
                    };
                    out.push(InUseEntry {
                        label: format!("pod {name} container {container} (kubectl, not started)"),
                        place: None,
                        digest: reference.digest().map(ToString::to_string),
                        reference: Some(reference),
                        origin: origin(&name, container),
                        platform: None,
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn pods_list_gives_every_container_with_the_pulled_digest() {
        let doc: Json = serde_json::from_str(&format!(
            r#"{{"apiVersion": "v1", "kind": "List", "items": [
              {{"kind": "Pod", "metadata": {{"name": "web-1", "namespace": "shop"}},
                "spec": {{"containers": [{{"name": "app", "image": "nginx:1.27"}}]}},
                "status": {{
                  "initContainerStatuses": [{{"name": "init", "image": "docker.io/library/busybox:1.36",
                      "imageID": "docker.io/library/busybox@{D2}"}}],
                  "containerStatuses": [
                    {{"name": "app", "image": "docker.io/library/nginx:1.27",
                      "imageID": "docker-pullable://nginx@{D1}"}},
                    {{"name": "local", "image": "app:dev", "imageID": "{D2}"}}]}}}},
              {{"kind": "Pod", "metadata": {{"name": "pending", "namespace": "shop"}},
                "spec": {{"containers": [{{"name": "c", "image": "redis:7"}}]}}, "status": {{}}}}
            ]}}"#
        ))
        .unwrap();
        assert!(is_pods(&doc));
        let got = entries(&doc, "pods.json").unwrap();
        let rows: Vec<(String, Option<String>)> = got
            .iter()
            .map(|e| (e.label.clone(), e.digest.clone()))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "pod shop/web-1 container init (kubectl)".into(),
                    Some(D2.into())
                ),
                (
                    "pod shop/web-1 container app (kubectl)".into(),
                    Some(D1.into())
                ),
                // A bare sha256 imageID is a config ID, not a manifest digest.
                ("pod shop/web-1 container local (kubectl)".into(), None),
                (
                    "pod shop/pending container c (kubectl, not started)".into(),
                    None
                ),
            ]
        );
        assert_eq!(got[1].reference.as_ref().unwrap().tag(), Some("1.27"));
        assert!(!is_pods(
            &serde_json::json!({"kind": "List", "items": [{"kind": "Service"}]})
        ));
        let broken = serde_json::json!({"kind": "Pod", "metadata": {"name": "x"},
            "status": {"containerStatuses": [{"name": "c", "image": "${X}", "imageID": ""}]}});
        assert!(entries(&broken, "p.json")
            .unwrap_err()
            .contains("pod default/x container c"));
    }

    #[test]
    fn kubectl_yaml_is_read_like_its_json() {
        let yaml = format!(
            "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata:\n    name: web-1\n    namespace: shop\n  status:\n    containerStatuses:\n    - name: app\n      image: nginx:1.27\n      imageID: docker.io/library/nginx@{D1}\n      ready: true\n      restartCount: 0\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.yaml");
        std::fs::write(&path, yaml).unwrap();
        let got = super::super::parse_in_use(&path.display().to_string()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].label, "pod shop/web-1 container app (kubectl)");
        assert_eq!(got[0].digest.as_deref(), Some(D1));
        std::fs::write(&path, "kind: Service\n").unwrap();
        let err = super::super::parse_in_use(&path.display().to_string()).unwrap_err();
        assert!(err.contains("kubectl get pods -o yaml"), "{err}");
        std::fs::write(&path, "items: [\n").unwrap();
        let err = super::super::parse_in_use(&path.display().to_string()).unwrap_err();
        assert!(err.starts_with(&format!("{}:", path.display())), "{err}");
    }
}
