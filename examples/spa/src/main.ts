/**
 * The example app: sign-up, sign-in (passkey, email code, password, TOTP), the profile and this
 * session, a picture with its image variant, and sign-out, against the Latchkey Worker that serves
 * this page (same origin: no CORS, no tokens in URLs except the picture's own read token).
 */
import * as api from "./api";
import { field, h } from "./dom";

const app = document.getElementById("app")!;
const live = document.getElementById("status")!;

type View =
  | { name: "signed-out" }
  | { name: "code"; pending: api.PendingCode }
  | { name: "totp"; ticket: string }
  | { name: "home" };

let view: View = api.session() ? { name: "home" } : { name: "signed-out" };

/** Announces a message (role=status) and shows errors inline in the card that caused them. */
function announce(text: string) {
  live.textContent = text;
}

function errorText(e: unknown): string {
  if (e instanceof api.ApiError) return e.message;
  if (e instanceof DOMException && e.name === "NotAllowedError") return "The passkey request was cancelled.";
  return e instanceof Error ? e.message : String(e);
}

/** A form whose submit runs `run`, with its button disabled meanwhile and errors shown in it. */
function form(
  label: string,
  fields: HTMLElement[],
  submit: string,
  run: () => Promise<void>,
  extra: Child[] = [],
): HTMLFormElement {
  const error = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit" }, submit);
  const f = h(
    "form",
    { "aria-label": label },
    ...fields,
    h("div", { class: "actions" }, button, ...extra),
    error,
  );
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      await run();
    } catch (e) {
      error.textContent = errorText(e);
    } finally {
      button.disabled = false;
    }
  });
  return f;
}
type Child = Parameters<typeof h>[2];

function card(title: string, ...children: Child[]) {
  const id = `h-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function signedIn(s: api.Session) {
  api.setSession(s);
  view = { name: "home" };
  announce("Signed in.");
  render();
}

// --- signed out ---

function signedOutView(): Node[] {
  const passkeyError = h("p", { class: "error", role: "alert" });
  const passkeyButton = h(
    "button",
    {
      type: "button",
      class: "primary",
      onclick: async () => {
        passkeyError.textContent = "";
        try {
          signedIn(await api.passkeySignIn());
        } catch (e) {
          passkeyError.textContent = errorText(e);
        }
      },
    },
    "Sign in with a passkey",
  );

  const pwEmail = field("Email", { name: "email", type: "email", autocomplete: "username", required: true });
  const pw = field("Password", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const passwordForm = form("Sign in with a password", [pwEmail.wrap, pw.wrap], "Sign in", async () => {
    const r = await api.passwordSignIn(pwEmail.input.value, pw.input.value);
    if ("session" in r) return signedIn(r.session);
    view = { name: "totp", ticket: r.totpTicket };
    render();
  });

  const codeEmail = field("Email", {
    name: "email",
    type: "email",
    autocomplete: "username",
    required: true,
  });
  const codeForm = form("Sign in with an emailed code", [codeEmail.wrap], "Email me a code", async () => {
    view = { name: "code", pending: await api.requestCode(codeEmail.input.value) };
    render();
  });

  const upEmail = field(
    "Email",
    { name: "email", type: "email", autocomplete: "email", required: true },
    "We mail you a code that confirms the address.",
  );
  const upForm = form("Create an account", [upEmail.wrap], "Create account", async () => {
    const r = await api.signUp(upEmail.input.value);
    if ("token" in r) return signedIn(r);
    view = { name: "code", pending: r };
    render();
  });

  return [
    card(
      "Sign in",
      h("div", { class: "actions" }, passkeyButton),
      passkeyError,
      h("h3", {}, "With a password"),
      passwordForm,
      h("h3", {}, "With a code by email"),
      codeForm,
    ),
    card("Create an account", upForm),
  ];
}

function codeView(pending: api.PendingCode): Node[] {
  const code = field(
    "Code",
    {
      name: "code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{6}",
      required: true,
    },
    `We sent a 6-digit code to ${pending.email}. It is valid for a few minutes.`,
  );
  const back = backButton();
  return [
    card(
      pending.method === "sign-up" ? "Confirm your address" : "Enter your code",
      form(
        "Enter the emailed code",
        [code.wrap],
        "Continue",
        async () => {
          signedIn(await api.finishCode(pending, code.input.value.trim()));
        },
        [back],
      ),
    ),
  ];
}

/** "Back" to the signed-out view, for the steps of a sign-in. */
function backButton(): Node {
  return h("button", { type: "button", class: "link", onclick: () => show({ name: "signed-out" }) }, "Back");
}

function totpView(ticket: string): Node[] {
  const code = field(
    "Authenticator code",
    {
      name: "totp",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{6}",
      required: true,
    },
    "The 6-digit code your authenticator app shows for this account.",
  );
  const back = backButton();
  return [
    card(
      "Two-step verification",
      form(
        "Enter the authenticator code",
        [code.wrap],
        "Verify",
        async () => {
          signedIn(await api.totpSignIn(ticket, code.input.value.trim()));
        },
        [back],
      ),
    ),
  ];
}

function show(v: View) {
  view = v;
  announce("");
  render();
}

// --- signed in ---

const fmt = (iso: string | number) =>
  new Date(typeof iso === "number" ? iso * 1000 : iso).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });

function dl(rows: [string, Child][]) {
  return h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

const METHOD_NAMES: Record<api.Method, string> = {
  passkey: "Passkey",
  passcode: "Code by email",
  password: "Password",
  "password+totp": "Password and authenticator app",
  "sign-up": "Sign-up (code by email)",
};

async function homeView(s: api.Session): Promise<Node[]> {
  const me = await api.profile();
  const c = api.claims(s.token);

  const profileCard = card(
    "Profile",
    dl([
      ["Email", me.email],
      ["User id", h("code", {}, me.id)],
      ["Member since", fmt(me.created_at)],
    ]),
  );

  const sessionCard = card(
    "This session",
    dl([
      ["Signed in with", METHOD_NAMES[s.method]],
      ["Session id", h("code", {}, String(c.sid ?? ""))],
      ["Token issued", typeof c.iat === "number" ? fmt(c.iat) : ""],
      ["Token expires", typeof c.exp === "number" ? fmt(c.exp) : ""],
    ]),
    h(
      "p",
      { class: "hint" },
      "The APIs show the current session; “Sign out everywhere” ends every session of this account.",
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => signOut(false) }, "Sign out"),
      h("button", { type: "button", class: "danger", onclick: () => signOut(true) }, "Sign out everywhere"),
    ),
  );

  return [profileCard, sessionCard, pictureCard(me), await securityCard(me)];
}

function pictureCard(me: api.Profile): HTMLElement {
  const SIZE = 160;
  const img = h("img", { class: "avatar", alt: "Your picture", width: String(SIZE), height: String(SIZE) });
  const frame = h("div", { class: "avatar-frame" }, h("span", { class: "hint" }, "No picture yet"));
  const showMeta = (meta: api.FileMeta | null) => {
    if (!meta) return;
    img.src = api.variantUrl(me.id, meta, SIZE);
    frame.replaceChildren(img);
  };
  api.pictureMeta(me.id).then(showMeta, () => {});

  const file = field(
    "Choose a picture",
    { name: "picture", type: "file", accept: "image/png,image/jpeg,image/webp", required: true },
    "PNG, JPEG or WebP; shown as a 160 px round variant.",
  );
  const upload = form("Upload a picture", [file.wrap], "Upload", async () => {
    const f = file.input.files?.[0];
    if (!f) throw new Error("Choose a picture first.");
    const meta = await api.uploadPicture(me.id, f);
    showMeta(meta);
    announce("Picture uploaded.");
  });
  return card("Picture", h("div", { class: "picture" }, frame, upload));
}

async function securityCard(me: api.Profile): Promise<HTMLElement> {
  // Password (Hanko PUT /password: 201 set, 200 replaced).
  const pw = field(
    "New password",
    { name: "new-password", type: "password", autocomplete: "new-password", minlength: "8", required: true },
    "At least 8 characters.",
  );
  const pwForm = form("Set a password", [pw.wrap], "Save password", async () => {
    await api.setPassword(me.id, pw.input.value);
    pw.input.value = "";
    announce("Password saved.");
  });

  // Passkeys (Hanko /webauthn/credentials).
  const keys = await api.passkeys();
  const list = h(
    "ul",
    { class: "keys", "aria-label": "Your passkeys" },
    ...keys.map((k) =>
      h(
        "li",
        {},
        h("span", {}, k.name || "Passkey", h("small", {}, ` added ${fmt(k.created_at)}`)),
        h(
          "button",
          {
            type: "button",
            class: "link",
            "aria-label": `Remove passkey ${k.name || k.id}`,
            onclick: async () => {
              await api.removePasskey(k.id);
              announce("Passkey removed.");
              render();
            },
          },
          "Remove",
        ),
      ),
    ),
  );
  const keyError = h("p", { class: "error", role: "alert" });
  const addKey = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        keyError.textContent = "";
        try {
          await api.addPasskey();
          announce("Passkey added.");
          render();
        } catch (e) {
          keyError.textContent = errorText(e);
        }
      },
    },
    "Add a passkey",
  );

  // TOTP (HBP /auth/mfa/*): generate shows a QR code and the secret; a first code turns it on. No
  // API tells whether it is on: generate answers 400 when it is, and the app offers to turn it off.
  const totpBox = h("div", { class: "totp" });
  const totpError = h("p", { class: "error", role: "alert" });
  const codeField = (label: string, name: string) =>
    field(label, {
      name,
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{6}",
      required: true,
    });
  const totpOn = () => {
    startTotp.hidden = true;
    const code = codeField("Current code", "totp-off");
    totpBox.replaceChildren(
      h("p", { class: "ok" }, "The authenticator app is on: a password sign-in asks for a code."),
      form("Turn off the authenticator app", [code.wrap], "Turn off", async () => {
        await api.totpDisable(code.input.value.trim());
        totpBox.replaceChildren(h("p", { class: "hint" }, "The authenticator app is off."));
        startTotp.hidden = false;
        announce("Authenticator app turned off.");
      }),
    );
  };
  const startTotp = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        totpError.textContent = "";
        let setup: { image_url: string; otp_secret: string };
        try {
          setup = await api.totpSetup();
        } catch (e) {
          if (e instanceof api.ApiError && e.status === 400) return totpOn();
          totpError.textContent = errorText(e);
          return;
        }
        startTotp.hidden = true;
        const code = codeField("Code from the app", "totp-setup");
        totpBox.replaceChildren(
          h("img", {
            class: "qr",
            src: setup.image_url,
            alt: "QR code for your authenticator app",
            width: "160",
            height: "160",
          }),
          h(
            "p",
            { class: "hint" },
            "Scan it, or enter this key: ",
            h("code", { class: "secret" }, setup.otp_secret),
          ),
          form("Turn on the authenticator app", [code.wrap], "Turn on", async () => {
            await api.totpEnable(code.input.value.trim());
            totpOn();
            announce("Authenticator app turned on.");
          }),
        );
      },
    },
    "Set up an authenticator app",
  );

  return card(
    "Security",
    h("h3", {}, "Password"),
    pwForm,
    h("h3", {}, "Passkeys"),
    keys.length ? list : h("p", { class: "hint" }, "No passkey yet."),
    h("div", { class: "actions" }, addKey),
    keyError,
    h("h3", {}, "Authenticator app"),
    h("div", { class: "actions" }, startTotp),
    totpError,
    totpBox,
  );
}

async function signOut(everywhere: boolean) {
  try {
    await api.signOut(everywhere);
  } catch {
    // The session is gone locally whatever the server answered.
  }
  show({ name: "signed-out" });
  announce(everywhere ? "Signed out everywhere." : "Signed out.");
}

// --- rendering ---

let rendering = 0;
async function render() {
  const mine = ++rendering;
  let nodes: Node[];
  const s = api.session();
  if (view.name === "home" && s) {
    try {
      nodes = await homeView(s);
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) {
        api.setSession(null);
        view = { name: "signed-out" };
        announce("Your session ended. Please sign in again.");
        return render();
      }
      nodes = [card("Something went wrong", h("p", { class: "error", role: "alert" }, errorText(e)))];
    }
  } else if (view.name === "code") nodes = codeView(view.pending);
  else if (view.name === "totp") nodes = totpView(view.ticket);
  else nodes = signedOutView();
  if (mine !== rendering) return;
  app.replaceChildren(...nodes);
  app.setAttribute("aria-busy", "false");
  document.body.dataset.view = view.name;
  // Move focus to the new view's first field (or heading) for keyboard and screen-reader users.
  const first = app.querySelector<HTMLElement>("input, h2");
  if (first && view.name !== "home") first.focus();
}

render();
