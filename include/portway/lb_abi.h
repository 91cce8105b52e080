/* ABI of the L4 load-balancing dataplane (bpf/portway_lb.bpf.c): every map key, value and
 * counter struct, shared verbatim by the BPF programs and the C++ loader.
 *
 * Byte order: fields named addr/port hold network byte order (they are compared with and
 * written into packet headers as they are); everything else is host order.
 * Every struct is padded explicitly so that BPF (clang -target bpf) and C++ (g++ x86_64) agree
 * without relying on implicit padding, which BPF map keys must not have (hash keys compare
 * all bytes, so a stray padding byte makes a lookup miss). */
#pragma once

#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>

#include "portway/abi_assert.h"

/* ---- frontends ------------------------------------------------------------------------ */

/* One-byte enums: a field typed with the enum instead of __u8 keeps its byte and lets
 * bpftool print the value's name from the map's BTF (docs/operations.md, "Reading the pinned
 * maps with bpftool"). A fixed underlying type is C++11 and, in C, a clang extension that the
 * BPF build accepts (only -Wpedantic would flag it). */

/* What a frontend key describes. A node port matches (local node address, node_port, proto):
 * its key has addr = 0 and the program checks the destination against pw_node_addrs first. */
enum pw_frontend_kind : __u8 {
  PW_FRONTEND_SERVICE = 1,
  PW_FRONTEND_NODE_PORT = 2,
};
PORTWAY_ABI_SIZE(enum pw_frontend_kind, 1);

/* BPF_MAP_TYPE_HASH pw_frontends: key -> struct pw_frontend. */
struct pw_frontend_key {
  __be32 addr;   /* service address; 0 for node ports */
  __be16 port;   /* service port or node_port */
  __u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
  enum pw_frontend_kind kind;
};
PORTWAY_ABI_SIZE(struct pw_frontend_key, 8);

struct pw_frontend {
  __u32 id;           /* index into the per-frontend counters, < capacities.frontends */
  __u32 set_id;       /* index into pw_set_descs (pw_set_descs6 for IPv6), < maps.backend_sets */
  __be16 target_port; /* DNAT target: the port of THIS service port (not the service's first) */
  __u16 flags;        /* reserved, 0 */
  __u32 gen;          /* == pw_frontend_gens[id] while this frontend is installed; copied into
                         the flows it creates (layout 2; layout 1 wrote 0 here) */
};
PORTWAY_ABI_SIZE(struct pw_frontend, 16);

/* BPF_MAP_TYPE_HASH pw_service_addrs: service address -> struct pw_service_addr. A packet to
 * one of these addresses whose (port, proto) is not a frontend is an undeclared port: it gets
 * a TCP reset or an ICMP port unreachable instead of being passed on. */
struct pw_service_addr {
  __u32 flags; /* reserved, 0 */
};
PORTWAY_ABI_SIZE(struct pw_service_addr, 4);

/* BPF_MAP_TYPE_HASH pw_node_addrs: local node address -> struct pw_node_addr. Node ports only
 * match these destinations: a node port matched on any destination would capture the node's own
 * outgoing connections to that port number elsewhere. */
struct pw_node_addr {
  __u32 flags; /* PW_NODE_ADDR_HAIRPIN: the source address for hairpinning a sandbox to itself */
};
PORTWAY_ABI_SIZE(struct pw_node_addr, 4);
#define PW_NODE_ADDR_HAIRPIN 0x1u

/* ---- backends and backend sets -------------------------------------------------------- */

enum pw_backend_state : __u8 {
  PW_BACKEND_UNUSED = 0,   /* slot free: flows pinned to it are re-balanced (UDP) or reset (TCP) */
  PW_BACKEND_RUNNING = 1,  /* takes new flows */
  PW_BACKEND_DRAINING = 2, /* keeps its established flows, takes no new ones */
};
PORTWAY_ABI_SIZE(enum pw_backend_state, 1);

/* BPF_MAP_TYPE_ARRAY pw_backends: backend id -> struct pw_backend. One backend per (backend
 * set, sandbox address); the target port comes from the frontend, so all ports of a Service
 * share the backend. */
struct pw_backend {
  __be32 addr;     /* sandbox address */
  __u32 ifindex;   /* host-side interface of the sandbox; 0 = let the stack route */
  __u32 set_id;    /* the set it belongs to (sanity check against a stale Maglev slot) */
  enum pw_backend_state state;
  __u8 reserved[3];
};
PORTWAY_ABI_SIZE(struct pw_backend, 16);

/* Maglev tables live in one flat slot array, pw_maglev_slots; each backend set has a
 * descriptor in pw_set_descs naming where its current table starts and how long it is.
 *
 * BPF_MAP_TYPE_ARRAY pw_set_descs (BPF_F_MMAPABLE): set id -> __u64 descriptor
 *   low 32 bits   offset of the table's first slot in pw_maglev_slots
 *   high 32 bits  M, the Maglev table size (a prime; 0 = the set has no running backend)
 * A plain __u64 rather than a struct so that both halves come from one aligned 8-byte load
 * (the BPF side reads it exactly once) and one aligned 8-byte store (user space switches it
 * through its mmap): a packet sees the old (offset, M) or the new one, never half of each.
 *
 * BPF_MAP_TYPE_ARRAY pw_maglev_slots (BPF_F_MMAPABLE): chunk index -> struct pw_maglev_chunk.
 * Slot i of the flat array is chunks[i / PW_MAGLEV_CHUNK_SLOTS].ids[i % PW_MAGLEV_CHUNK_SLOTS];
 * through the mmap, user space sees a plain __u32 array. A new table is written into slots no
 * descriptor names and no program can still be reading (a region is reused only after an RCU
 * grace period has passed since the descriptor that named it was switched away), then the
 * descriptor is switched: no half-written table is ever visible. */
/* Functions, not macros: the header is C for BPF and C++ for the loader, and these need no
 * cast in either language. */
static inline __u64 pw_set_desc(__u32 offset, __u32 m)
{
  __u64 high = m;
  return (high << 32) | offset;
}
static inline __u32 pw_set_desc_offset(__u64 desc) { return desc & 0xffffffffu; }
static inline __u32 pw_set_desc_m(__u64 desc)
{
  __u64 high = desc >> 32;
  return high & 0xffffffffu;
}

/* 16 ids = one 64-byte cache line per array element. Not 1: an ARRAY rounds every element up
 * to 8 bytes, so __u32 values would waste half the memory (and break the flat mmap view). */
#define PW_MAGLEV_CHUNK_SLOTS 16u
struct pw_maglev_chunk {
  __u32 ids[PW_MAGLEV_CHUNK_SLOTS]; /* backend ids */
};
PORTWAY_ABI_SIZE(struct pw_maglev_chunk, 64);

/* BPF_MAP_TYPE_ARRAY pw_nexthops: backend id -> the FIB's answer for it, cached by the XDP
 * program so that established traffic does not pay a bpf_fib_lookup per packet (~130 ns
 * measured, a third of the hit path). An entry is used only while fresh (PW_NEXTHOP_TTL_NS),
 * for the same backend address and ingress device, and for packets no longer than one the
 * FIB's MTU check already passed; anything else asks the FIB again. User space only clears
 * entries (a backend reprogrammed, an interface's pw_interfaces entry changed), the program
 * fills them. */
struct pw_nexthop {
  __u64 expires_ns;  /* CLOCK_MONOTONIC ns at tick resolution (bpf/lib/clock.h) */
  __be32 daddr;      /* the backend address it was resolved for */
  __u32 ifindex;     /* egress device (bpf_redirect target) */
  __u32 in_ifindex;  /* ingress device the lookup was made from */
  __u16 max_len;     /* largest IP total length the FIB accepted on this path */
  __u8 dmac[6];
  __u8 smac[6];
  __u8 flags;        /* PW_NEXTHOP_*, as the program saw them when it filled the entry */
  __u8 reserved[5];
};
PORTWAY_ABI_SIZE(struct pw_nexthop, 40);
/* The egress device (ifindex) had PW_IF_XDP_READY in pw_interfaces when the entry was filled:
 * frames are redirected in XDP without a pw_interfaces lookup per packet. Readiness changes are
 * followed: user space clears the entries through an interface that LOSES the flag (its
 * pw_interfaces entry changed or erased, LbMaps::set_interface/erase_interface), since a stale
 * "ready" could XDP-redirect into a device that drops XDP frames; a refill racing that clear,
 * and a GAINED flag (stale "not ready": the tc hand-off, which every device accepts), last at
 * most PW_NEXTHOP_TTL_NS. */
#define PW_NEXTHOP_XDP_READY 0x1u
/* Long enough to make the lookup rare, short enough that a re-created sandbox (same address,
 * new MAC) or a changed route is followed within a fraction of a second. */
#define PW_NEXTHOP_TTL_NS 250000000ull

/* ---- connection tracking -------------------------------------------------------------- */

/* A flow as the client sent it: client -> frontend (service address or node address). */
struct pw_flow_key {
  __be32 saddr;
  __be32 daddr;
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 reserved[3];
};
PORTWAY_ABI_SIZE(struct pw_flow_key, 16);

/* BPF_MAP_TYPE_LRU_HASH pw_flows: pw_flow_key -> struct pw_flow. */
struct pw_flow {
  __u32 backend_id;
  __be32 backend_addr; /* copy of pw_backends[backend_id].addr at pick time: a backend slot
                          reused for another sandbox shows up as a mismatch, i.e. "gone" */
  __be16 target_port;  /* copy of the frontend's target_port at pick time */
  __u16 flags;         /* PW_FLOW_* */
  __u32 frontend_id;
  __be32 snat_addr;    /* PW_FLOW_HAIRPIN: the node address the client is rewritten to */
  __u32 frontend_gen;  /* the frontend's gen at pick time: a flow is used only while
                          pw_frontend_gens[frontend_id] still equals it (layout 2; layout 1
                          flows carry 0, which matches frontends installed before the upgrade) */
  __u64 last_seen_ns;  /* CLOCK_MONOTONIC ns of the last packet from the client, at tick
                          resolution (bpf/lib/clock.h: cheap, and enough for idle timeouts) */
};
PORTWAY_ABI_SIZE(struct pw_flow, 32);
#define PW_FLOW_HAIRPIN 0x1u /* source NATed to a node address: the backend is the client */

/* BPF_MAP_TYPE_LRU_HASH pw_reverse: the reply tuple as it leaves the backend -> what to
 * rewrite it to. Key: saddr = backend, daddr = client (or the hairpin node address),
 * sport = target port, dport = client port. */
struct pw_reverse {
  __be32 frontend_addr; /* becomes the reply's source */
  __be16 frontend_port;
  __u16 flags;          /* PW_FLOW_HAIRPIN: also restore the destination below */
  __be32 client_addr;   /* hairpin only: the sandbox's own address, the reply's destination */
  __u32 reserved;
};
PORTWAY_ABI_SIZE(struct pw_reverse, 16);

/* pw_conns (layout 4 an LRU hash; from layout 5 the ways of pw_conn_sets, below): one entry
 * per connection, reachable from both directions. The key is what a client's packets and its backend's replies share: the client's
 * address and port (and the protocol). The value is the flow plus the frontend the client used,
 * which the forward direction checks (the tuple's frontend address and port must match) and the
 * reply direction restores (after checking that the reply leaves the flow's backend and target
 * port). A new flow is one LRU insert here, where pw_flows + pw_reverse take two.
 *
 * pw_flows and pw_reverse stay, for the flows pw_conns cannot hold: a client address and port
 * whose entry holds another live flow (one client socket talking to two frontends, or a port
 * reused for another frontend while its first connection is still tracked), and hairpinned
 * flows (their reply goes to the node address, not to the client: another key). Flows carried
 * from layout 3 live there too, so an upgrade keeps them without converting anything. The
 * programs look a tuple up in pw_conns first, then in pw_flows. */
struct pw_conn_key {
  __be32 client_addr;
  __be16 client_port;
  __u8 proto;
  __u8 reserved;
};
PORTWAY_ABI_SIZE(struct pw_conn_key, 8);

struct pw_conn {
  struct pw_flow flow;  /* as in pw_flows; never PW_FLOW_HAIRPIN, snat_addr 0 */
  __be32 frontend_addr; /* the client's destination: service address or node address */
  __be16 frontend_port; /* service port or node port */
  __u16 reserved;
};
PORTWAY_ABI_SIZE(struct pw_conn, 40);

/* BPF_MAP_TYPE_LRU_HASH pw_fragments: every fragment of a datagram follows its first fragment
 * (the only one with ports). Recorded when the first fragment is translated; a later fragment
 * (offset > 0) gets the same address rewrite. Key: the fragment's addresses as it arrives.
 * A record older than PW_FRAGMENT_TIMEOUT_NS is ignored (the IP ID may have wrapped). */
struct pw_fragment_key {
  __be32 saddr;
  __be32 daddr;
  __be16 ip_id;
  __u8 proto;
  __u8 reserved;
};
PORTWAY_ABI_SIZE(struct pw_fragment_key, 12);

struct pw_fragment {
  __be32 new_saddr;   /* source after translation (== key saddr when unchanged) */
  __be32 new_daddr;   /* destination after translation (== key daddr when unchanged) */
  __u32 frontend_id;  /* counters; PW_NO_ID for replies */
  __u32 backend_id;   /* counters; PW_NO_ID for replies */
  __u32 flags;        /* PW_FRAGMENT_* */
  __u32 reserved;
  __u64 created_ns;   /* CLOCK_MONOTONIC ns (bpf/lib/clock.h) of the first fragment */
};
PORTWAY_ABI_SIZE(struct pw_fragment, 32);
#define PW_FRAGMENT_REPLY 0x1u   /* a reply leaving a backend (reverse NAT), not counted */
#define PW_FRAGMENT_HAIRPIN 0x2u /* goes back out of the interface it came from */
/* Linux's own reassembly timeout (net.ipv4.ipfrag_time default). */
#define PW_FRAGMENT_TIMEOUT_NS 30000000000ull

/* No frontend/backend (pw_fragment, counters). */
#define PW_NO_ID 0xffffffffu

/* ---- counters ------------------------------------------------------------------------- */

/* BPF_MAP_TYPE_PERCPU_ARRAY pw_frontend_stats (by frontend id) and pw_backend_stats (by
 * backend id). User space sums over CPUs. Only the client -> backend direction is counted:
 * packets/bytes are the packets translated towards a backend (including later fragments and
 * translated ICMP errors), bytes the whole L2 frame as received. Packets dropped as malformed
 * are counted in pw_drops only. */
struct pw_traffic {
  __u64 packets;
  __u64 bytes;
  __u64 new_flows;
  __u64 rejected; /* frontend only: resets / port unreachables sent on its behalf */
};
PORTWAY_ABI_SIZE(struct pw_traffic, 32);

/* BPF_MAP_TYPE_PERCPU_ARRAY pw_drops: reason -> packets (__u64). Every packet the programs do
 * not forward or pass has exactly one reason; a packet answered with a reset or an ICMP error
 * (REJECT: ...) is counted under the reason it was answered for. Append only: the values are
 * an ABI (pinned maps outlive an upgrade). */
enum pw_drop_reason {
  PW_DROP_NONE = 0,
  PW_DROP_IP_TRUNCATED,       /* frame shorter than the IPv4 header it announces */
  PW_DROP_IP_BAD_IHL,         /* ihl < 5 */
  PW_DROP_IP_BAD_TOTLEN,      /* tot_len < ihl * 4 or beyond the frame */
  PW_DROP_L4_TRUNCATED,       /* TCP/UDP header cut short (by the frame or by tot_len) */
  PW_DROP_TCP_BAD_DOFF,       /* doff < 5 or beyond the segment */
  PW_DROP_PORT_ZERO,          /* source or destination port 0 */
  PW_DROP_FRAGMENT_UNKNOWN,   /* a non-first fragment whose first fragment was not seen */
  PW_DROP_TTL_EXPIRED,        /* TTL <= 1, would have been forwarded. REJECT: ICMP time
                                 exceeded (first fragments and unfragmented packets only) */
  PW_DROP_ICMP_TRUNCATED,     /* ICMP error to a service address with a cut inner header */
  PW_DROP_NO_BACKEND,         /* frontend without a running backend. REJECT: TCP reset / ICMP
                                 port unreachable */
  PW_DROP_UNDECLARED_PORT,    /* service address, undeclared port/protocol. REJECT: as above */
  PW_DROP_BACKEND_GONE,       /* TCP flow whose backend was removed. REJECT: TCP reset */
  PW_DROP_MAP_FULL,           /* a flow could not be recorded (the packet is still forwarded) */
  PW_DROP_OVERSIZE,           /* DF set and larger than the path MTU towards the backend.
                                 REJECT: ICMP fragmentation needed with that MTU */
  PW_DROP_IP_BAD_VERSION,     /* ethertype IPv4 but version != 4 */
  PW_DROP_UDP_BAD_LEN,        /* UDP length < 8 or beyond the datagram (unfragmented only) */
  PW_DROP_NO_HAIRPIN_ADDR,    /* hairpin needed but no node address has PW_NODE_ADDR_HAIRPIN */
  PW_DROP_INTERNAL,           /* a rewrite or a reply could not be completed (a helper
                                 failed, e.g. no headroom for an ICMP reply) */
  /* Layout 2, IPv6 (docs/xdp-dataplane.md): */
  PW_DROP_IP6_TRUNCATED,      /* frame shorter than the IPv6 header, or an extension header
                                 cut short */
  PW_DROP_IP6_BAD_PAYLOAD_LEN,/* payload_len beyond the frame, or 0 (jumbograms unsupported) */
  PW_DROP_IP6_EXT_CHAIN,      /* more extension headers than the bounded walk reads */
  PW_DROP_UDP6_ZERO_CHECKSUM,     /* IPv6 UDP with checksum 0, which RFC 8200 8.1 forbids */
  PW_DROP_REASONS             /* number of reasons: the map's max_entries */
};

/* ---- interfaces and delivery ---------------------------------------------------------- */

/* BPF_MAP_TYPE_HASH pw_interfaces: ifindex -> struct pw_interface, written by the controller.
 *   - every uplink the XDP program is attached to (PW_IF_UPLINK), with its MAC as the
 *     controller read it when attaching: frames whose destination MAC is not this one are
 *     not addressed to the node at L2 and are passed to the stack untouched (which drops
 *     other hosts' unicast as PACKET_OTHERHOST, and sees broadcast/multicast as it would
 *     without portway). A frame on an interface without an entry is passed untouched too.
 *   - egress interfaces known to accept XDP_REDIRECTed frames (PW_IF_XDP_READY). Translated
 *     frames to any other interface are handed to pw_tc_uplink (struct pw_handoff), which
 *     redirects them as an skb: a veth whose peer has neither GRO nor an XDP program drops
 *     XDP frames silently (docs/xdp-dataplane.md, "Delivery"). */
struct pw_interface {
  __u8 mac[6];  /* PW_IF_UPLINK: the interface's own address */
  __u8 flags;   /* PW_IF_* */
  __u8 reserved;
};
PORTWAY_ABI_SIZE(struct pw_interface, 8);
#define PW_IF_UPLINK 0x1u
#define PW_IF_XDP_READY 0x2u

/* BPF_MAP_TYPE_ARRAY pw_uplinks (layout 3): ifindex -> struct pw_interface, PW_UPLINK_SLOTS
 * entries, a copy of pw_interfaces' uplink entries whose ifindex fits. The L2 check reads it
 * first: an ARRAY lookup is inlined by the verifier (a bounds check and an address), a HASH
 * lookup walks a bucket, and this check is paid by every packet the prefix filter lets
 * through (docs/performance.md, "The L2 check from an array"). An entry without PW_IF_UPLINK
 * (never written, or an uplink whose ifindex is PW_UPLINK_SLOTS or more) sends the program to
 * pw_interfaces, which stays the record of every interface. */
#define PW_UPLINK_SLOTS 4096u

/* XDP metadata (bpf_xdp_adjust_meta, directly in front of the frame) of a translated frame
 * that pw_xdp_uplink passes up for pw_tc_uplink to redirect to `ifindex`. The frame is final
 * (addresses, MACs, TTL); tc only redirects. Only an XDP program can put metadata on a
 * received frame, so the magic cannot come from the wire. */
struct pw_handoff {
  __u32 magic;   /* PW_HANDOFF_MAGIC */
  __u32 ifindex; /* egress device for bpf_redirect */
};
PORTWAY_ABI_SIZE(struct pw_handoff, 8);
#define PW_HANDOFF_MAGIC 0x70776831u /* "pwh1" */

/* BPF_MAP_TYPE_PERCPU_ARRAY pw_events: event -> count (__u64), summed over CPUs by user
 * space. Append only, like the drop reasons. Every translated client frame the XDP program
 * forwards is counted in exactly one of the first three. */
enum pw_event {
  PW_EV_XDP_REDIRECT = 0,      /* XDP_REDIRECT into a PW_IF_XDP_READY interface */
  PW_EV_XDP_TC_HANDOFF,        /* passed with a pw_handoff for pw_tc_uplink */
  PW_EV_XDP_STACK,             /* passed to the stack, translated, for it to route (no
                                  neighbour yet, a local route, no XDP metadata support) */
  PW_EV_TC_HANDOFF_DELIVERED,  /* pw_tc_uplink redirected a handed-off frame */
  PW_EV_L2_OTHER_HOST,         /* IPv4 frame to another host's unicast MAC: passed untouched */
  PW_EV_L2_MULTICAST,          /* IPv4 frame to a broadcast/multicast MAC: passed untouched */
  PW_EV_L2_UNKNOWN_UPLINK,     /* IPv4 frame on an interface without a pw_interfaces entry */
  PW_EV_FLOW_INSERTS,          /* new keys the programs wrote into pw_flows or pw_conns */
  PW_EV_FLOW_DELETES,          /* pw_flows or pw_conns entries the programs deleted */
  /* Written by user space only (the programs never touch these): */
  PW_EV_FLOW_CONTROLLER_DELETES, /* pw_flows or pw_conns entries the controller deleted */
  PW_EV_FLOW_BASELINE,           /* entries pw_flows held when this map was created */
  /* Layout 2 (written by the programs): */
  PW_EV_FLOW_STALE_FRONTEND,     /* a flow found whose frontend gen moved on: not used */
  PW_EV_IP6_UNKNOWN_EXT,         /* IPv6 with an extension header the walk does not know:
                                    passed untouched */
  PW_EV_FLOW6_INSERTS,           /* as PW_EV_FLOW_INSERTS, for pw_flows6 and pw_conns6 */
  PW_EV_FLOW6_DELETES,           /* as PW_EV_FLOW_DELETES, for pw_flows6 and pw_conns6 */
  PW_EV_FLOW6_CONTROLLER_DELETES, /* user space only, as PW_EV_FLOW_CONTROLLER_DELETES */
  PW_EV_FLOW6_BASELINE,          /* user space only, as PW_EV_FLOW_BASELINE */
  /* Layout 4 (written by the programs): */
  PW_EV_FLOW_CONN_TAKEN,         /* a new flow whose client address and port held another
                                    live flow in pw_conns: recorded in pw_flows + pw_reverse */
  PW_EV_FLOW6_CONN_TAKEN,        /* as PW_EV_FLOW_CONN_TAKEN, for pw_conns6 */
  PW_EV_TC_STACK_FORWARD,        /* without XDP metadata: pw_tc_uplink forwarded a frame that
                                    pw_xdp_uplink passed translated (PW_EV_XDP_STACK), instead
                                    of the stack (bpf/lib/tc_forward.h) */
  PW_EVENTS                      /* number of events: the map's max_entries */
};
/* pw_drops and pw_events have room for more values than are named (layout 2): appending a
 * reason or an event then changes no map size, so it needs no upgrade of the pins. */
#define PW_DROP_SLOTS 64u
#define PW_EVENT_SLOTS 64u

/* The connection tables and pw_flows evict without a word: a new connection in a full set
 * overwrites the set's least recently used way (pw_conn_sets, layout 5), an insert into the full
 * LRU pw_flows its least recently used flow. The counts cover both (entries: together). What left
 * without being deleted was evicted:
 *   evicted = BASELINE + INSERTS - DELETES - CONTROLLER_DELETES - entries now
 * (exact while every writer counts; two CPUs inserting the same new key at once count one
 * insert too many, i.e. one eviction that did not happen). */

/* ---- flow hash and Maglev ------------------------------------------------------------- */

/* The flow hash is the kernel's jhash2 (Bob Jenkins' lookup3 hashword) over four 32-bit
 * words, with initval PW_FLOW_HASH_SEED:
 *   w[0] = saddr, w[1] = daddr  (the 4 bytes as they are on the wire, read as a native u32)
 *   w[2] = (u32)sport << 16 | dport  (each port's 2 wire bytes read as a native u16)
 *   w[3] = proto
 * i.e. what a little-endian BPF program gets by loading the header fields; a C++ tool that
 * predicts picks must load the same bytes the same way (memcpy into a u32/u16).
 * The Maglev slot of a flow is (u64)hash * M >> 32 (reciprocal_scale), i.e. flat slot
 * offset + that. */
#define PW_FLOW_HASH_SEED 0x70777931u /* "pwy1": fixed so picks survive a program reload */

/* A slot naming a backend that is no longer running (its table not rebuilt yet) is skipped
 * for new flows by trying the next slots, at most this many in all. */
#define PW_MAGLEV_PROBES 8u

/* ---- defaults (node settings override them at load time, see docs/operations.md) ------- */
#define PW_DEFAULT_FRONTENDS 65536u
#define PW_DEFAULT_SERVICE_ADDRS 65536u
#define PW_DEFAULT_NODE_ADDRS 64u
#define PW_DEFAULT_BACKENDS 65536u
#define PW_DEFAULT_BACKEND_SETS 16384u
#define PW_DEFAULT_MAGLEV_SLOTS 16777216u /* 64 MiB: 4,096 tables of M = 4093 (see docs) */
#define PW_DEFAULT_FLOWS 262144u
#define PW_DEFAULT_FRAGMENTS 8192u
#define PW_DEFAULT_INTERFACES 4096u /* uplinks + sandbox interfaces */

/* ---- host-originated connections (cgroup socket hooks) ------------------------------- */

/* Processes on the node reach frontends through cgroup/connect4, sendmsg4, recvmsg4 and
 * getpeername4 programs: the socket's destination is rewritten to the backend before any packet
 * exists, so there is nothing to translate on the wire (Cilium's socket LB works the same way).
 * BPF_MAP_TYPE_ARRAY pw_sock_config, one entry (key 0). */
struct pw_sock_config {
  __u64 netns_cookie; /* the node's network namespace: sockets elsewhere are left alone
                         (a cgroup spans namespaces); 0 = the hooks do nothing */
};
PORTWAY_ABI_SIZE(struct pw_sock_config, 8);

/* BPF_MAP_TYPE_LRU_HASH pw_sock_reverse: what a socket was translated to -> what it asked
 * for, so recvmsg/getpeername show the frontend, not the backend. Keyed by socket cookie:
 * two sockets talking to the same backend through different frontends stay apart. */
struct pw_sock_reverse_key {
  __u64 cookie;        /* bpf_get_socket_cookie */
  __be32 backend_addr;
  __be16 backend_port; /* the target port */
  __u16 pad;
};
PORTWAY_ABI_SIZE(struct pw_sock_reverse_key, 16);

struct pw_sock_reverse {
  __be32 frontend_addr; /* service address or node address */
  __be16 frontend_port; /* service port or node_port */
  __u16 pad;
};
PORTWAY_ABI_SIZE(struct pw_sock_reverse, 8);

/* ---- layout 2: versions, frontend generations, the prefix filter, IPv6 ---------------- */

/* The version of the pinned layout this header describes. Pins record it in the controller's
 * metadata map pw_meta_layout (key 0); pins without that map are layout 1. Layout 2 kept every
 * layout-1 map's key and value size, so an upgrade reuses them (established IPv4 flows stay),
 * and added the maps below. Layout 3 added pw_uplinks (above) and changed no other map;
 * layout 4 added pw_conns and pw_conns6 (above) and changed no other map either; layout 5
 * replaced those two with pw_conn_sets and pw_conn_sets6 (below), whose connections an upgrade
 * copies over (docs/xdp-dataplane.md, "Pinned layout and upgrades"). */
#define PW_LAYOUT_VERSION 5u

/* BPF_MAP_TYPE_ARRAY pw_frontend_gens: frontend id -> __u32 generation. Bumped by the
 * controller whenever the id is given to a frontend or taken from one; a flow remembers the
 * gen of its frontend (pw_flow.frontend_gen) and is used only while they are equal. This lets
 * the programs look up the flow before the frontend (one hash lookup for established traffic)
 * without a removed frontend's flows outliving it, and without walking the flow table. */

/* BPF_MAP_TYPE_ARRAY pw_prefilter, one entry (key 0): the destinations that may be portway's
 * (service prefixes and node addresses), checked before any hash lookup so that traffic that
 * is not portway's costs no lookup at all. PW_PREFILTER_ON4 (ON6): IPv4 (IPv6) destinations
 * outside v4[] (v6[]) are not portway's; without the flag (more destinations than fit, or
 * nothing programmed yet) every destination of that family goes on to the lookups, which
 * decide exactly as they would without the filter. */
#define PW_PREFILTER_V4 8u
#define PW_PREFILTER_V6 8u
#define PW_PREFILTER_ON4 0x1u
#define PW_PREFILTER_ON6 0x2u

/* An IPv6 address as on the wire (network byte order, compared word by word). */
struct pw_in6 {
  __be32 w[4];
};
PORTWAY_ABI_SIZE(struct pw_in6, 16);

struct pw_prefix4 {
  __be32 addr; /* addr & mask == addr */
  __be32 mask;
};
PORTWAY_ABI_SIZE(struct pw_prefix4, 8);

struct pw_prefix6 {
  struct pw_in6 addr;
  struct pw_in6 mask;
};
PORTWAY_ABI_SIZE(struct pw_prefix6, 32);

struct pw_prefilter {
  __u32 flags;  /* PW_PREFILTER_* */
  __u8 count4;  /* used entries of v4, <= PW_PREFILTER_V4 */
  __u8 count6;  /* used entries of v6, <= PW_PREFILTER_V6 */
  __u8 reserved[2];
  struct pw_prefix4 v4[PW_PREFILTER_V4];
  struct pw_prefix6 v6[PW_PREFILTER_V6];
};
PORTWAY_ABI_SIZE(struct pw_prefilter, 8 + 8 * 8 + 8 * 32);

/* IPv6 has its own maps wherever a key or value holds an address (as Cilium's lb6/ct6 maps):
 * IPv4 keeps its small keys (a 16-byte flow key hashes faster than a 40-byte one), and its maps
 * kept their layout across the upgrade. Ids are shared: frontend ids index the same counters
 * and gens, backend ids the same pw_backends entry (state, ifindex, set) and counters.
 *
 * BPF_MAP_TYPE_HASH pw_frontends6: key -> struct pw_frontend (set_id indexes pw_set_descs6). */
struct pw_frontend6_key {
  struct pw_in6 addr; /* service address; all zero for node ports */
  __be16 port;
  __u8 proto;
  enum pw_frontend_kind kind;
};
PORTWAY_ABI_SIZE(struct pw_frontend6_key, 20);

/* BPF_MAP_TYPE_HASH pw_service_addrs6: struct pw_in6 -> struct pw_service_addr.
 * BPF_MAP_TYPE_HASH pw_node_addrs6: struct pw_in6 -> struct pw_node_addr.
 *
 * BPF_MAP_TYPE_ARRAY pw_backend_addrs6: backend id -> struct pw_in6, the backend's IPv6
 * address; all zero when it has none. A backend without an IPv4 address has addr 0 in
 * pw_backends (and is in no IPv4 table).
 *
 * BPF_MAP_TYPE_ARRAY pw_set_descs6 (BPF_F_MMAPABLE): set id -> descriptor of the set's IPv6
 * Maglev table (members with an IPv6 address), in the same pw_maglev_slots array and with the
 * same encoding and switch protocol as pw_set_descs. */

/* BPF_MAP_TYPE_ARRAY pw_nexthops6: backend id -> the FIB's answer for its IPv6 address, as
 * pw_nexthops for IPv4. */
struct pw_nexthop6 {
  __u64 expires_ns;
  struct pw_in6 daddr;
  __u32 ifindex;
  __u32 in_ifindex;
  __u16 max_len;     /* largest IPv6 packet (header + payload) the FIB accepted on this path */
  __u8 dmac[6];
  __u8 smac[6];
  __u8 flags;        /* PW_NEXTHOP_XDP_READY, as pw_nexthop.flags (layout 3: layout 2 left it 0,
                        which sends the frame to the tc hand-off until the next refill) */
  __u8 reserved;
};
PORTWAY_ABI_SIZE(struct pw_nexthop6, 48);

/* BPF_MAP_TYPE_LRU_HASH pw_flows6: struct pw_flow6_key -> struct pw_flow6.
 * BPF_MAP_TYPE_LRU_HASH pw_reverse6: the reply tuple (as for pw_reverse) -> struct pw_reverse6. */
struct pw_flow6_key {
  struct pw_in6 saddr;
  struct pw_in6 daddr;
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 reserved[3];
};
PORTWAY_ABI_SIZE(struct pw_flow6_key, 40);

struct pw_flow6 {
  __u32 backend_id;
  __be16 target_port;
  __u16 flags;          /* PW_FLOW_* */
  __u32 frontend_id;
  __u32 frontend_gen;
  struct pw_in6 backend_addr;
  struct pw_in6 snat_addr; /* PW_FLOW_HAIRPIN */
  __u64 last_seen_ns;
};
PORTWAY_ABI_SIZE(struct pw_flow6, 56);

struct pw_reverse6 {
  struct pw_in6 frontend_addr;
  struct pw_in6 client_addr; /* hairpin only */
  __be16 frontend_port;
  __u16 flags;
  __u32 reserved;
};
PORTWAY_ABI_SIZE(struct pw_reverse6, 40);

/* pw_conns6 (layout 4; from layout 5 the ways of pw_conn_sets6): pw_conns for IPv6, with
 * pw_flows6 and pw_reverse6 for what it cannot hold. */
struct pw_conn6_key {
  struct pw_in6 client_addr;
  __be16 client_port;
  __u8 proto;
  __u8 reserved;
};
PORTWAY_ABI_SIZE(struct pw_conn6_key, 20);

struct pw_conn6 {
  struct pw_flow6 flow; /* as in pw_flows6; never PW_FLOW_HAIRPIN */
  struct pw_in6 frontend_addr;
  __be16 frontend_port;
  __u16 reserved[3];
};
PORTWAY_ABI_SIZE(struct pw_conn6, 80);

/* BPF_MAP_TYPE_LRU_HASH pw_fragments6: the IPv6 fragment header's identification (32 bits)
 * instead of the IPv4 ID; same meaning and timeout as pw_fragments. */
struct pw_fragment6_key {
  struct pw_in6 saddr;
  struct pw_in6 daddr;
  __be32 id;
  __u8 proto; /* the upper-layer protocol after the extension headers */
  __u8 reserved[3];
};
PORTWAY_ABI_SIZE(struct pw_fragment6_key, 40);

struct pw_fragment6 {
  struct pw_in6 new_saddr;
  struct pw_in6 new_daddr;
  __u32 frontend_id;
  __u32 backend_id;
  __u32 flags; /* PW_FRAGMENT_* */
  __u32 reserved;
  __u64 created_ns;
};
PORTWAY_ABI_SIZE(struct pw_fragment6, 56);

/* BPF_MAP_TYPE_LRU_HASH pw_sock_reverse6: as pw_sock_reverse, for cgroup/connect6 & co. */
struct pw_sock_reverse6_key {
  __u64 cookie;
  struct pw_in6 backend_addr;
  __be16 backend_port;
  __u16 pad[3];
};
PORTWAY_ABI_SIZE(struct pw_sock_reverse6_key, 32);

struct pw_sock_reverse6 {
  struct pw_in6 frontend_addr;
  __be16 frontend_port;
  __u16 pad[3];
};
PORTWAY_ABI_SIZE(struct pw_sock_reverse6, 24);

/* ---- layout 5: the connection tables are set-associative -------------------------------- */

/* BPF_MAP_TYPE_ARRAY pw_conn_sets and pw_conn_sets6 replace layout 4's LRU hashes pw_conns and
 * pw_conns6: the same key and value per connection, in sets of PW_CONN_WAYS ways. A client's
 * address, port and protocol hash (portway/conn_hash.h) to one set; its connection is in one
 * of the set's ways or nowhere. Why: in a full LRU hash every new connection pays the kernel's
 * eviction (free-list refill, bucket unlinks: ~450-520 ns here), in a set it overwrites the
 * least recently used of eight in place (~110-140 ns with the lock; docs/performance.md, "What
 * an all-new flow would cost in a table that evicts in place").
 *
 * Readers (every packet) take no lock: they compare the tags, then the key of a way whose tag
 * matches. Writers (a new flow, a forgotten flow, the controller through pw_conn_ctl4/6) hold
 * the set's lock. A reader racing a writer of the same way may read a way half rewritten, as
 * a reader of an LRU hash may read a node the LRU just reused for another key; a writer
 * clears the tag before rewriting a way and sets it last, which narrows that to a reader that
 * passed the tag before the clear. The eviction order is the set's: a new connection evicts
 * the least recently used of its set's ways (ages at PW_CONN_AGE_SHIFT resolution), not of the
 * table.
 *
 * Capacity: PW_CONN_SETS_FOR(flows) sets, i.e. 1.25 ways per flow of the node's `flows`
 * setting, so that `flows` live connections hashed at random leave few sets over-full (with
 * 8 ways per set and 6.4 connections on average, ~5% of them share a set with 8 others and
 * the least recently used goes). The programs read the set count from their rodata
 * (pw_conn_sets_n), which the loader sets to the maps' max_entries. */
#define PW_CONN_WAYS 8u
/* A macro for the BPF maps' max_entries (a constant expression), without casts for C++. */
#define PW_CONN_SETS_FOR(flows) (((flows) * 5ull + 31) / 32)
/* Way ages are the low 16 bits of CLOCK_MONOTONIC ns >> PW_CONN_AGE_SHIFT: 16.8 ms units, exact
 * distances up to 18 minutes (a way idle longer is an old one either way). */
#define PW_CONN_AGE_SHIFT 24

struct pw_conn_way {
  struct pw_conn_key key;
  struct pw_conn conn;
  __u64 reserved[2]; /* one cache line per way */
};
PORTWAY_ABI_SIZE(struct pw_conn_way, 64);

struct pw_conn_set {
  struct bpf_spin_lock lock; /* linux/bpf.h: one __u32 */
  __u32 reserved0;
  __u32 tag[PW_CONN_WAYS]; /* the key's hash | 1 (portway/conn_hash.h); 0: the way is empty */
  __u16 age[PW_CONN_WAYS]; /* (__u16)(last use ns >> PW_CONN_AGE_SHIFT) */
  __u64 reserved1;         /* 4 + 4 + 32 + 16 + 8: one cache line of tags per set */
  struct pw_conn_way way[PW_CONN_WAYS];
};
PORTWAY_ABI_SIZE(struct pw_conn_set, 576);

struct pw_conn6_way {
  struct pw_conn6_key key;
  __u32 reserved0;   /* pw_conn6 is 8-aligned */
  struct pw_conn6 conn;
  __u64 reserved[3]; /* 20 + 4 + 80 + 24: two cache lines per way */
};
PORTWAY_ABI_SIZE(struct pw_conn6_way, 128);

struct pw_conn6_set {
  struct bpf_spin_lock lock;
  __u32 reserved0;
  __u32 tag[PW_CONN_WAYS];
  __u16 age[PW_CONN_WAYS];
  __u64 reserved1;
  struct pw_conn6_way way[PW_CONN_WAYS];
};
PORTWAY_ABI_SIZE(struct pw_conn6_set, 1088);

/* What the controller asks of a connection table: programs pw_conn_ctl4 and pw_conn_ctl6 run
 * (BPF_PROG_TEST_RUN) on a frame that is an array of these, do each under its set's lock, and
 * write each one's result back into the frame. A read-modify-write of a whole set from user
 * space would race the programs' inserts into its other ways; through the program every write
 * takes the same lock as the programs' own. */
enum pw_conn_ctl_code : __u8 {
  PW_CONN_CTL_PUT = 1,    /* store `conn` for `key` unless the key holds another tuple's flow
                             or the set has no free way: never evicts another connection */
  PW_CONN_CTL_DELETE = 2, /* forget `key`'s connection if its flow has backend_id (or any
                             backend when backend_id is PW_CONN_CTL_ANY_BACKEND) */
};
PORTWAY_ABI_SIZE(enum pw_conn_ctl_code, 1);
#define PW_CONN_CTL_ANY_BACKEND 0xffffffffu

enum pw_conn_ctl_result : __u8 {
  PW_CONN_CTL_PENDING = 0,  /* as written by user space; left so when the frame ends early */
  PW_CONN_CTL_STORED = 1,   /* PUT into a free way: a new connection */
  PW_CONN_CTL_REPLACED = 2, /* PUT over the key's own way, which held the same tuple */
  PW_CONN_CTL_TAKEN = 3,    /* PUT refused: the key holds another tuple's flow */
  PW_CONN_CTL_FULL = 4,     /* PUT refused: all ways of the set hold other connections */
  PW_CONN_CTL_DELETED = 5,
  PW_CONN_CTL_ABSENT = 6,   /* DELETE found no such connection (or another backend's) */
  PW_CONN_CTL_INVALID = 7,  /* an unknown code */
};
PORTWAY_ABI_SIZE(enum pw_conn_ctl_result, 1);

struct pw_conn_ctl {
  enum pw_conn_ctl_code code;
  enum pw_conn_ctl_result result;
  __u16 reserved;
  __u32 backend_id; /* DELETE only */
  struct pw_conn_key key;
  struct pw_conn conn; /* PUT only */
};
PORTWAY_ABI_SIZE(struct pw_conn_ctl, 56);

struct pw_conn6_ctl {
  enum pw_conn_ctl_code code;
  enum pw_conn_ctl_result result;
  __u16 reserved;
  __u32 backend_id;
  struct pw_conn6_key key;
  __u32 reserved1; /* pw_conn6 is 8-aligned */
  struct pw_conn6 conn;
};
PORTWAY_ABI_SIZE(struct pw_conn6_ctl, 112);

/* Operations per run at most: 24 IPv6 operations (2,688 bytes) fit the page a test run builds
 * its frame in, less the XDP headroom (256) and the skb_shared_info tail (~320). */
#define PW_CONN_CTL_BATCH 24u

#ifdef __cplusplus
inline pw_traffic& operator+=(pw_traffic& a, const pw_traffic& b) noexcept {
  a.packets += b.packets;
  a.bytes += b.bytes;
  a.new_flows += b.new_flows;
  a.rejected += b.rejected;
  return a;
}
#endif
