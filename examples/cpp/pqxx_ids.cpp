// snowflake IDs through libpqxx (C++): a key from DEFAULT snowflake_next_id()
// read back with RETURNING, as text converted to std::int64_t, and in its
// binary form (the 8 big-endian bytes of the type's send function, read as
// bytea: libpqxx asks for results in text), then used as a parameter.
//
//   g++ -std=c++17 -o pqxx_ids pqxx_ids.cpp $(pkg-config --cflags --libs libpqxx)
//
// Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER). Exits non-zero if an ID changes on its way through the client:
// every key is compared with the server's own text of it.
#include <pqxx/pqxx>

#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

// A bigint's binary wire form (int8send, snowflake_send): 8 bytes, big-endian.
std::int64_t decode_int8(const pqxx::binarystring& bytes) {
  if (bytes.size() != 8)
    throw std::runtime_error("binary bigint of " + std::to_string(bytes.size()) + " bytes");
  std::uint64_t value = 0;
  for (unsigned char byte : bytes) value = value << 8 | byte;
  return static_cast<std::int64_t>(value);
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("ID changed: " + what);
}

}  // namespace

int main() try {
  pqxx::connection conn;
  pqxx::work tx{conn};
  tx.exec0("DROP TABLE IF EXISTS orders");
  tx.exec0(
      "CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), "
      "item text NOT NULL)");

  const pqxx::result rows = tx.exec(
      "INSERT INTO orders (item) VALUES ('tea'), ('cake'), ('scones') "
      "RETURNING item, id, id::text, int8send(id), id::snowflake, snowflake_send(id::snowflake)");
  for (const pqxx::row& row : rows) {
    const auto item = row[0].as<std::string>();
    const auto id = row[1].as<std::int64_t>();
    const auto server_text = row[2].as<std::string>();
    const auto binary = decode_int8(pqxx::binarystring{row[3]});
    const auto as_snowflake = row[4].as<std::int64_t>();  // the snowflake type's text: the digits
    const auto snowflake_binary = decode_int8(pqxx::binarystring{row[5]});

    expect(std::to_string(id) == server_text,
           "text result " + std::to_string(id) + " vs " + server_text);
    expect(binary == id, "binary form " + std::to_string(binary) + " vs " + server_text);
    expect(as_snowflake == id,
           "snowflake type " + std::to_string(as_snowflake) + " vs " + server_text);
    expect(snowflake_binary == id,
           "snowflake binary form " + std::to_string(snowflake_binary) + " vs " + server_text);

    // Back to the server as a parameter: the same row.
    const pqxx::row again = tx.exec_params1("SELECT item, id::text FROM orders WHERE id = $1", id);
    expect(again[0].as<std::string>() == item && again[1].as<std::string>() == server_text,
           "parameter " + std::to_string(id));
    std::cout << "inserted order " << id << " (" << item << "): text, binary and parameter exact\n";
  }
  tx.commit();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "pqxx_ids: " << e.what() << '\n';
  return 1;
}
