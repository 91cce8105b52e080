#include "loader/tc_filter.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "loader/error.h"

namespace portway::loader {
namespace {

bpf_tc_hook hook_for(int ifindex, TcDirection dir) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = dir == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  return hook;
}

bpf_tc_opts our_filter(int prog_fd = 0) {
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.handle = kPortwayTcHandle;
  opts.priority = kPortwayTcPriority;
  opts.prog_fd = prog_fd;
  return opts;
}

}  // namespace

TcAttachResult attach_tc(int ifindex, TcDirection dir, int prog_fd) {
  TcAttachResult result;
  bpf_tc_hook hook = hook_for(ifindex, dir);
  const int created = bpf_tc_hook_create(&hook);
  if (created == 0) {
    result.created_clsact = true;
  } else if (created != -EEXIST) {
    throw Error("create clsact qdisc on ifindex " + std::to_string(ifindex), created);
  }
  bpf_tc_opts opts = our_filter(prog_fd);
  opts.flags = BPF_TC_F_REPLACE;  // replaces only a filter with our handle and priority
  const int rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) {
    if (result.created_clsact) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      (void)bpf_tc_hook_destroy(&hook);
    }
    throw Error("attach tc program on ifindex " + std::to_string(ifindex), rc);
  }
  return result;
}

std::uint32_t tc_program_id(int ifindex, TcDirection dir) {
  bpf_tc_hook hook = hook_for(ifindex, dir);
  bpf_tc_opts opts = our_filter();
  const int rc = bpf_tc_query(&hook, &opts);
  if (rc == -ENOENT || rc == -ENODEV || rc == -EINVAL) return 0;
  check(rc, "query tc filter on ifindex " + std::to_string(ifindex));
  return opts.prog_id;
}

void detach_tc(int ifindex, TcDirection dir, bool destroy_clsact) {
  bpf_tc_hook hook = hook_for(ifindex, dir);
  bpf_tc_opts opts = our_filter();
  const int rc = bpf_tc_detach(&hook, &opts);
  if (rc != 0 && rc != -ENOENT && rc != -ENODEV && rc != -EINVAL)
    throw Error("detach tc program on ifindex " + std::to_string(ifindex), rc);
  if (destroy_clsact) {
    // BPF_TC_INGRESS|BPF_TC_EGRESS is how libbpf names the whole clsact qdisc.
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    const int d = bpf_tc_hook_destroy(&hook);
    if (d != 0 && d != -ENOENT && d != -ENODEV && d != -EINVAL)
      throw Error("remove clsact qdisc on ifindex " + std::to_string(ifindex), d);
  }
}

}  // namespace portway::loader
