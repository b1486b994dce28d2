# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pve
short_description: Proxmox VE nodes, containers and VMs as hosts, with their discovered addresses
version_added: 0.1.0
description:
  - Reads the nodes and guests of one or more Proxmox VE clusters through the API and makes them hosts.
  - Every container (and, with O(want_qemu), every VM with a running guest agent) whose address can be discovered gets C(ansible_host)
    without any C(compose) expression; the choice follows O(preferred_networks), then IPv4 before IPv6. All addresses stay in C(pve_ips).
  - Addresses of running containers come from their interfaces, of stopped ones from their configuration (a stopped DHCP container has none).
    Loopback, link-local and container-internal bridge addresses are left out; public and CGNAT addresses are kept.
  - Address lookups run concurrently (O(concurrency)), spread over the nodes. With the inventory cache enabled, an address is reused
    while its guest keeps the same status and has not restarted, so a refresh where nothing changed costs two requests per cluster.
  - Guests sharing a name get unique, stable host names (C(<name>-<vmid>)); they are never merged.
  - A node that is offline or fails does not stop the inventory. Its guests appear with what the cluster knows, and a warning says why.
    With several O(clusters), one that cannot be read at all is left out with a warning.
  - The inventory file must be named C(pve.yml), C(pve.yaml) or end in C(.pve.yml) / C(.pve.yaml).
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api.plugins
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as an inventory of this plugin.
    type: str
    required: true
    choices: [pveops.proxmox.pve]
  clusters:
    description:
      - Several clusters in one inventory, each a dictionary of connection options (O(api_url), O(api_token_id), ...).
        Options not set in an entry come from the top-level options.
      - When empty, the top-level options describe the one cluster.
    type: list
    elements: dict
    default: []
  want_nodes:
    description: Add the nodes as hosts (group C(pve_nodes), C(ansible_host) = the node's cluster address).
    type: bool
    default: true
  want_qemu:
    description: Add QEMU VMs as hosts too; addresses come from the guest agent of running VMs.
    type: bool
    default: false
  want_templates:
    description: Add templates as hosts too.
    type: bool
    default: false
  discover_ips:
    description: Look up the guests' addresses. Without it, hosts get no C(ansible_host) and the inventory costs two requests per cluster.
    type: bool
    default: true
  concurrency:
    description: How many address lookups run at the same time, over all nodes (1 to 256).
    type: int
    default: 16
  address_max_age:
    description: Seconds an address found earlier (kept in the inventory cache) is reused while its guest's status is unchanged.
    type: int
    default: 300
  preferred_networks:
    description:
      - Networks (CIDR) to take C(ansible_host) from, in order of preference, for example V(10.0.0.0/8) or V(fd00::/8).
      - When no address is in them, the first IPv4 address is used, else the first address.
    type: list
    elements: str
    default: []
  prefer_ipv4:
    description: Prefer IPv4 over IPv6 when O(preferred_networks) decides nothing.
    type: bool
    default: true
  hostname:
    description:
      - A Jinja2 expression over the host variables that gives the host name, for example V(pve_name ~ '.lan').
      - Defaults to the guest's name (C(ct<vmid>) or C(vm<vmid>) when it has none).
    type: str
  filters:
    description:
      - Jinja2 conditions over the host variables; a guest becomes a host only when all are true, for example V(pve_status == 'running').
      - An expression that cannot be evaluated (a syntax error, an undefined variable) fails the inventory with O(strict=true);
        otherwise the guests it fails for are left out, with one warning per expression.
    type: list
    elements: str
    default: []
  host_variables:
    description:
      - Which variables hosts keep.
      - >-
        V(lean) keeps what identifies a host and reaches it: C(ansible_host), C(pve_type), C(pve_vmid), C(pve_name) (when known),
        C(pve_node), C(pve_status), and C(pve_ips), C(pve_tags), C(pve_pool), C(pve_lock), C(pve_hastate), C(pve_template) when they say
        something (addresses, tags, a pool, a lock, an HA state, a template): use C(pve_ips | default([])) where a host may have no address.
        C(pve_cluster) is the group C(pve_cluster_<name>); C(pve_uptime), C(pve_maxmem),
        C(pve_maxcpu) and C(pve_maxdisk) are left out. Every variable a host keeps costs memory and time for every host in every run.
      - V(full) keeps every variable on every host, null, empty or false ones too (what version 0.1.0 did).
      - >-
        O(filters), O(hostname), O(compose), O(groups) and O(keyed_groups) see every variable either way; to keep one of the others,
        compose it, for example C(compose: {pve_maxmem: pve_maxmem}).
    type: str
    choices: [lean, full]
    default: lean
  connection_type:
    description:
      - How Ansible reaches the containers.
      - V(ssh) leaves the connection to Ansible's defaults (SSH to C(ansible_host)).
      - >-
        V(pve_lxc) sets C(ansible_connection=pveops.proxmox.pve_lxc) on container hosts, with the cluster's API address and TLS settings
        (C(pve_api_url), C(pve_ca_path), C(pve_tls_fingerprint), C(pve_validate_certs)) as host variables, so modules run
        in the containers through the API, without SSH. Secrets are never written into host variables or the cache: the connection takes
        the password from E(PVE_PASSWORD) or a (vaulted) C(pve_api_password) variable.
    type: str
    choices: [ssh, pve_lxc]
    default: ssh
"""

EXAMPLES = r"""
# pve.yml — a token with VM.Audit and Sys.Audit is enough for the inventory
plugin: pveops.proxmox.pve
api_url: https://pve.example.com:8006
api_token_id: ansible@pve!inventory
api_token_secret: "{{ lookup('ansible.builtin.env', 'PVE_TOKEN_SECRET') }}"
ca_path: /etc/ansible/pve-root-ca.pem

# Two clusters, with the connection options per cluster
# plugin: pveops.proxmox.pve
# api_token_id: ansible@pve!inventory
# clusters:
#   - api_url: https://pve-a.example.com:8006
#     api_token_secret: "{{ lookup('ansible.builtin.env', 'PVE_A_SECRET') }}"
#   - api_url: https://pve-b.example.com:8006
#     api_token_secret: "{{ lookup('ansible.builtin.env', 'PVE_B_SECRET') }}"

# Prefer the management network, only running containers, extra groups
# plugin: pveops.proxmox.pve
# preferred_networks: [10.10.0.0/16]
# filters:
#   - pve_status == 'running'
# keyed_groups:
#   - key: pve_hastate | default('none', true)
#     prefix: ha
# compose:
#   ansible_user: "'root'"
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/ansible-pve
"""

import dataclasses
import typing as t

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError
from ansible_collections.pveops.proxmox.plugins.module_utils._ips import choose_host, parse_networks
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_CONCURRENCY, bounded_number
from ansible_collections.pveops.proxmox.plugins.plugin_utils._client import config_from, new_client, plugin_connection_options, pve_errors

if t.TYPE_CHECKING:
    from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import Snapshot

PREFIX = "pve_"
# What a host keeps with host_variables: lean (issue 15): the variables that identify and reach it,
# and those of WHEN_SET only when they say something. The others are a group (pve_cluster) or
# rarely used (uptime, sizes); expressions see them all.
LEAN = frozenset({"ansible_host", "pve_type", "pve_vmid", "pve_name", "pve_node", "pve_status"})
WHEN_SET = frozenset({"pve_ips", "pve_tags", "pve_pool", "pve_lock", "pve_hastate", "pve_template"})


def lean_variables(variables: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The variables a host keeps with ``host_variables: lean``."""
    return {key: value for key, value in variables.items() if (key in LEAN and value is not None) or (key in WHEN_SET and value)}


@dataclasses.dataclass
class Host:
    """A host about to be added: its name, variables, groups (without prefix) and cluster label.

    ``expression_vars`` holds every variable, for compose, groups and keyed_groups, when one of them is set.
    """

    name: str
    hostvars: dict[str, t.Any]
    groups: list[str]
    label: str
    vmid: int | None = None  # None for a node
    expression_vars: dict[str, t.Any] | None = None


def cluster_labels(names: t.Sequence[str]) -> list[str]:
    """Cluster names, numbered by their position in ``clusters`` where two clusters share one."""
    return [name if names.count(name) == 1 else f"{name}-{index + 1}" for index, name in enumerate(names)]


def unique_names(hosts: t.Sequence[Host]) -> list[Host]:
    """Give colliding host names stable, unique forms; never merge two guests.

    Guests sharing a name (with each other or a node) become ``<name>-<vmid>``; names that still
    collide across clusters (same name and vmid, or the same node name) get ``.<cluster label>``.
    """
    def duplicates(names: t.Iterable[str]) -> set[str]:
        seen: set[str] = set()
        twice: set[str] = set()
        for name in names:
            (twice if name in seen else seen).add(name)
        return twice

    first = duplicates(host.name for host in hosts)
    for host in hosts:
        if host.name in first and host.vmid is not None:
            host.name = f"{host.name}-{host.vmid}"
    second = duplicates(host.name for host in hosts)
    for host in hosts:
        if host.name in second:
            host.name = f"{host.name}.{host.label}"
    return list(hosts)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from Proxmox VE clusters."""

    NAME = "pveops.proxmox.pve"
    _connection_vars: dict[str, dict[str, t.Any]] | None = None

    def __init__(self) -> None:
        super().__init__()
        self._filter_failures: dict[str, list[str]] = {}  # expression -> the error for each guest it failed for
        self._groups: dict[str, str] = {}  # group name without prefix -> the inventory's (sanitised) name
        self._full = False  # host_variables: full
        self._constructed = False  # compose, groups or keyed_groups is set
        self._networks: list[t.Any] = []  # preferred_networks, parsed

    def verify_file(self, path: str) -> bool:
        """Accept pve.yml, pve.yaml and *.pve.yml / *.pve.yaml."""
        return super().verify_file(path) and path.endswith(("pve.yml", "pve.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        """Read the configuration, take (or reuse) a snapshot, and turn it into hosts and groups."""
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._read_host_options()
        cache_key = self.get_cache_key(path)
        use_cache = bool(self.get_option("cache"))
        data: Snapshot | None = None
        previous: dict[str, t.Any] = {}
        if use_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict):
                previous = dict(cached.get("records") or {})
                if cache:
                    data = cached
        if data is None:
            data = self._snapshot(previous)
            if use_cache:
                self._cache[cache_key] = data
        for warning in data.get("warnings", []):
            self.display.warning(f"pveops.proxmox.pve: {warning}")
        self._populate(data)

    # ------------------------------------------------------------------ discovery

    def _snapshot(self, previous: dict[str, t.Any]) -> Snapshot:
        # Imported here: discovery needs the HTTP client, which a cache hit does without (new_client).
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import snapshot

        defaults = plugin_connection_options(self)
        entries = self.get_option("clusters") or [{}]
        try:
            concurrency = int(bounded_number("concurrency", self.get_option("concurrency"), 1, MAX_CONCURRENCY,
                                             unit="parallel requests", integer=True))
        except ConfigError as exc:
            raise AnsibleParserError(str(exc)) from None
        clients = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise AnsibleParserError(f"clusters[{index}] must be a dictionary of connection options, got {entry!r}")
            where = f"clusters[{index}]: " if self.get_option("clusters") else ""
            try:
                clients.append(new_client(config_from(entry, defaults, where), pool_size=concurrency))
            except AnsibleError as exc:
                raise AnsibleParserError(str(exc)) from None
        try:
            with pve_errors():
                return snapshot(clients, want_qemu=bool(self.get_option("want_qemu")), want_ips=bool(self.get_option("discover_ips")),
                                concurrency=concurrency, previous=previous, max_age=float(self.get_option("address_max_age")))
        except AnsibleError as exc:
            raise AnsibleParserError(f"pveops.proxmox.pve: {exc}") from None
        finally:
            for client in clients:
                client.close()

    # ------------------------------------------------------------------ hosts and groups

    def _group(self, name: str) -> str:
        # Every host joins a handful of groups out of few: each name is sanitised and added once.
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = str(self.inventory.add_group(self._sanitize_group_name(PREFIX + name)))
        return group

    def _read_host_options(self) -> None:
        """The options that shape hosts and groups, checked before any request is made."""
        try:
            self._networks = parse_networks(self.get_option("preferred_networks") or [], "preferred_networks")
        except ConfigError as exc:
            raise AnsibleParserError(str(exc)) from None
        self._groups = {}
        self._full = self.get_option("host_variables") == "full"
        self._constructed = bool(self.get_option("compose") or self.get_option("groups") or self.get_option("keyed_groups"))
        self._connection_vars = self._lxc_connection_vars() if self.get_option("connection_type") == "pve_lxc" else None

    def _populate(self, data: Snapshot) -> None:
        strict = bool(self.get_option("strict"))
        networks = self._networks
        labels = cluster_labels([cluster["name"] for cluster in data["clusters"]])
        node_count: dict[str, int] = {}
        for cluster in data["clusters"]:
            for node in cluster["nodes"]:
                node_count[node["name"]] = node_count.get(node["name"], 0) + 1
        hosts: list[Host] = []
        self._filter_failures = {}
        for cluster, label in zip(data["clusters"], labels):
            def node_group(node: str, label: str = label) -> str:
                # A node name that two clusters share gets its cluster in the group name too.
                return f"node_{node}" if node_count[node] == 1 else f"node_{node}_{label}"

            if self.get_option("want_nodes"):
                for node in cluster["nodes"]:
                    hosts.append(self._node_host(cluster, node, label, node_group(node["name"])))
            for guest in cluster["guests"]:
                host = self._guest_host(cluster, guest, label, node_group(guest["node"]), data.get("records", {}), networks, strict)
                if host is not None:
                    hosts.append(host)
        for expression, errors in self._filter_failures.items():
            self.display.warning(f"pveops.proxmox.pve: filters: could not evaluate {expression!r} for {len(errors)} guest(s), "
                                 f"which are left out (strict is false): {errors[0]}")
        self._add_hosts(unique_names(hosts), strict)

    def _host(self, name: str, variables: dict[str, t.Any], groups: list[str], label: str, vmid: int | None,
              connection: t.Mapping[str, t.Any] | None = None) -> Host:
        """A Host keeping the variables ``host_variables`` asks for and the ``connection`` ones (all of them for constructed expressions)."""
        kept = variables if self._full else dict(lean_variables(variables), **(connection or {}))
        return Host(name, kept, groups, label, vmid, variables if self._constructed else None)

    def _node_host(self, cluster: dict[str, t.Any], node: dict[str, t.Any], label: str, node_group: str) -> Host:
        variables = {
            "pve_type": "node", "pve_name": node["name"], "pve_node": node["name"], "pve_cluster": cluster["name"],
            "pve_status": "online" if node["online"] else "offline", "pve_ips": [node["ip"]] if node["ip"] else [],
        }
        if node["ip"]:
            variables["ansible_host"] = node["ip"]
        return self._host(node["name"], variables, ["nodes", f"cluster_{label}", node_group], label, None)

    def _guest_host(self, cluster: dict[str, t.Any], guest: dict[str, t.Any], label: str, node_group: str,
                    records: dict[str, t.Any], networks: list[t.Any], strict: bool) -> Host | None:
        if guest["template"] and not self.get_option("want_templates"):
            return None
        if guest["type"] == "qemu" and not self.get_option("want_qemu"):
            return None
        variables = {PREFIX + key: value for key, value in guest.items()}
        record = records.get(f"{cluster['name']}/{guest['type']}/{guest['vmid']}")
        ips = list(record["ips"]) if record is not None else list(guest.get("ips") or [])
        variables["pve_ips"] = ips
        address = choose_host(ips, networks, bool(self.get_option("prefer_ipv4")))
        if address:
            variables["ansible_host"] = address
        # Every expression is evaluated (no short cut), so that each one that cannot be is reported.
        verdicts = [self._matches(expression, variables, strict) for expression in self.get_option("filters") or []]
        if not all(verdicts):
            return None
        connection = None
        if self._connection_vars is not None and guest["type"] == "lxc":
            connection = self._connection_vars.get(str(cluster.get("url")))
            variables.update(connection or {})
        groups = ["lxc" if guest["type"] == "lxc" else "qemu", guest["status"], node_group, f"cluster_{label}"]
        groups += [f"tag_{tag}" for tag in guest["tags"]]
        if guest.get("pool"):
            groups.append(f"pool_{guest['pool']}")
        return self._host(self._host_name(variables, guest), variables, groups, label, int(guest["vmid"]), connection)

    def _lxc_connection_vars(self) -> dict[str, dict[str, t.Any]]:
        """Per cluster URL: what the pve_lxc connection needs to reach it, without any secret."""
        defaults = plugin_connection_options(self)
        result: dict[str, dict[str, t.Any]] = {}
        for index, entry in enumerate(self.get_option("clusters") or [{}]):
            where = f"clusters[{index}]: " if self.get_option("clusters") else ""
            try:
                config = config_from(dict(entry), defaults, where)
            except AnsibleError as exc:
                raise AnsibleParserError(str(exc)) from None
            values: dict[str, t.Any] = {"ansible_connection": "pveops.proxmox.pve_lxc", "pve_api_url": config.base_url,
                                        "pve_validate_certs": config.validate_certs}
            if config.ca_path:
                values["pve_ca_path"] = config.ca_path
            if config.tls_fingerprint:
                values["pve_tls_fingerprint"] = config.tls_fingerprint
            result[config.base_url] = values
        return result

    def _matches(self, expression: str, hostvars: dict[str, t.Any], strict: bool) -> bool:
        try:
            return bool(self._compose(expression, hostvars))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a user's template: report, do not crash
            if strict:
                raise AnsibleParserError(f"filters: could not evaluate {expression!r}: {exc}") from None
            self._filter_failures.setdefault(expression, []).append(str(exc))
            return False

    def _host_name(self, hostvars: dict[str, t.Any], guest: dict[str, t.Any]) -> str:
        template = self.get_option("hostname")
        if template:
            try:
                value = self._compose(template, hostvars)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                raise AnsibleParserError(f"hostname: could not evaluate {template!r} for vmid {guest['vmid']}: {exc}") from None
            if value:
                return str(value)
        if guest.get("name"):
            return str(guest["name"])
        return f"{'ct' if guest['type'] == 'lxc' else 'vm'}{guest['vmid']}"

    def _add_hosts(self, hosts: list[Host], strict: bool) -> None:
        compose, groups, keyed_groups = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        for host in hosts:
            name = host.name
            self.inventory.add_host(name)
            for group in host.groups:
                self.inventory.add_child(self._group(group), name)
            for key, value in host.hostvars.items():
                self.inventory.set_variable(name, key, value)
            if host.expression_vars is not None:
                self._set_composite_vars(compose, host.expression_vars, name, strict=strict)
                self._add_host_to_composed_groups(groups, host.expression_vars, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, host.expression_vars, name, strict=strict)
