"""The deployment files, validated offline (no Docker engine or cluster here).

* every YAML file under deploy/compose and deploy/k8s parses;
* every ``JOURNEY_*`` variable they (and the Dockerfile) set is a real setting: its path exists
  in the Settings model, and the values load through Settings and read back unchanged (the
  model ignores unknown variables, so a typo would otherwise pass silently);
* the image's entry point is the ``journey`` console script and its CMD, like every command
  the compose file and the Kubernetes manifests run, is a real CLI command;
* probe, service and scrape ports match the metrics port the settings use;
* compose images carry pinned tags, every host path it mounts exists, ``depends_on`` names
  exist; Kubernetes objects reference ConfigMaps/Secrets that exist, the StatefulSet has a
  persistent RocksDB volume, probes, and resources, the PodDisruptionBudget and the Service
  select its pods, and kustomization lists existing files.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import BaseModel

from streams.cli import main as cli_main
from streams.settings import Settings

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
K8S = DEPLOY / "k8s"
METRICS_PORT = Settings.model_fields["worker"].default_factory().metrics_port  # type: ignore[misc]


def _yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _k8s_objects() -> list[dict[str, Any]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        out.extend(_yaml_docs(path))
    return out


def _compose() -> dict[str, Any]:
    docs = _yaml_docs(COMPOSE)
    assert len(docs) == 1
    return docs[0]  # type: ignore[no-any-return]


def _setting_path_exists(var: str) -> bool:
    """``JOURNEY_A__B`` names field ``b`` of section ``a`` of the Settings model."""
    if var == "JOURNEY_CONFIG":
        return True
    parts = var.removeprefix("JOURNEY_").lower().split("__")
    model: Any = Settings
    for part in parts:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            if field is None:
                return False
            model = field.annotation
        elif dataclasses.is_dataclass(model):
            fields = {f.name: f for f in dataclasses.fields(model)}
            if part not in fields:
                return False
            model = fields[part].type
        else:
            return False
    return not (isinstance(model, type) and issubclass(model, BaseModel))


def _loads_back(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Load Settings from exactly these variables and check each value arrived."""
    for var in list(os.environ):
        if var.startswith("JOURNEY_"):
            monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.chdir(ROOT / "deploy")  # no journey.toml here
    s = Settings()
    for var, value in env.items():
        if var == "JOURNEY_CONFIG":
            continue
        obj: Any = s
        for part in var.removeprefix("JOURNEY_").lower().split("__"):
            obj = getattr(obj, part)
        got = obj.get_secret_value() if hasattr(obj, "get_secret_value") else obj
        if isinstance(got, bool):
            assert value.lower() in (("true", "1", "yes") if got else ("false", "0", "no")), var
        elif isinstance(got, int | float):
            assert got == float(value), f"{var}={value!r} read back as {got!r}"
        else:
            assert str(got) == value, f"{var}={value!r} read back as {got!r}"


# -------------------------------------------------------------------------------- env vars
def _compose_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for svc in _compose()["services"].values():
        for k, v in (svc.get("environment") or {}).items():
            if k.startswith("JOURNEY_"):
                # ${VAR:?message} is filled in by compose at run time
                env[k] = re.sub(r"\$\{[^}]*\}", "placeholder-secret", str(v))
    return env


def _k8s_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for obj in _k8s_objects():
        if obj["kind"] == "ConfigMap":
            env.update({k: str(v) for k, v in obj["data"].items()})
        elif obj["kind"] == "Secret":
            env.update({k: str(v) for k, v in obj["stringData"].items() if k.startswith("J")})
    return env


def _dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                k, _, v = item.partition("=")
                if k.startswith("JOURNEY_"):
                    env[k] = v
    return env


@pytest.mark.parametrize("source", ["compose", "k8s", "dockerfile"])
def test_every_journey_variable_is_a_real_setting(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"compose": _compose_env, "k8s": _k8s_env, "dockerfile": _dockerfile_env}[source]()
    assert len(env) >= 4, env
    unknown = [v for v in env if not _setting_path_exists(v)]
    assert not unknown, f"not settings: {unknown}"
    _loads_back(env, monkeypatch)


def test_the_check_itself_rejects_a_typo() -> None:
    assert _setting_path_exists("JOURNEY_WORKER__METRICS_PORT")
    assert _setting_path_exists("JOURNEY_ENGINE__DORMANCY_DAYS")
    assert not _setting_path_exists("JOURNEY_WORKER__METRIC_PORT")
    assert not _setting_path_exists("JOURNEY_KAFKA")
    assert not _setting_path_exists("JOURNEY_CLICKHOUSE__URL__X")


# -------------------------------------------------------------------------------- commands
def _is_cli_command(args: list[str]) -> bool:
    """True when ``journey ARGS`` names a real command (group + subcommand, or --help)."""
    if args and args[0] in ("--help", "-h"):
        return True
    cmd: click.Command = cli_main
    for arg in args:
        if arg.startswith("-") or not isinstance(cmd, click.Group):
            break
        sub = cmd.commands.get(arg)
        if sub is None:
            return False
        cmd = sub
    return cmd is not cli_main and not isinstance(cmd, click.Group)


def _dockerfile_json(instruction: str) -> list[str]:
    import json

    lines = [ln for ln in DOCKERFILE.read_text().splitlines() if ln.startswith(instruction + " ")]
    assert len(lines) == 1, instruction
    return list(json.loads(lines[0][len(instruction) + 1 :]))


def test_image_entrypoint_is_the_cli_and_its_command_exists() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entry = _dockerfile_json("ENTRYPOINT")
    assert entry == ["journey"] and scripts["journey"] == "streams.cli:main"
    assert _is_cli_command(_dockerfile_json("CMD"))
    text = DOCKERFILE.read_text()
    for src in re.findall(r"^COPY (\S+)", text, re.M):
        assert (ROOT / src).exists(), src
    assert f"EXPOSE {METRICS_PORT}" in text
    assert f"127.0.0.1:{METRICS_PORT}/metrics" in text  # the HEALTHCHECK
    assert not _is_cli_command(["no-such-command"]) and not _is_cli_command(["topics"])


def test_compose_and_k8s_run_real_commands() -> None:
    commands = []
    for name, svc in _compose()["services"].items():
        if svc.get("image", "").startswith("journey:"):
            commands.append((name, svc.get("command") or _dockerfile_json("CMD")))
    for obj in _k8s_objects():
        if obj["kind"] in ("StatefulSet", "Job"):
            for c in obj["spec"]["template"]["spec"]["containers"]:
                commands.append((obj["metadata"]["name"], c["args"]))
    assert len(commands) >= 6
    for name, args in commands:
        assert _is_cli_command(args), (name, args)


# -------------------------------------------------------------------------------- compose
def test_compose_images_pinned_paths_exist_dependencies_named() -> None:
    compose = _compose()
    services = compose["services"]
    for want in ("kafka", "schema-registry", "clickhouse", "prometheus", "alertmanager",
                 "grafana", "journey-worker-1", "journey-worker-2"):  # fmt: skip
        assert want in services, want
    assert "KRaft" in COMPOSE.read_text() and "broker,controller" in str(services["kafka"])
    for name, svc in services.items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.search(r"\d", tag), (name, image)
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("."):
                assert (COMPOSE.parent / src).exists(), (name, src)
            else:
                assert src in compose["volumes"], (name, src)
        for dep in svc.get("depends_on", []):
            assert dep in services, (name, dep)
        build = svc.get("build")
        if build:
            context = COMPOSE.parent / build["context"]
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    # each worker: its own persistent volume; a port Prometheus scrapes
    scraped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t
        for job in scraped["scrape_configs"]
        for sc in job["static_configs"]
        for t in sc["targets"]
    }
    worker_volumes = set()
    for name in ("journey-worker-1", "journey-worker-2"):
        svc = services[name]
        assert svc["environment"]["JOURNEY_WORKER__METRICS_PORT"] == str(METRICS_PORT)
        assert svc["environment"]["JOURNEY_WORKER__METRICS_HOST"] == "0.0.0.0"
        assert f"{name}:{METRICS_PORT}" in targets
        (vol,) = svc["volumes"]
        assert vol.endswith(":" + svc["environment"]["JOURNEY_WORKER__DATA_DIR"])
        worker_volumes.add(vol.split(":")[0])
    assert len(worker_volumes) == 2


# -------------------------------------------------------------------------------- kubernetes
def test_k8s_objects_are_consistent() -> None:
    objects = _k8s_objects()
    for obj in objects:
        assert {"apiVersion", "kind", "metadata"} <= obj.keys(), obj
        assert obj["metadata"].get("name"), obj
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    kustomization = _yaml_docs(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}

    (sts,) = by_kind["StatefulSet"].values()
    pod = sts["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (pdb,) = by_kind["PodDisruptionBudget"].values()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert "maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"]
    svc = by_kind["Service"][sts["spec"]["serviceName"]]
    assert svc["spec"]["selector"].items() <= labels.items()

    claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    env = _k8s_env()
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == int(env.get("JOURNEY_WORKER__METRICS_PORT", METRICS_PORT))
    assert env["JOURNEY_WORKER__METRICS_HOST"] == "0.0.0.0"
    for probe in ("livenessProbe", "readinessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert ports.get(port, port) == METRICS_PORT, probe
    assert svc["spec"]["ports"][0]["port"] == METRICS_PORT
    res = container["resources"]
    assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    state_dir = env["JOURNEY_WORKER__DATA_DIR"]
    assert mounts[state_dir] in claims, "RocksDB state must be on a persistent volume"
    assert env["JOURNEY_WORKER__STORE"] == "rocksdb://"
    for path in (env["JOURNEY_KAFKA__SSL_CAFILE"], env["JOURNEY_CLICKHOUSE__CA_CERTS"]):
        assert any(path.startswith(m + "/") for m in mounts), path

    for obj in [sts, *by_kind.get("Job", {}).values()]:
        spec = obj["spec"]["template"]["spec"]
        for c in spec["containers"]:
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in by_kind["ConfigMap"]
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in by_kind["Secret"]
            assert c["resources"]["limits"]
        for v in spec.get("volumes", []):
            if "secret" in v:
                secret = by_kind["Secret"][v["secret"]["secretName"]]
                for item in v["secret"].get("items", []):
                    assert item["key"] in secret["stringData"]
    # secrets hold the passwords; the ConfigMap holds none
    cm = " ".join(by_kind["ConfigMap"]["journey-settings"]["data"])
    assert "PASSWORD" not in cm
    assert volumes["tls"]["secret"]["secretName"] in by_kind["Secret"]
