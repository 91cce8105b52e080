#include "daemon/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace portway::daemon {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

std::string label_text(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

// Shortest text that reads back as the same double; +Inf spelled as the format wants.
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

class Writer {
 public:
  // One family: its HELP and TYPE lines, then its samples.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) out_ += c == '\n' ? ' ' : c;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, const Labels& labels, std::uint64_t v) {
    line(name, labels, std::to_string(v));
  }
  void sample(std::string_view name, const Labels& labels, double v) { line(name, labels, number(v)); }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, const Labels& labels, const std::string& value) {
    out_ += name;
    out_ += label_text(labels);
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string out_;
};

// "198.18.0.7:6667/tcp" -> "tcp": the protocol of a frontend no Service owns.
std::string protocol_of_key(const std::string& key) {
  const auto slash = key.rfind('/');
  return slash == std::string::npos ? "" : key.substr(slash + 1);
}

Labels frontend_labels(const dataplane::Stats& s, const std::string& key) {
  const auto it = s.frontend_owners.find(key);
  if (it == s.frontend_owners.end()) return {{"service", ""}, {"port", ""}, {"protocol", protocol_of_key(key)}, {"frontend", key}};
  return {{"service", it->second.service}, {"port", it->second.port}, {"protocol", it->second.protocol}, {"frontend", key}};
}

Labels backend_labels(const dataplane::Stats& s, const std::string& key) {
  const auto it = s.backend_owners.find(key);
  if (it != s.backend_owners.end()) return {{"service", it->second.service}, {"backend", it->second.address}};
  const auto space = key.rfind(' ');
  return {{"service", ""}, {"backend", space == std::string::npos ? key : key.substr(space + 1)}};
}

struct CounterField {
  const char* suffix;
  const char* help;
  std::uint64_t dataplane::TrafficCounters::*field;
};

constexpr CounterField kTrafficFields[] = {
    {"packets_total", "packets", &dataplane::TrafficCounters::packets},
    {"bytes_total", "bytes", &dataplane::TrafficCounters::bytes},
    {"new_flows_total", "new flows (connections) assigned", &dataplane::TrafficCounters::new_flows},
    {"rejects_total", "new flows refused for lack of a running backend", &dataplane::TrafficCounters::rejected},
};

void traffic(Writer& w, const dataplane::Stats& s) {
  for (const auto& f : kTrafficFields) {
    const std::string name = std::string("portway_frontend_") + f.suffix;
    w.family(name, "counter", std::string("Frontend ") + f.help + ", by Service, port, protocol and frontend address.");
    for (const auto& [key, c] : s.frontends) w.sample(name, frontend_labels(s, key), c.*f.field);
  }
  for (const auto& f : kTrafficFields) {
    const std::string name = std::string("portway_backend_") + f.suffix;
    w.family(name, "counter", std::string("Backend ") + f.help + ", by Service and backend address (all of the Service's ports).");
    for (const auto& [key, c] : s.backends) w.sample(name, backend_labels(s, key), c.*f.field);
  }
  w.family("portway_drops_total", "counter", "Packets the dataplane dropped, by reason.");
  for (const auto& [reason, n] : s.drops) w.sample("portway_drops_total", {{"reason", reason}}, n);
  w.family("portway_events_total", "counter", "Fast path delivery and flow-table events, by event.");
  for (const auto& [event, n] : s.events) w.sample("portway_events_total", {{"event", event}}, n);
}

void histogram(Writer& w, std::string_view name, const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < h.bounds.size() && i < h.counts.size(); ++i)
    w.sample(bucket, {{"le", number(h.bounds[i])}}, h.counts[i]);
  w.sample(bucket, {{"le", "+Inf"}}, h.count);
  w.sample(std::string(name) + "_sum", {}, h.sum);
  w.sample(std::string(name) + "_count", {}, h.count);
}

void daemon_families(Writer& w, const DaemonStatus& d) {
  w.family("portway_store_generation", "gauge", "The store generation the daemon last read.");
  w.sample("portway_store_generation", {}, d.store_generation);
  w.family("portway_programmed_generation", "gauge", "The store generation the kernel is programmed to.");
  w.sample("portway_programmed_generation", {}, d.programmed_generation);
  w.family("portway_last_programmed_timestamp_seconds", "gauge",
           "When the kernel last reached the programmed generation (Unix time; 0 = never).");
  w.sample("portway_last_programmed_timestamp_seconds", {}, static_cast<double>(d.last_programmed_ms) / 1000.0);
  w.family("portway_store_readable", "gauge", "1 when the daemon could read the store last time it tried, 0 when not.");
  w.sample("portway_store_readable", {}, std::uint64_t{d.store_error.empty()});
  w.family("portway_program_failing", "gauge", "1 when the last programming of the kernel failed.");
  w.sample("portway_program_failing", {}, std::uint64_t{!d.program_error.empty()});
  w.family("portway_status_record_writable", "gauge",
           "1 when the daemon could write its status record next to the store last time, 0 when not (a full or read-only file system).");
  w.sample("portway_status_record_writable", {}, std::uint64_t{d.status_record_error.empty()});
  w.family("portway_ready", "gauge", "1 when the programmed generation is the store's (or catching up), as /readyz.");
  w.sample("portway_ready", {}, std::uint64_t{d.ready});
  w.family("portway_sync_seconds", "histogram", "Time from a store change to the kernel programmed.");
  histogram(w, "portway_sync_seconds", d.sync_seconds);
  w.family("portway_drift_repairs_total", "counter", "Drift found in the kernel and repaired, by kind.");
  for (const auto& [kind, n] : d.drift_repairs) w.sample("portway_drift_repairs_total", {{"kind", kind}}, n);
}

}  // namespace

std::string render_prometheus(const MetricsInput& in) {
  Writer w;
  w.family("portway_dataplane_info", "gauge", "The active dataplane and why it was chosen (value 1; none before the first programming).");
  if (!in.dataplane.empty()) w.sample("portway_dataplane_info", {{"dataplane", in.dataplane}, {"reason", in.reason}}, std::uint64_t{1});
  if (in.stats) traffic(w, *in.stats);
  if (in.daemon) daemon_families(w, *in.daemon);
  return w.take();
}

}  // namespace portway::daemon
