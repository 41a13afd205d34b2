"""deploy/helm/: the values for the official Dagster chart and the Celery worker manifests, offline.

No helm binary could be installed from the package registries here, so the chart's templates are
not rendered. Instead ``values.yaml`` is validated against the chart's published values.schema.json
(deploy/helm/chart-schema/, source and version in its SOURCE.md), the way ``helm`` validates values,
with two differences, both stated: ``required`` is not enforced (the chart's own values.yaml, not
vendored, supplies every default, and helm validates the merged values), and the schema's remote
``$ref``s to kubernetesjsonschema.dev (Kubernetes object shapes) are not followed (no network).
Types, enums, ``additionalProperties: false`` and the conditional requirements still apply.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache
from pathlib import Path

import dagster as dg
import jsonschema
import yaml

from creative_assets.queues import QUEUES
from creative_assets_tests.helpers import REPO

HELM = REPO / "deploy" / "helm"
SCHEMA = HELM / "chart-schema" / "values.schema.json"


@cache
def values() -> dict:
    return yaml.safe_load((HELM / "values.yaml").read_text())


@cache
def manifests() -> list[dict]:
    return [d for d in yaml.safe_load_all((HELM / "celery-workers.yaml").read_text()) if d]


def relaxed(node, conditional: bool = False):
    """The schema without unconditional ``required`` and without remote ``$ref``s (see the module
    docstring). Requirements under ``if``/``then`` stay: ``type: K8sRunLauncher`` still needs
    ``config.k8sRunLauncher``."""
    if isinstance(node, dict):
        out = {
            k: relaxed(v, conditional or k == "then")
            for k, v in node.items()
            if k != "required" or conditional
        }
        if str(out.get("$ref", "")).startswith(("http://", "https://")):
            del out["$ref"]
        return out
    if isinstance(node, list):
        return [relaxed(v, conditional) for v in node]
    return node


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft7Validator(relaxed(schema))


def errors(data: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator().iter_errors(data)]


def test_schema_is_the_recorded_copy():
    source = (HELM / "chart-schema" / "SOURCE.md").read_text()
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest in source, "values.schema.json differs from the copy SOURCE.md records"
    assert re.search(r"commit\s+`[0-9a-f]{40}`", source), "SOURCE.md must name the source commit"
    schema = json.loads(SCHEMA.read_text())
    assert {"dagsterWebserver", "runLauncher", "dagster-user-deployments"} <= set(schema["properties"])


def test_values_validate_against_the_chart_schema():
    assert not errors(values()), "\n".join(errors(values()))


def test_the_validation_can_fail():
    typo = copy.deepcopy(values())
    typo["dagsterWebserver"]["replicas"] = 2  # the key is replicaCount
    assert any("replicas" in e for e in errors(typo))
    wrong = copy.deepcopy(values())
    wrong["runLauncher"]["type"] = "K8sJobRunLauncher"
    assert any("runLauncher.type" in e for e in errors(wrong))
    missing = copy.deepcopy(values())
    del missing["runLauncher"]["config"]["k8sRunLauncher"]  # required by type K8sRunLauncher
    assert errors(missing)


def test_values_run_the_project_image_with_a_pod_per_run():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == module
    assert deployment["includeConfigInLaunchedRuns"]["enabled"], "run pods need the location's env"
    assert values()["runLauncher"]["type"] == "K8sRunLauncher"
    assert values()["postgresql"]["enabled"] is False, "Postgres comes from outside the chart"
    assert values()["computeLogManager"]["type"] == "S3ComputeLogManager"
    daemon = values()["dagsterDaemon"]
    assert daemon["runRetries"]["enabled"] and daemon["runRetries"]["maxRetries"] >= 1
    assert daemon["runMonitoring"]["enabled"]
    for part in (
        deployment,
        values()["dagsterWebserver"],
        daemon,
        values()["runLauncher"]["config"]["k8sRunLauncher"],
    ):
        assert {"name": "creative-assets-config"} in part["envConfigMaps"]
        assert {"name": "creative-assets-env"} in part["envSecrets"]


def test_additional_instance_config_is_valid_dagster_instance_config(tmp_path):
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(values()["additionalInstanceConfig"]))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        pools = instance.get_concurrency_config().pool_config
        assert (
            pools.default_pool_limit
            == values()["additionalInstanceConfig"]["concurrency"]["pools"]["default_limit"]
        )


def workers() -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests() if m["kind"] == "Deployment"}


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_worker_deployments_run_the_celery_app_on_every_queue():
    image = values()["dagster-user-deployments"]["deployments"][0]["image"]
    served = set()
    for name, deployment in workers().items():
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        args = container["command"]
        assert args[:4] == ["celery", "-A", "creative_assets.celery_app", "worker"], (name, args)
        served |= set(option(args, "--queues").split(","))
        node = option(args, "--hostname")
        assert node.endswith("@%h"), name
        assert node.replace("%h", "$HOSTNAME") in " ".join(container["livenessProbe"]["exec"]["command"])
        assert container["image"] == f"{image['repository']}:{image['tag']}", name
        refs = {json.dumps(e, sort_keys=True) for e in container["envFrom"]}
        assert refs == {
            json.dumps({"configMapRef": {"name": "creative-assets-config"}}, sort_keys=True),
            json.dumps({"secretRef": {"name": "creative-assets-env"}}, sort_keys=True),
        }
        assert spec["terminationGracePeriodSeconds"] >= 300, "warm shutdown needs time to finish a step"
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert served == set(QUEUES)


def test_keda_scales_each_worker_on_the_queues_it_serves():
    scaled = [m for m in manifests() if m["kind"] == "ScaledObject"]
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled} == set(workers())
    for s in scaled:
        target = workers()[s["spec"]["scaleTargetRef"]["name"]]
        args = target["spec"]["template"]["spec"]["containers"][0]["command"]
        queues = set(option(args, "--queues").split(","))
        lists = {t["metadata"]["listName"] for t in s["spec"]["triggers"] if t["type"] == "redis"}
        assert lists == queues, (s["metadata"]["name"], lists, queues)
        assert (
            s["spec"]["minReplicaCount"] >= 1 and s["spec"]["maxReplicaCount"] > s["spec"]["minReplicaCount"]
        )


def secret_like(node, path="") -> list[str]:
    """Paths of keys that name a password or key and hold a literal value."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if re.search(r"password|secretkey|api_?key", k, re.I) and isinstance(v, str) and v:
                found.append(f"{path}.{k}")
            found += secret_like(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += secret_like(v, f"{path}[{i}]")
    return found


def test_no_secret_values_in_the_manifests():
    assert not secret_like(values()) and not secret_like(manifests())
    for path in ("values.yaml", "celery-workers.yaml"):
        text = (HELM / path).read_text()
        assert "sk-" not in text and "AKIA" not in text, path


def test_schema_file_is_json_in_the_repository():
    assert Path(SCHEMA).stat().st_size > 50_000
