#pragma once

#include <string>
#include <string_view>

#include "core/ddl_classifier.hpp"
#include "core/json_reader.hpp"
#include "core/parse_tree.hpp"

namespace lockwatch {

// The pieces the classifier files share: each classify_* reads one kind of statement's
// parse-tree fields into `out` (the text of the whole input is `sql`, for constants).

constexpr LockMode k_access_share = LockMode::access_share;
constexpr LockMode k_row_share = LockMode::row_share;
constexpr LockMode k_row_exclusive = LockMode::row_exclusive;
constexpr LockMode k_share_update_exclusive = LockMode::share_update_exclusive;
constexpr LockMode k_share = LockMode::share;
constexpr LockMode k_share_row_exclusive = LockMode::share_row_exclusive;
constexpr LockMode k_exclusive = LockMode::exclusive;
constexpr LockMode k_access_exclusive = LockMode::access_exclusive;

// PostgreSQL's "greater" lock mode (the order of its lock mode numbers).
LockMode stronger(LockMode a, LockMode b);

StatementLock lock_of(const RelationName& relation, LockMode mode, std::string role);

// Adds `target`, merged into an equal one already there (same relation, meaning, mode and
// role: their reaches combine).
void add_lock(ClassifiedStatement& out, StatementLock target);

// The statement's locks are a guess: ACCESS EXCLUSIVE on every relation named in `fields`
// (with all their reaches), and `why` says so.
void mark_unclassified(ClassifiedStatement& out, const JsonValue& fields, std::string why);

// A relation locked with the reaches a rewrite takes: children, indexes and TOAST, all in
// `mode`.
StatementLock whole_relation(const RelationName& relation, LockMode mode, std::string role,
                             bool children);

void classify_alter_table(const JsonValue& fields, ClassifiedStatement& out);
void classify_rename(const JsonValue& fields, ClassifiedStatement& out);
void classify_alter_schema(const JsonValue& fields, ClassifiedStatement& out);

void classify_create_index(const JsonValue& fields, ClassifiedStatement& out);
void classify_drop(const JsonValue& fields, ClassifiedStatement& out);
void classify_truncate(const JsonValue& fields, ClassifiedStatement& out);
void classify_reindex(const JsonValue& fields, ClassifiedStatement& out);
void classify_cluster(const JsonValue& fields, ClassifiedStatement& out);
void classify_vacuum(const JsonValue& fields, ClassifiedStatement& out);
void classify_refresh(const JsonValue& fields, ClassifiedStatement& out);
void classify_lock(const JsonValue& fields, ClassifiedStatement& out);
void classify_table_object(std::string_view tag, const JsonValue& fields,
                           ClassifiedStatement& out);  // triggers, policies, rules, statistics
void classify_comment(const JsonValue& fields, ClassifiedStatement& out);
void classify_create_table(const JsonValue& fields, ClassifiedStatement& out);
void classify_create_table_as(const JsonValue& fields, std::string_view sql,
                              ClassifiedStatement& out);
void classify_function(const JsonValue& fields, ClassifiedStatement& out);
void classify_view(const JsonValue& fields, ClassifiedStatement& out);
void classify_sequence(std::string_view tag, const JsonValue& fields, ClassifiedStatement& out);

// SELECT, INSERT, UPDATE, DELETE, MERGE, COPY, and the functions they call (advisory
// locks, sequences; a call it does not know makes the statement unclassified).
void classify_query(std::string_view tag, const JsonValue& fields, std::string_view sql,
                    ClassifiedStatement& out);

// A foreign key constraint (inline or a table constraint) of CREATE TABLE or ALTER TABLE:
// its referenced table is locked SHARE ROW EXCLUSIVE, and read (with its indexes) when the
// constraint is validated against existing rows (`reads_rows`, and not NOT VALID).
void add_foreign_key(const JsonValue& constraint_fields, ClassifiedStatement& out, bool reads_rows);

}  // namespace lockwatch
