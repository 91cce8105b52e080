/* The maps of portway_lb.bpf.c (layout and meaning: include/portway/lb_abi.h). The
 * max_entries below are only defaults: the loader sets every size from the node settings
 * before load (loader/lb_capacities.h), so none of them is a compile-time cap. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "portway/lb_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_FRONTENDS);
	__type(key, struct pw_frontend_key);
	__type(value, struct pw_frontend);
} pw_frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_SERVICE_ADDRS);
	__type(key, __be32);
	__type(value, struct pw_service_addr);
} pw_service_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_NODE_ADDRS);
	__type(key, __be32);
	__type(value, struct pw_node_addr);
} pw_node_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct pw_backend);
} pw_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct pw_nexthop);
} pw_nexthops SEC(".maps");

/* The inner map is only a template: BPF_F_INNER_MAP tells the verifier not to assume its
 * max_entries, so every set may have its own Maglev size M (kernel >= 5.10). Inner maps the
 * loader creates must carry the same flag, map_flags are part of the compatibility check. */
struct pw_backend_set_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PW_DEFAULT_BACKEND_SETS);
	__type(key, __u32);
	__array(values, struct pw_backend_set_inner);
} pw_backend_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_flow_key);
	__type(value, struct pw_flow);
} pw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_flow_key);
	__type(value, struct pw_reverse);
} pw_reverse SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FRAGMENTS);
	__type(key, struct pw_fragment_key);
	__type(value, struct pw_fragment);
} pw_fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DEFAULT_FRONTENDS);
	__type(key, __u32);
	__type(value, struct pw_traffic);
} pw_frontend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct pw_traffic);
} pw_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} pw_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_sock_config);
} pw_sock_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_sock_reverse_key);
	__type(value, struct pw_sock_reverse);
} pw_sock_reverse SEC(".maps");
