import { describe, expect, it } from "vitest";
import { catalog, fill, LOCALES, negotiate } from "../../src/core/i18n";

describe("negotiate (Accept-Language)", () => {
  it.each([
    [undefined, "en"],
    ["", "en"],
    ["de-CH,de;q=0.9,en;q=0.8", "de"],
    ["fr", "fr"],
    ["es, fr;q=0.5", "fr"],
    ["en;q=0.1, de;q=0.9", "de"],
    ["de;q=0, fr;q=0.2", "fr"],
    ["*", "en"],
    ["xx-YY", "en"],
    ["FR-ca", "fr"],
  ])("%s -> %s", (header, want) => {
    expect(negotiate(header)).toBe(want);
  });
});

describe("catalogs", () => {
  const keys = (o: object, p = ""): string[] =>
    Object.entries(o).flatMap(([k, v]) => (typeof v === "object" && v ? keys(v, `${p}${k}.`) : [`${p}${k}`]));
  it("every language has every key of the English catalog, none empty", () => {
    const want = keys(catalog("en")).sort();
    for (const l of LOCALES) {
      expect(keys(catalog(l)).sort()).toEqual(want);
      const flat = keys(catalog(l)).map((k) =>
        k.split(".").reduce<unknown>((o, s) => (o as Record<string, unknown>)[s], catalog(l)),
      );
      for (const v of flat)
        expect(typeof v === "function" || (typeof v === "string" && v.length > 0)).toBe(true);
    }
  });
  it("fill replaces known placeholders only", () => {
    expect(fill("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
