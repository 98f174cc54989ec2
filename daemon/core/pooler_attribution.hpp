#pragma once

#include <span>
#include <string>

#include "core/observation.hpp"
#include "core/pooler_sockets.hpp"

namespace lockwatch {

// Joins the poolers' server connections to the backends of an activity snapshot, and each
// server connection to its client: SHOW SERVERS' remote_pid is the backend pid (pgbouncer
// takes it from the cancel key), its link the ptr of the client in SHOW CLIENTS (or the
// client's link is the server's ptr). Only backends that have been in their current state
// since before the pooler was read are linked: in that state the backend ran no statement,
// so it served the same client when the pooler answered (a transaction-mode pooler hands a
// server to another client only between transactions). A reading that finished after the
// activity snapshot was taken links nothing either: a state change between the two would go
// unseen. A failed reading links nothing. Both clocks are the database host's: the daemon
// runs there (docs/ARCHITECTURE.md, "Behind a pooler").
PoolerLinks attribute_backends(std::span<const PoolerReading> readings,
                               const ActivitySnapshot& activity);

// "via pgbouncer 10.0.0.7:53122", "via pgbouncer, no client (ghost lock)" when the backend
// blocks others, else "via pgbouncer, no client".
std::string pooler_label(const PoolerLink& link, bool ghost);

}  // namespace lockwatch
