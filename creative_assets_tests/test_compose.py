"""The docker-compose stack agrees with the code, without Docker: only the files are read.

docker-compose.yml, deploy/workspace.yaml, .env.example, the Dockerfile and .dockerignore are checked
against each other and against what the code expects: pyproject's module, the environment variables
read in creative_assets/, resources/ and sensors/, and the instance's dagster.yaml.
"""

from __future__ import annotations

import ast
import fnmatch
import gc
import importlib.util
import re
import shlex
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_WORKSPACE = ROOT / "deploy" / "workspace.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INSTANCE_YAML = ROOT / "dagster.yaml"
PYPROJECT = ROOT / "pyproject.toml"

#: Services built from the project image; they load or serve the code location.
PROJECT_SERVICES = ("usercode", "webserver", "daemon", "worker", "provider-worker")
#: The Celery workers among them, and the queues each must serve (creative_assets/queues.py).
WORKER_QUEUES = {"worker": {"image", "dagster"}, "provider-worker": {"provider"}}
REQUIRED_SERVICES = ("postgres", "minio", "minio-init", "redis", *PROJECT_SERVICES)

#: Variables the code reads that the stack may leave unset, and why.
OPTIONAL_CODE_ENV = {
    "CREATIVE_ASSETS_ROOT": "local storage root; the stack uses S3",
    "CREATIVE_ASSETS_BRAND_KITS": "defaults to the bundled brand_kits/ (the Dockerfile sets it)",
    "CREATIVE_ASSETS_FONT_DIRS": "extra font folders; the bundled Noto fonts suffice",
    "CREATIVE_ASSETS_PARALLEL_RUNS": "read by creative-assets run only; the stack's runs come from the run queue",
    "CREATIVE_ASSETS_LOCAL_LOGIN": "read by the review service only (test_review_service_...)",
    "CREATIVE_ASSETS_OIDC_ISSUER": "read by the review service only; empty: no OIDC sign-in",
    "CREATIVE_ASSETS_OIDC_CLIENT_ID": "read by the review service only, with the issuer",
    "CREATIVE_ASSETS_OIDC_CLIENT_SECRET": "read by the review service only, with the issuer (secret)",
    "CREATIVE_ASSETS_OIDC_REDIRECT_URL": "review service; derived from the request's Host when empty",
    "CREATIVE_ASSETS_OIDC_GROUP_ROLES": "review service; empty: IdP groups grant no role",
    "CREATIVE_ASSETS_OIDC_SCOPES": "review service; defaults to openid email profile",
    "CREATIVE_ASSETS_OIDC_GROUPS_CLAIM": "review service; defaults to the groups claim",
    "CREATIVE_ASSETS_OIDC_LABEL": "review service; the sign-in button's wording",
    "CREATIVE_ASSETS_SESSION_HOURS": "review service; sessions last 12 hours by default",
    "CREATIVE_ASSETS_SESSION_IDLE_MINUTES": "review service; 30 idle minutes end a session by default",
    "CREATIVE_ASSETS_REVIEW_SECURE_COOKIE": "set behind a TLS proxy; plain HTTP on loopback by default",
    "CREATIVE_ASSETS_UI_URL": "alert links default to http://localhost:3000, the stack's webserver",
    "CREATIVE_ASSETS_ALERTS_CONFIG": "optional YAML of alert sinks; alerts always reach the log",
    "CREATIVE_ASSETS_ALERT_WEBHOOK_URL": "optional alert sink (generic JSON webhook)",
    "CREATIVE_ASSETS_ALERT_WEBHOOK_TOKEN": "optional bearer token of the alert webhook (secret)",
    "CREATIVE_ASSETS_ALERT_WEBHOOK_SECRET": "optional HMAC signing secret of the webhook (secret)",
    "CREATIVE_ASSETS_ALERT_EVENTS": "optional event list of the shortcut sinks; default: failures",
    "CREATIVE_ASSETS_REVIEW_URL": "optional review-app link in notifications",
    "CREATIVE_ASSETS_ALERT_SLACK_WEBHOOK_URL": "optional alert sink (Slack incoming webhook, secret)",
    "CREATIVE_ASSETS_ALERT_SMTP_HOST": "optional alert sink (email over SMTP)",
    "CREATIVE_ASSETS_ALERT_SMTP_PORT": "defaults by security mode: 587, 465 or 25",
    "CREATIVE_ASSETS_ALERT_SMTP_SECURITY": "defaults to starttls",
    "CREATIVE_ASSETS_ALERT_SMTP_USERNAME": "SMTP login, only where the server needs one",
    "CREATIVE_ASSETS_ALERT_SMTP_PASSWORD": "SMTP password, only where the server needs one (secret)",
    "CREATIVE_ASSETS_ALERT_EMAIL_FROM": "sender of alert emails, needed only with the SMTP sink",
    "CREATIVE_ASSETS_ALERT_EMAIL_TO": "recipients of alert emails, needed only with the SMTP sink",
    "CREATIVE_ASSETS_CREDENTIALS": "C2PA signing mode, auto by default (README 'Content Credentials')",
    "CREATIVE_ASSETS_C2PA_CERT_CHAIN": "signing certificate chain: mount it and set it to sign in the stack",
    "CREATIVE_ASSETS_C2PA_PRIVATE_KEY": "signing key file (secret), unless a signing hook is used",
    "CREATIVE_ASSETS_C2PA_SIGNING_HOOK": "optional KMS/HSM signing hook instead of a key file",
    "CREATIVE_ASSETS_C2PA_ALGORITHM": "defaults to es256",
    "CREATIVE_ASSETS_C2PA_TSA_URL": "optional RFC 3161 timestamp authority",
    "CREATIVE_ASSETS_C2PA_TRUST_ANCHORS": "trusted roots for verification; required in production mode",
    "CREATIVE_ASSETS_C2PA_TEST_CA": "the local test CA folder; defaults to var/credentials",
    "CREATIVE_ASSETS_OPENAI_TIMEOUT_SECONDS": "per-attempt provider timeout; defaults to 120 s",
    "CREATIVE_ASSETS_STEP_RETRIES": "step retries of transient failures; defaults to 5",
    "CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS": "first backoff of step retries; defaults to 15 s",
}
#: Variables that may be empty in .env.example.
MAY_BE_EMPTY = {
    "CREATIVE_ASSETS_PREFIX",
    # OpenID Connect is off until an issuer is configured (README "Sign-in")
    "CREATIVE_ASSETS_OIDC_ISSUER",
    "CREATIVE_ASSETS_OIDC_CLIENT_ID",
    "CREATIVE_ASSETS_OIDC_CLIENT_SECRET",
    "CREATIVE_ASSETS_OIDC_REDIRECT_URL",
    "CREATIVE_ASSETS_OIDC_GROUP_ROLES",
}
CODE_DIRS = ("creative_assets", "resources", "sensors")
CODE_ENV_NAME = re.compile(r"CREATIVE_ASSETS_[A-Z0-9_]+|DAGSTER_POSTGRES[A-Z0-9_]*")


# --------------------------------------------------------------------------- readers


@cache
def compose() -> dict:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE.name} is missing at the repository root"
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict]:
    return compose().get("services") or {}


def service(name: str) -> dict:
    found = services()
    assert name in found, f"docker-compose.yml has no service {name!r} (services: {sorted(found)})"
    return found[name]


@cache
def env_example() -> dict[str, str]:
    """``KEY=VALUE`` lines of .env.example, as docker compose reads a .env file."""
    values = {}
    for number, raw in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        assert "=" in line, f".env.example line {number} is not KEY=VALUE: {raw!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


# `$$` is a literal `$`; `${NAME}`, `${NAME:-default}`, `${NAME?error}`, ... and `$NAME` interpolate.
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def referenced_variables(text: str) -> set[str]:
    return {m["braced"] or m["bare"] for m in INTERPOLATION.finditer(text) if not m["escaped"]}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of ``text`` with ``env`` (no nesting, which this stack does not use)."""

    def replace(m: re.Match) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        op, arg = m["op"] or "", m["arg"] or ""
        is_set, value = name in env, env.get(name, "")
        if op in (":-", "-"):
            return value if (value if op == ":-" else is_set) else arg
        if op in (":?", "?"):
            assert value if op == ":?" else is_set, f"{name} must be set in .env: {arg}"
            return value
        if op in (":+", "+"):
            return arg if (value if op == ":+" else is_set) else ""
        return value

    return INTERPOLATION.sub(replace, text)


def strings_in(node) -> list[str]:
    """Every string value (not key) in a parsed YAML tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings_in(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings_in(v)]
    return []


def command_args(svc: dict, key: str = "command") -> list[str]:
    value = svc.get(key) or []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def option(args: list[str], *names: str) -> str | None:
    """The value after the first of ``names`` in an argument list (``-p 4000`` or ``--port=4000``)."""
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            return args[i + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def healthcheck_args(svc: dict) -> list[str]:
    test = (svc.get("healthcheck") or {}).get("test") or []
    if isinstance(test, str):
        return shlex.split(test)
    if test and test[0] == "CMD-SHELL":
        return shlex.split(" ".join(test[1:]))
    return [str(t) for t in (test[1:] if test and test[0] == "CMD" else test)]


def environment(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def resolved_environment(name: str) -> dict[str, str]:
    return {k: interpolate(v, env_example()) for k, v in environment(service(name)).items()}


def depends_on(svc: dict) -> dict[str, str]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def named_volumes(svc: dict) -> list[str]:
    """Sources of the service's volumes that are named volumes (not bind mounts)."""
    names = []
    for entry in svc.get("volumes") or []:
        if isinstance(entry, dict):
            source = entry.get("source") if entry.get("type", "volume") == "volume" else None
        else:
            source = entry.split(":", 1)[0] if ":" in entry else None
        if source and not source.startswith((".", "/", "~", "$")):
            names.append(source)
    return names


def published_ports(svc: dict) -> dict[int, str]:
    """Container port -> published host port, from short (`[ip:]host:container`) or long syntax."""
    ports = {}
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            ports[int(entry["target"])] = str(entry.get("published", ""))
            continue
        parts = str(entry).split("/", 1)[0].rsplit(":", 2)
        container = parts[-1]
        ports[int(container)] = parts[-2] if len(parts) >= 2 else ""
    return ports


@cache
def dockerfile() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    assert DOCKERFILE.is_file(), "Dockerfile is missing at the repository root"
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        keyword, _, rest = (current + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return tuple(instructions)


def expand(text: str, env: dict[str, str]) -> str:
    """A Dockerfile's ``${NAME}`` / ``$NAME`` substitution."""
    return re.sub(
        r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))",
        lambda m: env.get(m[1] or m[2], ""),
        text,
    )


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile():
        if keyword != "ENV":
            continue
        parts = shlex.split(rest)
        if parts and "=" not in parts[0]:  # legacy `ENV NAME value`
            env[parts[0]] = expand(" ".join(parts[1:]), env)
        else:
            for part in parts:
                name, value = part.split("=", 1)
                env[name] = expand(value, env)
    return env


def dockerfile_last(keyword: str) -> str | None:
    values = [rest for k, rest in dockerfile() if k == keyword]
    return values[-1] if values else None


def dockerfile_workdir() -> PurePosixPath:
    workdir = dockerfile_last("WORKDIR")
    assert workdir, "the Dockerfile sets no WORKDIR"
    return PurePosixPath(expand(workdir, dockerfile_env()))


def shell_commands(keyword: str = "RUN") -> list[list[str]]:
    """Each simple command (split on &&, ||, ;) of every RUN, as argument lists."""
    commands: list[list[str]] = []
    for k, rest in dockerfile():
        if k != keyword:
            continue
        lexer = shlex.shlex(rest, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in ("&&", "||", ";", "|"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


@cache
def dockerignore_patterns() -> tuple[str, ...]:
    if not DOCKERIGNORE.is_file():
        return ()
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def dockerignored(relative: str) -> bool:
    """Whether .dockerignore keeps ``relative`` out of the build context (a conservative reading:
    fnmatch's ``*`` also crosses ``/``). A path is out when it or one of its parents matches."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in dockerignore_patterns():
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        patterns = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns) or (
            pattern.startswith("**/") and any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        ):
            ignored = not negate
    return ignored


@cache
def _parse(path: Path) -> ast.AST:
    # CPython 3.11.7 can raise "AST constructor recursion depth mismatch" when a garbage-collection
    # finalizer (e.g. a SQLAlchemy pool reset from an earlier test) runs inside ast.parse
    # (python/cpython#106905, fixed in 3.11.8): parse with the collector paused.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    finally:
        if was_enabled:
            gc.enable()


def code_env_names() -> dict[str, tuple[str, ...]]:
    """Environment variable names the code reads: every string literal that is exactly such a name,
    in creative_assets/, resources/ and sensors/. Literals, not call patterns, so a name held in a
    constant (``FONT_DIRS_ENV = "CREATIVE_ASSETS_FONT_DIRS"``) or read through ``EnvVar(...)``,
    ``env_or_default(...)``, ``choice(...)``, ``os.environ.get(...)`` or ``os.getenv(...)`` all count."""
    found: dict[str, list[str]] = {}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = _parse(path)
            for node in ast.walk(tree):
                is_str = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_str and CODE_ENV_NAME.fullmatch(node.value):
                    where = f"{path.relative_to(ROOT).as_posix()}:{node.lineno}"
                    found.setdefault(node.value, []).append(where)
    return {name: tuple(places) for name, places in found.items()}


def instance_env_names(node=None) -> set[str]:
    """Names in ``{env: NAME}`` values of the instance's dagster.yaml."""
    if node is None:
        node = yaml.safe_load(INSTANCE_YAML.read_text())
    if isinstance(node, dict):
        if set(node) == {"env"} and isinstance(node["env"], str):
            return {node["env"]}
        return {name for value in node.values() for name in instance_env_names(value)}
    if isinstance(node, list):
        return {name for value in node for name in instance_env_names(value)}
    return set()


def provided_env(name: str) -> set[str]:
    """What a service's processes see: its compose environment, plus the image's ENV."""
    provided = set(environment(service(name)))
    if name in PROJECT_SERVICES:
        provided |= set(dockerfile_env())
    return provided


@cache
def pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


@cache
def compose_workspace() -> dict:
    assert COMPOSE_WORKSPACE.is_file(), "deploy/workspace.yaml (the compose workspace) is missing"
    return yaml.safe_load(COMPOSE_WORKSPACE.read_text())


def grpc_server() -> dict:
    entries = compose_workspace().get("load_from") or []
    servers = [e["grpc_server"] for e in entries if isinstance(e, dict) and "grpc_server" in e]
    assert len(servers) == 1 and len(entries) == 1, (
        f"deploy/workspace.yaml should load exactly one grpc_server, got load_from={entries!r}"
    )
    return servers[0]


# --------------------------------------------------------------------------- services and images


def test_every_service_exists():
    missing = [name for name in REQUIRED_SERVICES if name not in services()]
    assert not missing, f"docker-compose.yml lacks services {missing}; it has {sorted(services())}"


def test_project_services_share_one_image():
    builds = {name: service(name).get("build") for name in PROJECT_SERVICES}
    images = {name: service(name).get("image") for name in PROJECT_SERVICES}
    assert all(builds.values()), f"every project service must build the project image: {builds}"
    assert len({repr(b) for b in builds.values()}) == 1, f"project services build differently: {builds}"
    assert len(set(images.values())) == 1, f"project services tag different images: {images}"
    build = next(iter(builds.values()))
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT, f"build context {context!r} is not the repository root"
    assert (ROOT / context / dockerfile_name).resolve() == DOCKERFILE, f"build uses {dockerfile_name!r}"


def test_third_party_services_use_their_images():
    expected = {"postgres": "postgres:16", "minio": "minio/minio", "minio-init": "minio/mc"}
    for name, image in expected.items():
        svc = service(name)
        assert "build" not in svc, f"{name} should not be built from the project"
        assert str(svc.get("image", "")).startswith(image), (
            f"{name} image {svc.get('image')!r} is not {image}"
        )


# --------------------------------------------------------------------------- ports and commands


def test_usercode_serves_the_grpc_port_of_the_workspace():
    args = command_args(service("usercode"))
    assert args[:3] == ["dagster", "api", "grpc"], f"usercode should run `dagster api grpc`, runs {args}"
    assert option(args, "-h", "--host") == "0.0.0.0", "usercode must listen on 0.0.0.0 to be reachable"
    port = option(args, "-p", "--port")
    server = grpc_server()
    assert server.get("host") == "usercode", f"the compose workspace points at host {server.get('host')!r}"
    assert str(server.get("port")) == port, (
        f"usercode serves gRPC on {port} but deploy/workspace.yaml says port {server.get('port')}"
    )
    location = pyproject()["tool"]["dagster"]["code_location_name"]
    assert server.get("location_name") == location, (
        f"deploy/workspace.yaml names the location {server.get('location_name')!r}, pyproject {location!r}"
    )


def test_usercode_healthcheck_probes_its_port():
    args = command_args(service("usercode"))
    check = healthcheck_args(service("usercode"))
    assert "grpc-health-check" in check, (
        f"usercode healthcheck should be `dagster api grpc-health-check`: {check}"
    )
    assert option(check, "-p", "--port") == option(args, "-p", "--port"), (
        f"usercode healthcheck probes port {option(check, '-p', '--port')}, "
        f"the server listens on {option(args, '-p', '--port')}"
    )


def test_usercode_module_is_the_projects_code_location():
    module = option(command_args(service("usercode")), "-m", "--module-name")
    expected = pyproject()["tool"]["dagster"]["module_name"]
    assert module == expected, f"usercode loads -m {module!r}; pyproject [tool.dagster] says {expected!r}"
    assert importlib.util.find_spec(module) is not None, f"module {module!r} is not importable"


def test_webserver_publishes_port_3000():
    svc = service("webserver")
    args = command_args(svc)
    assert args[:1] == ["dagster-webserver"], f"webserver should run dagster-webserver, runs {args}"
    assert option(args, "-h", "--host") == "0.0.0.0", "the webserver must listen on 0.0.0.0 to be published"
    port = option(args, "-p", "--port")
    assert port == "3000", f"the webserver listens on {port}, the README promises 3000"
    published = published_ports(svc)
    assert published.get(3000) == "3000", f"webserver must publish 3000:3000, publishes {svc.get('ports')}"
    check = " ".join(healthcheck_args(svc))
    if check:
        assert f":{port}/" in check, f"webserver healthcheck does not probe port {port}: {check}"


@pytest.mark.parametrize("name", ["webserver", "daemon"])
def test_webserver_and_daemon_load_the_compose_workspace(name):
    args = command_args(service(name))
    workspace = option(args, "-w", "--workspace")
    assert workspace, f"{name} must be given the compose workspace with -w: {args}"
    path = PurePosixPath(workspace)
    workdir = dockerfile_workdir()
    assert path.is_relative_to(workdir), f"{name} workspace {workspace} is outside the image's {workdir}"
    relative = path.relative_to(workdir).as_posix()
    assert ROOT / relative == COMPOSE_WORKSPACE, f"{name} loads {relative}, not deploy/workspace.yaml"
    assert not dockerignored(relative), f".dockerignore keeps {relative} out of the image"


def test_daemon_runs_the_daemon():
    args = command_args(service("daemon"))
    assert args[:2] == ["dagster-daemon", "run"], f"daemon should run `dagster-daemon run`, runs {args}"


# --------------------------------------------------------------------------- start-up order


def test_depends_on_conditions_can_be_met():
    for name, svc in services().items():
        for target, condition in depends_on(svc).items():
            assert target in services(), f"{name} depends on {target!r}, which is not a service"
            other = services()[target]
            if condition == "service_healthy":
                test = (other.get("healthcheck") or {}).get("test")
                assert test and test != ["NONE"], f"{name} waits for {target} healthy; it has no healthcheck"
            elif condition == "service_completed_successfully":
                restart = str(other.get("restart", "no"))
                assert restart in ("no", "on-failure") or restart.startswith("on-failure"), (
                    f"{name} waits for {target} to complete, but restart: {restart} keeps it running"
                )
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition!r} for {target}"


@pytest.mark.parametrize("name", ["webserver", "daemon"])
def test_dagster_services_wait_for_their_dependencies(name):
    expected = {
        "postgres": "service_healthy",
        "usercode": "service_healthy",
        "minio-init": "service_completed_successfully",
    }
    actual = depends_on(service(name))
    wrong = {k: actual.get(k) for k, v in expected.items() if actual.get(k) != v}
    assert not wrong, f"{name} depends_on should include {expected}; differs for {wrong}"


def test_bucket_is_created_once_minio_is_healthy():
    init = service("minio-init")
    assert depends_on(init).get("minio") == "service_healthy", "minio-init must wait for minio healthy"
    refs = {k: referenced_variables(v) for k, v in environment(init).items()}
    script = " ".join(command_args(init, "entrypoint") + command_args(init))
    assert "mc mb" in script, f"minio-init should create the bucket with `mc mb`: {script}"
    uses = set().union(*refs.values(), referenced_variables(script))
    assert "CREATIVE_ASSETS_BUCKET" in uses, "minio-init must create ${CREATIVE_ASSETS_BUCKET}"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= uses, (
        "minio-init must log in with the AWS_* keys"
    )


def test_minio_serves_the_api_and_console_with_the_aws_credentials():
    minio = service("minio")
    args = command_args(minio)
    assert args[:2] == ["server", "/data"], f"minio should run `server /data`, runs {args}"
    assert option(args, "--console-address") == ":9001", "minio console should be on :9001"
    env = environment(minio)
    assert referenced_variables(env.get("MINIO_ROOT_USER", "")) == {"AWS_ACCESS_KEY_ID"}
    assert referenced_variables(env.get("MINIO_ROOT_PASSWORD", "")) == {"AWS_SECRET_ACCESS_KEY"}
    check = " ".join(healthcheck_args(minio))
    assert "/minio/health/live" in check or "mc ready local" in check, (
        f"minio healthcheck probes nothing: {check}"
    )
    assert published_ports(minio).get(9000) == "9000", "the S3 API (9000) must be published for the inbox"
    values = env_example()
    assert len(values.get("AWS_ACCESS_KEY_ID", "")) >= 3, "MinIO needs a root user of at least 3 characters"
    assert len(values.get("AWS_SECRET_ACCESS_KEY", "")) >= 8, (
        "MinIO needs a password of at least 8 characters"
    )


# --------------------------------------------------------------------------- environment


def test_every_compose_variable_is_in_env_example():
    used = set().union(*(referenced_variables(s) for s in strings_in(compose())))
    missing = sorted(used - set(env_example()))
    assert not missing, f"docker-compose.yml uses {missing}, which .env.example does not define"
    unused = sorted(set(env_example()) - used)
    assert not unused, f".env.example defines {unused}, which docker-compose.yml never uses"


def test_env_example_values_are_set():
    empty = sorted(k for k, v in env_example().items() if not v and k not in MAY_BE_EMPTY)
    assert not empty, f".env.example leaves {empty} empty"
    assert ".env" in ROOT.joinpath(".gitignore").read_text().split(), ".env (credentials) must be git-ignored"


def test_code_env_scan_finds_the_known_variables():
    # Guards the scan itself: these are read in creative_assets/definitions.py.
    assert {"CREATIVE_ASSETS_STORAGE", "CREATIVE_ASSETS_BUCKET"} <= set(code_env_names()), code_env_names()


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_code_env_vars_are_provided(name):
    provided = provided_env(name)
    missing = {
        var: places
        for var, places in sorted(code_env_names().items())
        if var not in provided and var not in OPTIONAL_CODE_ENV
    }
    assert not missing, (
        f"{name} does not get variables the code reads (read at {missing}); add them to the "
        f"x-dagster-env block of docker-compose.yml and to .env.example, or, if the stack can do "
        f"without them, to OPTIONAL_CODE_ENV in this test"
    )


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_instance_and_s3_env_vars_are_provided(name):
    needed = instance_env_names() | {
        "DAGSTER_HOME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    }
    missing = sorted(needed - provided_env(name))
    assert not missing, f"{name} lacks {missing} (dagster.yaml reads {sorted(instance_env_names())})"
    resolved = resolved_environment(name)
    empty = sorted(k for k, v in resolved.items() if not v and k not in MAY_BE_EMPTY)
    assert not empty, f"{name}: {empty} resolve to empty values with .env.example"


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_creatives_go_to_the_minio_bucket(name):
    env = resolved_environment(name)
    assert env.get("CREATIVE_ASSETS_STORAGE") == "s3", f"{name}: CREATIVE_ASSETS_STORAGE should be s3"
    endpoint = urlsplit(env.get("CREATIVE_ASSETS_S3_ENDPOINT_URL", ""))
    assert endpoint.hostname == "minio" and (endpoint.port or 80) == 9000, (
        f"{name}: CREATIVE_ASSETS_S3_ENDPOINT_URL should be the minio service's API, http://minio:9000"
    )
    assert env.get("CREATIVE_ASSETS_BUCKET") == env_example()["CREATIVE_ASSETS_BUCKET"]
    assert env.get("CREATIVE_ASSETS_INBOX_PREFIX", "").endswith("/"), "the inbox prefix is a folder: end in /"


def test_postgres_url_uses_psycopg2_and_the_postgres_service():
    url = env_example().get("DAGSTER_POSTGRES_URL", "")
    assert url.startswith("postgresql+psycopg2://"), (
        f"DAGSTER_POSTGRES_URL={url!r} must use postgresql+psycopg2:// (SQLAlchemy 2.1 maps plain "
        "postgresql:// to psycopg3; dagster-postgres ships psycopg2)"
    )
    parts = urlsplit(url)
    pg = {k: interpolate(v, env_example()) for k, v in environment(service("postgres")).items()}
    user = pg.get("POSTGRES_USER", "postgres")
    expected = {
        "host": "postgres",
        "port": 5432,
        "user": user,
        "password": pg.get("POSTGRES_PASSWORD"),
        "database": pg.get("POSTGRES_DB", user),
    }
    actual = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": parts.username,
        "password": parts.password,
        "database": parts.path.lstrip("/"),
    }
    assert actual == expected, (
        f"DAGSTER_POSTGRES_URL does not match the postgres service: {actual} != {expected}"
    )
    for name in PROJECT_SERVICES:
        assert resolved_environment(name).get("DAGSTER_POSTGRES_URL") == url, (
            f"{name} gets another postgres URL"
        )
    check = healthcheck_args(service("postgres"))
    assert "pg_isready" in check, f"postgres healthcheck should use pg_isready: {check}"
    assert option(check, "-U") in (None, user), "pg_isready checks another user"


def test_instance_config_uses_postgres():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    assert "postgres" in (config.get("storage") or {}), (
        "dagster.yaml should keep run/event storage in postgres"
    )
    assert instance_env_names(), "dagster.yaml should read its postgres URL from the environment"


# --------------------------------------------------------------------------- volumes


def test_named_volumes_are_declared_and_used():
    declared = set(compose().get("volumes") or {})
    used = {volume: name for name, svc in services().items() for volume in named_volumes(svc)}
    undeclared = sorted(set(used) - declared)
    assert not undeclared, f"services use volumes {undeclared} that the top-level volumes: does not declare"
    unused = sorted(declared - set(used))
    assert not unused, f"volumes {unused} are declared but no service mounts them"
    for name, mount in {"postgres": "postgres-data", "minio": "minio-data"}.items():
        assert named_volumes(service(name)), f"{name} must keep its data in a volume (e.g. {mount})"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_and_system_libraries():
    base = next((rest for k, rest in dockerfile() if k == "FROM"), None)
    assert base and base.split()[0] == "python:3.11-slim", (
        f"the image should be FROM python:3.11-slim, is {base}"
    )
    installs = [c for c in shell_commands() if c[:1] == ["apt-get"] and "install" in c]
    assert any("libfribidi0" in c for c in installs), (
        "the Dockerfile must `apt-get install libfribidi0` (Pillow's raqm needs it to shape Arabic/Hebrew)"
    )


def test_dockerfile_installs_the_project_without_extras():
    pips = [
        c[c.index("install") + 1 :] for c in shell_commands() if "pip" in " ".join(c[:3]) and "install" in c
    ]
    assert any("." in args for args in pips), f"the Dockerfile should `pip install .`; pip runs {pips}"
    assert not any(a.startswith(".[") or a == "-e" for args in pips for a in args), (
        f"the image installs the project without extras, not editable: {pips}"
    )
    assert dockerfile_workdir() == PurePosixPath("/opt/dagster/app"), f"WORKDIR is {dockerfile_workdir()}"


def test_dockerfile_dagster_home_holds_the_instance_config():
    env = dockerfile_env()
    home = env.get("DAGSTER_HOME")
    assert home == "/opt/dagster/home", f"the image's DAGSTER_HOME is {home!r}"
    copies = [shlex.split(rest) for k, rest in dockerfile() if k in ("COPY", "ADD")]
    copies = [[a for a in c if not a.startswith("--")] for c in copies]
    targets = {PurePosixPath(expand(c[-1], env)) for c in copies if len(c) >= 2 and "dagster.yaml" in c[:-1]}
    assert targets & {PurePosixPath(home), PurePosixPath(home) / "dagster.yaml"}, (
        f"the Dockerfile must copy dagster.yaml into DAGSTER_HOME ({home}); it copies it to {targets}"
    )
    assert not dockerignored("dagster.yaml"), ".dockerignore keeps dagster.yaml out of the build"
    for name in PROJECT_SERVICES:
        value = environment(service(name)).get("DAGSTER_HOME", home)
        assert value == home, f"{name} sets DAGSTER_HOME={value}, the image has its dagster.yaml in {home}"


def test_dockerfile_runs_as_non_root():
    user = dockerfile_last("USER")
    assert user, "the Dockerfile should switch to a non-root USER"
    assert user.split(":")[0] not in ("root", "0"), f"the image runs as {user}"
    for name in PROJECT_SERVICES:
        assert str(service(name).get("user", user)).split(":")[0] not in ("root", "0"), f"{name} runs as root"


def test_image_has_the_brand_kits():
    kits = dockerfile_env().get("CREATIVE_ASSETS_BRAND_KITS")
    if kits:  # a non-editable install has no brand_kits/ next to the package: the image points at the copy
        path = PurePosixPath(kits)
        assert path.is_relative_to(dockerfile_workdir()), (
            f"CREATIVE_ASSETS_BRAND_KITS={kits} is outside WORKDIR"
        )
        relative = path.relative_to(dockerfile_workdir()).as_posix()
        assert (ROOT / relative).is_dir(), f"CREATIVE_ASSETS_BRAND_KITS={kits}: no {relative}/ in the repo"
        assert any((ROOT / relative).glob("*/brand.yaml")), f"{relative}/ holds no brand kit"


def test_dockerignore_keeps_what_the_image_needs():
    needed = [
        "pyproject.toml",
        "README.md",  # pyproject's readme: building the package reads it
        "dagster.yaml",
        "deploy/workspace.yaml",
        "creative_assets/definitions.py",
        "creative_assets/fonts/OFL.txt",
        "resources/storage.py",
        "sensors/__init__.py",
        "brand_kits/aurora-beverages/brand.yaml",
    ]
    excluded = [path for path in needed if dockerignored(path)]
    assert not excluded, f".dockerignore keeps {excluded} out of the build context"
    for path in (".env", ".git/HEAD", "var/storage/x.png", ".venv/bin/python"):
        assert dockerignored(path), f".dockerignore should keep {path} out of the image"


def test_review_service_serves_the_app_on_the_shared_storage():
    review = service("review")
    assert review["build"] == service("usercode")["build"] and review["image"] == service("usercode")["image"]
    assert review["command"][:2] == ["creative-assets", "review"]
    port = review["command"][review["command"].index("--port") + 1]
    assert any(p.endswith(f":{port}:{port}") and p.startswith("127.0.0.1:") for p in review["ports"])
    env = review["environment"]
    # accounts live in the Postgres server of the stack, in their own schema; OIDC is configurable
    assert env["CREATIVE_ASSETS_IDENTITY_DB_URL"] == "${DAGSTER_POSTGRES_URL:?copy .env.example to .env}"
    assert env_example()["CREATIVE_ASSETS_IDENTITY_DB_SCHEMA"] == "identity"
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URL", "GROUP_ROLES"):
        assert f"CREATIVE_ASSETS_OIDC_{name}" in env and f"CREATIVE_ASSETS_OIDC_{name}" in env_example()
    for name in ("CREATIVE_ASSETS_STORAGE", "CREATIVE_ASSETS_BUCKET", "CREATIVE_ASSETS_S3_ENDPOINT_URL"):
        assert env[name] == service("usercode")["environment"][name], name
    assert "/healthz" in " ".join(review["healthcheck"]["test"])


# --------------------------------------------------------------------------- Celery: redis and workers


def test_redis_is_the_broker_and_keeps_its_queue():
    redis = service("redis")
    assert "build" not in redis and str(redis.get("image", "")).startswith("redis:"), redis.get("image")
    args = command_args(redis)
    assert args[:1] == ["redis-server"] and option(args, "--appendonly") == "yes", (
        f"redis should persist its queues (append-only file): {args}"
    )
    assert named_volumes(redis), "redis must keep its append-only file in a volume"
    assert healthcheck_args(redis)[:2] == ["redis-cli", "ping"]
    assert not published_ports(redis), "the broker has no password: never publish it on the host"
    for name in PROJECT_SERVICES:
        env = resolved_environment(name)
        assert env.get("CREATIVE_ASSETS_EXECUTOR") == "celery", f"{name}: the stack runs steps on the workers"
        for var in ("CREATIVE_ASSETS_CELERY_BROKER_URL", "CREATIVE_ASSETS_CELERY_BACKEND_URL"):
            url = urlsplit(env.get(var, ""))
            assert (url.scheme, url.hostname, url.port or 6379) == ("redis", "redis", 6379), (
                f"{name}: {var} should point at the redis service, is {env.get(var)!r}"
            )
        timeout = int(env["CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT"])
        assert timeout >= 3600, f"{name}: a visibility timeout of {timeout}s would rerun long steps twice"


@pytest.mark.parametrize("name", sorted(WORKER_QUEUES))
def test_workers_run_the_celery_app_on_their_queues(name):
    args = command_args(service(name))
    assert args[:4] == ["celery", "-A", "creative_assets.celery_app", "worker"], args
    assert importlib.util.find_spec("creative_assets.celery_app") is not None
    queues = set((option(args, "-Q", "--queues") or "").split(","))
    assert queues == WORKER_QUEUES[name], f"{name} serves {queues}, should serve {WORKER_QUEUES[name]}"
    concurrency = interpolate(option(args, "-c", "--concurrency") or "", env_example())
    assert concurrency.isdigit() and int(concurrency) >= 1, f"{name} --concurrency {concurrency!r}"
    nodename = option(args, "-n", "--hostname") or ""
    assert nodename.endswith("@%h"), f"{name}: --hostname {nodename!r} must end in @%h (one per replica)"
    check = interpolate(" ".join(healthcheck_args(service(name))), env_example())  # $$ -> $
    assert "inspect ping" in check and nodename.replace("%h", "$HOSTNAME") in check, (
        f"{name}: the healthcheck should ping this replica's node ({nodename}): {check}"
    )
    assert depends_on(service(name)).get("redis") == "service_healthy"
    assert depends_on(service(name)).get("postgres") == "service_healthy"


def test_every_queue_a_step_can_use_is_served():
    from creative_assets.queues import stage_queue
    from creative_assets.stage_registry import STAGE_NAMES

    providers = ("offline", "openai")
    used = {
        stage_queue(stage, image_provider=image, text_provider=text, video_provider=video)
        for stage in STAGE_NAMES
        for image in providers
        for text in providers
        for video in providers
    }
    served = set().union(*WORKER_QUEUES.values())
    assert used <= served, f"steps can be routed to {sorted(used - served)}, which no worker serves"


@pytest.mark.parametrize("name", sorted(WORKER_QUEUES))
def test_workers_scale_out(name):
    svc = service(name)
    # `docker compose up --scale worker=4` needs replicas that do not collide
    assert "container_name" not in svc and "hostname" not in svc, f"{name} pins a name: cannot scale"
    assert not published_ports(svc), f"{name} publishes ports: a second replica could not bind them"
    grace = str(svc.get("stop_grace_period", ""))
    assert grace.endswith("m") and int(grace[:-1]) >= 5, (
        f"{name}: stop_grace_period {grace!r} should let a running step finish (warm shutdown)"
    )
