//! Kubernetes manifests: workloads, lists, custom resources, Helm templates.

use super::*;

#[test]
fn kubernetes_multi_document_workloads() {
    check(
        fixture!("k8s-multi.yaml"),
        Format::Kubernetes,
        &[
            (
                "spec.template.spec.initContainers[0].image",
                "registry.example.com/shop/checkout-migrate:2.14.0",
                (21, 19),
                None,
            ),
            (
                "spec.template.spec.containers[0].image",
                "registry.example.com/shop/checkout:2.14.0",
                (25, 18),
                None,
            ),
            (
                "spec.template.spec.containers[1].image",
                "docker.io/istio/proxyv2:1.22.3",
                (30, 18),
                None,
            ),
            (
                "document 4: spec.jobTemplate.spec.template.spec.containers[0].image",
                "registry.example.com/shop/checkout-tools:2.14.0",
                (58, 23),
                None,
            ),
            (
                "document 5: spec.containers[0].image",
                "registry.example.com/shop/checkout:2.14.0",
                (68, 14),
                None,
            ),
            (
                "document 5: spec.ephemeralContainers[0].image",
                "busybox:1.36",
                (71, 14),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_list_items() {
    check(
        fixture!("k8s-list.yaml"),
        Format::Kubernetes,
        &[
            (
                "items[0].spec.template.spec.containers[0].image",
                "redis:7.2.5",
                (14, 22),
                None,
            ),
            (
                "items[2].spec.template.spec.containers[0].image",
                "quay.io/prometheus/node-exporter:v1.8.1",
                (30, 22),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_argo_rollout() {
    check(
        fixture!("argo-rollout.yaml"),
        Format::Kubernetes,
        &[(
            "spec.template.spec.containers[0].image",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/storefront:4.2.0",
            (22, 18),
            None,
        )],
    );
}

#[test]
fn kubernetes_json_manifest_with_multibyte_text() {
    check(
        fixture!("k8s-pod.json"),
        Format::Kubernetes,
        &[
            (
                "spec.initContainers[0].image",
                "busybox:1.36",
                (10, 35),
                None,
            ),
            (
                "spec.containers[0].image",
                "ghcr.io/example/net-probe:0.4.1",
                (13, 36),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_aliased_image_is_reported_once_and_odd_shapes_are_ignored() {
    let text = "\
apiVersion: v1
kind: Pod
spec:
  containers:
    - {name: a, image: &img \"nginx:1.27\"}
    - {name: b, image: *img}
    - {name: c}
    - plain-string
  initContainers: {not: a list}
  ephemeralContainers: []
";
    let bytes = text.as_bytes();
    let located = locate(Path::new("pod.yaml"), bytes).unwrap().unwrap();
    check_invariants(bytes, &located);
    let got: Vec<_> = located
        .occurrences
        .iter()
        .map(|o| (o.location.as_str(), o.skip.clone()))
        .collect();
    assert_eq!(got, [("spec.containers[0].image", None)]);
}

#[test]
fn kubernetes_object_without_containers_is_recognised_with_nothing_to_pin() {
    let bytes = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  image: app:1.2.3\n";
    let located = locate(Path::new("config.yaml"), bytes).unwrap().unwrap();
    assert_eq!(located.format, Format::Kubernetes);
    assert!(located.occurrences.is_empty());
}

#[test]
fn helm_template_is_a_note_not_an_error() {
    let (name, bytes) = fixture!("helm-deployment.yaml");
    let located = locate(Path::new(name), bytes).unwrap().unwrap();
    assert_eq!(located.format, Format::Kubernetes);
    assert!(located.occurrences.is_empty());
    assert_eq!(
        located.note.as_deref(),
        Some("looks like a Helm/Go template; not parsed")
    );
}

#[test]
fn kubernetes_image_volumes_step_actions_and_tekton_bundles() {
    check(
        fixture!("k8s-volumes-tekton.yaml"),
        Format::Kubernetes,
        &[
            (
                "spec.containers[0].image",
                "registry.example.com/ml/server:3.2",
                (9, 14),
                None,
            ),
            (
                "spec.volumes[0].image.reference",
                "registry.example.com/ml/weights:2026-11",
                (15, 20),
                None,
            ),
            (
                "document 2: spec.image",
                "ghcr.io/example/git-init:v0.40.2",
                (25, 12),
                None,
            ),
            (
                "document 3: spec.tasks[0].taskRef.params[0].value",
                "registry.example.com/tekton/catalog:0.7",
                (40, 21),
                None,
            ),
            (
                "document 3: spec.tasks[1].taskRef.bundle",
                "registry.example.com/tekton/legacy:0.1",
                (48, 17),
                None,
            ),
        ],
    );
}

#[test]
fn custom_resources_own_images_under_spec() {
    check(
        fixture!("k8s-custom-resources.yaml"),
        Format::Kubernetes,
        &[
            (
                "spec.image",
                "quay.io/prometheus/prometheus:v2.54.1",
                (9, 10),
                None,
            ),
            (
                "document 2: spec.template.spec.volumes[0].containerDisk.image",
                "quay.io/containerdisks/fedora:40",
                (22, 20),
                None,
            ),
        ],
    );
}
