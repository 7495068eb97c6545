/** AAGUID -> passkey provider name and icon (the bundled community list), and passkey names. */
import { describe, expect, it } from "vitest";
import { AAGUID_NAMES } from "../../src/core/webauthn/aaguids.generated";
import {
  authenticatorOf,
  defaultPasskeyName,
  normalizePasskeyName,
} from "../../src/core/webauthn/authenticators";

describe("authenticatorOf", () => {
  it("names the common providers, with an SVG icon", () => {
    const google = authenticatorOf("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4");
    expect(google?.name).toBe("Google Password Manager");
    expect(google?.icon).toMatch(/^data:image\/svg\+xml,%3Csvg/);
    expect(decodeURIComponent(google!.icon!.slice("data:image/svg+xml,".length))).toMatch(
      /^<svg[\s\S]*<\/svg>$/,
    );
    expect(authenticatorOf("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")?.name).toBe("Apple Passwords");
    expect(authenticatorOf("08987058-cadc-4b81-b6e1-30de50dcbe96")?.name).toBe("Windows Hello");
    expect(authenticatorOf("BADA5566-A7AA-401F-BD96-45619A55120D")?.name).toBe("1Password");
  });

  it("knows every entry of the list by name; icons only for some (bundle size)", () => {
    expect(Object.keys(AAGUID_NAMES).length).toBeGreaterThanOrEqual(50);
    for (const aaguid of Object.keys(AAGUID_NAMES)) expect(authenticatorOf(aaguid)?.name).toBeTruthy();
    expect(authenticatorOf("531126d6-e717-415c-9320-3d9aa6981239")?.name).toBe("Dashlane");
    expect(authenticatorOf("b5397666-4885-aa6b-cebf-e52262a439a2")).toEqual({
      name: "Chromium Browser",
      icon: null,
    });
  });

  it("knows nothing of an unknown, the all-zero or no AAGUID", () => {
    expect(authenticatorOf("01020304-0506-0708-0102-030405060708")).toBeNull();
    expect(authenticatorOf("00000000-0000-0000-0000-000000000000")).toBeNull();
    expect(authenticatorOf(null)).toBeNull();
    expect(authenticatorOf("__proto__")).toBeNull();
    expect(authenticatorOf("constructor")).toBeNull();
  });

  it("gives a new passkey its provider's name, else Passkey", () => {
    expect(defaultPasskeyName("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")).toBe("Google Password Manager");
    expect(defaultPasskeyName("00000000-0000-0000-0000-000000000000")).toBe("Passkey");
  });
});

describe("normalizePasskeyName", () => {
  it("trims, and takes 1 to 64 characters (not UTF-16 units)", () => {
    expect(normalizePasskeyName("  Work laptop \n")).toBe("Work laptop");
    expect(normalizePasskeyName("🔑".repeat(64))).toBe("🔑".repeat(64));
    expect(normalizePasskeyName("a".repeat(64))).toBe("a".repeat(64));
    expect(normalizePasskeyName("a".repeat(65))).toBeNull();
    expect(normalizePasskeyName("   ")).toBeNull();
    expect(normalizePasskeyName("")).toBeNull();
    expect(normalizePasskeyName("a\u0000b")).toBeNull();
  });
});
