"""The local Kubernetes cluster of scripts/k8s-cluster.sh, driven from the tests.

Also what the cluster must leave on the host as it found it: the sysctls the kubelet would
rewrite, the paths a kubelet or containerd creates outside their state directory, the kubelet's
cgroups, and every process that ran for the cluster (its components, containerd's shims, the
containers), identified by PID and start time so that a reused PID does not count.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_versions import read_versions

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "k8s-cluster.sh"
BUILD_STEP = "make k8s"
SCRIPT_TIMEOUT_SECONDS = 300.0
"""Upper bound for one start/stop/import (a start takes seconds; the machine is shared)."""
KUBELET_SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
"""The host sysctls a kubelet rewrites unless it runs with protectKernelDefaults."""
HOST_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/etc/cni",
    "/opt/cni",
    "/etc/kubernetes",
    "/usr/libexec/kubernetes",
)
"""Paths a kubelet, containerd or controller manager creates when left to its defaults."""
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cache_dir() -> Path:
    return Path(os.environ.get("APPSTACK_CACHE", Path.home() / ".cache" / "appstack"))


def kubectl_binary() -> Path:
    version = read_versions()["KUBERNETES_VERSION"]
    return cache_dir() / f"kubernetes-v{version}" / "bin" / "kubectl"


def plugin_binary() -> Path:
    version = read_versions()["PULUMI_KUBERNETES_VERSION"]
    plugin = f"resource-kubernetes-v{version}"
    return cache_dir() / "pulumi-home" / "plugins" / plugin / "pulumi-resource-kubernetes"


@dataclass(frozen=True)
class HostState:
    """What the cluster may change on the host, read at one moment."""

    sysctls: dict[str, str]
    paths: frozenset[str]
    kubelet_cgroups: frozenset[str]


def read_sysctl(name: str) -> str:
    return (Path("/proc/sys") / name.replace(".", "/")).read_text().strip()


def host_state() -> HostState:
    return HostState(
        sysctls={name: read_sysctl(name) for name in KUBELET_SYSCTLS},
        paths=frozenset(path for path in HOST_PATHS if os.path.lexists(path)),
        kubelet_cgroups=frozenset(str(path) for path in CGROUP_ROOT.glob("*/kubepods")),
    )


@dataclass(frozen=True)
class Process:
    """A process as seen once: its PID, start time (clock ticks since boot) and command name."""

    pid: int
    start_time: str
    name: str

    @classmethod
    def read(cls, pid: int) -> Process | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # The command name is in parentheses and may contain spaces; the fields follow it.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        return cls(pid, fields[19], name)

    def alive(self) -> bool:
        """Whether this very process still runs (the same PID with another start time does not)."""
        return Process.read(self.pid) == self


@dataclass
class Cluster:
    """scripts/k8s-cluster.sh on a state directory of its own."""

    state_dir: Path
    pod_network: str = "isolated"
    """APPSTACK_K8S_POD_NETWORK: `isolated` pods, or a `routed` pod network with kube-proxy and
    CoreDNS in a network namespace of the cluster's own (scripts/k8s-cluster.sh)."""

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def require_built(self) -> None:
        """Fail the test (never skip it) when the cluster or the plugin is not built."""
        for binary in (kubectl_binary(), plugin_binary()):
            if not binary.exists():
                pytest.fail(f"{binary} is missing: build it with `{BUILD_STEP}`", pytrace=False)

    def script(self, *args: str) -> str:
        """Run scripts/k8s-cluster.sh; fails the test with its output when it fails."""
        env = {
            **os.environ,
            "APPSTACK_K8S_DIR": str(self.state_dir),
            "APPSTACK_K8S_POD_NETWORK": self.pod_network,
        }
        try:
            result = subprocess.run(
                ["bash", str(SCRIPT), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=SCRIPT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(f"k8s-cluster.sh {' '.join(args)} timed out: {error}", pytrace=False)
        if result.returncode != 0:
            pytest.fail(
                f"k8s-cluster.sh {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}",
                pytrace=False,
            )
        return result.stdout + result.stderr

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(kubectl_binary()), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    def processes(self) -> set[Process]:
        """Every process running for the cluster now: the components start recorded, the rest
        of its mount namespace (containerd's shims) and the kubelet's cgroups (the containers)."""
        run = self.state_dir / "run"
        pids = {int(pidfile.read_text()) for pidfile in run.glob("*.pid")}
        namespace_file = run / "mount-namespace"
        if namespace_file.exists():
            namespace = namespace_file.read_text().strip()
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    try:
                        if os.readlink(proc / "ns" / "mnt") == namespace:
                            pids.add(int(proc.name))
                    except OSError:
                        continue
        for procs in CGROUP_ROOT.glob("*/kubepods/**/cgroup.procs"):
            pids.update(int(line) for line in procs.read_text().split())
        return {process for pid in pids if (process := Process.read(pid))}

    def mounts(self) -> list[str]:
        """Mount points under the state directory in this (the host's) mount namespace."""
        prefix = f"{self.state_dir}/"
        with open("/proc/self/mountinfo") as mountinfo:
            points = [line.split()[4] for line in mountinfo]
        return [point for point in points if point.startswith(prefix)]
