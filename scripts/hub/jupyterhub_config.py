# JupyterHub for a class: one hub, one container of the nslab image per student (DockerSpawner),
# configurable-http-proxy in front, jupyterhub-idle-culler as a service. scripts/hub/run-hub.sh
# (npm run hub) starts the proxy and dockerd and sets the NSLAB_HUB_* variables read here.
import os
import sys
from pathlib import Path


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"jupyterhub_config: {name} is not set (start the hub with npm run hub)")
    return value


state = Path(env("NSLAB_HUB_DIR"))
gateway = env("NSLAB_HUB_GATEWAY")  # this machine's address on the students' internal network

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

# --- Where things listen ---------------------------------------------------------------------
# The public side (the proxy) and its REST API only on 127.0.0.1. The hub's own API must be
# reachable from the students' containers, so it listens on this machine's address on their
# internal network (a Docker bridge with no route out), not on 127.0.0.1 and not on 0.0.0.0.
c.JupyterHub.bind_url = f"http://127.0.0.1:{env('NSLAB_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://{gateway}:{env('NSLAB_HUB_HUB_PORT', '8081')}"
c.JupyterHub.hub_connect_url = c.JupyterHub.hub_bind_url
# The proxy is started by run-hub.sh, not by the hub, so that it (and every student's route)
# outlives a restart of the hub; CONFIGPROXY_AUTH_TOKEN is shared through the environment.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('NSLAB_HUB_PROXY_API_PORT', '8001')}"
# Students' servers keep running when the hub stops (a hub restart must not end their work);
# run-hub.sh stops them when the whole hub is stopped.
c.JupyterHub.cleanup_servers = False

c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# --- Who may log in ----------------------------------------------------------------------------
# For trying it out: any user name with the one shared password run-hub.sh printed. A school
# replaces this with its own authenticator (README: "A class on JupyterHub").
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env("NSLAB_HUB_PASSWORD")
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {env("NSLAB_HUB_ADMIN", "teacher")}

# --- One container per student -----------------------------------------------------------------
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = env("NSLAB_HUB_IMAGE", "nslab")
c.DockerSpawner.pull_policy = "never"  # the image is built on this machine
c.DockerSpawner.prefix = "nslab-hub"
c.DockerSpawner.name_template = "{prefix}-{username}"
c.DockerSpawner.network_name = env("NSLAB_HUB_NETWORK", "nslab-hub")
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True  # a stopped server's container goes; its volume (the home) stays
c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
c.DockerSpawner.notebook_dir = "/home/student"
c.Spawner.default_url = "/lab"
# The home: a volume per student. Docker fills a new volume from the image's /home/student (the
# tutorial notebooks) on first start; from then on it keeps the student's work across restarts.
c.DockerSpawner.volumes = {"nslab-hub-{username}": "/home/student"}
c.DockerSpawner.environment = {"NSLAB_LAB": "rootless"}
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

# Least privilege (see the README): the student's processes run as uid 1000 with no capability
# at all and no way to gain one (no-new-privileges); the lab is a user namespace the student owns.
# seccomp: Docker's default plus unshare/setns/mount/umount2/sethostname/setdomainname
# (scripts/hub/seccomp-profile.py), instead of unconfined. systempaths=unconfined: the kernel lets
# a user namespace mount a new /proc only where /proc is not partly covered, as Docker covers it
# by default; /proc/sys stays unwritable because the student is not root in the container.
seccomp_profile = Path(env("NSLAB_HUB_SECCOMP")).read_text()
c.DockerSpawner.extra_create_kwargs = {
    "user": "1000:1000",
    # run-hub.sh finds the containers of its hub by this label when it stops
    "labels": {"nslab.hub.network": c.DockerSpawner.network_name, "nslab.hub.user": "{username}"},
    # systempaths=unconfined as the Docker API spells it (docker-py's host config has no argument
    # for it, so it is merged into the request here)
    "host_config": {"MaskedPaths": [], "ReadonlyPaths": []},
}
c.DockerSpawner.mem_limit = env("NSLAB_HUB_MEM", "768M")
c.DockerSpawner.cpu_limit = float(env("NSLAB_HUB_CPUS", "1"))
c.DockerSpawner.extra_host_config = {
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges", f"seccomp={seccomp_profile}"],
    "pids_limit": int(env("NSLAB_HUB_PIDS", "256")),
    "memswap_limit": env("NSLAB_HUB_MEM", "768M"),  # no swap beyond the memory limit
    "cpu_shares": 1024,  # every student the same weight when the CPUs are busy
    "init": True,
}

# --- Services ----------------------------------------------------------------------------------
# The idle culler: started by run-hub.sh with this token (JupyterHub would give a service it
# starts itself 30 s to react to SIGINT when the hub stops, which makes every restart slow).
services = [{"name": "idle-culler", "api_token": env("NSLAB_HUB_CULLER_TOKEN")}]
roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
admin_token = os.environ.get("NSLAB_HUB_ADMIN_TOKEN")
if admin_token:  # for scripts and tests: a service with the hub's admin role
    services.append({"name": "class-admin", "api_token": admin_token})
    roles.append({"name": "admin", "services": ["class-admin"]})
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
