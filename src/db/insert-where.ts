/**
 * `INSERT INTO t (every column) SELECT <row's values> WHERE <guard>`: an insert of one row that
 * writes only where `guard` holds (e.g. "this ticket was spent into this session in the same batch"),
 * so a batch can make a row conditional without a read first. Columns the row leaves out take their
 * schema defaults, as `insert(t).values(row)` would give them.
 */
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

export function insertWhere<T extends SQLiteTable>(db: Db, table: T, row: T["$inferInsert"], guard: SQL) {
  const given = row as Record<string, unknown>;
  const values = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = given[key];
    if (value !== undefined) return sql`${column.mapToDriverValue(value)}`;
    if (is(column.default, SQL)) return column.default;
    if (column.default !== undefined) return sql`${column.mapToDriverValue(column.default)}`;
    if (column.defaultFn) return sql`${column.mapToDriverValue(column.defaultFn())}`;
    return sql`NULL`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${guard}`);
}
