#pragma once

#include <string>

#include "core/json_writer.hpp"
#include "core/lock_snapshot.hpp"

namespace lockwatch {

// The relation a target is on, schema-qualified where the name is known
// ("public.accounts"), else "relation 16384" (with "in database app" when it is another
// database's); "" for types that are not on a relation.
std::string relation_label(const LockTarget& target, const LockSnapshot& names);

// What a lock is on, for people: "relation public.accounts", "tuple (0,1) of
// public.accounts", "transaction 2740", "advisory lock 42", "virtual transaction 3/17".
std::string describe_target(const LockTarget& target, const LockSnapshot& names);

// The target as a JSON object: "type", "description", and the fields that identify it
// for that type ("relation", "page", "tuple", "transactionid", "key", ...).
void write_target_json(JsonWriter& json, const LockTarget& target, const LockSnapshot& names);

}  // namespace lockwatch
