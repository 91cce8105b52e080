// Owner of one bpftool-generated skeleton: open -> (set rodata) -> load -> destroy.
#pragma once

#include <cerrno>
#include <concepts>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/libbpf.h>

#include "loader/error.h"

namespace portway::loader {

// What Skeleton needs to know about one generated skeleton. The generated functions are
// `static inline` in the .skel.h, so they are wrapped rather than passed as pointers; use
// PORTWAY_SKELETON_TRAITS below instead of writing this by hand.
template <typename T>
concept SkeletonTraits = requires(typename T::Object* skel, const bpf_object_open_opts* opts) {
  { T::name } -> std::convertible_to<std::string_view>;
  { T::open(opts) } -> std::same_as<typename T::Object*>;
  { T::load(skel) } -> std::same_as<int>;
  { T::destroy(skel) } -> std::same_as<void>;
};

template <SkeletonTraits Traits>
class Skeleton {
 public:
  using Object = typename Traits::Object;

  // Opens (parses the embedded ELF, creates nothing in the kernel yet). Between open() and
  // load() the rodata config is writable: skel->rodata->field = value.
  [[nodiscard]] static Skeleton open(const bpf_object_open_opts* opts = nullptr) {
    Object* raw = Traits::open(opts);
    if (raw == nullptr) {
      // The generated __open_opts() reports through errno, not a return code.
      throw Error(step("open"), errno != 0 ? errno : EINVAL);
    }
    return Skeleton(raw);
  }

  // open(), then `configure(object)` to set rodata (and e.g. map sizes), then load().
  template <std::invocable<Object&> Configure>
  [[nodiscard]] static Skeleton open_and_load(Configure&& configure,
                                              const bpf_object_open_opts* opts = nullptr) {
    Skeleton skel = open(opts);
    std::forward<Configure>(configure)(*skel.skel_);
    skel.load();
    return skel;
  }

  [[nodiscard]] static Skeleton open_and_load() {
    return open_and_load([](Object&) {});
  }

  // Creates maps, runs the verifier, loads programs. After this the rodata is frozen: libbpf
  // maps it read-only, so a late write faults instead of silently doing nothing.
  void load() {
    if (skel_ == nullptr) {
      throw Error(step("load"), EINVAL, "skeleton was moved from");
    }
    if (loaded_) {
      throw Error(step("load"), EALREADY, "already loaded");
    }
    check(Traits::load(skel_), step("load"));
    loaded_ = true;
  }

  [[nodiscard]] bool loaded() const noexcept { return loaded_; }

  [[nodiscard]] Object* get() const noexcept { return skel_; }
  Object* operator->() const noexcept { return skel_; }
  Object& operator*() const noexcept { return *skel_; }

  Skeleton(const Skeleton&) = delete;
  Skeleton& operator=(const Skeleton&) = delete;

  Skeleton(Skeleton&& other) noexcept
      : skel_(std::exchange(other.skel_, nullptr)), loaded_(std::exchange(other.loaded_, false)) {}

  Skeleton& operator=(Skeleton&& other) noexcept {
    if (this != &other) {
      reset();
      skel_ = std::exchange(other.skel_, nullptr);
      loaded_ = std::exchange(other.loaded_, false);
    }
    return *this;
  }

  // Destroying detaches links, closes program and map fds; pinned objects stay in bpffs.
  ~Skeleton() { reset(); }

 private:
  explicit Skeleton(Object* skel) noexcept : skel_(skel) {}

  void reset() noexcept {
    if (skel_ != nullptr) {
      Traits::destroy(skel_);
      skel_ = nullptr;
      loaded_ = false;
    }
  }

  static std::string step(std::string_view what) {
    std::string s{what};
    s += " skeleton ";
    s += std::string_view{Traits::name};
    return s;
  }

  Object* skel_ = nullptr;
  bool loaded_ = false;
};

}  // namespace portway::loader

// Declares a SkeletonTraits struct `traits` for the skeleton generated with
// `bpftool gen skeleton ... name skel` (include "<skel>.skel.h" first), e.g.
//   PORTWAY_SKELETON_TRAITS(XdpSinkTraits, xdp_sink);
//   using XdpSink = portway::loader::Skeleton<XdpSinkTraits>;
#define PORTWAY_SKELETON_TRAITS(traits, skel)                                 \
  struct traits {                                                             \
    using Object = struct skel;                                               \
    static constexpr std::string_view name = #skel;                           \
    static Object* open(const struct bpf_object_open_opts* opts) {            \
      return skel##__open_opts(opts);                                         \
    }                                                                         \
    static int load(Object* s) { return skel##__load(s); }                    \
    static void destroy(Object* s) { skel##__destroy(s); }                    \
  }
