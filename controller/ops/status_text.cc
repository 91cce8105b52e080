#include "ops/status_text.h"

#include <cstdio>

#include "ops/age_text.h"

namespace portway::ops {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t i64(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

std::string fill_text(const json& f) {
  std::string t = f["used"].dump();
  if (!f["capacity"].is_null()) t += " / " + f["capacity"].dump();
  return t;
}

}  // namespace

std::string status_text(const json& j, std::int64_t now_ms) {
  std::string out = "active dataplane: " + (j["active"].is_string() ? j["active"].get<std::string>() : "none");
  const json& last = j["last_sync"];
  if (last.is_object()) {
    out += " (requested " + str(last, "requested");
    if (!str(last, "reason").empty()) out += "; " + str(last, "reason");
    out += ")";
  }
  out += "\n";
  if (j["kernel_note"].is_string()) out += "  kernel: " + j["kernel_note"].get<std::string>() + "\n";

  if (last.is_object()) {
    out += "last sync: " + ago_text(i64(last, "last_sync_ms"), now_ms) + ", " + std::to_string(i64(last, "changes")) +
           " changes, by " + (i64(last, "daemon_pid") > 0 ? "the daemon" : "portway sync") + "\n";
  } else {
    out += "last sync: none recorded for this state database\n";
  }
  const json& sg = j["store_generation"];
  out += "store generation: " +
         (sg.is_number() ? sg.dump() : sg.is_null() ? std::string("none (no state database)") : "unreadable: " + str(sg, "error")) +
         "\n";
  if (last.is_object()) {
    const std::uint64_t programmed = last.value("programmed_generation", std::uint64_t{0});
    out += "programmed generation: " + std::to_string(programmed) + ", " +
           ago_text(i64(last, "last_programmed_ms"), now_ms) +
           (sg.is_number() && sg.get<std::uint64_t>() != programmed ? " (behind the store)" : "") + "\n";
  }
  if (j["daemon"].is_object()) {
    const json& d = j["daemon"];
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.2f", d.value("last_change_seconds", 0.0) * 1000);
    out += "daemon: pid " + d["pid"].dump() + (d.value("running", false) ? " running" : " not running") +
           (d.value("ready", false) ? ", ready" : ", not ready") + "; last check " +
           ago_text(i64(d, "last_check_ms"), now_ms) + "; last change reached the kernel in " + latency + " ms\n";
    if (!str(d, "store_error").empty()) out += "daemon store error: " + str(d, "store_error") + "\n";
    if (!str(d, "program_error").empty()) out += "daemon programming error: " + str(d, "program_error") + "\n";
    if (d["drift_repairs"].is_object())
      for (const auto& [kind, count] : d["drift_repairs"].items()) out += "drift repaired: " + kind + " x " + count.dump() + "\n";
  }
  for (const auto& a : j["attachments"])
    out += "attached: " + str(a, "interface") + " " + str(a, "hook") + " (" + str(a, "mode") + ")\n";
  // The fast path's maps have a capacity; the nft table does not (capacity null).
  for (const auto& [name, fill] : j["fill"].items())
    out += (fill["capacity"].is_null() ? "table " : "map ") + name + ": " + fill_text(fill) + "\n";
  if (j.contains("flows_evicted")) {
    if (j["flows_evicted"].is_null())
      out += "flows evicted: not counted (pins of an older version; the next sync reloads)\n";
    else
      out += "flows evicted (flow table full): " + j["flows_evicted"].dump() + "\n";
  }
  return out;
}

}  // namespace portway::ops
