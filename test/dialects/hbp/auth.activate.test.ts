/** api/hbp.txt, GET /auth/activate and GET /auth/magic-link (links opened from mail). */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  expectBoom,
  json,
  lastMail,
  PASSWORD,
  refreshCookie,
  tokenWorks,
  uniqueEmail,
} from "./helpers";

const SUCCESS = "https://app.example.com/welcome";
const ERROR = "https://app.example.com/oops";

async function pendingUser(vars: Record<string, string> = {}) {
  const email = uniqueEmail();
  const res = await call("/auth/register", { json: { email, password: PASSWORD }, vars });
  expect(res.status).toBe(200);
  const { ticket } = (await lastMail(email, "activation")).data;
  return { email, ticket: ticket! };
}

function redirectedToken(res: Response, base: string): string {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(base);
  return location.searchParams.get("refresh_token")!;
}

describe("GET /auth/activate", () => {
  it("activates and redirects to REDIRECT_URL_SUCCESS with a refresh_token (cookie by default)", async () => {
    const vars = { REDIRECT_URL_SUCCESS: SUCCESS };
    const { email, ticket } = await pendingUser(vars);
    const res = await call(`/auth/activate?ticket=${encodeURIComponent(ticket)}`, { vars });
    const token = redirectedToken(res, SUCCESS);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(refreshCookie(res)).toBe(token);
    // The token is a working session and the account logs in now.
    const r = await call(`/auth/token/refresh?refresh_token=${token}`);
    expect(r.status).toBe(200);
    expect((await json(r)).user.email).toBe(email);
    expect((await call("/auth/login", { json: { email, password: PASSWORD } })).status).toBe(200);
  });

  it("keeps REDIRECT_URL_SUCCESS's own query parameters", async () => {
    const vars = { REDIRECT_URL_SUCCESS: `${SUCCESS}?from=mail` };
    const { ticket } = await pendingUser(vars);
    const res = await call(`/auth/activate?ticket=${encodeURIComponent(ticket)}`, { vars });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.get("from")).toBe("mail");
    expect(location.searchParams.get("refresh_token")).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it("cookie=false sets no cookie", async () => {
    const { ticket } = await pendingUser();
    const res = await call(`/auth/activate?cookie=false&ticket=${encodeURIComponent(ticket)}`);
    expect(res.status).toBe(302);
    expect(refreshCookie(res)).toBeNull();
  });

  it("a ticket works once", async () => {
    const vars = { REDIRECT_URL_ERROR: ERROR };
    const { ticket } = await pendingUser();
    expect((await call(`/auth/activate?ticket=${encodeURIComponent(ticket)}`, { vars })).status).toBe(302);
    const again = await call(`/auth/activate?ticket=${encodeURIComponent(ticket)}`, { vars });
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toBe(ERROR);
  });

  it("a bad ticket redirects to REDIRECT_URL_ERROR when set", async () => {
    const res = await call("/auth/activate?ticket=not-a-ticket", { vars: { REDIRECT_URL_ERROR: ERROR } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(ERROR);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("a bad ticket is 401 when REDIRECT_URL_ERROR is empty", async () => {
    await expectBoom(await call("/auth/activate?ticket=not-a-ticket"), 401, "Invalid or expired ticket.");
  });

  it("a ticket of another purpose is refused (tickets are typed)", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    await expectBoom(
      await call(`/auth/activate?ticket=${encodeURIComponent(ticket!)}`),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("requires the ticket", async () => {
    await expectBoom(await call("/auth/activate"), 400, '"ticket" is required');
  });
});

describe("GET /auth/magic-link", () => {
  const vars = { MAGIC_LINK_ENABLED: "true", REDIRECT_URL_SUCCESS: SUCCESS };

  it("action=register activates the passwordless account and redirects with a refresh_token", async () => {
    const email = uniqueEmail();
    expect((await call("/auth/register", { json: { email }, vars })).status).toBe(200);
    const { token } = (await lastMail(email, "magic_link")).data;
    const res = await call(`/auth/magic-link?action=register&token=${encodeURIComponent(token!)}`, { vars });
    const rt = redirectedToken(res, SUCCESS);
    expect(refreshCookie(res)).toBe(rt);
    const r = await call(`/auth/token/refresh?refresh_token=${rt}`);
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body.user.email).toBe(email);
    expect(await tokenWorks(body.jwt_token)).toBe(400);
  });

  it("action=log-in signs an existing user in", async () => {
    const s = await activeUser();
    await call("/auth/login", { json: { email: s.email }, vars });
    const { token } = (await lastMail(s.email, "magic_link")).data;
    const res = await call(
      `/auth/magic-link?action=log-in&cookie=false&token=${encodeURIComponent(token!)}`,
      {
        vars,
      },
    );
    const rt = redirectedToken(res, SUCCESS);
    expect(refreshCookie(res)).toBeNull();
    const r = await call(`/auth/token/refresh?refresh_token=${rt}`);
    expect((await json(r)).user.id).toBe(s.userId);
  });

  it("a link works once", async () => {
    const s = await activeUser();
    await call("/auth/login", { json: { email: s.email }, vars });
    const { token } = (await lastMail(s.email, "magic_link")).data;
    const url = `/auth/magic-link?action=log-in&token=${encodeURIComponent(token!)}`;
    expect((await call(url, { vars })).status).toBe(302);
    await expectBoom(await call(url, { vars }), 401, "Invalid or expired ticket.");
  });

  it("the action must match the link (a log-in token cannot register)", async () => {
    const s = await activeUser();
    await call("/auth/login", { json: { email: s.email }, vars });
    const { token } = (await lastMail(s.email, "magic_link")).data;
    const res = await call(`/auth/magic-link?action=register&token=${encodeURIComponent(token!)}`, {
      vars: { ...vars, REDIRECT_URL_ERROR: ERROR },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(ERROR);
  });

  it("an unknown action is 400", async () => {
    await expectBoom(
      await call("/auth/magic-link?action=delete&token=x", { vars }),
      400,
      '"action" must be one of [log-in, register]',
    );
  });

  it("a bad token is 401, or a redirect to REDIRECT_URL_ERROR", async () => {
    await expectBoom(
      await call("/auth/magic-link?action=log-in&token=nope", { vars }),
      401,
      "Invalid or expired ticket.",
    );
    const res = await call("/auth/magic-link?action=log-in&token=nope", {
      vars: { ...vars, REDIRECT_URL_ERROR: ERROR },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(ERROR);
  });

  it("MAGIC_LINK_ENABLED=false: 404", async () => {
    await expectBoom(await call("/auth/magic-link?action=log-in&token=nope"), 404, "Not Found");
  });
});
