#include "core/lock_snapshot.hpp"

#include <array>

namespace lockwatch {
namespace {

struct TypeName {
  LockType type;
  const char* name;
};

constexpr std::array<TypeName, 12> k_type_names = {{
    {LockType::relation, "relation"},
    {LockType::extend, "extend"},
    {LockType::frozenid, "frozenid"},
    {LockType::page, "page"},
    {LockType::tuple, "tuple"},
    {LockType::transactionid, "transactionid"},
    {LockType::virtualxid, "virtualxid"},
    {LockType::spectoken, "spectoken"},
    {LockType::object, "object"},
    {LockType::userlock, "userlock"},
    {LockType::advisory, "advisory"},
    {LockType::applytransaction, "applytransaction"},
}};

}  // namespace

LockType parse_lock_type(std::string_view locktype) {
  for (const TypeName& t : k_type_names) {
    if (locktype == t.name) return t.type;
  }
  return LockType::other;
}

std::string_view to_string(LockType type) {
  for (const TypeName& t : k_type_names) {
    if (t.type == type) return t.name;
  }
  return "other";
}

const std::vector<LockType>& all_lock_types() {
  static const std::vector<LockType> k_all = [] {
    std::vector<LockType> all;
    for (const TypeName& t : k_type_names) all.push_back(t.type);
    all.push_back(LockType::other);
    return all;
  }();
  return k_all;
}

}  // namespace lockwatch
