#!/usr/bin/env python3
"""Writes the student containers' seccomp profile: Docker's own default, plus the namespace calls.

Docker's default profile refuses unshare, setns, mount, umount2 and sethostname to a container
without CAP_SYS_ADMIN, so a student's rootless lab (a user namespace the student owns) could not
start. seccomp=unconfined would allow them and everything else the default refuses (bpf,
perf_event_open, keyctl, kexec_load, ...). This profile is the default as the running Docker
engine applies it to a plain container (read from that container's OCI bundle, so it follows the
installed Docker version instead of a copy kept here), with one rule added: those six calls are
allowed. The kernel itself still refuses them outside a user namespace where the caller holds
CAP_SYS_ADMIN, which a student (uid 1000, no-new-privileges) never does in the container's own
namespace. clone with namespace flags stays refused (unshare(1) and nsenter(1) use unshare/setns).

    seccomp-profile.py IMAGE OUTPUT.json      (needs a running Docker engine)
"""
import glob, json, os, subprocess, sys, time

NAMESPACE_CALLS = ["unshare", "setns", "mount", "umount2", "sethostname", "setdomainname"]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def default_profile(image: str) -> dict:
    cid = docker("run", "-d", "--rm", "--network", "none", "--entrypoint", "sleep", image, "60")
    try:
        # dockerd 20.10 keeps the OCI bundle under /run/docker/containerd; newer ones under /run/containerd.
        for _ in range(50):
            found = glob.glob(f"/run/docker/containerd/daemon/*/moby/{cid}/config.json") + \
                    glob.glob(f"/run/containerd/*/moby/{cid}/config.json")
            if found:
                break
            time.sleep(0.1)
        else:
            sys.exit(f"seccomp-profile: no OCI bundle found for container {cid[:12]} (is the engine on this machine?)")
        return json.load(open(found[0]))["linux"]["seccomp"]
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, output = sys.argv[1], sys.argv[2]
    profile = default_profile(image)
    if profile.get("defaultAction") != "SCMP_ACT_ERRNO" or not profile.get("syscalls"):
        sys.exit(f"seccomp-profile: unexpected default profile ({profile.get('defaultAction')}); refusing to derive from it")
    allowed = {n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}
    added = [n for n in NAMESPACE_CALLS if n not in allowed]
    profile["syscalls"].append({"names": added, "action": "SCMP_ACT_ALLOW"})
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(profile, f, indent=1)
    os.replace(tmp, output)
    print(f"seccomp-profile: {output}: Docker's default ({len(profile['syscalls']) - 1} rules) + allow {', '.join(added)}")


if __name__ == "__main__":
    main()
