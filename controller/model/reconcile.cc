#include "model/reconcile.h"

#include <algorithm>
#include <map>

#include "model/app_codec.h"
#include "model/errors.h"
#include "model/ip_allocator.h"
#include "model/wanted.h"

namespace portway::model {
namespace {

using Existing = std::map<std::string, store::ServiceRecord, std::less<>>;

bool asks_for(const WantedService& want, config::IpFamily f) {
  return std::find(want.ip_families.begin(), want.ip_families.end(), f) != want.ip_families.end();
}

// The families the Service gets addresses of (docs/model.md "Address families"): the declared
// ones, or every family the node has a pool for. Asking for one the node has no pool for is
// refused: the Service would silently lack the frontends its app relies on.
struct Families {
  bool ipv4 = true, ipv6 = false;
};
Families families_of(const WantedService& want, const AddressPools& pools) {
  if (want.ip_families.empty()) return {true, pools.ipv6.has_value()};
  const Families f{asks_for(want, config::IpFamily::ipv4), asks_for(want, config::IpFamily::ipv6)};
  if (f.ipv6 && !pools.ipv6)
    throw AllocationError("ip_families asks for IPv6, but this node has no service_cidr6 to take an IPv6 "
                          "address from; set service_cidr6 in the node settings, or leave ipv6 out");
  return f;
}

// Brings one Service to what is wanted. Addresses are kept unless the node's pools moved
// away from them (an address outside the current service_cidr is re-allocated; an IPv6
// address is added or dropped with service_cidr6) or the app's ip_families leave a family out.
ServiceChange ensure(store::Transaction& tx, const WantedService& want,
                     const store::ServiceRecord* have, const AddressPools& pools) {
  const Families families = families_of(want, pools);
  if (!have) {
    store::ServiceRecord s;
    s.id = want.id;
    s.app = want.app;
    s.service = want.service;
    s.labels = want.labels;
    s.selector = want.selector;
    s.ports = want.ports;
    if (families.ipv4) s.ipv4 = allocate_ipv4(tx, pools.ipv4, want.id, pools.local_ipv4);
    if (families.ipv6) s.ipv6 = allocate_ipv6(tx, *pools.ipv6, want.id, pools.local_ipv6);
    s.revision = 1;
    tx.put_service(s);
    return ServiceChange::created;
  }

  store::ServiceRecord s = *have;
  s.labels = want.labels;
  s.selector = want.selector;
  s.ports = want.ports;
  if (!families.ipv4) {
    s.ipv4.reset();
  } else if (!s.ipv4 || !pools.ipv4.offset_of(*s.ipv4)) {
    s.ipv4 = allocate_ipv4(tx, pools.ipv4, want.id, pools.local_ipv4);
  }
  if (!families.ipv6) {
    s.ipv6.reset();
  } else if (!s.ipv6 || !pools.ipv6->offset_of(*s.ipv6)) {
    s.ipv6 = allocate_ipv6(tx, *pools.ipv6, want.id, pools.local_ipv6);
  }
  if (s == *have) return ServiceChange::unchanged;  // write nothing
  s.revision = have->revision + 1;
  tx.put_service(s);
  return ServiceChange::updated;
}

struct Pass {
  store::Transaction& tx;
  const AddressPools& pools;
  ReconcileReport report;
  std::vector<std::string> unwanted;  // cleanup candidates, collected across apps

  void ensure_app(const config::App& app) {
    Existing existing;
    for (auto& s : tx.services_of_app(app.name)) existing.emplace(s.id, std::move(s));
    for (const WantedService& want : wanted_services(app)) {
      const auto it = existing.find(want.id);
      try {
        const auto change = ensure(tx, want, it == existing.end() ? nullptr : &it->second, pools);
        report.outcomes.push_back({want.id, change});
      } catch (const store::StoreError& e) {
        report.failures.push_back({want.id, e.what()});
      } catch (const AllocationError& e) {
        report.failures.push_back({want.id, e.what()});
      }
      if (it != existing.end()) existing.erase(it);
    }
    for (const auto& [id, _] : existing) unwanted.push_back(id);
  }

  void cleanup() {
    if (!report.failures.empty()) {
      report.cleanup_skipped = true;
      return;
    }
    std::sort(unwanted.begin(), unwanted.end());
    for (const std::string& id : unwanted) {
      // A failure here propagates: cleanup has no partial mode, and the caller decides
      // (apply rolls back; a periodic pass retries next time).
      tx.delete_service(id);
      report.outcomes.push_back({id, ServiceChange::deleted});
    }
  }
};

}  // namespace

AddressPools AddressPools::from(const config::NodeSettings& node) {
  AddressPools p{Ipv4Pool(node.service_cidr), std::nullopt, {}, {}};
  if (node.service_cidr6) p.ipv6.emplace(*node.service_cidr6);
  return p;
}

void AddressPools::exclude(const std::vector<net::InterfaceAddress>& local) {
  for (const auto& a : local) {
    if (const auto* v4 = std::get_if<net::Ipv4>(&a.address)) local_ipv4.push_back(*v4);
    if (const auto* v6 = std::get_if<net::Ipv6>(&a.address)) local_ipv6.push_back(*v6);
  }
}

std::string_view to_string(ServiceChange c) {
  switch (c) {
    case ServiceChange::created: return "created";
    case ServiceChange::updated: return "updated";
    case ServiceChange::unchanged: return "unchanged";
    case ServiceChange::deleted: return "deleted";
  }
  return "?";
}

bool ReconcileReport::changed() const {
  return std::any_of(outcomes.begin(), outcomes.end(),
                     [](const ServiceOutcome& o) { return o.change != ServiceChange::unchanged; });
}

void ReconcileReport::merge(ReconcileReport other) {
  outcomes.insert(outcomes.end(), other.outcomes.begin(), other.outcomes.end());
  failures.insert(failures.end(), other.failures.begin(), other.failures.end());
  cleanup_skipped = cleanup_skipped || other.cleanup_skipped;
}

ReconcileReport reconcile_app(store::Transaction& tx, const config::App& app,
                              const AddressPools& pools) {
  Pass pass{tx, pools, {}, {}};
  pass.ensure_app(app);
  pass.cleanup();
  return std::move(pass.report);
}

ReconcileReport reconcile_all(store::Transaction& tx, const AddressPools& pools) {
  Pass pass{tx, pools, {}, {}};
  for (const store::AppRecord& rec : tx.apps()) pass.ensure_app(decode_app(rec.parsed_json));
  pass.cleanup();
  return std::move(pass.report);
}

}  // namespace portway::model
