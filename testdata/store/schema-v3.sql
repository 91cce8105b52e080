-- A state database of schema version 3 (before sandboxes could lack an IPv4 address), made by
-- the portway of that version: two 'sandbox add' (one dual-stack, one IPv4 only), a 'sandbox
-- set --to draining', then 'sqlite3 FILE .dump' and its application_id.
PRAGMA application_id = 1347895641;
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_version (
  version       INTEGER NOT NULL PRIMARY KEY,
  applied_at_ms INTEGER NOT NULL
) STRICT;
INSERT INTO schema_version VALUES(1,1796461537287);
INSERT INTO schema_version VALUES(2,1796461537287);
INSERT INTO schema_version VALUES(3,1796461537287);
CREATE TABLE counters (
  name  TEXT NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters VALUES('generation',3);
INSERT INTO counters VALUES('journal_since',0);
CREATE TABLE apps (
  name          TEXT NOT NULL PRIMARY KEY,
  source        TEXT NOT NULL,
  parsed        TEXT NOT NULL,
  version       INTEGER NOT NULL CHECK (version >= 1),
  updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE services (
  id               TEXT NOT NULL PRIMARY KEY,
  app              TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  service          TEXT NOT NULL,
  labels           TEXT NOT NULL,
  selector_app     TEXT NOT NULL,
  selector_service TEXT NOT NULL,
  revision         INTEGER NOT NULL CHECK (revision >= 1),
  UNIQUE (app, service)
) STRICT, WITHOUT ROWID;
CREATE TABLE service_ports (
  service_id  TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL CHECK (position >= 0),
  name        TEXT NOT NULL,
  port        INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  target_port INTEGER NOT NULL CHECK (target_port BETWEEN 1 AND 65535),
  protocol    TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  type        TEXT NOT NULL CHECK (type IN ('http', 'tcp', 'udp')),
  node_port   INTEGER NOT NULL CHECK (node_port BETWEEN 0 AND 65535),
  PRIMARY KEY (service_id, position),
  UNIQUE (service_id, name),
  UNIQUE (service_id, port, protocol)
) STRICT, WITHOUT ROWID;
CREATE TABLE ip_allocations (
  address    BLOB NOT NULL PRIMARY KEY,
  family     INTEGER NOT NULL CHECK (family IN (4, 6)),
  service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
  CHECK (length(address) = CASE family WHEN 4 THEN 4 ELSE 16 END),
  UNIQUE (service_id, family)
) STRICT, WITHOUT ROWID;
CREATE TABLE node_port_claims (
  node_port INTEGER NOT NULL CHECK (node_port BETWEEN 1 AND 65535),
  protocol  TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  app       TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  service   TEXT NOT NULL,
  PRIMARY KEY (node_port, protocol)
) STRICT, WITHOUT ROWID;
CREATE TABLE sandboxes (
  id            TEXT NOT NULL PRIMARY KEY,
  app           TEXT NOT NULL,
  service       TEXT NOT NULL,
  labels        TEXT NOT NULL,
  ipv4          BLOB NOT NULL CHECK (length(ipv4) = 4),
  ipv6          BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16),
  iface         TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('running', 'draining', 'stopped')),
  changed_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO sandboxes VALUES('sb-dual','a','s','{"app":"a","service":"s","tier":"x"}',X'c6120101',X'20010002000000000000000000000001','veth0','running',1796461537235);
INSERT INTO sandboxes VALUES('sb-v4','a','s','{"app":"a","service":"s"}',X'c6120102',NULL,'','draining',1796461537559);
CREATE TABLE service_ranges (
  id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  ipv4 TEXT NOT NULL,
  ipv6 TEXT
) STRICT;
CREATE TABLE changes (
  generation INTEGER NOT NULL CHECK (generation >= 1),
  kind       TEXT NOT NULL CHECK (kind IN ('app', 'service', 'sandbox', 'claim')),
  key        TEXT NOT NULL,
  PRIMARY KEY (generation, kind, key)
) STRICT, WITHOUT ROWID;
INSERT INTO changes VALUES(1,'sandbox','sb-dual');
INSERT INTO changes VALUES(2,'sandbox','sb-v4');
INSERT INTO changes VALUES(3,'sandbox','sb-v4');
CREATE INDEX node_port_claims_by_app ON node_port_claims (app);
CREATE INDEX sandboxes_by_selector ON sandboxes (app, service);
CREATE TRIGGER journal_apps_insert AFTER INSERT ON apps BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'app', NEW.name FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'app' AND key = NEW.name);
END;
CREATE TRIGGER journal_apps_update AFTER UPDATE ON apps BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'app', OLD.name FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'app' AND key = OLD.name);
INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'app', NEW.name FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'app' AND key = NEW.name);
END;
CREATE TRIGGER journal_apps_delete AFTER DELETE ON apps BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'app', OLD.name FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'app' AND key = OLD.name);
END;
CREATE TRIGGER journal_services_insert AFTER INSERT ON services BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'service', NEW.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'service' AND key = NEW.id);
END;
CREATE TRIGGER journal_services_update AFTER UPDATE ON services BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'service', OLD.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'service' AND key = OLD.id);
INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'service', NEW.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'service' AND key = NEW.id);
END;
CREATE TRIGGER journal_services_delete AFTER DELETE ON services BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'service', OLD.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'service' AND key = OLD.id);
END;
CREATE TRIGGER journal_sandboxes_insert AFTER INSERT ON sandboxes BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'sandbox', NEW.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'sandbox' AND key = NEW.id);
END;
CREATE TRIGGER journal_sandboxes_update AFTER UPDATE ON sandboxes BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'sandbox', OLD.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'sandbox' AND key = OLD.id);
INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'sandbox', NEW.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'sandbox' AND key = NEW.id);
END;
CREATE TRIGGER journal_sandboxes_delete AFTER DELETE ON sandboxes BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'sandbox', OLD.id FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'sandbox' AND key = OLD.id);
END;
CREATE TRIGGER journal_node_port_claims_insert AFTER INSERT ON node_port_claims BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'claim', NEW.node_port || '/' || NEW.protocol FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'claim' AND key = NEW.node_port || '/' || NEW.protocol);
END;
CREATE TRIGGER journal_node_port_claims_update AFTER UPDATE ON node_port_claims BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'claim', OLD.node_port || '/' || OLD.protocol FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'claim' AND key = OLD.node_port || '/' || OLD.protocol);
INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'claim', NEW.node_port || '/' || NEW.protocol FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'claim' AND key = NEW.node_port || '/' || NEW.protocol);
END;
CREATE TRIGGER journal_node_port_claims_delete AFTER DELETE ON node_port_claims BEGIN INSERT INTO changes (generation, kind, key) SELECT c.value + 1, 'claim', OLD.node_port || '/' || OLD.protocol FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM changes WHERE generation = c.value + 1 AND kind = 'claim' AND key = OLD.node_port || '/' || OLD.protocol);
END;
COMMIT;
