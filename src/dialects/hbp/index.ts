/** The Hasura Backend Plus dialect (api/hbp.txt): /auth/*, /storage/*, /health. */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { account } from "./account";
import { auth } from "./auth";
import { boom, renderHbpError } from "./errors";
import { storage } from "./storage";

const dialect = defineDialect({ onError: renderHbpError, notFound: (c) => boom(c, 404, "Not Found") });

export const hbp = new Hono<AppEnv>();

const authRoutes = dialect.mount(new Hono<AppEnv>(), "/", auth, account);
authRoutes.all("*", dialect.notFound);

dialect.mount(hbp, "/auth", authRoutes);
dialect.mount(hbp, "/storage", storage);

/** api/hbp.txt, Service: GET /health, 204. */
hbp.get("/health", (c) => c.body(null, 204));
