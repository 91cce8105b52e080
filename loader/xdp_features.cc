#include "loader/xdp_features.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace portway::loader {
namespace {

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.imm = imm;
  return i;
}

// Loads `bpf_xdp_adjust_meta(ctx, -8); return XDP_PASS;`. libbpf_probe_bpf_helper cannot be
// used: it reads only "invalid func" / "unknown func" in the log as "no", and a kernel that
// knows the helper but refuses it to the program type says "program of this type cannot use
// helper", which libbpf 1.1 takes for "supported".
int load_probe(char* log, std::uint32_t log_size) {
  const bpf_insn prog[] = {
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, -8),  // r1 is the context already
      insn(BPF_JMP | BPF_CALL, 0, BPF_FUNC_xdp_adjust_meta),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, XDP_PASS),
      insn(BPF_JMP | BPF_EXIT, 0, 0),
  };
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_buf = log;
  opts.log_size = log_size;
  opts.log_level = 1;
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "pw_meta_probe", "GPL", prog, sizeof(prog) / sizeof(prog[0]), &opts);
}

// r0 = XDP_DROP; exit.
int load_drop_program() {
  const bpf_insn prog[] = {
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, XDP_DROP),
      insn(BPF_JMP | BPF_EXIT, 0, 0),
  };
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "pw_live_probe", "GPL", prog, sizeof(prog) / sizeof(prog[0]), nullptr);
}

}  // namespace

bool xdp_live_frames_supported() {
  static const bool supported = [] {
    const int fd = load_drop_program();
    if (fd < 0) return true;  // no answer about live frames: the real run will say why
    std::uint8_t frame[64] = {};
    frame[12] = 0x08;  // IPv4 ethertype; the program looks at nothing
    xdp_md ctx{};
    ctx.data_end = sizeof(frame);
    ctx.ingress_ifindex = 1;  // loopback: every namespace has it
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame;
    opts.data_size_in = sizeof(frame);
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.repeat = 1;
    opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    const int rc = bpf_prog_test_run_opts(fd, &opts);
    const int err = errno;
    close(fd);
    if (rc == 0) return true;
    if (err == EPERM || err == EOPNOTSUPP || err == EINVAL) {
      spdlog::info("this kernel refuses BPF_PROG_RUN with live frames ({})", std::strerror(err));
      return false;
    }
    return true;
  }();
  return supported;
}

bool xdp_metadata_supported() {
  static const bool supported = [] {
    char log[4096] = {};
    const int fd = load_probe(log, sizeof(log));
    if (fd >= 0) {
      close(fd);
      return true;
    }
    const int err = errno;
    if (err == EINVAL && std::strstr(log, "adjust_meta") != nullptr) {
      spdlog::info("this kernel refuses bpf_xdp_adjust_meta to XDP programs: translated frames for "
                   "interfaces that do not take XDP frames go to the stack instead of the tc hand-off");
      return false;
    }
    // Anything else (no privileges, no BPF at all) is not an answer about the helper: the
    // load after this fails and says why.
    spdlog::warn("probe of bpf_xdp_adjust_meta for XDP failed: {}", std::strerror(err));
    return true;
  }();
  return supported;
}

}  // namespace portway::loader
