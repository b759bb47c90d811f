"""deploy/k8s, checked without a cluster: rendered as `kubectl kustomize` renders it, every object
valid against the Kubernetes schemas (kubernetes-validate ships them), and the topology that
docs/operations/deployment.md describes: web, websocket and worker Deployments with probes,
resources, budgets and autoscalers, two beats electing a leader, a migration Job, Services, and an
Ingress sending /ws/ to the sockets.
"""

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parent.parent.parent / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
CLUSTER_SCOPED = {"Namespace"}


def render() -> list[dict]:
    """kustomize's build, for the fields deploy/k8s/kustomization.yaml uses (resources, namespace,
    labels on metadata, images); anything else there fails the test rather than being ignored."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    unknown = set(kustomization) - {"apiVersion", "kind", "namespace", "labels", "images", "resources"}
    assert not unknown, f"the test's renderer does not apply {unknown}"
    images = {image["name"]: image for image in kustomization.get("images", [])}
    documents = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / resource).read_text()):
            if document is None:
                continue
            metadata = document.setdefault("metadata", {})
            if document["kind"] not in CLUSTER_SCOPED and "namespace" in kustomization:
                metadata["namespace"] = kustomization["namespace"]
            for label in kustomization.get("labels", []):
                assert not label.get("includeSelectors") and not label.get("includeTemplates")
                metadata.setdefault("labels", {}).update(label["pairs"])
            pod = pod_spec(document)
            for container in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
                if container["image"] in images:
                    image = images[container["image"]]
                    container["image"] = f"{image.get('newName', container['image'])}:{image['newTag']}"
            documents.append(document)
    return documents


def pod_spec(document: dict) -> dict | None:
    if document["kind"] in ("Deployment", "Job"):
        return document["spec"]["template"]["spec"]
    return None


def by_kind(documents: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return render()


def test_every_object_is_valid_against_the_kubernetes_schemas(documents):
    assert len(documents) >= 16
    for document in documents:
        # strict: a field the schema does not know (a typo) fails too.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_an_invalid_object_is_refused():
    deployment = yaml.safe_load((K8S / "web.yaml").read_text().split("\n---\n")[0])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_rendering_is_kubectl_kustomize_s(documents):
    output = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True).stdout
    theirs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(output)}
    ours = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    assert ours == theirs


def test_the_topology(documents):
    deployments = by_kind(documents, "Deployment")
    assert set(deployments) == {"orderflow-web", "orderflow-websocket", "orderflow-worker", "orderflow-beat"}
    commands = {name: d["spec"]["template"]["spec"]["containers"][0]["command"] for name, d in deployments.items()}
    assert commands["orderflow-web"][:3] == ["granian", "--interface", "wsgi"]
    assert "config.wsgi:application" in commands["orderflow-web"]
    assert commands["orderflow-websocket"][:3] == ["python", "-m", "config.websocket_server"]
    assert commands["orderflow-worker"][:4] == ["celery", "-A", "config", "worker"]
    # Two beats, one lock: celery-redbeat's scheduler elects the one that sends.
    assert "redbeat.RedBeatScheduler" in commands["orderflow-beat"]
    assert deployments["orderflow-beat"]["spec"]["replicas"] == 2

    jobs = by_kind(documents, "Job")
    assert jobs["orderflow-migrate"]["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "migrate",
        "--noinput",
    ]

    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        container = template["spec"]["containers"][0]
        assert container["image"] == "ghcr.io/orderflow/orderflow:0.1.0"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert "memory" in container["resources"]["limits"], name
        sources = {s.get("configMapRef", s.get("secretRef"))["name"] for s in container["envFrom"]}
        assert sources == {"orderflow", "orderflow-secrets"}

    # The servers: ready when /health/ answers, alive while they accept connections.
    for name, port in (("orderflow-web", "http"), ("orderflow-websocket", "ws")):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/", "port": port}
        assert container["livenessProbe"]["tcpSocket"] == {"port": port}
        assert deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    services = by_kind(documents, "Service")
    for service in services.values():
        selected = [
            d
            for d in deployments.values()
            if service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, service["metadata"]["name"]

    budgets = by_kind(documents, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        assert budget["spec"]["selector"] == deployments[name]["spec"]["selector"]

    autoscalers = by_kind(documents, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"orderflow-web", "orderflow-websocket", "orderflow-worker"}
    for autoscaler in autoscalers.values():
        assert autoscaler["spec"]["scaleTargetRef"]["name"] in deployments
        assert autoscaler["spec"]["minReplicas"] >= 1

    # The Ingress: /ws/ (upgrades included) to the socket pods, the rest to the HTTP pods.
    (ingress,) = by_kind(documents, "Ingress").values()
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/ws/": "orderflow-websocket", "/": "orderflow-web"}
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600

    (config,) = by_kind(documents, "ConfigMap").values()
    assert config["data"]["ORDERFLOW_DB_TRANSACTION_POOLING"] == "1"
    assert config["data"]["ORDERFLOW_REDIS_SENTINELS"].count(":26379") == 3
    for document in documents:
        assert document["metadata"]["labels"]["app.kubernetes.io/part-of"] == "orderflow"
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "orderflow"
