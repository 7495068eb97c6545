/** Reads the development meter's Server-Timing header (src/lib/meter.ts). */
export interface Measured {
  d1: number;
  rowsRead: number;
  rowsWritten: number;
  kvReads: number;
  kvWrites: number;
  r2: number;
}

export function measured(res: Response): Measured {
  const t = res.headers.get("server-timing") ?? "";
  const n = (re: RegExp, i = 1) => Number(re.exec(t)?.[i] ?? Number.NaN);
  return {
    d1: n(/d1;desc="(\d+) round trips"/),
    rowsRead: n(/d1-rows;desc="(\d+) read, (\d+) written"/),
    rowsWritten: n(/d1-rows;desc="(\d+) read, (\d+) written"/, 2),
    kvReads: n(/kv;desc="(\d+) reads, (\d+) writes"/),
    kvWrites: n(/kv;desc="(\d+) reads, (\d+) writes"/, 2),
    r2: n(/r2;desc="(\d+) operations"/),
  };
}
