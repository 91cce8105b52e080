/* The maps of portway_lb.bpf.c (layout and meaning: include/portway/lb_abi.h). The
 * max_entries below are only defaults: the loader sets every size from the node settings
 * before load (loader/lb_capacities.h), so none of them is a compile-time cap. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "portway/lb_abi.h"

/* max_entries of a map indexed by an enum, spelled as a pointer to an array of that enum:
 * libbpf takes max_entries from the array's length alone (__uint spells it with int), and the
 * enum's names and values land in the object's BTF, which the map's BTF id points at. The key
 * itself cannot be the enum: the kernel accepts only a 32-bit INT as the BTF key of an
 * ARRAY/PERCPU_ARRAY map (array_map_check_btf). bpftool dumps the keys as numbers and the
 * enum next to them (docs/operations.md, "Reading the pinned maps with bpftool"). */
#define PW_ENUM_ENTRIES(enum_type, count) enum_type (*max_entries)[count]

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

/* Backend sets: a descriptor per set and one flat slot array for every Maglev table (layout
 * and switch protocol: lb_abi.h). Both are mmapped by user space, which writes tables and
 * switches descriptors with plain stores: no syscall, and no RCU wait as map-in-map updates
 * have. max_entries of pw_maglev_slots counts chunks of PW_MAGLEV_CHUNK_SLOTS slots. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKEND_SETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} pw_set_descs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_MAGLEV_SLOTS / PW_MAGLEV_CHUNK_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pw_maglev_chunk);
} pw_maglev_slots SEC(".maps");

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
	PW_ENUM_ENTRIES(enum pw_drop_reason, PW_DROP_SLOTS);
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_INTERFACES);
	__type(key, __u32);
	__type(value, struct pw_interface);
} pw_interfaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_UPLINK_SLOTS);
	__type(key, __u32);
	__type(value, struct pw_interface);
} pw_uplinks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	PW_ENUM_ENTRIES(enum pw_event, PW_EVENT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} pw_events SEC(".maps");

/* ---- layout 2 (lb_abi.h): frontend generations, the prefix filter, IPv6 --------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_FRONTENDS);
	__type(key, __u32);
	__type(value, __u32);
} pw_frontend_gens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_prefilter);
} pw_prefilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_FRONTENDS);
	__type(key, struct pw_frontend6_key);
	__type(value, struct pw_frontend);
} pw_frontends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_SERVICE_ADDRS);
	__type(key, struct pw_in6);
	__type(value, struct pw_service_addr);
} pw_service_addrs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_NODE_ADDRS);
	__type(key, struct pw_in6);
	__type(value, struct pw_node_addr);
} pw_node_addrs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct pw_in6);
} pw_backend_addrs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKEND_SETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} pw_set_descs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct pw_nexthop6);
} pw_nexthops6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_flow6_key);
	__type(value, struct pw_flow6);
} pw_flows6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_flow6_key);
	__type(value, struct pw_reverse6);
} pw_reverse6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FRAGMENTS);
	__type(key, struct pw_fragment6_key);
	__type(value, struct pw_fragment6);
} pw_fragments6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_sock_reverse6_key);
	__type(value, struct pw_sock_reverse6);
} pw_sock_reverse6 SEC(".maps");

/* ---- layout 5 (lb_abi.h): one entry per connection, in sets -------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_CONN_SETS_FOR(PW_DEFAULT_FLOWS));
	__type(key, __u32);
	__type(value, struct pw_conn_set);
} pw_conn_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_CONN_SETS_FOR(PW_DEFAULT_FLOWS));
	__type(key, __u32);
	__type(value, struct pw_conn6_set);
} pw_conn_sets6 SEC(".maps");
