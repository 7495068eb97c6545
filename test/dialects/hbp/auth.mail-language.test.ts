/**
 * A mail goes out in the language of the request that caused it (Accept-Language), through the
 * real routes: hbp registration and password reset, a security notice sent after the response,
 * a hanko passcode; English when the header names nothing we have.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { hcall, signUp } from "../hanko/support";
import { activeUser, json, lastMail, outbox, PASSWORD } from "./helpers";

const lang = (value: string) => ({ "accept-language": value });

describe("mail language follows the request's Accept-Language", () => {
  it("hbp register with Accept-Language: de mails the activation in German", async () => {
    const email = uniqueEmail("de");
    const res = await call("/auth/register", {
      json: { email, password: PASSWORD },
      headers: lang("de-DE,de;q=0.9,en;q=0.8"),
    });
    expect(res.status).toBe(200);
    const mail = (await outbox(email))[0]!;
    expect(mail.kind).toBe("activation");
    expect(mail.subject).toBe("Bestätigen Sie Ihre E-Mail-Adresse für Latchkey");
    expect(mail.text).toContain("Der Link funktioniert einmal und läuft in 1 Stunde ab.");
    expect(mail.text).toContain(mail.data.link!);
    expect(mail.html).toContain('<html lang="de"');
    expect(mail.html).toContain(">E-Mail-Adresse bestätigen</a>");
  });

  it("a password reset asked in French is mailed in French, with the reset TTL", async () => {
    const s = await activeUser();
    const req = await call("/auth/change-password/request", {
      json: { email: s.email },
      headers: lang("fr"),
    });
    expect(req.status).toBe(204);
    const mail = await lastMail(s.email, "password_reset");
    expect(mail.subject).toBe("Réinitialisez votre mot de passe Latchkey");
    expect(mail.text).toContain("expire dans 30 minutes.");
  });

  it("a security notice sent after the response uses the language of the request that made the change", async () => {
    const s = await activeUser();
    const res = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "another good password" },
      token: s.jwt,
      headers: { ...lang("fr-CA, en;q=0.5"), "user-agent": "Navigateur/1" },
    });
    expect(res.status).toBe(204);
    const notice = await lastMail(s.email, "password_changed");
    expect(notice.subject).toBe("Votre mot de passe Latchkey a été modifié");
    expect(notice.text).toContain("Navigateur/1");
    expect(notice.text).toMatch(/Si ce n’était pas vous/);
  });

  it("hanko: a passcode asked for in German arrives in German", async () => {
    const u = await signUp();
    const res = await hcall("/passcode/login/initialize", {
      json: { user_id: u.userId },
      headers: lang("de"),
    });
    expect(res.status).toBe(200);
    const mail = await lastMail(u.email, "passcode");
    expect(mail.subject).toBe(`Ihr Code für Latchkey: ${mail.data.code}`);
    expect(mail.text).toContain(`Ihr Code: ${mail.data.code}`);
    expect(mail.text).toContain("Der Code läuft in 5 Minuten ab.");
  });

  it("hbp register with user_data.locale: the activation goes out in the user's chosen language", async () => {
    const email = uniqueEmail("chosen");
    const res = await call("/auth/register", {
      json: { email, password: PASSWORD, user_data: { locale: "fr-FR" } },
      headers: lang("de"),
    });
    expect(res.status).toBe(200);
    expect((await lastMail(email, "activation")).subject).toBe(
      "Confirmez votre adresse e-mail pour Latchkey",
    );
    // A locale we have no catalog for leaves the request's language.
    const other = uniqueEmail("chosen");
    await call("/auth/register", {
      json: { email: other, password: PASSWORD, user_data: { locale: "es" } },
      headers: lang("de"),
    });
    expect((await lastMail(other, "activation")).subject).toBe(
      "Bestätigen Sie Ihre E-Mail-Adresse für Latchkey",
    );
  });

  it("English without the header, for a language we do not have, and for a q=0 refusal", async () => {
    for (const headers of [{}, lang("es-ES, ja;q=0.8"), lang("de;q=0, fr;q=0")]) {
      const email = uniqueEmail("en");
      expect((await call("/auth/register", { json: { email, password: PASSWORD }, headers })).status).toBe(
        200,
      );
      expect((await lastMail(email, "activation")).subject).toBe("Confirm your email address for Latchkey");
    }
  });

  it("PRODUCT_NAME reaches the mail", async () => {
    const email = uniqueEmail("brand");
    const vars = { PRODUCT_NAME: "Acme ID" };
    const res = await call("/auth/register", { json: { email, password: PASSWORD }, vars });
    expect(res.status, JSON.stringify(await json(res.clone()))).toBe(200);
    const mail = await lastMail(email, "activation");
    expect(mail.subject).toBe("Confirm your email address for Acme ID");
    expect(mail.text).toContain("Welcome to Acme ID.");
  });
});
