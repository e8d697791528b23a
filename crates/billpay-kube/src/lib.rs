//! Deploying the backend to Kubernetes: build the environment's kustomize overlay with the image
//! to deploy, apply it by server-side apply, and wait for the rollout, reporting the pods' events
//! when it fails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use kube::{Client, ResourceExt};
use serde::Deserialize;

/// The field manager BillPay's server-side applies use.
pub const FIELD_MANAGER: &str = "billpayctl";

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubectl kustomize failed: {0} (kubectl must be installed to build the overlay)")]
    Kustomize(String),
    #[error("the rendered overlay is not valid YAML: {0}")]
    Yaml(String),
    #[error("cannot reach the cluster in KUBECONFIG: {0}")]
    Unreachable(String),
    #[error("the cluster does not serve {0}; install its CRD or controller first")]
    UnknownKind(String),
    #[error("applying {0}: {1}")]
    Apply(String, String),
    #[error("the rollout of {0} did not finish in {1} s:\n{2}")]
    Rollout(String, u64, String),
}

/// Builds `overlay` with each image (a name such as
/// `123.dkr.ecr.us-east-1.amazonaws.com/billpay-backend`) set to `tag`, through a temporary
/// kustomization on top of the overlay.
pub fn build(overlay: &Path, images: &[String], tag: &str) -> Result<String, KubeError> {
    let overlay = overlay
        .canonicalize()
        .map_err(|e| KubeError::Kustomize(format!("{}: {e}", overlay.display())))?;
    // Kustomize takes only relative resource paths: the temporary kustomization sits next to the
    // overlay, and is removed when done.
    let (Some(parent), Some(name)) = (overlay.parent(), overlay.file_name()) else {
        return Err(KubeError::Kustomize(format!(
            "{} is not an overlay folder",
            overlay.display()
        )));
    };
    let dir = tempfile::Builder::new()
        .prefix(".billpayctl-deploy-")
        .tempdir_in(parent)
        .map_err(|e| KubeError::Kustomize(e.to_string()))?;
    let mut kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../{}\nimages:\n",
        name.to_string_lossy()
    );
    for image in images {
        kustomization += &format!("  - name: {image}\n    newTag: \"{tag}\"\n");
    }
    std::fs::write(dir.path().join("kustomization.yaml"), kustomization)
        .map_err(|e| KubeError::Kustomize(e.to_string()))?;
    let out = Command::new(std::env::var("BILLPAY_KUBECTL").unwrap_or_else(|_| "kubectl".into()))
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .map_err(|e| KubeError::Kustomize(e.to_string()))?;
    if !out.status.success() {
        return Err(KubeError::Kustomize(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| KubeError::Kustomize(e.to_string()))
}

/// The objects of a multi-document YAML stream.
pub fn parse(yaml: &str) -> Result<Vec<DynamicObject>, KubeError> {
    let mut objects = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        let value = serde_json::Value::deserialize(doc).map_err(|e| KubeError::Yaml(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        objects.push(serde_json::from_value(value).map_err(|e| KubeError::Yaml(e.to_string()))?);
    }
    Ok(objects)
}

/// Whether `tag` can be an image tag: 1 to 128 letters, digits, `_`, `.` or `-` (a git SHA is).
pub fn is_image_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 128 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The objects that belong to `services` (by their `app.kubernetes.io/name` label), and the
/// namespace: what deploying only those services applies.
pub fn only_services(objects: Vec<DynamicObject>, services: &[String]) -> Vec<DynamicObject> {
    objects
        .into_iter()
        .filter(|o| {
            o.types.as_ref().is_some_and(|t| t.kind == "Namespace")
                || o.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("app.kubernetes.io/name"))
                    .is_some_and(|n| services.contains(n))
        })
        .collect()
}

/// `Kind/name`, as the deploy commands print objects.
pub fn describe(o: &DynamicObject) -> String {
    let kind = o.types.as_ref().map_or("?", |t| t.kind.as_str());
    format!("{kind}/{}", o.name_any())
}

/// Applies every object by server-side apply, namespaced objects in their namespace.
pub async fn apply(client: &Client, objects: &[DynamicObject]) -> Result<Vec<String>, KubeError> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| KubeError::Unreachable(e.to_string()))?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = Vec::new();
    for o in objects {
        let types = o
            .types
            .as_ref()
            .ok_or_else(|| KubeError::Yaml(format!("{} has no apiVersion/kind", o.name_any())))?;
        let gvk = kube::core::GroupVersionKind::try_from(types).map_err(|e| KubeError::Yaml(e.to_string()))?;
        let (resource, caps) = discovery
            .resolve_gvk(&gvk)
            .ok_or_else(|| KubeError::UnknownKind(format!("{}/{}", types.api_version, types.kind)))?;
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(client.clone(), o.namespace().as_deref().unwrap_or("default"), &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        api.patch(&o.name_any(), &params, &Patch::Apply(o))
            .await
            .map_err(|e| KubeError::Apply(describe(o), e.to_string()))?;
        applied.push(describe(o));
    }
    Ok(applied)
}

/// Waits until the Deployment has rolled out; on timeout, reports its pods' states and events.
pub async fn wait_rollout(client: &Client, namespace: &str, name: &str, timeout: Duration) -> Result<(), KubeError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let started = Instant::now();
    loop {
        let d = deployments
            .get(name)
            .await
            .map_err(|e| KubeError::Unreachable(e.to_string()))?;
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let generation = d.metadata.generation.unwrap_or(0);
        if let Some(s) = &d.status
            && s.observed_generation.unwrap_or(0) >= generation
            && s.updated_replicas.unwrap_or(0) == want
            && s.available_replicas.unwrap_or(0) == want
            && s.replicas.unwrap_or(0) == want
        {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(KubeError::Rollout(
                format!("deployment/{name}"),
                timeout.as_secs(),
                pod_report(client, namespace, name).await,
            ));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

async fn pod_report(client: &Client, namespace: &str, app: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let selector = format!("app.kubernetes.io/name={app}");
    let mut lines = Vec::new();
    if let Ok(list) = pods.list(&ListParams::default().labels(&selector)).await {
        for p in list {
            let pod = p.name_any();
            let statuses = p.status.as_ref().map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
                    .filter_map(|c| {
                        c.state.as_ref().and_then(|st| st.waiting.as_ref()).map(|w| {
                            format!(
                                "{}: {} {}",
                                c.name,
                                w.reason.clone().unwrap_or_default(),
                                w.message.clone().unwrap_or_default()
                            )
                        })
                    })
                    .collect::<Vec<_>>()
            });
            lines.push(format!("pod {pod}: {}", statuses.unwrap_or_default().join("; ")));
            let field = format!("involvedObject.name={pod}");
            if let Ok(evs) = events.list(&ListParams::default().fields(&field)).await {
                for e in evs.items.iter().filter(|e| e.type_.as_deref() == Some("Warning")) {
                    lines.push(format!(
                        "  {}: {}",
                        e.reason.clone().unwrap_or_default(),
                        e.message.clone().unwrap_or_default()
                    ));
                }
            }
        }
    }
    if lines.is_empty() {
        lines.push(format!("no pods labelled {selector}"));
    }
    lines.join("\n")
}

/// A client for the cluster in KUBECONFIG (or the in-cluster service account).
pub async fn client() -> Result<Client, KubeError> {
    Client::try_default()
        .await
        .map_err(|e| KubeError::Unreachable(e.to_string()))
}
