#include "daemon/daemon_status_json.h"

namespace portway::daemon {

nlohmann::json to_json(const DaemonStatus& s) {
  return {{"pid", s.pid},
          {"started_ms", s.started_ms},
          {"dataplane", s.dataplane},
          {"requested", s.requested},
          {"reason", s.reason},
          {"store_generation", s.store_generation},
          {"programmed_generation", s.programmed_generation},
          {"last_programmed_ms", s.last_programmed_ms},
          {"last_check_ms", s.last_check_ms},
          {"store_error", s.store_error},
          {"program_error", s.program_error},
          {"status_record_error", s.status_record_error},
          {"ready", s.ready},
          {"drift_repairs", s.drift_repairs}};
}

}  // namespace portway::daemon
