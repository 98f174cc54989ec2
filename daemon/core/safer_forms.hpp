#pragma once

#include <string_view>

#include "core/ddl_classifier.hpp"
#include "core/json_reader.hpp"

namespace lockwatch {

// Sets `statement.safer` when there is a way to do what it does under a weaker or shorter
// lock: NOT VALID then VALIDATE for constraints, SET NOT NULL through a validated CHECK,
// CONCURRENTLY for indexes, partition detach and materialized views, ATTACH instead of
// CREATE TABLE ... PARTITION OF. `tag` and `fields` are the statement's parse tree.
void suggest_safer_form(std::string_view tag, const JsonValue& fields,
                        ClassifiedStatement& statement);

}  // namespace lockwatch
